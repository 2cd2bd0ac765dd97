"""The directory overlay: admin entries on top of config/firebell.yaml, validated as a whole, and the
admin use cases over an in-memory store (no network)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from firebell.directory_admin import DirectoryAdmin, TtlCache
from firebell.directory_overlay import (
    OverlayEntry,
    OverlayState,
    apply_overlay,
    canonical_kind,
    entry_sources,
    validate_entry,
)
from firebell.domain.directory import Directory, FirebellConfig, Person
from firebell.domain.errors import (
    ConcurrentUpdate,
    DirectoryBusy,
    EntryNotFound,
    InvalidDirectory,
    InvalidEntry,
    UnknownKind,
    VersionMismatch,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ZOE = {"id": "zoe", "name": "Zoe Oncall", "email": "zoe@example.com", "phone": "+15550100009", "roles": ["responder"]}


def person(entry_id: str, **fields) -> OverlayEntry:
    return OverlayEntry("people", entry_id, {"id": entry_id, "name": entry_id.title(), **fields})


def tombstone(kind: str, entry_id: str) -> OverlayEntry:
    return OverlayEntry(kind, entry_id, deleted=True)


def paths(error: InvalidDirectory | InvalidEntry) -> dict[str, str]:
    return {p.field: p.problem for p in error.problems}


class InMemoryOverlayStore:
    """The DirectoryOverlayStore contract: a revision every change bumps, versions per entry, conditional writes."""

    def __init__(self) -> None:
        self.state = OverlayState()
        self.conflicts_to_inject = 0
        self.writes = 0

    def load(self) -> OverlayState:
        return self.state

    def _check(self, entry: OverlayEntry, expected_revision: int) -> None:
        if self.conflicts_to_inject:
            self.conflicts_to_inject -= 1
            # another admin's change lands first
            self.state = OverlayState(self.state.revision + 1, self.state.entries)
            raise ConcurrentUpdate("injected")
        stored = self.state.entries.get((entry.kind, entry.id))
        if expected_revision != self.state.revision or (stored.version if stored else 0) != entry.version:
            raise ConcurrentUpdate("stale")

    def put(self, entry: OverlayEntry, *, expected_revision: int) -> OverlayEntry:
        self._check(entry, expected_revision)
        saved = replace(entry, version=entry.version + 1)
        self.state = OverlayState(self.state.revision + 1, {**self.state.entries, (entry.kind, entry.id): saved})
        self.writes += 1
        return saved

    def remove(self, entry: OverlayEntry, *, expected_revision: int) -> None:
        self._check(entry, expected_revision)
        entries = {k: v for k, v in self.state.entries.items() if k != (entry.kind, entry.id)}
        self.state = OverlayState(self.state.revision + 1, entries)
        self.writes += 1


class Admin:
    def __init__(self, config: FirebellConfig) -> None:
        self.config = config
        self.store = InMemoryOverlayStore()
        self.changes = 0
        self.admin = DirectoryAdmin(self.store, lambda: self.config, lambda: NOW, on_change=self._changed)

    def _changed(self) -> None:
        self.changes += 1


@pytest.fixture
def world(shipped_config: FirebellConfig) -> Admin:
    return Admin(shipped_config)


# --- apply_overlay, pure ---------------------------------------------------------------------------


def test_no_overlay_is_the_file(shipped_config: FirebellConfig) -> None:
    assert apply_overlay(shipped_config.directory, []) == shipped_config.directory
    assert set(entry_sources(shipped_config.directory, [])["people"].values()) == {"file"}


def test_entries_replace_by_id_in_place_remove_and_add(shipped_config: FirebellConfig) -> None:
    # Given an overlay that replaces bob, removes dave (after the team stops needing him) and adds two people
    base = shipped_config.directory
    team = base.team("platform").model_dump(mode="json", exclude_none=True)
    entries = [
        person("zoe"),
        person("yan"),
        person("bob", email="bob@example.org"),
        tombstone("people", "dave"),
        OverlayEntry("teams", "platform", {**team, "stakeholders": []}),
    ]

    # When it is applied
    directory = apply_overlay(base, entries)

    # Then bob keeps his place with the new entry, dave is gone, and the new people follow the file's in id order
    assert [p.id for p in directory.people] == ["alice", "erin", "bob", "carol", "frank", "gus", "yan", "zoe"]
    assert directory.person("bob") == Person(id="bob", name="Bob", email="bob@example.org")
    assert directory.team("platform").stakeholders == []
    sources = entry_sources(base, entries)
    assert sources["people"] == {
        "alice": "file",
        "erin": "file",
        "bob": "admin",
        "carol": "file",
        "frank": "file",
        "gus": "file",
        "yan": "admin",
        "zoe": "admin",
    }
    assert sources["teams"] == {"platform": "admin"} and sources["schedules"] == {"platform-primary": "file"}


def test_a_tombstone_for_an_entry_nobody_has_changes_nothing(shipped_config: FirebellConfig) -> None:
    assert apply_overlay(shipped_config.directory, [tombstone("people", "ghost")]) == shipped_config.directory


def test_a_broken_reference_names_the_entry_by_id(shipped_config: FirebellConfig) -> None:
    # When bob, whom the policy's level 2 targets, is removed
    with pytest.raises(InvalidDirectory) as raised:
        apply_overlay(shipped_config.directory, [tombstone("people", "bob")])

    # Then the problem names the path by the policy's id, not its position
    assert paths(raised.value) == {
        "escalation_policies['platform-default'].levels[1].targets[0].person": "unknown person 'bob'"
    }
    assert "unknown person 'bob'" in str(raised.value)


def test_every_problem_is_reported_at_once(shipped_config: FirebellConfig) -> None:
    # When the only team is removed, the list's own rule names it
    with pytest.raises(InvalidDirectory) as raised:
        apply_overlay(shipped_config.directory, [tombstone("teams", "platform")])
    assert list(paths(raised.value)) == ["teams"]

    # And a team with two bad references gets both reported
    with pytest.raises(InvalidDirectory) as raised:
        apply_overlay(
            shipped_config.directory,
            [
                OverlayEntry(
                    "teams",
                    "ops",
                    {
                        "id": "ops",
                        "name": "Ops",
                        "escalation_policy": "nope",
                        "manager": "ghost",
                        "incident_managers": ["carol"],
                    },
                )
            ],
        )
    assert paths(raised.value) == {
        "teams['ops'].escalation_policy": "unknown policy 'nope'",
        "teams['ops'].manager": "unknown person 'ghost'",
    }


def test_a_stored_entry_that_no_longer_validates_is_named(shipped_config: FirebellConfig) -> None:
    with pytest.raises(InvalidDirectory) as raised:
        apply_overlay(shipped_config.directory, [person("zoe", phone="555")])
    assert list(paths(raised.value)) == ["people['zoe'].phone"]


def test_kinds_and_their_url_spelling() -> None:
    assert canonical_kind("escalation-policies") == canonical_kind("escalation_policies") == "escalation_policies"
    with pytest.raises(UnknownKind, match="no such kind 'gadgets'"):
        canonical_kind("gadgets")


@pytest.mark.parametrize(
    ("kind", "entry_id", "body", "field"),
    [
        ("people", "zoe", {**ZOE, "id": "zed"}, "body.id"),
        ("people", "zoe", {**ZOE, "id": 7}, "body.id"),
        ("people", "-zoe", ZOE, "path.id"),
        ("people", "z" * 129, ZOE, "path.id"),
        ("people", "zoe", ["zoe"], "body"),
        ("people", "zoe", None, "body"),
        ("people", "zoe", {"name": None}, "body.name"),
        ("people", "zoe", {"name": "Zoe", "extra": 1}, "body.extra"),
        (
            "escalation_policies",
            "p",
            {"levels": [{"delay_minutes": 0, "targets": [{"person": "a"}]}]},
            "body.levels[0].delay_minutes",
        ),
        (
            "escalation_policies",
            "p",
            {"levels": [{"delay_minutes": 1, "targets": [{"person": "a", "schedule": "s"}]}]},
            "body.levels[0].targets[0]",
        ),
        ("escalation_policies", "p", {"levels": [], "repeat": 10}, "body.levels"),
        (
            "schedules",
            "s",
            {
                "name": "S",
                "time_zone": "UTC",
                "layers": [{"name": "l", "rotation": {"type": "custom", "start": "2026-01-05"}, "members": ["a"]}],
            },
            "body.layers[0].rotation",
        ),
        ("people", "zoe", {"name": "x" * (300 * 1024)}, "body"),
    ],
)
def test_an_entry_is_checked_on_its_own_first(kind: str, entry_id: str, body, field: str) -> None:
    with pytest.raises(InvalidEntry) as raised:
        validate_entry(kind, entry_id, body)
    assert field in paths(raised.value), raised.value.problems


def test_the_id_comes_from_the_path_when_the_body_has_none() -> None:
    assert validate_entry("people", "zoe", {"name": "Zoe"}) == Person(id="zoe", name="Zoe")


# --- the admin use cases ---------------------------------------------------------------------------


def test_put_creates_then_replaces_with_versions(world: Admin) -> None:
    view, created = world.admin.put("people", "zoe", ZOE)
    assert created and (view.source, view.in_file, view.version, view.updated_at) == ("admin", False, 1, NOW)

    view, created = world.admin.put(
        "people", "zoe", {**ZOE, "name": "Zoe Z"}, if_match=1, by="arn:aws:iam::1:user/admin"
    )
    assert not created and (view.version, view.entry.name, view.updated_by) == (2, "Zoe Z", "arn:aws:iam::1:user/admin")
    assert world.changes == 2 and world.store.state.revision == 2
    assert [v.id for v in world.admin.list("people")][-1] == "zoe"
    assert world.admin.get("people", "zoe").to_json()["entry"] == {**ZOE, "name": "Zoe Z"}


def test_a_change_that_breaks_the_directory_stores_nothing(world: Admin) -> None:
    with pytest.raises(InvalidDirectory) as raised:
        world.admin.delete("people", "bob")
    assert paths(raised.value) == {
        "directory.escalation_policies['platform-default'].levels[1].targets[0].person": "unknown person 'bob'"
    }
    # Problems inside the entry sent name the body instead
    with pytest.raises(InvalidDirectory) as raised:
        world.admin.put(
            "teams", "platform", {"name": "P", "escalation_policy": "platform-default", "incident_managers": ["ghost"]}
        )
    assert paths(raised.value) == {"body.incident_managers": "unknown person 'ghost'"}
    assert (world.store.writes, world.changes) == (0, 0)


def test_a_write_that_leaves_a_target_unreachable_is_refused_naming_the_field(world: Admin) -> None:
    """Escalation targets without a usable contact method are refused on admin writes, naming the body's field."""
    # Given bob, level 2's target: taking away his email and phone is refused at body.email
    with pytest.raises(InvalidDirectory) as raised:
        world.admin.put("people", "bob", {"name": "Bob Backend"})
    assert paths(raised.value) == {
        "body.email": "neither email nor phone, yet paged by escalation_policies['platform-default'].levels[1]",
        "directory.escalation_policies['platform-default'].levels[1].targets[0].person": "'bob' (the person paged) has no email or phone to be paged at",
    }
    # A policy that pages a person without contact is refused at the target
    world.admin.put("people", "yan", {"name": "Yan"})  # nobody pages yan yet: allowed
    with pytest.raises(InvalidDirectory) as raised:
        world.admin.put(
            "escalation_policies", "yan-first", {"levels": [{"delay_minutes": 1, "targets": [{"person": "yan"}]}]}
        )
    assert (
        paths(raised.value)["body.levels[0].targets[0].person"]
        == "'yan' (the person paged) has no email or phone to be paged at"
    )
    # And so is an override that puts them on call
    with pytest.raises(InvalidDirectory) as raised:
        world.admin.add_override(
            "platform-primary", {"person": "yan", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T17:00:00Z"}
        )
    assert "directory.escalation_policies['platform-default'].levels[0].targets[0].schedule" in paths(raised.value)
    assert world.store.writes == 1  # yan alone


def test_delete_and_revert(world: Admin) -> None:
    world.admin.put("people", "zoe", ZOE)
    world.admin.delete("people", "zoe")
    with pytest.raises(EntryNotFound):
        world.admin.get("people", "zoe")
    with pytest.raises(EntryNotFound):
        world.admin.delete("people", "zoe")
    # The tombstone is a stored entry: reverting it drops it, and zoe (admin-only) stays gone
    assert world.admin.revert("people", "zoe") is None
    with pytest.raises(EntryNotFound):
        world.admin.revert("people", "zoe")
    # A changed file entry reverts to the file's
    world.admin.put("people", "bob", {"name": "Robert", "email": "bob@example.org"})
    assert world.admin.get("people", "bob").entry.name == "Robert"
    view = world.admin.revert("people", "bob")
    assert view is not None and (view.source, view.version, view.entry.name) == ("file", 0, "Bob Backend")


def test_reverting_what_others_still_need_is_refused(world: Admin) -> None:
    # zoe (admin-only) is on a policy; dropping her would leave the policy dangling
    world.admin.put("people", "zoe", ZOE)
    world.admin.put(
        "escalation_policies", "zoe-first", {"levels": [{"delay_minutes": 1, "targets": [{"person": "zoe"}]}]}
    )
    with pytest.raises(InvalidDirectory) as raised:
        world.admin.revert("people", "zoe")
    assert list(paths(raised.value)) == ["directory.escalation_policies['zoe-first'].levels[0].targets[0].person"]


def test_if_match_must_name_the_current_version(world: Admin) -> None:
    world.admin.put("people", "zoe", ZOE)
    with pytest.raises(VersionMismatch, match="version 1, not 3"):
        world.admin.put("people", "zoe", ZOE, if_match=3)
    with pytest.raises(VersionMismatch):
        world.admin.delete("people", "alice", if_match=1)  # a file entry nobody changed is version 0
    world.admin.put("people", "alice", {"name": "Alice", "phone": "+15550100001"}, if_match=0)


def test_a_concurrent_change_is_revalidated_and_retried(world: Admin) -> None:
    world.store.conflicts_to_inject = 2
    view, _ = world.admin.put("people", "zoe", ZOE)
    assert view.version == 1 and world.store.writes == 1

    world.store.conflicts_to_inject = 99
    with pytest.raises(DirectoryBusy):
        world.admin.put("people", "yan", {"name": "Yan"})


def test_overrides_and_maintenance_windows_are_appended(world: Admin) -> None:
    world.admin.put("people", "zoe", ZOE)
    view = world.admin.add_override(
        "platform-primary", {"person": "zoe", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T17:00:00Z"}
    )
    view = world.admin.add_override(
        "platform-primary", {"person": "alice", "start": "2026-03-03T09:00:00Z", "end": "2026-03-03T17:00:00Z"}
    )
    assert [o.person for o in view.entry.overrides] == ["zoe", "alice"] and view.version == 2
    # A problem with the item sent names the body's field
    with pytest.raises(InvalidDirectory) as raised:
        world.admin.add_override(
            "platform-primary", {"person": "ghost", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T17:00:00Z"}
        )
    assert paths(raised.value) == {"body.person": "unknown person 'ghost'"}
    with pytest.raises(InvalidEntry) as raised:
        world.admin.add_override(
            "platform-primary", {"person": "zoe", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T08:00:00Z"}
        )
    assert list(paths(raised.value)) == ["body"]
    with pytest.raises(EntryNotFound):
        world.admin.add_override(
            "nights", {"person": "zoe", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T17:00:00Z"}
        )

    view = world.admin.add_maintenance_window(
        "checkout", {"start": "2026-03-02T11:00:00Z", "end": "2026-03-02T13:00:00Z", "reason": "upgrade"}
    )
    assert view.entry.maintenance_at(NOW).reason == "upgrade"
    assert world.admin.effective_config().directory.service("checkout").maintenance_at(NOW) is not None
    with pytest.raises(EntryNotFound):
        world.admin.add_maintenance_window("billing", {"start": "2026-03-02T11:00:00Z", "end": "2026-03-02T13:00:00Z"})


def test_an_overlay_the_file_no_longer_fits_falls_back_to_the_file(
    world: Admin, shipped_config: FirebellConfig
) -> None:
    # Given an admin policy that pages bob, who is in the file
    world.admin.put(
        "escalation_policies", "bob-first", {"levels": [{"delay_minutes": 1, "targets": [{"person": "bob"}]}]}
    )
    world.admin.put("people", "zoe", ZOE)

    # When a deploy ships a file without bob
    document = shipped_config.directory.model_dump(mode="json", exclude_none=True)
    document["people"] = [p for p in document["people"] if p["id"] != "bob"]
    document["escalation_policies"][0]["levels"][1]["targets"] = [{"person": "carol"}]
    world.config = shipped_config.model_copy(update={"directory": Directory.model_validate(document)})

    # Then functions use the new file alone (paging keeps working) and the snapshot says why
    assert world.admin.effective_config() is world.config
    snapshot = world.admin.snapshot()
    assert snapshot.directory == world.config.directory
    assert {p.field: p.problem for p in snapshot.problems} == {
        "escalation_policies['bob-first'].levels[0].targets[0].person": "unknown person 'bob'"
    }
    # And a change that does not fix it is refused, naming the problem; one that fixes it is accepted
    with pytest.raises(InvalidDirectory):
        world.admin.put("people", "yan", {"name": "Yan"})
    world.admin.put(
        "escalation_policies", "bob-first", {"levels": [{"delay_minutes": 1, "targets": [{"person": "zoe"}]}]}
    )
    assert world.admin.effective_config().directory.person("zoe") is not None
    assert world.admin.snapshot().problems == []


def test_effective_config_without_overlay_is_the_file_itself(world: Admin, shipped_config: FirebellConfig) -> None:
    assert world.admin.effective_config() is shipped_config
    assert world.admin.snapshot().to_json()["revision"] == 0


# --- the per-container cache -----------------------------------------------------------------------


class Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_ttl_cache_loads_once_per_ttl_and_on_invalidate() -> None:
    loads: list[int] = []
    ticker = Ticker()
    cache = TtlCache(lambda: loads.append(len(loads)) or len(loads), ttl_seconds=15, monotonic=ticker)

    assert cache.get() == cache.get() == 1
    ticker.now += 14.9
    assert cache.get() == 1
    ticker.now += 0.2
    assert cache.get() == 2
    cache.invalidate()
    assert cache.get() == 3 and len(loads) == 3


def test_ttl_cache_serves_the_last_value_when_a_reload_fails() -> None:
    ticker = Ticker()
    outcomes: list[object] = ["first", RuntimeError("dynamodb is down"), "second"]

    def load() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    cache = TtlCache(load, ttl_seconds=15, monotonic=ticker)
    assert cache.get() == "first"
    ticker.now += 16
    assert cache.get() == "first"  # reload failed: stale, and not retried on every call
    assert cache.get() == "first" and outcomes == ["second"]
    ticker.now += 16
    assert cache.get() == "second"

    failing = TtlCache(lambda: (_ for _ in ()).throw(RuntimeError("never loaded")), ttl_seconds=15, monotonic=ticker)
    with pytest.raises(RuntimeError, match="never loaded"):
        failing.get()


def test_the_effective_directory_moves_with_time(world: Admin) -> None:
    # A maintenance window ending is a matter of time, not of cache: the same config answers both
    world.admin.add_maintenance_window("checkout", {"start": "2026-03-02T11:00:00Z", "end": "2026-03-02T13:00:00Z"})
    service = world.admin.effective_config().directory.service("checkout")
    assert service.maintenance_at(NOW) is not None and service.maintenance_at(NOW + timedelta(hours=2)) is None
