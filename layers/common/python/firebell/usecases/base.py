"""What every use case shares: the decision context, and the runner that reads → decides → commits → dispatches."""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..dispatch import Committed, Delivery, Dispatcher, EffectsPending
from ..domain.directory import FirebellConfig
from ..domain.errors import ConcurrentUpdate, DomainError, IdempotencyKeyTaken, IncidentNotFound
from ..domain.models import Incident, IncidentRead, TimelineEntry
from ..outbox import Change
from ..ports import Clock, IncidentFilter, IncidentStore, Page
from ..retrying import persevering

logger = logging.getLogger(__name__)
SYSTEM = "firebell"
_REFERENCE = re.compile(r"^INC-\d+$")
# Far above a ULID (26) or a reference; DynamoDB refuses keys over 2,048 bytes with an error, not "not found".
MAX_INCIDENT_KEY = 64
# Lost races re-read and decide again; this many in a row means something is hammering one incident.
_ATTEMPTS = 8


@dataclass(frozen=True)
class Context:
    """What decisions read besides the incident: settings and the directory. No AWS call hides in here."""

    config: Callable[[], FirebellConfig]
    clock: Clock
    execution_arn: Callable[[str, str], str]  # (machine, execution name) → its id: names are unique per machine
    time_scale: float = 1.0
    api_url: str = ""
    ack_secret: Callable[[], bytes] | None = None
    # The API function cannot be told its own URL (CloudFormation: it would depend on itself); it learns it from
    # the requests it serves, so that the pages it sends carry one-click links too.
    api_url_served: Callable[[], str] = lambda: ""

    @property
    def public_url(self) -> str:
        """Where people reach the API (one-click links, review links); "" when unknown."""
        return (self.api_url or self.api_url_served()).rstrip("/")


@dataclass
class Outcome:
    incident: Incident
    deliveries: list[Delivery] = field(default_factory=list)
    changed: bool = False


Decide = Callable[[Change], object]


class Incidents:
    """Reading incidents, and running one command: read once, decide, commit once, dispatch."""

    def __init__(self, store: IncidentStore, dispatcher: Dispatcher, clock: Clock) -> None:
        self.store = store
        self._dispatcher = dispatcher
        self._clock = clock

    # --- reading ----------------------------------------------------------------------------------

    def get(self, incident_id_or_reference: str) -> Incident:
        if len(incident_id_or_reference) > MAX_INCIDENT_KEY:
            raise IncidentNotFound(incident_id_or_reference)
        if _REFERENCE.match(incident_id_or_reference):
            found = self.store.get_by_reference(incident_id_or_reference)
        else:
            found = self.store.get(incident_id_or_reference)
        if found is None:
            raise IncidentNotFound(incident_id_or_reference)
        return found

    def read(self, incident: Incident) -> IncidentRead:
        """The API's view: the exact occurrence count lives on the dedup pointer (one write per batch of repeats)."""
        if incident.dedup_key:
            state = self.store.dedup_state(incident.dedup_key)
            if (
                state is not None
                and state.incident_id == incident.incident_id
                and state.occurrences > incident.occurrences
            ):
                incident = incident.model_copy(
                    update={"occurrences": state.occurrences, "last_seen_at": state.last_seen}
                )
        return IncidentRead.of(incident, self._clock())

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page:
        return self.store.list(filters, limit, cursor)

    def timeline(self, incident_id_or_reference: str) -> builtins.list[TimelineEntry]:
        return self.store.timeline(self.get(incident_id_or_reference).incident_id)

    # --- commands ---------------------------------------------------------------------------------

    def change(self, incident_id_or_reference: str, decide: Decide) -> Outcome:
        """Run `decide` on the current incident and commit what it changed; a lost race decides again."""
        for _ in range(_ATTEMPTS):
            # (the read tried again in place over a throttle or a timeout: failing it fails the whole command)
            current = persevering(lambda: self.get(incident_id_or_reference))
            change = Change(current, self._clock())
            decide(change)
            if change.empty:
                return Outcome(current)
            try:
                committed = self._commit(change)
            except ConcurrentUpdate:
                continue
            return Outcome(committed, self._dispatch(change, committed), changed=True)
        raise ConcurrentUpdate(f"{incident_id_or_reference}: too many concurrent updates")

    def open(self, change: Change) -> Outcome:
        """Commit a new incident (ConcurrentUpdate if its id exists: someone opened it first)."""
        committed = self._commit(change)
        return Outcome(committed, self._dispatch(change, committed), changed=True)

    def _commit(self, change: Change) -> Incident:
        change.claimed_until = self._dispatcher.claim_until(self._clock())
        try:
            return self.store.commit(change)
        except (ConcurrentUpdate, DomainError, IdempotencyKeyTaken):
            raise  # refused on purpose by a condition: nothing to recognise
        except Exception:
            # The answer was lost (a timeout after the write took effect, say): the stamp tells if it landed.
            landed = self._landed(change)
            if landed is None:
                raise
            logger.info("commit %s landed although its answer was lost", change.change_id)
            return landed

    def _landed(self, change: Change) -> Incident | None:
        try:
            current = self.store.get(change.incident_id)
        except Exception:
            return None
        return current if current is not None and current.last_change == change.change_id else None

    def _dispatch(self, change: Change, committed: Incident) -> builtins.list[Delivery]:
        try:
            if change.claimed_until is None:
                raise RuntimeError(f"change {change.change_id} was dispatched before it was committed")
            return self._dispatcher.dispatch(
                change.effects(committed.version), Committed(committed, self._clock(), change.claimed_until)
            )
        except EffectsPending:
            # Committed: what is left stays in the outbox, and the relay carries it out.
            return []

    def dispatch_pending(self, incident_id: str) -> builtins.list[Delivery]:
        try:
            return self._dispatcher.dispatch_pending(incident_id)
        except EffectsPending:
            return []
