"""GET /openapi.json is the truth: built in-process from the api function's own routes (functions/api/openapi.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from firebell.domain.access import ROUTES, Allowed, Public
from firebell.domain.errors import HTTP_ANSWERS, ErrorBody, http_body
from functions.api import openapi
from functions.api.app import app
from functions.api.integrations import PAGERDUTY_REJECTION
from infra.topology import TOPOLOGY

DOCUMENT = openapi.build_document(app)
OPERATIONS = [
    (path, method, operation) for path, item in DOCUMENT["paths"].items() for method, operation in item.items()
]
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def _ids(value: Any) -> str:
    return f"{value[1].upper()} {value[0]}"


def test_every_operation_has_a_readable_unique_id_a_tag_a_summary_and_a_description() -> None:
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]
    assert len(ids) == len(set(ids)) == len(OPERATIONS) >= 26
    assert all(re.fullmatch(r"[a-z]+([A-Z][a-z0-9]*)*", operation_id) for operation_id in ids), ids
    declared_tags = {tag["name"] for tag in DOCUMENT["tags"]}
    for path, method, operation in OPERATIONS:
        assert operation["summary"] and operation["description"], (method, path)
        assert len(operation["tags"]) == 1 and operation["tags"][0] in declared_tags, (method, path)


@pytest.mark.parametrize("entry", OPERATIONS, ids=_ids)
def test_every_refusal_is_documented_with_the_one_error_body(entry) -> None:
    path, method, operation = entry
    refusals = {int(status): answer for status, answer in operation["responses"].items() if int(status) >= 400}
    assert {429, 503} <= set(refusals)
    for status, answer in refusals.items():
        if (path, status) == ("/ack/{token}", 410):  # a page for a person, who holds nothing but the link
            assert list(answer["content"]) == ["text/html"]
            continue
        schema = answer["content"]["application/json"]["schema"]
        if path.startswith("/v2/") and status == 400:  # PagerDuty's own answer, as its clients expect
            assert schema == PAGERDUTY_REJECTION
        else:
            assert schema == ERROR_BODY, (method, path, status)
    if "requestBody" in operation:
        assert {400, 413, 415, 422} <= set(refusals), (method, path)


def test_powertools_validation_error_schema_is_gone() -> None:
    assert "HTTPValidationError" not in DOCUMENT["components"]["schemas"]
    assert "ErrorBody" in DOCUMENT["components"]["schemas"]


def test_every_write_declares_its_json_body_with_an_example() -> None:
    bodiless = {
        ("post", "/admin/{kind}/{entry_id}/revert"),
        ("post", "/ack/{token}"),
        ("post", "/auth/local/sign-out"),
        ("post", "/me/calendar-feed"),
        ("post", "/incidents/{incident_id}/review/actions/{number}/done"),
        ("post", "/drills/{incident_id}/end"),
        ("post", "/admin/webhooks/dead-letters/replay"),
    }
    for path, method, operation in OPERATIONS:
        if method not in ("post", "put") or (method, path) in bodiless:
            continue
        # (Slack sends its requests form-encoded, as Slack does)
        media_type = "application/x-www-form-urlencoded" if path.startswith("/chat/slack/") else "application/json"
        media = operation["requestBody"]["content"][media_type]
        assert media["schema"] and media["example"] is not None, (method, path)
    for path in (
        "/v2/enqueue",
        "/v1/alertmanager/{routing_key}",
        "/admin/{kind}/{entry_id}",
        "/admin/schedules/{entry_id}/overrides",
        "/admin/services/{entry_id}/maintenance-windows",
    ):
        method = "put" if path == "/admin/{kind}/{entry_id}" else "post"
        assert "requestBody" in DOCUMENT["paths"][path][method], path


def _openapi(template: str) -> str:
    return re.sub(r"<(.*?)>", r"{\1}", template)


def test_security_follows_the_access_rules_and_the_deployed_public_routes_are_the_topologys() -> None:
    assert DOCUMENT["security"] == [{"sigv4": []}, {"bearer": []}, {"session": []}]
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert (schemes["bearer"]["type"], schemes["bearer"]["scheme"]) == ("http", "bearer")
    assert (schemes["session"]["in"], schemes["session"]["name"]) == ("cookie", "firebell_session")
    documented_public = {(path, method) for path, method, operation in OPERATIONS if operation.get("security") == []}
    public_rules = {
        (_openapi(template), method.lower()): rule
        for (method, template), rule in ROUTES.items()
        if isinstance(rule, Public)
    }
    assert documented_public == set(public_rules)
    # Deployed, API Gateway lets the public ones through unauthenticated; the local sign-in is not among them
    topology = {
        (route.path, method.lower())
        for route in TOPOLOGY.function("api").trigger.public_routes
        for method in route.methods
    }
    assert topology == {key for key, rule in public_rules.items() if not rule.local_only}


@pytest.mark.parametrize("entry", [e for e in OPERATIONS if e[2].get("security") != []], ids=_ids)
def test_every_secured_operation_names_its_roles_and_answers_401_and_403(entry) -> None:
    path, method, operation = entry
    [rule] = [rule for (m, template), rule in ROUTES.items() if (_openapi(template), m.lower()) == (path, method)]
    assert isinstance(rule, Allowed)
    assert set(operation["x-firebell-roles"]) == {role.value for role in rule.all_roles}
    assert {"401", "403"} <= set(operation["responses"])
    assert "Roles: " in operation["description"]


@pytest.mark.parametrize("error_type", sorted(HTTP_ANSWERS, key=lambda t: t.__name__), ids=lambda t: t.__name__)
def test_every_refusal_the_handler_makes_is_an_error_body(error_type) -> None:
    answer = HTTP_ANSWERS[error_type]
    error = error_type.__new__(error_type)
    Exception.__init__(error, "what went wrong")
    body = http_body(error, answer)
    assert ErrorBody.model_validate(body).error == answer.code


def test_swagger_ui_is_served_without_any_cdn() -> None:
    page = openapi.swagger_page(app)
    assert "SwaggerUIBundle" in page and '"openapi.json"' in page
    assert not re.search(r"""<(script|link)[^>]+(src|href)=['"]https?://""", page)
