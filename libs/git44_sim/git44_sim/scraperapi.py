"""ScraperAPI: `GET|POST /?api_key=&url=` (the proxy) and `GET /account`."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from git44_sim.deps import Http, State
from git44_sim.models import AccountPublic
from git44_sim.records import Rejection
from git44_sim.state import SimState

# Texts as the real service words them (clients match on their beginnings).
INVALID_KEY_TEXT = (
    "Invalid API key. Please make sure you are using the API key shown on your dashboard "
    "(https://dashboard.scraperapi.com)."
)
CREDITS_EXHAUSTED_TEXT = (
    "You have exhausted the API Credits available in this monthly cycle. You can upgrade "
    "your subscription or enable overages from your dashboard "
    "(https://dashboard.scraperapi.com/billing). For custom plan upgrades, please contact "
    "support (https://www.scraperapi.com/support/)."
)
REQUEST_FAILED_TEXT = (
    "Request failed. You will not be charged for this request. Please make sure your url is "
    "correct and try the request again."
)
FORWARDED_HEADERS = ("content-type", "accept")

router = APIRouter(tags=["scraperapi"])


def concurrency_exceeded_text(limit: int) -> str:
    return (
        "You are sending requests too fast, and exceeding the concurrency limit of your plan "
        f"({limit} concurrent requests). Please slow down your requests or upgrade your plan."
    )


@router.api_route("/", methods=["GET", "POST"], response_class=Response)
async def proxy(
    request: Request, state: State, http: Http, api_key: str | None = None, url: str | None = None
) -> Response:
    """ScraperAPI: forward the request to `url` and answer with the target's response."""
    admission = state.admit_request(api_key)
    if isinstance(admission, Rejection):
        return rejection_response(admission)
    status: int | None = None
    try:
        response = await serve_admitted(request, state=state, http=http, url=url)
        status = response.status_code
        return response
    finally:
        # Runs on cancellation too, so a slot is never leaked.
        state.finish_request(admission, status)


@router.get("/account", response_model=AccountPublic)
async def account(state: State, api_key: str | None = None) -> Response | AccountPublic:
    """ScraperAPI: the key's usage and limits (free)."""
    found = state.accounts.get(api_key) if api_key else None
    if found is None:
        return PlainTextResponse(INVALID_KEY_TEXT, status_code=401)
    return AccountPublic.from_account(found)


def rejection_response(rejection: Rejection) -> Response:
    if rejection.status == 401 or rejection.account is None:
        return PlainTextResponse(INVALID_KEY_TEXT, status_code=401)
    if rejection.status == 403:
        return PlainTextResponse(CREDITS_EXHAUSTED_TEXT, status_code=403)
    text = concurrency_exceeded_text(rejection.account.concurrency_limit)
    return PlainTextResponse(text, status_code=429)


def request_failed() -> Response:
    return PlainTextResponse(REQUEST_FAILED_TEXT, status_code=500)


async def serve_admitted(
    request: Request, *, state: SimState, http: httpx.AsyncClient, url: str | None
) -> Response:
    """Latency, injected failures, then the real forward; any transport error is a 500."""
    if state.config.proxy_latency_ms > 0:
        await asyncio.sleep(state.config.proxy_latency_ms / 1000)
    if state.draw_injected_failure() or url is None or not is_http_url(url):
        return request_failed()
    body = await request.body() if request.method == "POST" else None
    headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    try:
        upstream = await http.request(
            request.method,
            url,
            content=body,
            headers=headers,
            timeout=state.config.forward_timeout_s,
        )
    except (httpx.HTTPError, httpx.InvalidURL):
        return request_failed()
    return Response(
        content=upstream.content,
        status_code=upstream.status_code,
        media_type=upstream.headers.get("content-type"),
    )


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)
