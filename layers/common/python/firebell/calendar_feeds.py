"""A person's secret calendar feed (docs/access.md): issue, read, revoke its address, and answer it with the
person's shifts on every schedule. Calendar apps subscribe to the address; they cannot sign in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .domain.directory import FirebellConfig
from .domain.errors import UnknownFeed
from .domain.feeds import feed_path, feed_person, matches, new_feed_token, secret_sha256
from .domain.schedules import person_icalendar
from .ports import Clock, FeedSecrets
from .schedule_service import ScheduleService


class CalendarFeeds:
    def __init__(
        self, store: FeedSecrets, schedules: ScheduleService, config: Callable[[], FirebellConfig], clock: Clock
    ) -> None:
        self._store = store
        self._schedules = schedules
        self._config = config
        self._clock = clock

    def status(self, person: str) -> dict[str, Any]:
        """Whether the person has a feed, and since when. Its address was shown once, when it was made."""
        found = self._store.feed(person)
        return {"active": found is not None, "created_at": found[1].isoformat() if found else None, "path": None}

    def issue(self, person: str) -> dict[str, Any]:
        """A new address; the previous one, if any, stops working."""
        token, now = new_feed_token(person), self._clock()
        self._store.replace(person, secret_sha256(token), now)
        return {"active": True, "created_at": now.isoformat(), "path": feed_path(token)}

    def revoke(self, person: str) -> None:
        self._store.delete(person)

    def calendar(self, token: str, days: int) -> str:
        """The iCalendar of the token's person, or UnknownFeed for any token that is not a current one (the same
        answer whatever was wrong: the address is the credential, and tells nothing about why)."""
        person_id = feed_person(token)
        stored = self._store.feed(person_id) if person_id else None
        person = self._config().directory.person(person_id) if person_id else None
        if person is None or not matches(token, stored[0] if stored else None):
            raise UnknownFeed()
        return person_icalendar(person.id, person.name, self._schedules.upcoming_by_schedule(days))
