"""Config loading: the shipped files load; a broken file fails with the file, the path inside it and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from firebell.config import ConfigError, FirebellConfig, cached_config, load_config

from .conftest import CONFIG_DIR


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of config/."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


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
    assert {p.id for p in config.directory.people} == {"alice", "bob", "carol", "dave"}
    assert config.directory.team("platform").escalation_policy.levels[0].targets == ["alice"]
    assert config.directory.default_team == "platform"
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
    edit(config_dir / "firebell.yaml", lambda d: d["teams"][0]["escalation_policy"]["levels"][0].update(targets=["zed"]))
    message = load_error(config_dir)
    assert message.startswith(f"{config_dir / 'firebell.yaml'}: ")
    assert "teams[0].escalation_policy.levels[0].targets: unknown person 'zed'" in message


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
    edit(config_dir / "firebell.yaml", lambda d: d["teams"][0]["escalation_policy"]["levels"][1].update(delay_minutes=0))
    message = load_error(config_dir)
    assert "teams[0].escalation_policy.levels[1].delay_minutes: Input should be greater than 0" in message


def test_empty_targets(config_dir):
    """Given a level with no targets, then it is refused at that level's targets."""
    edit(config_dir / "firebell.yaml", lambda d: d["teams"][0]["escalation_policy"]["levels"][0].update(targets=[]))
    assert "teams[0].escalation_policy.levels[0].targets: List should have at least 1 item" in load_error(config_dir)


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


def test_config_error_is_a_value_error():
    """ConfigError stays a ValueError so callers that catch ValueError still see it."""
    assert issubclass(ConfigError, ValueError)
