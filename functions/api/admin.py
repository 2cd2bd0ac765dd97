"""Admin API (/admin/...): people, schedules, escalation policies, teams, services, maintenance windows.

Included by app.py under /admin. config/firebell.yaml stays the baseline a team reviews in
git; what is changed here is stored as an overlay (firebell.directory_overlay) and reaches every function
within seconds. Every change is validated against the whole directory first: a change that would leave
it invalid is refused with 422 and the path of each problem, and nothing is stored.

  GET    /admin/directory                             the effective directory, and where each entry comes from
  GET    /admin/<kind>                                people | schedules | escalation_policies | teams | services
  GET    /admin/<kind>/<id>                           one entry (ETag: its overlay version)
  PUT    /admin/<kind>/<id>                           create or replace (body: the entry; If-Match: version, optional)
  DELETE /admin/<kind>/<id>                           remove, also one from the file (If-Match optional)
  POST   /admin/<kind>/<id>/revert                    drop the admin change: the file's entry applies again
  POST   /admin/schedules/<id>/overrides              append a temporary override {person, start, end}
  POST   /admin/services/<id>/maintenance-windows     append a maintenance window {start, end, reason}

Refusals raise the errors of firebell.domain.errors; functions/api/app.py answers them from its one table,
as JSON like the rest of the API: {"error", "message", "fields": [{"field", "problem"}]}; request fields are
named `body.…`, `path.id` or `header.If-Match`, problems elsewhere in the directory `directory.<kind>['<id>'].…`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from firebell import wiring
from firebell.directory_admin import EntryView
from firebell.directory_overlay import canonical_kind
from firebell.domain.errors import FieldProblem, InvalidEntry, InvalidHeader

if __package__:
    from . import guard
    from .http_rules import json_body
    from .openapi import request_body
else:  # Lambda: this folder is the asset's root
    import guard
    from http_rules import json_body
    from openapi import request_body

router = Router()

ENTRY_ANSWER: OpenAPIResponse = {"description": "The entry (ETag: its version)"}
IF_MATCH_REFUSALS: dict[int, OpenAPIResponse] = {
    400: {"description": 'If-Match is not an entry version such as "3"'},
    412: {"description": "If-Match names another version than the entry has now"},
}

ENTRY = {
    "type": "object",
    "description": "The entry, with the fields config/firebell.yaml gives this kind (people: "
    "id, name, email, phone; schedules: id, name, time_zone, layers; …); its id must match the path's.",
}
OVERRIDE = {
    "type": "object",
    "required": ["person", "start", "end"],
    "properties": {
        "person": {"type": "string"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
    },
}
MAINTENANCE_WINDOW = {
    "type": "object",
    "required": ["start", "end"],
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "reason": {"type": "string"},
    },
}


# --- request helpers --------------------------------------------------------------------------------


def entry_body(event: Any) -> Any:
    """The JSON body, read under the API's one rule (http_rules.py: Content-Type, UTF-8, bounds)."""
    if not (event.body or "").strip():
        raise InvalidEntry("a JSON body is required", [FieldProblem("body", "Field required")])
    return json_body(event)


# Declared so the document shows it; parsed here, so a malformed one is a 400 naming header.If-Match.
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=64,
        description='The version the change expects (the entry\'s ETag, e.g. "3"), or *',
    ),
]


def if_match_version(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        problem = f'If-Match must be an entry version such as "3" (got {raw!r})'
        raise InvalidHeader(problem, [FieldProblem("header.If-Match", problem)])
    return int(value)


def _actor() -> str:
    """Who made the change: the authenticated admin (docs/access.md), as the directory's history names them."""
    return guard.actor(router)


def entry_response(view: EntryView, status: HTTPStatus = HTTPStatus.OK) -> Response[dict[str, Any]]:
    return Response(
        status_code=status, content_type="application/json", body=view.to_json(), headers={"ETag": f'"{view.version}"'}
    )


# --- routes ---------------------------------------------------------------------------------------


@router.get("/directory", summary="The effective directory (file + admin changes), and where each entry comes from")
def read_directory() -> Response[dict[str, Any]]:
    return Response(HTTPStatus.OK, "application/json", wiring.directory_admin().snapshot().to_json())


@router.get(
    "/<kind>", summary="List one kind of directory entry (people, schedules, escalation_policies, teams, services)"
)
def list_entries(kind: str) -> Response[dict[str, Any]]:
    views = wiring.directory_admin().list(kind)
    return Response(
        HTTPStatus.OK, "application/json", {"kind": canonical_kind(kind), "items": [v.to_json() for v in views]}
    )


@router.get(
    "/webhooks/<entry_id>/secret",
    summary="An outgoing webhook subscription's signing secret (whsec_…), for its receiver",
    responses={200: {"description": "The secret: verify deliveries with any Standard Webhooks library"}},
)
def webhook_secret(entry_id: str) -> dict[str, str]:
    return {
        "id": entry_id,
        "secret": wiring.webhook_secrets().secret(entry_id),
        "scheme": "Standard Webhooks v1 (https://www.standardwebhooks.com): webhook-id, webhook-timestamp, webhook-signature",
    }


@router.post(
    "/webhooks/dead-letters/replay",
    summary="Deliver again the webhook events whose attempts ran out (the dead-letter queue)",
    responses={200: {"description": "How many were put back, and why each had been dead-lettered"}},
)
def replay_webhooks() -> dict[str, Any]:
    reasons = wiring.webhook_replay().replay()
    return {"replayed": len(reasons), "reasons": reasons}


@router.get("/<kind>/<entry_id>", summary="Read one directory entry")
def read_entry(kind: str, entry_id: str) -> Response[dict[str, Any]]:
    return entry_response(wiring.directory_admin().get(kind, entry_id))


@router.put(
    "/<kind>/<entry_id>",
    summary="Create or replace a directory entry (validated against the whole directory)",
    responses={200: {"description": "Replaced"}, 201: {"description": "Created"}, **IF_MATCH_REFUSALS},
)
@request_body(
    ENTRY,
    {"id": "grace", "name": "Grace Ops", "email": "grace@example.com", "phone": "+15550100007"},
    "The whole entry (for PUT /admin/people/grace: a person)",
)
def put_entry(kind: str, entry_id: str, if_match: IfMatch = None) -> Response[dict[str, Any]]:
    canonical_kind(kind)  # an unknown kind is a 404 whatever the body says
    view, created = wiring.directory_admin().put(
        kind, entry_id, entry_body(router.current_event), if_match=if_match_version(if_match), by=_actor()
    )
    return entry_response(view, HTTPStatus.CREATED if created else HTTPStatus.OK)


@router.delete(
    "/<kind>/<entry_id>",
    summary="Remove a directory entry (also one the file defines)",
    responses={204: {"description": "Removed"}, **IF_MATCH_REFUSALS},
)
def delete_entry(kind: str, entry_id: str, if_match: IfMatch = None) -> Response[dict[str, Any] | None]:
    wiring.directory_admin().delete(kind, entry_id, if_match=if_match_version(if_match), by=_actor())
    return Response(
        HTTPStatus.NO_CONTENT, None, None
    )  # no Content-Type, no body (not JSON null): HTTP forbids one on 204


@router.post(
    "/<kind>/<entry_id>/revert",
    summary="Drop the admin change to an entry: the file's version applies again",
    responses={
        200: ENTRY_ANSWER,
        204: {"description": "Removed: only the admin change defined it"},
        **IF_MATCH_REFUSALS,
    },
)
def revert_entry(kind: str, entry_id: str, if_match: IfMatch = None) -> Response[dict[str, Any] | None]:
    view = wiring.directory_admin().revert(kind, entry_id, if_match=if_match_version(if_match))
    if view is None:
        return Response(HTTPStatus.NO_CONTENT, None, None)
    return Response(HTTPStatus.OK, "application/json", view.to_json(), headers={"ETag": f'"{view.version}"'})


@router.post(
    "/schedules/<entry_id>/overrides",
    summary="Add a temporary on-call override {person, start, end}",
    responses={201: {"description": "The schedule with the override (ETag: its version)"}},
)
@request_body(OVERRIDE, {"person": "bob", "start": "2026-12-24T18:00:00Z", "end": "2026-12-27T09:00:00Z"})
def add_override(entry_id: str) -> Response[dict[str, Any]]:
    return entry_response(
        wiring.directory_admin().add_override(entry_id, entry_body(router.current_event), by=_actor()),
        HTTPStatus.CREATED,
    )


@router.post(
    "/services/<entry_id>/maintenance-windows",
    summary="Add a maintenance window {start, end, reason}: nobody is paged during it",
    responses={201: {"description": "The service with the window (ETag: its version)"}},
)
@request_body(
    MAINTENANCE_WINDOW, {"start": "2026-12-06T02:00:00Z", "end": "2026-12-06T04:00:00Z", "reason": "Database upgrade"}
)
def add_maintenance_window(entry_id: str) -> Response[dict[str, Any]]:
    return entry_response(
        wiring.directory_admin().add_maintenance_window(entry_id, entry_body(router.current_event), by=_actor()),
        HTTPStatus.CREATED,
    )
