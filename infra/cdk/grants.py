"""Each function's role, least privilege: the grants its use cases' Permissions name (infra/topology.py), and the
cdk-nag reasons for the few wildcards IAM cannot avoid. Also the alarms topic's policy for CloudWatch's actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from aws_cdk import ArnFormat, Aws, CfnElement
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions

from infra.topology import ALARMS_TOPIC, FunctionSpec

if TYPE_CHECKING:
    from infra.cdk.stack import FirebellStack


def grant_what_it_needs(stack: FirebellStack, spec: FunctionSpec, function: lambda_.Function) -> None:
    permissions = spec.permissions
    role = function.role
    assert role is not None  # the role made in _function()
    for table in permissions.table_read_write:
        stack.tables[table].grant_read_write_data(function)
    for topic in permissions.publish_to_topics:
        # grant_publish() minus its kms:GenerateDataKey* wildcard: SNS calls GenerateDataKey for a publisher.
        stack.topics[topic].grants.actions(
            function, ["sns:Publish"], key_actions=["kms:Decrypt", "kms:GenerateDataKey"]
        )
    for queue in permissions.send_to_queues:
        stack.queues[queue].grant_send_messages(function)
    for queue in permissions.consume_queues:
        stack.queues[queue].grant_consume_messages(function)
    for machine in permissions.start_executions:
        stack.state_machines[machine].grants.start_execution(function)
    if permissions.stop_executions:
        _allow_stop_executions(stack, role, permissions.stop_executions)
    for machine in permissions.answer_tasks:
        # SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat.
        stack.state_machines[machine].grants.task_response(function)
    for secret in permissions.read_secrets:
        # GetSecretValue and DescribeSecret on this secret only (its key is AWS managed: no KMS grant).
        stack.secrets[secret].grant_read(function)
    for bucket in permissions.read_objects:
        stack.mail.grant_read(bucket, stack.topology.bucket(bucket), role)
    if permissions.send_email:
        stack.sender_identity.grant_send_email(function)
    if permissions.send_sms:
        _allow_sms(stack, spec, role)
    indexed = tuple(t.name for t in stack.topology.tables if t.name in permissions.table_read_write and t.indexes)
    if indexed:
        _explain_index_grants(stack, role, indexed)


def executions_arn(stack: FirebellStack, machine: str) -> str:
    """`arn:…:states:<region>:<account>:execution:<machine name>:*`: every execution of one state machine.

    What grants.execution() grants, spelled with the machine's Name attribute so that the suppression
    below can name the exact wildcard it allows."""
    return stack.format_arn(
        service="states",
        resource="execution",
        resource_name=f"{stack.state_machines[machine].state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def _allow_stop_executions(stack: FirebellStack, role: iam.IRole, machines: tuple[str, ...]) -> None:
    iam.Grant.add_to_principal(
        grantee=role,
        actions=["states:StopExecution"],
        # On the machines' executions, not on the machines themselves (StopExecution takes an execution ARN).
        resource_arns=[executions_arn(stack, m) for m in machines],
    )
    NagSuppressions.add_resource_suppressions(
        role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="StopExecution acts on an execution, whose ARN ends in a name chosen when it starts; "
                f"'<machine name>:*' limits it to the executions of these state machines: {', '.join(machines)}",
                applies_to=[
                    "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                    f"<{stack.get_logical_id(cast(CfnElement, stack.state_machines[m].node.default_child))}.Name>:*"
                    for m in machines
                ],
            )
        ],
        apply_to_children=True,
    )


def _explain_index_grants(stack: FirebellStack, role: iam.IRole, tables: tuple[str, ...]) -> None:
    indexes = ", ".join(i.name for t in stack.topology.tables if t.name in tables for i in t.indexes)
    NagSuppressions.add_resource_suppressions(
        role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="Table grants cover the table's own global secondary indexes (<table ARN>/index/*), "
                f"which the shared store (firebell.data.store) queries: {indexes}",
                applies_to=[
                    f"Resource::<{stack.get_logical_id(cast(CfnElement, stack.tables[t].node.default_child))}.Arn>"
                    "/index/*"
                    for t in tables
                ],
            )
        ],
        apply_to_children=True,
    )


def _allow_sms(stack: FirebellStack, spec: FunctionSpec, role: iam.IRole) -> None:
    from infra.cdk.functions import pascal  # (functions.py imports this module)

    # A policy of its own, so that its suppression covers exactly this statement.
    policy = iam.Policy(
        stack,
        f"{pascal(spec.name)}SmsPolicy",
        statements=[
            # Topics are granted one by one above; this statement exists for phone numbers.
            iam.PolicyStatement(actions=["sns:Publish"], resources=["*"])
        ],
    )
    policy.attach_to_role(role)
    NagSuppressions.add_resource_suppressions(
        policy,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason="SMS: sns:Publish to a phone number (PhoneNumber=...) has no resource ARN, so IAM "
                "requires Resource '*'",
                applies_to=["Resource::*"],
            )
        ],
    )


def allow_cloudwatch_alarms(stack: FirebellStack) -> None:
    """CloudWatch alarm actions publish to the alarms topic, and so encrypt with the topics key."""
    cloudwatch = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    alarms = stack.topics[ALARMS_TOPIC]
    alarms.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[cloudwatch],
            actions=["sns:Publish"],
            resources=[alarms.topic_arn],
            # Only this account's alarms (confused-deputy guard, as the CloudWatch documentation shows).
            conditions={
                "ArnLike": {"aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"}
            },
        )
    )
    # The key statement AWS documents for alarms on encrypted topics (no condition keys: CloudWatch's
    # calls to KMS are not documented to carry them, and a failed check would silence every alarm).
    stack.topics_key.grant(cloudwatch, "kms:Decrypt", "kms:GenerateDataKey*")
