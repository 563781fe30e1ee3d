"""Email verification and password reset with the services as real processes and the
simulator's SMTP sink, verification required (as in production): register, read the
mailed link, verify, submit; forgot, reset, the old session refused and the change
mailed; known and unknown addresses indistinguishable by answer and by time; an admin's
reset mail."""

from __future__ import annotations

import statistics
import time

import httpx
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack

from git44_sim.client import SimControl
from git44_sim.models import MailPublic
from tests.integration.auth.flows import NEW_PASSWORD, PASSWORD, link_token, new_email
from tests.utils.requests import sora_link
from tests.utils.stack import stack_fixture
from tests.utils.waiting import eventually

# Verification on, as in production; the timing test asks 100 times for resets, from
# one address and for one account: the forgot-password limits are raised for it.
stack = stack_fixture(
    "stack",
    scope="module",
    tag="am",
    extra_env={
        "AUTH_REQUIRE_EMAIL_VERIFICATION": "true",
        "AUTH_PASSWORD_FORGOT_PER_EMAIL_PER_HOUR": "1000",
        "AUTH_PASSWORD_FORGOT_PER_IP_PER_HOUR": "1000",
    },
)

VERIFY_SUBJECT = "Verify your email address"
RESET_SUBJECT = "Reset your Git44 password"
CHANGED_SUBJECT = "Your Git44 password was changed"
TIMING_TRIES = 50


async def mail_with(stack: LocalStack, email: str, subject: str) -> MailPublic:
    """The newest mail to `email` with `subject` the simulator's sink got."""
    async with SimControl(stack.url("sim")) as sim:

        async def arrived() -> list[MailPublic]:
            return [m for m in await sim.list_mail(to=email) if m.subject == subject]

        return (await eventually(arrived, within=20))[0]


async def register(http: httpx.AsyncClient, email: str) -> dict[str, object]:
    """A new account, through `http` (based at auth's URL)."""
    body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
    response = await http.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    registered: dict[str, object] = response.json()
    return registered


async def test_register_verify_then_submit(stack: LocalStack) -> None:
    auth, jobs, email = stack.url("auth"), stack.url("jobs-api"), new_email()
    async with httpx.AsyncClient(base_url=auth, timeout=30) as http:
        account = await register(http, email)
        bearer = {"Authorization": f"Bearer {account['accessToken']}"}
        api_key = {"X-API-Key": account["apiKey"]["key"]}  # type: ignore[index]
        for url, headers in (("/api/removal", bearer), ("/api/v1/removals", api_key)):
            refused = await http.post(jobs + url, json={"inputLink": sora_link()}, headers=headers)
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "email_unverified"
        assert (await http.get(f"{jobs}/api/removal/quota", headers=bearer)).status_code == 200

        mail = await mail_with(stack, email, VERIFY_SUBJECT)
        token = link_token(mail.text, "/verify-email")
        verified = await http.post(f"{auth}/api/auth/verify-email", json={"token": token})
        assert verified.status_code == 204, verified.text
        me = await http.get(f"{auth}/api/auth/me", headers=bearer)
        assert me.json()["emailVerified"] is True

        started = time.monotonic()
        for url, headers in (("/api/removal", bearer), ("/api/v1/removals", api_key)):
            created = await http.post(jobs + url, json={"inputLink": sora_link()}, headers=headers)
            assert created.status_code == 202, created.text
        assert time.monotonic() - started < 5  # no waiting for a status cache to expire


async def test_forgot_reset_ends_the_old_session_and_mails_the_change(stack: LocalStack) -> None:
    auth, email = stack.url("auth"), new_email()
    async with httpx.AsyncClient(base_url=auth, timeout=30) as http:
        account = await register(http, email)
        forgot = await http.post("/api/auth/password/forgot", json={"email": email})
        assert forgot.status_code == 202
        token = link_token((await mail_with(stack, email, RESET_SUBJECT)).text, "/reset-password")
        body = {"token": token, "password": NEW_PASSWORD, "confirmPassword": NEW_PASSWORD}
        assert (await http.post("/api/auth/password/reset", json=body)).status_code == 204
        reset_at = time.monotonic()

        # the old access token: refused by jobs-api and key-manager within 5 s
        old_access = {"Authorization": f"Bearer {account['accessToken']}"}
        for url, while_valid in (
            (f"{stack.url('jobs-api')}/api/removal/quota", 200),
            (f"{stack.url('key-manager')}/api/admin/scraper-keys", 403),  # not an admin
        ):

            async def refused(url: str = url, while_valid: int = while_valid) -> bool:
                answer = await http.get(url, headers=old_access)
                assert answer.status_code in (401, while_valid), answer.text
                return answer.status_code == 401 and answer.json()["code"] == "token_invalid"

            await eventually(refused, within=5, every=0.1)
        assert time.monotonic() - reset_at < 5
        old = await http.post("/api/auth/refresh", json={"refreshToken": account["refreshToken"]})
        assert old.status_code == 401
        assert (await mail_with(stack, email, CHANGED_SUBJECT)).to == [email]
        login = await http.post("/api/auth/login", json={"email": email, "password": NEW_PASSWORD})
        assert login.status_code == 200


async def test_forgot_answers_known_and_unknown_addresses_alike(stack: LocalStack) -> None:
    known, unknown = new_email(), new_email("nobody")
    async with httpx.AsyncClient(base_url=stack.url("auth"), timeout=30) as http:
        await register(http, known)
        timings: dict[str, list[float]] = {known: [], unknown: []}
        answers: dict[str, set[tuple[int, str]]] = {known: set(), unknown: set()}
        for attempt in range(TIMING_TRIES):
            order = (known, unknown) if attempt % 2 == 0 else (unknown, known)
            for email in order:
                started = time.perf_counter()
                response = await http.post("/api/auth/password/forgot", json={"email": email})
                timings[email].append(time.perf_counter() - started)
                answers[email].add((response.status_code, response.text))
    assert answers[known] == answers[unknown]
    assert len(answers[known]) == 1
    assert next(iter(answers[known]))[0] == 202
    medians = {email: statistics.median(times) for email, times in timings.items()}
    print(
        f"forgot-password medians: known {medians[known]:.4f} s, unknown {medians[unknown]:.4f} s"
    )  # noqa: T201
    assert abs(medians[known] - medians[unknown]) < 0.050


async def test_an_admin_mails_a_reset_link_end_to_end(stack: LocalStack) -> None:
    auth, email = stack.url("auth"), new_email()
    async with httpx.AsyncClient(base_url=auth, timeout=30) as http:
        account = await register(http, email)
        credentials = {"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
        admin = (await http.post("/api/auth/login", json=credentials)).json()
        headers = {"Authorization": f"Bearer {admin['accessToken']}"}
        user_id = account["user"]["id"]  # type: ignore[index]
        sent = await http.post(f"/api/admin/users/{user_id}/password-reset", headers=headers)
        assert sent.status_code == 202, sent.text

        token = link_token((await mail_with(stack, email, RESET_SUBJECT)).text, "/reset-password")
        body = {"token": token, "password": NEW_PASSWORD, "confirmPassword": NEW_PASSWORD}
        assert (await http.post("/api/auth/password/reset", json=body)).status_code == 204
        login = await http.post("/api/auth/login", json={"email": email, "password": NEW_PASSWORD})
        assert login.status_code == 200
