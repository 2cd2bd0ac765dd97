"""The synthesized CloudFormation template renders infra.topology faithfully, securely and least-privileged.

Each test: Given the Firebell stack synthesized once (conftest.py), When we read one kind of resource from its
template, Then it matches what the topology (or the pynamodb models) say.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

from firebell import workflows
from firebell.data.records import ALL_RECORDS, TABLE_MODEL
from infra.cdk.stack import ASL_PLACEHOLDER, VISIBILITY_TIMEOUT_FACTOR
from infra.topology import (
    TABLE,
    TOPOLOGY,
    ApiTrigger,
    EventRuleSpec,
    FunctionSpec,
    QueueTrigger,
    ScheduleTrigger,
    StateMachineSpec,
    table_from_model,
)
from tests.infra.test_people import method_path

if TYPE_CHECKING:
    from conftest import Synthesized

Resources = dict[str, dict[str, Any]]

LOG_RETENTION_DAYS = 30
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
QUEUE_TRIGGERED = [f for f in TOPOLOGY.functions if isinstance(f.trigger, QueueTrigger)]
MIN_REASON_LENGTH = 10
# IAM's limit on the inline policies of one role, in characters without whitespace, once CloudFormation has
# resolved every reference; ARN_ESTIMATE stands for any resolved reference (a state machine ARN is ~100).
ROLE_POLICY_LIMIT = 10_240
ARN_ESTIMATE = "x" * 160
PSEUDO_PARAMETERS = {"AWS::Partition": "aws-us-gov", "AWS::Region": "ap-southeast-2", "AWS::AccountId": "1" * 12}
TASK_RESPONSE_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat")


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
    """Resources on which the statements allow exactly this action, in a canonical order (cdk.json's
    minimizePolicies merges statements, so the template's order says nothing)."""
    return sorted(
        (
            resource
            for s in statements
            if s["Effect"] == "Allow" and action in as_list(s["Action"])
            for resource in as_list(s["Resource"])
        ),
        key=json.dumps,
    )


def canonical(resources: list[Any]) -> list[Any]:
    return sorted(resources, key=json.dumps)


def actions_of(statements: list[dict[str, Any]], prefix: str) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"]) if a.startswith(prefix)}


def flatten(value: Any) -> str:
    """A resource as one string: `{"Ref": "X"}` → `${X}`, GetAtt → `${X.Attr}`, Fn::Join → the joined parts."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(flatten(part) for part in parts)
    if isinstance(value.get("Fn::Sub"), str):  # its ${X} placeholders are already written as flatten() writes them
        return value["Fn::Sub"]
    raise ValueError(f"cannot flatten {value}")


def resolved(value: Any) -> Any:
    """A policy document as CloudFormation resolves it: pseudo parameters by their longest usual values, any
    other reference by ARN_ESTIMATE."""
    if isinstance(value, list):
        return [resolved(v) for v in value]
    if isinstance(value, dict) and {"Ref", "Fn::GetAtt", "Fn::Join"} & set(value):
        return re.sub(r"\$\{([^}]*)\}", lambda m: PSEUDO_PARAMETERS.get(m[1], ARN_ESTIMATE), flatten(value))
    if isinstance(value, dict):
        return {k: resolved(v) for k, v in value.items()}
    return value


def function_role(synthesized: Synthesized, name: str) -> str:
    return synthesized.logical_id(synthesized.stack.functions[name].role)


# --- DynamoDB ----------------------------------------------------------------------------------------


def test_table_keys_and_indexes_are_the_pynamodb_models(synthesized: Synthesized) -> None:
    # Given the table spec derived from the pynamodb model that carries the table's keys and indexes
    spec = table_from_model(TABLE, TABLE_MODEL, *ALL_RECORDS)
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
            "Projection": {"ProjectionType": index.projection}
            | ({"NonKeyAttributes": list(index.non_key_attributes)} if index.non_key_attributes else {}),
        }
        for index in spec.indexes
    ]
    keys = [spec.hash_key, spec.range_key, *(k for i in spec.indexes for k in (i.hash_key, i.range_key))]
    assert {(d["AttributeName"], d["AttributeType"]) for d in table["AttributeDefinitions"]} == {
        (k.name, k.type) for k in keys if k is not None
    }


def test_table_keys_match_the_model_attributes_directly(synthesized: Synthesized) -> None:
    # Given the pynamodb models' own attribute and index declarations (not via infra.topology)
    attributes = TABLE_MODEL.get_attributes()
    hash_key = next(a.attr_name for a in attributes.values() if a.is_hash_key)
    range_key = next(a.attr_name for a in attributes.values() if a.is_range_key)
    model_indexes = {
        index.Meta.index_name: [
            next(a.attr_name for a in index.Meta.attributes.values() if a.is_hash_key),
            *(a.attr_name for a in index.Meta.attributes.values() if a.is_range_key),
        ]
        for model in ALL_RECORDS
        for index in (getattr(model, name) for name in dir(model))
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


@pytest.mark.parametrize("spec", TOPOLOGY.tables, ids=lambda t: t.name)
def test_table_is_on_demand_recoverable_encrypted_and_retained(synthesized: Synthesized, spec: Any) -> None:
    # Given / When a rendered table
    table = synthesized.resource(synthesized.stack.tables[spec.name])
    # Then
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    # And DynamoDB expires its items by the topology's TTL attribute, if it has one
    expected_ttl = {"AttributeName": spec.ttl_attribute, "Enabled": True} if spec.ttl_attribute else None
    assert table["Properties"].get("TimeToLiveSpecification") == expected_ttl


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
            p
            for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
            if ref(topic_id) in p["Properties"]["Topics"]
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
    assert any(
        s["Principal"] == cloudwatch and s["Action"] == "sns:Publish" and s["Effect"] == "Allow" for s in topic_policy
    )


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
def test_visibility_timeout_covers_six_function_timeouts(synthesized: Synthesized, function: FunctionSpec) -> None:
    # Given a queue-triggered function
    assert isinstance(function.trigger, QueueTrigger)
    spec = TOPOLOGY.queue(function.trigger.queue)
    # When we read its queue
    timeout = synthesized.resource(synthesized.stack.queues[spec.name])["Properties"]["VisibilityTimeout"]
    # Then a message is not redelivered while an invocation may still be working on it
    assert timeout >= VISIBILITY_TIMEOUT_FACTOR * function.timeout_seconds
    assert timeout >= spec.visibility_timeout_seconds


def test_subscriptions_are_the_topology_s(synthesized: Synthesized, resources: Resources) -> None:
    # Given every queue subscription rendered (the ops topic's email and SMS ones are test_monitoring.py's)
    rendered = {
        (r["Properties"]["TopicArn"]["Ref"], r["Properties"]["Endpoint"]["Fn::GetAtt"][0]): r["Properties"]
        for r in of_type(resources, "AWS::SNS::Subscription").values()
        if r["Properties"]["Protocol"] == "sqs"
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


# --- EventBridge rules -----------------------------------------------------------------------------------


def _rule(synthesized: Synthesized, spec: EventRuleSpec) -> tuple[str, dict[str, Any]]:
    logical_id = synthesized.logical_id(synthesized.stack.event_rules[spec.name])
    return logical_id, synthesized.json["Resources"][logical_id]["Properties"]


@pytest.mark.parametrize("spec", TOPOLOGY.event_rules, ids=lambda r: r.name)
def test_event_rule_sends_matching_events_to_its_queue(synthesized: Synthesized, spec: EventRuleSpec) -> None:
    # Given a rule of the topology
    stack = synthesized.stack
    _, rule = _rule(synthesized, spec)
    # Then it is enabled on the default bus with exactly the topology's pattern
    assert rule["EventPattern"] == spec.pattern
    assert rule["State"] == "ENABLED"
    assert "EventBusName" not in rule
    # And its one target is the queue, the event itself as the body, with the queue's DLQ for what cannot be delivered
    (target,) = rule["Targets"]
    assert target["Arn"] == arn_of(synthesized.logical_id(stack.queues[spec.queue]))
    assert "Input" not in target and "InputTransformer" not in target and "InputPath" not in target
    assert target["DeadLetterConfig"] == {
        "Arn": arn_of(synthesized.logical_id(stack.queues[TOPOLOGY.dlq_name(spec.queue)]))
    }


def test_alarm_state_changes_go_to_intake() -> None:
    (spec,) = [r for r in TOPOLOGY.event_rules if r.queue == "intake"]
    assert spec.pattern == {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"]}


@pytest.mark.parametrize("spec", TOPOLOGY.event_rules, ids=lambda r: r.name)
def test_eventbridge_may_send_to_the_queue_for_this_rule_only(
    synthesized: Synthesized, resources: Resources, spec: EventRuleSpec
) -> None:
    # Given the rule, its queue and the queue's DLQ
    stack = synthesized.stack
    rule_id, _ = _rule(synthesized, spec)
    # (the heartbeat schedule sends to the intake queue too: the rules that may are exactly these two)
    heartbeat = TOPOLOGY.monitoring.heartbeat if TOPOLOGY.monitoring else None
    senders = [arn_of(rule_id)] + (
        [arn_of(synthesized.logical_id(stack.monitoring.heartbeat_rule))]
        if heartbeat and heartbeat.queue == spec.queue
        else []
    )
    for queue_name in (spec.queue, TOPOLOGY.dlq_name(spec.queue)):
        queue_id = synthesized.logical_id(stack.queues[queue_name])
        statements = [
            s
            for p in of_type(resources, "AWS::SQS::QueuePolicy").values()
            if ref(queue_id) in p["Properties"]["Queues"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        ]
        # Then the queue's policy lets EventBridge send to it, for deliveries of this rule only
        grants = [
            s
            for s in statements
            if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "events.amazonaws.com"}
        ]
        assert grants, queue_name
        for grant in grants:
            assert "sqs:SendMessage" in as_list(grant["Action"])
            assert set(as_list(grant["Action"])) <= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
            assert grant["Resource"] == arn_of(queue_id)
            assert grant["Condition"]["ArnEquals"]["aws:SourceArn"] in senders
        assert {json.dumps(g["Condition"]["ArnEquals"]["aws:SourceArn"]) for g in grants} == {
            json.dumps(s) for s in senders
        }
        # And it still refuses requests without TLS
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )
        # And it is encrypted with SQS-managed keys, which EventBridge can send to without a KMS grant
        queue = resources[queue_id]["Properties"]
        assert queue["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in queue, queue_name


# --- functions ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda f: f.name)
def test_function_configuration(synthesized: Synthesized, resources: Resources, spec: FunctionSpec) -> None:
    # Given a function of the topology
    function = synthesized.resource(synthesized.stack.functions[spec.name])["Properties"]
    # Then it runs the spec's handler with the common layer, traced, logging to a retained log group
    assert function["Runtime"] == "python3.11"  # the layer's bytecode is compiled by the build's Python 3.11
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
            case "secret":
                # Ref of a Secrets Manager secret is its ARN: the value itself never enters the template.
                assert value == ref(synthesized.logical_id(stack.secrets[name])), variable
            case "api_url":
                assert ref(synthesized.logical_id(stack.apis[name])) in value["Fn::Join"][1], variable
            case "console_url":  # https:// and the console's CloudFront domain name
                assert {"Fn::GetAtt": [synthesized.logical_id(stack.console.distribution), "DomainName"]} in value[
                    "Fn::Join"
                ][1], variable
            case "max_receive_count":
                assert value == str(TOPOLOGY.queue(name).max_receive_count), variable
            case "bucket":
                assert value == ref(synthesized.logical_id(stack.buckets[name])), variable
            case _:
                pytest.fail(f"{variable}: unknown kind {kind}")


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda f: f.name)
def test_every_function_knows_the_state_machines_its_use_cases_use(
    synthesized: Synthesized, spec: FunctionSpec
) -> None:
    # Given a function's rendered environment, and the machines its use cases start, stop or answer
    variables = synthesized.resource(synthesized.stack.functions[spec.name])["Properties"]["Environment"]["Variables"]
    needs = spec.needs
    used = needs.starts | needs.stops | needs.answers
    # Then it has <NAME>_STATE_MACHINE_ARN for each of those, the ARN of that machine, and none for the others
    for name in workflows.ALL:
        variable = f"{name.upper()}_STATE_MACHINE_ARN"
        if name in used:
            assert variables[variable] == ref(synthesized.logical_id(synthesized.stack.state_machines[name])), name
        else:
            assert variable not in variables, name


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


def methods_of(resources: Resources, api_logical_id: str) -> Resources:
    return {
        k: m
        for k, m in of_type(resources, "AWS::ApiGateway::Method").items()
        if m["Properties"]["RestApiId"] == ref(api_logical_id)
    }


def test_api_methods_require_iam_authorization_except_the_declared_public_routes(
    synthesized: Synthesized, resources: Resources
) -> None:
    # Given every method of the machine API (the people API's: tests/infra/test_people.py)
    (api_spec,) = [f for f in TOPOLOGY.functions if isinstance(f.trigger, ApiTrigger)]
    methods = methods_of(resources, synthesized.logical_id(synthesized.stack.apis[api_spec.name]))
    assert methods
    # Then only the topology's public routes (each authenticated some other way) skip IAM authorization
    open_methods = sorted(
        (method_path(resources, m), m["Properties"]["HttpMethod"])
        for m in methods.values()
        if m["Properties"]["HttpMethod"] != "OPTIONS" and m["Properties"].get("AuthorizationType") != "AWS_IAM"
    )
    declared = sorted((route.path, method) for route in api_spec.trigger.public_routes for method in route.methods)
    assert open_methods == declared
    assert all(
        m["Properties"].get("AuthorizationType") == "NONE"
        for m in methods.values()
        if (method_path(resources, m), m["Properties"]["HttpMethod"]) in declared
    )
    # And every method goes through the request validator
    assert all("RequestValidatorId" in m["Properties"] for m in methods.values())


def test_api_proxies_every_route_to_the_api_function(synthesized: Synthesized, resources: Resources) -> None:
    # Given the function with the API trigger
    (api_spec,) = [f for f in TOPOLOGY.functions if isinstance(f.trigger, ApiTrigger)]
    function_id = synthesized.logical_id(synthesized.stack.functions[api_spec.name])
    # Then on both APIs (machine and people) the root, {proxy+} and public-route methods all integrate with it (Lambda proxy)
    for api in (synthesized.stack.apis[api_spec.name], synthesized.stack.people.api):
        integrations = [
            m["Properties"]["Integration"] for m in methods_of(resources, synthesized.logical_id(api)).values()
        ]
        assert len(integrations) == 2 + sum(len(route.methods) for route in api_spec.trigger.public_routes)
        for integration in integrations:
            assert integration["Type"] == "AWS_PROXY"
            assert arn_of(function_id) in integration["Uri"]["Fn::Join"][1]


def test_api_stage_logs_traces_and_measures(resources: Resources) -> None:
    # Given each API's stage (the machine API's and the people API's)
    stages = [s["Properties"] for s in of_type(resources, "AWS::ApiGateway::Stage").values()]
    assert len(stages) == 2
    for stage in stages:
        # Then access logs go to a log group of its own, execution logs are INFO without bodies, metrics and tracing are on
        assert resources[stage["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
        # (on every method: the public routes' own settings, tests/infra/test_api_protection.py, repeat them)
        for settings in stage["MethodSettings"]:
            assert settings["LoggingLevel"] == "INFO"
            assert settings["DataTraceEnabled"] is False
            assert settings["MetricsEnabled"] is True
        assert stage["TracingEnabled"] is True
    assert len({json.dumps(stage["AccessLogSetting"]) for stage in stages}) == 2
    validators = [v["Properties"] for v in of_type(resources, "AWS::ApiGateway::RequestValidator").values()]
    assert len(validators) == 2
    assert all(v["ValidateRequestBody"] is v["ValidateRequestParameters"] is True for v in validators)


def test_both_apis_answer_api_gateway_s_own_refusals_in_the_api_s_error_format(resources: Resources) -> None:
    responses = of_type(resources, "AWS::ApiGateway::GatewayResponse").values()
    for api_id in of_type(resources, "AWS::ApiGateway::RestApi"):
        own = {
            r["Properties"]["ResponseType"]: r["Properties"]
            for r in responses
            if r["Properties"]["RestApiId"] == ref(api_id)
        }
        for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
            assert own[response_type]["ResponseTemplates"]["application/json"] == (
                '{"error":"$context.error.responseType","message":$context.error.messageString}'
            )


def test_outputs(template_json: dict[str, Any]) -> None:
    # Then the deployment tells where the API and the topics are, and nothing else
    assert set(template_json["Outputs"]) == {
        "ApiUrl",
        "AlarmsTopicArn",
        "EventsTopicArn",
        "OpsTopicArn",
        # people's front door (tests/infra/test_people.py, test_console.py)
        "PeopleApiUrl",
        "UserPoolId",
        "HostedUiUrl",
        "ConsoleClientId",
        "CliClientId",
        "ConsoleUrl",
    }


# --- Step Functions --------------------------------------------------------------------------------------


def _tasks(states: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Task state of an ASL definition, inside Parallel branches and Map iterators too."""
    found = []
    for state in states.values():
        if state["Type"] == "Task":
            found.append(state)
        for branch in state.get("Branches", []) + [state[k] for k in ("Iterator", "ItemProcessor") if k in state]:
            found.extend(_tasks(branch["States"]))
    return found


def test_all_five_workflows_are_rendered(synthesized: Synthesized) -> None:
    # Given the workflows the service starts, stops and answers (firebell.workflows)
    # Then each is a state machine of the topology, rendered once
    assert sorted(s.name for s in TOPOLOGY.state_machines) == sorted(workflows.ALL)
    assert sorted(synthesized.stack.state_machines) == sorted(workflows.ALL)


@pytest.mark.parametrize("spec", TOPOLOGY.state_machines, ids=lambda s: s.name)
def test_state_machine_logs_without_execution_data_and_traces(
    synthesized: Synthesized, resources: Resources, spec: StateMachineSpec
) -> None:
    # Given a state machine of the topology
    machine = synthesized.resource(synthesized.stack.state_machines[spec.name])["Properties"]
    # Then it is a STANDARD machine logging ALL events to its own retained log group, traced
    assert machine["StateMachineType"] == "STANDARD"
    logging = machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    # Task tokens can stop an escalation or close an incident: they must not be copied into the logs.
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group = resources[destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]]
    assert log_group["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS
    assert machine["TracingConfiguration"] == {"Enabled": True}


@pytest.mark.parametrize("spec", TOPOLOGY.state_machines, ids=lambda s: s.name)
def test_state_machine_definition_is_its_asl_file_with_every_placeholder_filled(
    synthesized: Synthesized, spec: StateMachineSpec
) -> None:
    # Given a state machine and its ASL file
    stack = synthesized.stack
    machine = synthesized.resource(stack.state_machines[spec.name])["Properties"]
    definition = machine["DefinitionString"]
    # Then the definition is the file, verbatim
    assert json.loads(definition) == json.loads(spec.definition_file.read_text(encoding="utf-8"))
    # And CloudFormation fills each of its ${...} (and nothing else) with the rendered resource
    placeholders = set(ASL_PLACEHOLDER.findall(definition))
    assert placeholders and placeholders == set(spec.substitutions) == set(machine["DefinitionSubstitutions"])
    for placeholder, (kind, name) in spec.substitutions.items():
        assert kind == "queue_url"  # the only kind the topology uses today
        assert machine["DefinitionSubstitutions"][placeholder] == ref(synthesized.logical_id(stack.queues[name]))
    # And once filled it is valid JSON without any placeholder left
    filled = ASL_PLACEHOLDER.sub(lambda m: f"queue-url-of-{spec.substitutions[m[1]][1]}", definition)
    assert "${" not in filled
    # And every queue its tasks send to is one it is meant to send to
    queue_urls = {
        task["Parameters"]["QueueUrl"]
        for task in _tasks(json.loads(filled)["States"])
        if task["Resource"].startswith("arn:aws:states:::sqs:sendMessage")
    }
    assert queue_urls == {f"queue-url-of-{q}" for q in spec.sends_to_queues}


@pytest.mark.parametrize("spec", TOPOLOGY.state_machines, ids=lambda s: s.name)
def test_state_machine_role_sends_to_exactly_its_queues(
    synthesized: Synthesized, resources: Resources, spec: StateMachineSpec
) -> None:
    # Given a state machine's role
    stack = synthesized.stack
    statements = statements_of_role(resources, synthesized.logical_id(stack.state_machines[spec.name].role))
    # Then it may send to exactly the queues it pages or wakes through, and do nothing else with SQS
    assert allowed(statements, "sqs:SendMessage") == canonical(
        [arn_of(synthesized.logical_id(stack.queues[q])) for q in spec.sends_to_queues]
    )
    assert actions_of(statements, "sqs:") <= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    # And it starts, stops or answers no workflow, and reads no secret
    assert actions_of(statements, "states:") == set()
    assert actions_of(statements, "secretsmanager:") == set()


def test_notify_queue_url_reaches_the_escalation_definition(synthesized: Synthesized) -> None:
    # Given the escalation machine, whose ASL names ${NotifyQueueUrl}
    machine = synthesized.resource(synthesized.stack.state_machines[workflows.ESCALATION])["Properties"]
    notify_queue = synthesized.logical_id(synthesized.stack.queues["notify"])
    # Then the placeholder is bound to the notify queue's URL (Ref of an SQS queue = its URL)
    assert "${NotifyQueueUrl}" in machine["DefinitionString"]
    assert machine["DefinitionSubstitutions"] == {"NotifyQueueUrl": ref(notify_queue)}


def test_notify_queue_is_fed_only_by_the_state_machines(synthesized: Synthesized, resources: Resources) -> None:
    # Given the notify queue
    stack = synthesized.stack
    notify = synthesized.logical_id(stack.queues["notify"])
    # Then no topic delivers to it any more
    subscriptions = of_type(resources, "AWS::SNS::Subscription").values()
    assert [s for s in subscriptions if s["Properties"]["Endpoint"] == arn_of(notify)] == []
    # And every workflow but maintenance sends to it, each through its own role
    for name in (n for n in workflows.ALL if n != workflows.MAINTENANCE):
        statements = statements_of_role(resources, synthesized.logical_id(stack.state_machines[name].role))
        assert allowed(statements, "sqs:SendMessage") == [arn_of(notify)], name


def test_classify_queue_is_woken_by_the_maintenance_machine(synthesized: Synthesized, resources: Resources) -> None:
    # Given the maintenance machine and the classify queue (also subscribed to incident.opened)
    stack = synthesized.stack
    classify = synthesized.logical_id(stack.queues["classify"])
    machine = synthesized.resource(stack.state_machines[workflows.MAINTENANCE])["Properties"]
    # Then its ${ClassifyQueueUrl} is the classify queue's URL, and its role may send there and nowhere else
    assert machine["DefinitionSubstitutions"] == {"ClassifyQueueUrl": ref(classify)}
    statements = statements_of_role(resources, synthesized.logical_id(stack.state_machines[workflows.MAINTENANCE].role))
    assert allowed(statements, "sqs:SendMessage") == [arn_of(classify)]
    # And the queue's policy denies nothing to it beyond requests without TLS
    for policy in of_type(resources, "AWS::SQS::QueuePolicy").values():
        if ref(classify) in policy["Properties"]["Queues"]:
            denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
            assert all(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


# --- Secrets Manager -------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TOPOLOGY.secrets, ids=lambda s: s.name)
def test_secret_value_is_generated_not_written_in_the_template(synthesized: Synthesized, spec: Any) -> None:
    # Given a secret of the topology
    secret = synthesized.resource(synthesized.stack.secrets[spec.name])
    properties = secret["Properties"]
    # Then Secrets Manager generates its value (a plain string: the functions use its bytes as the HMAC key)
    assert "SecretString" not in properties
    generated = properties["GenerateSecretString"]
    assert generated["PasswordLength"] >= 32
    assert "SecretStringTemplate" not in generated and "GenerateStringKey" not in generated
    assert spec.description in properties["Description"]
    # And the missing rotation is a decision with its reason, not an oversight
    (smg4,) = [s for s in secret["Metadata"]["cdk_nag"]["rules_to_suppress"] if s["id"] == "AwsSolutions-SMG4"]
    assert "rotat" in smg4["reason"] and "dual-key" in smg4["reason"]


@pytest.mark.parametrize("spec", TOPOLOGY.secrets, ids=lambda s: s.name)
def test_only_the_functions_that_sign_links_may_read_the_secret(
    synthesized: Synthesized, resources: Resources, spec: Any
) -> None:
    # Given every role in the template
    secret = ref(synthesized.logical_id(synthesized.stack.secrets[spec.name]))
    readers = {
        role_id
        for role_id in of_type(resources, "AWS::IAM::Role")
        if secret in allowed(statements_of_role(resources, role_id), "secretsmanager:GetSecretValue")
    }
    # Then exactly the functions whose permissions name the secret may read its value
    assert readers == {
        function_role(synthesized, f.name) for f in TOPOLOGY.functions if spec.name in f.permissions.read_secrets
    }


# --- IAM ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda f: f.name)
def test_function_permissions_are_the_topology_s(
    synthesized: Synthesized, resources: Resources, spec: FunctionSpec
) -> None:
    # Given a function's statements
    stack = synthesized.stack
    statements = statements_of_role(resources, function_role(synthesized, spec.name))
    p = spec.permissions

    def refs(registry: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
        return canonical([ref(synthesized.logical_id(registry[n])) for n in names])

    def arns(registry: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
        return canonical([arn_of(synthesized.logical_id(registry[n])) for n in names])

    # Then each kind of access is granted exactly where the topology says
    assert allowed(statements, "states:StartExecution") == refs(stack.state_machines, p.start_executions)
    for action in TASK_RESPONSE_ACTIONS:
        assert allowed(statements, action) == refs(stack.state_machines, p.answer_tasks), action
    # StopExecution on the machines' executions (arn:…:execution:<machine name>:*), never on a machine itself
    assert sorted(flatten(r) for r in allowed(statements, "states:StopExecution")) == sorted(
        "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        f"${{{synthesized.logical_id(stack.state_machines[m])}.Name}}:*"
        for m in p.stop_executions
    )
    assert allowed(statements, "secretsmanager:GetSecretValue") == refs(stack.secrets, p.read_secrets)
    assert allowed(statements, "sqs:SendMessage") == arns(stack.queues, p.send_to_queues)
    topic_publish = [r for r in allowed(statements, "sns:Publish") if r != "*"]
    assert topic_publish == refs(stack.topics, p.publish_to_topics)
    assert ("*" in allowed(statements, "sns:Publish")) is p.send_sms
    assert bool(allowed(statements, "ses:SendEmail")) is p.send_email
    # received mail: GetObject under the bucket's prefix, on the buckets the topology names (tests/infra/test_mail.py)
    assert allowed(statements, "s3:GetObject") == canonical(
        [
            {"Fn::Join": ["", [arn_of(synthesized.logical_id(stack.buckets[b])), f"/{TOPOLOGY.bucket(b).prefix}*"]]}
            for b in p.read_objects
        ]
    )
    table_arns = [a for a in allowed(statements, "dynamodb:PutItem") if "Fn::GetAtt" in a]
    assert table_arns == arns(stack.tables, p.table_read_write)
    # And no other Step Functions or Secrets Manager action
    expected_states = (
        ({"states:StartExecution"} if p.start_executions else set())
        | ({"states:StopExecution"} if p.stop_executions else set())
        | (set(TASK_RESPONSE_ACTIONS) if p.answer_tasks else set())
    )
    assert actions_of(statements, "states:") == expected_states
    assert actions_of(statements, "secretsmanager:") == (
        {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"} if p.read_secrets else set()
    )
    # And nothing is granted on every action
    assert not [s for s in statements if "*" in as_list(s["Action"])]


def test_only_escalation_runs_sla_clocks_and_reminders_are_ever_stopped(
    synthesized: Synthesized, resources: Resources
) -> None:
    # Given every function's StopExecution grants (resolving stops the escalation run for certain, and the
    # stakeholder-update reminders; a new run stops the one before it, pausing an SLA or meeting its response
    # target stops its clock's execution, completing a review its reminders; the other workflows end when answered)
    sla = synthesized.logical_id(synthesized.stack.state_machines[workflows.SLA])
    escalation = synthesized.logical_id(synthesized.stack.state_machines[workflows.ESCALATION])
    reminder = synthesized.logical_id(synthesized.stack.state_machines[workflows.REMINDER])
    stops = {
        spec.name: allowed(statements_of_role(resources, function_role(synthesized, spec.name)), "states:StopExecution")
        for spec in TOPOLOGY.functions
    }
    # Then each is on the executions of those machines: not another machine's, not a machine, not every execution
    stopped = {flatten(r).split(":execution:", 1)[1] for grants in stops.values() for r in grants}
    assert stopped == {f"${{{sla}.Name}}:*", f"${{{escalation}.Name}}:*", f"${{{reminder}.Name}}:*"}
    # And the functions that pause and resume SLAs (the API and the alarm intake) have it
    assert stops["api"] and stops["intake"]


def test_role_policies_fit_iam_s_size_limit(resources: Resources) -> None:
    # Given every role's inline policies, resolved as CloudFormation would (references as long ARNs)
    sizes = {
        role_id: sum(
            len(json.dumps(resolved(p["Properties"]["PolicyDocument"]), separators=(",", ":")))
            for p in of_type(resources, "AWS::IAM::Policy").values()
            if ref(role_id) in p["Properties"]["Roles"]
        )
        for role_id in of_type(resources, "AWS::IAM::Role")
    }
    # Then each stays under IAM's limit, which a deployment would otherwise hit only in CloudFormation
    assert {role_id: size for role_id, size in sizes.items() if size >= ROLE_POLICY_LIMIT} == {}


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
        "AWS::SNS::Topic": len(TOPOLOGY.topics) + 1,  # and the ops topic (test_monitoring.py)
        "AWS::SQS::Queue": 2 * len(TOPOLOGY.queues),  # and their dead-letter queues
        # and CDK's BucketDeployment handler, which copies the console into its bucket (test_console.py)
        "AWS::Lambda::Function": len(TOPOLOGY.functions) + 1,
        "AWS::StepFunctions::StateMachine": len(TOPOLOGY.state_machines),
        "AWS::SecretsManager::Secret": len(TOPOLOGY.secrets),
        "AWS::Events::Rule": len(TOPOLOGY.event_rules)
        + sum(isinstance(f.trigger, ScheduleTrigger) for f in TOPOLOGY.functions)
        + 1,  # the functions' schedules and the heartbeat's
        # each API function behind two APIs: the machine API (IAM) and the people API (Cognito)
        "AWS::ApiGateway::RestApi": 2 * sum(isinstance(f.trigger, ApiTrigger) for f in TOPOLOGY.functions),
        "AWS::Lambda::LayerVersion": 2,  # ours and the BucketDeployment handler's AWS CLI layer
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
