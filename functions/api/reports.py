"""Reports (docs/reports.md). Included by app.py.

GET /reports                 MTTA/MTTR, SLA compliance, escalations, noisy alerts, on-call load for a period
GET /reports/incidents.csv   the period's incidents, one row each, for a spreadsheet
GET /incidents/<id>/similar  closed incidents most like it, with how each was resolved
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)
from pydantic import BaseModel, Field

from firebell import wiring
from firebell.domain.enums import Priority, Source
from firebell.domain.models import QueryTime
from firebell.domain.reports import Report, ReportFilter
from firebell.domain.similarity import Similar

router = Router()

_CSV: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "text/csv": {"schema": {"type": "string"}}
}
_PERIOD: dict[int, OpenAPIResponse] = {
    422: {
        "description": "A time without its UTC offset, `to` not after `from`, or a period over 400 days (the field is named)"
    }
}


def _period(
    start: datetime,
    end: datetime,
    team: str | None,
    service: str | None,
    priority: Priority | None,
    source: Source | None,
    bucket: Literal["week", "month"] = "week",
) -> ReportFilter:
    return ReportFilter(
        start=start,
        end=end,
        team=team,
        service=service,
        priority=priority.value if priority else None,
        source=source.value if source else None,
        bucket=bucket,
    )


@router.get(
    "/reports",
    summary="Reports for a period: MTTA/MTTR, SLA compliance, escalations, noisy alerts, on-call load",
    responses={200: {"description": "The report", "content": {"application/json": {"model": Report}}}, **_PERIOD},
)
def report(
    start: Annotated[
        QueryTime, Query(alias="from", description="Incidents opened from this time (ISO 8601 with offset)")
    ],
    end: Annotated[QueryTime, Query(alias="to", description="… until before this time")],
    team: Annotated[str | None, Query(max_length=128)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    priority: Annotated[Priority | None, Query()] = None,
    source: Annotated[Source | None, Query()] = None,
    bucket: Annotated[Literal["week", "month"], Query(description="How `by_period` groups them")] = "week",
) -> Report:
    """Drills are left out of every figure. Definitions: docs/reports.md."""
    return wiring.reports().report(_period(start, end, team, service, priority, source, bucket))


@router.get(
    "/reports/incidents.csv",
    summary="The period's incidents as CSV, one row each (drills left out)",
    responses={200: {"description": "The incidents", "content": _CSV}, **_PERIOD},
)
def report_csv(
    start: Annotated[QueryTime, Query(alias="from")],
    end: Annotated[QueryTime, Query(alias="to")],
    team: Annotated[str | None, Query(max_length=128)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    priority: Annotated[Priority | None, Query()] = None,
    source: Annotated[Source | None, Query()] = None,
) -> Response[str]:
    body = wiring.reports().csv(_period(start, end, team, service, priority, source))
    return Response(
        HTTPStatus.OK,
        "text/csv; charset=utf-8",
        body,
        headers={"Content-Disposition": 'attachment; filename="incidents.csv"'},
    )


class SimilarIncident(BaseModel):
    reference: str
    title: str
    opened_at: datetime
    score: float = Field(
        description="0–1: 0.6 × text similarity (TF-IDF cosine) + 0.3 if the same alert + 0.1 if the same service"
    )
    text_similarity: float
    same_alert: bool
    same_service: bool
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_notes: str | None
    seconds_to_resolve: float | None


class SimilarIncidents(BaseModel):
    items: list[SimilarIncident]


def _shown(found: Similar) -> SimilarIncident:
    f = found.facts
    return SimilarIncident(
        reference=f.reference,
        title=f.title,
        opened_at=f.opened_at,
        score=found.score,
        text_similarity=found.text,
        same_alert=found.same_alert,
        same_service=found.same_service,
        resolved_at=f.resolved_at,
        resolved_by=f.resolved_by,
        resolution_notes=f.resolution_notes,
        seconds_to_resolve=(f.resolved_at - f.opened_at).total_seconds() if f.resolved_at else None,
    )


@router.get(
    "/incidents/<incident_id>/similar",
    summary="Closed incidents most like this one (last 180 days), with how each was resolved",
)
def similar_incidents(incident_id: str) -> SimilarIncidents:
    incident = wiring.incidents().get(incident_id)
    return SimilarIncidents(items=[_shown(s) for s in wiring.reports().similar(incident)])
