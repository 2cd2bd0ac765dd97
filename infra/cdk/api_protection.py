"""What stands in front of the REST API's public routes (infra/topology.py PublicRoute): their own method-level
throttles on the stage, and, with `cdk synth -c firebell:waf=true`, a WAF web ACL with a per-IP rate-based rule.

IAM-authorised routes refuse unsigned requests before the function runs; the public routes (integration keys,
ack links) cannot, so they are throttled apart from the stage's budget, and the WAF rule can cut one noisy client
off at the edge. docs/security.md explains the numbers.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.topology import STAGE_THROTTLE, ApiTrigger, PublicRoute

WAF_CONTEXT = "firebell:waf"
# Requests one client IP may send to the public routes in WAF_WINDOW_SECONDS: twice PagerDuty's own Events API
# budget of 120 a minute per key, so a busy monitoring host is not cut off; a scanner is, with a 429 it may retry.
WAF_PUBLIC_LIMIT = 600
WAF_WINDOW_SECONDS = 300


def waf_requested(scope: Construct) -> bool:
    value = scope.node.try_get_context(WAF_CONTEXT)
    return value is True or str(value).lower() == "true"


def stage_throttling() -> dict[str, float]:
    return {"throttling_rate_limit": STAGE_THROTTLE.rate_per_second, "throttling_burst_limit": STAGE_THROTTLE.burst}


def public_method_options(trigger: ApiTrigger) -> dict[str, apigw.MethodDeploymentOptions]:
    """StageOptions.method_options: '<path>/<METHOD>' → each public method's own throttle. The stage's logging and
    metrics settings apply to these methods too, so they are repeated (a method setting replaces the stage's)."""
    return {
        f"{route.path}/{method}": apigw.MethodDeploymentOptions(
            throttling_rate_limit=route.throttle.rate_per_second,
            throttling_burst_limit=route.throttle.burst,
            logging_level=apigw.MethodLoggingLevel.INFO,
            data_trace_enabled=False,
            metrics_enabled=True,
        )
        for route in trigger.public_routes
        for method in route.methods
    }


def _static_prefix(route: PublicRoute) -> str:
    """'/v1/alertmanager/{routing_key}' → '/v1/alertmanager/': what every request to the route's path contains."""
    return route.path.split("{", 1)[0]


def _public_paths_statement(routes: tuple[PublicRoute, ...]) -> wafv2.CfnWebACL.StatementProperty:
    # The URI WAF sees starts with the stage name (/prod/v2/enqueue): match on what the route's path contains.
    matches = [
        wafv2.CfnWebACL.StatementProperty(
            byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                positional_constraint="CONTAINS",
                search_string=prefix,
                text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
            )
        )
        for prefix in sorted({_static_prefix(route) for route in routes})
    ]
    if len(matches) == 1:
        return matches[0]
    return wafv2.CfnWebACL.StatementProperty(or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=matches))


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def web_acl(scope: Construct, construct_id: str, apis: list[tuple[apigw.RestApi, ApiTrigger]]) -> wafv2.CfnWebACL:
    """One regional web ACL on every API's stage (one ACL, one monthly fee): allow by default; block (429) a client
    IP over the public routes' rate, counted across the APIs."""
    routes = tuple(route for _, trigger in apis for route in trigger.public_routes)
    acl = wafv2.CfnWebACL(
        scope,
        construct_id,
        scope="REGIONAL",
        description="firebell: per-IP rate limit on the public routes - integration keys and ack links",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=_visibility("firebell-api"),
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name="public-routes-rate-per-ip",
                priority=0,
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=WAF_PUBLIC_LIMIT,
                        evaluation_window_sec=WAF_WINDOW_SECONDS,
                        scope_down_statement=_public_paths_statement(routes),
                    )
                ),
                # 429, not WAF's default 403: PagerDuty senders retry a 429 once the window has passed.
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(response_code=429)
                    )
                ),
                visibility_config=_visibility("firebell-public-routes-rate-per-ip"),
            )
        ],
    )
    for index, (api, _) in enumerate(apis):
        # The first association keeps the id it had when the machine API was the only one.
        wafv2.CfnWebACLAssociation(
            scope,
            f"{construct_id}Association{index or ''}",
            resource_arn=api.deployment_stage.stage_arn,
            web_acl_arn=acl.attr_arn,
        )
    return acl
