"""SSRF: links that could make the pipeline (inputLink) or the webhook sender
(callbackUrl) reach anything but their intended public host are 422 and cost nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from localstack import LocalStack

from tests.security.actors import Account, register

pytestmark = pytest.mark.e2e

BAD_INPUT_LINKS = [
    "http://127.0.0.1/p/s_abc",
    "https://127.0.0.1/p/s_abc",
    "https://2130706433/p/s_abc",  # 127.0.0.1 as a decimal integer
    "https://0x7f000001/p/s_abc",  # ... as hex
    "https://0177.0.0.1/p/s_abc",  # ... octal
    "https://127.1/p/s_abc",  # ... short form
    "https://[::1]/p/s_abc",
    "https://[::ffff:127.0.0.1]/p/s_abc",  # IPv4-mapped IPv6
    "https://[::ffff:7f00:1]/p/s_abc",
    "https://169.254.169.254/latest/meta-data/",
    "https://localhost/p/s_abc",
    "https://localhost.:8002/p/s_abc",
    "https://sora.chatgpt.com@127.0.0.1/p/s_abc",  # userinfo: the host is 127.0.0.1
    "https://user:pass@sora.chatgpt.com/p/s_abc",
    "https://sora.chatgpt.com:pass@evil.example/p/s_abc",
    "https://evil.example#@sora.chatgpt.com/p/s_abc",
    "https://evil.example\\@sora.chatgpt.com/p/s_abc",
    "https://sora.chatgpt.com.evil.example/p/s_abc",
    "https://evil.example/sora.chatgpt.com/p/s_abc",
    "https://evil.example/?url=https://sora.chatgpt.com/p/s_abc",
    "https://sora.chatgpt.com%2F@evil.example/p/s_abc",
    "https://sora.chatgpt.com:22/p/s_abc",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://sora.chatgpt.com/p/s_abc",
    "javascript:alert(1)",
    "data:text/plain,hi",
    "//sora.chatgpt.com/p/s_abc",
    " https://127.0.0.1/p/s_abc",
    "https://sora.chatgpt.com\r\nHost: 127.0.0.1/p/s_abc",
]

BAD_CALLBACKS = [
    "http://example.com/hook",  # not https
    "https://127.0.0.1/hook",
    "https://127.0.0.2:8443/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://127.1/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a9fe:a9fe]/hook",  # 169.254.169.254, IPv4-mapped
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://10.0.0.1/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://0.0.0.0/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://localhost/hook",
    "https://rabbitmq.local/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://user:pass@example.com/hook",
    "https://example.com@127.0.0.1/hook",
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
]


@pytest.fixture(scope="module")
def account(security_stack: LocalStack) -> Account:
    return register(security_stack)


def quota(stack: LocalStack, account: Account) -> Any:
    url = f"{stack.url('jobs-api')}/api/removal/quota"
    return httpx.get(url, headers=account.headers, timeout=30).json()["remainingQuota"]


@pytest.mark.parametrize("link", BAD_INPUT_LINKS)
def test_an_input_link_off_sora_is_refused(
    link: str, security_stack: LocalStack, account: Account
) -> None:
    response = httpx.post(
        f"{security_stack.url('jobs-api')}/api/removal",
        json={"inputLink": link},
        headers=account.headers,
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"


@pytest.mark.parametrize("callback", BAD_CALLBACKS)
def test_a_callback_url_off_the_public_internet_is_refused(
    callback: str, security_stack: LocalStack, account: Account
) -> None:
    response = httpx.post(
        f"{security_stack.url('jobs-api')}/api/v1/removals",
        json={"inputLink": "https://sora.chatgpt.com/p/s_ssrf0001", "callbackUrl": callback},
        headers={"X-API-Key": account.api_key},
        timeout=30,
    )
    assert response.status_code == 422, response.text
    locations = [error["loc"] for error in response.json()["errors"]]
    assert ["body", "callbackUrl"] in locations


def test_a_bad_callback_in_a_batch_refuses_that_item(
    security_stack: LocalStack, account: Account
) -> None:
    item = {"inputLink": "https://sora.chatgpt.com/p/s_ssrf0002"}
    body = {"items": [{**item, "callbackUrl": "https://169.254.169.254/"}]}
    response = httpx.post(
        f"{security_stack.url('jobs-api')}/api/v1/removals/batch",
        json=body,
        headers={"X-API-Key": account.api_key},
        timeout=30,
    )
    assert response.status_code in {200, 422}, response.text
    if response.status_code == 200:
        (result,) = response.json()["data"]
        assert result.get("job") is None
        assert result["problem"]["status"] == 422


def test_refused_links_cost_nothing(security_stack: LocalStack, account: Account) -> None:
    assert quota(security_stack, account) == 500
