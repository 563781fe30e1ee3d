"""Webhook bodies and Standard Webhooks signatures (checked by hand, from the spec)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from git44_common.exceptions import InvalidLink
from git44_common.webhook_endpoints import webhook_body
from git44_common.webhook_secrets import new_webhook_secret
from git44_worker.webhooks import WebhookSender, signed_headers

NOW = datetime(2026, 11, 26, 12, 0, 5, 123456, tzinfo=UTC)
JOB = {
    "_id": "job1",
    "user_id": "u1",
    "input_link": "https://sora.chatgpt.com/p/a",
    "output_link": "https://cdn/x.mp4",
    "status": "success",
    "task_id": "t1",
    "retry_count": 1,
    "max_retries": 3,
    "poll_count": 2,
    "max_polls": 8,
    "error": None,
    "created_at": NOW,
    "started_at": NOW,
    "completed_at": NOW,
    "updated_at": NOW,
}


def test_a_new_secret_has_the_standard_webhooks_format() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_webhook_secret() != secret


def test_the_body_is_the_jobs_public_shape_with_an_event_type() -> None:
    payload = json.loads(webhook_body(JOB))
    assert payload["type"] == "removal.success"
    assert payload["timestamp"] == "2026-11-26T12:00:05.123Z"
    assert payload["data"] == {
        "id": "job1",
        "inputLink": "https://sora.chatgpt.com/p/a",
        "outputLink": "https://cdn/x.mp4",
        "status": "success",
        "taskId": "t1",
        "retryCount": 1,
        "maxRetries": 3,
        "pollCount": 2,
        "maxPolls": 8,
        "error": None,
        "cached": False,
        "estimatedReadyAt": None,
        "createdAt": "2026-11-26T12:00:05.123Z",
        "startedAt": "2026-11-26T12:00:05.123Z",
        "completedAt": "2026-11-26T12:00:05.123Z",
        "updatedAt": "2026-11-26T12:00:05.123Z",
    }


def test_the_signature_is_hmac_sha256_of_id_timestamp_and_body() -> None:
    secret = new_webhook_secret()
    body = webhook_body(JOB)
    headers = signed_headers(secrets=[secret], msg_id="evt_1", body=body, now=NOW)

    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    to_sign = f"evt_1.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, to_sign, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


@pytest.mark.parametrize(
    "url", ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://localhost/x"]
)
async def test_destinations_that_are_not_public_https_are_refused(url: str) -> None:
    sender = WebhookSender(timeout=1, allow_private=False)
    try:
        with pytest.raises(InvalidLink):
            await sender.check_destination(url)
        result = await sender.send(url, secrets=[new_webhook_secret()], msg_id="e", body="{}")
        assert result.status_code is None
        assert not result.delivered
    finally:
        await sender.aclose()
