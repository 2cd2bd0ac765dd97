"""SMS pages past a person's limit (notification rules: at most N SMS in M minutes): held for the window's digest,
whose timer (the digest state machine) is armed once per window, and the digest sent when it ends. The dispatcher
hands over the SMS effects that carry `limit` or `digest` (firebell/dispatch.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import workflows as machines
from .domain import sms_digest
from .domain.enums import TimelineKind
from .domain.models import TimelineEntry
from .domain.sla import state_machine_time
from .outbox import SYSTEM, Effect, Guard
from .ports import Clock, IncidentStore, Messenger, Workflows

# A line on the effect's incident's timeline: (effect, kind, message, details).
TimelineLine = Callable[[Effect, TimelineKind, str, dict[str, Any]], TimelineEntry]


class SmsHolding:
    def __init__(
        self, store: IncidentStore, workflows: Workflows, messenger: Messenger, clock: Clock, line: TimelineLine
    ) -> None:
        self._store = store
        self._workflows = workflows
        self._messenger = messenger
        self._clock = clock
        self._line = line

    def hold_if_over_limit(self, effect: Effect) -> TimelineEntry | None:
        """Count this SMS page against its person's window; past the limit, hold it for the window's digest and
        arm the digest's timer (idempotent by name). None: send it now."""
        p, now = effect.payload, self._clock()
        limit = p["limit"]
        window = sms_digest.window_of(now, limit["window_seconds"])
        if self._store.count_sms(p["person"], window, effect.effect_id, limit["after"], now):
            return None
        digest = sms_digest.digest_id(p["person"], window)
        ends = sms_digest.window_end(window, limit["window_seconds"])
        kept = {
            "effect_id": effect.effect_id,
            "incident_id": effect.incident_id,
            "text": p["text"],
            "why": p["why"],
            "held_at": now.isoformat(),
            "guard": effect.guard.model_dump(mode="json") if effect.guard else None,
        }
        if not self._store.hold_sms(p["person"], window, effect.effect_id, kept, now):
            return None  # that window's digest went already: a page this late goes out by itself
        self._workflows.start(
            machines.DIGEST,
            digest,
            {"person": p["person"], "window": window, "digest_id": digest, "window_ends_at": state_machine_time(ends)},
        )
        return self._line(
            effect,
            TimelineKind.NOTIFICATION_HELD,
            f"sms to {p['person']} <{p['to']}> held for digest {digest}: {limit['after']} SMS to them in {limit['per_minutes']:g} min "
            f"already; the digest goes out at {ends:%H:%M:%S} UTC ({p['why']})",
            {
                "channel": "sms",
                "person": p["person"],
                "digest": digest,
                "window_ends_at": ends.isoformat(),
                "effect": effect.effect_id,
            },
        )

    def send_digest(self, effect: Effect) -> tuple[str, str | None, list[TimelineEntry]]:
        """One SMS naming every page held in the window that is still wanted (a page's guard, checked as a page's
        is just before sending), and a line on each held incident's timeline: (the result, the SMS's message id if
        one was sent, the lines)."""
        p = effect.payload
        digest = p["digest"]
        held: list[tuple[dict[str, Any], str]] = []
        moot: list[tuple[dict[str, Any], str]] = []
        for item in self._store.held_sms(p["person"], digest["window"]):
            incident = self._store.get(item["incident_id"]) if item.get("guard") else None
            wanted = not item.get("guard") or Guard.model_validate(item["guard"]).holds(incident)
            (held if wanted else moot).append((item, incident.status if incident else "gone"))
        at = self._clock()
        entries = [
            TimelineEntry(
                incident_id=item["incident_id"],
                at=at,
                kind=TimelineKind.PAGE_SKIPPED,
                actor=SYSTEM,
                message=f"sms to {p['person']} held for digest {digest['digest_id']} not sent: incident is {status} ({item['why']})",
                details={
                    "channel": "sms",
                    "person": p["person"],
                    "digest": digest["digest_id"],
                    "effect": item["effect_id"],
                },
            )
            for item, status in moot
        ]
        still_wanted = [item for item, _ in held]
        if not still_wanted:
            return "nothing held is still wanted", None, entries
        message_id = self._messenger.send_sms(
            p["to"], sms_digest.digest_text(digest["digest_id"], still_wanted, digest["after"], digest["per_minutes"])
        )
        entries += [
            TimelineEntry(
                incident_id=item["incident_id"],
                at=at,
                kind=TimelineKind.NOTIFICATION_SENT,
                actor=SYSTEM,
                message=f"sms to {p['person']} <{p['to']}> sent in digest {digest['digest_id']} at {at:%H:%M:%S} UTC, "
                f"one SMS for {len(still_wanted)} held page(s) ({item['why']})",
                details={
                    "channel": "sms",
                    "to": p["to"],
                    "person": p["person"],
                    "message_id": message_id,
                    "why": item["why"],
                    "digest": digest["digest_id"],
                    "effect": item["effect_id"],
                },
            )
            for item in still_wanted
        ]
        return message_id, message_id, entries
