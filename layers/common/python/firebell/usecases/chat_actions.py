"""Chat, incoming: what people do from Slack (its buttons, the resolve dialog, /firebell), as themselves.

The API verified the request with Slack's signing secret before anything here runs (functions/api/slack.py).
The clicking person is the directory person with that Slack member id (`slack_user_id`), and they may do what
their directory roles let them do through the API (domain/access.py's table, the same rule as the route); nobody
else may do anything. Answers go to that person only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pydantic import ValidationError

from ..domain import chat
from ..domain.access import Caller, decide
from ..domain.chat import CommandRefused
from ..domain.directory import FirebellConfig, Person
from ..domain.errors import DomainError, FirebellError
from ..domain.requests import IncidentCreate, ResolveRequest
from ..outbox import Needs

_RULES = {  # the API route whose rule says who may do each
    chat.ACKNOWLEDGE: ("POST", "/incidents/<incident_id>/acknowledge"),
    chat.RESOLVE: ("POST", "/incidents/<incident_id>/resolve"),
    chat.ESCALATE: ("POST", "/incidents/<incident_id>/escalate"),
    "oncall": ("GET", "/on-call"),
    "report": ("POST", "/incidents"),
}


class SlackViews(Protocol):
    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None: ...


class ChatActions:
    NEEDS = Needs(posts_to_slack=True, verifies_slack=True)

    def __init__(
        self,
        config: Callable[[], FirebellConfig],
        incidents: Any,
        lifecycle: Any,
        resolution: Any,
        intake: Any,
        schedules: Any,
        slack: SlackViews,
    ) -> None:
        self._config = config
        self._incidents = incidents
        self._lifecycle = lifecycle
        self._resolution = resolution
        self._intake = intake
        self._schedules = schedules
        self._slack = slack

    def person(self, slack_user_id: str) -> Person | None:
        return self._config().directory.person_by_slack_user(slack_user_id)

    def _refusal(self, slack_user_id: str, what: str) -> tuple[Person | None, str | None]:
        person = self.person(slack_user_id)
        if person is None:
            return None, (
                "Your Slack account is linked to no firebell person: ask an admin to set your "
                f"`slack_user_id` ({slack_user_id}) in the directory."
            )
        method, route = _RULES[what]
        decision = decide(method, route, Caller.of_person(person.id, person.roles))
        if decision.status is not None:
            return person, f"Not done: {decision.message}."
        return person, None

    def click(self, slack_user_id: str, action_id: str, incident_id: str, trigger_id: str) -> str | None:
        """A button in an incident's message; what to tell the clicker, or None (the message itself changes)."""
        if action_id not in (chat.ACKNOWLEDGE, chat.RESOLVE, chat.ESCALATE):
            return None  # (the link button: Slack opens it, nothing to do)
        person, refusal = self._refusal(slack_user_id, action_id)
        if refusal or person is None:
            return refusal
        try:
            if action_id == chat.ACKNOWLEDGE:
                incident = self._lifecycle.acknowledge(incident_id, person.id).incident
                return (
                    None
                    if incident.acknowledged_by == person.id
                    else f"{incident.reference} is {incident.status.value.replace('_', ' ')}."
                )
            if action_id == chat.ESCALATE:
                self._lifecycle.escalate(incident_id, person.id, "escalated from Slack")
                return None
            incident = self._incidents.get(incident_id)
            try:
                self._slack.open_view(trigger_id, chat.resolve_dialog(incident))
            except FirebellError:  # (an expired trigger, Slack unreachable: the command does the same)
                return f"Could not open the dialog: type `/firebell resolve {incident.reference} <what fixed it>`."
            return None
        except DomainError as error:
            return f"Not done: {error}"

    def resolve_submitted(self, slack_user_id: str, incident_id: str, notes: str) -> str | None:
        """The resolve dialog's notes: resolves as the person; an error to show in the dialog, or None."""
        person, refusal = self._refusal(slack_user_id, chat.RESOLVE)
        if refusal or person is None:
            return refusal
        try:
            request = ResolveRequest(resolution_notes=notes)  # (the API's own limits)
            self._resolution.resolve(incident_id, person.id, request.resolution_notes)
        except ValidationError as invalid:
            return _problem(invalid)
        except DomainError as error:
            return str(error)
        return None

    def command(self, slack_user_id: str, text: str) -> str:
        """/firebell <text>: the answer, shown to the person who typed it."""
        try:
            verb, reference, rest = chat.parse_command(text)
        except CommandRefused as refused:
            return str(refused)
        if verb == "help":
            return chat.USAGE
        person, refusal = self._refusal(
            slack_user_id, {"acknowledge": chat.ACKNOWLEDGE, "resolve": chat.RESOLVE}.get(verb, verb)
        )
        if refusal or person is None:
            return refusal or ""
        try:
            if verb == "acknowledge":
                incident = self._lifecycle.acknowledge(reference, person.id).incident
                if incident.acknowledged_by == person.id:
                    return f"{incident.reference} acknowledged: paging has stopped."
                return f"{incident.reference} is {incident.status.value.replace('_', ' ')}."
            if verb == "resolve":
                incident = self._resolution.resolve(
                    reference, person.id, ResolveRequest(resolution_notes=rest).resolution_notes
                ).incident
                return f"{incident.reference} resolved."
            if verb == "report":
                incident = self._intake.report(IncidentCreate(title=rest), actor=person.id)
                return f"Reported as {incident.reference}: {incident.title}"
            return self._on_call(rest)
        except ValidationError as invalid:
            return f"Not done: {_problem(invalid)}"
        except DomainError as error:
            return f"Not done: {error}"

    def _on_call(self, wanted: str) -> str:
        answer = self._schedules.on_call_everywhere(None)["schedules"]
        matching = [s for s in answer if wanted.casefold() in (s["schedule"] + " " + (s["name"] or "")).casefold()]
        if not answer:
            return "No schedules."
        heading = "" if matching or not wanted else f"No schedule's id or name has {wanted!r}; every schedule:\n"
        return heading + "\n".join(
            f"{s['name'] or s['schedule']}: {s['person']['name'] or s['person']['id'] if s['person'] else 'nobody'}"
            for s in (matching or answer)
        )


def _problem(invalid: ValidationError) -> str:
    """What is wrong with what they typed, as the API would say it (its limits, no blank notes, no control characters)."""
    first = invalid.errors()[0]
    return str(first.get("msg", "not valid")).removeprefix("Value error, ")
