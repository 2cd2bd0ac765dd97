"""Problem management for the people who do it (incident managers, and responders linking what they work on).
Problems live in the directory (firebell/domain/problems.py), where admins also edit them under /admin/problems.
Included by app.py.

  GET  /problems/<id>                one problem record (ETag: its version)
  PUT  /problems/<id>                create or replace a problem record (If-Match: its version, optional)
  POST /incidents/<id>/problem       link the incident to a problem record {"problem": "PRB-1"}
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from firebell import wiring
from firebell.domain.requests import ProblemLink

if __package__:
    from . import guard
    from .admin import IF_MATCH_REFUSALS, IfMatch, entry_body, entry_response, if_match_version
    from .openapi import request_body
else:  # Lambda: this folder is the asset's root
    import guard
    from admin import IF_MATCH_REFUSALS, IfMatch, entry_body, entry_response, if_match_version
    from openapi import request_body

router = Router()

PROBLEM = {
    "type": "object",
    "required": ["id", "title"],
    "description": "A problem record (docs/reports.md: Problems and known errors)",
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "string", "enum": ["investigating", "known_error", "resolved"]},
        "description": {"type": "string"},
        "root_cause": {"type": "string"},
        "workaround": {"type": "string"},
        "match": {"type": "object"},
        "incidents": {"type": "array", "items": {"type": "string"}},
    },
}
_ENTRY: OpenAPIResponse = {"description": "The problem record, as the directory keeps it (ETag: its version)"}


@router.get("/problems/<problem_id>", summary="Read one problem record (ETag: its version, for If-Match)")
def read_problem(problem_id: str) -> Response[dict[str, Any]]:
    return entry_response(wiring.directory_admin().get("problems", problem_id))


@router.put(
    "/problems/<problem_id>",
    summary="Create or replace a problem record: root cause, workaround, status, what it matches",
    responses={200: _ENTRY, 201: {"description": "Created"}, **IF_MATCH_REFUSALS},
)
@request_body(
    PROBLEM,
    {
        "id": "PRB-7",
        "title": "Payment DB runs out of connections",
        "status": "known_error",
        "root_cause": "the pool is sized for 2 app servers; there are 6",
        "workaround": "restart the payments pods",
        "match": {"keywords": ["payment", "connection"]},
    },
    "The whole problem record; its id must match the path's",
)
def put_problem(problem_id: str, if_match: IfMatch = None) -> Response[dict[str, Any]]:
    view, created = wiring.directory_admin().put(
        "problems",
        problem_id,
        entry_body(router.current_event),
        if_match=if_match_version(if_match),
        by=guard.actor(router),
    )
    return entry_response(view, HTTPStatus.CREATED if created else HTTPStatus.OK)


@router.post(
    "/incidents/<incident_id>/problem",
    summary="Link the incident to a problem record (linking it again changes nothing)",
    responses={200: _ENTRY, 404: {"description": "No such incident or problem"}},
)
def link_problem(incident_id: str, link: ProblemLink) -> Response[dict[str, Any]]:
    reference = wiring.incidents().get(incident_id).reference
    return entry_response(wiring.directory_admin().link_incident(link.problem, reference, by=guard.actor(router)))
