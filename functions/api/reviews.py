"""Post-incident reviews beyond their summary (POST /incidents/<id>/review, in app.py, completes one). Included by app.py.

PUT  /incidents/<id>/review                         what the review found: root cause, contributing factors
POST /incidents/<id>/review/actions                 an action item (owner, due date), reminded until done
POST /incidents/<id>/review/actions/<number>/done   it is done: its reminders stop
GET  /incidents/<id>/review.md                      the review as Markdown
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from firebell import wiring
from firebell.domain.models import IncidentRead
from firebell.domain.requests import ActionItemCreate, ReviewDraft
from firebell.domain.review_export import review_markdown

if __package__:
    from . import guard
else:  # Lambda: this folder is the asset's root
    import guard

router = Router()

_NO_REVIEW: dict[int, OpenAPIResponse] = {
    409: {
        "description": "The incident has no post-incident review (P1 and P2 get one when resolved), or no such action"
    }
}
_INCIDENT: dict[int, OpenAPIResponse] = {
    200: {"description": "The incident, its review changed", "content": {"application/json": {"model": IncidentRead}}}
}


@router.put(
    "/incidents/<incident_id>/review",
    summary="Write what the post-incident review found: root cause, contributing factors",
    responses={**_INCIDENT, **_NO_REVIEW},
)
def draft_review(incident_id: str, draft: ReviewDraft) -> IncidentRead:
    incidents = wiring.incidents()
    return incidents.read(wiring.reviews().draft(incident_id, guard.actor(router), draft).incident)


@router.post(
    "/incidents/<incident_id>/review/actions",
    summary="Add an action item: an owner and a due date, reminded until done",
    responses={
        201: {"description": "Added; its owner is told"},
        **_NO_REVIEW,
        422: {"description": "No such person (body.owner)"},
    },
)
def add_action(incident_id: str, item: ActionItemCreate) -> Response[IncidentRead]:
    incident = wiring.reviews().add_action(incident_id, guard.actor(router), item).incident
    return Response[Any](
        HTTPStatus.CREATED, "application/json", wiring.incidents().read(incident).model_dump(mode="json")
    )


@router.post(
    "/incidents/<incident_id>/review/actions/<number>/done",
    summary="Mark an action item done: its reminders stop",
    responses={**_INCIDENT, **_NO_REVIEW},
)
def action_done(incident_id: str, number: int) -> IncidentRead:
    incidents = wiring.incidents()
    return incidents.read(wiring.reviews().action_done(incident_id, guard.actor(router), number).incident)


@router.get(
    "/incidents/<incident_id>/review.md",
    summary="The post-incident review as Markdown (a wiki page, a pull request)",
    responses={200: {"description": "The review", "content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
def review_document(incident_id: str) -> Response[str]:
    incidents = wiring.incidents()
    incident = incidents.get(incident_id)
    body = review_markdown(incident, incidents.store.timeline(incident.incident_id))
    return Response(
        HTTPStatus.OK,
        "text/markdown; charset=utf-8",
        body,
        headers={"Content-Disposition": f'attachment; filename="{incident.reference}-review.md"'},
    )
