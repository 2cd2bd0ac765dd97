"""The kinds of resource the pipeline is made of (infra/topology.py describes firebell with them): tables, topics,
queues, buckets, secrets, state machines and the functions' triggers. No firebell resource is named here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

# --- resources ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: Literal["S", "N", "B"]


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: KeyAttribute
    range_key: KeyAttribute | None
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    non_key_attributes: tuple[str, ...] = ()  # what INCLUDE carries besides the keys


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: KeyAttribute
    range_key: KeyAttribute | None
    indexes: tuple[IndexSpec, ...]
    # DynamoDB deletes an item once the epoch seconds in this attribute have passed (None: never).
    ttl_attribute: str | None = None


def table_from_model(
    name: str, model: type[Model], *others: type[Model], ttl_attribute: str | None = None
) -> TableSpec:
    """Keys as the pynamodb model declares them; global indexes as it and the `others` sharing its table do."""

    def key(attrs, role: str) -> KeyAttribute | None:
        for attr in attrs.values():
            if getattr(attr, "is_hash_key" if role == "hash" else "is_range_key"):
                return KeyAttribute(attr.attr_name, attr.attr_type)
        return None

    indexes = []
    for value in {id(v): v for m in (model, *others) for v in vars(m).values()}.values():
        if isinstance(value, GlobalSecondaryIndex):
            index_attrs = value.Meta.attributes
            indexes.append(
                IndexSpec(
                    name=value.Meta.index_name,
                    hash_key=key(index_attrs, "hash"),
                    range_key=key(index_attrs, "range"),
                    projection=value.Meta.projection.projection_type,
                    non_key_attributes=tuple(value.Meta.projection.non_key_attributes or ()),
                )
            )
    model_attrs = model.get_attributes()
    hash_key = key(model_attrs, "hash")
    assert hash_key is not None, f"{model.__name__} has no hash key"
    return TableSpec(
        name, hash_key, key(model_attrs, "range"), tuple(sorted(indexes, key=lambda i: i.name)), ttl_attribute
    )


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str


@dataclass(frozen=True)
class Subscription:
    topic: str
    # Raw delivery hands the SNS message itself to the consumer; off keeps SNS's envelope (the alarm format).
    raw_message_delivery: bool
    # SNS's filter policy on message attributes: each attribute's conditions (a value, or an operator such as
    # {"exists": False}), any one of which lets a message through.
    filter_policy: dict[str, list[Any]] | None = None


@dataclass(frozen=True)
class QueueSpec:
    name: str
    subscriptions: tuple[Subscription, ...] = ()
    # Our batch processor dead-letters (with the reason) on the last attempt; the redrive is the backstop.
    max_receive_count: int = 5
    visibility_timeout_seconds: int = 180  # six times the functions' 30 s timeout, as AWS advises


@dataclass(frozen=True)
class EventRuleSpec:
    """An EventBridge rule on the account's default bus: matching events go to `queue` (the event itself, as the
    message body). Events EventBridge cannot deliver go to the queue's DLQ."""

    name: str
    description: str
    pattern: dict[str, list[str]]
    queue: str


@dataclass(frozen=True)
class BucketSpec:
    """A private, encrypted S3 bucket whose objects expire after `expire_after_days`; each object created under
    `prefix` is announced on `notify_queue` (S3's event notification, the event itself as the message body)."""

    name: str
    description: str
    expire_after_days: int
    prefix: str
    notify_queue: str


@dataclass(frozen=True)
class MailReceiptSpec:
    """SES receiving (docs/email-intake.md): one receipt rule per intake address of the config (email_intake), each
    storing what it receives in `bucket` under `object_prefix(address)` (firebell/domain/mail_intake.py). Locally the
    SMTP listener plays SES (infra/local/smtp.py)."""

    bucket: str
    # Spam and virus scanning: SES writes its verdicts into the stored message (X-SES-Spam-Verdict, ...).
    scan_enabled: bool = True
    # Refuse senders that do not use TLS (every mail service people send from does).
    require_tls: bool = True

    @staticmethod
    def rule_name(address: str) -> str:
        """The receipt rule's name for one intake address (letters, digits, '.', '_', '-'; at most 64)."""
        readable = re.sub(r"[^A-Za-z0-9._-]", "-", address)[:48].strip("-._") or "address"
        return f"{readable}-{hashlib.sha256(address.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class SecretSpec:
    name: str
    description: str


@dataclass(frozen=True)
class StateMachineSpec:
    name: str
    definition_file: Path
    # ASL `${Name}` → (resource kind, resource name): filled with the rendered resource's URL or ARN.
    substitutions: dict[str, tuple[str, str]]
    sends_to_queues: tuple[str, ...] = ()


# --- functions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """API Gateway's token bucket: requests per second on average, and how many at once (for all callers together)."""

    rate_per_second: float
    burst: int


# Every route that requires IAM (SigV4) signatures: the stage's own throttle.
STAGE_THROTTLE = Throttle(rate_per_second=50, burst=100)
# Routes anyone on the internet can reach get less, each its own bucket: a flood of unsigned requests on one of
# them cannot take the signed routes' capacity (docs/security.md has the numbers and the WAF rule).
PUBLIC_ROUTE_THROTTLE = Throttle(rate_per_second=10, burst=20)


@dataclass(frozen=True)
class PublicRoute:
    """A path callers reach without AWS credentials; `authenticated_by` says what authenticates them instead."""

    path: str
    methods: tuple[str, ...]
    authenticated_by: str
    throttle: Throttle = PUBLIC_ROUTE_THROTTLE


@dataclass(frozen=True)
class ApiTrigger:
    # Everything else requires IAM (SigV4) authorization.
    public_routes: tuple[PublicRoute, ...] = ()
    kind: Literal["api"] = "api"


@dataclass(frozen=True)
class QueueTrigger:
    queue: str
    batch_size: int = 10
    # 0: Lambda hands over what one poll found at once (a storm still fills batches). Any window is waited out
    # on every message: on the paging path (intake opens and pages; notify pages the next levels) it is latency.
    max_batching_window_seconds: int = 0
    kind: Literal["queue"] = "queue"


@dataclass(frozen=True)
class ScheduleTrigger:
    """Invoked on a timer (an EventBridge schedule in AWS; a thread locally, every `local_interval_seconds`)."""

    rate_minutes: int
    local_interval_seconds: float
    kind: Literal["schedule"] = "schedule"
