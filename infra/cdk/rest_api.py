"""One way to build a REST API on the API function, shared by the machine API (IAM) and the people API (Cognito):
access logs, stage throttles, the request validator, the proxy methods, the public routes and API Gateway's own
refusals in the API's error format. Only who may call the non-public routes differs (`Guard`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.cdk.api_protection import WAF_CONTEXT, public_method_options, stage_throttling
from infra.topology import ApiTrigger

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
# API Gateway's refusals as the function words its own (domain/errors.py ErrorBody); GET /openapi.json documents it.
ERROR_TEMPLATE = '{"error":"%s","message":$context.error.messageString}'


@dataclass(frozen=True)
class Guard:
    """Who may call every route that is not public, and how the template says so."""

    method_options: apigw.MethodOptions
    # What refuses an unauthenticated request before the function runs (the WAF suppression's reason quotes it).
    refuses: str
    # cdk-nag suppressions for the whole API that follow from the choice (e.g. COG4 on an IAM API).
    suppressions: tuple[NagPackSuppression, ...] = ()
    # Gateway responses of their own: response type → (status code, `error` value), e.g. 401 → "unauthenticated".
    responses: dict[apigw.ResponseType, tuple[str, str]] = field(default_factory=dict)


def rest_api(
    scope: Construct,
    name: str,
    *,
    rest_api_name: str,
    description: str,
    function: lambda_.IFunction,
    trigger: ApiTrigger,
    guard: Guard,
    endpoint_types: list[apigw.EndpointType] | None = None,
    cloud_watch_role: bool = True,
    waf_enabled: bool = False,
    one_invoke_permission: bool = False,
) -> apigw.RestApi:
    """`<name>ApiAccessLogs` and `<name>RestApi` in `scope`: the machine API keeps the ids it always had."""
    access_logs = logs.LogGroup(scope, f"{name}ApiAccessLogs", retention=LOG_RETENTION)
    api = apigw.RestApi(
        scope,
        f"{name}RestApi",
        rest_api_name=rest_api_name,
        description=description,
        endpoint_types=endpoint_types,
        # Every body reaches the function as the bytes sent (base64): without this, API Gateway passes text
        # and replaces invalid UTF-8 with U+FFFD, which the function could then not refuse.
        binary_media_types=["*/*"],
        deploy_options=apigw.StageOptions(
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=True,
                http_method=True,
                ip=True,
                protocol=True,
                request_time=True,
                resource_path=True,
                response_length=True,
                status=True,
                user=True,
            ),
            logging_level=apigw.MethodLoggingLevel.INFO,
            data_trace_enabled=False,  # request/response bodies would put incident data in the logs
            metrics_enabled=True,
            tracing_enabled=True,
            **stage_throttling(),
            method_options=public_method_options(trigger),
        ),
        cloud_watch_role=cloud_watch_role,
    )
    # The function validates bodies and parameters itself (Powertools, enable_validation=True); this
    # validator applies to the proxy methods' declared parameters and models, of which there are none yet.
    validator = api.add_request_validator(
        "RequestValidator", validate_request_body=True, validate_request_parameters=True
    )
    # One invoke permission for the whole API instead of two per method: every method of it calls this one
    # function anyway, and the function's resource policy (20 KB) is shared by every API in front of it.
    integration = apigw.LambdaIntegration(function, scope_permission_to_method=not one_invoke_permission)
    # Explicit methods: a Method takes its validator from its own options only, never from defaults. The guard
    # goes on each method (not default_method_options): a default authorizer could not be lifted off the public
    # routes below.
    options = guard.method_options
    for resource in (api.root, api.root.add_proxy(any_method=False)):
        resource.add_method(
            "ANY",
            integration,
            request_validator=validator,
            authorization_type=options.authorization_type,
            authorizer=options.authorizer,
            authorization_scopes=options.authorization_scopes,
        )
    for route in trigger.public_routes:
        resource = api.root.resource_for_path(route.path.strip("/"))
        for method in route.methods:
            public = resource.add_method(
                method, integration, request_validator=validator, authorization_type=apigw.AuthorizationType.NONE
            )
            NagSuppressions.add_resource_suppressions(
                public,
                [
                    NagPackSuppression(
                        id="AwsSolutions-APIG4", reason=f"Public by design: authenticated by {route.authenticated_by}"
                    ),
                    NagPackSuppression(
                        id="AwsSolutions-COG4", reason=f"Public by design: authenticated by {route.authenticated_by}"
                    ),
                ],
            )
    for response_type, (status, error) in guard.responses.items():
        api.add_gateway_response(
            f"{response_type.response_type}Response",
            type=response_type,
            status_code=status,
            templates={"application/json": ERROR_TEMPLATE % error},
        )
    # API Gateway's own refusals (403 unsigned, 429 throttled, 413 too large, …) in the API's error format
    # (domain/errors.py ErrorBody), as GET /openapi.json documents them.
    for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
        api.add_gateway_response(
            f"{response_type.response_type}Response",
            type=response_type,
            templates={"application/json": ERROR_TEMPLATE % "$context.error.responseType"},
        )
    # RestApi always adds an `Endpoint` output; the stack's own outputs name the URLs to use.
    api.node.try_remove_child("Endpoint")
    suppressions = list(guard.suppressions)
    if not waf_enabled:
        public = ", ".join(
            f"{route.path} ({route.throttle.rate_per_second:g}/s, burst {route.throttle.burst})"
            for route in trigger.public_routes
        )
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-APIG3",
                reason=f"No WAF web ACL unless deployed with -c {WAF_CONTEXT}=true (a per-IP rate rule, infra/cdk/api_protection.py): "
                f"{guard.refuses} on every other route; the public routes authenticate by "
                f"key or signed token and each has its own method throttle below the stage's: {public}",
            )
        )
    if cloud_watch_role:
        suppressions.append(
            NagPackSuppression(
                id="AwsSolutions-IAM4",
                reason="API Gateway's account-wide CloudWatch role (needed for execution and access logging) uses "
                "the AWS managed AmazonAPIGatewayPushToCloudWatchLogs policy, as AWS documents",
                applies_to=[
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                ],
            )
        )
    if suppressions:
        NagSuppressions.add_resource_suppressions(api, suppressions, apply_to_children=True)
    return api
