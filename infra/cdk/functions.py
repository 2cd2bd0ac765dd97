"""Each function of the topology as Lambda runs it: code, layer, log group, role, tracing, environment, trigger
and grants (infra/cdk/grants.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions

from infra.cdk.grants import grant_what_it_needs
from infra.cdk.layer import LAMBDA_RUNTIME, function_code
from infra.cdk.rest_api import LOG_RETENTION
from infra.cdk.settings import deploy_environment
from infra.topology import FunctionSpec, QueueTrigger, ScheduleTrigger

if TYPE_CHECKING:
    from infra.cdk.stack import FirebellStack

LAYER_CONFIG_DIR = "/opt/firebell/config"
METRICS_NAMESPACE = "firebell"


def stack_environment(function: str, config_dir: str = LAYER_CONFIG_DIR) -> dict[str, str]:
    """What every function gets besides its topology variables (the benches run the handlers with it too)."""
    return {
        "POWERTOOLS_SERVICE_NAME": function,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "FIREBELL_CONFIG_DIR": config_dir,
        "LOG_LEVEL": "INFO",
        # firebell uses no pydantic plugin: without this, the first model reads every installed package's
        # metadata looking for one (cold start).
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
    }


def pascal(name: str) -> str:
    """`intake-dlq` → `IntakeDlq`: construct ids from topology names."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def lambda_function(stack: FirebellStack, spec: FunctionSpec) -> lambda_.Function:
    """A topology function as Lambda runs it: its code on the shared layer, its own log group and role, active
    tracing, and the variables every function gets (its own are added by wire)."""
    name = pascal(spec.name)
    log_group = logs.LogGroup(stack, f"{name}FunctionLogs", retention=LOG_RETENTION)
    # Our own role instead of the default one with AWSLambdaBasicExecutionRole: it may write to this
    # function's log group only, not create and write any log group in the account.
    role = iam.Role(
        stack,
        f"{name}FunctionRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"firebell {spec.name} function",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        stack,
        f"{name}Function",
        description=spec.description,
        runtime=LAMBDA_RUNTIME,
        architecture=lambda_.Architecture.X86_64,
        handler=spec.handler,
        code=function_code(spec.code_dir),
        layers=[stack.layer],
        memory_size=spec.memory_mb,
        timeout=Duration.seconds(spec.timeout_seconds),
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        role=role,
        environment=stack_environment(spec.name),
    )
    NagSuppressions.add_resource_suppressions(
        role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="Active tracing: X-Ray PutTraceSegments/PutTelemetryRecords support only Resource '*'",
                applies_to=["Resource::*"],
            )
        ],
        apply_to_children=True,
    )
    NagSuppressions.add_resource_suppressions(
        function,
        [
            NagPackSuppression(
                id="AwsSolutions-L1",
                reason="Pinned to python3.11 on purpose: the layer ships bytecode and cp311 wheels, which only "
                "the interpreter that built them can use (infra/cdk/layer.py); a newer runtime means building with it",
            )
        ],
    )
    return function


def wire(stack: FirebellStack, spec: FunctionSpec, function: lambda_.Function) -> None:
    """Its topology variables and the deploy settings it reads, its trigger, and its grants."""
    for variable, (kind, name) in spec.environment.items():
        function.add_environment(variable, stack.resource(kind, name))
    for variable, value in deploy_environment(stack.settings, spec.permissions).items():
        function.add_environment(variable, value)

    if isinstance(spec.trigger, QueueTrigger):
        function.add_event_source(
            event_sources.SqsEventSource(
                stack.queues[spec.trigger.queue],
                batch_size=spec.trigger.batch_size,
                max_batching_window=Duration.seconds(spec.trigger.max_batching_window_seconds),
                report_batch_item_failures=True,
            )
        )
    elif isinstance(spec.trigger, ScheduleTrigger):
        events.Rule(
            stack,
            f"{spec.name}-schedule",
            description=f"Runs {spec.name} every {spec.trigger.rate_minutes} min",
            schedule=events.Schedule.rate(Duration.minutes(spec.trigger.rate_minutes)),
            targets=[event_targets.LambdaFunction(function, retry_attempts=0)],
        )

    grant_what_it_needs(stack, spec, function)
