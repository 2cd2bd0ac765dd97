"""Email intake in AWS (docs/email-intake.md): the mail bucket, its event notifications to the mail queue, and,
with `-c firebell:email-intake=true`, SES's receipt rule set that stores mail to the intake addresses in it.

The rule set is opt-in because SES receives mail only in some regions: in another, CloudFormation would fail on it.
It must also be made active once, by hand (there is no CloudFormation resource for that, and only one rule set of
an account and region is active at a time, so activating it is a decision about any other): the stack's output
MailRuleSetName names it for `aws ses set-active-receipt-rule-set`.

The bucket's notification is CloudFormation's own (no custom resource function): S3 checks that it may send to the
queue when the notification is set, so the queue's policy must exist first and cannot name the bucket by reference.
The bucket's name is therefore made from the stack's id (unique per stack, lower case), and the policy names it.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Aws, CfnElement, CfnOutput, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_ses_actions as ses_actions
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from firebell.domain.mail_intake import EmailIntake, object_prefix
from infra.topology import BucketSpec, MailReceiptSpec

EMAIL_INTAKE_CONTEXT = "firebell:email-intake"


def receiving_requested(scope: Construct) -> bool:
    value = scope.node.try_get_context(EMAIL_INTAKE_CONTEXT)
    return value is True or str(value).lower() == "true"


class MailBuckets(Construct):
    def __init__(
        self,
        scope: Stack,
        construct_id: str,
        *,
        specs: tuple[BucketSpec, ...],
        queues: dict[str, sqs.Queue],
        log_bucket: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stack = scope
        self.buckets = {spec.name: self._bucket(spec, queues[spec.notify_queue], log_bucket) for spec in specs}

    def _bucket(self, spec: BucketSpec, queue: sqs.Queue, log_bucket: s3.IBucket) -> s3.Bucket:
        # firebell-<name>-<the stack id's UUID>: unique, lower case, known before the bucket exists (see above)
        name = Fn.join("-", [f"firebell-{spec.name}", Fn.select(2, Fn.split("/", Aws.STACK_ID))])
        bucket = s3.Bucket(
            self,
            f"{spec.name.capitalize()}Bucket",
            bucket_name=name,
            encryption=s3.BucketEncryption.S3_MANAGED,  # SES's S3 action writes to it without a KMS grant
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(spec.expire_after_days))],
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix=f"{spec.name}-bucket/",
            # Received mail is evidence of what was reported: the stack's removal leaves it to its expiry.
            removal_policy=RemovalPolicy.RETAIN,
        )
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": Fn.join("", [f"arn:{Aws.PARTITION}:s3:::", name])},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        cfn = cast(s3.CfnBucket, bucket.node.default_child)
        cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event="s3:ObjectCreated:*",
                    queue=queue.queue_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(
                            rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=spec.prefix)]
                        )
                    ),
                )
            ]
        )
        policy = queue.node.find_child("Policy")  # the queue's QueuePolicy (enforce_ssl's, and the statement above)
        cfn.node.add_dependency(policy)
        return bucket

    def grant_read(self, name: str, spec: BucketSpec, role: iam.IRole) -> None:
        """GetObject on the bucket's objects under its prefix, and nothing else (no List, no Get* on the bucket)."""
        bucket = self.buckets[name]
        iam.Grant.add_to_principal(
            grantee=role, actions=["s3:GetObject"], resource_arns=[bucket.arn_for_objects(f"{spec.prefix}*")]
        )
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Received mail is one object per message under the bucket's prefix, each named by SES's "
                    f"message id: GetObject on {spec.prefix}* of this bucket only",
                    applies_to=[
                        f"Resource::<{self._stack.get_logical_id(cast(CfnElement, bucket.node.default_child))}.Arn>/{spec.prefix}*"
                    ],
                )
            ],
            apply_to_children=True,
        )


def receipt_rules(scope: Stack, spec: MailReceiptSpec, bucket: s3.IBucket, intake: EmailIntake) -> ses.ReceiptRuleSet:
    """One rule per intake address (in the config's order), each storing into the bucket under the address's prefix."""
    rule_set = ses.ReceiptRuleSet(scope, "MailRuleSet", receipt_rule_set_name=f"{scope.stack_name}-mail")
    for address in intake.addresses:
        rule_set.add_rule(
            spec.rule_name(address.address),
            receipt_rule_name=spec.rule_name(address.address),
            recipients=[address.address],
            actions=[ses_actions.S3(bucket=bucket, object_key_prefix=object_prefix(address.address))],
            scan_enabled=spec.scan_enabled,
            tls_policy=ses.TlsPolicy.REQUIRE if spec.require_tls else ses.TlsPolicy.OPTIONAL,
        )
    CfnOutput(
        scope,
        "MailRuleSetName",
        value=rule_set.receipt_rule_set_name,
        description="Activate once: aws ses set-active-receipt-rule-set --rule-set-name <this> (docs/email-intake.md)",
    )
    return rule_set
