"""Which outgoing webhook deliveries an endpoint took (domain/webhooks.py): one small item per delivery, kept a
week (DynamoDB's TTL deletes it), so a retried or replayed event goes only to the subscriptions still missing it."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from .records import OnceRecord


def _pk(message_id: str) -> str:
    return f"ONCE#webhook#{message_id}"


class DeliveryLog:
    def delivered(self, message_id: str) -> bool:
        try:
            OnceRecord.get(_pk(message_id), "ONCE", consistent_read=True)
            return True
        except DoesNotExist:
            return False

    def mark_delivered(self, message_id: str, keep_until: datetime) -> None:
        OnceRecord(_pk(message_id), expires_at=keep_until.isoformat(), expires=int(keep_until.timestamp())).save()
