"""Classification, priority and SLA rules: data (config/rules.yaml), validated here."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .enums import Impact, Priority, Urgency


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    # After resolution: how long the reporter or a returning alarm can reopen it before it closes.
    confirmation_window_minutes: Annotated[float, Field(gt=0)] = 60
    # Share of an SLA target at which the owner is warned that it is at risk.
    sla_at_risk_share: Annotated[float, Field(gt=0, lt=1)] = 0.75
    # While open, stakeholder updates are due this often.
    stakeholder_update_minutes: dict[Priority, Annotated[float, Field(gt=0)]] = {Priority.P1: 30, Priority.P2: 60}
    review_required: list[Priority] = [Priority.P1, Priority.P2]
    review_due_days: Annotated[float, Field(gt=0)] = 5
    review_reminder_hours: Annotated[float, Field(gt=0)] = 24
    ack_link_hours: Annotated[float, Field(gt=0)] = 24
    # Priorities that get an incident manager assigned and paged as soon as they are classified.
    incident_manager_priorities: list[Priority] = [Priority.P1]


class Rules(_Strict):
    priority_matrix: dict[Impact, dict[Urgency, Priority]]
    sla_targets: dict[Priority, SlaTarget]
    categories: list[CategoryRule]
    default_category: CategoryRule
    process: ProcessRules = ProcessRules()

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
