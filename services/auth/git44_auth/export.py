"""The account data export: auth's own records plus jobs-api's, in one document.

jobs-api is asked with the caller's own bearer token, so it answers exactly what it
would show them and auth needs no service credential for it. Password hashes and key
hashes are never part of it.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from git44_auth.context import AuthContext
from git44_auth.crud import api_keys, users
from git44_auth.models import AccountExportPublic, ApiKeyExport, UserPublic
from git44_common.exceptions import ServiceUnavailable, TokenInvalid

log = logging.getLogger(__name__)
JOBS_EXPORT_PATH = "/api/removal/export"


async def export_account(
    ctx: AuthContext, *, user_id: str, authorization: str
) -> AccountExportPublic:
    """The caller's data from every service (503 while jobs-api cannot answer)."""
    user = await users.get_user(ctx.db, user_id)
    if user is None:
        raise TokenInvalid("The user no longer exists.")
    keys = await api_keys.list_user_api_keys(ctx.db, user_id)
    removal = await _fetch_jobs_export(ctx.jobs_api, authorization)
    return AccountExportPublic(
        account=UserPublic.from_doc(user),
        api_keys=[ApiKeyExport.from_doc(key) for key in keys],
        removal=removal,
    )


async def _fetch_jobs_export(client: httpx.AsyncClient | None, authorization: str) -> Any:
    if client is None:
        raise ServiceUnavailable("The data export needs jobs-api.")
    try:
        response = await client.get(JOBS_EXPORT_PATH, headers={"Authorization": authorization})
        if response.status_code == 401:
            raise TokenInvalid("The token was refused.")
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("jobs-api export failed", extra={"error": repr(exc)})
        raise ServiceUnavailable("Part of your data is unavailable; try again.") from exc
