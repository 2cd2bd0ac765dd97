"""HTTP API (API Gateway REST proxy): report, list, read, acknowledge, resolve, annotate incidents."""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

import html
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseContentModel,
    OpenAPIResponseContentSchema,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.domain.access import WORKERS
from firebell.domain.enums import Priority, Status
from firebell.domain.errors import (
    HTTP_ANSWERS,
    FieldProblem,
    FirebellError,
    Forbidden,
    InvalidAckLink,
    InvalidRequest,
    InvalidTransition,
    MethodNotAllowed,
    Unauthenticated,
    error_body,
    field_problems,
    http_answer,
    http_body,
)
from firebell.domain.failures import is_transient
from firebell.domain.models import IncidentPage, IncidentRead, QueryTime, Timeline, TimelineEntry
from firebell.domain.requests import (
    AcknowledgeRequest,
    IncidentCreate,
    NoteRequest,
    ReasonRequest,
    ReassignRequest,
    ResolveRequest,
    ResumeRequest,
    ReviewRequest,
    StakeholderUpdateRequest,
)
from firebell.ports import IncidentFilter
from firebell.tracing import lazy_tracer

if __package__:  # functions.api.app: tests, the local runtime, the cold-start bench
    from . import guard, openapi
    from .admin import router as admin_router
    from .auth import router as auth_router
    from .directory import router as directory_router
    from .drills import router as drills_router
    from .feeds import router as feeds_router
    from .http_rules import method_not_allowed, public_url, read_json
    from .integrations import router as integrations_router
    from .me import router as me_router
    from .problems import router as problems_router
    from .reports import router as reports_router
    from .resolver import PerThreadRestResolver
    from .reviews import router as reviews_router
    from .slack import router as slack_router
else:  # `app` in Lambda, where this folder is the asset's root
    import guard
    import openapi
    from admin import router as admin_router
    from auth import router as auth_router
    from directory import router as directory_router
    from drills import router as drills_router
    from feeds import router as feeds_router
    from http_rules import method_not_allowed, public_url, read_json
    from integrations import router as integrations_router
    from me import router as me_router
    from problems import router as problems_router
    from reports import router as reports_router
    from resolver import PerThreadRestResolver
    from reviews import router as reviews_router
    from slack import router as slack_router

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()
app = PerThreadRestResolver(enable_validation=True, json_body_deserializer=read_json)
guard.install(app)  # who may call each route (firebell/domain/access.py), before its body is read
app.include_router(admin_router, prefix="/admin")
app.include_router(integrations_router)
app.include_router(auth_router)
app.include_router(feeds_router)
app.include_router(directory_router)
app.include_router(reports_router)
app.include_router(reviews_router)
app.include_router(drills_router)
app.include_router(problems_router)
app.include_router(slack_router)
app.include_router(me_router)


def _error(status: HTTPStatus, code: str, message: str) -> Response[Any]:
    return Response(status_code=status, content_type="application/json", body=error_body(code, message))


# --- one place where exceptions become HTTP answers: domain/errors.py's table ----------------------------


def refusal(error: Exception) -> Response[Any]:
    answer = http_answer(error)
    if answer is None:  # raised on purpose, but not a refusal of the request (e.g. a ConfigError)
        logger.exception("no HTTP answer for this error")
        if is_transient(error):
            return _error(HTTPStatus.SERVICE_UNAVAILABLE, "try_again", "a dependency is busy; retry shortly")
        return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "the request could not be completed")
    headers = {"Allow": ", ".join(error.allowed)} if isinstance(error, MethodNotAllowed) else None
    if isinstance(error, Unauthenticated):  # RFC 9110: a 401 names the schemes that would do
        headers = {"WWW-Authenticate": 'Bearer realm="firebell"'}
    return Response(
        status_code=answer.status, content_type="application/json", body=http_body(error, answer), headers=headers
    )


app.exception_handler(FirebellError)(refusal)


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[Any]:
    # Bodies that are not JSON never get here: http_rules.read_json refuses them first (400).
    fields = field_problems(error.errors())
    return refusal(InvalidRequest(f"invalid request: {', '.join(f.field for f in fields)}", fields))


@app.not_found
def _no_route(_: Exception) -> Response[Any]:
    method, path = app.current_event.http_method, app.current_event.path
    other_methods = method_not_allowed(app, method, path)
    if other_methods is not None:
        return refusal(other_methods)
    return _error(HTTPStatus.NOT_FOUND, "route_not_found", f"no route for {method[:20]} {path[:200]}")


# --- routes ---------------------------------------------------------------------------------------


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(HTTPStatus.OK, "application/json", openapi.document_json(app))


@app.get("/docs", include_in_schema=False)
def api_docs() -> Response[str]:
    # Swagger UI with its script and styles inline: no CDN, the same page locally and on Lambda.
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", openapi.swagger_page(app))


@app.post(
    "/incidents",
    summary="Report an incident",
    description="With an Idempotency-Key header (any string up to 255 characters, unique per request), a retry "
    "of the same request returns the incident the first one opened (201, Idempotent-Replayed: true) instead of "
    "opening another, for 24 hours (also while the first request is still running, and after it failed midway). "
    "The same key with a different body is refused (422 idempotency_key_reused).",
    responses={
        201: {"description": "Incident opened (or, for a retried Idempotency-Key, the one the first request opened)"},
        422: {
            "description": "Invalid request, a service the directory does not have (unknown_service), or an "
            "Idempotency-Key already used with a different body"
        },
    },
)
def create_incident(
    request: IncidentCreate,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)] = None,
) -> Response[IncidentRead]:
    intake, incidents = wiring.intake(), wiring.incidents()
    actor = guard.actor(app)
    me = guard.caller(app)
    if request.reporter not in (None, actor) and me.kind == "person" and not me.roles & WORKERS:
        # A reporter reads only incidents they reported: one reported for someone else would be lost to them.
        raise Forbidden(
            f"body.reporter: a reporter reports as themselves; reporting for {request.reporter[:128]!r} needs one of "
            "responder, incident_manager, admin"
        )
    replayed = False
    if idempotency_key is None:
        incident = intake.report(request, actor=actor)
    else:
        # Keys are the caller's own (the authenticated person or principal): callers' keys never collide. The key
        # is bound to the incident in the transaction that opens it: a retry (after any failure, or racing the
        # first request) finds that incident, never opens a second; another body is refused.
        incident, replayed = intake.report_once(request, f"{actor}|{idempotency_key}", actor=actor)
    headers = {"Location": f"/incidents/{incident.reference}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    else:
        metrics.add_metric(name="IncidentsReported", unit=MetricUnit.Count, value=1)
    return Response[Any](
        HTTPStatus.CREATED, "application/json", incidents.read(incident).model_dump(mode="json"), headers=headers
    )


@app.get("/incidents", summary="List incidents, newest first")
def list_incidents(
    status: Annotated[Status | None, Query()] = None,
    priority: Annotated[Priority | None, Query()] = None,
    team: Annotated[str | None, Query(max_length=128)] = None,
    reporter: Annotated[
        str | None,
        Query(
            max_length=128,
            description="Who reported them (a person's id, or `me`); a reporter's list is always their own",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> IncidentPage:
    incidents = wiring.incidents()
    reporter = guard.reporter_filter(app, reporter)
    page = incidents.list(IncidentFilter(status=status, priority=priority, team=team, reporter=reporter), limit, cursor)
    return guard.for_caller(app, IncidentPage(items=[incidents.read(i) for i in page.items], cursor=page.cursor))


@app.get("/incidents/<incident_id>", summary="Read one incident (by id or INC- reference)")
def get_incident(incident_id: str) -> IncidentRead:
    incidents = wiring.incidents()
    return guard.for_caller(app, incidents.read(incidents.get(incident_id)))  # (a reporter's own: guard.check)


def _no_body_or_an_object() -> None:
    """For the routes whose body may be absent or {}: Powertools takes a list of nulls (`[null, null]`) for no body
    at all and lets it through (schemathesis found it answered 200); any body present must be an object."""
    raw = app.current_event.decoded_body
    if raw and raw.strip() and not isinstance(app.current_event.json_body, dict):
        problem = "Input should be a valid dictionary or object (or no body at all)"
        raise InvalidRequest("invalid request: body", [FieldProblem("body", problem)])


@app.post("/incidents/<incident_id>/acknowledge", summary="Acknowledge: stops paging")
def acknowledge_incident(incident_id: str, request: AcknowledgeRequest | None = None) -> IncidentRead:
    _no_body_or_an_object()
    outcome = wiring.lifecycle().acknowledge(incident_id, guard.actor(app))
    metrics.add_metric(name="IncidentsAcknowledged", unit=MetricUnit.Count, value=1)
    return wiring.incidents().read(outcome.incident)


@app.post("/incidents/<incident_id>/resolve", summary="Resolve, with resolution notes")
def resolve_incident(incident_id: str, request: ResolveRequest) -> IncidentRead:
    outcome = wiring.resolution().resolve(incident_id, guard.actor(app), request.resolution_notes)
    metrics.add_metric(name="IncidentsResolved", unit=MetricUnit.Count, value=1)
    return wiring.incidents().read(outcome.incident)


@app.post(
    "/incidents/<incident_id>/notes",
    summary="Add a note to the timeline",
    responses={201: {"description": "The note, as it is on the timeline"}},
)
def add_note(incident_id: str, request: NoteRequest) -> Response[TimelineEntry]:
    entry = wiring.lifecycle().add_note(incident_id, guard.actor(app), request.text)
    return Response[Any](HTTPStatus.CREATED, "application/json", entry.model_dump(mode="json"))


@app.get("/incidents/<incident_id>/timeline", summary="Every change and every notification, oldest first")
def read_timeline(incident_id: str) -> Timeline:
    return guard.for_caller(app, Timeline(items=wiring.incidents().timeline(incident_id)))


@app.post(
    "/incidents/<incident_id>/hold", summary="Put on hold (waiting on someone outside the team): SLA clocks pause"
)
def hold_incident(incident_id: str, request: ReasonRequest | None = None) -> IncidentRead:
    _no_body_or_an_object()  # (a reason is optional: no body at all says none)
    reason = request.reason if request else ""
    return wiring.incidents().read(wiring.lifecycle().hold(incident_id, guard.actor(app), reason).incident)


@app.post("/incidents/<incident_id>/resume", summary="Resume from hold: SLA clocks run again")
def resume_incident(incident_id: str, request: ResumeRequest | None = None) -> IncidentRead:
    _no_body_or_an_object()
    return wiring.incidents().read(wiring.lifecycle().resume(incident_id, guard.actor(app)).incident)


@app.post("/incidents/<incident_id>/escalate", summary="Escalate by hand to the next level now")
def escalate_incident(incident_id: str, request: ReasonRequest | None = None) -> IncidentRead:
    _no_body_or_an_object()  # (a reason is optional: no body at all says none)
    reason = request.reason if request else ""
    return wiring.incidents().read(wiring.lifecycle().escalate(incident_id, guard.actor(app), reason).incident)


@app.post("/incidents/<incident_id>/reassign", summary="Reassign to a person, who is paged")
def reassign_incident(incident_id: str, request: ReassignRequest) -> IncidentRead:
    return wiring.incidents().read(wiring.lifecycle().reassign(incident_id, request.to, guard.actor(app)).incident)


@app.post("/incidents/<incident_id>/reopen", summary="Reopen a resolved incident (within its confirmation window)")
def reopen_incident(incident_id: str, request: ReasonRequest | None = None) -> IncidentRead:
    _no_body_or_an_object()  # (a reason is optional: no body at all says none)
    reason = request.reason if request else ""
    return wiring.incidents().read(wiring.resolution().reopen(incident_id, guard.actor(app), reason).incident)


@app.post(
    "/incidents/<incident_id>/updates",
    summary="Post a stakeholder update (emailed to the team's stakeholders)",
    responses={201: {"description": "The update, as it is on the timeline"}},
)
def post_stakeholder_update(incident_id: str, request: StakeholderUpdateRequest) -> Response[Timeline]:
    posted, _ = wiring.duties().post_update(incident_id, guard.actor(app), request.message)
    return Response[Any](HTTPStatus.CREATED, "application/json", {"items": [posted.model_dump(mode="json")]})


@app.post("/incidents/<incident_id>/review", summary="Complete the post-incident review")
def complete_review(incident_id: str, request: ReviewRequest) -> IncidentRead:
    return wiring.incidents().read(
        wiring.duties().complete_review(incident_id, guard.actor(app), request.summary).incident
    )


_ACK_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>firebell</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:3em auto">{body}</body></html>"""


_HTML: dict[str, OpenAPIResponseContentSchema | OpenAPIResponseContentModel] = {
    "text/html": {"schema": {"type": "string"}}
}
_LINK_GONE: OpenAPIResponse = {
    "description": "The link is forged, expired, used, or its incident moved on (an HTML page saying which)",
    "content": _HTML,
}


@app.get(
    "/ack/<token>",
    summary="The page an acknowledgement link opens: the incident, and a button that acknowledges",
    responses={
        200: {"description": "The page: the incident, with its button while it is triggered", "content": _HTML},
        410: _LINK_GONE,
    },
)
def acknowledge_link_page(token: str) -> Response[str]:
    """What a person sees on opening the link in a page (email or SMS). Opening it changes nothing."""
    # A GET never acknowledges: mail scanners open links, and must not silence a page.
    try:
        incident, person = wiring.lifecycle().ack_link_preview(token)
    except InvalidAckLink as refused:
        page = f"<h1>Not acknowledged</h1><p>{html.escape(str(refused))}</p>"
        return Response(
            HTTPStatus(HTTP_ANSWERS[InvalidAckLink].status), "text/html; charset=utf-8", _ACK_PAGE.format(body=page)
        )
    what = html.escape(f"{incident.reference} ({incident.priority or 'unprioritised'}): {incident.title}")
    if incident.status is not Status.TRIGGERED:
        # (acknowledged by someone, resolved, or on hold: the button could only be refused)
        by = (
            f" by {incident.acknowledged_by}"
            if incident.status is Status.ACKNOWLEDGED and incident.acknowledged_by
            else ""
        )
        state = html.escape(f"{incident.status.value.replace('_', ' ')}{by}")
        page = f"<h1>Nothing to acknowledge</h1><p>{what}</p><p>It is {state}: paging has stopped.</p>"
        return Response(HTTPStatus.OK, "text/html; charset=utf-8", _ACK_PAGE.format(body=page))
    page = (
        f"<h1>Acknowledge {html.escape(incident.reference)}?</h1><p>{what}</p>"
        f"<p>Acknowledging as {html.escape(person)} stops paging.</p>"
        f'<form method="post" action="{html.escape(token)}"><button type="submit">Acknowledge</button></form>'
    )
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", _ACK_PAGE.format(body=page))


@app.post(
    "/ack/<token>",
    summary="Acknowledge by link (the page's button)",
    responses={
        200: {"description": "Acknowledged: paging has stopped (an HTML page)", "content": _HTML},
        410: _LINK_GONE,
    },
)
def acknowledge_by_link(token: str) -> Response[str]:
    """Acknowledges the incident the link was sent for, as the person it was sent to. The token is HMAC-signed,
    expires, and works once."""
    try:
        incident = wiring.lifecycle().acknowledge_by_link(token).incident
    except (InvalidAckLink, InvalidTransition) as refused:
        # The incident moved on (resolved, already acknowledged): for the link's holder, the link is gone.
        link_refusal = refused if isinstance(refused, InvalidAckLink) else InvalidAckLink(str(refused))
        status = HTTP_ANSWERS[InvalidAckLink].status
        return Response(
            status,
            "text/html; charset=utf-8",
            _ACK_PAGE.format(body=f"<h1>Not acknowledged</h1><p>{html.escape(str(link_refusal))}</p>"),
        )
    message = f"<h1>{incident.reference} acknowledged</h1><p>Paging has stopped. Thank you, {html.escape(incident.acknowledged_by or '')}.</p>"
    return Response(HTTPStatus.OK, "text/html; charset=utf-8", _ACK_PAGE.format(body=message))


@app.get("/schedules/<schedule_id>/on-call", summary="Who is on call now, or at a given time")
def who_is_on_call(schedule_id: str, at: Annotated[QueryTime | None, Query()] = None) -> dict[str, Any]:
    return wiring.schedules().on_call(schedule_id, at)


@app.get("/on-call", summary="Who is on call on every schedule, now or at a given time")
def who_is_on_call_everywhere(at: Annotated[QueryTime | None, Query()] = None) -> dict[str, Any]:
    return wiring.schedules().on_call_everywhere(at)


@app.get("/people/<person_id>/shifts", summary="A person's upcoming shifts on every schedule (overrides applied)")
def upcoming_shifts(person_id: str, days: Annotated[int, Query(ge=1, le=366)] = 28) -> dict[str, Any]:
    return {"person": person_id, "days": days, "shifts": wiring.schedules().upcoming_shifts(person_id, days)}


@app.get("/schedules/<schedule_id>/calendar.ics", summary="The schedule's shifts as an iCalendar feed")
def schedule_calendar(
    schedule_id: str,
    person: Annotated[str | None, Query(max_length=128)] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 28,
) -> Response[str]:
    calendar = wiring.schedules().calendar(schedule_id, person, days)
    return Response(HTTPStatus.OK, "text/calendar; charset=utf-8", calendar)


@startup.first_event
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.serving_at(public_url(event))  # the pages this request sends link back to where it came from
    with guard.reading_caller(event):  # who asks, before the resolver takes the event (functions/api/guard.py)
        return app.resolve(event, context)


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
