"""The public contract: `GET /api/openapi.json` (the whole public API in one OpenAPI 3.1
document, built from the three services by tools/public_api.py and shipped with
jobs-api) and `GET /api/docs` (Swagger UI on it). The UI's files come from the
`fastapi-swagger` package and are served here, its start-up from a file, not an inline
script: the page runs under the gateway's strict Content-Security-Policy ('self' only).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, HTMLResponse, Response

from git44_common.exceptions import NotFound

DOCUMENT = Path(__file__).resolve().parents[1] / "public_openapi.json"
SWAGGER_UI = Path(str(files("fastapi_swagger") / "resources"))
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
STARTUP = """window.onload = () => {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
  });
};
"""
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Git44 API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/start.js"></script>
</body>
</html>
"""
CACHED = {"Cache-Control": "public, max-age=300"}

router = APIRouter(prefix="/api", include_in_schema=False)


@cache
def _document() -> bytes:
    return DOCUMENT.read_bytes()


@router.get("/openapi.json")
async def public_openapi() -> Response:
    return Response(_document(), media_type="application/json", headers=CACHED)


@router.get("/docs")
async def public_docs() -> HTMLResponse:
    return HTMLResponse(PAGE, headers=CACHED)


@router.get("/docs/start.js")
async def docs_start() -> Response:
    return Response(STARTUP, media_type="text/javascript", headers=CACHED)


@router.get("/docs/{name}")
async def docs_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise NotFound("No such file.")
    return FileResponse(SWAGGER_UI / name, media_type=ASSETS[name], headers=CACHED)
