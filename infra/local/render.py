"""infra/topology.py rendered onto whatever AWS endpoint boto3 is pointed at: moto's server (the local
runtime) or moto's in-process mock (the integration tests)."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import boto3

from firebell.settings import LOCAL_RUNTIME_VARIABLE
from infra.local.mail import render_mail
from infra.topology import EventRuleSpec, FunctionSpec, TableSpec, Topology

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
Resources = dict[tuple[str, str], str]


def render_topology(
    topology: Topology, config_dir: Path, api_url: str, secret_values: dict[str, str] | None = None
) -> Resources:
    resources = _render_topology(topology, config_dir, api_url, secret_values or {})
    _rendered.append(resources)
    return resources


def _render_topology(topology: Topology, config_dir: Path, api_url: str, secret_values: dict[str, str]) -> Resources:
    """Create every table, topic, queue (with its DLQ, redrive policy and subscriptions), EventBridge rule and
    state machine. Secrets get a new random value unless `secret_values` (kept state) has theirs.

    Returns (kind, name) → name/URL/ARN: the references FunctionSpec.environment and ASL substitutions use.
    """
    from firebell.config import load_config

    dynamodb, sns, sqs, sfn, ses = (
        boto3.client(s, region_name=REGION) for s in ("dynamodb", "sns", "sqs", "stepfunctions", "ses")
    )
    # (the local runtime serves the console at the API's own address)
    resources: Resources = {("api_url", "api"): api_url, ("console_url", "console"): api_url}
    for table in topology.tables:
        resources[("table", table.name)] = create_table(dynamodb, table)
    for topic in topology.topics:
        resources[("topic", topic.name)] = sns.create_topic(Name=f"firebell-{topic.name}")["TopicArn"]
    if topology.monitoring is not None:
        # The ops topic and its config subscribers, as in AWS; locally nothing alarms onto it (GET /_local/health).
        ops_topic = resources[("topic", topology.monitoring.ops_topic)] = sns.create_topic(
            Name=f"firebell-{topology.monitoring.ops_topic}"
        )["TopicArn"]
        ops = load_config(config_dir).directory.ops
        for protocol, endpoints in (("email", ops.emails), ("sms", ops.phones)):
            for endpoint in endpoints:
                sns.subscribe(TopicArn=ops_topic, Protocol=protocol, Endpoint=endpoint)
    for queue in topology.queues:
        dlq_name = topology.dlq_name(queue.name)
        dlq_url = sqs.create_queue(QueueName=f"firebell-{dlq_name}")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=f"firebell-{queue.name}",
            Attributes={
                "VisibilityTimeout": str(topology.visibility_timeout_seconds(queue)),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
                ),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resources.update(
            {
                ("queue_url", queue.name): url,
                ("queue_arn", queue.name): arn,
                ("queue_url", dlq_name): dlq_url,
                ("queue_arn", dlq_name): dlq_arn,
            }
        )
        for subscription in queue.subscriptions:
            attributes = {"RawMessageDelivery": str(subscription.raw_message_delivery).lower()}
            if subscription.filter_policy:
                attributes["FilterPolicy"] = json.dumps(subscription.filter_policy)
            sns.subscribe(
                TopicArn=resources[("topic", subscription.topic)], Protocol="sqs", Endpoint=arn, Attributes=attributes
            )
    events = boto3.client("events", region_name=REGION)
    for rule in topology.event_rules:
        resources[("event_rule", rule.name)] = create_event_rule(events, rule, topology, resources)
    render_mail(topology, resources, load_config(config_dir).directory.email_intake, REGION)
    for machine in topology.state_machines:
        definition = machine.definition_file.read_text()
        for placeholder, ref in machine.substitutions.items():
            definition = definition.replace("${" + placeholder + "}", resources[ref])
        resources[("state_machine", machine.name)] = sfn.create_state_machine(
            name=f"firebell-{machine.name}",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/firebell-{machine.name}",
            type="STANDARD",
        )["stateMachineArn"]
    secretsmanager = boto3.client("secretsmanager", region_name=REGION)
    for secret in topology.secrets:
        resources[("secret", secret.name)] = secretsmanager.create_secret(
            Name=f"firebell-{secret.name}",
            Description=secret.description,
            SecretString=secret_values.get(secret.name) or secrets.token_urlsafe(32),
        )["ARN"]
    ses.verify_email_identity(EmailAddress=load_config(config_dir).directory.notifications.sender)
    return resources


def create_table(dynamodb: Any, table: TableSpec) -> str:
    name = f"firebell-{table.name}"
    keys = [table.hash_key] + ([table.range_key] if table.range_key else [])
    attributes = {k.name: k.type for k in keys}
    indexes = []
    for index in table.indexes:
        index_keys = [index.hash_key] + ([index.range_key] if index.range_key else [])
        attributes.update({k.name: k.type for k in index_keys})
        indexes.append(
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": k.name, "KeyType": t} for k, t in zip(index_keys, ("HASH", "RANGE"), strict=False)
                ],
                "Projection": {"ProjectionType": index.projection}
                | ({"NonKeyAttributes": list(index.non_key_attributes)} if index.non_key_attributes else {}),
            }
        )
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": k.name, "KeyType": t} for k, t in zip(keys, ("HASH", "RANGE"), strict=False)],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()],
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
        )
    return name


def create_event_rule(events: Any, rule: EventRuleSpec, topology: Topology, resources: Resources) -> str:
    """The rule on the default bus, its queue as the target (the event as the body), the queue's DLQ for what
    EventBridge cannot deliver. Returns the rule's ARN."""
    name = f"firebell-{rule.name}"
    arn = events.put_rule(
        Name=name, EventPattern=json.dumps(rule.pattern), State="ENABLED", Description=rule.description
    )["RuleArn"]
    dlq_arn = resources[("queue_arn", topology.dlq_name(rule.queue))]
    failed = events.put_targets(
        Rule=name,
        Targets=[{"Id": rule.queue, "Arn": resources[("queue_arn", rule.queue)], "DeadLetterConfig": {"Arn": dlq_arn}}],
    )
    if failed.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge rule {name}: could not add its target: {failed['FailedEntries']}")
    return arn


def common_environment(config_dir: Path, time_scale: float) -> dict[str, str]:
    """What every local function reads besides its own variables (in AWS: the stack's settings for all)."""
    return {
        "FIREBELL_CONFIG_DIR": str(config_dir),
        "FIREBELL_TIME_SCALE": str(time_scale),
        # Demo routing keys work here and nowhere else (the stack never sets it: tests/infra holds it to that).
        LOCAL_RUNTIME_VARIABLE: "1",
        # The outbox relay runs every second locally; effects a second old are its business.
        "FIREBELL_OUTBOX_GRACE_SECONDS": "1",
        # Locally a handler is a thread with no timeout: the lease must outlast a slow one on a loaded machine (a
        # lease that runs out mid-send lets the relay send again), and is shorter than AWS's for quicker retries.
        "FIREBELL_OUTBOX_LEASE_SECONDS": "30",
    }


def own_environment(function: FunctionSpec, resources: Resources) -> dict[str, str]:
    """Exactly the variables the topology gives this function (derived from the use cases it runs)."""
    return {variable: resources[ref] for variable, ref in function.environment.items()}


_rendered: list[Resources] = []


def rendered() -> Resources:
    """The resources this process rendered last (local functions take their environment from them)."""
    if not _rendered:
        raise RuntimeError("nothing rendered yet: render_topology() first")
    return _rendered[-1]


def sqs_lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """An SQS ReceiveMessage result as Lambda's event source mapping hands it to a function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def captured_outbox() -> list[dict[str, Any]]:
    """Every email (SES) and SMS (SNS) moto captured, oldest first within each channel."""
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    emails = [
        {
            "channel": "email",
            "id": m.id,
            "to": list(m.destinations.get("ToAddresses", [])),
            "subject": m.subject,
            "body": m.body,
        }
        for m in list(ses_backends[ACCOUNT_ID][REGION].sent_messages)
    ]
    texts = [
        {"channel": "sms", "id": message_id, "to": [phone], "body": text}
        for message_id, (phone, text) in list(sns_backends[ACCOUNT_ID][REGION].sms_messages.items())
    ]
    return emails + texts


def _dead_letter(message: Any) -> dict[str, Any]:
    attributes = {name: value.get("StringValue") for name, value in message.message_attributes.items()}
    # Dead-lettered by firebell.batch: the attempts it saw. Moved by the redrive policy: moto keeps the
    # message's receive count from the source queue when it moves it.
    receive_count = int(attributes["attempts"]) if attributes.get("attempts") else message.approximate_receive_count
    reason = attributes.get("reason")
    return {
        "message_id": message.id,
        "body": message.body,
        "reason": reason
        or (
            f"moved by the redrive policy after {receive_count} receives (no reason recorded: the function crashed "
            "or timed out before its batch processor could say why)"
        ),
        "reason_recorded": reason is not None,
        "receive_count": receive_count,
        "source": attributes.get("source"),
    }


def peek_dead_letters(topology: Topology, resources: Resources) -> dict[str, list[dict[str, Any]]]:
    """Every message in each DLQ, oldest first, with why it is there.

    Read from moto's own queues (the local runtime's AWS is moto, in this process) rather than received:
    a receive, even with a zero visibility timeout, returns at most 10 messages, keeps returning the same ones,
    and adds to each message's receive count, the one number that tells how often a crashing function got
    a message the redrive policy moved. Nothing here changes a queue.
    """
    from moto.sqs.models import sqs_backends

    queues = sqs_backends[ACCOUNT_ID][REGION].queues
    found: dict[str, list[dict[str, Any]]] = {}
    for queue in topology.queues:
        name = topology.dlq_name(queue.name)
        physical = resources[("queue_url", name)].rsplit("/", 1)[1]
        messages = sorted(list(queues[physical]._messages), key=lambda m: (m.sent_timestamp or 0, m.id))
        found[name] = [_dead_letter(m) for m in messages]
    return found


def kept_dead_letters(topology: Topology, resources: Resources) -> list[dict[str, Any]]:
    """Every DLQ message as the state folder keeps it (infra/local/state.py): its queue, body and attributes, with the
    receive count that brought it there as its `attempts` when firebell.batch did not record them (a resend starts
    its count again). Read from moto's queues as peek_dead_letters reads them: nothing changes."""
    from moto.sqs.models import sqs_backends

    queues = sqs_backends[ACCOUNT_ID][REGION].queues
    rows: list[dict[str, Any]] = []
    for queue in topology.queues:
        name = topology.dlq_name(queue.name)
        physical = resources[("queue_url", name)].rsplit("/", 1)[1]
        for message in sorted(list(queues[physical]._messages), key=lambda m: (m.sent_timestamp or 0, m.id)):
            attributes = {
                key: {"DataType": value.get("DataType", "String"), "StringValue": value["StringValue"]}
                for key, value in message.message_attributes.items()
                if value.get("StringValue") is not None
            }
            attributes.setdefault(
                "attempts", {"DataType": "Number", "StringValue": str(message.approximate_receive_count)}
            )
            rows.append({"queue": name, "body": message.body, "attributes": attributes})
    return rows


def restore_dead_letters(resources: Resources, rows: list[dict[str, Any]]) -> int:
    """What kept_dead_letters kept, back into the (new, empty) DLQs; how many."""
    sqs = boto3.client("sqs", region_name=REGION)
    for row in rows:
        sqs.send_message(
            QueueUrl=resources[("queue_url", row["queue"])],
            MessageBody=row["body"],
            MessageAttributes=row["attributes"],
        )
    return len(rows)


def dead_letters_view(topology: Topology, resources: Resources) -> dict[str, Any]:
    """GET /_local/dead-letters: per DLQ, how many messages and every one of them."""
    per_queue = peek_dead_letters(topology, resources)
    return {
        "total": sum(len(messages) for messages in per_queue.values()),
        "queues": {name: {"count": len(messages), "messages": messages} for name, messages in per_queue.items()},
    }
