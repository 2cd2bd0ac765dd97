"""Reports (docs/reports.md). Included by app.py.

  GET /reports                 MTTA/MTTR, SLA compliance, escalations, noisy alerts, on-call load for a period
  GET /reports/incidents.csv   the period's incidents, one row each, for a spreadsheet
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from firebell import wiring
from firebell.domain.enums import Priority, Source
from firebell.domain.models import QueryTime
from firebell.domain.reports import Report, ReportFilter

router = Router()

_CSV = {"text/csv": {"schema": {"type": "string"}}}
_PERIOD = {422: {"description": "A time without its UTC offset, `to` not after `from`, or a period over 400 days (the field is named)"}}


def _period(start, end, team, service, priority, source, bucket="week") -> ReportFilter:
    return ReportFilter(start=start, end=end, team=team, service=service, priority=priority and priority.value,
                        source=source and source.value, bucket=bucket)


@router.get("/reports", summary="Reports for a period: MTTA/MTTR, SLA compliance, escalations, noisy alerts, on-call load",
            responses={200: {"description": "The report", "content": {"application/json": {"model": Report}}}, **_PERIOD})
def report(
    start: Annotated[QueryTime, Query(alias="from", description="Incidents opened from this time (ISO 8601 with offset)")],
    end: Annotated[QueryTime, Query(alias="to", description="… until before this time")],
    team: Annotated[str | None, Query(max_length=128)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    priority: Annotated[Priority | None, Query()] = None,
    source: Annotated[Source | None, Query()] = None,
    bucket: Annotated[Literal["week", "month"], Query(description="How `by_period` groups them")] = "week",
) -> Report:
    """Drills are left out of every figure. Definitions: docs/reports.md."""
    return wiring.reports().report(_period(start, end, team, service, priority, source, bucket))


@router.get("/reports/incidents.csv", summary="The period's incidents as CSV, one row each (drills left out)",
            responses={200: {"description": "The incidents", "content": _CSV}, **_PERIOD})
def report_csv(
    start: Annotated[QueryTime, Query(alias="from")],
    end: Annotated[QueryTime, Query(alias="to")],
    team: Annotated[str | None, Query(max_length=128)] = None,
    service: Annotated[str | None, Query(max_length=128)] = None,
    priority: Annotated[Priority | None, Query()] = None,
    source: Annotated[Source | None, Query()] = None,
) -> Response[str]:
    body = wiring.reports().csv(_period(start, end, team, service, priority, source))
    return Response(HTTPStatus.OK, "text/csv; charset=utf-8", body,
                    headers={"Content-Disposition": 'attachment; filename="incidents.csv"'})
