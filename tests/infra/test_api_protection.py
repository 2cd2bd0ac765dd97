"""The public routes are throttled on their own, below the stage; `-c firebell:waf=true` adds a WAF web ACL with a
per-IP rate rule on them (and the APIG3 suppression goes); the stack never marks a function as the local runtime."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Annotations, Match, Template

from firebell.settings import LOCAL_RUNTIME_VARIABLE
from infra.cdk.api_protection import WAF_CONTEXT, WAF_PUBLIC_LIMIT, WAF_WINDOW_SECONDS
from infra.cdk.app import build
from infra.cdk.stack import DEMO_KEYS_WARNING
from infra.topology import ROOT, STAGE_THROTTLE, TOPOLOGY, ApiTrigger

if TYPE_CHECKING:
    from conftest import Synthesized

CDK_JSON = ROOT / "cdk.json"
NAG_MESSAGE = Match.string_like_regexp("AwsSolutions-.*")

(API,) = [f for f in TOPOLOGY.functions if isinstance(f.trigger, ApiTrigger)]
PUBLIC_METHODS = [(route, method) for route in API.trigger.public_routes for method in route.methods]


def of_type(resources: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources.items() if v["Type"] == cfn_type}


def stages(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each REST API's stage (the machine API's and the people API's), by the API's logical id."""
    return {s["Properties"]["RestApiId"]["Ref"]: s for s in of_type(resources, "AWS::ApiGateway::Stage").values()}


def method_settings(stage: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}


def apig3_reasons(resources: dict[str, Any], logical_id: str | None = None) -> list[str]:
    return [
        s["reason"]
        for k, r in resources.items()
        if logical_id in (None, k)
        for s in r.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        if s["id"] == "AwsSolutions-APIG3"
    ]


def test_every_public_method_has_its_own_throttle_below_the_stage_s(resources: dict[str, Any]) -> None:
    # Given both APIs' stages: the machine API's and the people API's, which throttle alike
    assert len(stages(resources)) == 2
    for stage in stages(resources).values():
        settings = method_settings(stage)
        # Given the stage-wide throttle, for the authorized routes
        stage_wide = settings[("/*", "*")]
        assert (stage_wide["ThrottlingRateLimit"], stage_wide["ThrottlingBurstLimit"]) == (
            STAGE_THROTTLE.rate_per_second,
            STAGE_THROTTLE.burst,
        )
        # Then each public route's method has its own, lower, as the topology says (paths escaped as API Gateway wants)
        assert PUBLIC_METHODS
        for route, method in PUBLIC_METHODS:
            own = settings[("/" + route.path.replace("/", "~1"), method)]
            assert (own["ThrottlingRateLimit"], own["ThrottlingBurstLimit"]) == (
                route.throttle.rate_per_second,
                route.throttle.burst,
            )
            assert (
                own["ThrottlingRateLimit"] < STAGE_THROTTLE.rate_per_second
                and own["ThrottlingBurstLimit"] < STAGE_THROTTLE.burst
            )
        assert len(settings) == 1 + len(PUBLIC_METHODS)


def test_without_the_waf_flag_there_is_no_web_acl_and_apig3_says_why(
    synthesized: Synthesized, resources: dict[str, Any]
) -> None:
    assert not [r for r in resources.values() if r["Type"].startswith("AWS::WAFv2::")]
    # Given each API's own reason, naming what refuses unauthenticated requests on its other routes
    refusers = {
        synthesized.logical_id(synthesized.stack.apis[API.name]): "IAM authorization",
        synthesized.logical_id(synthesized.stack.people.api): "Cognito user pool authorizer",
    }
    for api_id, refuser in refusers.items():
        (reason,) = apig3_reasons(resources, api_id)
        # The reason names the flag and every public route with its throttle: true of the template it is in
        assert WAF_CONTEXT in reason and refuser in reason
        for route in API.trigger.public_routes:
            assert f"{route.path} ({route.throttle.rate_per_second:g}/s, burst {route.throttle.burst})" in reason


def test_no_function_is_told_it_is_the_local_runtime(resources: dict[str, Any]) -> None:
    # Demo routing keys work only where this variable is set: the local runtime sets it, the stack never does
    functions = of_type(resources, "AWS::Lambda::Function")
    assert functions
    for function in functions.values():
        assert LOCAL_RUNTIME_VARIABLE not in function["Properties"]["Environment"]["Variables"]


def test_the_demo_s_demo_keys_are_expected_there(synthesized: Synthesized) -> None:
    # The demo config (firebell:env=demo, `make synth`) has only demo keys by design: acknowledged, not warned about;
    # a deployment with them is warned (tests/infra/test_deploy_guide.py)
    warnings = Annotations.from_stack(synthesized.stack).find_warning(
        "*", Match.string_like_regexp(f".*{DEMO_KEYS_WARNING}.*")
    )
    assert warnings == []


@pytest.fixture(scope="module")
def with_waf() -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """The stack synthesized as `cdk synth -c firebell:waf=true` would (a second synthesis: slow, so one per module)."""
    context = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    app = App(context={**context, "aws:cdk:bundling-stacks": [], WAF_CONTEXT: "true"})
    stack = build(app)
    template = Template.from_stack(stack)
    yield template.to_json()["Resources"], Annotations.from_stack(stack).find_error("*", NAG_MESSAGE)


def test_the_waf_flag_adds_a_per_ip_rate_rule_on_the_public_routes(with_waf: tuple[dict[str, Any], list[Any]]) -> None:
    resources, _nag_errors = with_waf
    ((acl_id, acl),) = of_type(resources, "AWS::WAFv2::WebACL").items()
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL" and properties["DefaultAction"] == {"Allow": {}}
    (rule,) = properties["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["AggregateKeyType"], rate["Limit"], rate["EvaluationWindowSec"]) == (
        "IP",
        WAF_PUBLIC_LIMIT,
        WAF_WINDOW_SECONDS,
    )
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}
    # Scoped to every public route's path (and nothing else)
    searched = {
        s["ByteMatchStatement"]["SearchString"] for s in rate["ScopeDownStatement"]["OrStatement"]["Statements"]
    }
    assert searched == {route.path.split("{")[0] for route in API.trigger.public_routes}
    # And associated with both APIs' stages (one ACL, one fee): the machine API's and the people API's
    associations = of_type(resources, "AWS::WAFv2::WebACLAssociation").values()
    assert all(a["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]} for a in associations)
    stage_ids = set(of_type(resources, "AWS::ApiGateway::Stage"))
    associated = {
        part["Ref"]
        for a in associations
        for part in a["Properties"]["ResourceArn"]["Fn::Join"][1]
        if isinstance(part, dict) and part.get("Ref") in stage_ids
    }
    assert len(associations) == len(stage_ids) == 2 and associated == stage_ids


def test_with_the_waf_apig3_holds_without_a_suppression(with_waf: tuple[dict[str, Any], list[Any]]) -> None:
    resources, nag_errors = with_waf
    assert apig3_reasons(resources) == []
    assert nag_errors == []
