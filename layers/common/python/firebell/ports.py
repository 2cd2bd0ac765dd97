"""The small interfaces domain services depend on. AWS implements them in data/ and adapters/;
tests replace them with in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .domain.enums import Priority, Status
from .domain.models import Incident, IncidentEvent, TimelineEntry


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    status: Status | None = None
    priority: Priority | None = None
    team: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Incident]
    cursor: str | None


class IncidentStore(Protocol):
    def next_reference(self) -> str:
        """Atomically allocate the next human reference (INC-1, INC-2, …); never reused."""

    def create(self, incident: Incident) -> Incident:
        """Insert a new incident; fails if the id exists."""

    def get(self, incident_id: str) -> Incident | None: ...

    def get_by_reference(self, reference: str) -> Incident | None: ...

    def save(self, incident: Incident) -> Incident:
        """Conditional on `incident.version`; raises ConcurrentUpdate if someone saved first."""

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page: ...

    def claim_dedup_key(self, dedup_key: str, incident_id: str) -> str | None:
        """One conditional write: claim the key for `incident_id`, or return the incident already holding it."""

    def dedup_holder(self, dedup_key: str) -> str | None:
        """The open incident holding the key, if any."""

    def release_dedup_key(self, dedup_key: str, incident_id: str) -> None: ...

    def record_occurrence(self, incident_id: str, seen_at: datetime) -> int | None:
        """Count one more occurrence; the new count, or None if the incident does not exist."""

    def append_timeline(self, entry: TimelineEntry) -> None: ...

    def timeline(self, incident_id: str) -> list[TimelineEntry]: ...

    def consume_once(self, key: str, expires_at: datetime) -> bool:
        """True the first time `key` is presented (one conditional write), False ever after."""


class EventPublisher(Protocol):
    def publish(self, event: IncidentEvent) -> None: ...


class Workflows(Protocol):
    """The state machines in infra/statemachines: escalation, sla, reminder, resolution, maintenance."""

    def start(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        """Start an execution (idempotent per name); returns its id."""

    def answer(self, task_token: str, outcome: str) -> bool:
        """Answer a waiting task (SendTaskSuccess); False if that wait already ended."""

    def stop(self, execution_id: str, cause: str) -> None:
        """Stop an execution (already finished is fine)."""


class Messenger(Protocol):
    def send_email(self, sender: str, to: str, subject: str, body: str) -> str: ...

    def send_sms(self, phone: str, text: str) -> str: ...


Clock = Callable[[], datetime]
