"""Lifecycle commands people give: acknowledge (also by the one-click link), hold, resume, note, escalate, reassign."""

from __future__ import annotations

from typing import Any

from .. import workflows as machines
from ..domain import ack_links
from ..domain import sla as sla_rules
from ..domain.enums import Action, EventType, Status, TaskOutcome, TimelineKind
from ..domain.errors import InvalidAckLink, InvalidTransition, OnceKeyUsed, UnknownPerson
from ..domain.lifecycle import is_open, next_status
from ..domain.models import Incident, TimelineEntry
from ..outbox import Change, EffectKind, Needs, UseOnce
from . import sla_clocks
from .base import Context, Incidents, Outcome
from .duties import touch
from .escalation import start_escalation
from .reaching import reach


def transition(c: Change, action: Action, **fields: Any) -> None:
    c.set(status=next_status(c.incident.reference, c.incident.status, action), **fields)


def acknowledge(c: Change, by: str, ctx: Context) -> None:
    """Paging stops: the escalation's waiting task is answered and moves to the acknowledgement watch."""
    transition(c, Action.ACKNOWLEDGE, acknowledged_at=c.now, acknowledged_by=by)
    if c.incident.sla:
        c.set(sla=sla_rules.meet(c.incident.sla, "response", c.now))
        sla_clocks.rearm(c, ctx)  # the response target's moments are moot: wait for the resolution target's
    c.log(TimelineKind.ACKNOWLEDGED, by, f"Acknowledged by {by}; paging stopped")
    c.answer(c.incident.escalation.task_token, TaskOutcome.ACKNOWLEDGED)
    c.set_part("escalation", task_token=None)
    c.publish(EventType.ACKNOWLEDGED)


class Lifecycle:
    NEEDS = Needs(
        effects=frozenset(
            {
                EffectKind.PUBLISH,
                EffectKind.ANSWER,
                EffectKind.START,
                EffectKind.STOP,
                EffectKind.EMAIL,
                EffectKind.SMS,
                EffectKind.CHAT,
            }
        ),
        starts=frozenset({machines.ESCALATION, machines.SLA}),
        stops=frozenset({machines.ESCALATION, machines.SLA}),
        answers=frozenset({machines.ESCALATION}),
        signs_ack_links=True,
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def acknowledge(self, incident_id_or_reference: str, by: str) -> Outcome:
        return self._incidents.change(incident_id_or_reference, lambda c: acknowledge(c, by, self._ctx))

    def ack_link_preview(self, token: str) -> tuple[Incident, str]:
        """The incident a link was sent for and the person it was sent to, as they are now: nothing is done (mail
        scanners open links). InvalidAckLink as acknowledge_by_link would refuse it."""
        claim = self._claim(token)
        return self._incidents.get(claim.incident_id), claim.person

    def _claim(self, token: str) -> ack_links.AckClaim:
        if self._ctx.ack_secret is None:
            raise InvalidAckLink("acknowledgement links are not set up here (no signing secret)")
        return ack_links.verify(token, self._ctx.ack_secret(), self._ctx.clock())

    def acknowledge_by_link(self, token: str) -> Outcome:
        claim = self._claim(token)

        def decide(c: Change) -> None:
            c.once.append(UseOnce(key=f"ACKLINK#{claim.nonce}", expires_at=claim.expires_at))
            acknowledge(c, claim.person, self._ctx)

        try:
            return self._incidents.change(claim.incident_id, decide)
        except OnceKeyUsed:
            raise InvalidAckLink("this acknowledgement link was already used") from None

    def hold(self, incident_id_or_reference: str, by: str, reason: str) -> Outcome:
        def decide(c: Change) -> None:
            transition(c, Action.HOLD)
            sla_clocks.pause(c, self._ctx)
            c.log(TimelineKind.ON_HOLD, by, f"On hold: {reason or 'no reason given'}; SLA clocks paused")
            touch(c)

        return self._incidents.change(incident_id_or_reference, decide)

    def resume(self, incident_id_or_reference: str, by: str) -> Outcome:
        def decide(c: Change) -> None:
            transition(c, Action.RESUME)
            sla_clocks.resume(c, self._ctx)
            c.log(TimelineKind.RESUMED, by, "Resumed; SLA clocks running again")
            touch(c)

        return self._incidents.change(incident_id_or_reference, decide)

    def add_note(self, incident_id_or_reference: str, by: str, text: str, once: UseOnce | None = None) -> TimelineEntry:
        """`once`: a key the note is written under once (a reply by email delivered twice notes once); OnceKeyUsed
        when it was."""
        noted: list[TimelineEntry] = []

        def decide(c: Change) -> None:
            if once is not None:
                c.once.append(once)
            noted[:] = [c.log(TimelineKind.NOTE, by, text)]
            touch(c)

        self._incidents.change(incident_id_or_reference, decide)
        return noted[0]

    def escalate(self, incident_id_or_reference: str, by: str, reason: str = "") -> Outcome:
        config = self._ctx.config()

        def decide(c: Change) -> None:
            incident = c.incident
            if incident.status is Status.ON_HOLD:
                raise InvalidTransition(
                    incident.reference, incident.status, "escalate", "it is on hold; resume it first"
                )
            if not is_open(incident.status):
                raise InvalidTransition(incident.reference, incident.status, "escalate", f"it is {incident.status}")
            if incident.status is Status.ACKNOWLEDGED:
                transition(c, Action.RETRIGGER)
            c.log(TimelineKind.ESCALATED, by, f"Escalated by {by} to the next level{': ' + reason if reason else ''}")
            escalation = c.incident.escalation
            if escalation.task_token and escalation.execution_arn and not escalation.exhausted:
                c.answer(escalation.task_token, TaskOutcome.ESCALATE)
                c.set_part("escalation", task_token=None)
            elif escalation.paged_at_start and escalation.execution_arn:
                # Level 1 went out as the run started and its first request (with the token) has not come yet: a
                # new run would page level 1 again; that request is answered "escalate" instead.
                c.set_part("escalation", escalate_on_first_request=True)
            else:
                # No escalation is waiting any more (it ran out, or never started): start a new one.
                # (a rule sent it to chat: a person asking for paging gets the default policy, usecases/escalation.py)
                start_escalation(c, self._ctx, config, reroute=False)

        return self._incidents.change(incident_id_or_reference, decide)

    def reassign(self, incident_id_or_reference: str, to: str, by: str) -> Outcome:
        config = self._ctx.config()
        if config.directory.person(to) is None:
            raise UnknownPerson(to)

        def decide(c: Change) -> None:
            incident = c.incident
            if not is_open(incident.status):
                raise InvalidTransition(incident.reference, incident.status, "reassign", f"it is {incident.status}")
            c.set(assignee=to)
            c.log(TimelineKind.REASSIGNED, by, f"Reassigned to {to} by {by}")
            reach(c, self._ctx, config, [to], urgent=c.incident.status is Status.TRIGGERED, why=f"assigned by {by}")
            touch(c)

        return self._incidents.change(incident_id_or_reference, decide)
