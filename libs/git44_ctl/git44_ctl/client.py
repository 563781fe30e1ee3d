"""The admin HTTP API as git44ctl uses it: which service answers what, the admin's
token (refreshed once when it expired), problems as ApiError, pages followed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from git44_ctl.credentials import CredentialStore, Session
from git44_ctl.exceptions import ApiError, NotLoggedIn, NotTheApi, Unreachable

Service = Literal["auth", "jobs", "keys"]
# the largest page every admin list accepts (jobs-api's default JOBS_PAGE_SIZE_MAX)
MAX_PAGE = 100


@dataclass(frozen=True)
class Endpoints:
    """Base URL of each service: the gateway's for all three, unless one is given."""

    auth: str
    jobs: str
    keys: str

    @classmethod
    def of(
        cls, url: str, *, auth: str | None = None, jobs: str | None = None,
        keys: str | None = None,
    ) -> Endpoints:  # fmt: skip
        gateway = url.rstrip("/")
        return cls(
            auth=(auth or gateway).rstrip("/"),
            jobs=(jobs or gateway).rstrip("/"),
            keys=(keys or gateway).rstrip("/"),
        )

    def of_service(self, service: Service) -> str:
        return {"auth": self.auth, "jobs": self.jobs, "keys": self.keys}[service]


def problem_of(response: httpx.Response) -> ApiError:
    """The API's problem in `response`, or one made of its status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return ApiError(response.status_code, response.reason_phrase or "Error", None)
    return ApiError(
        response.status_code,
        str(body.get("title") or response.reason_phrase or "Error"),
        body.get("detail") if isinstance(body.get("detail"), str) else None,
        code=body.get("code"),
        errors=[e for e in body.get("errors") or [] if isinstance(e, dict)],
    )


class Api:
    """Requests to the three services as the logged-in admin (or with `token`)."""

    def __init__(
        self, endpoints: Endpoints, *, store: CredentialStore, token: str | None = None,
        transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
    ) -> None:  # fmt: skip
        self.endpoints = endpoints
        self.store = store
        self.token = token
        self._http = httpx.Client(transport=transport, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    @property
    def server(self) -> str:
        """Whose tokens these are: the auth service's URL."""
        return self.endpoints.auth

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Log in, keep the session if the account is an admin's; the user."""
        credentials = {"email": email, "password": password}
        answer = self._send("auth", "POST", "/api/auth/login", json=credentials)
        session = Session(email, answer["accessToken"], answer.get("refreshToken"))
        user: dict[str, Any] = answer["user"]
        if user.get("role") != "admin":
            self._revoke(session)
            raise NotLoggedIn(f"{email} is not an admin: git44ctl is for admins only.")
        self.store.save(self.server, session)
        return user

    def logout(self) -> bool:
        """End the stored session (its refresh token revoked) and forget it."""
        session = self.store.load(self.server)
        if session is None:
            return False
        self._revoke(session)
        return self.store.forget(self.server)

    def request(
        self, service: Service, method: str, path: str, *,
        params: Mapping[str, Any] | None = None, json: Any = None,
    ) -> Any:  # fmt: skip
        """The JSON answer (None for 204) of an admin request; ApiError for a problem."""
        session = None if self.token else self.store.load(self.server)
        token = self.token or (session.access_token if session else None)
        if token is None:
            raise NotLoggedIn(f"Not logged in at {self.server}: run `git44ctl login`.")
        try:
            return self._send(service, method, path, params=params, json=json, token=token)
        except ApiError as error:
            if error.code != "token_expired" or session is None or not session.refresh_token:
                raise
        token = self._refresh(session)
        return self._send(service, method, path, params=params, json=json, token=token)

    def pages(
        self, service: Service, path: str, *, params: Mapping[str, Any] | None = None,
        limit: int | None = None, page_size: int = MAX_PAGE,
    ) -> Iterator[dict[str, Any]]:  # fmt: skip
        """The items of a paged list, following `nextCursor`, at most `limit` (None: all)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        taken = 0
        while True:
            wanted = page_size if limit is None else min(page_size, limit - taken)
            page = self.request(service, "GET", path, params={**query, "limit": wanted})
            for item in page["data"]:
                if limit is not None and taken >= limit:
                    return
                yield item
                taken += 1
            cursor = page.get("nextCursor")
            if not cursor or (limit is not None and taken >= limit):
                return
            query["cursor"] = cursor

    def _refresh(self, session: Session) -> str:
        try:
            answer = self._send(
                "auth", "POST", "/api/auth/refresh", json={"refreshToken": session.refresh_token}
            )
        except ApiError as error:
            if error.status in (401, 403):
                self.store.forget(self.server)
                raise NotLoggedIn("The session ended: run `git44ctl login` again.") from None
            raise
        fresh = Session(session.email, answer["accessToken"], answer.get("refreshToken"))
        self.store.save(self.server, fresh)
        return fresh.access_token

    def _revoke(self, session: Session) -> None:
        if session.refresh_token:
            try:
                body = {"refreshToken": session.refresh_token}
                self._send("auth", "POST", "/api/auth/logout", json=body)
            except (ApiError, Unreachable):
                pass  # it expires on its own; forgetting it here is what matters

    def _send(
        self, service: Service, method: str, path: str, *,
        params: Mapping[str, Any] | None = None, json: Any = None, token: str | None = None,
    ) -> Any:  # fmt: skip
        url = self.endpoints.of_service(service) + path
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.request(method, url, params=params, json=json, headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(f"{url}: {exc.__class__.__name__} ({exc})") from None
        if response.status_code >= 400:
            raise problem_of(response)
        if response.is_redirect:  # the API never redirects: this URL is not the API's
            where = response.headers.get("location", "elsewhere")
            raise NotTheApi(f"{url} answered {response.status_code}, to {where}: check --url")
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise NotTheApi(f"{url} answered {response.status_code} with {kind}, not JSON: "
                            "check --url") from None  # fmt: skip
