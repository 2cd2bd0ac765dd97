"""The SMS digest part of the DynamoDB store: per person and window, the SMS pages counted (a string set of
effect ids, so a retried effect counts once), those held for the digest, and whether the digest went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.transactions import TransactWrite

from ..outbox import Effect, EffectStatus
from .items import OUTBOX_PENDING, conditional_failure, effect_sk, expiry, failed_conditions, incident_pk
from .records import EffectRecord, SmsHeldRecord, SmsWindowRecord

_WINDOW_SK = "WINDOW"
_KEEP_DAYS = 2


def _window_pk(person: str, window: int) -> str:
    return f"SMS#{person}#{window}"


class SmsWindowStore:
    def count_sms(self, person: str, window: int, effect_id: str, limit: int, at: datetime) -> bool:
        sent = SmsWindowRecord.sent
        try:
            SmsWindowRecord._get_connection().update_item(
                _window_pk(person, window),
                range_key=_WINDOW_SK,
                actions=[sent.add({effect_id}), SmsWindowRecord.expires.set(expiry(at, _KEEP_DAYS))],
                condition=sent.does_not_exist() | sent.contains(effect_id) | (size(sent) < limit),
            )
            return True
        except UpdateError as error:
            if conditional_failure(error):
                return False
            raise

    def hold_sms(self, person: str, window: int, effect_id: str, held: dict[str, Any], at: datetime) -> bool:
        try:
            with TransactWrite(connection=SmsWindowRecord._get_connection().connection) as tx:
                tx.condition_check(
                    SmsWindowRecord,
                    _window_pk(person, window),
                    _WINDOW_SK,
                    condition=SmsWindowRecord.closed_at.does_not_exist(),
                )
                tx.save(
                    SmsHeldRecord(
                        _window_pk(person, window), f"HELD#{effect_id}", document=held, expires=expiry(at, _KEEP_DAYS)
                    )
                )
            return True
        except TransactWriteError as error:
            if failed_conditions(error):  # (the held item's put has no condition: it is the window's check)
                return False
            raise

    def close_digest(self, person: str, window: int, effect: Effect | None, at: datetime) -> bool:
        try:
            with TransactWrite(connection=SmsWindowRecord._get_connection().connection) as tx:
                tx.update(
                    SmsWindowRecord(_window_pk(person, window), _WINDOW_SK),
                    actions=[
                        SmsWindowRecord.closed_at.set(at.isoformat()),
                        SmsWindowRecord.expires.set(expiry(at, _KEEP_DAYS)),
                    ],
                    condition=SmsWindowRecord.closed_at.does_not_exist(),
                )
                if effect is not None:
                    tx.save(
                        EffectRecord(
                            incident_pk(effect.incident_id),
                            effect_sk(effect.effect_id),
                            status=EffectStatus.PENDING.value,
                            outbox=OUTBOX_PENDING,
                            committed_at=at.isoformat(),
                            packed=effect.model_dump(mode="json"),
                            expires=expiry(at),
                        )
                    )
            return True
        except TransactWriteError as error:
            if failed_conditions(error):  # (the effect's put has no condition: it is the window's)
                return False
            raise

    def held_sms(self, person: str, window: int) -> list[dict[str, Any]]:
        records = SmsHeldRecord.query(
            _window_pk(person, window), SmsHeldRecord.sk.startswith("HELD#"), consistent_read=True
        )
        return sorted((record.document for record in records), key=lambda held: held["held_at"])
