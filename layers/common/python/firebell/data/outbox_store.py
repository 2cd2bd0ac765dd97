"""The outbox part of the DynamoDB store: effects committed with their change, claimed under a lease by a
dispatcher, completed with their timeline lines; the by-outbox index lists what is not done yet (the relay)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite
from ulid import ULID

from ..concurrency import run_at_once
from ..domain.models import TimelineEntry
from ..outbox import Effect, EffectStatus
from .items import OUTBOX_PENDING, conditional_failure, effect_sk, failed_conditions, incident_pk, items_in_order
from .records import EffectRecord, TimelineRecord, document_of


class OutboxStore:
    def pending_effects(self, incident_id: str) -> list[Effect]:
        """Effects of this incident not yet done (pending, or claimed by a dispatcher), in commit order."""
        records = EffectRecord.query(
            incident_pk(incident_id),
            EffectRecord.sk.startswith("EFFECT#"),
            consistent_read=True,
            filter_condition=EffectRecord.status.is_in(EffectStatus.PENDING.value, EffectStatus.SENDING.value),
        )
        return [Effect.model_validate(document_of(record)) for record in records]

    def claim_effect(
        self, effect: Effect, now: datetime, lease_until: datetime, ours_until: datetime | None = None
    ) -> bool:
        """Take the effect for this dispatcher: pending, or claimed by one whose lease ran out (or, `ours_until`, by
        our own commit until then: extended)."""
        condition = (EffectRecord.status == EffectStatus.PENDING.value) | (
            (EffectRecord.status == EffectStatus.SENDING.value) & (EffectRecord.lease_until < now.isoformat())
        )
        if ours_until is not None:
            condition = condition | (
                (EffectRecord.status == EffectStatus.SENDING.value)
                & (EffectRecord.lease_until == ours_until.isoformat())
            )
        try:
            EffectRecord._get_connection().update_item(
                incident_pk(effect.incident_id),
                range_key=effect_sk(effect.effect_id),
                actions=[
                    EffectRecord.status.set(EffectStatus.SENDING.value),
                    EffectRecord.lease_until.set(lease_until.isoformat()),
                ],
                condition=EffectRecord.pk.exists() & condition,
            )
            return True
        except UpdateError as error:
            if conditional_failure(error):
                return False
            raise

    def complete_effect(
        self, effect: Effect, status: EffectStatus, result: str, entries: Sequence[TimelineEntry] = ()
    ) -> None:
        """Mark it done (or skipped) together with the timeline lines that record it (e.g. the delivery); a second
        completion (a retry of one whose answer was lost) changes nothing and writes no line twice."""
        actions = _completion(status, result)
        condition = EffectRecord.status == EffectStatus.SENDING.value
        if not entries:  # one item: a plain conditional update (a transaction costs twice the write units)
            try:
                EffectRecord._get_connection().update_item(
                    incident_pk(effect.incident_id),
                    range_key=effect_sk(effect.effect_id),
                    actions=actions,
                    condition=condition,
                )
            except UpdateError as error:
                if not conditional_failure(error):
                    raise
            return
        try:
            with TransactWrite(connection=EffectRecord._get_connection().connection) as tx:
                tx.update(
                    EffectRecord(incident_pk(effect.incident_id), effect_sk(effect.effect_id)),
                    actions=actions,
                    condition=condition,
                )
                for entry in entries:
                    tx.save(
                        TimelineRecord(
                            incident_pk(entry.incident_id),
                            f"TIMELINE#{entry.at.isoformat()}#{ULID()}",
                            document=entry.model_dump(mode="json"),
                        )
                    )
        except TransactWriteError as error:
            if failed_conditions(error) != [len(entries)]:  # pynamodb sends the puts first, the update last
                raise

    def complete_effects(self, done: list[tuple[Effect, str]]) -> None:
        """Mark them done, each in its own conditional update, sent at once (their round trips overlap): a done mark
        needs no other item, and a transaction would bill each item twice (issue 10). One already completed (a retry
        whose answer was lost) is left as is. Every mark is tried; the first failure is raised."""
        answers = run_at_once(
            [partial(self.complete_effect, effect, EffectStatus.DONE, result) for effect, result in done]
        )
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer

    def release_effect(self, effect: Effect) -> None:
        """Give a claimed effect back (it failed): the next dispatch may take it without waiting for the lease."""
        try:
            EffectRecord._get_connection().update_item(
                incident_pk(effect.incident_id),
                range_key=effect_sk(effect.effect_id),
                actions=[EffectRecord.status.set(EffectStatus.PENDING.value), EffectRecord.lease_until.remove()],
                condition=EffectRecord.status == EffectStatus.SENDING.value,
            )
        except UpdateError as error:
            if not conditional_failure(error):
                raise

    def outbox(self, committed_before: datetime, limit: int = 100) -> list[Effect]:
        """Effects not done that were committed before `committed_before`, oldest first (eventually consistent)."""
        keys = [
            (k.pk, k.sk)
            for k in EffectRecord.by_outbox.query(
                OUTBOX_PENDING, EffectRecord.committed_at < committed_before.isoformat(), limit=limit
            )
        ]
        return [Effect.model_validate(document_of(record)) for record in items_in_order(EffectRecord, keys)]

    def effect_status(self, incident_id: str, effect_id: str) -> EffectStatus | None:
        try:
            return EffectStatus(
                EffectRecord.get(incident_pk(incident_id), effect_sk(effect_id), consistent_read=True).status
            )
        except DoesNotExist:
            return None

    def effects(self, incident_id: str) -> list[tuple[Effect, EffectStatus]]:
        """Every effect of the incident with its status (tests and the fault suite count them)."""
        records = EffectRecord.query(
            incident_pk(incident_id), EffectRecord.sk.startswith("EFFECT#"), consistent_read=True
        )
        return [(Effect.model_validate(document_of(r)), EffectStatus(r.status)) for r in records]


def _completion(status: EffectStatus, result: str) -> list[Any]:
    return [
        EffectRecord.status.set(status.value),
        EffectRecord.result.set(result[:1024] or "-"),
        EffectRecord.lease_until.remove(),
        EffectRecord.outbox.remove(),
    ]
