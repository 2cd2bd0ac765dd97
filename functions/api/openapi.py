"""GET /openapi.json and GET /docs: Powertools' generated document, completed from what the routes really do.

Powertools derives paths, parameters, request and success schemas from the route functions. What it cannot see
is added here, for every route the same way, so a new route declared like the others is documented with no
extra work:
- the refusals it can answer, all with the one ErrorBody schema of domain/errors.py (Powertools' own
  HTTPValidationError is not what the API sends, and goes): see `_refusals`;
- its security and roles, from firebell/domain/access.py's ROUTES: SigV4 (API Gateway's AWS_IAM authorization),
  a bearer token or the session cookie, unless the route is public (held equal to infra/topology.py's public
  routes by a test), and the roles that may call it (`x-firebell-roles`); its tag (by path), a readable
  operationId (the function's name), a description (the function's docstring) and an example body;
- request bodies of routes that read their body themselves (integrations, admin): `@request_body(...)`.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

from firebell.domain.access import ROUTES, Allowed, Public, Role, Rule, role_names
from firebell.domain.errors import ErrorBody

VERSION = "0.1.0"
SCHEMAS = "#/components/schemas/"

DESCRIPTION = """firebell's HTTP API: report and run incidents, read on-call schedules, administer the directory,
and receive alerts from monitoring tools.

**Errors.** Every refusal is JSON in one format, `ErrorBody`: `{"error": code, "message": text, "fields":
[{"field", "problem"}]}`, fields named `body.…`, `query.…`, `path.…` or `header.…` (the PagerDuty route answers
its own 400 format, as PagerDuty does). Statuses from API Gateway in front (403 unsigned, 429 throttled, 413 over
10 MB) use the same format.

**Bodies** are JSON (UTF-8, at most 32 levels deep, numbers within float range, no control characters other
than tab, CR and LF). They are read as JSON when Content-Type is absent, `application/json`, `application/*+json`
or `application/x-www-form-urlencoded` (what `curl -d` sends); any other type is answered 415.

**Authentication** (docs/access.md). Machines sign requests with AWS Signature Version 4 as an IAM principal
allowed `execute-api:Invoke` (security scheme `sigv4`) and may call every route. People send a token
(`bearer`): deployed, a Cognito ID token, and their roles are their Cognito groups and the directory's `roles`; in the local runtime, the
token `POST /auth/local/sign-in` answers (or its cookie, `session`), with the roles config/firebell.yaml gives
them. Each operation names the roles that may call it (`x-firebell-roles`): 401 without valid credentials, 403
for a role that may not. The integration routes are public at the HTTP level and authenticated by a routing key
(an integration key of one service: in the body for PagerDuty, in the path for Alertmanager); acknowledgement
links by their HMAC-signed, expiring, single-use token; calendar feeds by a person's secret address. The local runtime does not check SigV4 signatures: a
request signed that way is taken as the IAM user `local`."""

INTEGRATIONS = ("integrations", "Alerts from monitoring tools (PagerDuty Events API v2, Alertmanager)")
ON_CALL = ("schedules", "Who is on call, people's shifts, and the shifts as a calendar")
TAGS: dict[str, tuple[str, str]] = {  # path prefix → tag and its description
    "/incidents": ("incidents", "Report incidents and take them through acknowledgement, resolution and review"),
    "/schedules": ON_CALL,
    "/on-call": ON_CALL,
    "/people/": ON_CALL,
    "/me/": ON_CALL,
    "/feeds/": ON_CALL,
    "/directory": ("directory", "The directory as every signed-in person may read it"),
    "/admin": ("admin", "The directory: people, schedules, escalation policies, teams, services"),
    "/v2/": INTEGRATIONS,
    "/v1/": INTEGRATIONS,
    "/ack/": ("acknowledgement links", "One-click links sent in pages"),
    "/auth/": ("sign-in", "Who the caller is; the local runtime's pick-a-person sign-in"),
    "/drills": (
        "drills",
        "Training drills: a synthetic incident through the real paging, and how fast each responder answered",
    ),
    "/reports": ("reports", "MTTA/MTTR, SLA compliance, escalations, noisy alerts and on-call load for a period"),
    "/problems": (
        "problems",
        "Problem records (ITIL problem management): root cause, workaround, the incidents they explain",
    ),
    "/chat/": ("chat", "Slack's requests: buttons, the resolve dialog and the /firebell command (signed by Slack)"),
}
SECURITY_SCHEMES = {
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "AWS Signature Version 4 (API Gateway AWS_IAM authorization): sign with credentials of an "
        "IAM principal allowed execute-api:Invoke on this API.",
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A person's token: deployed, a Cognito ID token (API Gateway's Cognito authorizer verifies it; "
        "the person is the directory person with its email, the roles its groups); in the local "
        "runtime, the token POST /auth/local/sign-in answers.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "firebell_session",
        "description": "The local runtime's session cookie, set by POST /auth/local/sign-in (the same token).",
    },
}
SECURITY: list[dict[str, list[str]]] = [{"sigv4": []}, {"bearer": []}, {"session": []}]
# Request examples by body schema name, shown in the document and in /docs.
EXAMPLES: dict[str, Any] = {
    "IncidentCreate": {"title": "Checkout is slow", "reporter": "service-desk", "impact": "high", "urgency": "medium"},
    "AcknowledgeRequest": {},
    "ProblemLink": {"problem": "PRB-1"},
    "ResumeRequest": {},
    "ResolveRequest": {"resolution_notes": "Rolled back release 2026.11.3"},
    "NoteRequest": {"text": "Payment provider confirms elevated latency"},
    "RulesUpdate": {
        "notification_rules": {
            "high": {"via": ["sms", "email"], "follow_up": {"every_minutes": 5, "times": 2, "via": ["sms"]}},
            "low": {"via": ["email"]},
            "quiet_hours": {"start": "22:00", "end": "07:00", "low": "nothing"},
        },
        "time_zone": "Europe/London",
    },
    "ContactMethod": {"kind": "phone", "value": "+447700900123"},
    "CodeEntry": {"kind": "phone", "code": "042917"},
    "ReasonRequest": {"reason": "Waiting on the payment provider"},
    "ReassignRequest": {"to": "bob"},
    "StakeholderUpdateRequest": {"message": "Checkout is degraded; next update in 30 minutes"},
    "ReviewRequest": {"summary": "A release doubled database connections; pool limits added"},
    "ReviewDraft": {
        "root_cause": "Release 2026.11.3 opened a connection per request",
        "contributing_factors": ["No load test of the release", "Pool exhaustion was not alarmed"],
    },
    "DrillStart": {"title": "Checkout returns errors", "service": "checkout", "impact": "high", "urgency": "medium"},
    "ActionItemCreate": {
        "text": "Alarm on database connections above 80 % of the pool",
        "owner": "bob",
        "due_at": "2026-12-15T17:00:00Z",
    },
    "SignInRequest": {"person": "alice"},
}

_ERROR_DESCRIPTIONS = {
    400: "Not readable: not JSON, not UTF-8, a control character, nesting or a number too large, a bad cursor or header",
    401: "No credentials, or invalid or expired ones (`unauthenticated`)",
    403: "The caller's roles may not call this (`forbidden`, naming the roles that may), a signed-in person who is "
    "not in the directory (`not_in_directory`), or API Gateway: the signer may not invoke this API",
    404: "Something the path names does not exist",
    409: "The incident's state does not allow this now, or another change landed first (retry)",
    413: "The body is too large",
    415: "The body is not JSON (see Content-Type rule above)",
    422: "Readable, but a field is invalid: `fields` names each",
    429: "API Gateway: throttled; retry with backoff",
    503: "A dependency is busy; retry shortly",
}

F = TypeVar("F", bound=Callable[..., Any])


def request_body(
    schema: type[BaseModel] | dict[str, Any],
    example: Any,
    description: str = "",
    models: tuple[type[BaseModel], ...] = (),
    media_type: str = "application/json",
) -> Callable[[F], F]:
    """Documents the body (JSON unless `media_type` says) of a route that reads its body itself (place it under
    the route decorator); `models`: those a schema given as a dict refers to (#/components/schemas/<name>)."""

    def mark(function: F) -> F:
        function.openapi_request_body = (schema, example, description, models, media_type)  # type: ignore[attr-defined]
        return function

    return mark


def _prefixed(table: dict[str, Any], path: str) -> Any:
    return next((value for prefix, value in table.items() if path.startswith(prefix)), None)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _refusals(path: str, method: str, operation: dict[str, Any], rule: Rule | None) -> list[int]:
    """The refusal statuses a route can answer, from who may call it, what it takes (body, parameters) and does (writes)."""
    statuses = {429, 503} | ({401, 403} if not isinstance(rule, Public) else set())
    if isinstance(rule, Public) and rule.local_only:
        statuses.add(404)
    parameters = operation.get("parameters") or []
    if "{" in path:
        statuses.add(404)
    if any(p.get("in") in ("query", "header") for p in parameters) or "requestBody" in operation:
        statuses |= {400, 422}
    if "requestBody" in operation:
        statuses |= {413, 415}
    if method in ("post", "put", "delete"):
        statuses.add(409)
    return sorted(statuses)


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"{SCHEMAS}ErrorBody"}}}}


def _schema_of(source: type[BaseModel] | dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    if isinstance(source, dict):
        return source
    schema = source.model_json_schema(ref_template=SCHEMAS + "{model}")
    schemas.update(schema.pop("$defs", {}))
    schemas[source.__name__] = schema
    return {"$ref": SCHEMAS + source.__name__}


def _complete(operation: dict[str, Any], route: Any, path: str, schemas: dict[str, Any]) -> None:
    method = route.method.lower()
    operation["operationId"] = _camel(route.func.__name__)
    operation["tags"] = [_prefixed(TAGS, path)[0]]
    docstring = inspect.getdoc(route.func)
    operation.setdefault("description", docstring or operation.get("summary", ""))
    rule = ROUTES.get((route.method, route.path))
    if isinstance(rule, Public):
        operation["security"] = []
        operation["description"] += f"\n\nPublic: authenticated by {rule.authenticated_by}."
        if rule.local_only:
            operation["description"] += " Served by the local runtime only (404 deployed)."
    elif isinstance(rule, Allowed):
        operation["x-firebell-roles"] = [role.value for role in Role if role in rule.all_roles]
        own = f"; {role_names(rule.own)} only on {rule.own_phrase}" if rule.own else ""
        operation["description"] += f"\n\nRoles: {role_names(rule.roles)}{own}; or an IAM principal (SigV4)."
    declared = getattr(route.func, "openapi_request_body", None)
    if declared is not None:
        schema, example, description, models, media_type = declared
        for model in models:
            _schema_of(model, schemas)
        operation["requestBody"] = {
            "required": True,
            "description": description,
            "content": {media_type: {"schema": _schema_of(schema, schemas), "example": example}},
        }
    elif "requestBody" in operation:
        for media in operation["requestBody"].get("content", {}).values():
            optional = [s for s in media.get("schema", {}).get("anyOf", []) if s != {"type": "null"}]
            if len(optional) == 1 and "$ref" in optional[0]:  # `request: X | None = None`: the body may be absent
                media["schema"] = optional[0]
                operation["requestBody"]["required"] = False
            name = media.get("schema", {}).get("$ref", "").removeprefix(SCHEMAS)
            if name in EXAMPLES:
                media["example"] = EXAMPLES[name]
    responses = operation.setdefault("responses", {})
    if "204" in responses:  # Powertools gives it the route's return model; a 204 has no body
        responses["204"].pop("content", None)
    declared_refusals = {int(status) for status in responses if status.isdigit() and int(status) >= 400}
    for status in sorted(declared_refusals | set(_refusals(path, method, operation, rule))):
        answer = responses.get(str(status))
        # Powertools gives every declared response the route's success model: a refusal keeps content only
        # when the route declared it (PagerDuty's own 400).
        if "content" not in ((route.responses or {}).get(status) or {}):
            description = (answer or {}).get("description") or _ERROR_DESCRIPTIONS.get(
                status, HTTPStatus(status).phrase
            )
            responses[str(status)] = _error_response(description)


def _drop_unreferenced(document: dict[str, Any]) -> None:
    """Schemas nothing refers to any more (Powertools' HTTPValidationError, which the API never sends)."""
    schemas = document["components"]["schemas"]
    while True:
        text = json.dumps({"paths": document["paths"], "schemas": schemas})
        unused = [name for name in schemas if f'"{SCHEMAS}{name}"' not in text and name != "ErrorBody"]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def build_document(app: APIGatewayRestResolver) -> dict[str, Any]:
    document = app.get_openapi_schema(title="firebell", version=VERSION, description=DESCRIPTION).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for route in [*app._static_routes, *app._dynamic_routes]:
        if not route.include_in_schema:
            continue
        _complete(document["paths"][route.openapi_path][route.method.lower()], route, route.openapi_path, schemas)
    _schema_of(ErrorBody, schemas)
    _drop_unreferenced(document)
    document["components"]["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    document["security"] = copy.deepcopy(SECURITY)
    document["tags"] = [{"name": name, "description": text} for name, text in dict(TAGS.values()).items()]
    return document


@cache
def document_json(app: APIGatewayRestResolver) -> str:
    """The document, built once per container (routes do not change while it runs)."""
    return json.dumps(build_document(app), separators=(",", ":"))


@cache
def _swagger_assets() -> tuple[str, str]:
    # Swagger UI ships inside Powertools (pinned, in the Lambda layer): served inline, no CDN.
    import aws_lambda_powertools.event_handler.openapi.swagger_ui as bundled

    folder = Path(bundled.__file__).parent
    return (folder / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"), (folder / "swagger-ui.min.css").read_text(
        encoding="utf-8"
    )


def swagger_page(app: APIGatewayRestResolver) -> str:
    # Imported here: the swagger_ui package loads powertools' OpenAPI document models (~100 ms of cold start).
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    script, style = _swagger_assets()
    page = generate_swagger_html(document_json(app).replace("</", "<\\/"), script, style, "", None)
    # The page asks for ?format=json to show the document's URL: point it at the real one.
    return page.replace('currentUrl.pathname + "?format=json"', '"openapi.json"').replace(
        "<title>Swagger UI</title>", f"<title>firebell API {VERSION}</title>"
    )
