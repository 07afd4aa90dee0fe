import pytest
from lumiere.pipeline.webhooks import sign, verify

BODY = b'{"type":"Asset Ready","data":{"asset_id":"a"}}'


def test_signature_verifies_with_the_right_secret_and_time() -> None:
    header = sign("s3cret", 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=")
    assert verify("s3cret", header, BODY, now=1_700_000_100)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("wrong", BODY, 1_700_000_000),  # another key
        ("s3cret", BODY.replace(b"a", b"b"), 1_700_000_000),  # tampered body
        ("s3cret", BODY, 1_700_000_301),  # replayed after the tolerance
    ],
)
def test_signature_refuses_tampering_and_replays(secret: str, body: bytes, now: int) -> None:
    assert not verify(secret, sign("s3cret", 1_700_000_000, BODY), body, now=now)


@pytest.mark.parametrize("header", ["", "v1=abc", "t=x,v1=abc", "garbage"])
def test_malformed_headers_do_not_verify(header: str) -> None:
    assert not verify("s3cret", header, BODY, now=1_700_000_000)
