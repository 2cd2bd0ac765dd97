"""CloudWatch alarm state changes, in the two shapes intake receives them:

- CloudWatchAlarmNotification: what an alarm action publishes to SNS (the `Message` of the notification);
- CloudWatchAlarmStateChange: the "CloudWatch Alarm State Change" event CloudWatch sends to EventBridge for
  every alarm, metric, metric-math and composite alike, whether or not it has actions.

Both become the same AlarmDetails.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .enums import AlarmState
from .models import AlarmDetails


class _Lenient(BaseModel):
    # CloudWatch adds fields over time; unknown ones must not turn an alarm into a dead letter.
    model_config = ConfigDict(extra="ignore")


class MetricDimension(_Lenient):
    name: str
    value: str


class AlarmTrigger(_Lenient):
    MetricName: str | None = None
    Namespace: str | None = None
    Dimensions: list[MetricDimension] = []
    # Metric-math alarms carry their metrics here instead of MetricName/Namespace.
    Metrics: list[dict] | None = None


AlarmNameStr = Annotated[str, Field(min_length=1, max_length=255)]
AlarmArnStr = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$")]
StateReasonStr = Annotated[str, Field(max_length=4096)]


class CloudWatchAlarmNotification(_Lenient):
    AlarmName: AlarmNameStr
    AlarmArn: AlarmArnStr
    AWSAccountId: str
    NewStateValue: AlarmState
    NewStateReason: StateReasonStr = ""
    StateChangeTime: datetime
    OldStateValue: AlarmState | None = None
    AlarmDescription: str | None = None
    Trigger: AlarmTrigger | None = None

    def details(self) -> AlarmDetails:
        trigger = self.Trigger or AlarmTrigger()
        namespace = trigger.Namespace or _math_namespace(trigger.Metrics)
        return AlarmDetails(
            name=self.AlarmName,
            arn=self.AlarmArn,
            state=self.NewStateValue,
            reason=self.NewStateReason,
            description=self.AlarmDescription,
            namespace=namespace,
            metric=trigger.MetricName,
            dimensions={d.name: d.value for d in trigger.Dimensions},
            region=self.AlarmArn.split(":")[3],  # the notification's `Region` is a display name
            account_id=self.AWSAccountId,
            changed_at=self.StateChangeTime,
        )


def _math_namespace(metrics: list[dict] | None) -> str | None:
    for metric in metrics or []:
        namespace = metric.get("MetricStat", {}).get("Metric", {}).get("Namespace")
        if namespace:
            return namespace
    return None


# --- EventBridge ------------------------------------------------------------------------------------------

ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
CLOUDWATCH_SOURCE = "aws.cloudwatch"
# What an EventBridge rule matches to receive these events (infra/topology.py routes them to intake).
ALARM_STATE_CHANGE_PATTERN: dict[str, list[str]] = {"source": [CLOUDWATCH_SOURCE], "detail-type": [ALARM_STATE_CHANGE]}


class EventMetric(_Lenient):
    namespace: str | None = None
    name: str | None = None
    dimensions: dict[str, str] = {}


class EventMetricStat(_Lenient):
    metric: EventMetric


class EventAlarmMetric(_Lenient):
    """One entry of `configuration.metrics`: a metric (`metricStat`) or a math expression (`expression`)."""

    id: str
    metricStat: EventMetricStat | None = None
    expression: str | None = None
    returnData: bool | None = None


class EventAlarmConfiguration(_Lenient):
    description: str | None = None
    # Metric and metric-math alarms; composite alarms have none, and an `alarmRule` instead.
    metrics: list[EventAlarmMetric] = []
    alarmRule: str | None = None


class EventAlarmState(_Lenient):
    value: AlarmState
    reason: StateReasonStr = ""
    timestamp: datetime | None = None
    # Composite alarms with a suppressor: the actions (not the event) were suppressed, and why.
    actionsSuppressedBy: str | None = None


class AlarmStateChangeDetail(_Lenient):
    alarmName: AlarmNameStr
    state: EventAlarmState
    previousState: EventAlarmState | None = None
    configuration: EventAlarmConfiguration = EventAlarmConfiguration()


class CloudWatchAlarmStateChange(_Lenient):
    """An EventBridge "CloudWatch Alarm State Change" event, as the rule's SQS target receives it."""

    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    id: str | None = None  # EventBridge's event id: the same on every redelivery of this event
    source: Literal["aws.cloudwatch"]
    time: datetime
    # The alarm's ARN is the event's one resource; its region and account are the alarm's (the event's own
    # `account` and `region` fields say the same, and are not needed).
    resources: Annotated[list[AlarmArnStr], Field(min_length=1)]
    detail: AlarmStateChangeDetail

    def details(self) -> AlarmDetails:
        arn = self.resources[0]
        configuration = self.detail.configuration
        metrics = [m.metricStat.metric for m in configuration.metrics if m.metricStat]
        is_math = any(m.expression for m in configuration.metrics)
        # As the SNS notification does: a single-metric alarm names its metric and dimensions; a metric-math
        # alarm only its namespace (that of its first metric); a composite alarm none of them.
        single = metrics[0] if metrics and not is_math else None
        return AlarmDetails(
            name=self.detail.alarmName,
            arn=arn,
            state=self.detail.state.value,
            reason=self.detail.state.reason,
            description=configuration.description,
            namespace=metrics[0].namespace if metrics else None,
            metric=single.name if single else None,
            dimensions=dict(single.dimensions) if single else {},
            region=arn.split(":")[3],
            account_id=arn.split(":")[4],
            changed_at=self.detail.state.timestamp or self.time,
            actions_suppressed_by=self.detail.state.actionsSuppressedBy,
        )
