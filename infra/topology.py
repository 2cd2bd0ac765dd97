"""The pipeline, described once. infra/cdk renders it to CloudFormation; infra/local renders it onto moto.

A change to the pipeline (a queue, a filter policy, a function's trigger or permission) is a change here.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

from firebell import workflows as machines
from firebell.data.records import ALL_RECORDS, EXPIRY_ATTRIBUTE, TABLE_MODEL
from firebell.dispatch import OutboxRelay
from firebell.domain import audience, chat, webhooks
from firebell.domain.alarms import ALARM_STATE_CHANGE_PATTERN
from firebell.domain.enums import EventType
from firebell.domain.mail_intake import INBOUND_PREFIX
from firebell.outbox import EffectKind, Needs
from firebell.usecases.change_events import ChangeEvents
from firebell.usecases.chat import ChatDeliveries
from firebell.usecases.chat_actions import ChatActions
from firebell.usecases.contacts import MyContacts
from firebell.usecases.duties import Duties
from firebell.usecases.escalation import Escalation
from firebell.usecases.intake import AlertIntake
from firebell.usecases.lifecycle import Lifecycle
from firebell.usecases.mail_intake import MailIntake
from firebell.usecases.rearm import TimerRearm
from firebell.usecases.resolution import Resolution
from firebell.usecases.reviews import Reviews
from firebell.usecases.sla_clocks import SlaClocks
from firebell.usecases.sms_digests import SmsDigests
from firebell.usecases.webhooks import WebhookDeliveries, WebhookReplay, WebhookSecrets
from infra.monitoring import MonitoringSpec
from infra.specs import (  # noqa: F401  (the kinds of resource, under the names everyone imports them by)
    PUBLIC_ROUTE_THROTTLE,
    STAGE_THROTTLE,
    ApiTrigger,
    BucketSpec,
    EventRuleSpec,
    IndexSpec,
    KeyAttribute,
    MailReceiptSpec,
    PublicRoute,
    QueueSpec,
    QueueTrigger,
    ScheduleTrigger,
    SecretSpec,
    StateMachineSpec,
    Subscription,
    TableSpec,
    Throttle,
    TopicSpec,
    table_from_model,
)

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
STATE_MACHINE_DIR = ROOT / "infra" / "statemachines"
# AWS's guidance for SQS event sources: visibility timeout at least six times the consuming function's timeout.
VISIBILITY_TIMEOUT_FACTOR = 6


@dataclass(frozen=True)
class Permissions:
    table_read_write: tuple[str, ...] = ()
    publish_to_topics: tuple[str, ...] = ()
    send_to_queues: tuple[str, ...] = ()  # includes the function's own DLQ, named "<queue>-dlq"
    consume_queues: tuple[str, ...] = ()  # read and delete messages (beyond a queue trigger's own)
    start_executions: tuple[str, ...] = ()
    stop_executions: tuple[str, ...] = ()
    answer_tasks: tuple[str, ...] = ()  # SendTaskSuccess/Failure/Heartbeat on these state machines
    read_secrets: tuple[str, ...] = ()
    read_objects: tuple[str, ...] = ()  # s3:GetObject on these buckets' objects under their prefix
    send_email: bool = False
    send_sms: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    """A function is built from the use cases it `runs`; its IAM grants and environment are derived from what
    those need (their NEEDS, held to the code by tests/unit/test_needs.py), never listed by hand."""

    name: str
    description: str
    trigger: ApiTrigger | QueueTrigger | ScheduleTrigger
    runs: tuple[type, ...]  # use case classes (each with NEEDS: firebell.outbox.Needs)
    handler: str = "app.handler"
    memory_mb: int = 512
    timeout_seconds: int = 30

    @property
    def needs(self) -> Needs:
        needs = reduce(operator.or_, (use_case.NEEDS for use_case in self.runs), Needs())
        if EffectKind.SMS in needs.effects:
            # The dispatcher arms an SMS digest's timer when it holds a page past the limit (firebell/dispatch.py).
            needs |= Needs(starts=frozenset({machines.DIGEST}))
        return needs

    @property
    def permissions(self) -> Permissions:
        needs = self.needs
        return Permissions(
            table_read_write=(TABLE,) if self.runs else (),
            publish_to_topics=(EVENTS_TOPIC,) if EffectKind.PUBLISH in needs.effects else (),
            # A queue consumer dead-letters what no retry can fix, with the reason (firebell/batch.py).
            send_to_queues=((f"{self.trigger.queue}-dlq",) if isinstance(self.trigger, QueueTrigger) else ())
            + ((WEBHOOKS_QUEUE,) if needs.replays_webhooks else ()),
            consume_queues=(f"{WEBHOOKS_QUEUE}-dlq",) if needs.replays_webhooks else (),
            start_executions=_in_order(needs.starts),
            stop_executions=_in_order(needs.stops),
            answer_tasks=_in_order(needs.answers),
            read_secrets=((ACK_SECRET,) if needs.signs_ack_links else ())
            + ((WEBHOOK_SECRET,) if needs.signs_webhooks else ())
            + ((SLACK_BOT_TOKEN,) if _posts_to_slack(needs) else ())
            + ((SLACK_SIGNING_SECRET,) if needs.verifies_slack else ()),
            read_objects=(MAIL_BUCKET,) if needs.reads_mail else (),
            send_email=EffectKind.EMAIL in needs.effects,
            send_sms=EffectKind.SMS in needs.effects,
        )

    @property
    def environment(self) -> dict[str, tuple[str, str]]:
        """Environment variable → (resource kind, resource name): just what its use cases read."""
        needs, permissions = self.needs, self.permissions
        variables: dict[str, tuple[str, str]] = {}
        if permissions.table_read_write:
            variables["TABLE_NAME"] = ("table", TABLE)
        if permissions.publish_to_topics:
            variables["EVENTS_TOPIC_ARN"] = ("topic", EVENTS_TOPIC)
        for machine in _in_order(needs.starts | needs.stops | needs.answers):
            variables[f"{machine.upper()}_STATE_MACHINE_ARN"] = ("state_machine", machine)
        if needs.signs_webhooks:
            variables["WEBHOOK_SECRET_ARN"] = ("secret", WEBHOOK_SECRET)
        if _posts_to_slack(needs):
            variables["SLACK_BOT_TOKEN_ARN"] = ("secret", SLACK_BOT_TOKEN)
        if needs.verifies_slack:
            variables["SLACK_SIGNING_SECRET_ARN"] = ("secret", SLACK_SIGNING_SECRET)
        if needs.links_to_console:
            variables["CONSOLE_URL"] = ("console_url", "console")
        if needs.replays_webhooks:
            variables["WEBHOOKS_QUEUE_URL"] = ("queue_url", WEBHOOKS_QUEUE)
            variables["WEBHOOKS_DLQ_URL"] = ("queue_url", f"{WEBHOOKS_QUEUE}-dlq")
        if needs.reads_mail:
            variables["MAIL_BUCKET"] = ("bucket", MAIL_BUCKET)
        if needs.signs_ack_links:
            variables["ACK_SECRET_ARN"] = ("secret", ACK_SECRET)
            # The API's own URL would make the API depend on itself (CloudFormation cannot): its function's
            # pages carry no one-click link; the people it pages have the API at hand anyway.
            if not isinstance(self.trigger, ApiTrigger):
                variables["PUBLIC_API_URL"] = ("api_url", "api")
        return variables

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
    secrets: tuple[SecretSpec, ...] = ()
    event_rules: tuple[EventRuleSpec, ...] = ()
    buckets: tuple[BucketSpec, ...] = ()
    mail_receipt: MailReceiptSpec | None = None
    # The pager watches itself: the ops topic, the heartbeat; what is checked derives from the rest (infra/monitoring.py).
    monitoring: MonitoringSpec | None = None

    def dlq_name(self, queue: str) -> str:
        return f"{queue}-dlq"

    def function(self, name: str) -> FunctionSpec:
        return next(f for f in self.functions if f.name == name)

    def queue(self, name: str) -> QueueSpec:
        return next(q for q in self.queues if q.name == name)

    def bucket(self, name: str) -> BucketSpec:
        return next(b for b in self.buckets if b.name == name)

    def visibility_timeout_seconds(self, queue: QueueSpec) -> int:
        """The queue's own, raised to VISIBILITY_TIMEOUT_FACTOR times the timeout of any function it triggers."""
        consumer_timeouts = [
            f.timeout_seconds
            for f in self.functions
            if isinstance(f.trigger, QueueTrigger) and f.trigger.queue == queue.name
        ]
        return max([queue.visibility_timeout_seconds, *(VISIBILITY_TIMEOUT_FACTOR * t for t in consumer_timeouts)])


# Sized from bench/memory.py: every handler peaks under 60 MB, so CPU decides (a function gets memory / 1,769 MB of a
# vCPU). The paging path and the API get 1,024 MB: half the CPU-bound part of a cold start at 512 MB, for under $0.01
# more per 1,000 incidents (bench/results/memory.md, the trade-off); the outbox relay, background and mostly waiting, 256.
PAGING_MEMORY_MB = 1024
BACKGROUND_MEMORY_MB = 256

TABLE = "incidents"
ALARMS_TOPIC = "alarms"
EVENTS_TOPIC = "events"
ACK_SECRET = "ack-links"
WEBHOOK_SECRET = "webhook-key"
SLACK_BOT_TOKEN = "slack-bot-token"
SLACK_SIGNING_SECRET = "slack-signing-secret"
WEBHOOKS_QUEUE = "webhooks"
CHAT_QUEUE = "chat"
MAIL_BUCKET = "mail"
MAIL_QUEUE = "mail"
MACHINES = machines.ALL


def _wanted_by(consumer: str) -> dict[str, list[Any]]:
    """SNS's filter for an optional consumer of the events topic (firebell/domain/audience.py): what it wants, and
    what does not say (published by the relay, or by code from before). ("exists": false matches only a message
    with some attribute: every event has its `type`.)"""
    return {consumer: [{"exists": False}, audience.WANTED]}


def _posts_to_slack(needs: Needs) -> bool:
    """Slack's Web API: chat channels and their buttons, and people's direct messages (their notification rules)."""
    return needs.posts_to_slack or EffectKind.CHAT in needs.effects


def _in_order(names: frozenset[str]) -> tuple[str, ...]:
    return tuple(m for m in MACHINES if m in names)


def _state_machine(name: str, queue: str = "notify") -> StateMachineSpec:
    placeholder = "ClassifyQueueUrl" if queue == "classify" else "NotifyQueueUrl"
    return StateMachineSpec(
        name=name,
        definition_file=STATE_MACHINE_DIR / f"{name}.asl.json",
        substitutions={placeholder: ("queue_url", queue)},
        sends_to_queues=(queue,),
    )


TOPOLOGY = Topology(
    tables=(table_from_model(TABLE, TABLE_MODEL, *ALL_RECORDS, ttl_attribute=EXPIRY_ATTRIBUTE),),
    topics=(
        TopicSpec(ALARMS_TOPIC, "CloudWatch alarm actions publish here"),
        TopicSpec(EVENTS_TOPIC, "Incident lifecycle events; consumers subscribe with filter policies"),
    ),
    queues=(
        # Also fed by the alarm-state-changes EventBridge rule (event_rules, below).
        # An alarm is what must never be lost: ten deliveries (about 30 minutes) before its DLQ. Five ran out once in
        # the fault suite, at 10 % faults on a busy machine (no time left in the invocation to retry in place).
        QueueSpec(
            "intake", subscriptions=(Subscription(ALARMS_TOPIC, raw_message_delivery=False),), max_receive_count=10
        ),
        # Also woken by the maintenance state machine (maintenance.ended).
        QueueSpec("classify", subscriptions=(Subscription(EVENTS_TOPIC, True, {"type": [EventType.OPENED.value]}),)),
        # Fed by the state machines: pages, acknowledgement watch, SLA, reminders, confirmation window.
        QueueSpec("notify"),
        # Every incident event, for the outgoing webhooks; each attempt on Standard Webhooks' schedule (about 28 h).
        QueueSpec(
            WEBHOOKS_QUEUE,
            subscriptions=(Subscription(EVENTS_TOPIC, True, _wanted_by(audience.WEBHOOKS)),),
            max_receive_count=webhooks.ATTEMPTS,
        ),
        # Every incident event, for the chat channels (Slack, Teams, Google Chat).
        QueueSpec(
            CHAT_QUEUE,
            subscriptions=(Subscription(EVENTS_TOPIC, True, _wanted_by(audience.CHAT)),),
            max_receive_count=chat.ATTEMPTS,
        ),
        # Fed by the mail bucket's event notifications (buckets, below): one S3 event per received message.
        QueueSpec(MAIL_QUEUE),
    ),
    functions=(
        FunctionSpec(
            name="api",
            description="HTTP API: report, read, acknowledge, hold, escalate, resolve, reopen incidents; on-call schedules",
            trigger=ApiTrigger(
                public_routes=(
                    # People, one click each: a handful a second is plenty even in a storm.
                    PublicRoute(
                        "/ack/{token}",
                        ("GET", "POST"),
                        "the one-click link's HMAC-signed, expiring, single-use token (people click it from a phone)",
                        Throttle(rate_per_second=5, burst=10),
                    ),
                    # One request per alert; PagerDuty's senders retry a 429 (PagerDuty itself allows 120 a minute per key).
                    PublicRoute(
                        "/v2/enqueue",
                        ("POST",),
                        "the routing key in the body, an integration key of one service (PagerDuty Events API v2)",
                        Throttle(rate_per_second=20, burst=40),
                    ),
                    # Calendar apps poll a feed every few hours at most.
                    PublicRoute(
                        "/feeds/{token}/calendar.ics",
                        ("GET",),
                        "a person's secret calendar feed token in the path (stored as SHA-256, revocable)",
                        Throttle(rate_per_second=5, burst=10),
                    ),
                    PublicRoute(
                        "/v2/change/enqueue",
                        ("POST",),
                        "the routing key in the body, an integration key of one service (PagerDuty Change Events)",
                    ),
                    PublicRoute(
                        "/v1/alertmanager/{routing_key}",
                        ("POST",),
                        "the routing key in the path, an integration key of one service (Alertmanager webhook)",
                    ),
                    # People clicking and typing in Slack: a few a second.
                    PublicRoute(
                        "/chat/slack/interactions",
                        ("POST",),
                        "Slack's signature with the app's signing secret",
                        Throttle(rate_per_second=5, burst=20),
                    ),
                    PublicRoute(
                        "/chat/slack/commands",
                        ("POST",),
                        "Slack's signature with the app's signing secret",
                        Throttle(rate_per_second=5, burst=20),
                    ),
                )
            ),
            # Reports and monitoring tools' alerts, people's commands, stakeholder updates and reviews.
            runs=(
                AlertIntake,
                Lifecycle,
                Resolution,
                Duties,
                Reviews,
                ChangeEvents,
                WebhookSecrets,
                WebhookReplay,
                ChatActions,
                MyContacts,
            ),
            memory_mb=PAGING_MEMORY_MB,
        ),
        FunctionSpec(
            name="intake",
            description="CloudWatch alarm notifications: open (classified, level 1 paged at once), deduplicate, resolve, reopen",
            trigger=QueueTrigger("intake"),
            runs=(AlertIntake,),
            memory_mb=PAGING_MEMORY_MB,
        ),
        FunctionSpec(
            name="classify",
            description="Ends of maintenance windows (the deferred escalation starts); incident.opened as a safety net (classifies what opened unclassified)",
            trigger=QueueTrigger("classify"),
            runs=(Escalation,),
            memory_mb=PAGING_MEMORY_MB,
        ),
        FunctionSpec(
            name="notify",
            description="Acts on timers (pages, SLA, reminders, confirmation window); email and SMS; records every delivery",
            trigger=QueueTrigger("notify", batch_size=5),
            runs=(Escalation, SlaClocks, Duties, Resolution, SmsDigests),
            memory_mb=PAGING_MEMORY_MB,
        ),
        FunctionSpec(
            name="webhooks",
            description="Outgoing webhooks: each incident event posted, signed (Standard Webhooks), to the subscriptions that want it",
            trigger=QueueTrigger(WEBHOOKS_QUEUE),
            runs=(WebhookDeliveries,),
            memory_mb=BACKGROUND_MEMORY_MB,
        ),
        FunctionSpec(
            name="chat",
            description="Chat: each incident event shown in the chat channels that want it (Slack updated in place, Teams and Google Chat cards)",
            trigger=QueueTrigger(CHAT_QUEUE),
            runs=(ChatDeliveries,),
            memory_mb=BACKGROUND_MEMORY_MB,
        ),
        FunctionSpec(
            name="mail",
            description="Email intake: each received message opens an incident, adds a note to the one a reply names, or is ignored with its reason",
            trigger=QueueTrigger(MAIL_QUEUE),
            runs=(MailIntake,),
        ),
        FunctionSpec(
            name="outbox",
            description="Outbox relay: carries out committed effects a crash or a failure left pending; re-arms lost timers on request",
            trigger=ScheduleTrigger(rate_minutes=1, local_interval_seconds=1.0),
            runs=(OutboxRelay, TimerRearm),
            memory_mb=BACKGROUND_MEMORY_MB,
        ),
    ),
    state_machines=(
        _state_machine(machines.ESCALATION),
        _state_machine(machines.SLA),
        _state_machine(machines.REMINDER),
        _state_machine(machines.RESOLUTION),
        _state_machine(machines.MAINTENANCE, queue="classify"),
        _state_machine(machines.QUIET),
        _state_machine(machines.DIGEST),
    ),
    secrets=(
        SecretSpec(ACK_SECRET, "Signs the one-click acknowledgement links in emails and SMS"),
        SecretSpec(WEBHOOK_SECRET, "The key each outgoing webhook subscription's signing secret derives from"),
        SecretSpec(SLACK_BOT_TOKEN, "The Slack app's bot token (xoxb-…): put it here to post in Slack (docs/chat.md)"),
        SecretSpec(
            SLACK_SIGNING_SECRET,
            "The Slack app's signing secret: put it here to take its buttons and /firebell (docs/chat.md)",
        ),
    ),
    buckets=(
        # Received mail, kept as SES stored it (the original and its attachments) for 90 days.
        BucketSpec(
            MAIL_BUCKET,
            "Mail received at the intake addresses, as SES stores it",
            expire_after_days=90,
            prefix=INBOUND_PREFIX,
            notify_queue=MAIL_QUEUE,
        ),
    ),
    mail_receipt=MailReceiptSpec(bucket=MAIL_BUCKET),
    event_rules=(
        # Every alarm's state changes, composite and metric-math included, with or without alarm actions.
        EventRuleSpec(
            "alarm-state-changes", "CloudWatch alarm state changes to intake", ALARM_STATE_CHANGE_PATTERN, "intake"
        ),
    ),
    monitoring=MonitoringSpec(),
)
