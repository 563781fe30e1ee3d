"""jobs-api serves the public contract: the merged OpenAPI document and its docs page."""

from __future__ import annotations

import json

from tests.integration.jobs.support import Jobs
from tools import public_api


async def test_the_public_document_is_served_as_committed(jobs: Jobs) -> None:
    response = await jobs.client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == json.loads(public_api.DOCUMENT.read_text())
    assert "/api/auth/login" in response.json()["paths"]  # auth's routes too


async def test_the_docs_page_and_its_files_come_from_jobs_api(jobs: Jobs) -> None:
    page = await jobs.client.get("/api/docs")
    assert page.status_code == 200
    assert '<script src="/api/docs/swagger-ui-bundle.js"></script>' in page.text
    assert "<script>" not in page.text  # no inline script: the page runs under a strict CSP
    start = await jobs.client.get("/api/docs/start.js")
    assert 'url: "/api/openapi.json"' in start.text
    bundle = await jobs.client.get("/api/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert len(bundle.content) > 100_000
    assert (await jobs.client.get("/api/docs/swagger-ui.css")).status_code == 200
    missing = await jobs.client.get("/api/docs/..%2F..%2Fpublic_openapi.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_the_contract_routes_are_not_in_jobs_apis_own_document(jobs: Jobs) -> None:
    own = (await jobs.client.get("/openapi.json")).json()
    assert not [path for path in own["paths"] if path.startswith(("/api/docs", "/api/openapi"))]
