"""`SimControl`: a typed async client of a running simulator's control plane.

Every method raises `httpx.HTTPStatusError` on an unexpected status.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import httpx

from git44_sim.models import (
    AccountPublic,
    ConfigPublic,
    KeyPublic,
    KeysPublic,
    MailPublic,
    MailsPublic,
    StatsPublic,
    TaskInfo,
    TasksPublic,
)


class SimControl:
    """Drive a simulator at `base_url` (e.g. `http://127.0.0.1:8090`)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # trust_env=False: the simulator is local; an HTTP(S)_PROXY must not divert us.
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, trust_env=False
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- URLs for the code under test ------------------------------------------------

    @property
    def scraperapi_url(self) -> str:
        """What a client sets as its ScraperAPI endpoint (`<base>/`)."""
        return f"{self.base_url}/"

    @property
    def removesora_url(self) -> str:
        """What a client sets as its RemoveSora base (`<base>/removesora`)."""
        return f"{self.base_url}/removesora"

    def proxy_url(self, api_key: str, target_url: str) -> str:
        """The ScraperAPI URL that forwards to `target_url` with `api_key`."""
        return f"{self.scraperapi_url}?{urlencode({'api_key': api_key, 'url': target_url})}"

    # --- control plane ---------------------------------------------------------------

    async def healthy(self) -> bool:
        try:
            response = await self._http.get("/healthz")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def list_keys(self) -> list[KeyPublic]:
        body = await self._json("GET", "/_control/keys")
        return KeysPublic.model_validate(body).data

    async def put_key(
        self,
        api_key: str,
        *,
        request_limit: int | None = None,
        concurrency_limit: int | None = None,
        request_count: int | None = None,
    ) -> KeyPublic:
        """Create the key or update the given fields."""
        payload = _without_none(
            requestLimit=request_limit,
            concurrencyLimit=concurrency_limit,
            requestCount=request_count,
        )
        body = await self._json("PUT", f"/_control/keys/{api_key}", json=payload)
        return KeyPublic.model_validate(body)

    async def delete_key(self, api_key: str) -> bool:
        """False when the key did not exist."""
        response = await self._http.delete(f"/_control/keys/{api_key}")
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    async def account(self, api_key: str) -> AccountPublic | None:
        """ScraperAPI's own `/account` view of the key; None for an unknown key."""
        response = await self._http.get("/account", params={"api_key": api_key})
        if response.status_code == 401:
            return None
        response.raise_for_status()
        return AccountPublic.model_validate(response.json())

    async def get_config(self) -> ConfigPublic:
        return ConfigPublic.model_validate(await self._json("GET", "/_control/config"))

    async def update_config(
        self,
        *,
        proxy_latency_ms: float | None = None,
        proxy_failure_rate: float | None = None,
        fail_next_requests: int | None = None,
        processing_seconds: tuple[float, float] | None = None,
        task_failure_rate: float | None = None,
        removesora_latency_ms: float | None = None,
        forward_timeout_seconds: float | None = None,
        download_link_ttl_seconds: float | None = None,
        kie_latency_ms: float | None = None,
        kie_failure_rate: float | None = None,
        kie_callbacks: bool | None = None,
    ) -> ConfigPublic:
        """Change only the arguments given; `processing_seconds` is (min, max)."""
        payload = _without_none(
            proxyLatencyMs=proxy_latency_ms,
            proxyFailureRate=proxy_failure_rate,
            failNextRequests=fail_next_requests,
            taskFailureRate=task_failure_rate,
            removesoraLatencyMs=removesora_latency_ms,
            forwardTimeoutSeconds=forward_timeout_seconds,
            downloadLinkTtlSeconds=download_link_ttl_seconds,
            kieLatencyMs=kie_latency_ms,
            kieFailureRate=kie_failure_rate,
            kieCallbacks=kie_callbacks,
        )
        if processing_seconds is not None:
            payload["processingSeconds"] = {
                "min": processing_seconds[0],
                "max": processing_seconds[1],
            }
        body = await self._json("PUT", "/_control/config", json=payload)
        return ConfigPublic.model_validate(body)

    async def stats(self) -> StatsPublic:
        return StatsPublic.model_validate(await self._json("GET", "/_control/stats"))

    async def tasks(self) -> list[TaskInfo]:
        return TasksPublic.model_validate(await self._json("GET", "/_control/tasks")).data

    async def list_mail(self, *, to: str | None = None) -> list[MailPublic]:
        """Mails the SMTP sink received, newest first; only those to `to` when given."""
        params = _without_none(to=to)
        body = await self._json("GET", "/_control/mail", params=params)
        return MailsPublic.model_validate(body).data

    async def reset(
        self,
        *,
        keys: list[str] | None = None,
        request_limit: int | None = None,
        concurrency_limit: int | None = None,
        keep_config: bool = False,
        seed: int | None = None,
    ) -> None:
        """Clear counters and tasks; `keys` replaces the key set, else the keys stay."""
        payload = _without_none(
            keys=keys, requestLimit=request_limit, concurrencyLimit=concurrency_limit, seed=seed
        )
        payload["keepConfig"] = keep_config
        response = await self._http.post("/_control/reset", json=payload)
        response.raise_for_status()

    async def _json(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        response = await self._http.request(method, path, json=json, params=params)
        response.raise_for_status()
        return response.json()


def _without_none(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
