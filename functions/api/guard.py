"""Access before anything else: every matched route asks firebell/domain/access.py whether its caller may call
it, before its body is even read (a stranger learns 401, not what is wrong with the body they sent).

Powertools runs the request-validation middleware first on every route (api_gateway.py,
Route._build_middleware_stack) and user middlewares only after it, so the check sits in that first slot, in front
of the API's body rules (http_rules.JsonBodies). A path no route serves is left to the 404/405 answers: it
names nothing there is to protect.

Who the caller is is read before the resolver takes the event (`reading_caller`, around app.resolve), and kept in
context variables rather than the resolver's context: Powertools keeps the current request in class attributes,
which is fine for Lambda's one invocation per container at a time, but the local runtime and the tests run
several "containers" of this function as threads of one process. Reading the caller may look the directory up
(Cognito's email → person); done before resolving, that wait never falls between Powertools taking an event
and reading its body, and no thread ever sees another's caller.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from firebell import wiring
from firebell.domain.access import Allowed, Caller, Decision, decide, own_only_refusal, owns_incident
from firebell.domain.errors import Forbidden, LocalOnly, NotInDirectory, Unauthenticated
from firebell.domain.models import Incident
from firebell.domain.redaction import sees_contacts, without_phone_numbers
from firebell.settings import get_settings

if __package__:
    from .http_rules import JsonBodies
    from .identity import IdentitySources, caller_of
else:  # Lambda: this folder is the asset's root
    from http_rules import JsonBodies
    from identity import IdentitySources, caller_of

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.api_gateway import Router

M = TypeVar("M", bound=BaseModel)
_caller: ContextVar[Caller | None] = ContextVar("firebell_caller", default=None)
_decision: ContextVar[Decision | None] = ContextVar("firebell_decision", default=None)
_REFUSALS = {"unauthenticated": Unauthenticated, "not_in_directory": NotInDirectory, "local_only": LocalOnly}


def identity_sources() -> IdentitySources:
    settings = get_settings()
    return IdentitySources(
        local_runtime=settings.local_runtime,
        session_secret=settings.session_secret.encode() or None,
        directory=lambda: wiring.effective_config().directory,
        now=wiring.utc_now,
    )


@contextmanager
def reading_caller(event: Mapping[str, Any]) -> Iterator[Caller]:
    """The event's caller, for the routes this request reaches (the handler wraps app.resolve in it)."""
    caller = caller_of(event, identity_sources())
    token = _caller.set(caller)
    decided = _decision.set(None)
    try:
        yield caller
    finally:
        _decision.reset(decided)
        _caller.reset(token)


def check(app: Any) -> None:
    """Decide for the matched route; refuse (401/403/404) or let it run."""
    route = app.context.get("_route")
    if route is None or not any(route is r for r in (*app._static_routes, *app._dynamic_routes)):
        return  # the not-found route (404/405)
    caller = _caller.get()
    if caller is None:  # app.resolve called without the handler (a test): read it now
        caller = caller_of(app.current_event.raw_event, identity_sources())
        _caller.set(caller)
    decision = decide(route.method, route.path, caller, local_runtime=get_settings().local_runtime)
    _decision.set(decision)
    if not decision.allowed:
        raise _REFUSALS.get(decision.code, Forbidden)(decision.message)
    incident_id = (app.context.get("_route_args") or {}).get("incident_id")
    if decision.own_only and incident_id is not None:
        # Allowed only on what is theirs: whether this incident is, before the body is read, like any refusal.
        require_own(app, wiring.incidents().get(incident_id))


class GuardedJsonBodies(JsonBodies):
    """The request-validation slot: access first, then the body under the API's rules."""

    def handler(self, app: Any, next_middleware: Any) -> Any:
        check(app)
        return super().handler(app, next_middleware)


def install(app: APIGatewayRestResolver) -> None:
    # Powertools builds each route's middleware stack from this attribute (api_gateway.py, Route._build_middleware_stack).
    app._request_validation_middleware = GuardedJsonBodies()  # type: ignore[no-untyped-call]  # (Powertools' __init__)


def caller(resolver: APIGatewayRestResolver | Router) -> Caller:
    """The caller the check let through (only routes that passed it run). `resolver`: the route's app or router,
    for the reader (the caller is this request's, whichever resolver asks)."""
    found = _caller.get()
    if found is None or _decision.get() is None:
        raise RuntimeError("no caller: the route ran without the access check")
    return found


def actor(resolver: APIGatewayRestResolver | Router) -> str:
    """Who the timeline names for what this request does: never a body field."""
    return caller(resolver).actor


def limited_to_own(resolver: APIGatewayRestResolver | Router) -> bool:
    """True when the caller may call this route only on an incident that is theirs (firebell/domain/access.py)."""
    decision = _decision.get()
    return decision is not None and decision.own_only


def reporter_filter(resolver: APIGatewayRestResolver | Router, asked: str | None) -> str | None:
    """The `reporter` a list filters by: `me` is the caller; someone allowed the list only on their own reports gets
    their own whatever they asked, and 403 for asking for another's. Empty is no filter; `me` in any case."""
    me = caller(resolver)
    asked = (asked or "").strip() or None
    if asked is not None and asked.casefold() == "me":
        asked = me.actor
    if not limited_to_own(resolver):
        return asked
    if asked not in (None, me.actor):
        raise Forbidden(own_only_refusal(me, _decision.get().rule))  # type: ignore[union-attr, arg-type]
    return me.actor


def for_caller(resolver: APIGatewayRestResolver | Router, answer: M) -> M:
    """`answer` as this caller may read it: phone numbers masked for those who do not work incidents."""
    if sees_contacts(caller(resolver)):
        return answer
    return type(answer).model_validate(without_phone_numbers(answer.model_dump(mode="json")))


def require_own(resolver: APIGatewayRestResolver | Router, incident: Incident) -> None:
    """For a caller allowed this route only on what is theirs: 403 unless this incident is."""
    decision = _decision.get()
    rule = decision.rule if decision is not None else None
    if decision is None or not decision.own_only or not isinstance(rule, Allowed):
        return
    review_owner = incident.review.owner if incident.review else None
    if not owns_incident(caller(resolver), rule, incident.reporter, review_owner):
        raise Forbidden(own_only_refusal(caller(resolver), rule))
