"""Per-person secret calendar feed addresses (docs/access.md): calendar apps cannot sign in, so the address is
the credential. Pure: making a token, reading one, and checking it against what is stored.

A token is `base64url(person id) "." 32 random bytes (base64url)`: the person part says which one stored entry
to read (one read, no index), the random part is the secret. Only its SHA-256 is stored; a new token replaces
the old one (the old address stops working), and revoking deletes the entry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

_SECRET_BYTES = 32
MAX_TOKEN = 512  # a person id of 128 characters, base64url'd, and the secret: far below this


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def secret_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed_token(person: str) -> str:
    return f"{_b64(person.encode())}.{_b64(secrets.token_bytes(_SECRET_BYTES))}"


def feed_person(token: str) -> str | None:
    """The person a token claims to be for, or None when it is no token of this shape (nothing to look up)."""
    encoded, dot, secret = token.partition(".")
    if not dot or not encoded or len(token) > MAX_TOKEN or len(secret) < _SECRET_BYTES:
        return None
    try:
        person = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return person or None


def matches(token: str, stored_sha256: str | None) -> bool:
    """Does the token hash to the stored one? In constant time: the address is the only credential."""
    return stored_sha256 is not None and hmac.compare_digest(secret_sha256(token), stored_sha256)


def feed_path(token: str) -> str:
    return f"/feeds/{token}/calendar.ics"
