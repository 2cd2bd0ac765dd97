"""The local runtime's sign-in sessions (docs/access.md): a token naming a person and their roles, signed with a
secret the runtime makes once per state folder, valid SESSION_HOURS.

The roles travel in the token, as a Cognito ID token carries its groups: a request needs no directory read to
know who asks, and a change of roles applies at the next sign-in. Signing is itsdangerous' (HMAC, SHA-256 here,
over a derived key, compared in constant time); the expiry is ours, checked against the clock the caller passes, so
tests need no sleeping. Deployed, Cognito issues the tokens and API Gateway verifies them: this is never used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from .access import Role

SESSION_HOURS = 12
COOKIE = "firebell_session"
# A token signed for something else with the same secret is not a session.
_SALT = "firebell.local-session.v1"
MAX_TOKEN_CHARS = 4096  # far above a real token (person id, five roles, a signature): longer is not one of ours


def _serializer(secret: bytes) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256})


class InvalidSession(ValueError):
    """Not a session token this runtime signed, or one that expired: the message says which."""


@dataclass(frozen=True)
class Session:
    person: str
    roles: frozenset[Role]
    expires_at: datetime


def issue(person: str, roles: frozenset[Role] | list[Role], secret: bytes, now: datetime) -> tuple[str, Session]:
    expires_at = (now + timedelta(hours=SESSION_HOURS)).replace(microsecond=0)
    ordered = [role.value for role in Role if role in set(roles)]
    token = _serializer(secret).dumps({"p": person, "r": ordered, "e": int(expires_at.timestamp())})
    return token, Session(person, frozenset(Role(r) for r in ordered), expires_at)


def verify(token: str, secret: bytes, now: datetime) -> Session:
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidSession("the session token is not one this runtime signed")
    try:
        claims = _serializer(secret).loads(token)
        expires_at = datetime.fromtimestamp(int(claims["e"]), UTC)
        session = Session(str(claims["p"]), frozenset(Role(r) for r in claims["r"]), expires_at)
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError):
        raise InvalidSession("the session token is not one this runtime signed") from None
    if now >= expires_at:
        raise InvalidSession("the session token has expired")
    return session
