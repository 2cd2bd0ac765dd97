"""Locally, each function may make only the AWS calls its role would allow in AWS.

The grants come from the same place the CDK stack renders the roles from: each function's derived
Permissions in infra/topology.py. Every botocore call a handler makes while it runs as a function (see
`running_as` in firebell.container) is mapped to its IAM action and resource and checked against them;
a call outside them fails as AWS fails it (AccessDeniedException), and is recorded in `denied`, so a
missing grant fails on the laptop and in the tests, not after `cdk deploy`.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from firebell.container import current_function
from infra.local.render import ACCOUNT_ID, REGION
from infra.topology import FunctionSpec, Permissions, QueueTrigger, Topology

# What CDK's grant_read_write_data allows on a table (and its indexes).
TABLE_ACTIONS = (
    "BatchGetItem",
    "GetRecords",
    "GetShardIterator",
    "Query",
    "GetItem",
    "Scan",
    "ConditionCheckItem",
    "BatchWriteItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "DescribeTable",
)
# TransactWriteItems is authorised item by item, as the action each item does.
_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
TASK_RESPONSE_ACTIONS = ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat")


@dataclass(frozen=True)
class Grant:
    action: str
    resource: str  # an ARN, or a pattern with *


def grants(spec: FunctionSpec, resources: dict[tuple[str, str], str], topology: Topology) -> list[Grant]:
    """The function's role as (action, resource) pairs, rendered from its Permissions as the stack renders them."""
    p: Permissions = spec.permissions
    out: list[Grant] = []
    for table in p.table_read_write:
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{resources[('table', table)]}"
        out += [Grant(f"dynamodb:{a}", r) for a in TABLE_ACTIONS for r in (arn, f"{arn}/index/*")]
    out += [Grant("sns:Publish", resources[("topic", t)]) for t in p.publish_to_topics]
    for queue in p.send_to_queues:
        arn = resources[("queue_arn", queue)]
        out += [Grant(f"sqs:{a}", arn) for a in ("SendMessage", "GetQueueAttributes", "GetQueueUrl")]
    # What the stack's grant_consume_messages grants: on the queue that triggers it (its SQS event source), and others.
    consumed = [spec.trigger.queue] if isinstance(spec.trigger, QueueTrigger) else []
    for queue in consumed + list(p.consume_queues):
        arn = resources[("queue_arn", queue)]
        out += [
            Grant(f"sqs:{a}", arn)
            for a in ("ReceiveMessage", "ChangeMessageVisibility", "GetQueueUrl", "DeleteMessage", "GetQueueAttributes")
        ]
    for machine in p.start_executions:
        out.append(Grant("states:StartExecution", resources[("state_machine", machine)]))
    for machine in p.stop_executions:
        out.append(Grant("states:StopExecution", _executions_of(resources[("state_machine", machine)])))
    for machine in p.answer_tasks:
        out += [Grant(f"states:{a}", resources[("state_machine", machine)]) for a in TASK_RESPONSE_ACTIONS]
    out += [
        Grant(f"secretsmanager:{a}", resources[("secret", s)] + "*")
        for s in p.read_secrets
        for a in ("GetSecretValue", "DescribeSecret")
    ]
    # GetObject on the bucket's objects under its prefix (received mail: inbound/), as the stack grants it.
    out += [
        Grant("s3:GetObject", f"arn:aws:s3:::{resources[('bucket', b)]}/{topology.bucket(b).prefix}*")
        for b in p.read_objects
    ]
    if p.send_email:
        out.append(Grant("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/*"))
    if p.send_sms:
        out.append(Grant("sns:Publish", "sms:*"))  # SMS to a phone number has no ARN: "*" in the stack
    return out


def _executions_of(machine_arn: str) -> str:
    prefix, name = machine_arn.split(":stateMachine:")
    return f"{prefix}:execution:{name}:*"


def requested(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(IAM action, resource ARN or None when IAM cannot scope it) a call needs; [] for calls not checked."""
    table = lambda name: f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"  # noqa: E731
    match service, operation:
        case "dynamodb", "TransactWriteItems":
            return [
                (f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}", table(item[kind]["TableName"]))
                for item in params["TransactItems"]
                for kind in item
            ]
        case "dynamodb", "BatchWriteItem" | "BatchGetItem":
            return [(f"dynamodb:{operation}", table(name)) for name in params["RequestItems"]]
        case "dynamodb", _:
            name = params.get("TableName", "")
            return [
                (
                    f"dynamodb:{operation}",
                    table(name) + (f"/index/{params['IndexName']}" if params.get("IndexName") else ""),
                )
            ]
        case "sns", "Publish":
            return [
                ("sns:Publish", params.get("TopicArn") or params.get("TargetArn") or f"sms:{params.get('PhoneNumber')}")
            ]
        case "sqs", "SendMessageBatch" | "DeleteMessageBatch" | "ChangeMessageVisibilityBatch":
            # A batch needs its single action's permission, as SQS authorizes it (there is no sqs:SendMessageBatch).
            return [(f"sqs:{operation.removesuffix('Batch')}", _queue_arn(params["QueueUrl"]))]
        case (
            "sqs",
            "SendMessage" | "GetQueueAttributes" | "ReceiveMessage" | "DeleteMessage" | "ChangeMessageVisibility",
        ):
            return [(f"sqs:{operation}", _queue_arn(params["QueueUrl"]))]
        case "sqs", "GetQueueUrl":
            return [
                (
                    "sqs:GetQueueUrl",
                    f"arn:aws:sqs:{REGION}:{params.get('QueueOwnerAWSAccountId', ACCOUNT_ID)}:{params['QueueName']}",
                )
            ]
        case "stepfunctions", "StartExecution":
            return [("states:StartExecution", params["stateMachineArn"])]
        case "stepfunctions", "StopExecution" | "DescribeExecution":
            return [(f"states:{operation}", params["executionArn"])]
        case "stepfunctions", "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat":
            return [(f"states:{operation}", None)]  # the token names the machine; IAM checks it against the role
        case "ses", "SendEmail" | "SendRawEmail":
            return [
                (
                    f"ses:{operation}",
                    f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{params.get('Source', '').split('@')[-1]}",
                )
            ]
        case "s3", "GetObject":
            return [("s3:GetObject", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")]
        case "secretsmanager", "GetSecretValue":
            return [("secretsmanager:GetSecretValue", params["SecretId"])]
    return [(f"{service}:{operation}", None)]  # anything else must be granted by action at least


def _queue_arn(url: str) -> str:
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{REGION}:{account}:{name}"


@dataclass
class LocalIam:
    """Enforces each function's grants on the calls it makes (installed once per process)."""

    topology: Topology
    resources: dict[tuple[str, str], str]
    denied: list[tuple[str, str, str | None]] = field(default_factory=list)
    _grants: dict[str, list[Grant]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def grants_of(self, function: str) -> list[Grant]:
        if function not in self._grants:
            self._grants[function] = grants(self.topology.function(function), self.resources, self.topology)
        return self._grants[function]

    def allowed(self, function: str, action: str, resource: str | None) -> bool:
        return any(
            g.action == action and (resource is None or fnmatch.fnmatchcase(resource, g.resource))
            for g in self.grants_of(function)
        )

    def check(self, service: str, operation: str, params: dict[str, Any]) -> None:
        function = current_function()
        if function is None:
            return  # the runtime itself, a test driver or the CLI: not a function's role
        for action, resource in requested(service, operation, params):
            if not self.allowed(function, action, resource):
                with self._lock:
                    self.denied.append((function, action, resource))
                raise ClientError(
                    {
                        "Error": {
                            "Code": "AccessDeniedException",
                            "Message": f"firebell-{function} is not authorized to perform: {action} on resource: {resource or '*'} "
                            f"(its grants come from infra/topology.py)",
                        }
                    },
                    operation,
                )


_installed: LocalIam | None = None
_patched = False


def enforce(topology: Topology, resources: dict[tuple[str, str], str]) -> LocalIam:
    """Check every AWS call this process makes from now on, whatever client makes it (pynamodb's included):
    at BaseClient._make_api_call, which every botocore client method goes through."""
    global _installed, _patched
    _installed = LocalIam(topology, resources)
    if not _patched:
        original = BaseClient._make_api_call

        def _make_api_call(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if _installed is not None:
                _installed.check(client.meta.service_model.service_name, operation_name, api_params)
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        _patched = True
    return _installed


def stop_enforcing() -> None:
    global _installed
    _installed = None
