"""FirebellStack: infra.topology.TOPOLOGY rendered as CloudFormation. Every resource comes from the topology;
this module only decides how each kind of resource is built (encryption, logging, tracing, least privilege)."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Annotations, Aws, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from firebell.config import load_config
from firebell.domain.sending import Ops
from infra.cdk.api_protection import waf_requested, web_acl
from infra.cdk.domains import api_domain, console_certificate, console_records, hosted_zone, sender_identity
from infra.cdk.functions import lambda_function, pascal, wire
from infra.cdk.grants import allow_cloudwatch_alarms
from infra.cdk.layer import common_layer
from infra.cdk.rest_api import LOG_RETENTION, Guard, rest_api
from infra.cdk.settings import DeploySettings, placeholder_people, read
from infra.topology import (
    CONFIG_DIR,
    TOPOLOGY,
    VISIBILITY_TIMEOUT_FACTOR,  # noqa: F401 (tests/infra reads it here)
    ApiTrigger,
    EventRuleSpec,
    FunctionSpec,
    KeyAttribute,
    QueueSpec,
    SecretSpec,
    StateMachineSpec,
    TableSpec,
    Topology,
)

DEMO_KEYS_WARNING = "firebell:demo-routing-keys-only"
DEMO_KEYS_MESSAGE = (
    "config/firebell.yaml's only routing keys are demo keys, which a deployed firebell refuses: PagerDuty and "
    "Alertmanager senders need keys of your own (python -m firebell.keys new, docs/security.md)"
)
DEMO_PEOPLE_WARNING = "firebell:demo-people"
ASL_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


DLQ_RETENTION = Duration.days(14)
# Generated secret values: 64 letters and digits (~380 bits), plain SecretString, as the functions read it
# (firebell.adapters.aws.SecretsManagerSecret uses the string's bytes as the HMAC key).
SECRET_LENGTH = 64

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}
# Event pattern fields (EventBridge's names) → events.EventPattern's keyword arguments.
_PATTERN_FIELDS = {
    "version": "version",
    "id": "id",
    "detail-type": "detail_type",
    "source": "source",
    "account": "account",
    "time": "time",
    "region": "region",
    "resources": "resources",
    "detail": "detail",
}


def _attribute(key: KeyAttribute) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_ATTRIBUTE_TYPES[key.type])


class FirebellStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology = TOPOLOGY,
        settings: DeploySettings | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topology = topology
        # The same config/ the layer ships to the functions; the deployer's settings (the sender, the ops
        # contacts, names and certificates) come from the context instead (infra/cdk/settings.py).
        config = load_config(CONFIG_DIR)
        self.settings = settings if settings is not None else read(self.node, config.directory)
        self.sender = self.settings.sender
        if config.directory.demo_keys_only():
            Annotations.of(self).add_warning_v2(DEMO_KEYS_WARNING, DEMO_KEYS_MESSAGE)
            if self.settings.environment == "demo":
                # Expected of the demo config (the local runtime accepts them); a deployment is still told.
                Annotations.of(self).acknowledge_warning(DEMO_KEYS_WARNING, "firebell:env=demo: the demo config")
        demo_people = placeholder_people(config.directory)
        if demo_people and self.settings.environment != "demo":
            Annotations.of(self).add_warning_v2(
                DEMO_PEOPLE_WARNING,
                f"config/firebell.yaml pages people at addresses that reach nobody ({', '.join(demo_people)}: "
                "documentation domains, fictional numbers): import yours (docs/importing.md) or write them "
                "(docs/deploy.md#who-is-paged-the-directory)",
            )

        self.tables = {spec.name: self._table(spec) for spec in topology.tables}
        self.topics_key = self._topics_key()
        self.topics = {
            spec.name: sns.Topic(self, f"{pascal(spec.name)}Topic", master_key=self.topics_key, enforce_ssl=True)
            for spec in topology.topics
        }
        self.queues: dict[str, sqs.Queue] = {}
        for spec in topology.queues:
            self._queue(spec)
        self.event_rules = {spec.name: self._event_rule(spec) for spec in topology.event_rules}
        self.secrets = {spec.name: self._secret(spec) for spec in topology.secrets}
        self.layer = common_layer(self, "CommonLayer")
        self.hosted_zone = hosted_zone(self, self.settings.hosted_zone)
        self.sender_identity = sender_identity(self, self.settings, self.hosted_zone)
        self.functions = {spec.name: lambda_function(self, spec) for spec in topology.functions}
        self.state_machines = {spec.name: self._state_machine(spec) for spec in topology.state_machines}
        self.apis = {
            spec.name: self._rest_api(spec, self.functions[spec.name])
            for spec in topology.functions
            if isinstance(spec.trigger, ApiTrigger)
        }
        self.api_domains = {
            name: api_domain(self, api, self.settings.api_domain, self.hosted_zone)
            for name, api in self.apis.items()
            if self.settings.api_domain is not None
        }
        self._people_and_console()
        self._mail(config)
        if waf_requested(self):
            self.web_acl = web_acl(
                self,
                "ApiWebAcl",
                [(api, self.topology.function(name).trigger) for name, api in self.apis.items()]
                + [(self.people.api, self.people_trigger)],
            )
        # Wired last: environments and grants refer to resources of every kind (classify, notify: the API's URL).
        for spec in topology.functions:
            wire(self, spec, self.functions[spec.name])

        allow_cloudwatch_alarms(self)
        self._outputs()
        if topology.monitoring is not None:
            # Imported here: infra/cdk/monitoring.py builds on this module (pascal, METRICS_NAMESPACE).
            from infra.cdk.monitoring import Monitoring

            ops = Ops(emails=list(self.settings.ops_emails), phones=list(self.settings.ops_phones))
            self.monitoring = Monitoring(self, "Monitoring", spec=topology.monitoring, ops=ops)

    # --- resources ---------------------------------------------------------------------------------

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{pascal(spec.name)}Table",
            partition_key=_attribute(spec.hash_key),
            sort_key=_attribute(spec.range_key) if spec.range_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in spec.indexes:
            if index.name in self.settings.omitted_indexes:
                continue
            # ALL holds what any projection holds: the code reads a legacy index as it reads its own.
            legacy = index.name in self.settings.legacy_all_indexes
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.hash_key),
                sort_key=_attribute(index.range_key) if index.range_key else None,
                projection_type=dynamodb.ProjectionType.ALL if legacy else _PROJECTIONS[index.projection],
                non_key_attributes=None if legacy else list(index.non_key_attributes) or None,
            )
        return table

    def _topics_key(self) -> kms.Key:
        return kms.Key(
            self,
            "TopicsKey",
            description="firebell: encrypts the SNS topics at rest",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _queue(self, spec: QueueSpec) -> None:
        dlq_name = self.topology.dlq_name(spec.name)
        dlq = sqs.Queue(
            self,
            f"{pascal(dlq_name)}Queue",
            retention_period=DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        queue = sqs.Queue(
            self,
            f"{pascal(spec.name)}Queue",
            visibility_timeout=Duration.seconds(self.topology.visibility_timeout_seconds(spec)),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        for subscription in spec.subscriptions:
            self.topics[subscription.topic].add_subscription(
                subscriptions.SqsSubscription(
                    queue,
                    raw_message_delivery=subscription.raw_message_delivery,
                    filter_policy=(
                        {
                            attribute: sns.SubscriptionFilter(conditions=list(values))
                            for attribute, values in subscription.filter_policy.items()
                        }
                        if subscription.filter_policy
                        else None
                    ),
                )
            )
        self.queues[spec.name] = queue
        self.queues[dlq_name] = dlq

    def _event_rule(self, spec: EventRuleSpec) -> events.Rule:
        """A rule on the default bus whose target is a queue of the topology; what EventBridge cannot deliver
        (after its retries, for up to 24 h) goes to that queue's DLQ, with EventBridge's error attributes."""
        unknown = set(spec.pattern) - set(_PATTERN_FIELDS)
        if unknown:
            raise ValueError(f"event rule {spec.name}: unsupported pattern fields {sorted(unknown)}")
        rule = events.Rule(
            self,
            f"{pascal(spec.name)}Rule",
            description=f"firebell: {spec.description}",
            event_pattern=events.EventPattern(**{_PATTERN_FIELDS[k]: list(v) for k, v in spec.pattern.items()}),
        )
        # The queue's resource policy lets events.amazonaws.com send, for this rule only (aws:SourceArn); the
        # queues use SQS-managed encryption (SSE-SQS), so EventBridge needs no KMS grant.
        rule.add_target(
            event_targets.SqsQueue(
                self.queues[spec.queue], dead_letter_queue=self.queues[self.topology.dlq_name(spec.queue)]
            )
        )
        return rule

    def _secret(self, spec: SecretSpec) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            f"{pascal(spec.name)}Secret",
            description=f"firebell: {spec.description}",
            # Encrypted with the account's aws/secretsmanager key: only IAM decides who reads it (grant_read).
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=SECRET_LENGTH, exclude_punctuation=True, include_space=False
            ),
        )
        NagSuppressions.add_resource_suppressions(
            secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="No automatic rotation: the value is the HMAC key of short-lived acknowledgement links, "
                    "and rotating it would invalidate every link still outstanding in emails and SMS. Rotation "
                    "can be added once verification accepts the current and the previous key (dual-key verify)",
                )
            ],
        )
        return secret

    def _state_machine(self, spec: StateMachineSpec) -> sfn.StateMachine:
        name = pascal(spec.name)
        definition = spec.definition_file.read_text(encoding="utf-8")
        unfilled = set(ASL_PLACEHOLDER.findall(definition)) - set(spec.substitutions)
        if unfilled:
            raise ValueError(f"{spec.definition_file}: no substitution for {sorted(unfilled)}")
        log_group = logs.LogGroup(
            self,
            f"{name}StateMachineLogs",
            # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing with each machine.
            log_group_name=f"/aws/vendedlogs/states/{Aws.STACK_NAME}-{spec.name}",
            retention=LOG_RETENTION,
        )
        machine = sfn.StateMachine(
            self,
            f"{name}StateMachine",
            # Inline (DefinitionString) rather than from_file's separate S3 asset: the definition stays readable
            # in the template; CloudFormation fills its ${...} placeholders from DefinitionSubstitutions.
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions={
                placeholder: self.resource(kind, target) for placeholder, (kind, target) in spec.substitutions.items()
            },
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Execution data would put task tokens (which can stop an escalation) in the logs: states only.
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        for queue in spec.sends_to_queues:
            self.queues[queue].grant_send_messages(machine)
        NagSuppressions.add_resource_suppressions(
            machine.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Step Functions log delivery (logs:*LogDelivery*, DescribeLogGroups...) and X-Ray tracing "
                    "actions support only Resource '*'",
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )
        return machine

    def _rest_api(self, spec: FunctionSpec, function: lambda_.Function) -> apigw.RestApi:
        """The machine API: every non-public method requires SigV4-signed requests from IAM principals allowed
        execute-api:Invoke."""
        assert isinstance(spec.trigger, ApiTrigger)
        return rest_api(
            self,
            pascal(spec.name),
            rest_api_name=f"{self.stack_name}-{spec.name}",
            description=spec.description,
            function=function,
            trigger=spec.trigger,
            guard=Guard(
                method_options=apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM),
                refuses="IAM authorization refuses unsigned requests",
                suppressions=(
                    NagPackSuppression(
                        id="AwsSolutions-COG4",
                        reason="Callers are IAM principals (AWS_IAM authorization, SigV4), not Cognito user pool "
                        "users; people call the people API (infra/cdk/people.py)",
                    ),
                ),
            ),
            waf_enabled=waf_requested(self),
        )

    def _people_and_console(self) -> None:
        """People's front door (docs/access.md): the user pool and the people API on the API function, then the
        console's distribution (which routes /api/* to that API), then the app clients (whose redirect is the
        console's URL), then the console's files and its config.json (which name all of them)."""
        # Imported here, as Monitoring is: the modules build on this one's helpers.
        from infra.cdk.console import API_PATH, Console
        from infra.cdk.people import CONSOLE_SCOPES, People
        from infra.people import CLI_SIGN_IN_CALLBACK

        (spec,) = [spec for spec in self.topology.functions if isinstance(spec.trigger, ApiTrigger)]
        assert isinstance(spec.trigger, ApiTrigger)
        self.people_trigger = spec.trigger
        self.people = People(
            self,
            "People",
            function=self.functions[spec.name],
            trigger=spec.trigger,
            api_logging_account=self.apis[spec.name].node.try_find_child("Account"),
            waf_enabled=waf_requested(self),
        )
        domain = self.settings.console_domain
        self.console = Console(
            self,
            "Console",
            api=self.people.api,
            sign_in_origins=[self.people.sign_in_url, self.people.user_api_url],
            domain=domain,
            certificate=console_certificate(self, domain) if domain else None,
        )
        if domain is not None:
            console_records(self, self.console.distribution, domain, self.hosted_zone)
        self.people.add_clients(self.console.url)
        assert self.people.console_client is not None
        # The console's runtime configuration: what it needs to sign people in and call the API.
        assert self.people.cli_client is not None
        self.console.deploy(
            {
                "auth": "cognito",  # the local runtime's config.json says "local" (its sign-in page)
                "region": Aws.REGION,
                "user_pool_id": self.people.user_pool.user_pool_id,
                "client_id": self.people.console_client.user_pool_client_id,
                "sign_in_url": self.people.sign_in_url,
                # Cognito's user API, which the console calls with the access token to set up MFA (console/assets/js/mfa.js)
                "user_api_url": self.people.user_api_url,
                "redirect_uri": f"{self.console.url}/",
                "logout_uri": f"{self.console.url}/",
                "scopes": [scope.scope_name for scope in CONSOLE_SCOPES],
                "identity_providers": [provider.name for provider in self.people.federation],
                "api_url": API_PATH,
                # `firebell login` reads these from the console's URL (firebell/cli/login.py)
                "cli_client_id": self.people.cli_client.user_pool_client_id,
                "cli_redirect_uri": CLI_SIGN_IN_CALLBACK,
            }
        )
        self.people.outputs()
        self.console.outputs()

    def _mail(self, config: Any) -> None:
        """Email intake (infra/cdk/mail.py): the buckets, their access logs beside the console's, and SES's receipt
        rules when `-c firebell:email-intake=true` asks for them (SES receives mail in some regions only)."""
        from infra.cdk.mail import MailBuckets, receipt_rules, receiving_requested

        self.mail = MailBuckets(
            self, "EmailIntake", specs=self.topology.buckets, queues=self.queues, log_bucket=self.console.log_bucket
        )
        self.buckets = self.mail.buckets
        receipt = self.topology.mail_receipt
        self.mail_rule_set = (
            receipt_rules(self, receipt, self.buckets[receipt.bucket], config.directory.email_intake)
            if receipt is not None and receiving_requested(self)
            else None
        )

    # --- wiring ------------------------------------------------------------------------------------

    def resource(self, kind: str, name: str) -> str:
        """The deployed name, ARN or URL of a topology resource (what a variable or an ASL substitution holds)."""
        match kind:
            case "table":
                return self.tables[name].table_name
            case "topic":
                return self.topics[name].topic_arn
            case "queue_url":
                return self.queues[name].queue_url
            case "state_machine":
                return self.state_machines[name].state_machine_arn
            case "secret":
                return self.secrets[name].secret_arn
            case "api_url":
                return self.api_url(name)
            case "console_url":
                return self.console.url
            case "bucket":
                return self.buckets[name].bucket_name
        raise ValueError(f"unknown resource kind {kind!r} (for {name!r})")

    def api_url(self, name: str) -> str:
        """Where people and tools reach an API: its custom domain when it has one, else API Gateway's own URL."""
        domain = self.settings.api_domain
        return f"{domain.url}/" if domain is not None and name in self.api_domains else self.apis[name].url

    def _outputs(self) -> None:
        for name in self.apis:
            CfnOutput(self, f"{pascal(name)}Url", value=self.api_url(name))
        for spec in self.topology.topics:
            topic = self.topics[spec.name]
            CfnOutput(self, f"{pascal(spec.name)}TopicArn", value=topic.topic_arn, description=spec.description)
