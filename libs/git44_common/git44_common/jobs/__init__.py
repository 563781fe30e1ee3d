"""The removal job record, shared by jobs-api and the worker: states and transitions
(`states`), the document and its updates (`record`), its public shapes and event
(`views`), and the one refund (`refund`)."""

from git44_common.contracts import JobStatus
from git44_common.jobs.record import (
    DEFAULT_MAX_POLLS,
    DEFAULT_MAX_RETRIES,
    Charge,
    Source,
    end_with_refund_update,
    new_job_document,
    new_job_id,
    requeue_update,
    was_charged,
)
from git44_common.jobs.refund import end_job_with_refund
from git44_common.jobs.states import ACTIVE, TERMINAL, TRANSITIONS, Transition, can_transition
from git44_common.jobs.views import (
    AdminJobPublic,
    AdminJobsPublic,
    DevJobPublic,
    DevJobsPublic,
    JobPublic,
    JobsPublic,
    job_event,
    job_fields,
)

__all__ = [
    "ACTIVE",
    "DEFAULT_MAX_POLLS",
    "DEFAULT_MAX_RETRIES",
    "TERMINAL",
    "TRANSITIONS",
    "AdminJobPublic",
    "AdminJobsPublic",
    "Charge",
    "DevJobPublic",
    "DevJobsPublic",
    "JobPublic",
    "JobStatus",
    "JobsPublic",
    "Source",
    "Transition",
    "can_transition",
    "end_job_with_refund",
    "end_with_refund_update",
    "job_event",
    "job_fields",
    "new_job_document",
    "new_job_id",
    "requeue_update",
    "was_charged",
]
