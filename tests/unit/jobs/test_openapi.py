"""jobs-api's OpenAPI document: the reads that answer 304 say so."""

from __future__ import annotations

from typing import Any

from git44_jobs.core.config import JobsSettings
from git44_jobs.main import create_app

CACHED_READS = (
    "/api/removal/quota",
    "/api/removal/user/jobs",
    "/api/removal/{job_id}",
    "/api/v1/removals",
    "/api/v1/removals/{job_id}",
    "/api/v1/quota",
)


def test_reads_with_an_etag_document_if_none_match_and_304() -> None:
    paths: dict[str, Any] = create_app(JobsSettings()).openapi()["paths"]
    for path in CACHED_READS:
        operation = paths[path]["get"]
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert "if-none-match" in headers, path
        assert "304" in operation["responses"], path
    documented = {
        path for path, item in paths.items() if "304" in item.get("get", {}).get("responses", {})
    }
    assert documented == set(CACHED_READS)


def test_every_list_documents_its_page_size_bounds_from_the_settings() -> None:
    settings = JobsSettings(page_size_default=7, page_size_max=33)
    paths: dict[str, Any] = create_app(settings).openapi()["paths"]
    lists = ["/api/removal/user/jobs", "/api/v1/removals", "/api/admin/jobs"]
    for path in lists:
        (limit,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == "limit"]
        assert (limit["schema"]["maximum"], limit["schema"]["default"]) == (33, 7), path
