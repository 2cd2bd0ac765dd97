"""How the API reads a request, before any route sees it: bodies are JSON, decoded within bounds; a path that
exists with other methods answers 405 naming them.

The Content-Type rule (also in docs/api.md): a body is read as JSON when the header is absent,
application/json, any application/*+json, or application/x-www-form-urlencoded, which is what `curl -d` sends
when nobody says otherwise (the README's curl). No route takes form fields, so a form-encoded body that is not
JSON gets 400 invalid_json, never a route's idea of fields. Every other type (multipart/form-data, text/xml, …)
gets 415 unsupported_media_type naming header.Content-Type.

Bodies arrive as the bytes the client sent (API Gateway passes every body base64-encoded, binaryMediaTypes
*/*, infra/cdk): text that is not UTF-8 is refused here, never replaced by U+FFFD on the way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware

from firebell.domain import wire
from firebell.domain.errors import FieldProblem, InvalidJson, MethodNotAllowed, UnsupportedMediaType

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent


def public_url(event: dict[str, Any]) -> str:
    """The URL this request reached the API at, up to the routes' paths: https://<domain>[/<stage or base path>].
    API Gateway sets requestContext.domainName (the execute-api host or the custom domain: never the client's Host
    header) and puts the stage or base path before the route's path in requestContext.path."""
    context = event.get("requestContext") or {}
    domain, full, route = context.get("domainName"), context.get("path") or "", event.get("path") or ""
    if not domain:
        return ""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    scheme = "http" if headers.get("x-forwarded-proto") == "http" else "https"  # API Gateway: always https
    prefix = full[: len(full) - len(route)] if route and full.endswith(route) else ""
    return f"{scheme}://{domain}{prefix}"


MAX_BODY_BYTES = 1024 * 1024  # far above any route's fields, far below API Gateway's 10 MB
JSON_MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded")


def read_json(text: str) -> Any:
    """The resolver's JSON body decoder: bounded, and fields named as the API names them (body.…)."""
    return wire.decode_json(text, MAX_BODY_BYTES, prefix=("body",))


def media_type(event: BaseProxyEvent) -> str:
    return (event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def require_json(event: BaseProxyEvent) -> None:
    """UnsupportedMediaType unless the Content-Type rule above reads this body as JSON."""
    media = media_type(event)
    if media and media not in JSON_MEDIA_TYPES and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaType(event.headers.get("content-type") or "")


def json_body(event: BaseProxyEvent) -> Any:
    """The body as JSON under the Content-Type rule, or the refusal naming why (400, 413, 415)."""
    require_json(event)
    try:
        return event.json_body
    except UnicodeDecodeError as error:  # Powertools decodes a base64 body as UTF-8 before read_json sees it
        raise InvalidJson(problems=[FieldProblem("body", f"is not UTF-8 text (byte {error.start})")]) from None


class JsonBodies(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with bodies read under the rule above (Powertools would parse a form body
    as form fields, and answer multipart without a boundary with an uncaught ValueError)."""

    def _get_body(self, app: Any) -> Any:
        return json_body(app.current_event)


def method_not_allowed(app: APIGatewayRestResolver, method: str, path: str) -> MethodNotAllowed | None:
    """405 for a path some route serves with other methods; None if no route serves the path at all."""
    routes = [*app._static_routes, *app._dynamic_routes]
    allowed = sorted({route.method for route in routes if route.rule.match(path)})
    return MethodNotAllowed(method, path, allowed) if allowed else None
