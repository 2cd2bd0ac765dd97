"""One-click acknowledgement links: HMAC-signed, expiring, malformed ones refused (single use: test_service_process)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from firebell.domain import ack_links
from firebell.domain.ack_links import InvalidAckLink
from firebell.domain.errors import DomainError

SECRET = b"s3cret"
NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(hours=24)


def test_sign_then_verify():
    """Given a link signed for alice on INC's id, when verified before it expires, then the claim is hers."""
    token = ack_links.sign("01HXINCIDENT", "alice", EXPIRES, SECRET)

    claim = ack_links.verify(token, SECRET, NOW)

    assert (claim.incident_id, claim.person, claim.expires_at) == ("01HXINCIDENT", "alice", EXPIRES)
    assert claim.nonce


def test_every_link_has_its_own_nonce():
    """Given two links for the same person and incident, then they differ (each is single use on its own)."""
    first, second = (ack_links.sign("01HX", "alice", EXPIRES, SECRET) for _ in range(2))
    assert first != second
    assert ack_links.verify(first, SECRET, NOW).nonce != ack_links.verify(second, SECRET, NOW).nonce


def test_link_is_url_safe():
    token = ack_links.sign("01HX", "alice", EXPIRES, SECRET)
    assert all(c.isalnum() or c in "-_." for c in token)


def test_other_secret_is_refused():
    token = ack_links.sign("01HX", "alice", EXPIRES, SECRET)
    with pytest.raises(InvalidAckLink, match="not issued by firebell"):
        ack_links.verify(token, b"another secret", NOW)


def test_tampered_payload_is_refused():
    """Given a link whose payload was changed to name bob, then the signature no longer matches."""
    token = ack_links.sign("01HX", "alice", EXPIRES, SECRET)
    payload, mac = token.split(".")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    forged = base64.urlsafe_b64encode(decoded.replace("|alice|", "|bob|").encode()).decode().rstrip("=")
    with pytest.raises(InvalidAckLink, match="not issued by firebell"):
        ack_links.verify(f"{forged}.{mac}", SECRET, NOW)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=1), timedelta(days=3)])
def test_expired_link_is_refused(offset):
    """Given a link at or past its expiry, then it has expired."""
    token = ack_links.sign("01HX", "alice", EXPIRES, SECRET)
    with pytest.raises(InvalidAckLink, match="expired"):
        ack_links.verify(token, SECRET, EXPIRES + offset)


def test_link_valid_one_second_before_expiry():
    token = ack_links.sign("01HX", "alice", EXPIRES, SECRET)
    assert ack_links.verify(token, SECRET, EXPIRES - timedelta(seconds=1)).person == "alice"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nodot",
        "a.b.c",
        "!!!.???",
        base64.urlsafe_b64encode(b"only|three|parts").decode() + ".AAAA",
        base64.urlsafe_b64encode(b"id|alice|notanumber|nonce").decode() + ".AAAA",
    ],
)
def test_malformed_link_is_refused(token):
    """Given anything that is not a link firebell made, then it is malformed (a 4xx, never a 500)."""
    with pytest.raises(InvalidAckLink, match="malformed"):
        ack_links.verify(token, SECRET, NOW)


def test_invalid_link_is_a_domain_error():
    assert issubclass(InvalidAckLink, DomainError)
