"""The synthesized CloudFormation template renders infra.topology faithfully, securely and least-privileged.

Each test: Given the Firebell stack synthesized once (conftest.py), When we read one kind of resource from its
template, Then it matches what the topology (or the pynamodb models) say.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

from firebell.data.records import TABLE_MODEL
from infra.cdk.stack import ASL_PLACEHOLDER, VISIBILITY_TIMEOUT_FACTOR
from infra.topology import (
    TABLE,
    TOPOLOGY,
    ApiTrigger,
    FunctionSpec,
    QueueTrigger,
    table_from_model,
)

if TYPE_CHECKING:
    from conftest import Synthesized

Resources = dict[str, dict[str, Any]]

LOG_RETENTION_DAYS = 30
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
QUEUE_TRIGGERED = [f for f in TOPOLOGY.functions if isinstance(f.trigger, QueueTrigger)]
MIN_REASON_LENGTH = 10


def of_type(resources: Resources, cfn_type: str) -> Resources:
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == cfn_type}


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def arn_of(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def statements_of_role(resources: Resources, role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every AWS::IAM::Policy attached to the role."""
    return [
        statement
        for policy in of_type(resources, "AWS::IAM::Policy").values()
        if ref(role_logical_id) in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(statements: list[dict[str, Any]], action: str) -> list[Any]:
    """Resources on which the statements allow exactly this action."""
    return [
        resource
        for s in statements
        if s["Effect"] == "Allow" and action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    ]


def function_role(synthesized: Synthesized, name: str) -> str:
    return synthesized.logical_id(synthesized.stack.functions[name].role)


# --- DynamoDB ----------------------------------------------------------------------------------------


def test_table_keys_and_indexes_are_the_pynamodb_models(synthesized: Synthesized) -> None:
    # Given the table spec derived from the pynamodb model that carries the table's keys and indexes
    spec = table_from_model(TABLE, TABLE_MODEL)
    # When we read the rendered table
    table = synthesized.resource(synthesized.stack.tables[TABLE])["Properties"]

    # Then its key schema and global secondary indexes are exactly the spec's
    def key_schema(hash_key: Any, range_key: Any) -> list[dict[str, str]]:
        schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
        return schema + ([{"AttributeName": range_key.name, "KeyType": "RANGE"}] if range_key else [])

    assert table["KeySchema"] == key_schema(spec.hash_key, spec.range_key)
    assert sorted(table["GlobalSecondaryIndexes"], key=lambda i: i["IndexName"]) == [
        {
            "IndexName": index.name,
            "KeySchema": key_schema(index.hash_key, index.range_key),
            "Projection": {"ProjectionType": index.projection},
        }
        for index in spec.indexes
    ]
    keys = [spec.hash_key, spec.range_key, *(k for i in spec.indexes for k in (i.hash_key, i.range_key))]
    assert {(d["AttributeName"], d["AttributeType"]) for d in table["AttributeDefinitions"]} == {
        (k.name, k.type) for k in keys if k is not None
    }


def test_table_keys_match_the_model_attributes_directly(synthesized: Synthesized) -> None:
    # Given the pynamodb model's own attribute and index declarations (not via infra.topology)
    attributes = TABLE_MODEL.get_attributes()
    hash_key = next(a.attr_name for a in attributes.values() if a.is_hash_key)
    range_key = next(a.attr_name for a in attributes.values() if a.is_range_key)
    model_indexes = {
        index.Meta.index_name: [
            next(a.attr_name for a in index.Meta.attributes.values() if a.is_hash_key),
            *(a.attr_name for a in index.Meta.attributes.values() if a.is_range_key),
        ]
        for index in (getattr(TABLE_MODEL, name) for name in dir(TABLE_MODEL))
        if hasattr(index, "Meta") and hasattr(index.Meta, "index_name")
    }
    # When we read the rendered table
    table = synthesized.resource(synthesized.stack.tables[TABLE])["Properties"]
    # Then the names agree
    assert [k["AttributeName"] for k in table["KeySchema"]] == [hash_key, range_key]
    assert {
        gsi["IndexName"]: [k["AttributeName"] for k in gsi["KeySchema"]] for gsi in table["GlobalSecondaryIndexes"]
    } == model_indexes
    assert model_indexes, "the model declares global secondary indexes"


def test_table_is_on_demand_recoverable_encrypted_and_retained(synthesized: Synthesized) -> None:
    # Given / When the rendered table
    table = synthesized.resource(synthesized.stack.tables[TABLE])
    # Then
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


# --- topics, queues, subscriptions ----------------------------------------------------------------------


def test_topics_are_encrypted_with_a_rotating_key_and_ssl_only(synthesized: Synthesized, resources: Resources) -> None:
    # Given the topics key
    key_id = synthesized.logical_id(synthesized.stack.topics_key)
    assert resources[key_id]["Properties"]["EnableKeyRotation"] is True
    for spec in TOPOLOGY.topics:
        # When we read each topic and its policy
        topic_id = synthesized.logical_id(synthesized.stack.topics[spec.name])
        topic = resources[topic_id]["Properties"]
        policies = [
            p for p in of_type(resources, "AWS::SNS::TopicPolicy").values() if ref(topic_id) in p["Properties"]["Topics"]
        ]
        # Then it is encrypted with the key and denies publishing without TLS
        assert topic["KmsMasterKeyId"] == arn_of(key_id)
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for p in policies
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ), spec.name


def test_cloudwatch_alarms_can_publish_to_the_encrypted_alarms_topic(
    synthesized: Synthesized, resources: Resources
) -> None:
    # Given the alarms topic and the key that encrypts it
    key = synthesized.resource(synthesized.stack.topics_key)["Properties"]["KeyPolicy"]["Statement"]
    alarms_id = synthesized.logical_id(synthesized.stack.topics["alarms"])
    topic_policy = next(
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if ref(alarms_id) in p["Properties"]["Topics"]
    )
    cloudwatch = {"Service": "cloudwatch.amazonaws.com"}
    # Then CloudWatch may use the key and publish to the topic
    assert any(
        s["Principal"] == cloudwatch and set(s["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"} for s in key
    )
    assert any(s["Principal"] == cloudwatch and s["Action"] == "sns:Publish" and s["Effect"] == "Allow" for s in topic_policy)


@pytest.mark.parametrize("spec", TOPOLOGY.queues, ids=lambda q: q.name)
def test_every_queue_has_a_dead_letter_queue(synthesized: Synthesized, resources: Resources, spec: Any) -> None:
    # Given a queue of the topology and its dead-letter queue
    queue_id = synthesized.logical_id(synthesized.stack.queues[spec.name])
    dlq_id = synthesized.logical_id(synthesized.stack.queues[TOPOLOGY.dlq_name(spec.name)])
    queue, dlq = resources[queue_id]["Properties"], resources[dlq_id]["Properties"]
    # Then failed messages are redriven there after the spec's number of receives, and kept 14 days
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": arn_of(dlq_id), "maxReceiveCount": spec.max_receive_count}
    assert dlq["MessageRetentionPeriod"] == DLQ_RETENTION_SECONDS
    # And both are encrypted (SQS-managed keys)
    assert queue["SqsManagedSseEnabled"] is dlq["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("function", QUEUE_TRIGGERED, ids=lambda f: f.name)
def test_visibility_timeout_covers_six_function_timeouts(
    synthesized: Synthesized, function: FunctionSpec
) -> None:
    # Given a queue-triggered function
    assert isinstance(function.trigger, QueueTrigger)
    spec = TOPOLOGY.queue(function.trigger.queue)
    # When we read its queue
    timeout = synthesized.resource(synthesized.stack.queues[spec.name])["Properties"]["VisibilityTimeout"]
    # Then a message is not redelivered while an invocation may still be working on it
    assert timeout >= VISIBILITY_TIMEOUT_FACTOR * function.timeout_seconds
    assert timeout >= spec.visibility_timeout_seconds


def test_subscriptions_are_the_topology_s(synthesized: Synthesized, resources: Resources) -> None:
    # Given every subscription rendered
    rendered = {
        (r["Properties"]["TopicArn"]["Ref"], r["Properties"]["Endpoint"]["Fn::GetAtt"][0]): r["Properties"]
        for r in of_type(resources, "AWS::SNS::Subscription").values()
    }
    # Then there is one per topology subscription, with its raw delivery and filter policy
    expected = {}
    for spec in TOPOLOGY.queues:
        for sub in spec.subscriptions:
            key = (
                synthesized.logical_id(synthesized.stack.topics[sub.topic]),
                synthesized.logical_id(synthesized.stack.queues[spec.name]),
            )
            expected[key] = (sub.raw_message_delivery, sub.filter_policy)
    assert set(rendered) == set(expected)
    for key, (raw, filter_policy) in expected.items():
        assert rendered[key]["Protocol"] == "sqs"
        assert rendered[key]["RawMessageDelivery"] is raw
        assert rendered[key].get("FilterPolicy") == filter_policy


# --- functions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda f: f.name)
def test_function_configuration(synthesized: Synthesized, resources: Resources, spec: FunctionSpec) -> None:
    # Given a function of the topology
    function = synthesized.resource(synthesized.stack.functions[spec.name])["Properties"]
    # Then it runs the spec's handler with the common layer, traced, logging to a retained log group
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["x86_64"]
    assert function["Handler"] == spec.handler
    assert function["MemorySize"] == spec.memory_mb
    assert function["Timeout"] == spec.timeout_seconds
    assert function["Layers"] == [ref(synthesized.logical_id(synthesized.stack.layer))]
    assert function["TracingConfig"] == {"Mode": "Active"}
    log_group = resources[function["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda f: f.name)
def test_function_environment_resolves_every_variable(synthesized: Synthesized, spec: FunctionSpec) -> None:
    # Given a function and the resources its environment names
    stack = synthesized.stack
    variables = synthesized.resource(stack.functions[spec.name])["Properties"]["Environment"]["Variables"]
    # Then the standard variables are set
    assert variables["POWERTOOLS_SERVICE_NAME"] == spec.name
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "firebell"
    assert variables["FIREBELL_CONFIG_DIR"] == "/opt/firebell/config"
    assert variables["LOG_LEVEL"] == "INFO"
    # And each topology variable refers to the right rendered resource
    assert set(spec.environment) <= set(variables)
    for variable, (kind, name) in spec.environment.items():
        value = variables[variable]
        match kind:
            case "table":
                assert value == ref(synthesized.logical_id(stack.tables[name])), variable
            case "topic":
                assert value == ref(synthesized.logical_id(stack.topics[name])), variable
            case "queue_url":
                assert value == ref(synthesized.logical_id(stack.queues[name])), variable
            case "state_machine":
                assert value == ref(synthesized.logical_id(stack.state_machines[name])), variable
            case "api_url":
                assert ref(synthesized.logical_id(stack.apis[name])) in value["Fn::Join"][1], variable
            case "max_receive_count":
                assert value == str(TOPOLOGY.queue(name).max_receive_count), variable
            case _:
                pytest.fail(f"{variable}: unknown kind {kind}")


@pytest.mark.parametrize("spec", QUEUE_TRIGGERED, ids=lambda f: f.name)
def test_queue_triggers_report_batch_item_failures(
    synthesized: Synthesized, resources: Resources, spec: FunctionSpec
) -> None:
    # Given a queue-triggered function
    assert isinstance(spec.trigger, QueueTrigger)
    function_id = synthesized.logical_id(synthesized.stack.functions[spec.name])
    # When we read its event source mappings
    mappings = [
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == ref(function_id)
    ]
    # Then it has exactly its queue, batched as the spec says, reporting partial batch failures
    assert mappings == [
        {
            "EventSourceArn": arn_of(synthesized.logical_id(synthesized.stack.queues[spec.trigger.queue])),
            "FunctionName": ref(function_id),
            "BatchSize": spec.trigger.batch_size,
            "MaximumBatchingWindowInSeconds": spec.trigger.max_batching_window_seconds,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
    ]


# --- API Gateway ----------------------------------------------------------------------------------------


def test_api_methods_require_iam_authorization(resources: Resources) -> None:
    # Given every API method
    methods = of_type(resources, "AWS::ApiGateway::Method")
    assert methods
    # Then none is open to anonymous callers (CORS preflight would be the only exception)
    open_methods = {
        logical_id: m["Properties"].get("AuthorizationType")
        for logical_id, m in methods.items()
        if m["Properties"]["HttpMethod"] != "OPTIONS" and m["Properties"].get("AuthorizationType") != "AWS_IAM"
    }
    assert open_methods == {}
    # And every method goes through the request validator
    assert all("RequestValidatorId" in m["Properties"] for m in methods.values())


def test_api_proxies_every_route_to_the_api_function(synthesized: Synthesized, resources: Resources) -> None:
    # Given the function with the API trigger
    (api_spec,) = [f for f in TOPOLOGY.functions if isinstance(f.trigger, ApiTrigger)]
    function_id = synthesized.logical_id(synthesized.stack.functions[api_spec.name])
    # Then the root and {proxy+} methods integrate with it (Lambda proxy)
    integrations = [m["Properties"]["Integration"] for m in of_type(resources, "AWS::ApiGateway::Method").values()]
    assert len(integrations) == 2
    for integration in integrations:
        assert integration["Type"] == "AWS_PROXY"
        assert arn_of(function_id) in integration["Uri"]["Fn::Join"][1]


def test_api_stage_logs_traces_and_measures(resources: Resources) -> None:
    # Given the API stage
    (stage,) = [s["Properties"] for s in of_type(resources, "AWS::ApiGateway::Stage").values()]
    # Then access logs go to a log group, execution logs are INFO without bodies, metrics and tracing are on
    assert resources[stage["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
    (settings,) = stage["MethodSettings"]
    assert settings["LoggingLevel"] == "INFO"
    assert settings["DataTraceEnabled"] is False
    assert settings["MetricsEnabled"] is True
    assert stage["TracingEnabled"] is True
    (validator,) = [v["Properties"] for v in of_type(resources, "AWS::ApiGateway::RequestValidator").values()]
    assert validator["ValidateRequestBody"] is validator["ValidateRequestParameters"] is True


def test_outputs(template_json: dict[str, Any]) -> None:
    # Then the deployment tells where the API and the topics are, and nothing else
    assert set(template_json["Outputs"]) == {"ApiUrl", "AlarmsTopicArn", "EventsTopicArn"}


# --- Step Functions --------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TOPOLOGY.state_machines, ids=lambda s: s.name)
def test_state_machine_logs_traces_and_is_wired_to_its_queues(
    synthesized: Synthesized, resources: Resources, spec: Any
) -> None:
    # Given a state machine of the topology
    stack = synthesized.stack
    machine = synthesized.resource(stack.state_machines[spec.name])["Properties"]
    # Then it is a STANDARD machine logging ALL events (without execution data), traced
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    # Task tokens can stop an escalation: they must not be copied into the logs.
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machine["TracingConfiguration"] == {"Enabled": True}
    # And its definition is the ASL file, whose every ${...} CloudFormation fills with the rendered resource
    definition = machine["DefinitionString"]
    assert json.loads(definition) == json.loads(spec.definition_file.read_text())
    assert set(ASL_PLACEHOLDER.findall(definition)) == set(spec.substitutions)
    for placeholder, (kind, name) in spec.substitutions.items():
        assert kind == "queue_url"  # the only kind the topology uses today
        assert machine["DefinitionSubstitutions"][placeholder] == ref(synthesized.logical_id(stack.queues[name]))
    # And its role may send to exactly the queues it pages through
    statements = statements_of_role(resources, synthesized.logical_id(stack.state_machines[spec.name].role))
    assert allowed(statements, "sqs:SendMessage") == [
        arn_of(synthesized.logical_id(stack.queues[q])) for q in spec.sends_to_queues
    ]


def test_notify_queue_url_reaches_the_escalation_definition(synthesized: Synthesized) -> None:
    # Given the escalation machine, whose ASL names ${NotifyQueueUrl}
    machine = synthesized.resource(synthesized.stack.state_machines["escalation"])["Properties"]
    notify_queue = synthesized.logical_id(synthesized.stack.queues["notify"])
    # Then the placeholder is bound to the notify queue's URL (Ref of an SQS queue = its URL)
    assert "${NotifyQueueUrl}" in machine["DefinitionString"]
    assert machine["DefinitionSubstitutions"] == {"NotifyQueueUrl": ref(notify_queue)}


# --- IAM ----------------------------------------------------------------------------------------------


def test_api_function_cannot_start_escalations_and_classify_can(synthesized: Synthesized, resources: Resources) -> None:
    machine = ref(synthesized.logical_id(synthesized.stack.state_machines["escalation"]))
    # Given the api and classify functions' policies
    api = statements_of_role(resources, function_role(synthesized, "api"))
    classify = statements_of_role(resources, function_role(synthesized, "classify"))
    # Then only classify may start executions, on the escalation machine only
    assert allowed(api, "states:StartExecution") == []
    assert not any(a in ("states:*", "*") for s in api for a in as_list(s["Action"]))
    assert allowed(classify, "states:StartExecution") == [machine]


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda f: f.name)
def test_function_permissions_are_the_topology_s(
    synthesized: Synthesized, resources: Resources, spec: FunctionSpec
) -> None:
    # Given a function's statements
    stack = synthesized.stack
    statements = statements_of_role(resources, function_role(synthesized, spec.name))
    p = spec.permissions

    def refs(registry: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
        return [ref(synthesized.logical_id(registry[n])) for n in names]

    def arns(registry: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
        return [arn_of(synthesized.logical_id(registry[n])) for n in names]

    # Then each kind of access is granted exactly where the topology says
    assert allowed(statements, "states:StartExecution") == refs(stack.state_machines, p.start_executions)
    assert allowed(statements, "states:SendTaskSuccess") == refs(stack.state_machines, p.answer_tasks)
    assert allowed(statements, "sqs:SendMessage") == arns(stack.queues, p.send_to_queues)
    topic_publish = [r for r in allowed(statements, "sns:Publish") if r != "*"]
    assert topic_publish == refs(stack.topics, p.publish_to_topics)
    assert ("*" in allowed(statements, "sns:Publish")) is p.send_sms
    assert bool(allowed(statements, "ses:SendEmail")) is p.send_email
    table_arns = [a for a in allowed(statements, "dynamodb:PutItem") if "Fn::GetAtt" in a]
    assert table_arns == arns(stack.tables, p.table_read_write)
    # And nothing is granted on every action
    assert not [s for s in statements if "*" in as_list(s["Action"])]


def test_publishers_may_use_the_topics_key_without_wildcard_actions(
    synthesized: Synthesized, resources: Resources
) -> None:
    key = arn_of(synthesized.logical_id(synthesized.stack.topics_key))
    for spec in TOPOLOGY.functions:
        if spec.permissions.publish_to_topics:
            statements = statements_of_role(resources, function_role(synthesized, spec.name))
            assert allowed(statements, "kms:GenerateDataKey") == [key], spec.name
            assert allowed(statements, "kms:Decrypt") == [key], spec.name


# --- everything in the topology is rendered ----------------------------------------------------------------


def test_every_topology_resource_is_rendered_once(resources: Resources) -> None:
    counts = {
        "AWS::DynamoDB::Table": len(TOPOLOGY.tables),
        "AWS::SNS::Topic": len(TOPOLOGY.topics),
        "AWS::SQS::Queue": 2 * len(TOPOLOGY.queues),  # and their dead-letter queues
        "AWS::Lambda::Function": len(TOPOLOGY.functions),
        "AWS::StepFunctions::StateMachine": len(TOPOLOGY.state_machines),
        "AWS::ApiGateway::RestApi": sum(isinstance(f.trigger, ApiTrigger) for f in TOPOLOGY.functions),
        "AWS::Lambda::LayerVersion": 1,
    }
    assert {cfn_type: len(of_type(resources, cfn_type)) for cfn_type in counts} == counts


# --- cdk-nag --------------------------------------------------------------------------------------------


def _describe(messages: list[Any]) -> str:
    return "\n".join(f"{m.id}: {m.entry.data}" for m in messages)


def test_no_unsuppressed_cdk_nag_errors(synthesized: Synthesized) -> None:
    assert synthesized.nag_errors == [], "\n" + _describe(synthesized.nag_errors)


def test_no_unsuppressed_cdk_nag_warnings(synthesized: Synthesized) -> None:
    assert synthesized.nag_warnings == [], "\n" + _describe(synthesized.nag_warnings)


def _suppressions(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = [("<stack>", s) for s in template.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])]
    for logical_id, resource in template["Resources"].items():
        for suppression in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.append((logical_id, suppression))
    return found


def test_every_suppression_is_explained(template_json: dict[str, Any]) -> None:
    suppressions = _suppressions(template_json)
    assert suppressions
    unexplained = [(where, s) for where, s in suppressions if len(s.get("reason", "").strip()) < MIN_REASON_LENGTH]
    assert unexplained == []


def test_wildcard_and_managed_policy_suppressions_are_scoped(template_json: dict[str, Any]) -> None:
    # IAM4/IAM5 suppressions name the exact policy or wildcard they allow, never the whole rule.
    unscoped = [
        (where, s["id"])
        for where, s in _suppressions(template_json)
        if re.fullmatch(r"AwsSolutions-IAM[45]", s["id"]) and not s.get("applies_to")
    ]
    assert unscoped == []
