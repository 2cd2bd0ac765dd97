"""HTTP API (API Gateway REST proxy): report, list, read, acknowledge, resolve, annotate incidents."""

from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.data.store import InvalidCursor
from firebell.domain.enums import Priority, Status
from firebell.domain.errors import IncidentNotFound, InvalidTransition
from firebell.domain.models import (
    AcknowledgeRequest,
    IncidentCreate,
    IncidentPage,
    IncidentRead,
    NoteRequest,
    ResolveRequest,
    Timeline,
    TimelineEntry,
)
from firebell.ports import IncidentFilter

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)

_VERSION = "0.1.0"


def _error(status: HTTPStatus, code: str, message: str, fields: list[dict] | None = None) -> Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return Response(status_code=status, content_type="application/json", body=body)


# --- one place where exceptions become HTTP answers ---------------------------------------------


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response:
    problems = error.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return _error(HTTPStatus.BAD_REQUEST, "invalid_json", "request body is not valid JSON")
    fields = [{"field": ".".join(str(part) for part in p["loc"]), "problem": p["msg"]} for p in problems]
    names = ", ".join(f["field"] for f in fields)
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "validation_failed", f"invalid request: {names}", fields)


@app.exception_handler(IncidentNotFound)
def _not_found(error: IncidentNotFound) -> Response:
    return _error(HTTPStatus.NOT_FOUND, "incident_not_found", str(error))


@app.exception_handler(InvalidTransition)
def _conflict(error: InvalidTransition) -> Response:
    return _error(HTTPStatus.CONFLICT, "invalid_transition", str(error))


@app.exception_handler(InvalidCursor)
def _bad_cursor(error: InvalidCursor) -> Response:
    return _error(HTTPStatus.BAD_REQUEST, "invalid_cursor", str(error), [{"field": "query.cursor", "problem": str(error)}])


@app.not_found
def _no_route(_: Exception) -> Response:
    return _error(HTTPStatus.NOT_FOUND, "route_not_found", f"no route for {app.current_event.http_method} {app.current_event.path}")


# --- routes ---------------------------------------------------------------------------------------


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(200, "application/json", app.get_openapi_json_schema(title="firebell", version=_VERSION))


@app.post("/incidents", summary="Report an incident", responses={201: {"description": "Incident opened"}})
def create_incident(request: IncidentCreate) -> Response[IncidentRead]:
    incident = wiring.incident_service().report(request)
    metrics.add_metric(name="IncidentsReported", unit=MetricUnit.Count, value=1)
    return Response(
        HTTPStatus.CREATED,
        "application/json",
        IncidentRead.of(incident).model_dump(mode="json"),
        headers={"Location": f"/incidents/{incident.reference}"},
    )


@app.get("/incidents", summary="List incidents, newest first")
def list_incidents(
    status: Annotated[Status | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
    team: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> IncidentPage:
    page = wiring.incident_service().list(IncidentFilter(status=status, priority=priority, team=team), limit, cursor)
    return IncidentPage(items=[IncidentRead.of(i) for i in page.items], cursor=page.cursor)


@app.get("/incidents/<incident_id>", summary="Read one incident (by id or INC- reference)")
def get_incident(incident_id: str) -> IncidentRead:
    return IncidentRead.of(wiring.incident_service().get(incident_id))


@app.post("/incidents/<incident_id>/acknowledge", summary="Acknowledge: stops paging")
def acknowledge_incident(incident_id: str, request: AcknowledgeRequest) -> IncidentRead:
    incident = wiring.incident_service().acknowledge(incident_id, request.by)
    metrics.add_metric(name="IncidentsAcknowledged", unit=MetricUnit.Count, value=1)
    return IncidentRead.of(incident)


@app.post("/incidents/<incident_id>/resolve", summary="Resolve, with resolution notes")
def resolve_incident(incident_id: str, request: ResolveRequest) -> IncidentRead:
    incident = wiring.incident_service().resolve(incident_id, request.by, request.resolution_notes)
    metrics.add_metric(name="IncidentsResolved", unit=MetricUnit.Count, value=1)
    return IncidentRead.of(incident)


@app.post("/incidents/<incident_id>/notes", summary="Add a note to the timeline")
def add_note(incident_id: str, request: NoteRequest) -> Response[TimelineEntry]:
    entry = wiring.incident_service().add_note(incident_id, request.by, request.text)
    return Response(HTTPStatus.CREATED, "application/json", entry.model_dump(mode="json"))


@app.get("/incidents/<incident_id>/timeline", summary="Every change and every notification, oldest first")
def read_timeline(incident_id: str) -> Timeline:
    return Timeline(items=wiring.incident_service().timeline(incident_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
