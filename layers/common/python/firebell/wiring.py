"""Builds the service and adapters from settings, once per container, on first use."""

from datetime import UTC, datetime
from functools import cache

from .adapters import aws
from .batch import DeadLetterQueues
from .config import cached_config
from .data.store import DynamoIncidentStore
from .service import IncidentService
from .settings import get_settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@cache
def incident_service() -> IncidentService:
    settings = get_settings()
    return IncidentService(
        store=DynamoIncidentStore(settings.table_name, settings.region),
        events=aws.SnsEventPublisher(settings.events_topic_arn, settings.region),
        clock=utc_now,
        config=lambda: cached_config(settings.config_dir),
        workflow=aws.StepFunctionsEscalation(settings.escalation_state_machine_arn, settings.region),
        messenger=aws.AwsMessenger(settings.region),
        time_scale=settings.time_scale,
        public_api_url=settings.public_api_url,
    )


@cache
def dead_letters() -> DeadLetterQueues:
    return aws.SqsRedriveDeadLetters(get_settings().region)


def reset() -> None:
    """Forget everything built from the environment (tests change it between cases)."""
    for cached in (incident_service, dead_letters, get_settings, aws.client, cached_config):
        cached.cache_clear()
