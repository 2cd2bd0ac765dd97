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


class Rules(_Strict):
    priority_matrix: dict[Impact, dict[Urgency, Priority]]
    sla_targets: dict[Priority, SlaTarget]
    categories: list[CategoryRule]
    default_category: CategoryRule

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
