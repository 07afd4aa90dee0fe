"""Which URLs an import may fetch (pipeline/import_urls.py, cloud/remote_source.py's
address check): the SSRF rules, on their own."""

from __future__ import annotations

import ipaddress

import pytest
from lumiere.cloud.remote_source import checked_address
from lumiere.config import Settings, parse_networks
from lumiere.errors import InvalidRequestError, PermanentError, ReasonCode
from lumiere.pipeline.import_urls import (
    filename_from_url,
    is_public_address,
    literal_address,
    parse_import_url,
    redirect_target,
    shown,
)
from lumiere.pipeline.url_import import import_request


def test_parse_keeps_what_the_request_needs_and_shows_no_query() -> None:
    url = parse_import_url("  HTTPS://Example.COM/videos/My%20clip.mp4?X-Amz-Signature=abc#t=3 ")
    assert (url.scheme, url.host, url.port) == ("https", "example.com", 443)
    assert url.target == "/videos/My%20clip.mp4?X-Amz-Signature=abc"
    assert url.host_header == "example.com"
    assert url.display == "https://example.com/videos/My%20clip.mp4"  # no token, no fragment
    assert filename_from_url(url) == "My clip.mp4"


def test_ports_ipv6_and_international_names() -> None:
    url = parse_import_url("http://[2606:4700::1111]:8080")
    assert (url.host, url.port, url.path) == ("2606:4700::1111", 8080, "/")
    assert url.host_header == "[2606:4700::1111]:8080"
    assert filename_from_url(url) == "download"
    assert parse_import_url("https://bücher.example/a.mp4").host == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (None, "url is required"),
        ("", "url is required"),
        ("ftp://example.com/a.mp4", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("example.com/a.mp4", "http:// or https://"),
        ("https://user:secret@example.com/a.mp4", "user name or password"),
        ("https:///a.mp4", "no host name"),
        ("https://example.com:0/a.mp4", "port"),
        ("https://example.com:99999/a.mp4", "not a valid address"),
        ("https://example.com/a b.mp4", "spaces or control characters"),
        ("https://example.com/" + "a" * 2100, "limit is 2048"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(raw: object, words: str) -> None:
    with pytest.raises(InvalidRequestError) as e:
        parse_import_url(raw)
    assert words in e.value.message


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("127.9.9.9", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # the instance metadata service
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104 - an address to refuse, not one to bind
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),  # IMDS over IPv6
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
        ("ff02::1", False),
        ("::127.0.0.1", False),  # IPv4-compatible loopback
        ("::ffff:0:127.0.0.1", False),  # SIIT
        ("64:ff9b:1::a9fe:a9fe", False),  # local-use NAT64 of 169.254.169.254
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("fec0::1", False),  # deprecated site-local
        ("::8.8.8.8", True),
    ],
)
def test_only_public_internet_addresses(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_allowed_networks_open_only_themselves() -> None:
    allowed = parse_networks("127.0.0.1/32, ::1")
    assert is_public_address(ipaddress.ip_address("127.0.0.1"), allowed)
    assert is_public_address(ipaddress.ip_address("::1"), allowed)
    assert not is_public_address(ipaddress.ip_address("127.0.0.2"), allowed)
    assert not is_public_address(ipaddress.ip_address("169.254.169.254"), allowed)
    with pytest.raises(ValueError, match="IMPORT_ALLOWED_NETWORKS"):
        Settings(import_allowed_networks="localhost")


def test_a_name_with_any_private_address_is_refused() -> None:
    url = parse_import_url("https://media.example.com/a.mp4")

    def resolver(answer: list[str]):  # type: ignore[no-untyped-def]
        return lambda host, port: [ipaddress.ip_address(a) for a in answer]

    assert str(checked_address(url, (), resolver(["93.184.216.34"]))) == "93.184.216.34"
    with pytest.raises(PermanentError) as e:
        checked_address(url, (), resolver(["93.184.216.34", "10.1.2.3"]))
    assert e.value.reason is ReasonCode.FETCH_REFUSED
    assert "media.example.com is at 10.1.2.3" in e.value.message


def test_redirects_are_resolved_and_checked_again() -> None:
    here = parse_import_url("https://cdn.example.com/v/1/clip.mp4?sig=1")
    assert redirect_target(here, "../2/clip.mp4").url == "https://cdn.example.com/v/2/clip.mp4"
    assert redirect_target(here, "//other.example/x.mp4").url == "https://other.example/x.mp4"
    assert redirect_target(here, "http://a.example/y").url == "http://a.example/y"
    with pytest.raises(InvalidRequestError):
        redirect_target(here, "file:///etc/passwd")
    with pytest.raises(InvalidRequestError):
        redirect_target(here, "")


def test_the_api_refuses_a_literal_private_address_before_making_an_asset() -> None:
    with pytest.raises(InvalidRequestError) as e:
        import_request({"url": "http://169.254.169.254/latest/meta-data/"}, Settings())
    assert e.value.reason is ReasonCode.FETCH_REFUSED
    request, _ = import_request({"url": "https://example.com/media/Song.MP3"}, Settings())
    assert (request.filename, request.content_type, request.size) == (
        "Song.MP3",
        "audio/mpeg",
        None,
    )
    request, _ = import_request({"url": "https://example.com/get?id=7"}, Settings())
    # no extension: the generic type, and ingest decides from the bytes
    assert (request.filename, request.content_type) == ("get", "application/octet-stream")
    request, _ = import_request(
        {"url": "https://example.com/x", "filename": "Talk.mov", "title": "Keynote"}, Settings()
    )
    assert (request.filename, request.content_type, request.title) == (
        "Talk.mov",
        "video/quicktime",
        "Keynote",
    )


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address to refuse, not one to bind
        ("cafe", None),
        ("media.example.com", None),
    ],
)
def test_numeric_hosts_are_read_as_the_resolver_reads_them(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found else None) == address
    if address:
        with pytest.raises(InvalidRequestError) as e:
            import_request({"url": f"http://{host}/a.mp4"}, Settings())
        assert e.value.reason is ReasonCode.FETCH_REFUSED


def test_a_trailing_dot_is_the_same_host() -> None:
    assert parse_import_url("https://Example.com./a.mp4").host == "example.com"


def test_messages_quote_urls_without_credentials_or_query() -> None:
    assert shown("http://me:hunter2@evil.example:8080/x?X-Amz-Signature=abc") == (
        "http://evil.example:8080/x"
    )
    assert shown("http://[::1") == "an address that is not valid"
    here = parse_import_url("https://cdn.example.com/a.mp4")
    with pytest.raises(InvalidRequestError, match="not a valid address"):
        redirect_target(here, "http://[::1")
