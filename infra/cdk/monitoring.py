"""The pager watches itself, rendered: infra/monitoring.py's checks as CloudWatch alarms on an ops topic, and the
heartbeat schedule. One construct for the concern (cf. aws-lambda-handler-cookbook's cdk/service/monitoring.py);
FirebellStack makes it once its queues, functions and state machines exist."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Aws, CfnOutput, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from firebell.config import load_config
from firebell.domain.sending import Ops
from firebell.heartbeat import heartbeat_event
from infra.cdk.functions import METRICS_NAMESPACE, pascal
from infra.monitoring import Check, HeartbeatSpec, MonitoringSpec, checks
from infra.topology import CONFIG_DIR, QueueTrigger

if TYPE_CHECKING:
    from infra.cdk.stack import FirebellStack

COUNT_PERIOD = Duration.minutes(5)
DLQ_PERIOD = Duration.minutes(1)
BOUNCE_RATE_PERIOD = Duration.minutes(15)
# Namespace and dimension of the heartbeat count: powertools Metrics in the intake function adds `service`.
SERVICE_DIMENSION = "service"
# AWS/SNS reports SMS published straight to phone numbers (as firebell does, no topic) under this dimension.
SMS_DIMENSIONS = {"PhoneNumber": "PhoneNumberDirect"}


class Monitoring(Construct):
    def __init__(
        self, stack: FirebellStack, construct_id: str, *, spec: MonitoringSpec, ops: Ops | None = None
    ) -> None:
        super().__init__(stack, construct_id)
        self._stack = stack
        self.spec = spec
        ops = ops if ops is not None else load_config(CONFIG_DIR).directory.ops
        self.ops_topic = self._ops_topic(ops)
        action = cloudwatch_actions.SnsAction(self.ops_topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for check in checks(stack.topology):
            alarm = self._alarm(check)
            alarm.add_alarm_action(action)
            if check.notify_ok:
                alarm.add_ok_action(action)
            self.alarms[check.name] = alarm
        self.heartbeat_rule = self._heartbeat(spec.heartbeat)
        CfnOutput(stack, "OpsTopicArn", value=self.ops_topic.topic_arn, description=spec.ops_topic_description)

    # --- the ops topic -----------------------------------------------------------------------------

    def _ops_topic(self, ops: Ops) -> sns.Topic:
        topic = sns.Topic(
            self,
            f"{pascal(self.spec.ops_topic)}Topic",
            display_name="firebell ops",
            # The topics key, which CloudWatch may already use (infra/cdk/grants.py allow_cloudwatch_alarms).
            master_key=self._stack.topics_key,
            enforce_ssl=True,
        )
        for email in ops.emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        for phone in ops.phones:
            topic.add_subscription(subscriptions.SmsSubscription(phone))
        # enforce_ssl gives the topic a policy of its own, which replaces SNS's default one: CloudWatch alarm
        # actions need this allow, for this account's alarms only (as for the alarms topic).
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:*"
                    }
                },
            )
        )
        return topic

    # --- alarms ------------------------------------------------------------------------------------

    def alarm_name(self, check: Check) -> str:
        # The reserved prefix makes intake skip these alarms when the alarm-state-changes rule forwards them.
        return f"{self.spec.alarm_prefix}{self._stack.stack_name}-{check.name}"

    def _alarm(self, check: Check) -> cloudwatch.Alarm:
        stack = self._stack
        common = {
            "alarm_name": self.alarm_name(check),
            "alarm_description": f"firebell self-monitoring: {check.description}",
            "evaluation_periods": 1,
        }
        at_least_one = {
            "threshold": 1,
            "comparison_operator": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data means nothing happened (Lambda, Step Functions, SNS and SES publish counts only when
            # something did): that is healthy.
            "treat_missing_data": cloudwatch.TreatMissingData.NOT_BREACHING,
        }
        match check.kind:
            case "dlq-depth":
                metric = stack.queues[check.subject].metric_approximate_number_of_messages_visible(
                    period=DLQ_PERIOD, statistic="Maximum"
                )
                return cloudwatch.Alarm(
                    self,
                    f"{pascal(check.name)}Alarm",
                    metric=metric,
                    **common,
                    threshold=0,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    # SQS stops reporting a queue nobody calls for six hours, though its messages stay: keep the
                    # last state rather than turn OK with dead letters still waiting.
                    treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
                )
            case "function-errors" | "function-throttles":
                function = stack.functions[check.subject]
                metric = (function.metric_errors if check.kind == "function-errors" else function.metric_throttles)(
                    period=COUNT_PERIOD, statistic="Sum"
                )
            case "executions-failed" | "executions-timed-out" | "executions-aborted":
                machine = stack.state_machines[check.subject]
                measure = {
                    "executions-failed": machine.metric_failed,
                    "executions-timed-out": machine.metric_timed_out,
                    "executions-aborted": machine.metric_aborted,
                }[check.kind]
                metric = measure(period=COUNT_PERIOD, statistic="Sum")
            case "sms-failures":
                metric = cloudwatch.Metric(
                    namespace="AWS/SNS",
                    metric_name="NumberOfNotificationsFailed",
                    dimensions_map=SMS_DIMENSIONS,
                    period=COUNT_PERIOD,
                    statistic="Sum",
                )
            case "email-bounces":
                # Account-wide (no configuration set): every bounced page or notice, which a responder never got.
                metric = cloudwatch.Metric(
                    namespace="AWS/SES", metric_name="Bounce", period=COUNT_PERIOD, statistic="Sum"
                )
            case "email-bounce-rate":
                metric = cloudwatch.Metric(
                    namespace="AWS/SES",
                    metric_name="Reputation.BounceRate",
                    period=BOUNCE_RATE_PERIOD,
                    statistic="Maximum",
                )
                return cloudwatch.Alarm(
                    self,
                    f"{pascal(check.name)}Alarm",
                    metric=metric,
                    **common,
                    threshold=self.spec.max_bounce_rate,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    # A reputation is a standing state that SES reports only while it sends: keep the last one.
                    treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
                )
            case "heartbeat-missing":
                return self._heartbeat_alarm(check, common)
            case _:
                raise ValueError(f"no alarm for check kind {check.kind!r}")
        return cloudwatch.Alarm(self, f"{pascal(check.name)}Alarm", metric=metric, **common, **at_least_one)

    def _heartbeat_alarm(self, check: Check, common: dict) -> cloudwatch.Alarm:
        heartbeat = self.spec.heartbeat
        metric = cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=heartbeat.metric,
            dimensions_map={SERVICE_DIMENSION: self._consumer_of(heartbeat.queue)},
            period=Duration.minutes(heartbeat.every_minutes),
            statistic="Sum",
        )
        return cloudwatch.Alarm(
            self,
            f"{pascal(check.name)}Alarm",
            metric=metric,
            **{**common, "evaluation_periods": heartbeat.missing_periods},
            datapoints_to_alarm=heartbeat.missing_periods,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            # No heartbeat counted is exactly the failure this alarm exists for.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )

    def _consumer_of(self, queue: str) -> str:
        return next(
            f.name
            for f in self._stack.topology.functions
            if isinstance(f.trigger, QueueTrigger) and f.trigger.queue == queue
        )

    # --- heartbeat ---------------------------------------------------------------------------------

    def _heartbeat(self, heartbeat: HeartbeatSpec) -> events.Rule:
        """Every few minutes, the synthetic alarm state change onto the intake queue, exactly as the
        alarm-state-changes rule delivers real ones (EventBridge → SQS, the same queue policy and DLQ)."""
        stack = self._stack
        rule = events.Rule(
            self,
            "HeartbeatRule",
            description=f"firebell: heartbeat ({heartbeat.alarm_name}) through intake every {heartbeat.every_minutes} min",
            schedule=events.Schedule.rate(Duration.minutes(heartbeat.every_minutes)),
        )
        message = heartbeat_event(
            partition=Aws.PARTITION, region=Aws.REGION, account=Aws.ACCOUNT_ID, time=events.EventField.time
        )
        rule.add_target(
            event_targets.SqsQueue(
                stack.queues[heartbeat.queue],
                message=events.RuleTargetInput.from_object(message),
                dead_letter_queue=stack.queues[stack.topology.dlq_name(heartbeat.queue)],
            )
        )
        return rule
