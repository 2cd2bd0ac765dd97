"""Chat's marks (usecases/chat.py): an incident's message in each Slack channel, and the chat posts made.

A Slack message is posted once per incident and channel, then updated in place. chat.postMessage has no
idempotency key, so posting is claimed first (one conditional write); the message's `ts` is kept with the
timeline line that records the post, in one transaction. A claim whose post left no `ts` (its answer lost, or
the function stopped) is taken over after it lapses, and the taker first looks for the message in the channel.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite
from ulid import ULID

from ..domain.models import TimelineEntry
from .items import conditional_failure, expiry, failed_conditions, incident_pk
from .records import ChatThreadRecord, OnceRecord, TimelineRecord

KEEP_THREAD_DAYS = 400  # the message is updated for as long as the incident changes: a year and then some


def _thread_key(incident_id: str, channel_id: str) -> tuple[str, str]:
    return f"CHAT#{incident_id}", f"CHANNEL#{channel_id}"


def _timeline_record(entry: TimelineEntry) -> TimelineRecord:
    return TimelineRecord(
        incident_pk(entry.incident_id),
        f"TIMELINE#{entry.at.isoformat()}#{ULID()}",
        document=entry.model_dump(mode="json"),
    )


class ChatMarks:
    def chat_message(self, incident_id: str, channel_id: str) -> tuple[str | None, datetime | None]:
        """(ts, claimed until) of the incident's message in the channel; (None, None) before anyone claimed it."""
        try:
            record = ChatThreadRecord.get(*_thread_key(incident_id, channel_id), consistent_read=True)
        except DoesNotExist:
            return None, None
        return record.ts, datetime.fromisoformat(record.claimed_until)

    def claim_chat_message(
        self, incident_id: str, channel_id: str, now: datetime, until: datetime, replacing: datetime | None
    ) -> bool:
        """Take the right to post the message. `replacing`: the claim read before (None: nobody had claimed it),
        which must have lapsed and left no message. A claim read as none only takes a record that is still none:
        had another delivery claimed, posted and let go meanwhile, its message would be in the channel unknown to
        this taker, which looks there only when it takes over a claim."""
        pk, sk = _thread_key(incident_id, channel_id)
        if replacing is None:
            condition = ChatThreadRecord.pk.does_not_exist()
        else:
            condition = ChatThreadRecord.ts.does_not_exist() & (ChatThreadRecord.claimed_until < now.isoformat())
        try:
            ChatThreadRecord(pk, sk, claimed_until=until.isoformat(), expires=expiry(now, KEEP_THREAD_DAYS)).save(
                condition=condition
            )
            return True
        except PutError as error:
            if conditional_failure(error):
                return False
            raise

    def release_chat_claim(self, incident_id: str, channel_id: str, now: datetime) -> None:
        """A post that may or may not have landed: the claim lapses now (the next taker looks in the channel first)."""
        pk, sk = _thread_key(incident_id, channel_id)
        try:
            ChatThreadRecord(pk, sk).update(
                actions=[ChatThreadRecord.claimed_until.set(now.isoformat())],
                condition=ChatThreadRecord.ts.does_not_exist(),
            )
        except UpdateError as error:
            if not conditional_failure(error):
                raise

    def forget_chat_message(self, incident_id: str, channel_id: str, ts: str) -> None:
        """The message `ts` is gone from the channel: the incident may have a new one (if nobody forgot it first)."""
        try:
            ChatThreadRecord(*_thread_key(incident_id, channel_id)).delete(condition=ChatThreadRecord.ts == ts)
        except DeleteError as error:
            if not conditional_failure(error):
                raise

    def keep_chat_message(self, incident_id: str, channel_id: str, ts: str, entry: TimelineEntry) -> bool:
        """The posted message's ts, with the timeline line that records it; False if a ts was kept already."""
        pk, sk = _thread_key(incident_id, channel_id)
        try:
            with TransactWrite(connection=ChatThreadRecord._get_connection().connection) as tx:
                tx.update(
                    ChatThreadRecord(pk, sk),
                    actions=[ChatThreadRecord.ts.set(ts)],
                    condition=ChatThreadRecord.ts.does_not_exist(),
                )
                tx.save(_timeline_record(entry))
            return True
        except TransactWriteError as error:
            if failed_conditions(error):
                return False
            raise

    def record_chat_post(self, post_id: str, keep_until: datetime, entry: TimelineEntry) -> bool:
        """A post (Teams, Google Chat) marked made, with its timeline line; False if it was marked before."""
        try:
            with TransactWrite(connection=OnceRecord._get_connection().connection) as tx:
                tx.save(
                    OnceRecord(
                        f"ONCE#chat#{post_id}", expires_at=keep_until.isoformat(), expires=int(keep_until.timestamp())
                    ),
                    condition=OnceRecord.pk.does_not_exist(),
                )
                tx.save(_timeline_record(entry))
            return True
        except TransactWriteError as error:
            if failed_conditions(error):
                return False
            raise

    def first_time(self, signature: str, keep_until: datetime) -> bool:
        """A signed Slack request seen for the first time (True), or a replay of one (False)."""
        key = hashlib.sha256(signature.encode()).hexdigest()
        try:
            OnceRecord(
                f"ONCE#slack#{key}", expires_at=keep_until.isoformat(), expires=int(keep_until.timestamp())
            ).save(condition=OnceRecord.pk.does_not_exist())
            return True
        except PutError as error:
            if conditional_failure(error):
                return False
            raise

    def chat_posted(self, post_id: str) -> bool:
        try:
            OnceRecord.get(f"ONCE#chat#{post_id}", "ONCE", consistent_read=True)
            return True
        except DoesNotExist:
            return False
