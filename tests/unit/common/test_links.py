"""Sora links and callback URLs: what is accepted, and every trick that is not."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from git44_common.exceptions import InvalidLink
from git44_common.links import (
    is_public_address,
    resolve_public_addresses,
    validate_callback_url,
    validate_sora_link,
)

SORA = "https://sora.chatgpt.com/p/s_68e5a1b2c3d4e5f6"


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        (SORA, SORA),
        ("HTTPS://SORA.CHATGPT.COM/p/s_68e5a1b2c3d4e5f6", SORA),
        ("https://sora.chatgpt.com:443/p/s_68e5a1b2c3d4e5f6?utm_source=x#top", SORA),
        ("  https://sora.chatgpt.com/p/s_68e5a1b2c3d4e5f6/\n", SORA),
        ("https://sora.chatgpt.com/p/abc", "https://sora.chatgpt.com/p/abc"),
        ("https://sora.chatgpt.com/p/" + "A-_9" * 32, "https://sora.chatgpt.com/p/" + "A-_9" * 32),
    ],
)
def test_sora_share_links_are_accepted_in_canonical_form(link: str, canonical: str) -> None:
    assert validate_sora_link(link) == canonical


@pytest.mark.parametrize(
    "link",
    [
        # wrong scheme or not a URL at all
        "http://sora.chatgpt.com/p/abc",
        "ftp://sora.chatgpt.com/p/abc",
        "javascript:alert(1)//sora.chatgpt.com/p/abc",
        "data:text/html,https://sora.chatgpt.com/p/abc",
        "sora.chatgpt.com/p/abc",
        "//sora.chatgpt.com/p/abc",
        "https:sora.chatgpt.com/p/abc",
        "https:/sora.chatgpt.com/p/abc",
        "https:///p/abc",
        "",
        "   ",
        # credentials
        "https://user:pass@sora.chatgpt.com/p/abc",
        "https://user@sora.chatgpt.com/p/abc",
        "https://sora.chatgpt.com@evil.com/p/abc",
        "https://sora.chatgpt.com\\@evil.com/p/abc",
        # other hosts dressed up as Sora
        "https://sora.chatgpt.com.evil.com/p/abc",
        "https://evil.com/sora.chatgpt.com/p/abc",
        "https://evilsora.chatgpt.com/p/abc",
        "https://x.sora.chatgpt.com/p/abc",
        "https://chatgpt.com/p/abc",
        "https://sora.chatgpt.com./p/abc",
        "https://sora.chatgpt.com%2eevil.com/p/abc",
        "https://s\u043era.chatgpt.com/p/abc",  # Cyrillic o
        "https://\uff53ora.chatgpt.com/p/abc",  # full-width s
        "https://xn--sra-8cd.chatgpt.com/p/abc",
        # IP literals in every notation
        "https://127.0.0.1/p/abc",
        "https://2130706433/p/abc",
        "https://0x7f.1/p/abc",
        "https://0177.0.0.1/p/abc",
        "https://[::1]/p/abc",
        "https://[::ffff:127.0.0.1]/p/abc",
        # ports
        "https://sora.chatgpt.com:8443/p/abc",
        "https://sora.chatgpt.com:0/p/abc",
        "https://sora.chatgpt.com:99999/p/abc",
        "https://sora.chatgpt.com:abc/p/abc",
        # paths that are not a share id
        "https://sora.chatgpt.com/",
        "https://sora.chatgpt.com",
        "https://sora.chatgpt.com/p/",
        "https://sora.chatgpt.com/p/ab",
        "https://sora.chatgpt.com/p/" + "a" * 129,
        "https://sora.chatgpt.com/x/abc",
        "https://sora.chatgpt.com/p/abc/def",
        "https://sora.chatgpt.com/p/../admin",
        "https://sora.chatgpt.com/p/ab%63",
        "https://sora.chatgpt.com//p/abc",
        # characters that have no business in a link
        "https://sora.chatgpt.com/p/a bc",
        "https://sora.chatgpt.com/p/abc\r\nX-Injected: 1",
        "https://sora.chatgpt.com/p/abc\x00",
        "https://[sora.chatgpt.com]/p/abc",
        "https://sora.chatgpt.com]/p/abc",
    ],
)
def test_anything_but_a_sora_share_link_is_rejected(link: str) -> None:
    with pytest.raises(InvalidLink):
        validate_sora_link(link)


@pytest.mark.parametrize(
    "value", [None, 42, b"https://sora.chatgpt.com/p/abc", [SORA], {"u": SORA}]
)
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(InvalidLink, match="string"):
        validate_sora_link(value)


def test_a_ten_kilobyte_link_is_rejected_without_echoing_it() -> None:
    link = SORA + "?" + "a" * 10_240
    with pytest.raises(InvalidLink) as caught:
        validate_sora_link(link)
    assert "too long" in str(caught.value)
    assert len(str(caught.value)) < 100


def test_the_host_allow_list_is_configurable() -> None:
    hosts = ("sora.chatgpt.com", "Sora.Example.Test")
    assert validate_sora_link("https://sora.example.test/p/abc", allowed_hosts=hosts) == (
        "https://sora.example.test/p/abc"
    )
    with pytest.raises(InvalidLink):
        validate_sora_link(SORA, allowed_hosts=("other.example.test",))


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/git44",
        "https://example.com:8443/hook?source=git44",
        "https://93.184.216.34/hook",
        "https://[2606:4700::1111]/hook",
        "https://api.example.com./hook",
    ],
)
def test_public_https_callbacks_are_accepted(url: str) -> None:
    assert validate_callback_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/git44",
        "ftp://hooks.example.com/git44",
        "https://user:pw@hooks.example.com/",
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://app.localhost/hook",
        "https://printer.local/hook",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://router.home.arpa/",
        "https://intranet/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://255.255.255.255/hook",
        "https://240.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:a9fe:a9fe]/hook",
        "https://[fe80::1]/hook",
        "https://[fc00::1]/hook",
        "https://[ff02::1]/hook",
        "https://[2002:7f00:1::]/hook",
        "https://[64:ff9b::a00:1]/hook",
        "https://2130706433/hook",
        "https://0x7f000001/hook",
        "https://0177.0.0.1/hook",
        "https://127.1/hook",
        "https://evil.com.2130706433/hook",
        "https://-bad-.example.com/hook",
        "https://ex\u0430mple.com/hook",
        "https://example.com/ho ok",
    ],
)
def test_private_local_or_odd_callbacks_are_rejected(url: str) -> None:
    with pytest.raises(InvalidLink):
        validate_callback_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9000/hook", "http://127.0.0.1:9000/hook", "https://10.0.0.1/hook"],
)
def test_the_development_setting_admits_local_callbacks(url: str) -> None:
    assert validate_callback_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url", ["ftp://localhost/hook", "http://2130706433/hook", "http://u:p@localhost/hook"]
)
def test_the_development_setting_still_refuses_the_rest(url: str) -> None:
    with pytest.raises(InvalidLink):
        validate_callback_url(url, allow_private=True)


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "::1", "10.1.2.3", "no-such-host.invalid"]
)
async def test_resolution_refuses_hosts_that_are_not_public(host: str) -> None:
    with pytest.raises(InvalidLink):
        await resolve_public_addresses(host)


@pytest.mark.parametrize(
    "address", ["fec0::1", "feff:ffff::1", "fc00::1", "fe80::1", "::ffff:10.0.0.1", "100.64.0.1"]
)
def test_site_local_and_other_private_addresses_are_not_public(address: str) -> None:
    # a callback host may resolve to any of these (DNS), so the literal refusal is not enough
    assert not is_public_address(ipaddress.ip_address(address))


def test_global_addresses_are_public() -> None:
    assert is_public_address(ipaddress.ip_address("2606:4700::1111"))
    assert is_public_address(ipaddress.ip_address("93.184.216.34"))


async def test_resolution_returns_public_addresses() -> None:
    assert await resolve_public_addresses("93.184.216.34") == ["93.184.216.34"]


async def test_resolution_with_the_development_setting_allows_local_addresses() -> None:
    assert "127.0.0.1" in await resolve_public_addresses("localhost", allow_private=True)


_CANONICAL = re.compile(r"https://sora\.chatgpt\.com/p/[A-Za-z0-9_-]{3,128}")
_urlish = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}{path}",
    st.sampled_from(["https", "http", "HTTPS", "hTTps", ""]),
    st.one_of(st.text(max_size=40), st.just("sora.chatgpt.com"), st.just("sora.chatgpt.com:443")),
    st.one_of(st.text(max_size=40), st.from_regex(r"/p/[A-Za-z0-9_-]{1,140}", fullmatch=True)),
)


@given(st.one_of(st.text(), _urlish))
def test_any_text_is_either_a_canonical_link_or_invalid_link(text: str) -> None:
    try:
        canonical = validate_sora_link(text)
    except InvalidLink:
        return
    assert _CANONICAL.fullmatch(canonical)
    assert validate_sora_link(canonical) == canonical


@given(st.one_of(st.text(), _urlish))
def test_any_text_is_either_an_https_callback_or_invalid_link(text: str) -> None:
    try:
        url = validate_callback_url(text)
    except InvalidLink:
        return
    assert url.lower().startswith("https://")
