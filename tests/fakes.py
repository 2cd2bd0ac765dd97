"""In-memory fakes of every port in firebell/ports.py (and of the batch dead-letter sink).

They keep the semantics of the AWS implementations that matter to the service:

* ``InMemoryIncidentStore`` behaves like ``firebell.data.store.DynamoIncidentStore``: ``create`` refuses an
  existing id and stores version 1; ``save`` is conditional on ``incident.version`` (0 means "no version yet",
  as pynamodb's VersionAttribute) and bumps it; references come from one atomic counter; the timeline reads back ordered by time (ties in insertion order); ``list`` is
  newest first (by opened_at, like the by-recency/by-status indexes), filters before the limit as pynamodb's
  iterator does, and returns an opaque cursor (a bad one raises the same ``InvalidCursor``). One difference:
  the cursor is None as soon as nothing is left, where DynamoDB may hand back one last empty page.
* The dedup pointers are kept as DynamoDB keeps the DEDUP items (ISO-8601 strings, absent attributes missing):
  ``record_signals`` is one write (``if_not_exists`` on incident_id and first_seen, ``ADD occurrences n``; with the
  notifications' markers, one transaction, each marker counted once) and says ``claimed`` exactly when the store's
  rule does (a named notification of the call claimed the key; without names, the candidate holds it at count n);
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

import collections
import copy
import itertools
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from firebell.data.store import InvalidCursor
from firebell.domain import cursors
from firebell.domain.errors import ConcurrentUpdate, IdempotencyKeyTaken, OnceKeyUsed
from firebell.domain.facts import IncidentFacts
from firebell.domain.models import Incident, IncidentEvent, TimelineEntry
from firebell.outbox import Change, DedupMark, Effect, EffectStatus
from firebell.ports import SIGNALS_PER_WRITE, DedupState, IncidentFilter, Page

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
    """IncidentStore with DynamoIncidentStore's transaction and conditional-write semantics, behind one lock."""

    # The port calls that write (what DynamoDB bills as a write request; a transaction is one).
    WRITES = frozenset(
        {
            "next_reference",
            "commit",
            "record_signals",
            "log_repeat",
            "replace_dedup",
            "claim_effect",
            "complete_effect",
            "complete_effects",
            "release_effect",
            "count_sms",
            "hold_sms",
            "close_digest",
            "add_facts",
        }
    )

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._incidents: dict[str, Incident] = {}
        self._dedup: dict[str, dict] = {}  # DEDUP#<key> items, attribute name → stored value
        self._messages: set[tuple[str, str]] = set()  # DEDUP#<key> / MSG#<id> markers
        self._timeline: dict[str, list[tuple[datetime, int, TimelineEntry]]] = {}
        self._effects: dict[str, dict] = {}  # effect id → {"effect", "status", "lease_until", "committed_at", "result"}
        self._idempotency: dict[str, tuple[str, str]] = {}
        self._reference_counter = 0
        self._sequence = itertools.count()
        self._once: dict[str, datetime] = {}
        self._facts: dict[str, IncidentFacts] = {}  # FACTS# items: incident id → facts
        self._last_fix: dict[str, IncidentFacts] = {}  # LASTFIX# items: dedup key → facts of its last closed incident
        self._sms_windows: dict[
            tuple[str, int], dict
        ] = {}  # {"sent": set of effect ids, "held": {effect id: item}, "closed_at"}
        self.calls: collections.Counter[str] = collections.Counter()
        self._fail: collections.deque[tuple[str, Exception, bool]] = collections.deque()

    def _count(self, method: str) -> None:
        with self._lock:
            self.calls[method] += 1

    def fail_next(self, method: str, error: Exception, after_effect: bool = False) -> None:
        """Make the next call of `method` raise `error`: before it took effect, or (after_effect) after it did."""
        with self._lock:
            self._fail.append((method, error, after_effect))

    def _fault(self, method: str, after: bool) -> None:
        with self._lock:  # (each method's own next failure: calls made at once come in no set order)
            for queued in self._fail:
                if queued[0] == method and queued[2] == after:
                    self._fail.remove(queued)
                    raise queued[1]

    def writes(self) -> int:
        """How many writing port calls were made so far."""
        with self._lock:
            return sum(n for method, n in self.calls.items() if method in self.WRITES)

    # references

    def next_reference(self) -> str:
        self._count("next_reference")
        self._fault("next_reference", after=False)
        with self._lock:  # DynamoDB's ADD is atomic: each caller gets its own number, none is reused
            self._reference_counter += 1
            reference = f"INC-{self._reference_counter}"
        self._fault("next_reference", after=True)
        return reference

    # incidents

    def get(self, incident_id: str) -> Incident | None:
        self._count("get")
        self._fault("get", after=False)
        with self._lock:
            found = self._incidents.get(incident_id)
            return found.model_copy(deep=True) if found else None

    def get_by_reference(self, reference: str) -> Incident | None:
        self._count("get_by_reference")
        with self._lock:
            found = next((i for i in self._incidents.values() if i.reference == reference), None)
            return found.model_copy(deep=True) if found else None

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page:
        self._count("list")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        after = _decode_cursor(cursor, filters)
        with self._lock:
            matching = [
                i
                for i in self._incidents.values()
                if (filters.status is None or i.status == filters.status)
                and (filters.priority is None or i.priority == filters.priority)
                and (filters.team is None or i.team == filters.team)
                and (filters.reporter is None or i.reporter == filters.reporter)
            ]
        matching.sort(key=_list_key, reverse=True)  # the indexes are read newest first
        if after is not None:
            matching = [i for i in matching if _list_key(i) < after]
        items = [i.model_copy(deep=True) for i in matching[:limit]]
        more = len(matching) > limit
        return Page(items=items, cursor=_encode_cursor(_list_key(items[-1]), filters) if more else None)

    def idempotent_incident(self, key: str) -> tuple[str, str] | None:
        self._count("idempotent_incident")
        with self._lock:
            return self._idempotency.get(key)

    # one change, one transaction: every condition is checked before anything is written

    def commit(self, change: Change) -> Incident:
        self._count("commit")
        self._fault("commit", after=False)
        with self._lock:
            marks = []
            for mark in change.dedup:
                pointer = self._dedup.get(mark.dedup_key)
                if pointer is not None and pointer.get("incident_id") == mark.incident_id:
                    marks.append(mark)  # DynamoIncidentStore drops a mark whose pointer moved on, and commits again
            current = self._incidents.get(change.incident_id)
            if change.new:
                if current is not None:
                    raise ConcurrentUpdate(f"incident {change.incident_id} already exists")
            elif current is None or current.version != change.before.version:
                raise ConcurrentUpdate(change.incident_id)
            for once in change.once:
                if once.key in self._once:
                    raise OnceKeyUsed(once.key)
            if change.idempotency and change.idempotency.key in self._idempotency:
                raise IdempotencyKeyTaken(change.idempotency.key)
            committed = change.committed_state()
            self._incidents[change.incident_id] = committed.model_copy(deep=True)
            for entry in change.entries:
                self._append(entry)
            for effect in change.effects(committed.version):
                self._effects[effect.effect_id] = {
                    "effect": effect.model_copy(deep=True),
                    "status": EffectStatus.SENDING if change.claimed_until else EffectStatus.PENDING,
                    "lease_until": change.claimed_until,
                    "committed_at": change.now,
                    "result": None,
                }
            for once in change.once:
                self._once[once.key] = once.expires_at
            if change.facts is not None:
                self._facts[change.incident_id] = change.facts.model_copy(deep=True)
                if committed.dedup_key and not change.facts.auto_resolved:
                    self._last_fix[committed.dedup_key] = change.facts.model_copy(deep=True)
            if change.idempotency:
                self._idempotency[change.idempotency.key] = (
                    change.idempotency.incident_id,
                    change.idempotency.fingerprint,
                )
            for mark in marks:
                self._apply_mark(mark)
        self._fault("commit", after=True)
        return committed.model_copy(deep=True)

    def _apply_mark(self, mark: DedupMark) -> None:
        if mark.release:
            del self._dedup[mark.dedup_key]
            return
        pointer = self._dedup[mark.dedup_key]
        if mark.created is not None:
            pointer["created"] = mark.created
        if mark.resolved_at is not None:
            pointer["resolved_at"] = mark.resolved_at.isoformat()
        elif mark.clear_resolved:
            pointer.pop("resolved_at", None)

    # deduplication: one pointer per alert key, stored as DynamoDB holds it (ISO strings, absent = missing)

    def record_signals(
        self,
        dedup_key: str,
        candidate_id: str,
        seen_at: datetime,
        message_ids: Sequence[str | None],
        triggered_at: datetime | None = None,
    ) -> DedupState:
        self._count("record_signals")
        self._fault("record_signals", after=False)
        named = list(dict.fromkeys(m for m in message_ids if m is not None))
        if not message_ids or len(named) > SIGNALS_PER_WRITE:
            raise ValueError(f"record_signals takes 1 to {SIGNALS_PER_WRITE} notifications, not {len(message_ids)}")
        now = seen_at.isoformat()
        with self._lock:  # one transaction (the markers and one UpdateItem), then a read; or one UpdateItem (ALL_NEW)
            fresh = [m for m in named if (dedup_key, m) not in self._messages]
            counted = len(fresh) + sum(1 for m in message_ids if m is None)
            pointer = self._dedup.setdefault(dedup_key, {})
            if counted:
                self._messages.update((dedup_key, m) for m in fresh)
                if fresh:
                    pointer.setdefault("claim_message", fresh[0])
                    pointer["last_message"] = fresh[-1]
                pointer.setdefault("incident_id", candidate_id)
                pointer.setdefault("first_seen", now)
                pointer["previous_seen"] = pointer.get("last_seen", now)
                pointer["last_seen"] = now
                pointer["occurrences"] = pointer.get("occurrences", 0) + counted
                pointer.setdefault("created", False)
                if triggered_at is not None:
                    pointer["triggered_at"] = triggered_at.isoformat()
            state = _dedup_state(pointer, candidate_id, named, counted, replayed=not counted)
        self._fault("record_signals", after=True)
        return state

    def dedup_state(self, dedup_key: str) -> DedupState | None:
        self._count("dedup_state")
        with self._lock:
            pointer = self._dedup.get(dedup_key)
            return _dedup_state(pointer, None) if pointer is not None else None

    def log_repeat(
        self, dedup_key: str, incident_id: str, logged_before: datetime | None, entry: TimelineEntry
    ) -> bool:
        self._count("log_repeat")
        with self._lock:
            pointer = self._dedup.get(dedup_key)
            if pointer is None or pointer.get("incident_id") != incident_id:
                return False
            expected = logged_before.isoformat() if logged_before else None
            if pointer.get("last_logged_at") != expected:
                return False
            pointer["last_logged_at"] = entry.at.isoformat()
            self._append(entry)
            return True

    def replace_dedup(
        self,
        dedup_key: str,
        old_incident_id: str,
        candidate_id: str,
        seen_at: datetime,
        message_id: str | None = None,
        occurrences: int = 1,
    ) -> bool:
        self._count("replace_dedup")
        now = seen_at.isoformat()
        with self._lock:
            pointer = self._dedup.get(dedup_key)
            if pointer is None or pointer.get("incident_id") != old_incident_id:
                return False
            pointer.update(
                incident_id=candidate_id,
                first_seen=now,
                last_seen=now,
                previous_seen=now,
                occurrences=occurrences,
                created=False,
            )
            pointer.pop("resolved_at", None)
            pointer.pop("last_logged_at", None)
            pointer.pop("claim_message", None)
            if message_id:
                pointer["claim_message"] = message_id
            return True

    # timeline

    def _append(self, entry: TimelineEntry) -> None:
        self._timeline.setdefault(entry.incident_id, []).append(
            (entry.at, next(self._sequence), entry.model_copy(deep=True))
        )

    def last_fix(self, dedup_key: str) -> IncidentFacts | None:
        self._count("last_fix")
        self._fault("last_fix", after=False)
        with self._lock:
            found = self._last_fix.get(dedup_key)
            return found.model_copy(deep=True) if found else None

    def facts_between(self, start: datetime, end: datetime) -> list[IncidentFacts]:
        self._count("facts_between")
        with self._lock:
            return sorted((f for f in self._facts.values() if start <= f.opened_at < end), key=lambda f: f.opened_at)

    def add_facts(self, facts: IncidentFacts) -> bool:
        self._count("add_facts")
        with self._lock:
            if facts.incident_id in self._facts:
                return False
            self._facts[facts.incident_id] = facts.model_copy(deep=True)
            return True

    def recent_facts(self, before: datetime, limit: int) -> list[IncidentFacts]:
        self._count("recent_facts")
        self._fault("recent_facts", after=False)
        last_month = before.astimezone(UTC).replace(day=1) - timedelta(days=1)
        since = last_month.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            found = sorted(
                (f for f in self._facts.values() if since <= f.opened_at < before),
                key=lambda f: f.opened_at,
                reverse=True,
            )
            return [f.model_copy(deep=True) for f in found[:limit]]

    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        self._count("timeline")
        with self._lock:
            entries = sorted(self._timeline.get(incident_id, []), key=lambda e: (e[0], e[1]))
            return [entry.model_copy(deep=True) for _, _, entry in entries]

    # the outbox

    def pending_effects(self, incident_id: str) -> list[Effect]:
        self._count("pending_effects")
        with self._lock:
            found = [
                e
                for e in self._effects.values()
                if e["effect"].incident_id == incident_id
                and e["status"] in (EffectStatus.PENDING, EffectStatus.SENDING)
            ]
            return [e["effect"].model_copy(deep=True) for e in sorted(found, key=lambda e: _commit_order(e["effect"]))]

    def claim_effect(
        self, effect: Effect, now: datetime, lease_until: datetime, ours_until: datetime | None = None
    ) -> bool:
        self._count("claim_effect")
        self._fault("claim_effect", after=False)
        with self._lock:
            item = self._effects.get(effect.effect_id)
            if item is None:
                return False
            free = item["status"] is EffectStatus.PENDING or (
                item["status"] is EffectStatus.SENDING
                and (item["lease_until"] < now or (ours_until is not None and item["lease_until"] == ours_until))
            )
            if not free:
                return False
            item.update(status=EffectStatus.SENDING, lease_until=lease_until)
            return True

    def complete_effect(
        self, effect: Effect, status: EffectStatus, result: str, entries: list[TimelineEntry] = ()
    ) -> None:
        self._count("complete_effect")
        self._fault("complete_effect", after=False)
        with self._lock:
            item = self._effects[effect.effect_id]
            if item["status"] is not EffectStatus.SENDING:
                return  # completed before (DynamoDB: the condition fails, nothing is written)
            item.update(status=status, lease_until=None, result=result)
            for entry in entries:
                self._append(entry)

    def complete_effects(self, done: list[tuple[Effect, str]]) -> None:
        self._count("complete_effects")
        self._fault("complete_effects", after=False)
        with self._lock:
            for effect, result in done:
                item = self._effects[effect.effect_id]
                if item["status"] is EffectStatus.SENDING:
                    item.update(status=EffectStatus.DONE, lease_until=None, result=result)

    def release_effect(self, effect: Effect) -> None:
        self._count("release_effect")
        with self._lock:
            item = self._effects[effect.effect_id]
            if item["status"] is EffectStatus.SENDING:
                item.update(status=EffectStatus.PENDING, lease_until=None)

    def effect_status(self, incident_id: str, effect_id: str) -> EffectStatus | None:
        self._count("effect_status")
        with self._lock:
            item = self._effects.get(effect_id)
            return item["status"] if item else None

    def outbox(self, committed_before: datetime, limit: int = 100) -> list[Effect]:
        self._count("outbox")
        with self._lock:
            found = [
                e
                for e in self._effects.values()
                if e["status"] in (EffectStatus.PENDING, EffectStatus.SENDING) and e["committed_at"] < committed_before
            ]
            found.sort(key=lambda e: e["committed_at"])
            return [e["effect"].model_copy(deep=True) for e in found[:limit]]

    # SMS digest windows

    def _sms_window(self, person: str, window: int) -> dict:
        return self._sms_windows.setdefault((person, window), {"sent": set(), "held": {}, "closed_at": None})

    def count_sms(self, person: str, window: int, effect_id: str, limit: int, at: datetime) -> bool:
        self._count("count_sms")
        self._fault("count_sms", after=False)
        with self._lock:
            sent = self._sms_window(person, window)["sent"]
            if effect_id not in sent and len(sent) >= limit:
                return False
            sent.add(effect_id)
        self._fault("count_sms", after=True)
        return True

    def hold_sms(self, person: str, window: int, effect_id: str, held: dict, at: datetime) -> bool:
        self._count("hold_sms")
        self._fault("hold_sms", after=False)
        with self._lock:
            item = self._sms_window(person, window)
            if item["closed_at"] is not None:
                return False
            item["held"][effect_id] = copy.deepcopy(held)
        self._fault("hold_sms", after=True)
        return True

    def close_digest(self, person: str, window: int, effect: Effect | None, at: datetime) -> bool:
        self._count("close_digest")
        self._fault("close_digest", after=False)
        with self._lock:
            item = self._sms_window(person, window)
            if item["closed_at"] is not None:
                return False
            item["closed_at"] = at
            if effect is not None:
                self._effects[effect.effect_id] = {
                    "effect": effect.model_copy(deep=True),
                    "status": EffectStatus.PENDING,
                    "lease_until": None,
                    "committed_at": at,
                    "result": None,
                }
        self._fault("close_digest", after=True)
        return True

    def held_sms(self, person: str, window: int) -> list[dict]:
        self._count("held_sms")
        with self._lock:
            return sorted(
                copy.deepcopy(list(self._sms_window(person, window)["held"].values())), key=lambda held: held["held_at"]
            )

    # inspection helpers for tests (not part of the port)

    def effects(self, incident_id: str | None = None) -> list[tuple[Effect, EffectStatus]]:
        with self._lock:
            return [
                (e["effect"].model_copy(deep=True), e["status"])
                for e in self._effects.values()
                if incident_id is None or e["effect"].incident_id == incident_id
            ]

    def create(self, incident: Incident) -> Incident:
        """Put an incident as it is (tests that need one in a given state)."""
        with self._lock:
            if incident.incident_id in self._incidents:
                raise ConcurrentUpdate(f"incident {incident.incident_id} already exists")
            stored = incident.model_copy(update={"version": 1}, deep=True)
            self._incidents[incident.incident_id] = stored
            return stored.model_copy(deep=True)

    def put(self, incident: Incident) -> Incident:
        """Overwrite an incident as it is, bumping its version (tests that set a state directly)."""
        with self._lock:
            current = self._incidents.get(incident.incident_id)
            stored = incident.model_copy(update={"version": (current.version if current else 0) + 1}, deep=True)
            self._incidents[incident.incident_id] = stored
            return stored.model_copy(deep=True)

    def all_incidents(self) -> list[Incident]:
        with self._lock:
            return [i.model_copy(deep=True) for i in self._incidents.values()]

    def expire_once_keys(self, now: datetime) -> list[str]:
        """What DynamoDB's TTL does some time after a used key's link expired: the marker is gone."""
        with self._lock:
            gone = [key for key, expires_at in self._once.items() if expires_at <= now]
            for key in gone:
                del self._once[key]
            return gone

    def seed_pointer(self, dedup_key: str, **attributes: object) -> None:
        """Put a DEDUP item exactly as given (e.g. one written before the item had a count: only incident_id)."""
        with self._lock:
            self._dedup[dedup_key] = dict(attributes)

    def dedup_keys(self) -> dict[str, str]:
        """Which incident each alert key feeds."""
        with self._lock:
            return {key: pointer["incident_id"] for key, pointer in self._dedup.items()}


def _commit_order(effect: Effect) -> tuple[str, int, int]:
    incident_id, version, position = effect.effect_id.rsplit(":", 2)
    return incident_id, int(version), int(position)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _dedup_state(
    pointer: dict, candidate_id: str | None, message_ids: Sequence[str] = (), counted: int = 0, replayed: bool = False
) -> DedupState:
    """As firebell.data.dedup_store._dedup_state reads a DEDUP item."""
    occurrences = int(pointer.get("occurrences") or 0)
    return DedupState(
        incident_id=pointer["incident_id"],
        occurrences=occurrences,
        first_seen=_when(pointer.get("first_seen")),
        last_seen=_when(pointer.get("last_seen")),
        created=pointer.get("created") is not False,  # pointers from before `created` existed were written
        resolved_at=_when(pointer.get("resolved_at")),
        last_logged_at=_when(pointer.get("last_logged_at")),
        claimed=(pointer.get("claim_message") in message_ids)
        if message_ids
        else (candidate_id is not None and pointer["incident_id"] == candidate_id and occurrences == counted),
        replayed=replayed,
        previous_seen=_when(pointer.get("previous_seen"))
        if not replayed or pointer.get("last_message") in message_ids
        else None,
        counted=counted,
        triggered_at=_when(pointer.get("triggered_at")),
    )


def _list_key(incident: Incident) -> tuple[datetime, str]:
    return (incident.opened_at, incident.incident_id)


def _encode_cursor(key: tuple[datetime, str], filters: IncidentFilter) -> str:
    return cursors.seal({"opened_at": key[0].isoformat(), "incident_id": key[1]}, filters.sealed_as())


def _decode_cursor(cursor: str | None, filters: IncidentFilter) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    decoded = cursors.unseal(cursor, filters.sealed_as())
    try:
        return (datetime.fromisoformat(decoded["opened_at"]), str(decoded["incident_id"]))
    except (ValueError, TypeError, KeyError):
        raise InvalidCursor(cursor) from None


# --- EventPublisher -----------------------------------------------------------------------------


class RecordingEvents:
    """EventPublisher that remembers what was published; `fail_next` makes the next publishes raise."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.published: list[IncidentEvent] = []
        self.audiences: list[Mapping[str, bool] | None] = []  # beside each published event: who wants it
        self._failures: list[Exception] = []

    def fail_next(self, error: Exception, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([error] * times)

    def publish(self, event: IncidentEvent, audience: Mapping[str, bool] | None = None) -> None:
        with self._lock:
            if self._failures:
                raise self._failures.pop(0)
            self.published.append(event)
            self.audiences.append(audience)

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

    def execution_arn(self, machine: str, name: str) -> str:
        return self.execution_id(machine, name)

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

    def answer(self, task_token: str, outcome: str, **details: object) -> bool:
        json.dumps(details)  # SendTaskSuccess output is JSON
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
        self.chats: list[SentSms] = []  # Slack direct messages: (id, member id, text)

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

    def send_chat(self, user: str, text: str) -> str:
        with self._lock:
            sent = SentSms(f"chat-{next(self._ids)}", user, text)
            self.chats.append(sent)
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
