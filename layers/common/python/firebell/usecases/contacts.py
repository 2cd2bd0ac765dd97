"""What a person sets for themselves (docs/notification-rules.md): their notification rules, and their contact
methods, each verified with a code sent to it before the directory takes it (domain/contacts.py).

The directory change is the admin API's own (DirectoryAdmin.update_person), by the person: it is versioned, shown
with who made it, and reaches the functions within their directory cache (15 s), as any admin change does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..domain import contacts
from ..domain.contacts import ContactMethod, Kind, Verification
from ..domain.directory import FirebellConfig
from ..domain.errors import FieldProblem, InvalidRequest, TooManyRequests, UnknownPerson
from ..domain.notification_rules import NotificationRules
from ..outbox import EffectKind, Needs
from ..ports import Clock, Messenger


class Verifications(Protocol):
    def verification(self, person: str, kind: Kind) -> Verification | None: ...

    def save_verification(self, verification: Verification) -> bool: ...

    def spend_guess(self, person: str, kind: Kind) -> None: ...


class PersonUpdates(Protocol):
    def update_person(self, person_id: str, changes: dict[str, Any], *, by: str) -> Any: ...


class MyContacts:
    NEEDS = Needs(
        effects=frozenset({EffectKind.EMAIL, EffectKind.SMS})
    )  # (the codes: sent at once, not as an incident's effects)

    def __init__(
        self,
        config: Callable[[], FirebellConfig],
        store: Verifications,
        directory: PersonUpdates,
        messenger: Messenger,
        clock: Clock,
        new_code: Callable[[], str] = contacts.new_code,
    ) -> None:
        self._config = config
        self._store = store
        self._directory = directory
        self._messenger = messenger
        self._clock = clock
        self._new_code = new_code

    def _person(self, person_id: str):  # type: ignore[no-untyped-def]
        person = self._config().directory.person(person_id)
        if person is None:
            raise UnknownPerson(person_id)
        return person

    def show(self, person_id: str) -> dict[str, Any]:
        person = self._person(person_id)
        now = self._clock()
        waiting = [
            v
            for kind in ("email", "phone")
            if (v := self._store.verification(person_id, kind)) and v.expires_at > now and v.guesses_left > 0
        ]
        return {
            "email": person.email,
            "phone": person.phone,
            "time_zone": person.time_zone,
            "notification_rules": person.notification_rules.model_dump(mode="json")
            if person.notification_rules
            else None,
            "waiting_for_code": [
                {"kind": v.kind, "value": v.value, "expires_at": v.expires_at.isoformat()} for v in waiting
            ],
        }

    def set_rules(self, person_id: str, rules: NotificationRules | None, time_zone: str | None) -> dict[str, Any]:
        person = self._person(person_id)
        if rules and rules.quiet_hours and not (time_zone or person.time_zone):
            problem = "quiet hours are kept in your time zone: give time_zone (an IANA name, e.g. Europe/London)"
            raise InvalidRequest(f"body.time_zone: {problem}", [FieldProblem("body.time_zone", problem)])
        changes: dict[str, Any] = {"notification_rules": rules.model_dump(mode="json") if rules else None}
        if time_zone is not None:
            changes["time_zone"] = time_zone
        self._directory.update_person(person.id, changes, by=person.id)
        return self.show(person_id)

    def send_code(self, person_id: str, method: ContactMethod) -> dict[str, Any]:
        """A code to the new contact method; it replaces any code sent before for that kind."""
        self._person(person_id)
        now = self._clock()
        code = self._new_code()
        verification = contacts.issue(person_id, method, code, now, self._store.verification(person_id, method.kind))
        if not self._store.save_verification(verification):  # another request for a code came at the same time
            raise TooManyRequests("another code was asked for at the same moment: ask again after a minute")
        text = f"firebell: {code} is your code to add this {'number' if method.kind == 'phone' else 'address'}. It expires in 10 minutes."
        if method.kind == "phone":
            self._messenger.send_sms(method.value, text)
        else:
            config = self._config()
            self._messenger.send_email(
                config.directory.notifications.sender, method.value, f"firebell: {code} is your code", text
            )
        return {"kind": method.kind, "value": method.value, "expires_at": verification.expires_at.isoformat()}

    def verify(self, person_id: str, kind: Kind, code: str) -> dict[str, Any]:
        """The contact method the code proves, into the directory."""
        self._person(person_id)
        waiting = self._store.verification(person_id, kind)
        try:
            proven = contacts.check(waiting, kind, code, self._clock())
        except Exception:
            if waiting is not None:
                self._store.spend_guess(person_id, kind)
            raise
        self._directory.update_person(person_id, {proven.kind: proven.value}, by=person_id)
        # Used up, not forgotten: its sending history still counts toward the hour's limit.
        self._store.save_verification(
            proven.model_copy(update={"expires_at": self._clock(), "guesses_left": 0, "revision": proven.revision + 1})
        )
        return self.show(person_id)
