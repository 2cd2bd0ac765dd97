"""DynamoDB implementation of the IncidentStore port."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from pynamodb.exceptions import DeleteError, PutError, UpdateError
from ulid import ULID

from ..domain.errors import ConcurrentUpdate
from ..domain.models import Incident, TimelineEntry
from ..ports import DedupState, IncidentFilter, Page
from .records import CounterRecord, DedupRecord, IncidentRecord, OnceRecord, TimelineRecord, bind_table

# Fields kept as top-level attributes (keys, indexes, atomic counters); the rest lives in `document`.
_TOP_LEVEL = {"incident_id", "reference", "status", "priority", "team", "opened_at", "occurrences", "last_seen_at", "version"}
_INCIDENT_SK = "INCIDENT"
_REFERENCE_COUNTER = "COUNTER#reference"


def _incident_pk(incident_id: str) -> str:
    return f"INCIDENT#{incident_id}"


_DEDUP_SK = "DEDUP"


def _dedup_pk(dedup_key: str) -> str:
    return f"DEDUP#{dedup_key}"


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _dedup_state(record: DedupRecord, candidate_id: str | None) -> DedupState:
    return DedupState(
        incident_id=record.incident_id,
        occurrences=int(record.occurrences or 0),
        first_seen=_when(record.first_seen),
        last_seen=_when(record.last_seen),
        created=record.created is not False,  # pointers from before `created` existed were always written
        resolved_at=_when(record.resolved_at),
        last_logged_at=_when(record.last_logged_at),
        claimed=candidate_id is not None and record.incident_id == candidate_id and int(record.occurrences or 0) == 1,
    )


def _conditional_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def _to_record(incident: Incident) -> IncidentRecord:
    data = incident.model_dump(mode="json")
    # A VersionAttribute must be absent (not None) on a new item: pynamodb then saves version 1.
    version = {"version": incident.version} if incident.version else {}
    return IncidentRecord(
        pk=_incident_pk(incident.incident_id),
        sk=_INCIDENT_SK,
        incident_id=incident.incident_id,
        reference=incident.reference,
        status=incident.status.value,
        priority=data["priority"],
        team=incident.team,
        opened_at=data["opened_at"],
        occurrences=incident.occurrences,
        last_seen_at=data["last_seen_at"],
        document={k: v for k, v in data.items() if k not in _TOP_LEVEL},
        **version,
    )


def _from_record(record: IncidentRecord) -> Incident:
    return Incident.model_validate(
        {
            **record.document,
            "incident_id": record.incident_id,
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


def _encode_cursor(key: dict | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def _decode_cursor(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise InvalidCursor(cursor) from None
    if not isinstance(decoded, dict):
        raise InvalidCursor(cursor)
    return decoded


class InvalidCursor(ValueError):
    def __init__(self, cursor: str) -> None:
        super().__init__("cursor is not one this API returned")


class DynamoIncidentStore:
    def __init__(self, table_name: str, region: str) -> None:
        bind_table(table_name, region)

    def next_reference(self) -> str:
        counter = CounterRecord(_REFERENCE_COUNTER)
        # ADD is atomic on the server: concurrent callers each get their own number.
        counter.update(actions=[CounterRecord.value.add(1)])
        return f"INC-{int(counter.value)}"

    def create(self, incident: Incident) -> Incident:
        record = _to_record(incident.model_copy(update={"version": 0}))
        try:
            record.save(condition=IncidentRecord.pk.does_not_exist())
        except PutError as error:
            if _conditional_failure(error):
                raise ConcurrentUpdate(f"incident {incident.incident_id} already exists") from error
            raise
        return _from_record(record)

    def get(self, incident_id: str) -> Incident | None:
        try:
            return _from_record(IncidentRecord.get(_incident_pk(incident_id), _INCIDENT_SK, consistent_read=True))
        except IncidentRecord.DoesNotExist:
            return None

    def get_by_reference(self, reference: str) -> Incident | None:
        found = next(iter(IncidentRecord.by_reference.query(reference, limit=1)), None)
        # The index is eventually consistent: read the item itself for the current version.
        return self.get(found.incident_id) if found else None

    def save(self, incident: Incident) -> Incident:
        record = _to_record(incident)
        try:
            record.save()  # pynamodb adds `version = <loaded version>` as the condition
        except PutError as error:
            if _conditional_failure(error):
                raise ConcurrentUpdate(incident.incident_id) from error
            raise
        return _from_record(record)

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page:
        condition = None
        if filters.priority:
            condition &= IncidentRecord.priority == filters.priority.value
        if filters.team:
            condition &= IncidentRecord.team == filters.team
        if filters.status:
            index, key = IncidentRecord.by_status, filters.status.value
        else:
            index, key = IncidentRecord.by_recency, "incident"
        results = index.query(
            key,
            filter_condition=condition,
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=_decode_cursor(cursor),
        )
        items = [_from_record(record) for record in results]
        return Page(items=items, cursor=_encode_cursor(results.last_evaluated_key))

    def record_signal(self, dedup_key: str, candidate_id: str, seen_at: datetime) -> DedupState:
        now = seen_at.isoformat()
        response = DedupRecord._get_connection().update_item(
            _dedup_pk(dedup_key),
            range_key=_DEDUP_SK,
            actions=[
                DedupRecord.incident_id.set(DedupRecord.incident_id | candidate_id),  # if_not_exists
                DedupRecord.first_seen.set(DedupRecord.first_seen | now),
                DedupRecord.last_seen.set(now),
                DedupRecord.occurrences.add(1),
                DedupRecord.created.set(DedupRecord.created | False),
            ],
            return_values="ALL_NEW",
        )
        return _dedup_state(DedupRecord.from_raw_data(response["Attributes"]), candidate_id)

    def dedup_state(self, dedup_key: str) -> DedupState | None:
        try:
            return _dedup_state(DedupRecord.get(_dedup_pk(dedup_key), _DEDUP_SK, consistent_read=True), None)
        except DedupRecord.DoesNotExist:
            return None

    def mark_dedup(self, dedup_key, incident_id, *, created=None, resolved_at=False, logged_at=None, logged_before=False) -> bool:
        actions = []
        if created is not None:
            actions.append(DedupRecord.created.set(created))
        if resolved_at is None:
            actions.append(DedupRecord.resolved_at.remove())
        elif resolved_at is not False:
            actions.append(DedupRecord.resolved_at.set(resolved_at.isoformat()))
        if logged_at is not None:
            actions.append(DedupRecord.last_logged_at.set(logged_at.isoformat()))
        condition = DedupRecord.incident_id == incident_id
        if logged_before is None:
            condition &= DedupRecord.last_logged_at.does_not_exist()
        elif logged_before is not False:
            condition &= DedupRecord.last_logged_at == logged_before.isoformat()
        return self._conditional_update(dedup_key, actions, condition)

    def replace_dedup(self, dedup_key: str, old_incident_id: str, candidate_id: str, seen_at: datetime) -> bool:
        now = seen_at.isoformat()
        return self._conditional_update(
            dedup_key,
            [DedupRecord.incident_id.set(candidate_id), DedupRecord.first_seen.set(now), DedupRecord.last_seen.set(now),
             DedupRecord.occurrences.set(1), DedupRecord.created.set(False), DedupRecord.resolved_at.remove(),
             DedupRecord.last_logged_at.remove()],
            DedupRecord.incident_id == old_incident_id,
        )

    def _conditional_update(self, dedup_key: str, actions, condition) -> bool:
        try:
            DedupRecord._get_connection().update_item(_dedup_pk(dedup_key), range_key=_DEDUP_SK, actions=actions, condition=condition)
            return True
        except UpdateError as error:
            if _conditional_failure(error):
                return False
            raise

    def release_dedup_key(self, dedup_key: str, incident_id: str) -> None:
        try:
            DedupRecord(_dedup_pk(dedup_key)).delete(condition=DedupRecord.incident_id == incident_id)
        except DeleteError as error:
            if not _conditional_failure(error):
                raise  # a key now feeding another incident is not ours to release

    def sync_occurrences(self, incident_id: str, occurrences: int, last_seen: datetime) -> None:
        # Bumping `version` makes a concurrent full save re-read instead of writing an older count back.
        try:
            IncidentRecord._get_connection().update_item(
                _incident_pk(incident_id),
                range_key=_INCIDENT_SK,
                actions=[IncidentRecord.occurrences.set(occurrences), IncidentRecord.version.add(1),
                         IncidentRecord.last_seen_at.set(last_seen.isoformat())],
                condition=IncidentRecord.pk.exists() & (IncidentRecord.occurrences < occurrences),
            )
        except UpdateError as error:
            if not _conditional_failure(error):
                raise

    def consume_once(self, key: str, expires_at: datetime) -> bool:
        try:
            OnceRecord(f"ONCE#{key}", expires_at=expires_at.isoformat()).save(condition=OnceRecord.pk.does_not_exist())
            return True
        except PutError as error:
            if _conditional_failure(error):
                return False
            raise

    def append_timeline(self, entry: TimelineEntry) -> None:
        TimelineRecord(
            _incident_pk(entry.incident_id),
            f"TIMELINE#{entry.at.isoformat()}#{ULID()}",
            document=entry.model_dump(mode="json"),
        ).save()

    def timeline(self, incident_id: str) -> list[TimelineEntry]:
        records = TimelineRecord.query(
            _incident_pk(incident_id), TimelineRecord.sk.startswith("TIMELINE#"), consistent_read=True
        )
        return [TimelineEntry.model_validate(record.document) for record in records]
