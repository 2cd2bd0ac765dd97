"""Classification, priority and SLA rules: data (config/rules.yaml), validated here."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .enums import Impact, Priority, Urgency


class _Strict(BaseModel):
    # defer_build: a model's validator is built on its first use, so a function builds only the models it uses (cold start).
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class SlaTarget(_Strict):
    response_minutes: Annotated[int, Field(gt=0)]
    resolution_minutes: Annotated[int, Field(gt=0)]

    @model_validator(mode="after")
    def _response_before_resolution(self) -> "SlaTarget":
        if self.response_minutes > self.resolution_minutes:
            raise ValueError("response_minutes must not exceed resolution_minutes")
        return self


class CategoryRule(_Strict):
    """A category and how to recognise it: alarm namespaces first, then words in the report."""

    name: Annotated[str, Field(min_length=1)]
    namespaces: list[str] = []
    keywords: list[str] = []
    impact: Impact = Impact.MEDIUM
    urgency: Urgency = Urgency.MEDIUM


class ProcessRules(_Strict):
    """Timers and duties of the incident process (all configurable, ITIL-style defaults)."""

    # An acknowledged incident untouched this long is re-triggered and paged again.
    ack_timeout_minutes: Annotated[float, Field(gt=0)] = 30
    # The one reopen rule. After resolution, for this long, the reporter (or anyone) may reopen the incident and
    # the same alert firing again reopens it; then it closes, and the alert's next firing opens a new incident.
    confirmation_window_minutes: Annotated[float, Field(gt=0)] = 60
    # Share of an SLA target at which the owner is warned that it is at risk.
    sla_at_risk_share: Annotated[float, Field(gt=0, lt=1)] = 0.75
    # While open, stakeholder updates are due this often.
    stakeholder_update_minutes: dict[Priority, Annotated[float, Field(gt=0)]] = {Priority.P1: 30, Priority.P2: 60}
    review_required: list[Priority] = [Priority.P1, Priority.P2]
    review_due_days: Annotated[float, Field(gt=0)] = 5
    review_reminder_hours: Annotated[float, Field(gt=0)] = 24
    # Rounds of a review's reminder run (the first is the resolution email that tells its owner): a review nobody
    # does stops being chased after this many, and the timeline says so.
    review_reminder_max_rounds: Annotated[int, Field(ge=1, le=500)] = 7
    ack_link_hours: Annotated[float, Field(gt=0)] = 24
    # In an alert storm, a repeat goes on the timeline at most this often (the count is always exact).
    occurrence_log_minutes: Annotated[float, Field(gt=0)] = 5
    # An acknowledged incident's alert that fires again after being silent this long re-triggers it and pages from
    # level 1 again (Alertmanager #3959); repeats that come sooner are counted only. Keep it above the
    # repeat_interval of an Alertmanager that sends here: its resends of a still-firing alert are not a return.
    renotify_after_silence_minutes: Annotated[float, Field(gt=0)] = 60
    # Priorities that get an incident manager assigned and paged as soon as they are classified.
    incident_manager_priorities: list[Priority] = [Priority.P1]


# --- severity of monitoring sources → impact and urgency (docs/integrations.md) ---------------


class PagerDutySeverity(StrEnum):
    """payload.severity of the PagerDuty Events API v2."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class ImpactUrgency(_Strict):
    impact: Impact
    urgency: Urgency


def _iu(impact: str, urgency: str) -> ImpactUrgency:
    return ImpactUrgency(impact=Impact(impact), urgency=Urgency(urgency))


_PAGERDUTY_DEFAULTS = {
    PagerDutySeverity.CRITICAL: _iu("high", "high"),
    PagerDutySeverity.ERROR: _iu("high", "medium"),
    PagerDutySeverity.WARNING: _iu("medium", "medium"),
    PagerDutySeverity.INFO: _iu("low", "low"),
}


class AlertmanagerSeverityRules(_Strict):
    """Alertmanager has no severity field: by convention an alert carries it as a label."""

    label: Annotated[str, Field(min_length=1, max_length=256)] = "severity"
    # The label's value (compared case-insensitively) → impact and urgency.
    values: dict[Annotated[str, Field(min_length=1, max_length=256)], ImpactUrgency] = {
        "critical": _iu("high", "high"),
        "error": _iu("high", "medium"),
        "warning": _iu("medium", "medium"),
        "info": _iu("low", "low"),
    }
    # The label is missing or has another value. None: the category rules decide.
    default: ImpactUrgency | None = _iu("medium", "medium")

    @field_validator("values")
    @classmethod
    def _lower_case(cls, values: dict[str, ImpactUrgency]) -> dict[str, ImpactUrgency]:
        lowered: dict[str, ImpactUrgency] = {}
        for value, mapped in values.items():
            key = value.strip().lower()
            if key in lowered:
                raise ValueError(f"{value!r} is listed twice (values are compared case-insensitively)")
            lowered[key] = mapped
        return lowered


class SeverityRules(_Strict):
    pagerduty: dict[PagerDutySeverity, ImpactUrgency] = _PAGERDUTY_DEFAULTS
    alertmanager: AlertmanagerSeverityRules = AlertmanagerSeverityRules()

    @model_validator(mode="after")
    def _every_pagerduty_severity(self) -> "SeverityRules":
        missing = [s.value for s in PagerDutySeverity if s not in self.pagerduty]
        if missing:
            raise ValueError(f"pagerduty lacks severities {missing}")
        return self

    def for_pagerduty(self, severity: PagerDutySeverity) -> ImpactUrgency:
        return self.pagerduty[severity]

    def for_alertmanager(self, labels: dict[str, str]) -> ImpactUrgency | None:
        rules = self.alertmanager
        value = labels.get(rules.label)
        if value is None:
            return rules.default
        return rules.values.get(value.strip().lower(), rules.default)


class Rules(_Strict):
    priority_matrix: dict[Impact, dict[Urgency, Priority]]
    sla_targets: dict[Priority, SlaTarget]
    categories: list[CategoryRule]
    default_category: CategoryRule
    process: ProcessRules = ProcessRules()
    severity: SeverityRules = SeverityRules()

    @model_validator(mode="after")
    def _complete(self) -> "Rules":
        for impact in Impact:
            missing = [u.value for u in Urgency if u not in self.priority_matrix.get(impact, {})]
            if missing:
                raise ValueError(f"priority_matrix.{impact.value} lacks urgencies {missing}")
        missing_sla = [p.value for p in Priority if p not in self.sla_targets]
        if missing_sla:
            raise ValueError(f"sla_targets lacks {missing_sla}")
        return self
