"""The alerts' dedup pointers (DEDUP#<key>): one write per batch of an alert's occurrences, counted once per
notification however often it is redelivered; the storm's timeline slots; a key moved on to a new incident.
Part of DynamoIncidentStore (data/store.py), whose commit updates the pointers a change marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite
from ulid import ULID

from ..domain.models import TimelineEntry
from ..ports import SIGNALS_PER_WRITE, DedupState
from .items import conditional_failure, expiry, failed_conditions, incident_pk
from .records import DedupRecord, MessageRecord, TimelineRecord

DEDUP_SK = "DEDUP"


def dedup_pk(dedup_key: str) -> str:
    return f"DEDUP#{dedup_key}"


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _seen(text: str | None) -> datetime:
    """A moment every pointer has: record_signals writes first_seen and last_seen with the pointer itself."""
    if not text:
        raise ValueError("a dedup pointer without first_seen or last_seen (not written by record_signals)")
    return datetime.fromisoformat(text)


def _dedup_state(
    record: DedupRecord,
    candidate_id: str | None,
    message_ids: Sequence[str] = (),
    counted: int = 0,
    replayed: bool = False,
) -> DedupState:
    """The pointer as record_signals left it; `message_ids`: the named notifications it was given (redeliveries too)."""
    return DedupState(
        incident_id=record.incident_id,
        occurrences=int(record.occurrences or 0),
        first_seen=_seen(record.first_seen),
        last_seen=_seen(record.last_seen),
        created=record.created is not False,  # pointers from before `created` existed were always written
        resolved_at=_when(record.resolved_at),
        last_logged_at=_when(record.last_logged_at),
        claimed=(record.claim_message in message_ids)
        if message_ids
        else (
            candidate_id is not None and record.incident_id == candidate_id and int(record.occurrences or 0) == counted
        ),
        replayed=replayed,
        previous_seen=_when(record.previous_seen) if not replayed or record.last_message in message_ids else None,
        counted=counted,
        triggered_at=_when(record.triggered_at),
    )


def _counting(
    candidate_id: str, seen_at: datetime, count: int, fresh: Sequence[str], triggered_at: datetime | None
) -> list[Any]:
    """record_signals' update: `count` more occurrences, the key claimed for `candidate_id` if nobody holds it."""
    now = seen_at.isoformat()
    actions = [
        DedupRecord.incident_id.set(DedupRecord.incident_id | candidate_id),  # if_not_exists
        DedupRecord.first_seen.set(DedupRecord.first_seen | now),
        # (every operand is read before the update: this keeps the last_seen being replaced)
        DedupRecord.previous_seen.set(DedupRecord.last_seen | now),
        DedupRecord.last_seen.set(now),
        DedupRecord.occurrences.add(count),
        DedupRecord.created.set(DedupRecord.created | False),
    ]
    if triggered_at is not None:
        actions.append(DedupRecord.triggered_at.set(triggered_at.isoformat()))
    if fresh:
        actions += [
            DedupRecord.claim_message.set(DedupRecord.claim_message | fresh[0]),
            DedupRecord.last_message.set(fresh[-1]),
        ]
    return actions


class DedupStore:
    def dedup_state(self, dedup_key: str) -> DedupState | None:
        try:
            return _dedup_state(DedupRecord.get(dedup_pk(dedup_key), DEDUP_SK, consistent_read=True), None)
        except DedupRecord.DoesNotExist:
            return None

    def record_signals(
        self,
        dedup_key: str,
        candidate_id: str,
        seen_at: datetime,
        message_ids: Sequence[str | None],
        triggered_at: datetime | None = None,
    ) -> DedupState:
        """Claim the key for `candidate_id` if nobody holds it, and count these occurrences, in one write.

        One occurrence per entry: the id of the notification that carried it (the SNS MessageId or EventBridge event
        id, the same on every redelivery), or None. The count and a marker per named notification commit together,
        so a redelivered notification counts once: if some were counted before, DynamoDB refuses the transaction,
        naming their markers, and it is made again without them.
        """
        named = list(dict.fromkeys(m for m in message_ids if m is not None))  # (a transaction writes an item once)
        if not message_ids or len(named) > SIGNALS_PER_WRITE:
            raise ValueError(f"record_signals takes 1 to {SIGNALS_PER_WRITE} notifications, not {len(message_ids)}")
        plain = sum(1 for m in message_ids if m is None)
        pk, fresh = dedup_pk(dedup_key), named
        while fresh:
            try:
                with TransactWrite(connection=DedupRecord._get_connection().connection) as tx:
                    for message_id in fresh:
                        tx.save(
                            MessageRecord(pk, f"MSG#{message_id}", expires=expiry(seen_at, 1)),
                            condition=MessageRecord.pk.does_not_exist(),
                        )
                    tx.update(
                        DedupRecord(pk, DEDUP_SK),
                        actions=_counting(candidate_id, seen_at, len(fresh) + plain, fresh, triggered_at),
                    )
                break
            except TransactWriteError as error:
                failed = failed_conditions(error)  # the markers come first, in `fresh`'s order
                if not failed or max(failed) >= len(fresh):
                    raise
                fresh = [m for position, m in enumerate(fresh) if position not in failed]
        else:
            if plain:  # nothing named is left to count: the plain update says the new state itself
                response = DedupRecord._get_connection().update_item(
                    pk,
                    range_key=DEDUP_SK,
                    actions=_counting(candidate_id, seen_at, plain, [], triggered_at),
                    return_values="ALL_NEW",
                )
                return _dedup_state(DedupRecord.from_raw_data(response["Attributes"]), candidate_id, named, plain)
        counted = len(fresh) + plain
        record = DedupRecord.get(pk, DEDUP_SK, consistent_read=True)
        return _dedup_state(record, candidate_id, named, counted, replayed=counted == 0)

    def log_repeat(
        self, dedup_key: str, incident_id: str, logged_before: datetime | None, entry: TimelineEntry
    ) -> bool:
        """Take the storm's next timeline slot and write its line together; False if a concurrent repeat took it."""
        condition = DedupRecord.incident_id == incident_id
        if logged_before is None:
            condition &= DedupRecord.last_logged_at.does_not_exist()
        else:
            condition &= DedupRecord.last_logged_at == logged_before.isoformat()
        try:
            with TransactWrite(connection=DedupRecord._get_connection().connection) as tx:
                tx.save(
                    TimelineRecord(
                        incident_pk(incident_id),
                        f"TIMELINE#{entry.at.isoformat()}#{ULID()}",
                        document=entry.model_dump(mode="json"),
                    )
                )
                tx.update(
                    DedupRecord(dedup_pk(dedup_key), DEDUP_SK),
                    actions=[DedupRecord.last_logged_at.set(entry.at.isoformat())],
                    condition=condition,
                )
            return True
        except TransactWriteError as error:
            if failed_conditions(error):
                return False
            raise

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
        now = seen_at.isoformat()
        actions = [
            DedupRecord.incident_id.set(candidate_id),
            DedupRecord.first_seen.set(now),
            DedupRecord.last_seen.set(now),
            DedupRecord.occurrences.set(occurrences),
            DedupRecord.created.set(False),
            DedupRecord.resolved_at.remove(),
            DedupRecord.last_logged_at.remove(),
            DedupRecord.previous_seen.set(now),
        ]
        actions.append(DedupRecord.claim_message.set(message_id) if message_id else DedupRecord.claim_message.remove())
        try:
            DedupRecord._get_connection().update_item(
                dedup_pk(dedup_key),
                range_key=DEDUP_SK,
                actions=actions,
                condition=DedupRecord.incident_id == old_incident_id,
            )
            return True
        except UpdateError as error:
            if conditional_failure(error):
                return False
            raise
