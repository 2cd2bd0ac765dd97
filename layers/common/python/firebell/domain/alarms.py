"""CloudWatch alarm state changes, in the two shapes intake receives them:

- CloudWatchAlarmNotification: what an alarm action publishes to SNS (the `Message` of the notification,
  SnsAlarmEnvelope: SNS's envelope as it reaches an SQS queue, validated with it);
- CloudWatchAlarmStateChange: the "CloudWatch Alarm State Change" event CloudWatch sends to EventBridge for
  every alarm, metric, metric-math and composite alike, whether or not it has actions.

Both become the same AlarmDetails, keyed by the alarm's ARN. Notifications from before ~2018 carry no
AlarmArn, only the account, the alarm name and the region's display name ("EU - Ireland", "US East (N.
Virginia)"): their ARN is built from those, so an alarm has the same key whichever format announced it. The
display names come from a RegionLookup passed as validation context (adapters/regions.py reads botocore's).
"""

import re
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, Json, PrivateAttr, ValidationInfo, model_validator

from .enums import AlarmState
from .models import AlarmDetails


class _Lenient(BaseModel):
    # CloudWatch adds fields over time; unknown ones must not turn an alarm into a dead letter.
    # defer_build: a model's validator is built on its first use, so a function builds only the models it uses (cold start).
    model_config = ConfigDict(defer_build=True, extra="ignore")


class MetricDimension(_Lenient):
    name: str
    value: str


class AlarmTrigger(_Lenient):
    MetricName: str | None = None
    Namespace: str | None = None
    Dimensions: list[MetricDimension] = []
    # Metric-math alarms carry their metrics here instead of MetricName/Namespace.
    Metrics: list[dict[str, Any]] | None = None


AlarmNameStr = Annotated[str, Field(min_length=1, max_length=255)]
AlarmArnStr = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$")]
StateReasonStr = Annotated[str, Field(max_length=4096)]


# --- regions ------------------------------------------------------------------------------------------------


class Region(NamedTuple):
    code: str  # us-east-1
    partition: str  # aws, aws-cn, aws-us-gov …


class RegionLookup(Protocol):
    def __call__(self, name: str) -> Region | None:
        """The region a code or display name (any spelling region_key accepts) stands for, if any."""


REGIONS = "regions"  # the validation context key holding the RegionLookup


def region_key(name: str) -> str:
    """One spelling for the ways CloudWatch and botocore have written a region's name: whitespace collapsed,
    case folded, "US East - N. Virginia" (before ~2018) as "US East (N. Virginia)", "EU (Ireland)" (before
    2020) as "Europe (Ireland)"."""
    key = " ".join(name.split()).casefold()
    key = re.sub(r"^(.+?) - (.+)$", r"\1 (\2)", key)
    return re.sub(r"^eu \(", "europe (", key)


def _region(info: ValidationInfo, name: str | None) -> Region | None:
    lookup: RegionLookup | None = (info.context or {}).get(REGIONS)
    return lookup(name) if lookup and name else None


def alarm_arn(region: Region, account: str, name: str) -> str:
    return f"arn:{region.partition}:cloudwatch:{region.code}:{account}:alarm:{name}"


# --- SNS ----------------------------------------------------------------------------------------------------


class CloudWatchAlarmNotification(_Lenient):
    AlarmName: AlarmNameStr
    # Absent from notifications sent before ~2018: then Region (a display name) must be one we know.
    AlarmArn: AlarmArnStr | None = None
    AWSAccountId: str
    NewStateValue: AlarmState
    NewStateReason: StateReasonStr = ""
    StateChangeTime: datetime
    Region: str | None = None
    OldStateValue: AlarmState | None = None
    AlarmDescription: str | None = None
    Trigger: AlarmTrigger | None = None
    _arn: str = PrivateAttr("")

    @model_validator(mode="after")
    def _locate(self, info: ValidationInfo) -> "CloudWatchAlarmNotification":
        if self.AlarmArn:
            self._arn = self.AlarmArn
            return self
        region = _region(info, self.Region)
        if region is None:
            raise ValueError(
                f"AlarmArn is missing and Region {self.Region!r} is not a known AWS region name, "
                "so the alarm cannot be identified"
            )
        self._arn = alarm_arn(region, self.AWSAccountId, self.AlarmName)
        return self

    def details(self) -> AlarmDetails:
        trigger = self.Trigger or AlarmTrigger()
        namespace = trigger.Namespace or _math_namespace(trigger.Metrics)
        return AlarmDetails(
            name=self.AlarmName,
            arn=self._arn,
            state=self.NewStateValue,
            reason=self.NewStateReason,
            description=self.AlarmDescription,
            namespace=namespace,
            metric=trigger.MetricName,
            dimensions={d.name: d.value for d in trigger.Dimensions},
            region=self._arn.split(":")[3],  # the notification's `Region` is a display name
            account_id=self.AWSAccountId,
            changed_at=self.StateChangeTime,
        )


class SnsAlarmEnvelope(_Lenient):
    """The SNS notification (no raw delivery) that carries an alarm action's message to the intake queue, and the
    message in it: one validation for both. Signatures are not checked: the queue takes only the topic's messages."""

    Type: Literal["Notification"]
    MessageId: str  # the same on every redelivery of this notification
    Message: Json[CloudWatchAlarmNotification]


def _math_namespace(metrics: list[dict[str, Any]] | None) -> str | None:
    for metric in metrics or []:
        namespace = metric.get("MetricStat", {}).get("Metric", {}).get("Namespace")
        if isinstance(namespace, str) and namespace:
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
    # The alarm's ARN is the event's one resource; without it (seen in events replayed or hand-made) the
    # event's own account and region, which are the alarm's, give the same ARN.
    resources: list[AlarmArnStr] = []
    account: str | None = None
    region: str | None = None
    detail: AlarmStateChangeDetail
    _arn: str = PrivateAttr("")

    @model_validator(mode="after")
    def _locate(self, info: ValidationInfo) -> "CloudWatchAlarmStateChange":
        if self.resources:
            self._arn = self.resources[0]
            return self
        region = _region(info, self.region)
        if region is None or not self.account:
            raise ValueError(
                "resources is empty, so the event's account and region must name the alarm's: "
                f"account {self.account!r}, region {self.region!r}"
            )
        self._arn = alarm_arn(region, self.account, self.detail.alarmName)
        return self

    def details(self) -> AlarmDetails:
        arn = self._arn
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
