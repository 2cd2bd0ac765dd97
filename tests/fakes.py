"""In-memory fakes of every port in firebell/ports.py (and of the batch dead-letter sink).

They keep the semantics of the AWS implementations that matter to the service:

* ``InMemoryIncidentStore`` behaves like ``firebell.data.store.DynamoIncidentStore``: ``create`` refuses an
  existing id and stores version 1; ``save`` is conditional on ``incident.version`` (0 means "no version yet",
  as pynamodb's VersionAttribute) and bumps it; references come from one atomic counter; the timeline reads back ordered by time (ties in insertion order); ``list`` is
  newest first (by opened_at, like the by-recency/by-status indexes), filters before the limit as pynamodb's
  iterator does, and returns an opaque cursor (a bad one raises the same ``InvalidCursor``). One difference:
  the cursor is None as soon as nothing is left, where DynamoDB may hand back one last empty page.
* The dedup pointers are kept as DynamoDB keeps the DEDUP items (ISO-8601 strings, absent attributes missing):
  ``record_signal`` is one UpdateItem (``if_not_exists`` on incident_id and first_seen, ``ADD occurrences 1``)
  and says ``claimed`` exactly when the store's rule does (the candidate holds the key and the count is 1);
  ``mark_dedup``/``replace_dedup``/``release_dedup_key`` are conditional on the key still feeding the given
  incident (``mark_dedup`` also on ``last_logged_at``, compared as the stored string); ``sync_occurrences``
  only raises the incident's count and bumps its ``version``, so a stale full save is refused.
* ``calls`` counts every port call by name (``writes()`` the writes among them), so tests can assert what an
  operation costs.
* ``consume_once`` is one conditional write, like DynamoDB's: True the first time a key is presented, False
  ever after (whatever its expiry says: expired keys are refused by the caller before they get here).
* ``FakeWorkflows`` behaves like ``firebell.adapters.aws.StepFunctionsWorkflows``: ``start`` is idempotent per
  (machine, execution name) and needs a JSON-serialisable input; a task token can be answered once (True),
  after which, or once its wait has ended (``expire``), ``answer`` is False; ``stop`` of anything is fine.
* Every fake is thread-safe: the concurrency tests hammer them from many threads.

Stored objects are deep copies in both directions, so a caller mutating what it got back cannot change the
store behind its back (DynamoDB would not let it either).
"""

from __future__ import annotations

import base64
import binascii
import collections
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from firebell.data.store import InvalidCursor
from firebell.domain.errors import ConcurrentUpdate
from firebell.domain.models import Incident, IncidentEvent, TimelineEntry
from firebell.ports import DedupState, IncidentFilter, Page

__all__ = [
    "DeadLetter",
    "FakeWorkflows",
    "FixedClock",
    "InMemoryIncidentStore",
    "OutboxMessenger",
    "RecordingDeadLetters",
    "RecordingEvents",
    "SentEmail",
    "SentSms",
    "Started",
]


# --- IncidentStore ------------------------------------------------------------------------------


class InMemoryIncidentStore:
    """IncidentStore with DynamoIncidentStore's conditional-write semantics, behind one lock."""

    # The port calls that write (what DynamoDB bills as a write request).
    WRITES = frozenset({
        "next_reference", "create", "save", "record_signal", "mark_dedup", "replace_dedup", "release_dedup_key",
        "sync_occurrences", "append_timeline", "consume_once",
    })

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._incidents: dict[str, Incident] = {}
        self._dedup: dict[str, dict] = {}  # DEDUP#<key> items, attribute name → stored value
        self._timeline: dict[str, list[tuple[datetime, int, TimelineEntry]]] = {}
        self._reference_counter = 0
        self._sequence = itertools.count()
        self._once: dict[str, datetime] = {}
        self.calls: collections.Counter[str] = collections.Counter()

    def _count(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1

    def writes(self) -> int:
        """How many writing port calls were made so far."""
        with self._lock:
            return sum(n for method, n in self.calls.items() if method in self.WRITES)

    # references

    def next_reference(self) -> str:
        self._count("next_reference")
        with self._lock:  # DynamoDB's ADD is atomic: each caller gets its own number, none is reused
            self._reference_counter += 1
            return f"INC-{self._reference_counter}"

    # incidents

    def create(self, incident: Incident) -> Incident:
        self._count("create")
        with self._lock:
            if incident.incident_id in self._incidents:
                raise ConcurrentUpdate(f"incident {incident.incident_id} already exists")
            stored = incident.model_copy(update={"version": 1}, deep=True)  # pynamodb: no version → 1
            self._incidents[incident.incident_id] = stored
            return stored.model_copy(deep=True)

    def get(self, incident_id: str) -> Incident | None:
        self._count("get")
        with self._lock:
            found = self._incidents.get(incident_id)
            return found.model_copy(deep=True) if found else None

    def get_by_reference(self, reference: str) -> Incident | None:
        self._count("get_by_reference")
        with self._lock:
            found = next((i for i in self._incidents.values() if i.reference == reference), None)
            return found.model_copy(deep=True) if found else None

    def save(self, incident: Incident) -> Incident:
        self._count("save")
        with self._lock:
            current = self._incidents.get(incident.incident_id)
            # pynamodb: `version = <loaded>` when the loaded version is truthy, else `attribute_not_exists(version)`
            stored_version = current.version if current else 0
            if incident.version != stored_version:
                raise ConcurrentUpdate(incident.incident_id)
            stored = incident.model_copy(update={"version": stored_version + 1}, deep=True)
            self._incidents[incident.incident_id] = stored
            return stored.model_copy(deep=True)

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page:
        self._count("list")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        after = _decode_cursor(cursor)
        with self._lock:
            matching = [
                i
                for i in self._incidents.values()
                if (filters.status is None or i.status == filters.status)
                and (filters.priority is None or i.priority == filters.priority)
                and (filters.team is None or i.team == filters.team)
            ]
        matching.sort(key=_list_key, reverse=True)  # the indexes are read newest first
        if after is not None:
            matching = [i for i in matching if _list_key(i) < after]
        items = [i.model_copy(deep=True) for i in matching[:limit]]
        more = len(matching) > limit
        return Page(items=items, cursor=_encode_cursor(_list_key(items[-1])) if more else None)

    # deduplication: one pointer per alert key, stored as DynamoDB holds it (ISO strings, absent = missing)

    def record_signal(self, dedup_key: str, candidate_id: str, seen_at: datetime) -> DedupState:
        self._count("record_signal")
        now = seen_at.isoformat()
        with self._lock:  # one UpdateItem: SET incident_id = if_not_exists(...), first_seen = if_not_exists(...),
            pointer = self._dedup.setdefault(dedup_key, {})  # last_seen = now, ADD occurrences 1; ALL_NEW
            pointer.setdefault("incident_id", candidate_id)
            pointer.setdefault("first_seen", now)
            pointer["last_seen"] = now
            pointer["occurrences"] = pointer.get("occurrences", 0) + 1
            pointer.setdefault("created", False)
            return _dedup_state(pointer, candidate_id)

    def dedup_state(self, dedup_key: str) -> DedupState | None:
        self._count("dedup_state")
        with self._lock:
            pointer = self._dedup.get(dedup_key)
            return _dedup_state(pointer, None) if pointer is not None else None

    def mark_dedup(self, dedup_key: str, incident_id: str, *, created: bool | None = None,
                   resolved_at: datetime | None | bool = False, logged_at: datetime | None = None,
                   logged_before: datetime | None | bool = False) -> bool:
        self._count("mark_dedup")
        if created is None and resolved_at is False and logged_at is None:
            raise ValueError("'actions' cannot be empty")  # pynamodb refuses an UpdateItem that changes nothing
        with self._lock:
            pointer = self._dedup.get(dedup_key)
            # Condition: incident_id = :id (false on a missing item) [AND last_logged_at check]
            if pointer is None or pointer.get("incident_id") != incident_id:
                return False
            if logged_before is None and "last_logged_at" in pointer:
                return False
            if isinstance(logged_before, datetime) and pointer.get("last_logged_at") != logged_before.isoformat():
                return False
            if created is not None:
                pointer["created"] = created
            if resolved_at is None:
                pointer.pop("resolved_at", None)
            elif resolved_at is not False:
                pointer["resolved_at"] = resolved_at.isoformat()
            if logged_at is not None:
                pointer["last_logged_at"] = logged_at.isoformat()
            return True

    def replace_dedup(self, dedup_key: str, old_incident_id: str, candidate_id: str, seen_at: datetime) -> bool:
        self._count("replace_dedup")
        now = seen_at.isoformat()
        with self._lock:
            pointer = self._dedup.get(dedup_key)
            if pointer is None or pointer.get("incident_id") != old_incident_id:
                return False
            pointer.update(incident_id=candidate_id, first_seen=now, last_seen=now, occurrences=1, created=False)
            pointer.pop("resolved_at", None)
            pointer.pop("last_logged_at", None)
            return True

    def release_dedup_key(self, dedup_key: str, incident_id: str) -> None:
        self._count("release_dedup_key")
        with self._lock:
            pointer = self._dedup.get(dedup_key)
            if pointer is not None and pointer.get("incident_id") == incident_id:  # a key feeding another is not ours
                del self._dedup[dedup_key]

    def sync_occurrences(self, incident_id: str, occurrences: int, last_seen: datetime) -> None:
        self._count("sync_occurrences")
        with self._lock:
            current = self._incidents.get(incident_id)
            # Condition: the incident exists and its count is lower (only ever upwards); bumps `version` too,
            # so a concurrent full save of a stale copy is refused (as in DynamoDB).
            if current is None or not current.occurrences < occurrences:
                return
            self._incidents[incident_id] = current.model_copy(
                update={"occurrences": occurrences, "version": current.version + 1, "last_seen_at": last_seen}
            )

    # timeline

    def append_timeline(self, entry: TimelineEntry) -> None:
        self._count("append_timeline")
        with self._lock:
            self._timeline.setdefault(entry.incident_id, []).append(
                (entry.at, next(self._sequence), entry.model_copy(deep=True))
            )

    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        self._count("timeline")
        with self._lock:
            entries = sorted(self._timeline.get(incident_id, []), key=lambda e: (e[0], e[1]))
            return [entry.model_copy(deep=True) for _, _, entry in entries]

    # single use

    def consume_once(self, key: str, expires_at: datetime) -> bool:
        self._count("consume_once")
        with self._lock:  # one conditional put (attribute_not_exists): the first presenter wins, for good
            if key in self._once:
                return False
            self._once[key] = expires_at
            return True

    # inspection helpers for tests (not part of the port)

    def all_incidents(self) -> list[Incident]:
        with self._lock:
            return [i.model_copy(deep=True) for i in self._incidents.values()]

    def seed_pointer(self, dedup_key: str, **attributes: object) -> None:
        """Put a DEDUP item exactly as given (e.g. one written before the item had a count: only incident_id)."""
        with self._lock:
            self._dedup[dedup_key] = dict(attributes)

    def dedup_keys(self) -> dict[str, str]:
        """Which incident each alert key feeds."""
        with self._lock:
            return {key: pointer["incident_id"] for key, pointer in self._dedup.items()}


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _dedup_state(pointer: dict, candidate_id: str | None) -> DedupState:
    """As firebell.data.store._dedup_state reads a DEDUP item."""
    occurrences = int(pointer.get("occurrences") or 0)
    return DedupState(
        incident_id=pointer["incident_id"],
        occurrences=occurrences,
        first_seen=_when(pointer.get("first_seen")),
        last_seen=_when(pointer.get("last_seen")),
        created=pointer.get("created") is not False,  # pointers from before `created` existed were written
        resolved_at=_when(pointer.get("resolved_at")),
        last_logged_at=_when(pointer.get("last_logged_at")),
        claimed=candidate_id is not None and pointer["incident_id"] == candidate_id and occurrences == 1,
    )


def _list_key(incident: Incident) -> tuple[datetime, str]:
    return (incident.opened_at, incident.incident_id)


def _encode_cursor(key: tuple[datetime, str]) -> str:
    payload = {"opened_at": key[0].isoformat(), "incident_id": key[1]}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (datetime.fromisoformat(decoded["opened_at"]), str(decoded["incident_id"]))
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidCursor(cursor) from None


# --- EventPublisher -----------------------------------------------------------------------------


class RecordingEvents:
    """EventPublisher that remembers what was published; `fail_next` makes the next publishes raise."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.published: list[IncidentEvent] = []
        self._failures: list[Exception] = []

    def fail_next(self, error: Exception, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([error] * times)

    def publish(self, event: IncidentEvent) -> None:
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            self.published.append(event)

    def types(self, incident_id: str | None = None) -> list[str]:
        with self._lock:
            return [e.type.value for e in self.published if incident_id is None or e.incident_id == incident_id]


# --- Workflows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Started:
    machine: str
    name: str
    payload: dict
    execution_id: str


class FakeWorkflows:
    """Workflows (the Step Functions state machines) recording every start, answer and stop.

    * ``start`` is idempotent per (machine, name) like StartExecution with an execution name: a second start
      returns the same id (and is still recorded in ``starts``, so tests can count calls). The payload must
      survive ``json.dumps`` (Step Functions input is JSON) and is stored as it would be read back.
    * ``answer`` is True the first time a token is answered and False ever after (SendTaskSuccess on an ended
      wait is TaskTimedOut/InvalidToken); ``expire(token)`` ends a wait as its timeout would.
    * ``stop`` records (execution id, cause); stopping an unknown or stopped execution is fine.
    """

    ARN_FORMAT = "arn:aws:states:us-east-1:123456789012:execution:firebell-{machine}:{name}"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.starts: list[Started] = []
        self.answers: list[tuple[str, str]] = []
        self.stops: list[tuple[str, str]] = []
        self._ended_tokens: set[str] = set()
        self._start_failures: list[tuple[str | None, Exception]] = []

    @classmethod
    def execution_id(cls, machine: str, name: str) -> str:
        return cls.ARN_FORMAT.format(machine=machine, name=name)

    def fail_next_start(self, error: Exception, times: int = 1, machine: str | None = None) -> None:
        """The next `times` starts (of `machine` only, if given) raise `error` (throttling, say)."""
        with self._lock:
            self._start_failures.extend([(machine, error)] * times)

    def start(self, machine: str, name: str, payload: dict) -> str:
        stored = json.loads(json.dumps(payload))  # raises TypeError on anything Step Functions could not take
        with self._lock:
            failure = next((f for f in self._start_failures if f[0] in (None, machine)), None)
            if failure is not None:
                self._start_failures.remove(failure)
                raise failure[1]
            execution = self.execution_id(machine, name)
            self.starts.append(Started(machine, name, stored, execution))
            return execution

    def answer(self, task_token: str, outcome: str) -> bool:
        with self._lock:
            self.answers.append((task_token, outcome))
            if task_token in self._ended_tokens:
                return False
            self._ended_tokens.add(task_token)
            return True

    def stop(self, execution_id: str, cause: str) -> None:
        with self._lock:
            self.stops.append((execution_id, cause))

    def expire(self, task_token: str) -> None:
        """The wait of `task_token` ended without an answer (its timeout fired)."""
        with self._lock:
            self._ended_tokens.add(task_token)

    # inspection helpers

    def started(self, machine: str | None = None) -> list[Started]:
        with self._lock:
            return [s for s in self.starts if machine is None or s.machine == machine]

    def names(self, machine: str | None = None) -> list[str]:
        return [s.name for s in self.started(machine)]

    def outcomes(self, task_token: str | None = None) -> list[str]:
        with self._lock:
            return [outcome for token, outcome in self.answers if task_token is None or token == task_token]


# --- Messenger ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    sender: str
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class SentSms:
    message_id: str
    phone: str
    text: str


class OutboxMessenger:
    """Messenger that keeps every email and SMS in an outbox and returns SES/SNS-like message ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.emails: list[SentEmail] = []
        self.sms: list[SentSms] = []

    def send_email(self, sender: str, to: str, subject: str, body: str) -> str:
        with self._lock:
            sent = SentEmail(f"email-{next(self._ids)}", sender, to, subject, body)
            self.emails.append(sent)
            return sent.message_id

    def send_sms(self, phone: str, text: str) -> str:
        with self._lock:
            sent = SentSms(f"sms-{next(self._ids)}", phone, text)
            self.sms.append(sent)
            return sent.message_id

    def recipients(self) -> list[str]:
        """Every address/number reached, in order."""
        with self._lock:
            return [e.to for e in self.emails] + [s.phone for s in self.sms]


# --- Clock --------------------------------------------------------------------------------------


class FixedClock:
    """A Clock (callable) that stands still until told: `set` or `advance` it. Always aware UTC."""

    DEFAULT = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)  # a Friday: alice is on call on platform-primary

    def __init__(self, now: datetime = DEFAULT) -> None:
        self._lock = threading.Lock()
        self._now = _aware_utc(now)

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    @property
    def now(self) -> datetime:
        return self()

    def set(self, now: datetime) -> None:
        with self._lock:
            self._now = _aware_utc(now)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """`advance(timedelta(minutes=5))` or `advance(minutes=5)`; returns the new time."""
        step = (delta or timedelta()) + timedelta(**kwargs)
        with self._lock:
            self._now += step
            return self._now


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("FixedClock needs an aware datetime")
    return moment.astimezone(UTC)


# --- batch dead-letter sink ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    source_queue_arn: str
    body: str
    reason: str
    attempts: int


@dataclass
class RecordingDeadLetters:
    """firebell.batch.DeadLetterQueues keeping what it was sent.

    `max_receives` is every source queue's redrive maxReceiveCount; `unreachable` makes `send` raise and
    `policy_unreadable` makes `max_receive_count` raise (the DLQ or the queue attributes cannot be reached).
    """

    max_receives: int = 5
    sent: list[DeadLetter] = field(default_factory=list)
    unreachable: bool = False
    policy_unreadable: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def max_receive_count(self, source_queue_arn: str) -> int:
        if self.policy_unreadable:
            raise ConnectionError(f"cannot read the redrive policy of {source_queue_arn}")
        return self.max_receives

    def send(self, source_queue_arn: str, body: str, reason: str, attempts: int) -> None:
        if self.unreachable:
            raise ConnectionError("dead-letter queue unreachable")
        with self._lock:
            self.sent.append(DeadLetter(source_queue_arn, body, reason, attempts))
