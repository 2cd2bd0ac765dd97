"""The small interfaces domain services depend on. AWS implements them in data/ and adapters/;
tests replace them with in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .domain.enums import Priority, Status, TaskOutcome
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


@dataclass(frozen=True, slots=True)
class DedupState:
    """The dedup pointer of one alert key: which incident it feeds and how often it has fired."""

    incident_id: str
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    created: bool  # the incident was written (a claim whose writer crashed is finished by a later signal)
    resolved_at: datetime | None  # its incident is resolved: a new trigger within the flapping window reopens it
    last_logged_at: datetime | None  # last repeat put on the timeline
    claimed: bool  # this very signal claimed the key (it must open the incident)


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

    def record_signal(self, dedup_key: str, candidate_id: str, seen_at: datetime) -> DedupState:
        """ONE write: claim the key for `candidate_id` if nobody holds it, and count this occurrence."""

    def dedup_state(self, dedup_key: str) -> DedupState | None: ...

    def mark_dedup(self, dedup_key: str, incident_id: str, *, created: bool | None = None,
                   resolved_at: datetime | None | bool = False, logged_at: datetime | None = None,
                   logged_before: datetime | None | bool = False) -> bool:
        """Conditional on the key still feeding `incident_id` (and, if given, on the last log time): False if not."""

    def replace_dedup(self, dedup_key: str, old_incident_id: str, candidate_id: str, seen_at: datetime) -> bool:
        """Point the key at a new incident (the old one resolved long ago); False if someone else did first."""

    def release_dedup_key(self, dedup_key: str, incident_id: str) -> None: ...

    def sync_occurrences(self, incident_id: str, occurrences: int, last_seen: datetime) -> None:
        """Copy the pointer's count onto the incident (only ever upwards)."""

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

    def answer(self, task_token: str, outcome: TaskOutcome, **details: Any) -> bool:
        """Answer a waiting task (SendTaskSuccess with {"outcome": …, **details}); False if that wait already ended."""

    def stop(self, execution_id: str, cause: str) -> None:
        """Stop an execution (already finished is fine)."""


class Messenger(Protocol):
    def send_email(self, sender: str, to: str, subject: str, body: str) -> str: ...

    def send_sms(self, phone: str, text: str) -> str: ...


Clock = Callable[[], datetime]
