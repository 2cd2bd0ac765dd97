"""CloudWatch alarm notifications, as CloudWatch publishes them to SNS (the `Message` of the notification)."""

from datetime import datetime
from typing import Annotated

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


class CloudWatchAlarmNotification(_Lenient):
    AlarmName: Annotated[str, Field(min_length=1, max_length=255)]
    AlarmArn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$")]
    AWSAccountId: str
    NewStateValue: AlarmState
    NewStateReason: Annotated[str, Field(max_length=4096)] = ""
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
