"""The pipeline, described once. infra/cdk renders it to CloudFormation; infra/local renders it onto moto.

A change to the pipeline (a queue, a filter policy, a function's trigger or permission) is a change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pynamodb.indexes import GlobalSecondaryIndex
from pynamodb.models import Model

from firebell.data.records import TABLE_MODEL
from firebell.domain.enums import EventType

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
STATE_MACHINE_DIR = ROOT / "infra" / "statemachines"


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


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: KeyAttribute
    range_key: KeyAttribute | None
    indexes: tuple[IndexSpec, ...]


def table_from_model(name: str, model: type[Model]) -> TableSpec:
    """Keys and global indexes exactly as the pynamodb model declares them."""

    def key(attrs, role: str) -> KeyAttribute | None:
        for attr in attrs.values():
            if getattr(attr, "is_hash_key" if role == "hash" else "is_range_key"):
                return KeyAttribute(attr.attr_name, attr.attr_type)
        return None

    indexes = []
    for value in vars(model).values():
        if isinstance(value, GlobalSecondaryIndex):
            index_attrs = value.Meta.attributes
            indexes.append(
                IndexSpec(
                    name=value.Meta.index_name,
                    hash_key=key(index_attrs, "hash"),
                    range_key=key(index_attrs, "range"),
                    projection=value.Meta.projection.projection_type,
                )
            )
    model_attrs = model.get_attributes()
    hash_key = key(model_attrs, "hash")
    assert hash_key is not None, f"{model.__name__} has no hash key"
    return TableSpec(name, hash_key, key(model_attrs, "range"), tuple(sorted(indexes, key=lambda i: i.name)))


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str


@dataclass(frozen=True)
class Subscription:
    topic: str
    # Raw delivery hands the SNS message itself to the consumer; off keeps SNS's envelope (the alarm format).
    raw_message_delivery: bool
    filter_policy: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class QueueSpec:
    name: str
    subscriptions: tuple[Subscription, ...] = ()
    # Our batch processor dead-letters (with the reason) on the last attempt; the redrive is the backstop.
    max_receive_count: int = 5
    visibility_timeout_seconds: int = 180  # six times the functions' 30 s timeout, as AWS advises


@dataclass(frozen=True)
class StateMachineSpec:
    name: str
    definition_file: Path
    # ASL `${Name}` → (resource kind, resource name): filled with the rendered resource's URL or ARN.
    substitutions: dict[str, tuple[str, str]]
    sends_to_queues: tuple[str, ...] = ()


# --- functions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiTrigger:
    kind: Literal["api"] = "api"


@dataclass(frozen=True)
class QueueTrigger:
    queue: str
    batch_size: int = 10
    max_batching_window_seconds: int = 1
    kind: Literal["queue"] = "queue"


@dataclass(frozen=True)
class Permissions:
    table_read_write: tuple[str, ...] = ()
    publish_to_topics: tuple[str, ...] = ()
    send_to_queues: tuple[str, ...] = ()  # includes the function's own DLQ, named "<queue>-dlq"
    start_executions: tuple[str, ...] = ()
    answer_tasks: tuple[str, ...] = ()  # SendTaskSuccess on these state machines
    send_email: bool = False
    send_sms: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    trigger: ApiTrigger | QueueTrigger
    permissions: Permissions
    # Environment variable → (resource kind, resource name); kinds: table, topic, queue_url, state_machine, api_url.
    environment: dict[str, tuple[str, str]] = field(default_factory=dict)
    handler: str = "app.handler"
    memory_mb: int = 512
    timeout_seconds: int = 30

    @property
    def code_dir(self) -> Path:
        return ROOT / "functions" / self.name

    @property
    def module(self) -> str:
        return f"functions.{self.name}.{self.handler.rsplit('.', 1)[0]}"


@dataclass(frozen=True)
class Topology:
    tables: tuple[TableSpec, ...]
    topics: tuple[TopicSpec, ...]
    queues: tuple[QueueSpec, ...]
    functions: tuple[FunctionSpec, ...]
    state_machines: tuple[StateMachineSpec, ...]

    def dlq_name(self, queue: str) -> str:
        return f"{queue}-dlq"

    def function(self, name: str) -> FunctionSpec:
        return next(f for f in self.functions if f.name == name)

    def queue(self, name: str) -> QueueSpec:
        return next(q for q in self.queues if q.name == name)


TABLE = "incidents"
ALARMS_TOPIC = "alarms"
EVENTS_TOPIC = "events"
ESCALATION = "escalation"

_COMMON_ENV = {"TABLE_NAME": ("table", TABLE), "EVENTS_TOPIC_ARN": ("topic", EVENTS_TOPIC)}


# Consumers find their DLQ and retry budget in their queue's redrive policy, not in the environment.
def _consumer_env(queue: str) -> dict[str, tuple[str, str]]:
    return dict(_COMMON_ENV)


TOPOLOGY = Topology(
    tables=(table_from_model(TABLE, TABLE_MODEL),),
    topics=(
        TopicSpec(ALARMS_TOPIC, "CloudWatch alarm actions publish here"),
        TopicSpec(EVENTS_TOPIC, "Incident lifecycle events; consumers subscribe with filter policies"),
    ),
    queues=(
        QueueSpec("intake", subscriptions=(Subscription(ALARMS_TOPIC, raw_message_delivery=False),)),
        QueueSpec(
            "classify",
            subscriptions=(Subscription(EVENTS_TOPIC, True, {"type": [EventType.OPENED.value]}),),
        ),
        QueueSpec(
            "notify",
            subscriptions=(Subscription(EVENTS_TOPIC, True, {"type": [EventType.RESOLVED.value]}),),
        ),
    ),
    functions=(
        FunctionSpec(
            name="api",
            description="HTTP API: report, list, read, acknowledge, resolve, annotate incidents",
            trigger=ApiTrigger(),
            permissions=Permissions(
                table_read_write=(TABLE,), publish_to_topics=(EVENTS_TOPIC,), answer_tasks=(ESCALATION,)
            ),
            environment={**_COMMON_ENV, "ESCALATION_STATE_MACHINE_ARN": ("state_machine", ESCALATION)},
        ),
        FunctionSpec(
            name="intake",
            description="CloudWatch alarm notifications: open, deduplicate, resolve",
            trigger=QueueTrigger("intake"),
            permissions=Permissions(
                table_read_write=(TABLE,),
                publish_to_topics=(EVENTS_TOPIC,),
                send_to_queues=("intake-dlq",),
                answer_tasks=(ESCALATION,),
            ),
            environment={**_consumer_env("intake"), "ESCALATION_STATE_MACHINE_ARN": ("state_machine", ESCALATION)},
        ),
        FunctionSpec(
            name="classify",
            description="Categorise and prioritise new incidents; start their escalation",
            trigger=QueueTrigger("classify"),
            permissions=Permissions(
                table_read_write=(TABLE,),
                publish_to_topics=(EVENTS_TOPIC,),
                send_to_queues=("classify-dlq",),
                start_executions=(ESCALATION,),
            ),
            environment={**_consumer_env("classify"), "ESCALATION_STATE_MACHINE_ARN": ("state_machine", ESCALATION)},
        ),
        FunctionSpec(
            name="notify",
            description="Email and SMS to responders and stakeholders; records every delivery",
            trigger=QueueTrigger("notify", batch_size=5),
            permissions=Permissions(
                table_read_write=(TABLE,),
                publish_to_topics=(EVENTS_TOPIC,),
                send_to_queues=("notify-dlq",),
                answer_tasks=(ESCALATION,),
                send_email=True,
                send_sms=True,
            ),
            environment={
                **_consumer_env("notify"),
                "ESCALATION_STATE_MACHINE_ARN": ("state_machine", ESCALATION),
                "PUBLIC_API_URL": ("api_url", "api"),
            },
        ),
    ),
    state_machines=(
        StateMachineSpec(
            name=ESCALATION,
            definition_file=STATE_MACHINE_DIR / "escalation.asl.json",
            substitutions={"NotifyQueueUrl": ("queue_url", "notify")},
            sends_to_queues=("notify",),
        ),
    ),
)
