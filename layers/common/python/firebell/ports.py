"""The small interfaces domain services depend on. AWS implements them in data/ and adapters/;
tests replace them with in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .domain.enums import Priority, Status, TaskOutcome
from .domain.facts import IncidentFacts
from .domain.models import Incident, IncidentEvent, TimelineEntry
from .outbox import Change, Effect, EffectStatus


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    status: Status | None = None
    priority: Priority | None = None
    team: str | None = None
    reporter: str | None = None

    def sealed_as(self) -> list[str | None]:
        """What a page cursor is bound to (domain/cursors.py). The reporter only when filtered by: cursors made
        before it existed stay valid."""
        reporter = [self.reporter] if self.reporter else []
        return [self.status and self.status.value, self.priority and self.priority.value, self.team, *reporter]


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
    resolved_at: datetime | None  # its incident is resolved: a new trigger inside the confirmation window reopens it
    last_logged_at: datetime | None  # last repeat put on the timeline
    claimed: bool  # this very signal claimed the key (it must open the incident)
    replayed: bool = False  # this very notification was counted before (a redelivery): not counted again
    # When it fired before this notification (the silence it broke); None on a replay others have come after.
    previous_seen: datetime | None = None
    counted: int = 0  # occurrences this very write added (0 on a read, or when every notification was replayed)
    # When the source says the alert last changed to firing, as the trigger counted last said (None: no source time)
    triggered_at: datetime | None = None


# The most notifications record_signals takes at once: their markers and the count are one DynamoDB transaction,
# which holds at most 100 items.
SIGNALS_PER_WRITE = 99


class IncidentStore(Protocol):
    """Reads, and one transaction per change (data/store.py; tests/fakes.py keeps the same semantics)."""

    def next_reference(self) -> str:
        """Atomically allocate the next human reference (INC-1, INC-2, …); never reused."""

    def get(self, incident_id: str) -> Incident | None: ...

    def get_by_reference(self, reference: str) -> Incident | None: ...

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page: ...

    def timeline(self, incident_id: str) -> builtins.list[TimelineEntry]: ...

    def last_fix(self, dedup_key: str) -> IncidentFacts | None:
        """The facts of the last closed incident of this alert (the closing change stores them), if any."""

    def facts_between(self, start: datetime, end: datetime) -> builtins.list[IncidentFacts]:
        """Facts of the incidents opened in [start, end) that closed (the closing change stores them)."""

    def add_facts(self, facts: IncidentFacts) -> bool:
        """Store an incident's facts if it has none (a backfill: the closing change writes them); whether it did."""

    def recent_facts(self, before: datetime, limit: int) -> builtins.list[IncidentFacts]:
        """Facts of the last `limit` closed incidents opened before `before` (this month and the last), newest first."""

    def dedup_state(self, dedup_key: str) -> DedupState | None: ...

    def idempotent_incident(self, key: str) -> tuple[str, str] | None:
        """(incident id, request fingerprint) that a client's Idempotency-Key opened, if any."""

    def commit(self, change: Change) -> Incident:
        """State, timeline entries, pending effects and the change's side items in ONE transaction, conditioned on
        the version read; ConcurrentUpdate if someone committed first, OnceKeyUsed / IdempotencyKeyTaken."""

    def record_signals(
        self,
        dedup_key: str,
        candidate_id: str,
        seen_at: datetime,
        message_ids: Sequence[str | None],
        triggered_at: datetime | None = None,
    ) -> DedupState:
        """ONE write: claim the key for `candidate_id` if nobody holds it, and count these occurrences, one per entry
        (a notification's id, counted once across redeliveries, or None); at most SIGNALS_PER_WRITE of them.
        `triggered_at`: when the source says the alert changed to firing (kept as the pointer's triggered_at)."""

    def log_repeat(
        self, dedup_key: str, incident_id: str, logged_before: datetime | None, entry: TimelineEntry
    ) -> bool:
        """Take the storm's next timeline slot and write its line, together; False if another repeat took it."""

    def replace_dedup(
        self,
        dedup_key: str,
        old_incident_id: str,
        candidate_id: str,
        seen_at: datetime,
        message_id: str | None = None,
        occurrences: int = 1,
    ) -> bool:
        """Point the key at a new incident (the old one resolved long ago), seen `occurrences` times so far; False if
        someone else did first."""

    def pending_effects(self, incident_id: str) -> builtins.list[Effect]: ...

    def claim_effect(
        self, effect: Effect, now: datetime, lease_until: datetime, ours_until: datetime | None = None
    ) -> bool:
        """Take a pending effect (or one whose claimer's lease ran out, or, with `ours_until`, one its commit claimed
        for us until then: the lease is extended); False if another dispatcher has it or it is done."""

    def complete_effect(
        self, effect: Effect, status: EffectStatus, result: str, entries: Sequence[TimelineEntry] = ()
    ) -> None: ...

    def complete_effects(self, done: builtins.list[tuple[Effect, str]]) -> None:
        """Several claimed effects done, with no timeline lines (each completed once, as above; not atomically: a
        done mark stands alone, and DynamoDB bills a transaction's items twice)."""

    def release_effect(self, effect: Effect) -> None:
        """Give a claimed effect back (it failed): the next dispatch may take it without waiting for the lease."""

    def effect_status(self, incident_id: str, effect_id: str) -> EffectStatus | None: ...

    def outbox(self, committed_before: datetime, limit: int = 100) -> builtins.list[Effect]:
        """Effects not done that committed before `committed_before`, oldest first (for the relay)."""

    # SMS digest windows (domain/sms_digest.py), one item per person and window

    def count_sms(self, person: str, window: int, effect_id: str, limit: int, at: datetime) -> bool:
        """ONE write: count this SMS effect in the window if fewer than `limit` are (or it was counted before):
        True, send it; False, the window is full."""

    def hold_sms(self, person: str, window: int, effect_id: str, held: dict[str, Any], at: datetime) -> bool:
        """ONE write (idempotent per effect): keep it for the window's digest; False if the digest went already."""

    def close_digest(self, person: str, window: int, effect: Effect | None, at: datetime) -> bool:
        """ONE transaction: mark the window's digest sent (no more holds) and commit its SMS effect; False if done before."""

    def held_sms(self, person: str, window: int) -> builtins.list[dict[str, Any]]:
        """What `hold_sms` kept for the window, in the order held."""


class DeliveryLog(Protocol):
    """Which webhook deliveries (by their webhook-id) an endpoint took."""

    def delivered(self, message_id: str) -> bool: ...

    def mark_delivered(self, message_id: str, keep_until: datetime) -> None: ...


class DeadLetterReplay(Protocol):
    def move(self, limit: int) -> list[str]:
        """Move up to `limit` dead-lettered messages back to their queue; the reasons they were dead-lettered for."""


class WebhookSender(Protocol):
    def post(self, url: str, body: str, headers: dict[str, str], timeout_seconds: float) -> int | None:
        """The endpoint's HTTP status, or None when it gave none (a timeout, a refused connection, a TLS error)."""


class EventPublisher(Protocol):
    def publish(self, event: IncidentEvent, audience: Mapping[str, bool] | None = None) -> None:
        """`audience`: which optional consumers want it (domain/audience.py); None: every one gets it."""


class Workflows(Protocol):
    """The state machines in infra/statemachines: escalation, sla, reminder, resolution, maintenance."""

    def execution_arn(self, machine: str, name: str) -> str:
        """The id an execution of `machine` named `name` has (or will have): names are unique per machine."""

    def start(self, machine: str, name: str, payload: dict[str, Any]) -> str:
        """Start an execution (idempotent per name); returns its id."""

    def answer(self, task_token: str, outcome: TaskOutcome, **details: Any) -> bool:
        """Answer a waiting task (SendTaskSuccess with {"outcome": …, **details}); False if that wait already ended."""

    def stop(self, execution_id: str, cause: str) -> None:
        """Stop an execution (already finished is fine)."""


class Messenger(Protocol):
    def send_email(self, sender: str, to: str, subject: str, body: str) -> str: ...

    def send_sms(self, phone: str, text: str) -> str: ...

    def send_chat(self, user: str, text: str) -> str:
        """A Slack direct message from the firebell app; its message ts."""
        ...


Clock = Callable[[], datetime]


class FeedSecrets(Protocol):
    """Per person, the SHA-256 of their calendar feed token (data/feed_store.py)."""

    def feed(self, person: str) -> tuple[str, datetime] | None: ...

    def replace(self, person: str, secret_sha256: str, created_at: datetime) -> None: ...

    def delete(self, person: str) -> None: ...


class MailBucket(Protocol):
    """Received mail as SES stores it (adapters/aws.py S3MailBucket)."""

    def read(self, bucket: str, key: str) -> bytes:
        """The raw message stored at `key`."""
