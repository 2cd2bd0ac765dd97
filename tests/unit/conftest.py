"""Unit-test fixtures: the shipped config, the service wired to in-memory fakes, and no network at all."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ulid import ULID

from firebell import workflows as machines
from firebell.config import load_config
from firebell.dispatch import Delivery, Dispatcher, OutboxRelay
from firebell.domain.audience import audience
from firebell.domain.directory import FirebellConfig
from firebell.domain.enums import EventType, MessageType, Source, TimelineKind
from firebell.domain.models import Incident
from firebell.domain.workflow_messages import SlaWakeUp
from firebell.outbox import Change
from firebell.usecases import messages
from firebell.usecases.base import Context, Incidents
from firebell.usecases.duties import Duties
from firebell.usecases.escalation import Escalation
from firebell.usecases.intake import AlertIntake
from firebell.usecases.lifecycle import Lifecycle
from firebell.usecases.resolution import Resolution
from firebell.usecases.reviews import Reviews
from firebell.usecases.sla_clocks import SlaClocks
from tests.fakes import FakeWorkflows, FixedClock, InMemoryIncidentStore, OutboxMessenger, RecordingEvents

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
API_URL = "https://api.example.com/prod"
ACK_SECRET = b"unit-test-ack-link-secret"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never talk to anything: any attempt to connect a socket fails loudly."""

    def refuse(self, *args, **kwargs):
        raise RuntimeError(f"unit tests must not use the network (tried to connect to {args[0] if args else '?'})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(scope="session")
def shipped_config() -> FirebellConfig:
    return load_config(CONFIG_DIR)


class Service:
    """Every use case of one function instance, under the names the tests use: commands answer with the
    incident (or the deliveries) they produced, as the handlers read them from each Outcome."""

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self.incidents = incidents
        self.ctx = ctx
        self.lifecycle = Lifecycle(incidents, ctx)
        self.resolution = Resolution(incidents, ctx)
        self.escalation = Escalation(incidents, ctx)
        self.intake = AlertIntake(incidents, ctx, self.lifecycle, self.resolution, self.escalation)
        self.sla_clocks = SlaClocks(incidents, ctx)
        self.duties = Duties(incidents, ctx)
        self.reviews = Reviews(incidents, ctx)

    # reading
    def get(self, ref: str) -> Incident:
        return self.incidents.get(ref)

    def read(self, incident: Incident):
        return self.incidents.read(incident)

    def list(self, *args):
        return self.incidents.list(*args)

    def timeline(self, ref: str):
        return self.incidents.timeline(ref)

    # intake
    def report(self, request, idempotency_key: str | None = None) -> Incident:
        return self.intake.report(request, idempotency_key)

    def handle_alarm(self, alarm, redelivered: bool = False, message_id: str | None = None):
        return self.intake.handle_alarm(alarm, message_id=message_id, redelivered=redelivered)

    def handle_signal(self, signal, redelivered: bool = False, message_id: str | None = None):
        return self.intake.handle_signal(signal, message_id=message_id, redelivered=redelivered)

    # lifecycle
    def acknowledge(self, ref: str, by: str) -> Incident:
        return self.lifecycle.acknowledge(ref, by).incident

    def acknowledge_by_link(self, token: str) -> Incident:
        return self.lifecycle.acknowledge_by_link(token).incident

    def acknowledge_link(self, incident: Incident, person: str) -> str:
        return messages.acknowledge_link(self.ctx, self.ctx.config(), incident, person, self.ctx.clock())

    def hold(self, ref: str, by: str, reason: str) -> Incident:
        return self.lifecycle.hold(ref, by, reason).incident

    def resume(self, ref: str, by: str) -> Incident:
        return self.lifecycle.resume(ref, by).incident

    def add_note(self, ref: str, by: str, text: str):
        return self.lifecycle.add_note(ref, by, text)

    def escalate(self, ref: str, by: str, reason: str = "") -> Incident:
        return self.lifecycle.escalate(ref, by, reason).incident

    def reassign(self, ref: str, to: str, by: str) -> Incident:
        return self.lifecycle.reassign(ref, to, by).incident

    # paging and escalation
    def classify(self, incident_id: str) -> Incident:
        return self.escalation.classify(incident_id).incident

    def maintenance_ended(self, incident_id: str) -> Incident:
        return self.escalation.maintenance_ended(incident_id).incident

    def page(self, request) -> list[Delivery]:
        return self.escalation.page(request).deliveries

    def watch(self, request) -> None:
        self.escalation.watch(request)

    def page_incident_managers(self, request) -> list[Delivery]:
        return self.escalation.page_incident_managers(request).deliveries

    # SLA, duties
    def sla_wake_up(self, wake) -> list[Delivery]:
        return self.sla_clocks.wake_up(wake).deliveries

    def reminder_due(self, due) -> list[Delivery]:
        return self.duties.reminder_due(due).deliveries

    def post_update(self, ref: str, by: str, message: str) -> list[Delivery]:
        return self.duties.post_update(ref, by, message)[1].deliveries

    def complete_review(self, ref: str, by: str, summary: str) -> Incident:
        return self.duties.complete_review(ref, by, summary).incident

    # resolution
    def resolve(self, ref: str, by: str, notes: str, automatic: bool = False) -> Incident:
        return self.resolution.resolve(ref, by, notes, automatic).incident

    def reopen(self, ref: str, by: str, reason: str) -> Incident:
        return self.resolution.reopen(ref, by, reason).incident

    def resolution_confirming(self, request) -> list[Delivery]:
        return self.resolution.confirming(request).deliveries

    def resolution_window_closed(self, incident_id: str) -> Incident:
        return self.resolution.window_closed(incident_id).incident

    def quiet_check(self, request) -> None:
        self.resolution.quiet_check(request)


@dataclass
class World:
    """The use cases under test and every fake around them."""

    service: Service
    store: InMemoryIncidentStore
    events: RecordingEvents
    workflows: FakeWorkflows
    messenger: OutboxMessenger
    clock: FixedClock
    config: FirebellConfig
    relay: OutboxRelay


def build_world(
    config: FirebellConfig,
    time_scale: float = 1.0,
    store: InMemoryIncidentStore | None = None,
    workflows: FakeWorkflows | None = None,
    messenger: OutboxMessenger | None = None,
    clock: FixedClock | None = None,
    ack_secret: bytes | None = ACK_SECRET,
) -> World:
    """The use cases wired to fakes; pass a fake to share it with another world (two function instances)."""
    store = store or InMemoryIncidentStore()
    workflows = workflows or FakeWorkflows()
    messenger = messenger or OutboxMessenger()
    clock = clock or FixedClock()
    events = RecordingEvents()

    def event_audience(event_type: EventType, incident: Incident) -> dict[str, bool]:
        return audience(config.directory, event_type, incident.team, incident.service)

    dispatcher = Dispatcher(
        store=store, events=events, workflows=workflows, messenger=messenger, clock=clock, audience=event_audience
    )
    ctx = Context(
        config=lambda: config,
        clock=clock,
        execution_arn=workflows.execution_arn,
        time_scale=time_scale,
        api_url=API_URL + "/",
        ack_secret=(lambda: ack_secret) if ack_secret is not None else None,
    )
    service = Service(Incidents(store, dispatcher, clock), ctx)
    relay = OutboxRelay(store, dispatcher, clock)
    return World(service, store, events, workflows, messenger, clock, config, relay)


@pytest.fixture
def world(shipped_config: FirebellConfig) -> World:
    return build_world(shipped_config)


def open_unclassified(
    world: World, title: str = "Checkout is throwing 5xx", reporter: str = "erin", **fields
) -> Incident:
    """An incident as intake opened it before classification moved into the opening change (issue 10), and as
    such incidents are still stored: open, on the timeline and announced (incident.opened), but not classified:
    no priority, no SLA, no escalation, nobody paged. The classify function (still subscribed to incident.opened)
    and the timers' re-arming are what classify them now."""
    now = world.clock()
    incident = Incident(
        incident_id=str(ULID()),
        reference=world.store.next_reference(),
        title=title,
        source=Source.API,
        reporter=reporter,
        opened_at=now,
        last_seen_at=now,
        **fields,
    )
    change = Change(incident, now, new=True)
    change.log(TimelineKind.OPENED, reporter, f"{incident.reference} opened from report by {reporter}: {title}")
    change.publish(EventType.OPENED)
    return world.service.incidents.open(change).incident


def committed_effects(world: World, incident_id: str, version: int) -> list:
    """The effects the change that committed `version` of the incident recorded, in the order it recorded them
    (the order they are carried out in)."""
    found = [
        effect for effect, _ in world.store.effects(incident_id) if effect.effect_id.split(":")[-2] == str(version)
    ]
    return sorted(found, key=lambda effect: int(effect.effect_id.split(":")[-1]))


def sla_run_wakes(world: World, ref: str) -> list[Delivery]:
    """The incident's SLA run reaches its moment: the clock moves there (never back) and notify gets the
    run's message, as the machine's Tell state sends it. Returns what the wake-up sent."""
    incident = world.service.get(ref)
    execution = incident.sla.execution_arn
    assert execution is not None, f"{ref}: no SLA run waits"
    [started] = [s for s in world.workflows.starts if s.execution_id == execution][-1:]
    payload = started.payload
    at = datetime.fromisoformat(payload["at"].replace("Z", "+00:00"))
    if at > world.clock():
        world.clock.set(at)
    return world.service.sla_wake_up(
        SlaWakeUp(
            type=MessageType.SLA_WAKE,
            incident_id=incident.incident_id,
            clock=payload["clock"],
            moment=payload["moment"],
            generation=payload["generation"],
            execution=execution,
        )
    )


def with_directory(config: FirebellConfig, change: Callable[[dict[str, Any]], None]) -> FirebellConfig:
    """The shipped config with its directory edited as YAML would be (and validated again)."""
    raw = config.directory.model_dump(mode="json", exclude_none=True)
    change(raw)
    return FirebellConfig.model_validate({"directory": raw, "rules": config.rules.model_dump(mode="json")})


def updates_by_a_reminder_run(world: World, ref: str) -> None:
    """Its stakeholder updates chased by a reminder run of their own, as incidents classified before their rounds
    became SLA moments are stored (until the timers are re-armed)."""

    def decide(c: Change) -> None:
        c.set_part(
            "updates",
            execution_arn=FakeWorkflows.execution_id(machines.REMINDER, f"{c.incident_id}-updates-1"),
            started_at=None,
        )

    world.service.incidents.change(ref, decide)


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Make the interpreter switch threads very often, so interleavings actually happen."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of config/."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target
