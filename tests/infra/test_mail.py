"""Email intake in the template (infra/cdk/mail.py): the mail bucket as the topology describes it, its notifications
to the mail queue, the one function that may read it, and SES's receipt rules from the config's intake addresses,
rendered only when `-c firebell:email-intake=true` asks for them (SES receives mail in some regions only)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from firebell.config import load_config
from firebell.domain.mail_intake import object_prefix
from infra.cdk.mail import EMAIL_INTAKE_CONTEXT
from infra.topology import CONFIG_DIR, TOPOLOGY
from tests.infra.conftest import synthesize
from tests.infra.test_template import allowed, arn_of, function_role, of_type, ref, statements_of_role

if TYPE_CHECKING:
    from tests.infra.conftest import Synthesized

Resources = dict[str, dict[str, Any]]
INTAKE = load_config(CONFIG_DIR).directory.email_intake


@pytest.fixture(scope="module")
def receiving() -> Synthesized:
    return synthesize({EMAIL_INTAKE_CONTEXT: "true"})


@pytest.mark.parametrize("spec", TOPOLOGY.buckets, ids=lambda b: b.name)
def test_the_bucket_is_private_encrypted_logged_and_expires(
    synthesized: Synthesized, resources: Resources, spec: Any
) -> None:
    bucket = synthesized.resource(synthesized.stack.buckets[spec.name])
    properties = bucket["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert properties["LifecycleConfiguration"] == {
        "Rules": [{"ExpirationInDays": spec.expire_after_days, "Status": "Enabled"}]
    }
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == ref(
        synthesized.logical_id(synthesized.stack.console.log_bucket)
    )
    assert bucket["DeletionPolicy"] == "Retain"
    # And it refuses requests without TLS
    policies = [
        p
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == ref(synthesized.logical_id(synthesized.stack.buckets[spec.name]))
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for p in policies
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    )


@pytest.mark.parametrize("spec", TOPOLOGY.buckets, ids=lambda b: b.name)
def test_new_objects_under_the_prefix_are_announced_on_the_queue_it_names(
    synthesized: Synthesized, resources: Resources, spec: Any
) -> None:
    stack = synthesized.stack
    bucket = synthesized.resource(stack.buckets[spec.name])
    queue_id = synthesized.logical_id(stack.queues[spec.notify_queue])
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": arn_of(queue_id),
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": spec.prefix}]}},
            }
        ]
    }
    # And S3 may send to the queue for this bucket alone (named as the bucket is, not by reference: S3 checks the
    # permission when the notification is set, so the queue's policy comes first)
    ((policy_id, policy),) = [
        (k, p)
        for k, p in of_type(resources, "AWS::SQS::QueuePolicy").items()
        if ref(queue_id) in p["Properties"]["Queues"]
    ]
    (grant,) = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "s3.amazonaws.com"}
    ]
    assert grant["Action"] == "sqs:SendMessage" and grant["Resource"] == arn_of(queue_id)
    assert json.dumps(bucket["Properties"]["BucketName"]) in json.dumps(
        grant["Condition"]["ArnEquals"]["aws:SourceArn"]
    )
    assert grant["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert policy_id in bucket["DependsOn"]


def test_only_the_functions_that_read_mail_may_read_the_bucket(synthesized: Synthesized, resources: Resources) -> None:
    for spec in TOPOLOGY.functions:
        statements = statements_of_role(resources, function_role(synthesized, spec.name))
        readable = [
            s
            for s in statements
            if any(a.startswith("s3:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
        ]
        if not spec.permissions.read_objects:
            assert readable == [], spec.name
            continue
        # GetObject under the prefix, nothing else of S3 (no listing, no writing)
        assert {a for s in readable for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])} == {
            "s3:GetObject"
        }
        assert allowed(statements, "s3:GetObject") == [
            {
                "Fn::Join": [
                    "",
                    [arn_of(synthesized.logical_id(synthesized.stack.buckets[b])), f"/{TOPOLOGY.bucket(b).prefix}*"],
                ]
            }
            for b in spec.permissions.read_objects
        ]
    assert [f.name for f in TOPOLOGY.functions if f.permissions.read_objects] == ["mail"]


def test_without_the_context_there_is_no_receipt_rule_set(resources: Resources, template_json: dict[str, Any]) -> None:
    assert of_type(resources, "AWS::SES::ReceiptRuleSet") == {} and of_type(resources, "AWS::SES::ReceiptRule") == {}
    assert "MailRuleSetName" not in template_json["Outputs"]


def test_with_it_each_intake_address_has_a_rule_storing_its_mail_in_the_bucket(receiving: Synthesized) -> None:
    resources = receiving.json["Resources"]
    spec = TOPOLOGY.mail_receipt
    assert spec is not None and INTAKE.addresses
    (rule_set_id,) = of_type(resources, "AWS::SES::ReceiptRuleSet")
    bucket = ref(receiving.logical_id(receiving.stack.buckets[spec.bucket]))
    rules = {r["Properties"]["Rule"]["Name"]: r for r in of_type(resources, "AWS::SES::ReceiptRule").values()}
    assert sorted(rules) == sorted(spec.rule_name(a.address) for a in INTAKE.addresses)
    for address in INTAKE.addresses:
        rule = rules[spec.rule_name(address.address)]["Properties"]
        assert rule["RuleSetName"] == ref(rule_set_id)
        assert rule["Rule"]["Recipients"] == [address.address]
        assert rule["Rule"]["Actions"] == [
            {"S3Action": {"BucketName": bucket, "ObjectKeyPrefix": object_prefix(address.address)}}
        ]
        assert rule["Rule"]["ScanEnabled"] is True and rule["Rule"]["TlsPolicy"] == "Require"
    # SES may put objects there, under those prefixes only, for this account
    statements = [
        s
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == bucket
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "ses.amazonaws.com"}
    ]
    assert [s["Action"] for s in statements] == ["s3:PutObject"]
    assert sorted(json.dumps(r) for r in statements[0]["Resource"]) == sorted(
        json.dumps({"Fn::Join": ["", [arn_of(bucket["Ref"]), f"/{object_prefix(a.address)}*"]]})
        for a in INTAKE.addresses
    )
    assert statements[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # And the output names the set to activate
    assert receiving.json["Outputs"]["MailRuleSetName"]["Value"] == ref(rule_set_id)
    assert receiving.nag_errors == [] and receiving.nag_warnings == []
