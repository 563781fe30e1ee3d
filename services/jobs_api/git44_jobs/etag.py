"""ETags for GET responses: a hash of the JSON body; `If-None-Match` that matches → 304."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response


def compute_etag(content: Any) -> str:
    body = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    weak = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == weak for tag in header.split(","))


def etag_response(request: Request, model: BaseModel) -> Response:
    """`model` as JSON with an ETag, or an empty 304 when the client already has it."""
    content = jsonable_encoder(model, by_alias=True)
    etag = compute_etag(content)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(content, headers=headers)
