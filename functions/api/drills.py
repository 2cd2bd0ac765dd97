"""Training drills (docs/reports.md#training-drills). Included by app.py.

POST /drills                 start one: a synthetic incident paged through the real policy and schedules
POST /drills/<id>/end        end it in one step: resolved, closed, every timer stopped
GET  /drills/<id>            its report: who was paged when, each responder's time to acknowledge
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header

from firebell import wiring
from firebell.domain.drills import DrillReport, drill_report
from firebell.domain.errors import IncidentNotFound
from firebell.domain.facts import facts_of
from firebell.domain.models import IncidentRead
from firebell.domain.requests import DrillStart

if __package__:
    from . import guard
else:  # Lambda: this folder is the asset's root
    import guard

router = Router()


@router.post(
    "/drills",
    summary="Start a drill: a synthetic incident, marked as a drill, paged through the real policy and schedules",
    description="With an Idempotency-Key header, a retry returns the drill the first request started (201, "
    "Idempotent-Replayed: true), as POST /incidents does.",
    responses={
        201: {"description": "Started: the drill's incident, paged like any"},
        422: {
            "description": "Invalid request, a service the directory does not have (unknown_service), or an "
            "Idempotency-Key already used with a different body"
        },
    },
)
def start_drill(
    request: DrillStart,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)] = None,
) -> Response[IncidentRead]:
    actor = guard.actor(router)
    incident, replayed = wiring.intake().start_drill(
        request, actor, f"{actor}|{idempotency_key}" if idempotency_key else None
    )
    headers = {"Location": f"/drills/{incident.reference}"} | ({"Idempotent-Replayed": "true"} if replayed else {})
    return Response[Any](
        HTTPStatus.CREATED,
        "application/json",
        wiring.incidents().read(incident).model_dump(mode="json"),
        headers=headers,
    )


@router.post(
    "/drills/<incident_id>/end",
    summary="End a drill: resolved and closed at once, every timer stopped, nobody told",
    responses={
        200: {"description": "Ended", "content": {"application/json": {"model": IncidentRead}}},
        409: {"description": "Not a drill"},
    },
)
def end_drill(incident_id: str) -> IncidentRead:
    return wiring.incidents().read(wiring.resolution().end_drill(incident_id, guard.actor(router)).incident)


@router.get(
    "/drills/<incident_id>", summary="A drill's report: who was paged when, each responder's time to acknowledge"
)
def drill(incident_id: str) -> DrillReport:
    incidents = wiring.incidents()
    incident = incidents.get(incident_id)
    if not incident.drill:
        raise IncidentNotFound(incident_id)  # (a real incident is not a drill's report)
    return drill_report(facts_of(incident, incidents.store.timeline(incident.incident_id)))
