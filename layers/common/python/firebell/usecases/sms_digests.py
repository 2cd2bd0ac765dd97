"""The SMS digest (domain/sms_digest.py): when a person's window ends, the SMS pages held in it go out as one SMS.
Holding happens where each page is sent (firebell/dispatch.py); this closes the window and sends its digest."""

from __future__ import annotations

from ..dispatch import Delivery
from ..domain.workflow_messages import SmsDigestDue
from ..outbox import Effect, EffectKind, Needs
from .base import Context, Incidents


class SmsDigests:
    NEEDS = Needs(effects=frozenset({EffectKind.SMS}))

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def digest_due(self, due: SmsDigestDue) -> list[Delivery]:
        """Close the window (no more holds) and commit its digest SMS as an outbox effect, in one transaction; a
        redelivery finds it closed and only carries out what is still pending."""
        directory = self._ctx.config().directory
        rule = directory.notifications.sms_digest
        person = directory.person(due.person)
        effect = None
        if person is not None and person.phone:
            # Stored as the outbox stores an incident's effects, under the digest's id (its one effect, position 00).
            effect = Effect(
                effect_id=f"{due.digest_id}:1:00",
                incident_id=due.digest_id,
                kind=EffectKind.SMS,
                payload={
                    "to": person.phone,
                    "person": person.id,
                    "text": "",
                    "why": "SMS digest",
                    "digest": {
                        "person": person.id,
                        "window": due.window,
                        "digest_id": due.digest_id,
                        "after": rule.after if rule else 0,
                        "per_minutes": rule.per_minutes if rule else 0,
                    },
                },
            )
        self._incidents.store.close_digest(due.person, due.window, effect, self._ctx.clock())
        return self._incidents.dispatch_pending(due.digest_id)
