"""Webhook endpoints an integrator manages (`/api/v1/webhooks/endpoints`, ADR 0012), by
API key or bearer token; Standard Webhooks throughout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from starlette.responses import JSONResponse

from git44_common.openapi import prefixed_operation_ids, problems
from git44_common.webhook_endpoints import PING, EventType
from git44_jobs.api.deps import AnyUser, Ctx
from git44_jobs.api.responses import RATE_LIMITED
from git44_jobs.webhooks.endpoint_models import (
    DeliveryQueuedPublic,
    EndpointDeliveriesPublic,
    EndpointDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPublic,
    WebhookEndpointsPublic,
    WebhookEndpointUpdate,
)
from git44_jobs.webhooks.endpoints import MAX_DELIVERIES

ENDPOINTS_PATH = "/api/v1/webhooks/endpoints"
router = APIRouter(
    prefix=ENDPOINTS_PATH,
    tags=["webhooks"],
    responses=RATE_LIMITED,
    generate_unique_id_function=prefixed_operation_ids("dev"),
)
DISABLED = problems(described={409: "webhook_endpoint_disabled: enable it first (PATCH)"})


def _no_store(model: WebhookEndpointCreated, *, status: int = 200, **headers: str) -> JSONResponse:
    """A response carrying a secret: never cached."""
    return JSONResponse(
        jsonable_encoder(model, by_alias=True),
        status_code=status,
        headers={"Cache-Control": "no-store", **headers},
    )


@router.post(
    "",
    status_code=201,
    response_model=WebhookEndpointCreated,
    responses=problems(described={409: "webhook_endpoint_limit: delete an endpoint first"}),
)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, user: AnyUser, ctx: Ctx
) -> JSONResponse:
    """Register an endpoint (public https URL) for the event types given (all by
    default); its signing secret is in this answer only (and after a rotation)."""
    endpoint, secret = await ctx.webhook_endpoints.create(user.user_id, body, now=ctx.now())
    created = WebhookEndpointCreated.from_doc(endpoint, secret=secret)
    return _no_store(created, status=201, Location=f"{ENDPOINTS_PATH}/{endpoint['_id']}")


@router.get("", response_model=WebhookEndpointsPublic)
async def list_webhook_endpoints(user: AnyUser, ctx: Ctx) -> WebhookEndpointsPublic:
    """The caller's endpoints, oldest first."""
    found = await ctx.webhook_endpoints.list_of(user.user_id)
    return WebhookEndpointsPublic(data=[WebhookEndpointPublic.from_doc(doc) for doc in found])


@router.get("/{endpoint_id}", response_model=WebhookEndpointPublic)
async def read_webhook_endpoint(endpoint_id: str, user: AnyUser, ctx: Ctx) -> WebhookEndpointPublic:
    """One of the caller's endpoints."""
    return WebhookEndpointPublic.from_doc(
        await ctx.webhook_endpoints.get(user.user_id, endpoint_id)
    )


@router.patch("/{endpoint_id}", response_model=WebhookEndpointPublic)
async def update_webhook_endpoint(
    endpoint_id: str, body: WebhookEndpointUpdate, user: AnyUser, ctx: Ctx
) -> WebhookEndpointPublic:
    """Change its URL, description, event types, or enable / disable it (enabling one
    that was disabled for failing starts afresh)."""
    updated = await ctx.webhook_endpoints.update(user.user_id, endpoint_id, body, now=ctx.now())
    return WebhookEndpointPublic.from_doc(updated)


@router.delete("/{endpoint_id}", status_code=204)
async def delete_webhook_endpoint(endpoint_id: str, user: AnyUser, ctx: Ctx) -> Response:
    """Remove the endpoint: nothing more is sent to it, retries included."""
    await ctx.webhook_endpoints.delete(user.user_id, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointCreated,
    responses=problems(described={409: "conflict: the endpoint changed meanwhile"}),
)
async def rotate_webhook_endpoint_secret(endpoint_id: str, user: AnyUser, ctx: Ctx) -> JSONResponse:
    """A new signing secret. The replaced one keeps signing until
    `previousSecretExpiresAt` (JOBS_WEBHOOK_ROTATION_OVERLAP_SECONDS, 24 h): meanwhile
    `webhook-signature` carries both (`v1,<new> v1,<old>`), either verifies."""
    endpoint, secret = await ctx.webhook_endpoints.rotate_secret(
        user.user_id, endpoint_id, now=ctx.now()
    )
    return _no_store(WebhookEndpointCreated.from_doc(endpoint, secret=secret))


@router.get("/{endpoint_id}/deliveries", response_model=EndpointDeliveriesPublic)
async def list_webhook_deliveries(
    endpoint_id: str,
    user: AnyUser,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=MAX_DELIVERIES)] = 50,
    event_type: Annotated[
        EventType | None, Query(alias="eventType", description="only this type")
    ] = None,
) -> EndpointDeliveriesPublic:
    """Its delivery attempts, newest first: event, attempt, status, latency, next retry."""
    found = await ctx.webhook_endpoints.deliveries(
        user.user_id, endpoint_id, limit=limit, event_type=event_type
    )
    return EndpointDeliveriesPublic(data=[EndpointDeliveryPublic.from_doc(doc) for doc in found])


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryQueuedPublic,
    responses=DISABLED,
    operation_id="devRedeliverWebhook",
)
async def redeliver_webhook(
    endpoint_id: str, delivery_id: str, user: AnyUser, ctx: Ctx
) -> DeliveryQueuedPublic:
    """Send that attempt's event again now (same `webhook-id` and body), with its own
    retries; listed under the deliveries as it goes."""
    request = await ctx.webhook_endpoints.redeliver(
        user.user_id, endpoint_id, delivery_id, publisher=ctx.outbox.publisher
    )
    return DeliveryQueuedPublic(webhook_id=request.webhook_id, event_type=request.event_type or "")


@router.post(
    "/{endpoint_id}/ping",
    status_code=202,
    response_model=DeliveryQueuedPublic,
    responses=DISABLED,
)
async def ping_webhook_endpoint(
    endpoint_id: str, user: AnyUser, ctx: Ctx, request: Request
) -> DeliveryQueuedPublic:
    """Send a signed `webhook.ping` (`data.endpointId`) to test the receiver."""
    queued = await ctx.webhook_endpoints.ping(
        user.user_id, endpoint_id, publisher=ctx.outbox.publisher, now=ctx.now()
    )
    return DeliveryQueuedPublic(webhook_id=queued.webhook_id, event_type=PING)
