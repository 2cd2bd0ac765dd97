"""One-click acknowledgement links: HMAC-signed, expiring; single use is enforced by the store."""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import InvalidAckLink

__all__ = ["AckClaim", "InvalidAckLink", "sign", "verify"]


@dataclass(frozen=True, slots=True)
class AckClaim:
    incident_id: str
    person: str
    expires_at: datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(incident_id: str, person: str, expires_at: datetime, secret: bytes) -> str:
    payload = f"{incident_id}|{person}|{int(expires_at.timestamp())}|{secrets.token_urlsafe(12)}".encode()
    return f"{_b64(payload)}.{_b64(hmac.new(secret, payload, hashlib.sha256).digest())}"


def verify(token: str, secret: bytes, now: datetime) -> AckClaim:
    try:
        payload_part, mac_part = token.split(".")
        payload, mac = _unb64(payload_part), _unb64(mac_part)
        incident_id, person, expires, nonce = payload.decode().split("|")
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except ValueError:
        raise InvalidAckLink("this acknowledgement link is malformed") from None
    if not hmac.compare_digest(mac, hmac.new(secret, payload, hashlib.sha256).digest()):
        raise InvalidAckLink("this acknowledgement link was not issued by firebell")
    if now >= expires_at:
        raise InvalidAckLink("this acknowledgement link has expired")
    return AckClaim(incident_id, person, expires_at, nonce)
