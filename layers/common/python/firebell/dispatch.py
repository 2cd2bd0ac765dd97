"""Carries out what changes committed: publish, start/stop workflows, answer tasks, send email and SMS.

Each effect is claimed (a conditional write with a lease) before it is carried out and marked done after,
so two dispatchers (the function right after its commit, and the outbox relay's safety net) never both do
it; only a crash between doing and marking can repeat one, once its lease ran out. Right after a commit the
function needs no claim write (the commit wrote its effects claimed by it) and no read for a page's guard (the
state it just committed is the incident as last seen): the first page costs one call to SES or SNS and the
write that marks it done. The price: effects a crashed function left claimed wait for the lease before the
relay takes them. Effects of one change
run in order and the first failure stops the rest: a later effect (start the next escalation) never
overtakes an earlier one (stop the previous), and what is left stays pending for the next dispatch. The one
exception, right after a commit: the change's last effects, once they are only publishes and run starts (a new
incident's, after its pages), run at once in lanes (its publishes in order in one; each machine's starts in
another), so their round trips overlap (issue 10); each lane stops at its own first failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from . import workflows as machines
from .concurrency import run_at_once
from .domain.enums import EventType, TimelineKind
from .domain.errors import PermanentError
from .domain.models import Incident, IncidentEvent, TimelineEntry
from .outbox import SYSTEM, Effect, EffectKind, EffectStatus, Needs
from .ports import Clock, EventPublisher, IncidentStore, Messenger, Workflows
from .retrying import persevering
from .sms_holding import SmsHolding

logger = logging.getLogger(__name__)
_RUN_LIFECYCLE = (EffectKind.START, EffectKind.STOP)
_FINISHED = (EffectStatus.DONE, EffectStatus.SKIPPED)
# Repeating one of these harms nobody (a run's name, a token's answer, an event consumers deduplicate): right after
# a commit they are marked done at the end, once the change's effects ran, off the pages' path. People's email and
# SMS are marked one by one, as each is sent.
_REPEATABLE = (EffectKind.PUBLISH, EffectKind.START, EffectKind.STOP, EffectKind.ANSWER)
# Effects that need no order with one another once nothing else follows them: events (consumers deduplicate and
# never rely on their order) and starts of different machines (each run is named; its guard is checked again).
_AT_ONCE = (EffectKind.PUBLISH, EffectKind.START)
# Longer than any single effect takes (an SES or SNS call with the SDK's retries), shorter than a redelivery.
LEASE = timedelta(seconds=60)
# How long the state a function just committed stands in for a fresh read of the incident (a page's guard).
COMMITTED_STATE_FRESH = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Committed:
    """A change this dispatcher runs right after committing it: the state it wrote, when, and until when the
    commit claimed its effects for it."""

    incident: Incident
    at: datetime
    claimed_until: datetime


# Which optional consumers of the events topic want an event of this type about this incident (domain/audience.py).
EventAudience = Callable[[EventType, Incident], dict[str, bool]]


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    to: str
    person: str
    message_id: str


class Dispatcher:
    def __init__(
        self,
        store: IncidentStore,
        events: EventPublisher,
        workflows: Workflows,
        messenger: Messenger,
        clock: Clock,
        lease: timedelta = LEASE,
        audience: EventAudience | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._audience = audience
        self._workflows = workflows
        self._messenger = messenger
        self._clock = clock
        self._lease = lease
        self._sms = SmsHolding(store, workflows, messenger, clock, self._entry)

    def claim_until(self, now: datetime) -> datetime:
        """Until when a change committed now holds its effects for this dispatcher (Change.claimed_until)."""
        return now + self._lease

    def dispatch(self, effects: list[Effect], committed: Committed | None = None) -> list[Delivery]:
        """Carry out `effects` in order; stop at the first failure (it stays pending and is retried later).
        `committed`: they are the change this dispatcher has just committed."""
        deliveries: list[Delivery] = []
        done_together: list[tuple[Effect, str]] | None = [] if committed else None
        earlier: list[Effect] = []
        # (a new incident's first change has no earlier one)
        if any(e.kind in _RUN_LIFECYCLE for e in effects) and not (committed and committed.incident.version == 1):
            earlier = self._earlier_runs(effects)
        in_order = earlier + effects
        lanes: list[list[Effect]] = []
        if committed is not None and not earlier:
            in_order, lanes = _lanes(effects)
        for position, effect in enumerate(in_order):
            is_earlier = position < len(earlier)
            try:
                delivery = self._run(
                    effect,
                    in_turn=is_earlier,
                    committed=None if is_earlier else committed,
                    done_together=None if is_earlier else done_together,
                )
            except Exception as error:
                logger.warning(
                    "effect %s (%s) failed; left for the next dispatch", effect.effect_id, effect.kind, exc_info=True
                )
                if committed is not None:  # (ours: this change's effects after this one, lanes included)
                    self._hand_back(effects[max(0, position + 1 - len(earlier)) :])
                self._mark_done(done_together)
                raise EffectsPending(effect.incident_id, str(error)) from error
            if delivery:
                deliveries.append(delivery)
        failure = None
        if lanes and committed is not None and done_together is not None:  # (lanes are only a committed change's)
            failure = self._run_lanes(lanes, committed, done_together, deliveries)
        self._mark_done(done_together)
        if failure is not None:
            raise EffectsPending(failure[0].incident_id, str(failure[1])) from failure[1]
        return deliveries

    def _run_lanes(
        self,
        lanes: list[list[Effect]],
        committed: Committed,
        done_together: list[tuple[Effect, str]],
        deliveries: list[Delivery],
    ) -> tuple[Effect, Exception] | None:
        """Each lane in order on a thread of its own (firebell/concurrency.py); a lane's first failure hands back the
        rest of that lane. The first failure, if any (by lane)."""

        def lane_of(lane: list[Effect]) -> Callable[[], tuple[list[tuple[Effect, str]], list[Delivery]]]:
            def run() -> tuple[list[tuple[Effect, str]], list[Delivery]]:
                done: list[tuple[Effect, str]] = []
                delivered: list[Delivery] = []
                for position, effect in enumerate(lane):
                    try:
                        delivery = self._run(effect, committed=committed, done_together=done)
                    except Exception as error:
                        logger.warning(
                            "effect %s (%s) failed; left for the next dispatch",
                            effect.effect_id,
                            effect.kind,
                            exc_info=True,
                        )
                        self._hand_back(lane[position + 1 :])
                        raise _LaneStopped(effect, error, done, delivered) from error
                    if delivery:
                        delivered.append(delivery)
                return done, delivered

            return run

        failure = None
        for outcome in run_at_once([lane_of(lane) for lane in lanes]):
            if isinstance(outcome, _LaneStopped):
                failure = failure or (outcome.effect, outcome.error)
                done, delivered = outcome.done, outcome.delivered
            elif isinstance(outcome, Exception):
                raise outcome
            else:
                done, delivered = outcome
            done_together.extend(done)
            deliveries.extend(delivered)
        return failure

    def _mark_done(self, done: list[tuple[Effect, str]] | None) -> None:
        if not done:
            return
        try:
            persevering(lambda: self._store.complete_effects(done))
        except Exception:
            # Left claimed: once the lease runs out the relay carries them out again, which harms nobody.
            logger.warning(
                "effects %s stay claimed until their lease runs out", [e.effect_id for e, _ in done], exc_info=True
            )

    def _hand_back(self, claimed: list[Effect]) -> None:
        """The commit claimed these for us and we stop before them: the relay may take them at once, not after the
        lease (a crash leaves them to the lease)."""
        for effect in claimed:
            try:
                self._store.release_effect(effect)
            except Exception:
                logger.warning("effect %s stays claimed until its lease runs out", effect.effect_id, exc_info=True)

    def _earlier_runs(self, effects: list[Effect]) -> list[Effect]:
        """Starting and stopping workflow runs happens in commit order across dispatchers: an earlier change's
        `start` must not land after a later change's `stop` (two escalation runs at once). So the run effects of
        earlier changes still pending go first (see _run's `in_turn`)."""
        first = _commit_order(effects[0])
        return [
            e
            for e in self._store.pending_effects(effects[0].incident_id)
            if e.kind in _RUN_LIFECYCLE and _commit_order(e) < first
        ]

    def dispatch_pending(self, incident_id: str) -> list[Delivery]:
        """Whatever an earlier attempt committed and did not finish (a redelivery, the stream's safety net)."""
        return self.dispatch(self._store.pending_effects(incident_id))

    def _claimed(self, effect: Effect, now: datetime, committed: Committed | None) -> bool:
        if committed is not None and now + self._lease / 2 < committed.claimed_until:
            return True  # the commit claimed it, with time to spare
        return self._store.claim_effect(
            effect, now, now + self._lease, ours_until=committed.claimed_until if committed else None
        )

    def _last_seen(self, effect: Effect, committed: Committed | None) -> tuple[Incident | None, datetime]:
        """The incident as last seen, for a guard: what we committed a moment ago, else a fresh read."""
        if committed is not None and self._clock() - committed.at <= COMMITTED_STATE_FRESH:
            return committed.incident, committed.at
        incident = self._store.get(effect.incident_id)
        return incident, self._clock()

    def _run(
        self,
        effect: Effect,
        in_turn: bool = False,
        committed: Committed | None = None,
        done_together: list[tuple[Effect, str]] | None = None,
    ) -> Delivery | None:
        now = self._clock()
        if not self._claimed(effect, now, committed):
            if in_turn and self._store.effect_status(effect.incident_id, effect.effect_id) not in _FINISHED:
                # Another dispatcher is carrying out an earlier run effect: ours wait (the relay does them after).
                raise EffectsPending(effect.incident_id, f"earlier run effect {effect.effect_id} in progress elsewhere")
            return None  # done already, or another dispatcher holds it
        checked_at = checked_version = None
        held: TimelineEntry | None = None
        digest_entries: list[TimelineEntry] = []
        try:
            if effect.guard is not None:
                # Just before sending: a page for an incident acknowledged meanwhile is not sent.
                incident, checked_at = self._last_seen(effect, committed)
                checked_version = incident.version if incident else None
                if not effect.guard.holds(incident):
                    self._skip(effect, incident.status if incident else "gone")
                    return None
            if effect.kind is EffectKind.SMS and "limit" in effect.payload:
                held = self._sms.hold_if_over_limit(effect)
            if held is not None:
                result, delivery = held.message, None
            elif effect.kind is EffectKind.SMS and "digest" in effect.payload:
                result, message_id, digest_entries = self._sms.send_digest(effect)
                p = effect.payload
                delivery = Delivery("sms", p["to"], p["person"], message_id) if message_id else None
            else:
                result, delivery = self._carry_out(effect, committed)
            # A resolve may have committed between the read above and the start: check once more, and stop
            # a run nobody wants any more (so two runs never overlap beyond this instant).
            if (
                effect.kind is EffectKind.START
                and effect.guard is not None
                and not effect.guard.holds(self._store.get(effect.incident_id))
            ):
                self._workflows.stop(result, "no longer wanted when it started")
                result = f"stopped at once: {result}"
        except PermanentError as refused:
            if effect.kind is not EffectKind.CHAT:
                persevering(lambda: self._store.release_effect(effect))
                raise
            # Slack refused for good (the app not installed, the member gone): said on the timeline, not tried again.
            p = effect.payload
            failed = self._entry(
                effect,
                TimelineKind.NOTIFICATION_FAILED,
                f"slack to {p['person']} not sent: {refused} ({p['why']})",
                {"effect": effect.effect_id, "person": p["person"], "channel": "slack"},
            )
            reason = str(refused)[:200]
            persevering(lambda: self._store.complete_effect(effect, EffectStatus.SKIPPED, reason, [failed]))
            return None
        except Exception:
            persevering(lambda: self._store.release_effect(effect))  # the next dispatch may take it at once
            raise
        entries = [held] if held else digest_entries
        if delivery and "digest" not in effect.payload:
            entries.append(
                self._entry(
                    effect,
                    TimelineKind.NOTIFICATION_SENT,
                    f"{delivery.channel} to {delivery.person} <{delivery.to}> ({effect.payload['why']})",
                    {
                        "channel": delivery.channel,
                        "to": delivery.to,
                        "person": delivery.person,
                        "message_id": delivery.message_id,
                        "why": effect.payload["why"],
                        "effect": effect.effect_id,
                        # when the incident was last seen still wanting it (a page is only ever sent right after)
                        **(
                            {"checked_at": checked_at.isoformat(), "checked_version": checked_version}
                            if checked_at
                            else {}
                        ),
                    },
                )
            )
        if done_together is not None and effect.kind in _REPEATABLE and not entries:
            done_together.append((effect, result))
            return delivery
        # Done is written with some perseverance: once a page is out, failing to say so would send it again.
        persevering(lambda: self._store.complete_effect(effect, EffectStatus.DONE, result, entries))
        return delivery

    def _skip(self, effect: Effect, status: str) -> None:
        entries = []
        if effect.kind in (EffectKind.EMAIL, EffectKind.SMS, EffectKind.CHAT):
            p = effect.payload
            entries.append(
                self._entry(
                    effect,
                    TimelineKind.PAGE_SKIPPED,
                    f"{effect.kind} to {p['person']} not sent: incident is {status} ({p['why']})",
                    {"effect": effect.effect_id, "person": p["person"], "channel": str(effect.kind)},
                )
            )
        self._store.complete_effect(effect, EffectStatus.SKIPPED, f"incident {status}", entries)

    def _wanted(self, event: IncidentEvent, committed: Committed | None) -> dict[str, bool] | None:
        """Who wants an event published right after its change, by the incident as committed. None when the relay
        publishes it: every consumer gets it and checks for itself. (Decided here, not stored with the effect: the
        stored effect stays what code from before reads, should a deploy be rolled back.)"""
        if self._audience is None or committed is None:
            return None
        return self._audience(event.type, committed.incident)

    def _carry_out(self, effect: Effect, committed: Committed | None = None) -> tuple[str, Delivery | None]:
        p = effect.payload
        match effect.kind:
            case EffectKind.PUBLISH:
                event = IncidentEvent.model_validate(p)
                self._events.publish(event, self._wanted(event, committed))
                return "published", None
            case EffectKind.START:
                return self._workflows.start(p["machine"], p["name"], p["input"]), None
            case EffectKind.STOP:
                self._workflows.stop(p["execution_arn"], p["cause"])
                return "stopped", None
            case EffectKind.ANSWER:
                answered = self._workflows.answer(p["task_token"], p["outcome"], **p["details"])
                return "answered" if answered else "the wait had already ended", None
            case EffectKind.EMAIL:
                message_id = self._messenger.send_email(p["sender"], p["to"], p["subject"], p["body"])
                return message_id, Delivery("email", p["to"], p["person"], message_id)
            case EffectKind.SMS:
                message_id = self._messenger.send_sms(p["to"], p["text"])
                return message_id, Delivery("sms", p["to"], p["person"], message_id)
            case EffectKind.CHAT:
                message_id = self._messenger.send_chat(p["to"], p["text"])
                return message_id, Delivery("slack", p["to"], p["person"], message_id)
        raise AssertionError(f"unknown effect kind {effect.kind}")

    def _entry(self, effect: Effect, kind: TimelineKind, message: str, details: dict[str, Any]) -> TimelineEntry:
        return TimelineEntry(
            incident_id=effect.incident_id, at=self._clock(), kind=kind, actor=SYSTEM, message=message, details=details
        )


class EffectsPending(Exception):
    """The change committed, but one of its effects failed: it stays in the outbox for the next dispatch.

    Transient: a queue consumer lets its message be redelivered (which dispatches what is left); the outbox
    relay picks up the rest.
    """

    def __init__(self, incident_id: str, cause: str) -> None:
        super().__init__(f"{incident_id}: effect left pending ({cause})")
        self.incident_id = incident_id


class OutboxRelay:
    """The safety net: effects still pending some time after their commit (the function crashed, or an effect
    failed) are carried out here, on a schedule. The in-process dispatch right after a commit does the rest."""

    # Whatever any use case committed: every kind of effect, on every machine (runs stopped: escalation, SLA, reminders;
    # tasks answered: the machines that wait for an answer).
    NEEDS = Needs(
        effects=frozenset(EffectKind),
        starts=frozenset(machines.ALL),
        stops=frozenset({machines.ESCALATION, machines.SLA, machines.REMINDER}),
        answers=frozenset({machines.ESCALATION, machines.REMINDER, machines.RESOLUTION, machines.QUIET}),
    )

    def __init__(
        self, store: IncidentStore, dispatcher: Dispatcher, clock: Clock, grace: timedelta = timedelta(seconds=10)
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._clock = clock
        self._grace = grace

    def run(self, limit: int = 100) -> int:
        """Dispatch what is left, incident by incident in commit order; returns how many effects it found."""
        effects = self._store.outbox(self._clock() - self._grace, limit)
        by_incident: dict[str, list[Effect]] = {}
        for effect in sorted(effects, key=_commit_order):
            by_incident.setdefault(effect.incident_id, []).append(effect)
        for incident_id, pending in by_incident.items():
            try:
                self._dispatcher.dispatch(pending)
            except EffectsPending:
                logger.warning("outbox of %s still pending", incident_id)
        return len(effects)


class _LaneStopped(Exception):
    def __init__(
        self, effect: Effect, error: Exception, done: list[tuple[Effect, str]], delivered: list[Delivery]
    ) -> None:
        super().__init__(str(error))
        self.effect, self.error, self.done, self.delivered = effect, error, done, delivered


def _lanes(effects: list[Effect]) -> tuple[list[Effect], list[list[Effect]]]:
    """The effects to run in order, and the lanes of those after them that may run at once: the longest tail of
    publishes and starts, if it holds more than one lane (publishes in one, each machine's starts in one)."""
    tail = len(effects)
    while tail and effects[tail - 1].kind in _AT_ONCE:
        tail -= 1
    lanes: dict[str, list[Effect]] = {}
    for effect in effects[tail:]:
        key = "publish" if effect.kind is EffectKind.PUBLISH else f"start:{effect.payload['machine']}"
        lanes.setdefault(key, []).append(effect)
    if len(lanes) < 2:
        return effects, []
    return effects[:tail], list(lanes.values())


def _commit_order(effect: Effect) -> tuple[str, int, int]:
    incident_id, version, position = effect.effect_id.rsplit(":", 2)
    return incident_id, int(version), int(position)


__all__ = ["Committed", "Delivery", "Dispatcher", "EffectsPending", "OutboxRelay"]
