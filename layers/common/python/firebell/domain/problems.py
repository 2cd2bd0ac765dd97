"""Problems (ITIL problem management): the cause behind incidents, investigated until it is a known error (root
cause and workaround written down) and then resolved. Kept in the directory (config/firebell.yaml `problems`, or
the admin API: PUT /admin/problems/PRB-1), so every function has them at hand without a read of its own.

A new incident that matches a known error carries its workaround from its first page on (usecases/escalation.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from .text import Text


class ProblemStatus(StrEnum):
    INVESTIGATING = "investigating"
    KNOWN_ERROR = "known_error"
    RESOLVED = "resolved"


class ProblemMatch(BaseModel):
    """Which incidents a known error explains: any of its alerts (an alarm's name, or a monitoring tool's dedup key),
    or every one of its keywords in the title and description (case-insensitive), on one of its services if it
    names any."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)
    alerts: list[Annotated[str, Field(min_length=1)]] = []
    keywords: list[Annotated[str, Field(min_length=2)]] = []
    services: list[str] = []


class Problem(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)
    id: Annotated[str, Field(min_length=1, max_length=64)]
    title: Annotated[str, Text(200)]
    status: ProblemStatus = ProblemStatus.INVESTIGATING
    description: Annotated[str, Text(4000, required=False, one_line=False)] = ""
    root_cause: Annotated[str, Text(4000, required=False, one_line=False)] = ""
    # Copied into the incidents it explains and every page sent for them: a few sentences, not a runbook (link one).
    workaround: Annotated[Annotated[str, Text(1000, required=False, one_line=False)], Field(validate_default=True)] = ""
    match: ProblemMatch = Field(default_factory=ProblemMatch)
    # Incidents linked to it by hand, besides those it matched: their references.
    incidents: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]*-[0-9]+$", max_length=32)]], Field(max_length=1000)
    ] = []

    @field_validator("workaround")
    @classmethod
    def _a_known_error_says_what_to_do(cls, workaround: str, info: ValidationInfo) -> str:
        if info.data.get("status") is ProblemStatus.KNOWN_ERROR and not workaround:
            raise ValueError("a known error needs its workaround: what a responder does until the problem is resolved")
        return workaround


def matches(match: ProblemMatch, text: str, alerts: tuple[str | None, ...], service: str | None) -> bool:
    """`alerts`: the names the incident's alert goes by (its alarm's name, its dedup key)."""
    if any(alert and alert in match.alerts for alert in alerts):
        return True
    if not match.keywords or (match.services and service not in match.services):
        return False
    lowered = text.casefold()
    return all(keyword.casefold() in lowered for keyword in match.keywords)


def known_error_for(
    problems: list[Problem], text: str, alerts: tuple[str | None, ...], service: str | None
) -> Problem | None:
    """The first known error (in the directory's order) that explains an incident like this, if any."""
    return next(
        (p for p in problems if p.status is ProblemStatus.KNOWN_ERROR and matches(p.match, text, alerts, service)), None
    )
