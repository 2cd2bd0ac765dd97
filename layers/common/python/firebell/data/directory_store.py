"""DynamoDB implementation of the DirectoryOverlayStore port: the admin API's changes to the directory.

Items in the incidents table (one partition, so one strongly consistent query reads the whole overlay):

  pk          sk                  what
  DIRECTORY   HEAD                the directory revision (its `version`); every change bumps it
  DIRECTORY   ENTRY#<kind>#<id>   one overlay entry: `document` (the entry as JSON), `deleted` (a tombstone)

A change writes its entry and bumps HEAD in one transaction, on condition that HEAD is still at the
revision the change was validated against (and the entry at the version read): two admins changing
different entries at once cannot together leave the directory invalid; the loser re-reads and retries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pynamodb.attributes import BooleanAttribute, JSONAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from ..directory_overlay import OverlayEntry, OverlayState
from ..domain.errors import ConcurrentUpdate
from ..retrying import persevering
from .records import _TableMeta, bind_table

_PK = "DIRECTORY"
_HEAD = "HEAD"
_ENTRY = "ENTRY#"


class DirectoryRecord(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    entry_id = UnicodeAttribute(null=True)
    document = JSONAttribute(null=True)
    deleted = BooleanAttribute(default=False)
    updated_at = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    version = VersionAttribute()


def _entry_sk(kind: str, entry_id: str) -> str:
    return f"{_ENTRY}{kind}#{entry_id}"


def _from_record(record: DirectoryRecord) -> OverlayEntry:
    return OverlayEntry(
        kind=record.kind or "",
        id=record.entry_id or "",
        document=record.document or {},
        deleted=bool(record.deleted),
        version=int(record.version or 0),
        updated_at=datetime.fromisoformat(record.updated_at) if record.updated_at else None,
        updated_by=record.updated_by,
    )


def _conflict(error: TransactWriteError) -> bool:
    if getattr(error, "cause_response_code", None) != "TransactionCanceledException":
        return False
    reasons = getattr(error, "cancellation_reasons", None) or []
    # A condition failed, or another transaction was touching the same items: either way, re-read and retry.
    return (
        any(r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)
        or not reasons
    )


class DynamoDirectoryStore:
    def __init__(self, table_name: str, region: str) -> None:
        # Bound here, not in records.ALL_RECORDS, so that records.py need not know the overlay.
        bind_table(table_name, region, (DirectoryRecord,))

    def load(self) -> OverlayState:
        # (retried in place over a throttle or a timeout: an admin's change, or a function's directory, waits on it)
        return persevering(self._load)

    def _load(self) -> OverlayState:
        revision = 0
        entries: dict[tuple[str, str], OverlayEntry] = {}
        for record in DirectoryRecord.query(_PK, consistent_read=True):
            if record.sk == _HEAD:
                revision = int(record.version or 0)
            elif record.sk.startswith(_ENTRY) and record.kind and record.entry_id:
                entry = _from_record(record)
                entries[(entry.kind, entry.id)] = entry
        return OverlayState(revision=revision, entries=entries)

    def _head(self, expected_revision: int, at: datetime | None) -> DirectoryRecord:
        # The version condition pynamodb adds (attribute_not_exists for 0) is the revision check.
        head = DirectoryRecord(_PK, _HEAD, updated_at=at.isoformat() if at else None)
        if expected_revision:
            head.version = expected_revision
        return head

    def put(self, entry: OverlayEntry, *, expected_revision: int) -> OverlayEntry:
        record = DirectoryRecord(
            _PK,
            _entry_sk(entry.kind, entry.id),
            kind=entry.kind,
            entry_id=entry.id,
            document=entry.document if not entry.deleted else None,
            deleted=entry.deleted,
            updated_at=entry.updated_at.isoformat() if entry.updated_at else None,
            updated_by=entry.updated_by,
        )
        if entry.version:
            record.version = entry.version
        head = self._head(expected_revision, entry.updated_at)

        def save_both(transaction: TransactWrite) -> None:
            transaction.save(record)
            transaction.save(head)

        self._commit(save_both)
        return _from_record(record)

    def remove(self, entry: OverlayEntry, *, expected_revision: int) -> None:
        record = DirectoryRecord(_PK, _entry_sk(entry.kind, entry.id))
        record.version = entry.version
        head = self._head(expected_revision, None)

        def delete_and_save_head(transaction: TransactWrite) -> None:
            transaction.delete(record)
            transaction.save(head)

        self._commit(delete_and_save_head)

    def _commit(self, write: Callable[[TransactWrite], None]) -> None:
        def once() -> None:
            with TransactWrite(connection=DirectoryRecord._get_connection().connection) as transaction:
                write(transaction)

        try:
            # A throttle or a timeout is tried again at once; if the timed-out try had landed, the next one fails
            # its revision check: ConcurrentUpdate, and the caller reads the directory again.
            persevering(once)
        except TransactWriteError as error:
            if _conflict(error):
                raise ConcurrentUpdate("the directory changed meanwhile") from error
            raise
