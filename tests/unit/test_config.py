"""Config loading: the shipped files load; a broken file fails with the file, the path inside it and the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from firebell.config import cached_config, load_config, write_parsed
from firebell.domain.directory import FirebellConfig
from firebell.domain.errors import ConfigError

from .conftest import CONFIG_DIR


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def load_error(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    return str(caught.value)


def test_shipped_config_loads():
    """Given config/ as shipped, when loaded, then people, teams, services and rules are all there."""
    config = load_config(CONFIG_DIR)
    assert isinstance(config, FirebellConfig)
    directory = config.directory
    assert {p.id for p in directory.people} == {"alice", "erin", "bob", "carol", "frank", "dave", "gus"}
    assert directory.team("platform").escalation_policy == "platform-default"
    assert directory.team("platform").manager == "frank"
    policy = directory.policy_for("platform", "checkout")
    assert [[(t.kind, t.ref) for t in level.targets] for level in policy.levels] == [
        [("schedule", "platform-primary")],
        [("person", "bob")],
    ]
    assert (policy.repeat, [level.delay_minutes for level in policy.levels]) == (0, [5, 10])
    assert directory.schedule("platform-primary").layers[0].members == ["alice", "erin"]
    assert directory.default_team == "platform"
    assert [c.name for c in config.rules.categories][:2] == ["database", "application"]
    assert config.rules.default_category.name == "general"


def test_cached_config_reads_once():
    """Given the same directory twice, then the cached loader returns the very same object."""
    cached_config.cache_clear()
    try:
        assert cached_config(str(CONFIG_DIR)) is cached_config(str(CONFIG_DIR))
    finally:
        cached_config.cache_clear()


def test_unknown_escalation_target(config_dir):
    """Given a level targeting someone not in `people`, then the error names file, path and the person."""
    edit(
        config_dir / "firebell.yaml",
        lambda d: d["escalation_policies"][0]["levels"][0].update(targets=[{"person": "zed"}]),
    )
    message = load_error(config_dir)
    assert message.startswith(f"{config_dir / 'firebell.yaml'}: ")
    assert "escalation_policies[0].levels[0].targets[0].person: unknown person 'zed'" in message


def test_unknown_incident_manager_and_stakeholder_are_all_reported(config_dir):
    """Given two bad references at once, then both are reported in one message."""

    def change(d):
        d["teams"][0]["incident_managers"] = ["nobody"]
        d["teams"][0]["stakeholders"] = ["ghost"]

    edit(config_dir / "firebell.yaml", change)
    message = load_error(config_dir)
    assert "teams[0].incident_managers: unknown person 'nobody'" in message
    assert "teams[0].stakeholders: unknown person 'ghost'" in message


def test_unknown_service_team_and_default_team(config_dir):
    """Given a service and the default team pointing at a missing team, then both paths are named."""

    def change(d):
        d["services"][0]["team"] = "dba"
        d["default_team"] = "night-shift"

    edit(config_dir / "firebell.yaml", change)
    message = load_error(config_dir)
    assert "services[0].team: unknown team 'dba'" in message
    assert "default_team: unknown team 'night-shift'" in message


@pytest.mark.parametrize("phone", ["555-0100", "15550100001", "+0123456789", "+1 555 0100"])
def test_bad_phone(config_dir, phone):
    """Given a phone number that is not E.164, then the error names the person's phone field."""
    edit(config_dir / "firebell.yaml", lambda d: d["people"][1].update(phone=phone))
    message = load_error(config_dir)
    assert f"{config_dir / 'firebell.yaml'}: people[1].phone: String should match pattern" in message


def test_bad_delay(config_dir):
    """Given a level with a zero delay, then the path down to delay_minutes is named."""
    edit(config_dir / "firebell.yaml", lambda d: d["escalation_policies"][0]["levels"][1].update(delay_minutes=0))
    message = load_error(config_dir)
    assert "escalation_policies[0].levels[1].delay_minutes: Input should be greater than 0" in message


def test_a_delay_longer_than_a_week_is_refused(config_dir):
    """An unbounded wait failed the Step Functions run (States.Runtime): nobody was paged at all."""
    edit(config_dir / "firebell.yaml", lambda d: d["escalation_policies"][0]["levels"][1].update(delay_minutes=1e15))
    message = load_error(config_dir)
    assert "escalation_policies[0].levels[1].delay_minutes: Input should be less than or equal to 10080" in message


def test_empty_targets(config_dir):
    """Given a level with no targets, then it is refused at that level's targets."""
    edit(config_dir / "firebell.yaml", lambda d: d["escalation_policies"][0]["levels"][0].update(targets=[]))
    assert "escalation_policies[0].levels[0].targets: List should have at least 1 item" in load_error(config_dir)


def test_bad_sender(config_dir):
    """Given a sender that is not an address, then notifications.sender is named."""
    edit(config_dir / "firebell.yaml", lambda d: d["notifications"].update(sender="firebell"))
    assert "notifications.sender: String should match pattern" in load_error(config_dir)


def test_misspelt_key(config_dir):
    """Given a misspelt key (`escalation_polcy`), then both the unknown and the missing key are named."""

    def change(d):
        d["teams"][0]["escalation_polcy"] = d["teams"][0].pop("escalation_policy")

    edit(config_dir / "firebell.yaml", change)
    message = load_error(config_dir)
    assert "teams[0].escalation_policy: Field required" in message
    assert "teams[0].escalation_polcy: Extra inputs are not permitted" in message


def test_invalid_yaml(config_dir):
    """Given a file that is not YAML, then the error says so, with the file and where it broke."""
    (config_dir / "firebell.yaml").write_text("people:\n  - id: alice\n    name: [unclosed\n", encoding="utf-8")
    message = load_error(config_dir)
    assert message.startswith(f"{config_dir / 'firebell.yaml'}: not valid YAML:")
    assert "line" in message


def test_empty_file(config_dir):
    """Given an empty rules file, then the error is at the top level of that file."""
    (config_dir / "rules.yaml").write_text("", encoding="utf-8")
    message = load_error(config_dir)
    assert message.startswith(f"{config_dir / 'rules.yaml'}: (top level): ")


def test_missing_file(config_dir):
    """Given no rules.yaml, then the error names the file and that it cannot be read."""
    (config_dir / "rules.yaml").unlink()
    assert load_error(config_dir) == f"{config_dir / 'rules.yaml'}: cannot read: No such file or directory"


def test_rules_errors_name_rules_yaml(config_dir):
    """Given a bad SLA in rules.yaml, then the message names rules.yaml and sla_targets.P3."""
    edit(config_dir / "rules.yaml", lambda d: d["sla_targets"]["P3"].update(response_minutes=2000))
    message = load_error(config_dir)
    assert message.startswith(f"{config_dir / 'rules.yaml'}: sla_targets.P3: ")
    assert "response_minutes must not exceed resolution_minutes" in message


def test_incomplete_matrix_in_rules_yaml(config_dir):
    """Given a matrix row missing a cell, then the message names rules.yaml and the row."""
    edit(config_dir / "rules.yaml", lambda d: d["priority_matrix"]["medium"].pop("low"))
    message = load_error(config_dir)
    assert str(config_dir / "rules.yaml") in message
    assert "priority_matrix.medium lacks urgencies ['low']" in message


# --- v2: escalation policies, schedules, managers, maintenance windows ------------------------------


def test_team_with_unknown_policy(config_dir):
    """Given a team naming a policy nobody defined, then the error names the team's escalation_policy."""
    edit(config_dir / "firebell.yaml", lambda d: d["teams"][0].update(escalation_policy="nightly"))
    assert "teams[0].escalation_policy: unknown policy 'nightly'" in load_error(config_dir)


def test_service_with_unknown_policy(config_dir):
    """Given a service overriding its team's policy with an unknown one, then the service's field is named."""
    edit(config_dir / "firebell.yaml", lambda d: d["services"][0].update(escalation_policy="vip"))
    assert "services[0].escalation_policy: unknown policy 'vip'" in load_error(config_dir)


def test_unknown_schedule_target(config_dir):
    """Given a level paging a schedule that does not exist, then the target's schedule is named."""
    edit(
        config_dir / "firebell.yaml",
        lambda d: d["escalation_policies"][0]["levels"][0].update(targets=[{"schedule": "nights"}]),
    )
    assert "escalation_policies[0].levels[0].targets[0].schedule: unknown schedule 'nights'" in load_error(config_dir)


def test_unknown_team_manager_target(config_dir):
    """Given a level paging the manager of a team that does not exist, then the target is named."""
    edit(
        config_dir / "firebell.yaml",
        lambda d: d["escalation_policies"][0]["levels"][1].update(targets=[{"team_manager": "dba"}]),
    )
    assert "escalation_policies[0].levels[1].targets[0].team_manager: unknown team manager 'dba'" in load_error(
        config_dir
    )


def test_team_manager_target_of_a_team_without_manager(config_dir):
    """Given a level paging platform's manager, when platform has no manager, then the level is named with why."""

    def change(d):
        d["escalation_policies"][0]["levels"][1]["targets"] = [{"team_manager": "platform"}]
        del d["teams"][0]["manager"]

    edit(config_dir / "firebell.yaml", change)
    assert "escalation_policies[0].levels[1]: team 'platform' has no manager to page" in load_error(config_dir)


def test_unknown_manager(config_dir):
    edit(config_dir / "firebell.yaml", lambda d: d["teams"][0].update(manager="boss"))
    assert "teams[0].manager: unknown person 'boss'" in load_error(config_dir)


@pytest.mark.parametrize(
    ("section", "duplicate"),
    [
        ("people", "alice"),
        ("escalation_policies", "platform-default"),
        ("teams", "platform"),
        ("schedules", "platform-primary"),
        ("services", "checkout"),
    ],
)
def test_duplicate_ids(config_dir, section, duplicate):
    """Given two entries of a section with the same id, then the section and the id are named."""
    edit(config_dir / "firebell.yaml", lambda d: d[section].append(dict(d[section][0])))
    assert f"{section}: duplicate id {duplicate!r}" in load_error(config_dir)


@pytest.mark.parametrize(
    ("target", "named"),
    [({"person": "bob", "schedule": "platform-primary"}, "['person', 'schedule']"), ({}, "none")],
)
def test_target_names_exactly_one_thing(config_dir, target, named):
    """Given a target naming two things (or nothing), then that target is refused saying what it named."""
    edit(config_dir / "firebell.yaml", lambda d: d["escalation_policies"][0]["levels"][1].update(targets=[target]))
    message = load_error(config_dir)
    assert (
        "escalation_policies[0].levels[1].targets[0]: a target names exactly one of person, schedule, team_manager"
        in message
    )
    assert f"(got {named})" in message


def test_bare_string_target_is_refused(config_dir):
    """Given a v1-style target (a bare person id), then it is refused at that target rather than guessed."""
    edit(config_dir / "firebell.yaml", lambda d: d["escalation_policies"][0]["levels"][1].update(targets=["bob"]))
    assert "escalation_policies[0].levels[1].targets[0]: " in load_error(config_dir)


@pytest.mark.parametrize(("repeat", "ok"), [(0, True), (9, True), (10, False), (-1, False)])
def test_repeat_is_bounded(config_dir, repeat, ok):
    """Given a policy repeat, then 0..9 is accepted and anything else refused at escalation_policies[0].repeat."""
    edit(config_dir / "firebell.yaml", lambda d: d["escalation_policies"][0].update(repeat=repeat))
    if ok:
        assert load_config(config_dir).directory.escalation_policies[0].repeat == repeat
    else:
        assert "escalation_policies[0].repeat: " in load_error(config_dir)


def test_unknown_schedule_member(config_dir):
    edit(config_dir / "firebell.yaml", lambda d: d["schedules"][0]["layers"][0].update(members=["alice", "mallory"]))
    assert "schedules[0].layers[0].members: unknown person 'mallory'" in load_error(config_dir)


def test_maintenance_window_must_end_after_it_starts(config_dir):
    edit(
        config_dir / "firebell.yaml",
        lambda d: d["services"][0].update(
            maintenance_windows=[{"start": "2026-05-01T12:00:00Z", "end": "2026-05-01T11:00:00Z"}]
        ),
    )
    assert "services[0].maintenance_windows[0]: end must be after start" in load_error(config_dir)


def test_maintenance_window_needs_a_time_zone(config_dir):
    edit(
        config_dir / "firebell.yaml",
        lambda d: d["services"][0].update(
            maintenance_windows=[{"start": "2026-05-01T10:00:00", "end": "2026-05-01T11:00:00Z"}]
        ),
    )
    assert "services[0].maintenance_windows[0].start: Input should have timezone info" in load_error(config_dir)


def test_directory_lookups(shipped_config):
    """Given the shipped directory, then unknown people are None, unknown teams fall back to the default team,
    and a service without its own policy uses its team's."""
    directory = shipped_config.directory
    assert directory.person("alice").email == "alice@example.com"
    assert directory.person("ghost") is None
    assert directory.team("disbanded").id == directory.team(None).id == "platform"
    assert directory.service("nope") is None and directory.schedule("nope") is None
    assert (
        directory.policy_for("platform", None).id
        == directory.policy_for("platform", "checkout").id
        == "platform-default"
    )


def test_config_error_is_a_value_error():
    """ConfigError stays a ValueError so callers that catch ValueError still see it."""
    assert issubclass(ConfigError, ValueError)


# --- escalation targets without a usable contact method -----------------------------------------------


def _without_contact(person: dict) -> None:
    person.pop("email", None)
    person.pop("phone", None)


def test_a_paged_person_without_email_or_phone_is_refused_at_load(config_dir):
    """Given bob (level 2's only target) without email or phone, then loading fails naming the target and bob's entry:
    a level that can page nobody is found when the config loads, not when an incident needs it."""
    edit(config_dir / "firebell.yaml", lambda d: _without_contact(next(p for p in d["people"] if p["id"] == "bob")))
    message = load_error(config_dir)
    assert (
        "escalation_policies[0].levels[1].targets[0].person: 'bob' (the person paged) has no email or phone to be paged at"
        in message
    )
    assert (
        "people[2].email: neither email nor phone, yet paged by escalation_policies['platform-default'].levels[1]"
        in message
    )


def test_a_schedule_member_without_contact_is_refused_at_load(config_dir):
    """Given erin (on call every other week on the level-1 schedule) without email or phone, then loading fails:
    those weeks level 1 would page nobody."""
    edit(config_dir / "firebell.yaml", lambda d: _without_contact(next(p for p in d["people"] if p["id"] == "erin")))
    message = load_error(config_dir)
    assert (
        "escalation_policies[0].levels[0].targets[0].schedule: 'erin' (on call in turn on schedule 'platform-primary') "
        "has no email or phone to be paged at"
    ) in message


def test_incident_managers_and_team_manager_targets_need_contact(config_dir):
    def change(d):
        for person in d["people"]:
            if person["id"] in ("carol", "frank"):
                _without_contact(person)
        d["escalation_policies"][0]["levels"].append({"delay_minutes": 5, "targets": [{"team_manager": "platform"}]})

    edit(config_dir / "firebell.yaml", change)
    message = load_error(config_dir)
    assert "teams[0].incident_managers: 'carol' (paged when no level acknowledges) has no email or phone" in message
    assert (
        "escalation_policies[0].levels[2].targets[0].team_manager: 'frank' (manager of team 'platform') has no email"
        in message
    )


def test_people_nobody_pages_may_go_without_contact(config_dir):
    """A person who is no escalation target (dave, a stakeholder) may lack both: nobody waits on a page to them."""
    edit(config_dir / "firebell.yaml", lambda d: _without_contact(next(p for p in d["people"] if p["id"] == "dave")))
    assert load_config(config_dir).directory.person("dave").reachable is False


# --- roles (docs/access.md) ------------------------------------------------------------------------------


def test_shipped_roles():
    """The shipped people: responders on call, carol the incident manager who also keeps the directory, frank the
    team's lead as an incident manager, dave a stakeholder who reads, gus an employee with the default role."""
    people = {p.id: [r.value for r in p.roles] for p in load_config(CONFIG_DIR).directory.people}
    assert people == {
        "alice": ["responder"],
        "erin": ["responder"],
        "bob": ["responder"],
        "carol": ["incident_manager", "admin"],
        "frank": ["incident_manager"],
        "dave": ["viewer"],
        "gus": ["reporter"],
    }


def test_a_person_without_roles_is_a_reporter_and_an_empty_list_is_no_role(config_dir):
    def change(d):
        d["people"][0].pop("roles")
        d["people"][1]["roles"] = []

    edit(config_dir / "firebell.yaml", change)
    people = load_config(config_dir).directory.people
    assert ([r.value for r in people[0].roles], people[1].roles) == (["reporter"], [])


def test_an_unknown_role_is_refused_naming_the_person_and_the_roles_there_are(config_dir):
    edit(config_dir / "firebell.yaml", lambda d: d["people"][2].update(roles=["responder", "superuser"]))
    message = load_error(config_dir)
    assert (
        "people[2].roles[1]: Input should be 'viewer', 'reporter', 'responder', 'incident_manager' or 'admin'"
        in message
    )


def test_a_role_listed_twice_is_refused(config_dir):
    edit(config_dir / "firebell.yaml", lambda d: d["people"][0].update(roles=["responder", "admin", "responder"]))
    assert "people[0].roles: listed twice: responder" in load_error(config_dir)


def test_one_email_names_one_person(config_dir):
    """A signed-in person is found by email (Cognito's email claim): two people sharing one would be ambiguous."""
    edit(config_dir / "firebell.yaml", lambda d: d["people"][3].update(email="Alice@Example.com"))
    assert "people[3].email: 'Alice@Example.com' is also person 'alice''s (one email, one person)" in load_error(
        config_dir
    )


def test_a_person_is_found_by_email_whatever_its_case(shipped_config):
    assert shipped_config.directory.person_by_email(" BOB@example.COM ").id == "bob"
    assert shipped_config.directory.person_by_email("nobody@example.com") is None


# --- the documents the layer ships parsed ------------------------------------------------------------


def test_a_document_parsed_at_build_is_read_instead_of_the_yaml(config_dir):
    """Given config/ with each file's document written beside it (the layer build's step), then loading it gives
    the same config without importing PyYAML, and without building the directory's and the rules' validators: the
    build validated them (a fresh interpreter: what is imported and built is process-wide)."""
    for path in config_dir.glob("*.yaml"):
        write_parsed(path)
    probe = (
        f"import sys; from pathlib import Path; from firebell.config import load_config; "
        f"from firebell.domain.directory import Directory, FirebellConfig, Ops; from firebell.domain.rules import Rules; "
        f"config = load_config(Path({str(config_dir)!r})); built = [m.__pydantic_complete__ for m in (Directory, Rules, FirebellConfig, Ops)]; "
        f"print(config.model_dump_json()); print('yaml' in sys.modules); print(built)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": str(CONFIG_DIR.parent / "layers" / "common" / "python")},
    )
    dumped, yaml_imported, built = done.stdout.strip().splitlines()[-3:]
    assert dumped == load_config(CONFIG_DIR).model_dump_json() and yaml_imported == "False"
    assert built == "[False, False, False, False]"


def test_a_file_that_does_not_validate_at_build_still_fails_with_its_problem(config_dir):
    # Given a file broken before the build: the build ships its document alone
    edit(config_dir / "rules.yaml", lambda rules: rules["process"].update(confirmation_window_minutes=-1))
    write_parsed(config_dir / "rules.yaml")
    # Then loading it says what is wrong, as for any file
    assert "rules.yaml: process.confirmation_window_minutes" in load_error(config_dir)


def test_a_file_changed_after_the_build_is_parsed_anew(config_dir):
    # Given a document parsed at build time, and the file edited afterwards
    write_parsed(config_dir / "rules.yaml")
    edit(config_dir / "rules.yaml", lambda rules: rules["process"].update(confirmation_window_minutes=90))
    # Then the edited file is what loads
    assert load_config(config_dir).rules.process.confirmation_window_minutes == 90


def test_a_broken_file_with_a_stale_parsed_document_still_fails_as_yaml(config_dir):
    write_parsed(config_dir / "firebell.yaml")
    (config_dir / "firebell.yaml").write_text("people: [unclosed\n", encoding="utf-8")
    assert "not valid YAML" in load_error(config_dir)


def test_an_email_that_is_not_an_address_is_refused(config_dir):
    """SES cannot send to it: the person would be unreachable by email without anyone knowing."""
    edit(config_dir / "firebell.yaml", lambda d: d["people"][0].update(email="alice at example"))
    assert "people[0].email: String should match pattern" in load_error(config_dir)
