"""What the API reads: the bodies of its requests (each refused with a 422 naming the field it finds wrong).
The incident and the messages between functions are models.py's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from .enums import Impact, Urgency
from .models import Model
from .text import Actor, LongText, Name, Text, Title


class IncidentCreate(Model):
    title: Title
    description: LongText = ""
    # Who the incident is reported for (a service desk reporting a caller's problem); the authenticated caller
    # when absent. Whoever sends it, the timeline names the caller as the one who opened it.
    reporter: Actor | None = None
    service: Name | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None


# The actor of every command is the authenticated caller (docs/access.md), never a body field: a body that still
# carries `by` is refused (extra="forbid") with 422 naming body.by, so an old client learns it at once.


class AcknowledgeRequest(Model):
    """Nothing to say: the body may be absent or {}."""


class ResolveRequest(Model):
    resolution_notes: Annotated[str, Text(65_536, one_line=False)]


class NoteRequest(Model):
    text: Annotated[str, Text(65_536, one_line=False)]


class ResumeRequest(Model):
    """Nothing to say: the body may be absent or {}."""


class ReasonRequest(Model):
    reason: Annotated[str, Text(4096, required=False, one_line=False)] = ""


class ReassignRequest(Model):
    to: Annotated[str, Text(128)]


class StakeholderUpdateRequest(Model):
    message: Annotated[str, Text(65_536, one_line=False)]


class ReviewRequest(Model):
    summary: Annotated[str, Text(65_536, one_line=False)]


class ReviewDraft(Model):
    """What the review found so far; a field left out stays as it was."""

    root_cause: LongText | None = None
    contributing_factors: Annotated[list[Annotated[str, Text(2000, one_line=False)]], Field(max_length=50)] | None = (
        None
    )


class DrillStart(Model):
    """A drill: a synthetic incident paged through the real policy and schedules; a field left out is the demo's."""

    title: Annotated[str, Text(200)] = "Checkout returns errors"
    service: Name | None = None
    impact: Impact = Impact.HIGH
    urgency: Urgency = Urgency.MEDIUM


def _in_utc(at: datetime) -> datetime:
    try:
        return at.astimezone(UTC)
    except OverflowError:  # (a time at the very ends of datetime's range, e.g. year 1 with a positive offset)
        raise ValueError("is out of range") from None


class ActionItemCreate(Model):
    text: Annotated[str, Text(2000, one_line=False)]
    owner: Actor  # a person of the directory: reminded until it is done
    due_at: Annotated[AwareDatetime, AfterValidator(_in_utc)]  # within the next year (usecases/reviews.py)


class ProblemLink(Model):
    problem: Annotated[str, Field(min_length=1, max_length=128, description="The problem record's id, e.g. PRB-1")]
