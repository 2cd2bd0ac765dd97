"""Outgoing webhooks (pure): who subscribes to which incident events, what each delivery says and how it is signed.

A subscription (the directory's `webhooks`, edited with the admin API: PUT /admin/webhooks/<id>) names a URL, the
event types it wants (all when empty) and, optionally, the teams and services it is about. Each event is delivered
as Standard Webhooks describe (https://www.standardwebhooks.com, spec v1): a JSON body `{type, timestamp, data}`
and the headers `webhook-id` (the same on every retry of one event to one subscription: receivers deduplicate on
it), `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
Each subscription has its own secret (`whsec_…`), derived from the stack's one webhook key and its id, so a
subscription's secret reveals nothing of another's; an admin reads it with GET /admin/webhooks/<id>/secret.

Retries follow Standard Webhooks' suggested schedule (immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h);
as the spec says, any answer but a 2xx is a failure and retried (a 404 may be a receiver being deployed). A delivery
still failing after the last goes to the dead-letter queue with the reason, from where the admin API replays it;
410 Gone (the receiver says it is gone for good) goes there at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .enums import EventType
from .errors import PermanentError, TransientError

SECRET_PREFIX = "whsec_"
# Seconds to wait before each retry (the n-th after the first attempt), as Standard Webhooks suggest.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
ATTEMPTS = len(RETRY_SCHEDULE) + 1
TIMEOUT_SECONDS = 10  # what an endpoint gets to answer: Standard Webhooks expect an answer within seconds
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class WebhookUndelivered(TransientError):
    """Some subscriptions' endpoints did not take an event (no answer, or not a 2xx): tried again on the schedule
    (domain/webhooks.py), not at once, and dead-lettered with this reason once the attempts run out."""

    retry_in_place = False


class WebhookGone(PermanentError):
    """A subscription's endpoint answered 410 Gone: no retry will reach it (dead-lettered at once, replayable)."""


class UnsafeDestination(PermanentError):
    """A webhook's URL leads into the function's own network (loopback, link-local, private ranges): never posted to."""


class Subscriber(BaseModel):
    """Who hears about which incident events: by type (all when empty), the incident's team and its service."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    events: list[EventType] = []  # none: every type
    teams: list[str] = []  # none: every team's incidents
    services: list[str] = []  # none: every service's
    enabled: bool = True

    @field_validator("events", "teams", "services")
    @classmethod
    def _listed_once(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("lists an entry twice")
        return values

    def wants(self, event_type: EventType, team: str | None, service: str | None) -> bool:
        return (
            self.enabled
            and (not self.events or event_type in self.events)
            and (not self.teams or team in self.teams)
            and (not self.services or service in self.services)
        )


class WebhookSubscription(Subscriber):
    url: Annotated[str, Field(min_length=1, max_length=2048)]

    @field_validator("url")
    @classmethod
    def _https(cls, url: str) -> str:
        return check_url(url)


def check_url(url: str) -> str:
    """A receiver's URL as an admin may give it: https, nothing a log or a reason should not show."""
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise ValueError("url: must have no spaces or control characters")
    parts = urlsplit(url)
    try:
        _ = parts.port  # (raises for a port out of range)
    except ValueError:
        raise ValueError("url: has an invalid port") from None
    if (
        parts.username or parts.password
    ):  # (they would travel in logs and reasons: a token goes in a header or the path)
        raise ValueError("url: must not carry a user name or password")
    if parts.scheme == "https" and parts.hostname:
        return url
    # A receiver on this machine (the local runtime; deployed, the sender refuses loopback whatever the scheme).
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return url
    raise ValueError("url: must be an https:// URL (http:// only to this machine)")


def subscription_secret(key: bytes, subscription_id: str) -> str:
    """The subscription's own signing secret, derived from the stack's webhook key."""
    derived = hmac.new(key, f"firebell webhook {subscription_id}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(derived).decode()


def message_id(event_type: EventType, incident_id: str, occurred_at: datetime, subscription_id: str) -> str:
    """The same for every attempt (and every publication) of one event to one subscription."""
    digest = hashlib.sha256(
        f"{incident_id}|{event_type.value}|{occurred_at.isoformat()}|{subscription_id}".encode()
    ).hexdigest()
    return f"msg_{digest[:32]}"


def body(event_type: EventType, occurred_at: datetime, incident: dict[str, Any]) -> str:
    """Standard Webhooks' payload shape; `incident` is the incident as the API shows it, when the delivery was made."""
    return json.dumps(
        {"type": event_type.value, "timestamp": occurred_at.isoformat(), "data": {"incident": incident}},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def headers(secret: str, msg_id: str, sent_at: datetime, payload: str) -> dict[str, str]:
    """The request's headers, signed with the Standard Webhooks reference library."""
    from standardwebhooks import Webhook

    timestamp = int(sent_at.timestamp())
    signed = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), payload)
    return {
        "content-type": "application/json",
        "user-agent": "firebell-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signed,
    }


def delivered(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def gone(status: int | None) -> bool:
    """The receiver says it is gone for good: no retry will reach it."""
    return status == 410


def retry_delay(attempt: int) -> int:
    """Seconds before the attempt after `attempt` (1 is the first)."""
    return RETRY_SCHEDULE[min(attempt, len(RETRY_SCHEDULE)) - 1]
