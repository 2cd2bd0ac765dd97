"""Builds the use cases and adapters from settings, once per container (locally: once per function), on first use.

Each builder imports what it builds when it first runs: a function loads the modules of the use cases it runs,
not every function's (issue 10: cold start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .adapters import aws
from .container import forget_everything_built, per_function
from .settings import Settings, get_settings

if TYPE_CHECKING:
    from .adapters.slack import SlackWebApi
    from .batch import DeadLetterQueues
    from .calendar_feeds import CalendarFeeds
    from .data.store import DynamoIncidentStore
    from .directory_admin import DirectoryAdmin, TtlCache
    from .dispatch import Dispatcher, OutboxRelay
    from .domain.alarms import RegionLookup
    from .domain.directory import FirebellConfig
    from .domain.enums import EventType
    from .domain.models import Incident
    from .report_service import ReportService
    from .schedule_service import ScheduleService
    from .usecases.base import Context, Incidents
    from .usecases.change_events import ChangeEvents
    from .usecases.chat import ChatDeliveries
    from .usecases.chat_actions import ChatActions
    from .usecases.contacts import MyContacts
    from .usecases.duties import Duties
    from .usecases.escalation import Escalation
    from .usecases.intake import AlertIntake
    from .usecases.lifecycle import Lifecycle
    from .usecases.mail_intake import MailIntake
    from .usecases.rearm import TimerRearm
    from .usecases.resolution import Resolution
    from .usecases.reviews import Reviews
    from .usecases.sla_clocks import SlaClocks
    from .usecases.sms_digests import SmsDigests
    from .usecases.webhooks import WebhookDeliveries, WebhookReplay, WebhookSecrets

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@per_function
def _workflows() -> aws.StepFunctionsWorkflows:
    settings = get_settings()
    return aws.StepFunctionsWorkflows(settings.state_machine_arns(), settings.region)


@per_function
def _store() -> DynamoIncidentStore:
    from .data.store import DynamoIncidentStore

    settings = get_settings()
    return DynamoIncidentStore(settings.table_name, settings.region)


@per_function
def _dispatcher() -> Dispatcher:
    from .dispatch import Dispatcher

    settings = get_settings()
    return Dispatcher(
        store=_store(),
        events=aws.SnsEventPublisher(settings.events_topic_arn, settings.region),
        workflows=_workflows(),
        # (Slack direct messages only where the bot token is granted: the functions whose use cases page people)
        messenger=aws.AwsMessenger(
            settings.region, slack_api if settings.slack_bot_token_arn else None, settings.sms_origination
        ),
        clock=utc_now,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        audience=event_audience,
    )


@per_function
def incidents() -> Incidents:
    """Reading incidents and running commands: the store, and the dispatcher that carries out their effects."""
    from .usecases.base import Incidents

    return Incidents(_store(), _dispatcher(), utc_now)


def event_audience(event_type: EventType, incident: Incident) -> dict[str, bool]:
    """Which optional consumers want the event, by the directory as it stands (its overlay included)."""
    from .domain.audience import audience

    return audience(effective_config().directory, event_type, incident.team, incident.service)


@per_function
def outbox_relay() -> OutboxRelay:
    from .dispatch import OutboxRelay

    return OutboxRelay(_store(), _dispatcher(), utc_now, timedelta(seconds=get_settings().outbox_grace_seconds))


@per_function
def context() -> Context:
    from .usecases.base import Context

    settings = get_settings()
    return Context(
        config=effective_config,
        clock=utc_now,
        execution_arn=_workflows().execution_arn,
        time_scale=settings.time_scale,
        api_url=settings.public_api_url,
        ack_secret=_ack_secret(settings),
        api_url_served=lambda: _api_url_served()[0],
    )


@per_function
def _api_url_served() -> list[str]:
    return [""]


def serving_at(url: str) -> None:
    """The API function's public URL, as its requests show it (functions/api/http_rules.py public_url)."""
    _api_url_served()[0] = url


# One function per use case: a function builds only the ones it runs.
@per_function
def lifecycle() -> Lifecycle:
    from .usecases.lifecycle import Lifecycle

    return Lifecycle(incidents(), context())


@per_function
def resolution() -> Resolution:
    from .usecases.resolution import Resolution

    return Resolution(incidents(), context())


@per_function
def intake() -> AlertIntake:
    from .usecases.intake import AlertIntake

    return AlertIntake(incidents(), context(), lifecycle(), resolution(), escalation())


@per_function
def mail_intake() -> MailIntake:
    from .usecases.mail_intake import MailIntake

    settings = get_settings()
    if not settings.mail_bucket:
        raise RuntimeError("no mail bucket is configured (MAIL_BUCKET)")
    return MailIntake(
        aws.S3MailBucket(settings.region),
        intake(),
        lifecycle(),
        incidents(),
        effective_config,
        utc_now,
        settings.mail_bucket,
        local_runtime=settings.local_runtime,
    )


@per_function
def change_events() -> ChangeEvents:
    from .usecases.change_events import ChangeEvents

    return ChangeEvents(incidents())


@per_function
def escalation() -> Escalation:
    from .usecases.escalation import Escalation

    return Escalation(incidents(), context())


@per_function
def sms_digests() -> SmsDigests:
    from .usecases.sms_digests import SmsDigests

    return SmsDigests(incidents(), context())


@per_function
def sla_clocks() -> SlaClocks:
    from .usecases.sla_clocks import SlaClocks

    return SlaClocks(incidents(), context())


@per_function
def duties() -> Duties:
    from .usecases.duties import Duties

    return Duties(incidents(), context())


@per_function
def timer_rearm() -> TimerRearm:
    from .usecases.rearm import TimerRearm

    return TimerRearm(incidents(), context())


def _ack_secret(settings: Settings) -> Callable[[], bytes] | None:
    if settings.ack_secret:
        key = settings.ack_secret.encode()
        return lambda: key
    if settings.ack_secret_arn:
        return aws.SecretsManagerSecret(settings.ack_secret_arn, settings.region)
    return None


@per_function
def schedules() -> ScheduleService:
    from .schedule_service import ScheduleService

    return ScheduleService(effective_config, utc_now)


def reviews() -> Reviews:
    from .usecases.reviews import Reviews

    return Reviews(incidents(), context())


def _webhook_key() -> Callable[[], bytes]:
    settings = get_settings()
    if not settings.webhook_secret_arn:
        raise RuntimeError("no webhook signing key is configured (WEBHOOK_SECRET_ARN)")
    return aws.SecretsManagerSecret(settings.webhook_secret_arn, settings.region)


@per_function
def webhook_deliveries() -> WebhookDeliveries:
    from .adapters.http import UrllibWebhookSender
    from .usecases.webhooks import WebhookDeliveries

    store = _store()
    # (loopback only in the local runtime, where the receivers live; deployed, 127.0.0.1 is Lambda's own runtime API)
    sender = UrllibWebhookSender(loopback_allowed=get_settings().local_runtime)
    return WebhookDeliveries(store, store, sender, effective_config, _webhook_key(), utc_now)


@per_function
def webhook_replay() -> WebhookReplay:
    from .usecases.webhooks import WebhookReplay

    settings = get_settings()
    if not (settings.webhooks_dlq_url and settings.webhooks_queue_url):
        raise RuntimeError(
            "the webhooks queue and its dead-letter queue are not configured (WEBHOOKS_QUEUE_URL, WEBHOOKS_DLQ_URL)"
        )
    return WebhookReplay(aws.SqsReplay(settings.webhooks_dlq_url, settings.webhooks_queue_url, settings.region))


@per_function
def webhook_secrets() -> WebhookSecrets:
    from .usecases.webhooks import WebhookSecrets

    return WebhookSecrets(effective_config, _webhook_key())


def _slack_secret(arn: str, what: str) -> Callable[[], bytes]:
    settings = get_settings()
    if not arn:
        raise RuntimeError(f"no Slack {what} is configured")
    return aws.SecretsManagerSecret(arn, settings.region)


@per_function
def slack_api() -> SlackWebApi:
    from .adapters.slack import SlackWebApi

    settings = get_settings()
    token = _slack_secret(settings.slack_bot_token_arn, "bot token (SLACK_BOT_TOKEN_ARN)")
    return SlackWebApi(lambda: token().decode(), settings.slack_api_url)


@per_function
def slack_signing_secret() -> Callable[[], bytes]:
    return _slack_secret(get_settings().slack_signing_secret_arn, "signing secret (SLACK_SIGNING_SECRET_ARN)")


def slack_requests() -> DynamoIncidentStore:
    """Where a signed Slack request is remembered, so that its replay is refused."""
    return _store()


def _console_url() -> str:
    settings = get_settings()
    return (settings.console_url or settings.public_api_url or context().api_url_served()).rstrip("/")


@per_function
def chat_deliveries() -> ChatDeliveries:
    from .adapters.http import UrllibWebhookSender
    from .usecases.chat import ChatDeliveries

    store = _store()
    sender = UrllibWebhookSender(loopback_allowed=get_settings().local_runtime)
    return ChatDeliveries(store, store, slack_api(), sender, effective_config, utc_now, _console_url)


@per_function
def chat_actions() -> ChatActions:
    from .usecases.chat_actions import ChatActions

    return ChatActions(effective_config, incidents(), lifecycle(), resolution(), intake(), schedules(), slack_api())


@per_function
def my_contacts() -> MyContacts:
    from .usecases.contacts import MyContacts

    store = _store()
    return MyContacts(
        effective_config,
        store,
        directory_admin(),
        aws.AwsMessenger(get_settings().region, sms_origination=get_settings().sms_origination),
        utc_now,
    )


def reports() -> ReportService:
    from .report_service import ReportService

    return ReportService(_store(), effective_config, utc_now)


@per_function
def calendar_feeds() -> CalendarFeeds:
    from .calendar_feeds import CalendarFeeds
    from .data.feed_store import DynamoFeedStore

    settings = get_settings()
    return CalendarFeeds(DynamoFeedStore(settings.table_name, settings.region), schedules(), effective_config, utc_now)


# How long a function may use the directory before it looks for admin changes again (the container
# that made a change sees it at once).
EFFECTIVE_CONFIG_TTL_SECONDS = 15.0


@per_function
def _shipped_config() -> FirebellConfig:
    """config/ as the layer ships it, read once per container; a deployed function says so at once if no
    monitoring tool could reach it (its only routing keys are demo keys, which it refuses)."""
    from .config import cached_config  # yaml and the directory's models: not every function reads the config

    settings = get_settings()
    config = cached_config(settings.config_dir)
    if settings.sender:
        config = config.sending_from(settings.sender)
    if not settings.local_runtime and config.directory.demo_keys_only():
        logger.warning(
            "every routing key in %s/firebell.yaml is a demo key, refused outside the local runtime: "
            "PagerDuty and Alertmanager senders need keys of your own (python -m firebell.keys new)",
            settings.config_dir,
        )
    return config


@per_function
def directory_admin() -> DirectoryAdmin:
    from .data.directory_store import DynamoDirectoryStore
    from .directory_admin import DirectoryAdmin

    settings = get_settings()
    return DirectoryAdmin(
        store=DynamoDirectoryStore(settings.table_name, settings.region),
        base=_shipped_config,
        clock=utc_now,
        on_change=lambda: _effective_config().invalidate(),
    )


def _for_this_runtime(config: FirebellConfig) -> FirebellConfig:
    return config.accepting_demo_keys() if get_settings().local_runtime else config


@per_function
def _effective_config() -> TtlCache[FirebellConfig]:
    from .directory_admin import TtlCache

    return TtlCache(lambda: _for_this_runtime(directory_admin().effective_config()), EFFECTIVE_CONFIG_TTL_SECONDS)


def effective_config() -> FirebellConfig:
    """config/ with the admin API's directory changes applied, at most EFFECTIVE_CONFIG_TTL_SECONDS old."""
    return _effective_config().get()


@per_function
def dead_letters() -> DeadLetterQueues:
    return aws.SqsRedriveDeadLetters(get_settings().region)


def region_lookup() -> RegionLookup:
    """Region codes and display names, for alarm formats that name the region but carry no alarm ARN."""
    from .adapters import regions

    return regions.lookup


def reset() -> None:
    """Forget everything built from the environment (tests change it between cases)."""
    forget_everything_built()  # every @per_function builder, here and in settings
    aws.forget_clients()
    aws.session.cache_clear()
    from .config import cached_config

    cached_config.cache_clear()
