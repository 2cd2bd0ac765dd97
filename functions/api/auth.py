"""Who am I, and the local runtime's pick-a-person sign-in (docs/access.md). Included by app.py.

  GET  /auth/me               any authenticated caller: {person, name, roles, kind}
  POST /auth/local/sign-in    local runtime only, no password: {"person": id} → a session token (and cookie), 12 h
  POST /auth/local/sign-out   local runtime only: the cookie is dropped
  GET  /auth/local/people     local runtime only: whom the sign-in page offers, with their roles

Deployed, people sign in with Cognito and API Gateway verifies their tokens; the /auth/local/ routes answer 404
(firebell/domain/access.py marks them local-only).
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, ConfigDict, StringConstraints

from firebell import wiring
from firebell.domain.access import ALL_ROLES, Role
from firebell.domain.errors import LocalOnly, UnknownPerson
from firebell.settings import get_settings

if __package__:
    from . import guard
else:  # Lambda: this folder is the asset's root
    import guard

router = Router()

PersonId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: PersonId


class SignedIn(BaseModel):
    token: str
    person: str
    roles: list[Role]
    expires_at: datetime


class Me(BaseModel):
    person: str
    name: str
    roles: list[Role]
    kind: Literal["person", "machine"]


class PersonChoice(BaseModel):
    id: str
    name: str
    roles: list[Role]


class People(BaseModel):
    items: list[PersonChoice]


def _ordered(roles: frozenset[Role] | list[Role]) -> list[Role]:
    return [role for role in Role if role in set(roles)]


@router.get("/auth/me", summary="Who the request's credentials name, and what they may do")
def who_am_i() -> Me:
    caller = guard.caller(router)
    if caller.kind == "machine":  # its IAM policy is its authority: it may call every route a role may
        return Me(person=caller.actor, name=caller.principal or "", roles=_ordered(ALL_ROLES), kind="machine")
    person = wiring.effective_config().directory.person(caller.actor)
    return Me(
        person=caller.actor, name=person.name if person else caller.actor, roles=_ordered(caller.roles), kind="person"
    )


def _session_secret() -> bytes:
    secret = get_settings().session_secret
    if not secret:  # the local runtime always sets it; a test harness that does not gets no sign-in
        raise LocalOnly("the local sign-in needs FIREBELL_SESSION_SECRET, which the local runtime sets")
    return secret.encode()


def _cookie(token: str, max_age: int) -> str:
    # HttpOnly: page scripts never read it; SameSite=Strict: no other site's page can send it. Not Secure: the
    # local runtime also serves plain HTTP on 127.0.0.1.
    return f"firebell_session={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"


@router.post(
    "/auth/local/sign-in",
    summary="Sign in locally as any person of the config (no password; local runtime only)",
    responses={
        200: {"description": "Signed in: the token (also set as the firebell_session cookie)"},
        404: {"description": "Not the local runtime: deployed, people sign in with Cognito"},
    },
)
def sign_in(request: SignInRequest) -> Response[SignedIn]:
    """Answers a session token for the person, valid 12 hours: send it as `Authorization: Bearer <token>`, or let
    the browser send the `firebell_session` cookie set here. The roles are the person's `roles` in config/firebell.yaml
    (default reporter), as they are now; signing in again picks up a change."""
    from firebell.domain.sessions import SESSION_HOURS, issue  # the signer is loaded only where sign-in exists

    secret = _session_secret()
    person = wiring.effective_config().directory.person(request.person)
    if person is None:
        raise UnknownPerson(request.person, field="body.person")
    token, session = issue(person.id, person.roles, secret, wiring.utc_now())
    body = SignedIn(token=token, person=person.id, roles=_ordered(session.roles), expires_at=session.expires_at)
    return Response[Any](
        HTTPStatus.OK,
        "application/json",
        body.model_dump(mode="json"),
        headers={"Set-Cookie": _cookie(token, SESSION_HOURS * 3600), "Cache-Control": "no-store"},
    )


@router.post(
    "/auth/local/sign-out",
    summary="Sign out locally: the session cookie is dropped (local runtime only)",
    responses={204: {"description": "Signed out"}, 404: {"description": "Not the local runtime"}},
)
def sign_out() -> Response[None]:
    """Drops the `firebell_session` cookie. A token kept elsewhere stays valid until it expires."""
    return Response(HTTPStatus.NO_CONTENT, None, None, headers={"Set-Cookie": _cookie("", 0)})  # HTTP: no body on 204


@router.get(
    "/auth/local/people",
    summary="The people the local sign-in offers, with their roles (local runtime only)",
    responses={
        200: {"description": "Everyone of the directory, with their roles"},
        404: {"description": "Not the local runtime"},
    },
)
def local_people() -> People:
    directory = wiring.effective_config().directory
    return People(items=[PersonChoice(id=p.id, name=p.name, roles=_ordered(p.roles)) for p in directory.people])
