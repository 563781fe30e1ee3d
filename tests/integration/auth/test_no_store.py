"""Answers that carry tokens or an API key tell every cache not to keep them
(`Cache-Control: no-store`): a shared proxy or the browser's disk cache must not hand a
session or a key to the next person."""

from __future__ import annotations

import httpx

from tests.integration.auth.flows import (
    NEW_PASSWORD,
    PASSWORD,
    bearer,
    login,
    new_email,
    register_raw,
)


def assert_not_stored(response: httpx.Response, expected_status: int) -> None:
    assert response.status_code == expected_status, response.text
    assert response.headers.get("cache-control") == "no-store", response.request.url.path


async def test_every_answer_with_tokens_or_a_key_is_marked_no_store(
    client: httpx.AsyncClient,
) -> None:
    email = new_email()
    registered = await register_raw(client, email)
    assert_not_stored(registered, 201)
    assert registered.json()["accessToken"]
    assert registered.json()["apiKey"]["key"]

    logged_in = await login(client, email)
    assert_not_stored(logged_in, 200)

    refresh_token = logged_in.json()["refreshToken"]
    refreshed = await client.post("/api/auth/refresh", json={"refreshToken": refresh_token})
    assert_not_stored(refreshed, 200)

    access = bearer(refreshed.json()["accessToken"])
    created = await client.post("/api/auth/api-keys", json={"name": "ci"}, headers=access)
    assert_not_stored(created, 201)
    assert created.json()["key"]

    changed = await client.post(
        "/api/auth/password",
        json={
            "currentPassword": PASSWORD,
            "newPassword": NEW_PASSWORD,
            "confirmPassword": NEW_PASSWORD,
        },
        headers=access,
    )
    assert_not_stored(changed, 200)


async def test_the_public_signing_keys_stay_cacheable(client: httpx.AsyncClient) -> None:
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "public, max-age=300"
