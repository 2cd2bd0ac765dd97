"""Outgoing webhooks: an incident event delivered to every subscription that wants it (domain/webhooks.py).

The webhooks function receives each event published on the events topic. For every subscription that wants it
(by type, team and service) and has not taken it yet, it posts the incident as the API shows it now, signed, and
notes the delivery when the endpoint answers 2xx. What some endpoint did not take is raised (WebhookUndelivered),
and the event comes back on the retry schedule; only the subscriptions still missing it are posted to again, with
the same webhook-id (a receiver that took it but whose answer was lost deduplicates on it, as the spec asks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from ..concurrency import run_at_once
from ..domain import webhooks
from ..domain.directory import FirebellConfig
from ..domain.errors import EntryNotFound, IncidentNotFound
from ..domain.models import IncidentEvent, IncidentRead
from ..domain.webhooks import UnsafeDestination, WebhookGone, WebhookSubscription, WebhookUndelivered
from ..outbox import Needs
from ..ports import Clock, DeadLetterReplay, DeliveryLog, IncidentStore, WebhookSender

KEEP_DELIVERY_MARKS = timedelta(days=15)  # longer than the retries (about 28 h) and the dead letters' 14 days


@dataclass
class Deliveries:
    delivered: list[str] = field(default_factory=list)  # subscriptions that took it now
    already: list[str] = field(default_factory=list)  # ... that had taken it before (a retry, a replay)
    failed: dict[str, str] = field(default_factory=dict)  # subscription → what its endpoint did


class WebhookDeliveries:
    NEEDS = Needs(signs_webhooks=True)

    def __init__(
        self,
        store: IncidentStore,
        log: DeliveryLog,
        sender: WebhookSender,
        config: Callable[[], FirebellConfig],
        key: Callable[[], bytes],
        clock: Clock,
    ) -> None:
        self._store = store
        self._log = log
        self._sender = sender
        self._config = config
        self._key = key
        self._clock = clock

    def deliver(self, event: IncidentEvent) -> Deliveries:
        """Post `event` to the subscriptions that want it and have not taken it; raises WebhookUndelivered (or
        WebhookGone, when an endpoint answered 410) naming each one that did not take it."""
        done = Deliveries()
        subscriptions = [s for s in self._config().directory.webhooks if s.enabled]
        if not subscriptions:
            return done
        incident = self._store.get(event.incident_id)
        if incident is None:
            raise IncidentNotFound(event.incident_id)
        wanting = [s for s in subscriptions if s.wants(event.type, incident.team, incident.service)]
        # As the API shows it, its SLA clocks as they stood at the event; a retry may carry a later state of the
        # incident (the type and timestamp say what happened, and when).
        shown = IncidentRead.of(incident, event.occurred_at).model_dump(mode="json", context={"public": True})
        payload = webhooks.body(event.type, event.occurred_at, shown)
        missing = []
        for subscription in wanting:
            message_id = webhooks.message_id(event.type, event.incident_id, event.occurred_at, subscription.id)
            if self._log.delivered(message_id):
                done.already.append(subscription.id)
            else:
                missing.append((subscription, message_id))
        # At once: one slow endpoint (up to its timeout) delays no other subscription's delivery.
        answers = run_at_once([partial(self._post, s, m, payload) for s, m in missing])
        gone = False
        for (subscription, _), status in zip(missing, answers, strict=True):
            if isinstance(status, UnsafeDestination):
                done.failed[subscription.id] = str(status)
                gone = True
                continue
            if isinstance(status, Exception):  # (noting the delivery failed: it is posted again, with the same id)
                raise status
            if webhooks.delivered(status):
                done.delivered.append(subscription.id)
            else:
                gone = gone or webhooks.gone(status)
                done.failed[subscription.id] = f"answered {status}" if status is not None else "no answer"
        if done.failed:
            # (the subscription's id, not its URL: a URL may carry the receiver's token, and reasons are shown and logged)
            reason = "; ".join(f"webhook {s}: {what}" for s, what in done.failed.items())
            only_gone = gone and all(
                what == "answered 410" or "not a public address" in what for what in done.failed.values()
            )
            raise (WebhookGone if only_gone else WebhookUndelivered)(f"{event.type.value} {event.reference}: {reason}")
        return done

    def _post(self, subscription: WebhookSubscription, message_id: str, payload: str) -> int | None:
        now = self._clock()
        secret = webhooks.subscription_secret(self._key(), subscription.id)
        status = self._sender.post(
            subscription.url, payload, webhooks.headers(secret, message_id, now, payload), webhooks.TIMEOUT_SECONDS
        )
        if webhooks.delivered(status):
            self._log.mark_delivered(message_id, now + KEEP_DELIVERY_MARKS)
        return status


class WebhookSecrets:
    """A subscription's signing secret, for the admin who gives it to the receiver (GET /admin/webhooks/<id>/secret)."""

    NEEDS = Needs(signs_webhooks=True)

    def __init__(self, config: Callable[[], FirebellConfig], key: Callable[[], bytes]) -> None:
        self._config = config
        self._key = key

    def secret(self, subscription_id: str) -> str:
        if not any(s.id == subscription_id for s in self._config().directory.webhooks):
            raise EntryNotFound("webhooks", subscription_id)
        return webhooks.subscription_secret(self._key(), subscription_id)


class WebhookReplay:
    """Events whose deliveries ran out of attempts, back to the webhooks queue (POST /admin/webhooks/dead-letters/replay):
    each is then delivered to the subscriptions still missing it, on a fresh retry schedule."""

    NEEDS = Needs(replays_webhooks=True)

    def __init__(self, dead_letters: DeadLetterReplay) -> None:
        self._dead_letters = dead_letters

    def replay(self, limit: int = 1000) -> list[str]:
        return self._dead_letters.move(limit)
