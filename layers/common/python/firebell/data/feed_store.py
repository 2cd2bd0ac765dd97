"""DynamoDB store of calendar feed secrets (domain/feeds.py): one item per person, holding the SHA-256 of their
current feed token. Issuing a token is one put (it replaces the previous one); revoking is one delete.

  pk               sk     what
  FEED#<person>    FEED   secret_sha256, created_at
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from .records import _TableMeta, bind_table

_SK = "FEED"


class FeedRecord(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=_SK)
    secret_sha256 = UnicodeAttribute()
    created_at = UnicodeAttribute()


def _pk(person: str) -> str:
    return f"FEED#{person}"


class DynamoFeedStore:
    def __init__(self, table_name: str, region: str) -> None:
        bind_table(table_name, region, (FeedRecord,))

    def feed(self, person: str) -> tuple[str, datetime] | None:
        """(the stored token's SHA-256, when it was made), or None when the person has no feed."""
        try:
            record = FeedRecord.get(_pk(person), _SK, consistent_read=True)  # a revoked address stops at once
        except FeedRecord.DoesNotExist:
            return None
        return record.secret_sha256, datetime.fromisoformat(record.created_at)

    def replace(self, person: str, secret_sha256: str, created_at: datetime) -> None:
        FeedRecord(_pk(person), _SK, secret_sha256=secret_sha256, created_at=created_at.isoformat()).save()

    def delete(self, person: str) -> None:
        FeedRecord(_pk(person), _SK).delete()
