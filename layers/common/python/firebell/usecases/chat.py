"""Chat, outgoing: every incident event shown in the chat channels that want it (domain/chat.py, docs/chat.md).

The chat function receives each event published on the events topic. In Slack, the incident has one message per
channel, posted once (data/chat_store.py claims it first: chat.postMessage has no idempotency key, and a post
whose answer was lost is looked for in the channel before posting again) and then updated in place with the
incident as it stands. Every updater reads the incident again after its update and updates once more if it moved
on meanwhile, so that of two deliveries racing, the last message shown is the latest state. Teams and Google Chat
take one card per event, marked made with its timeline line in one transaction (Google Chat also refuses a second
post under the same message id). What a channel did not take is raised, and the event comes back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from ..concurrency import run_at_once
from ..domain import chat
from ..domain.chat import ChatChannel
from ..domain.directory import FirebellConfig
from ..domain.enums import TimelineKind
from ..domain.errors import IncidentNotFound, PermanentError, TransientError
from ..domain.models import Incident, IncidentEvent, TimelineEntry
from ..outbox import Needs
from ..ports import Clock, IncidentStore, WebhookSender
from .base import SYSTEM

# A post's claim: longer than the function may run (30 s), so that it lapses only once its holder is gone.
CLAIM = timedelta(seconds=35)
KEEP_POST_MARKS = timedelta(days=15)
_RESHOWS = 3  # updates of one delivery chasing an incident that keeps changing (the next event's delivery goes on)


class ChatUndelivered(TransientError):
    """Some channel did not take an event: it comes back (and goes to the DLQ with this reason once out of attempts);
    `retry_after_seconds`: not before then (another delivery holds the post's claim until it lapses)."""

    def __init__(self, message: str, retry_after_seconds: int | None = None, retry_in_place: bool = True) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        # A webhook that did not answer within its 10 s is not tried again at once: each try may have posted.
        self.retry_in_place = retry_in_place


class ChatRefused(PermanentError):
    """Every channel that failed refused for a reason no retry mends (a wrong channel, a revoked token)."""


class SlackPoster(Protocol):
    def post(self, channel: str, message: dict[str, Any]) -> str: ...

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None: ...

    def find(self, channel: str, metadata_type: str, incident_id: str, since: datetime) -> str | None: ...


class ChatMarks(Protocol):
    def chat_message(self, incident_id: str, channel_id: str) -> tuple[str | None, datetime | None]: ...

    def claim_chat_message(
        self, incident_id: str, channel_id: str, now: datetime, until: datetime, replacing: datetime | None
    ) -> bool: ...

    def keep_chat_message(self, incident_id: str, channel_id: str, ts: str, entry: TimelineEntry) -> bool: ...

    def release_chat_claim(self, incident_id: str, channel_id: str, now: datetime) -> None: ...

    def forget_chat_message(self, incident_id: str, channel_id: str, ts: str) -> None: ...

    def record_chat_post(self, post_id: str, keep_until: datetime, entry: TimelineEntry) -> bool: ...

    def chat_posted(self, post_id: str) -> bool: ...


@dataclass
class ChatDone:
    shown: list[str] = field(default_factory=list)  # channels that show the event now
    failed: dict[str, Exception] = field(default_factory=dict)


class ChatDeliveries:
    NEEDS = Needs(posts_to_slack=True, links_to_console=True)

    def __init__(
        self,
        store: IncidentStore,
        marks: ChatMarks,
        slack: SlackPoster,
        sender: WebhookSender,
        config: Callable[[], FirebellConfig],
        clock: Clock,
        console_url: Callable[[], str],
    ) -> None:
        self._store = store
        self._marks = marks
        self._slack = slack
        self._sender = sender
        self._config = config
        self._clock = clock
        self._console_url = console_url

    def deliver(self, event: IncidentEvent) -> ChatDone:
        done = ChatDone()
        channels = [c for c in self._config().directory.chat_channels if c.enabled]
        if not channels:
            return done
        incident = self._current(event.incident_id)
        wanting = [c for c in channels if c.wants(event.type, incident.team, incident.service)]
        answers = run_at_once([partial(self._show, c, incident, event) for c in wanting])
        for channel, answer in zip(wanting, answers, strict=True):
            if isinstance(answer, Exception):
                done.failed[channel.id] = answer
            else:
                done.shown.append(channel.id)
        if done.failed:
            reason = "; ".join(f"chat {c}: {error}" for c, error in done.failed.items())
            if all(isinstance(e, PermanentError) for e in done.failed.values()):
                raise ChatRefused(f"{event.type.value} {event.reference}: {reason}")
            waits = [
                e.retry_after_seconds
                for e in done.failed.values()
                if isinstance(e, ChatUndelivered) and e.retry_after_seconds
            ]
            raise ChatUndelivered(
                f"{event.type.value} {event.reference}: {reason}",
                max(waits) if waits else None,
                all(getattr(e, "retry_in_place", True) for e in done.failed.values()),
            )
        return done

    def _current(self, incident_id: str) -> Incident:
        incident = self._store.get(incident_id)
        if incident is None:
            raise IncidentNotFound(incident_id)
        return incident

    def _show(self, channel: ChatChannel, incident: Incident, event: IncidentEvent) -> None:
        if channel.kind == "slack":
            self._show_in_slack(channel, incident)
        else:
            self._post_card(channel, incident, event)

    # --- Slack: one message per incident, updated in place ---------------------------------------------------

    def _show_in_slack(self, channel: ChatChannel, incident: Incident) -> None:
        assert channel.channel is not None  # (a Slack channel always has its id: ChatChannel's validation)
        ts, claimed_until = self._marks.chat_message(incident.incident_id, channel.id)
        if ts is None:
            ts = self._post_once(channel, incident, claimed_until)
            if ts is None:
                return  # posted just now, as the incident stands
        for _ in range(_RESHOWS):
            try:
                self._slack.update(channel.channel, ts, chat.slack_message(incident, self._console_url()))
            except PermanentError as refused:
                if not getattr(refused, "message_gone", False):
                    raise
                # Someone deleted it: the incident gets a message again, posted as the first was.
                self._marks.forget_chat_message(incident.incident_id, channel.id, ts)
                reposted = self._post_once(channel, incident, None)
                if reposted is None:
                    return
                ts, incident = reposted, self._current(incident.incident_id)
                continue
            latest = self._current(incident.incident_id)
            if latest.version == incident.version:
                return
            incident = latest  # it moved on while this update was made: show where it is now

    def _post_once(self, channel: ChatChannel, incident: Incident, claimed_until: datetime | None) -> str | None:
        """Post the incident's message unless it is there: None once posted now, else the ts of the one there."""
        assert channel.channel is not None
        now = self._clock()
        if claimed_until is not None and claimed_until > now:
            raise ChatUndelivered(
                f"the message is being posted (claimed until {claimed_until:%H:%M:%S})",
                _seconds_until(claimed_until, now),
            )
        if not self._marks.claim_chat_message(incident.incident_id, channel.id, now, now + CLAIM, claimed_until):
            ts, claimed_until = self._marks.chat_message(incident.incident_id, channel.id)
            if ts is None:
                raise ChatUndelivered(
                    "the message is being posted by another delivery", _seconds_until(claimed_until or now + CLAIM, now)
                )
            return ts
        try:
            ts = None
            if claimed_until is not None:  # an earlier post's answer was lost: it may be in the channel all the same
                ts = self._slack.find(
                    channel.channel, chat.METADATA_TYPE, incident.incident_id, incident.opened_at - timedelta(minutes=5)
                )
            found = ts is not None
            if ts is None:
                ts = self._slack.post(channel.channel, chat.slack_message(incident, self._console_url()))
        except TransientError:
            # It may have been posted all the same (a timeout after Slack took it): the next attempt may take
            # over at once, and looks for it in the channel before posting.
            self._marks.release_chat_claim(incident.incident_id, channel.id, now)
            raise
        entry = TimelineEntry(
            incident_id=incident.incident_id,
            at=self._clock(),
            kind=TimelineKind.NOTIFICATION_SENT,
            actor=SYSTEM,
            message=f"Posted to Slack ({channel.id})",
            details={"channel": "slack", "chat_channel": channel.id, "ts": ts},
        )
        try:
            self._marks.keep_chat_message(incident.incident_id, channel.id, ts, entry)
        except Exception:
            self._marks.release_chat_claim(incident.incident_id, channel.id, now)  # (the next attempt finds it)
            raise
        if found:
            return ts  # (posted by an earlier attempt, as the incident was then: updated now)
        return ts if self._current(incident.incident_id).version != incident.version else None

    # --- Teams, Google Chat: a card per event ----------------------------------------------------------------

    def _post_card(self, channel: ChatChannel, incident: Incident, event: IncidentEvent) -> None:
        assert channel.url is not None
        post_id = chat.google_message_id(event.type, event.incident_id, event.occurred_at.isoformat(), channel.id)
        if self._marks.chat_posted(post_id):
            return
        console_url = self._console_url()
        if channel.kind == "teams":
            url, body = channel.url, chat.teams_card(incident, event.type, console_url)
        else:
            url, body = (
                chat.google_chat_url(channel.url, post_id),
                chat.google_chat_message(incident, event.type, console_url),
            )
        status = self._sender.post(
            url,
            json.dumps(body, ensure_ascii=False),
            {"content-type": "application/json; charset=UTF-8"},
            chat.POST_TIMEOUT_SECONDS,
        )
        # 409: Google Chat has a message under this id already (an earlier attempt whose answer was lost).
        if status is None or status in (408, 429) or status >= 500:
            raise ChatUndelivered(f"answered {status}" if status is not None else "no answer", retry_in_place=False)
        if not (200 <= status < 300 or (status == 409 and channel.kind == "google_chat")):
            raise ChatRefused(f"answered {status} (check the channel's webhook URL)")
        now = self._clock()
        what = {"teams": "Teams", "google_chat": "Google Chat"}[channel.kind]
        entry = TimelineEntry(
            incident_id=incident.incident_id,
            at=now,
            kind=TimelineKind.NOTIFICATION_SENT,
            actor=SYSTEM,
            message=f"Posted {event.type.value} to {what} ({channel.id})",
            details={"channel": channel.kind, "chat_channel": channel.id, "event": event.type.value},
        )
        self._marks.record_chat_post(post_id, now + KEEP_POST_MARKS, entry)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds()) + 1)
