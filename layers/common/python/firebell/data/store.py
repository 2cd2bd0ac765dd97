"""DynamoDB implementation of the IncidentStore port."""

from __future__ import annotations

import builtins
import hashlib
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite
from ulid import ULID

from ..domain import cursors
from ..domain.errors import ConcurrentUpdate, IdempotencyKeyTaken, InvalidCursor, OnceKeyUsed
from ..domain.models import Incident, TimelineEntry
from ..outbox import Change, DedupMark, EffectStatus
from ..ports import IncidentFilter, Page
from .chat_store import ChatMarks
from .contact_store import ContactStore
from .dedup_store import DEDUP_SK, DedupStore, dedup_pk
from .delivery_store import DeliveryLog
from .facts_store import FactsStore, last_fix_key
from .items import (
    OUTBOX_PENDING,
    effect_sk,
    expiry,
    facts_key,
    failed_conditions,
    incident_id_of,
    incident_pk,
    items_in_order,
)
from .outbox_store import OutboxStore
from .records import (
    CounterRecord,
    DedupRecord,
    EffectRecord,
    FactsRecord,
    IdempotencyRecord,
    IncidentRecord,
    OnceRecord,
    RecencyIndex,
    StatusIndex,
    TimelineRecord,
    bind_table,
    document_of,
)
from .sms_window_store import SmsWindowStore

# Fields kept as top-level attributes (keys, indexes, atomic counters; the id is pk's); the rest is packed (data/packing.py).
_TOP_LEVEL = {
    "incident_id",
    "reference",
    "status",
    "priority",
    "team",
    "reporter",
    "opened_at",
    "occurrences",
    "last_seen_at",
    "version",
}
_INCIDENT_SK = "INCIDENT"
_REFERENCE_COUNTER = "COUNTER#reference"


# A used single-use key (an acknowledgement link's nonce) is kept this long past the link's own expiry, then DynamoDB's
# TTL deletes it. TTL never deletes early, but a function's clock may lag DynamoDB's; once the link has expired, its
# own expiry refuses it (domain/ack_links.verify), so the marker is no longer needed.
ONCE_KEY_MARGIN = timedelta(days=1)


def _hashed(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _to_record(incident: Incident) -> IncidentRecord:
    data = incident.model_dump(mode="json")
    record = IncidentRecord(
        pk=incident_pk(incident.incident_id),
        sk=_INCIDENT_SK,
        reference=incident.reference,
        status=incident.status.value,
        priority=data["priority"],
        team=incident.team,
        reporter=incident.reporter,
        opened_at=data["opened_at"],
        occurrences=incident.occurrences,
        last_seen_at=data["last_seen_at"],
        packed={k: v for k, v in data.items() if k not in _TOP_LEVEL},
    )
    # A VersionAttribute must be absent (not None) on a new item: pynamodb then saves version 1.
    if incident.version:
        record.version = incident.version
    return record


def _from_record(record: IncidentRecord) -> Incident:
    return Incident.model_validate(
        {
            **document_of(record),
            "incident_id": incident_id_of(record.pk),  # (no longer a top-level attribute of its own: pk has it)
            "reporter": record.reporter,
            "reference": record.reference,
            "status": record.status,
            "priority": record.priority,
            "team": record.team,
            "opened_at": record.opened_at,
            "occurrences": int(record.occurrences),
            "last_seen_at": record.last_seen_at,
            "version": int(record.version or 0),
        }
    )


def _decode_cursor(cursor: str | None, filters: IncidentFilter, index_key: tuple[str, str]) -> dict[str, Any] | None:
    """The start key sealed in the cursor, if it has exactly the shape the index's own pages return (table and
    index keys, strings) and starts inside the same partition: anything else would make DynamoDB refuse the query."""
    if not cursor:
        return None
    key = cursors.unseal(cursor, filters.sealed_as())
    hash_name, hash_value = index_key
    if not (
        isinstance(key, dict)
        and set(key) == {"pk", "sk", hash_name, "opened_at"}
        and all(isinstance(v, dict) and list(v) == ["S"] and isinstance(v["S"], str) for v in key.values())
        and key[hash_name]["S"] == hash_value
    ):
        raise InvalidCursor(cursor)
    return key


class DynamoIncidentStore(DedupStore, OutboxStore, SmsWindowStore, FactsStore, DeliveryLog, ChatMarks, ContactStore):
    def __init__(self, table_name: str, region: str) -> None:
        bind_table(table_name, region)

    # --- reading ---------------------------------------------------------------------------------

    def next_reference(self) -> str:
        counter = CounterRecord(_REFERENCE_COUNTER)
        # ADD is atomic on the server: concurrent callers each get their own number.
        counter.update(actions=[CounterRecord.value.add(1)])
        return f"INC-{int(counter.value)}"

    def get(self, incident_id: str) -> Incident | None:
        try:
            return _from_record(IncidentRecord.get(incident_pk(incident_id), _INCIDENT_SK, consistent_read=True))
        except IncidentRecord.DoesNotExist:
            return None

    def get_by_reference(self, reference: str) -> Incident | None:
        found = next(iter(IncidentRecord.by_reference.query(reference, limit=1)), None)
        # The index carries the key only (and is eventually consistent): read the item itself.
        return self.get(incident_id_of(found.pk)) if found else None

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page:
        condition = None
        if filters.priority:
            condition &= IncidentRecord.priority == filters.priority.value
        if filters.team:
            condition &= IncidentRecord.team == filters.team
        if filters.reporter:
            condition &= IncidentRecord.reporter == filters.reporter
        index: StatusIndex | RecencyIndex
        if filters.status:
            index, hash_name, key = IncidentRecord.by_status, "status", filters.status.value
        else:
            index, hash_name, key = IncidentRecord.by_recency, "entity", "incident"
        results = index.query(
            key,
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=_decode_cursor(cursor, filters, (hash_name, key)),
        )
        keys = [(record.pk, record.sk) for record in results]
        # The indexes carry what they are filtered on, not whole incidents: read the page's items themselves.
        items = [_from_record(record) for record in items_in_order(IncidentRecord, keys)]
        last = results.last_evaluated_key
        return Page(items=items, cursor=cursors.seal(last, filters.sealed_as()) if last else None)

    def timeline(self, incident_id: str) -> builtins.list[TimelineEntry]:
        records = TimelineRecord.query(
            incident_pk(incident_id), TimelineRecord.sk.startswith("TIMELINE#"), consistent_read=True
        )
        return [TimelineEntry.model_validate(record.document) for record in records]

    def idempotent_incident(self, key: str) -> tuple[str, str] | None:
        """(incident id, request fingerprint) that this Idempotency-Key opened, if any."""
        try:
            record = IdempotencyRecord.get(f"IDEMPOTENCY#{_hashed(key)}", "IDEMPOTENCY", consistent_read=True)
        except DoesNotExist:
            return None
        return record.incident_id, record.fingerprint

    # --- one change, one transaction ------------------------------------------------------------------

    def commit(self, change: Change) -> Incident:
        """State + timeline + pending effects (+ dedup pointer, single-use key, idempotency claim) atomically.

        Raises ConcurrentUpdate when the incident changed since it was read (the caller decides again),
        OnceKeyUsed / IdempotencyKeyTaken when their keys were taken first.
        """
        marks = list(change.dedup)
        while True:
            try:
                return self._transact(change, marks)
            except TransactWriteError as error:
                failed = failed_conditions(error)
                if not failed:
                    raise
                labels = self._labels(change, marks)
                reasons = {labels[i] for i in failed}
                if "incident" in reasons:
                    raise ConcurrentUpdate(change.incident_id) from error
                if "once" in reasons:
                    raise OnceKeyUsed(change.once[0].key) from error
                if "idempotency" in reasons and change.idempotency is not None:
                    raise IdempotencyKeyTaken(change.idempotency.key) from error
                # A dedup pointer that moved on to another incident is no longer this change's to update.
                marks = [m for position, m in enumerate(marks) if f"dedup{position}" not in reasons]

    @staticmethod
    def _labels(change: Change, marks: builtins.list[DedupMark]) -> builtins.list[str]:
        """What each position of the transaction is, in the order pynamodb sends them (checks, deletes, puts, updates)."""
        deletes = [f"dedup{i}" for i, m in enumerate(marks) if m.release]
        puts = (
            ["incident"]
            + ["entry"] * len(change.entries)
            + ["effect"] * len(change.effects(0))
            + ["once"] * len(change.once)
            + (["idempotency"] if change.idempotency else [])
            + (["facts"] if change.facts else [])
            + (["last fix"] if change.facts and change.incident.dedup_key else [])
        )
        updates = [f"dedup{i}" for i, m in enumerate(marks) if not m.release]
        return deletes + puts + updates

    def _transact(self, change: Change, marks: builtins.list[DedupMark]) -> Incident:
        committed = change.committed_state()
        record = _to_record(committed.model_copy(update={"version": 0 if change.new else change.before.version}))
        expires = expiry(change.now)
        with TransactWrite(connection=IncidentRecord._get_connection().connection) as tx:
            for _position, mark in enumerate(marks):
                pointer = DedupRecord(dedup_pk(mark.dedup_key), DEDUP_SK)
                owned = DedupRecord.incident_id == mark.incident_id
                if mark.release:
                    tx.delete(pointer, condition=owned)
                else:
                    tx.update(pointer, actions=self._mark_actions(mark), condition=owned)
            # pynamodb adds `version = <read version>` (or "absent" for a new incident) as the condition.
            tx.save(record, condition=IncidentRecord.pk.does_not_exist() if change.new else None)
            for entry in change.entries:
                tx.save(
                    TimelineRecord(
                        incident_pk(entry.incident_id),
                        f"TIMELINE#{entry.at.isoformat()}#{ULID()}",
                        document=entry.model_dump(mode="json"),
                    )
                )
            claimed = change.claimed_until.isoformat() if change.claimed_until else None
            for effect in change.effects(committed.version):
                tx.save(
                    EffectRecord(
                        incident_pk(effect.incident_id),
                        effect_sk(effect.effect_id),
                        status=(EffectStatus.SENDING if claimed else EffectStatus.PENDING).value,
                        lease_until=claimed,
                        outbox=OUTBOX_PENDING,
                        committed_at=change.now.isoformat(),
                        packed=effect.model_dump(mode="json"),
                        expires=expires,
                    )
                )
            for once in change.once:
                tx.save(
                    OnceRecord(
                        f"ONCE#{once.key}",
                        expires_at=once.expires_at.isoformat(),
                        expires=int((once.expires_at + ONCE_KEY_MARGIN).timestamp()),
                    ),
                    condition=OnceRecord.pk.does_not_exist(),
                )
            if change.idempotency:
                claim = change.idempotency
                tx.save(
                    IdempotencyRecord(
                        f"IDEMPOTENCY#{_hashed(claim.key)}",
                        incident_id=claim.incident_id,
                        fingerprint=claim.fingerprint,
                        expires=int(claim.expires_at.timestamp()),
                    ),
                    condition=IdempotencyRecord.pk.does_not_exist(),
                )
            if change.facts:
                facts = change.facts.model_dump(mode="json")
                tx.save(FactsRecord(*facts_key(change.facts.opened_at, change.incident_id), packed=facts))
                # The alert's last fix, what its next incident's first page says: a person's, not its own recovery's.
                if change.incident.dedup_key and not change.facts.auto_resolved:
                    tx.save(FactsRecord(*last_fix_key(change.incident.dedup_key), packed=facts))
        return committed

    @staticmethod
    def _mark_actions(mark: DedupMark) -> builtins.list[Any]:
        actions = []
        if mark.created is not None:
            actions.append(DedupRecord.created.set(mark.created))
        if mark.resolved_at is not None:
            actions.append(DedupRecord.resolved_at.set(mark.resolved_at.isoformat()))
        elif mark.clear_resolved:
            actions.append(DedupRecord.resolved_at.remove())
        return actions or [DedupRecord.incident_id.set(mark.incident_id)]
