"""Who sent a request, read from the API Gateway proxy event (docs/access.md). Deciding what they may do is
firebell/domain/access.py's; this only says who they are.

In order, the first that applies:
1. `requestContext.authorizer.claims`: API Gateway's Cognito user pool authorizer verified an ID token (the
   people API). The person is the directory person whose email is the `email` claim (case-insensitive); their
   roles are the token's `cognito:groups` named like roles. A REST API authorizer hands every claim over as a
   string, so several groups arrive as one: "responder,admin" or, as other API Gateway authorizers write
   arrays, "[responder admin]"; a list is taken as it is. The person's `roles` in the directory add to them:
   people who sign in through the company's IdP get their roles from the (git-reviewed) directory without
   anyone adding them to Cognito groups, which Cognito does not map from the IdP by itself.
2. `requestContext.identity.userArn`: API Gateway's AWS_IAM authorization verified a SigV4 signature (the
   machine API; locally, infra/local/http_api.py says so of any request signed that way).
3. Local runtime only (FIREBELL_LOCAL_RUNTIME=1, with the secret it made): a session token from
   POST /auth/local/sign-in, as `Authorization: Bearer <token>` or the `firebell_session` cookie. Deployed,
   these are never honoured: API Gateway's authorizers are the only way in.
Nothing of these: nobody (with what was wrong, when credentials were presented but not valid).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from firebell.domain.access import Caller, roles_from_groups
from firebell.domain.directory import Directory

SESSION_COOKIE = "firebell_session"  # firebell.domain.sessions.COOKIE, without importing the signer here
_GROUP_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class IdentitySources:
    """What reading a caller may need, each looked up only when it is needed (settings are read per container
    on first use, never at import)."""

    local_runtime: bool
    session_secret: bytes | None
    directory: Callable[[], Directory]
    now: Callable[[], datetime]


def caller_of(event: Mapping[str, Any], sources: IdentitySources) -> Caller:
    context = event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims")
    if isinstance(claims, Mapping) and claims:
        return _cognito_person(claims, sources.directory())
    user_arn = (context.get("identity") or {}).get("userArn")
    if isinstance(user_arn, str) and user_arn:
        return Caller.machine(user_arn)
    if sources.local_runtime and sources.session_secret:
        token = session_token(event.get("headers") or {})
        if token is not None:
            return _local_person(token, sources.session_secret, sources.now())
    return Caller.nobody()


def cognito_groups(value: Any) -> list[str]:
    """The groups of a `cognito:groups` claim however it arrived: a list, "a,b", "[a b]", '["a","b"]'."""
    if isinstance(value, list | tuple):
        return [str(group) for group in value]
    if not isinstance(value, str):
        return []
    inner = value.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return [part.strip("'\"") for part in _GROUP_SEPARATORS.split(inner) if part.strip("'\"")]


def _cognito_person(claims: Mapping[str, Any], directory: Directory) -> Caller:
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip():
        return Caller.stranger(None)
    person = directory.person_by_email(email)
    if person is None:
        return Caller.stranger(email.strip()[:256])
    return Caller.of_person(
        person.id, roles_from_groups(cognito_groups(claims.get("cognito:groups"))) | set(person.roles)
    )


def session_token(headers: Mapping[str, str]) -> str | None:
    """The token of `Authorization: Bearer …`, else of the session cookie; None when neither is there."""
    lowered = {str(name).lower(): value for name, value in headers.items()}
    authorization = (lowered.get("authorization") or "").strip()
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    for pair in (lowered.get("cookie") or "").split(";"):
        name, _, value = pair.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value.strip('"')
    return None


def _local_person(token: str, secret: bytes, now: datetime) -> Caller:
    # Imported here: a deployed function never signs in locally, so its cold start never loads the signer.
    from firebell.domain.sessions import InvalidSession, verify

    try:
        session = verify(token, secret, now)
    except InvalidSession as invalid:
        return Caller.nobody(str(invalid))
    return Caller.of_person(session.person, session.roles)
