"""DynamoDB single-table layout, as pynamodb models. The CDK table and the local tables are rendered
from these (infra/topology.py), and tests/infra holds the synthesized template to them.

  pk                     sk                          what
  INCIDENT#<ulid>        INCIDENT                    the incident (indexed fields on top, the rest packed)
  INCIDENT#<ulid>        TIMELINE#<iso time>#<ulid>  one timeline entry
  INCIDENT#<ulid>        EFFECT#<effect id>          one effect of a committed change (the outbox), pending → done
  DEDUP#<dedup key>      DEDUP                       which open incident an alarm belongs to
  DEDUP#<dedup key>      MSG#<message id>            this notification was counted (a redelivery is not)
  IDEMPOTENCY#<sha256>   IDEMPOTENCY                 the incident a client's Idempotency-Key opened
  ONCE#<key>             ONCE                        a single-use key (an acknowledgement link's nonce) was used
  COUNTER#reference      COUNTER                     the last human reference number handed out
  SMS#<person>#<window>  WINDOW | HELD#<effect id>   an SMS digest window: SMS pages counted, pages held for the digest
  CHAT#<ulid>            CHANNEL#<channel id>        the incident's message in a Slack channel (data/chat_store.py)
  VERIFY#<person>        CONTACT#<email|phone>       a code on its way to a contact method (data/contact_store.py)
  DIRECTORY              HEAD | ENTRY#<kind>#<id>    the admin API's changes to config/firebell.yaml (data/directory_store.py)
"""

import json
from typing import Any

import pynamodb.connection.base as pynamodb_connections
from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from ..adapters import aws
from . import packing

DEFAULT_TABLE_NAME = "firebell-incidents"
# DynamoDB's TTL attribute (epoch seconds): outbox entries, message markers, used nonces and idempotency claims expire.
EXPIRY_ATTRIBUTE = "expires"


class Utf8JSONAttribute(JSONAttribute):
    """JSON stored as UTF-8 rather than \\u-escaped: long non-ASCII text stays far below the 400 KB item limit."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False)


class PackedJSONAttribute(BinaryAttribute):
    """JSON compressed with zlib (data/packing.py, issue 10): DynamoDB bills each write per KB of the whole item,
    twice in a transaction, and the incident's and the emails' documents are mostly text and repeated keys (an
    incident's 3.7 KB pack under 1 KB). Binary, so the console shows it as base64: what one looks an item up by
    stays plain beside it."""

    def __init__(self, dictionary: bytes | None = None, **kwargs: Any) -> None:
        super().__init__(legacy_encoding=False, **kwargs)
        self.dictionary = dictionary

    def serialize(self, value: Any) -> bytes | None:
        return None if value is None else packing.pack(value, self.dictionary)

    def deserialize(self, value: bytes) -> Any:
        return packing.unpack(value)


def document_of(record: Any) -> Any:
    """A record's document: packed, or as plain JSON in an item written before documents were packed."""
    return record.packed if record.packed is not None else record.document


class _TableMeta:
    # Replaced by bind_table() at first use: nothing reads settings at import time.
    table_name = DEFAULT_TABLE_NAME
    region = "us-east-1"
    billing_mode = "PAY_PER_REQUEST"


# What the indexes carry is what their queries read, no more: DynamoDB writes an index entry again whenever a
# projected attribute changes, and the incident item changes with nearly every command (with ALL, three indexes
# took 206 of one P2 incident's 303 write units, issue 10). The list reads the incidents themselves after the index.
_LIST_FILTERS = ["priority", "team", "reporter"]  # what GET /incidents filters on besides the index key (data/store.py)


class StatusIndex(GlobalSecondaryIndex["IncidentRecord"]):
    class Meta:
        index_name = "by-status"
        projection = IncludeProjection(_LIST_FILTERS)

    status = UnicodeAttribute(hash_key=True)
    opened_at = UnicodeAttribute(range_key=True)


class ReferenceIndex(GlobalSecondaryIndex["IncidentRecord"]):
    """INC-n → the incident's key (its id is in it): the item itself is read next."""

    class Meta:
        index_name = "by-reference"
        projection = KeysOnlyProjection()

    reference = UnicodeAttribute(hash_key=True)


class RecencyIndex(GlobalSecondaryIndex["IncidentRecord"]):
    """Every incident, newest first; sparse (only incident items carry `entity`)."""

    class Meta:
        index_name = "by-recency"
        projection = IncludeProjection(_LIST_FILTERS)

    entity = UnicodeAttribute(hash_key=True)
    opened_at = UnicodeAttribute(range_key=True)


class IncidentRecord(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute(default="incident")
    incident_id = UnicodeAttribute(null=True)  # items written before issue 10 packed them: now read from pk
    reference = UnicodeAttribute()
    status = UnicodeAttribute()
    priority = UnicodeAttribute(null=True)
    team = UnicodeAttribute(null=True)
    reporter = UnicodeAttribute(null=True)  # on top so that a list can filter by it
    opened_at = UnicodeAttribute()
    occurrences = NumberAttribute(default=1)
    last_seen_at = UnicodeAttribute()
    document = Utf8JSONAttribute(null=True)  # items written before `packed` (read, never written)
    packed = PackedJSONAttribute(packing.INCIDENT_V1, null=True)  # the rest of the incident: document_of()
    version = VersionAttribute()

    by_status = StatusIndex()
    by_reference = ReferenceIndex()
    by_recency = RecencyIndex()


class TimelineRecord(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    document = Utf8JSONAttribute()


class DedupRecord(Model):
    """Which incident an alert key feeds, and its exact occurrence count (one UpdateItem per signal)."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="DEDUP")
    incident_id = UnicodeAttribute()
    occurrences = NumberAttribute(null=True)
    first_seen = UnicodeAttribute(null=True)
    last_seen = UnicodeAttribute(null=True)
    created = BooleanAttribute(null=True)
    claim_message = UnicodeAttribute(
        null=True
    )  # the notification that claimed the key (its redelivery finishes the job)
    resolved_at = UnicodeAttribute(null=True)
    last_logged_at = UnicodeAttribute(null=True)
    previous_seen = UnicodeAttribute(null=True)  # last_seen before the latest occurrence: how long the alert was silent
    last_message = UnicodeAttribute(null=True)  # the notification counted last (a redelivery of it knows its silence)
    triggered_at = UnicodeAttribute(null=True)  # the source's time of the trigger counted last (ports.DedupState)


class OnceRecord(Model):
    """A key that may be used once (an acknowledgement link's nonce), kept until it could no longer be valid."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="ONCE")
    expires_at = UnicodeAttribute()
    expires = NumberAttribute(null=True)


class OutboxIndex(GlobalSecondaryIndex["EffectRecord"]):
    """Effects not yet done, oldest first; sparse (`outbox` is removed when an effect completes). Keys only: claiming
    an effect then changes nothing in it, and the relay, which seldom finds anything, reads the effects themselves."""

    class Meta:
        index_name = "by-outbox"
        projection = KeysOnlyProjection()

    outbox = UnicodeAttribute(hash_key=True)
    committed_at = UnicodeAttribute(range_key=True)


class EffectRecord(Model):
    """One effect of a committed change: pending until a dispatcher claims (lease) and completes it."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    outbox = UnicodeAttribute(null=True)  # "pending" until done: the relay finds what a crash left behind
    committed_at = UnicodeAttribute()
    status = UnicodeAttribute()
    lease_until = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)
    document = Utf8JSONAttribute(null=True)  # items written before `packed` (read, never written)
    packed = PackedJSONAttribute(null=True)  # the Effect: document_of()
    expires = NumberAttribute(null=True)

    by_outbox = OutboxIndex()


class MessageRecord(Model):
    """Marks one notification as counted against its alert's dedup pointer."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires = NumberAttribute(null=True)


class IdempotencyRecord(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="IDEMPOTENCY")
    incident_id = UnicodeAttribute()
    fingerprint = UnicodeAttribute()
    expires = NumberAttribute(null=True)


class CounterRecord(Model):
    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="COUNTER")
    value = NumberAttribute(default=0)


class SmsWindowRecord(Model):
    """One person's SMS digest window (domain/sms_digest.py): the SMS pages counted, and when its digest went."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="WINDOW")
    sent = UnicodeSetAttribute(null=True)  # effect ids: a retried effect counts once
    closed_at = UnicodeAttribute(null=True)
    expires = NumberAttribute(null=True)


class SmsHeldRecord(Model):
    """An SMS page held for its window's digest."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    document = Utf8JSONAttribute()
    expires = NumberAttribute(null=True)


class ChatThreadRecord(Model):
    """An incident's message in one Slack channel: claimed before it is posted, its `ts` kept once it is."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    claimed_until = UnicodeAttribute()
    ts = UnicodeAttribute(null=True)
    expires = NumberAttribute(null=True)


class VerificationRecord(Model):
    """A contact method waiting for its code (domain/contacts.py), kept an hour past its last code (its sending limits)."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    document = Utf8JSONAttribute()
    guesses_left = NumberAttribute()  # (apart from the document: a wrong guess is one atomic ADD)
    revision = NumberAttribute(null=True)  # each new code one more: stored only over the one it was decided from
    expires = NumberAttribute(null=True)


ALL_RECORDS: tuple[type[Model], ...] = (
    IncidentRecord,
    TimelineRecord,
    DedupRecord,
    OnceRecord,
    CounterRecord,
    EffectRecord,
    MessageRecord,
    IdempotencyRecord,
    SmsWindowRecord,
    SmsHeldRecord,
    ChatThreadRecord,
    VerificationRecord,
)
TABLE_MODEL = IncidentRecord  # carries the key schema of the table; the indexes are every model's


class _ProcessSession:
    """What pynamodb's connections get from `get_session()`: the process's one botocore session
    (firebell.adapters.aws.session), whose clients are made one at a time. pynamodb otherwise makes a session for
    every model's connection, and loads every service model again for each.

    pynamodb makes a client per model's connection, all alike: they share one (issue 10: making each took 10–20 ms
    of the first event). A client whose credentials are empty is made again, as pynamodb asks for then."""

    def __init__(self) -> None:
        self._clients: dict[str, Any] = {}
        self._session: Any = None  # the session they were made from (tests start a new one: wiring.reset)

    def __getattr__(self, name: str) -> Any:
        return getattr(aws.session(), name)

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        options = {
            name: getattr(value, "_user_provided_options", value) for name, value in kwargs.items()
        }  # a Config's
        key = repr((args, sorted(options.items())))
        with aws.MAKING_CLIENTS:
            if self._session is not aws.session():
                self._session, self._clients = aws.session(), {}
            client = self._clients.get(key)
            if client is None or (client._request_signer and not client._request_signer._credentials):
                client = self._clients[key] = aws.session().create_client(*args, **kwargs)
            return client


_PROCESS_SESSION = _ProcessSession()


def bind_table(table_name: str, region: str, models: tuple[type[Model], ...] = ALL_RECORDS) -> None:
    """Point every model (or `models`) at the deployed table (idempotent; drops cached connections on change)."""
    # pynamodb looks the name up on every new session; its stubs type the module's function, not this replacement.
    pynamodb_connections.get_session = lambda: _PROCESS_SESSION  # type: ignore[attr-defined,assignment,misc]
    for model in models:
        if model.Meta.table_name != table_name or model.Meta.region != region:
            model.Meta.table_name = table_name
            model.Meta.region = region
            model._connection = None


class FactsRecord(Model):
    """An incident's facts for the reports (domain/facts.py), written by the change that closes it: pk FACTS#<month
    it opened>, sk <opened_at>#<id>, so a period's report queries its months and reads nothing else."""

    class Meta(_TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    packed = PackedJSONAttribute()
