"""The reports' part of the DynamoDB store: each closed incident's facts (written by the closing change, in
data/store.py's commit), by the month it opened; and each alert's last fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError

from ..domain.facts import IncidentFacts
from .items import conditional_failure, facts_key, months_between
from .records import FactsRecord

_LAST_FIX_SK = "LAST"


def last_fix_key(dedup_key: str) -> tuple[str, str]:
    return f"LASTFIX#{dedup_key}", _LAST_FIX_SK


class FactsStore:
    def last_fix(self, dedup_key: str) -> IncidentFacts | None:
        """The facts of the alert's last closed incident (eventually consistent: it closed long before)."""
        try:
            return IncidentFacts.model_validate(FactsRecord.get(*last_fix_key(dedup_key)).packed)
        except DoesNotExist:
            return None

    def add_facts(self, facts: IncidentFacts) -> bool:
        """Store an incident's facts where it has none (a backfill); False if it had some: they stay."""
        record = FactsRecord(*facts_key(facts.opened_at, facts.incident_id), packed=facts.model_dump(mode="json"))
        try:
            record.save(condition=FactsRecord.pk.does_not_exist())
            return True
        except PutError as error:
            if conditional_failure(error):
                return False
            raise

    def facts_between(self, start: datetime, end: datetime) -> list[IncidentFacts]:
        """Facts of the incidents opened in [start, end) that have closed (eventually consistent), oldest first."""
        found = []
        for month in months_between(start, end):
            for record in FactsRecord.query(
                month, FactsRecord.sk.between(start.astimezone(UTC).isoformat(), end.astimezone(UTC).isoformat())
            ):
                facts = IncidentFacts.model_validate(record.packed)
                if start <= facts.opened_at < end:
                    found.append(facts)
        return found

    def recent_facts(self, before: datetime, limit: int) -> list[IncidentFacts]:
        """Facts of the last `limit` incidents opened before `before` (this month's and last month's), newest first:
        one or two queries of at most `limit` items, whatever the history."""
        found: list[IncidentFacts] = []
        until = facts_key(before, "")[1]
        last_month = before.astimezone(UTC).replace(day=1) - timedelta(days=1)
        for month in reversed(months_between(last_month, before)):
            for record in FactsRecord.query(
                month, FactsRecord.sk < until, scan_index_forward=False, limit=limit - len(found)
            ):
                found.append(IncidentFacts.model_validate(record.packed))
            if len(found) >= limit:
                break
        return found
