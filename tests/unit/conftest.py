"""Unit-test fixtures: the shipped config, the service wired to in-memory fakes, and no network at all."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from firebell.config import load_config
from firebell.domain.directory import FirebellConfig
from firebell.service import IncidentService
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


@dataclass
class World:
    """The service under test and every fake around it."""

    service: IncidentService
    store: InMemoryIncidentStore
    events: RecordingEvents
    workflows: FakeWorkflows
    messenger: OutboxMessenger
    clock: FixedClock
    config: FirebellConfig


def build_world(
    config: FirebellConfig,
    time_scale: float = 1.0,
    store: InMemoryIncidentStore | None = None,
    workflows: FakeWorkflows | None = None,
    messenger: OutboxMessenger | None = None,
    clock: FixedClock | None = None,
    ack_secret: bytes | None = ACK_SECRET,
) -> World:
    """The service wired to fakes; pass a fake to share it with another world (two function instances)."""
    store = store or InMemoryIncidentStore()
    workflows = workflows or FakeWorkflows()
    messenger = messenger or OutboxMessenger()
    clock = clock or FixedClock()
    events = RecordingEvents()
    service = IncidentService(
        store=store,
        events=events,
        clock=clock,
        config=lambda: config,
        workflows=workflows,
        messenger=messenger,
        time_scale=time_scale,
        public_api_url=API_URL + "/",
        ack_secret=(lambda: ack_secret) if ack_secret is not None else None,
    )
    return World(service, store, events, workflows, messenger, clock, config)


@pytest.fixture
def world(shipped_config: FirebellConfig) -> World:
    return build_world(shipped_config)
