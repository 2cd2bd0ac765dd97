"""Routing keys are stored as hashes, compared by hash, made by `python -m firebell.keys`, and a demo key works
only where the loader accepts demo keys (the local runtime; tests/integration holds the deployed side)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from firebell import keys
from firebell.config import load_config
from firebell.domain.directory import FirebellConfig
from firebell.domain.errors import DemoRoutingKeyRefused
from firebell.domain.routing_keys import routing_key_sha256

from .test_config import edit, load_error
from .test_integrations import KEY


def new_key_entry() -> tuple[str, str]:
    """What an operator gets from `python -m firebell.keys new`: the key, and the entry to store."""
    out = io.StringIO()
    assert keys.main(["new"], out=out) == 0
    printed = out.getvalue()
    (key,) = re.findall(r"shown once.*: ([0-9a-f]{32})$", printed, re.MULTILINE)
    (sha256,) = re.findall(r"- \{ sha256: ([0-9a-f]{64}) \}$", printed, re.MULTILINE)
    return key, sha256


def test_the_shipped_config_holds_only_the_demo_key_s_hash(shipped_config: FirebellConfig) -> None:
    # Given config/ as shipped, then the demo key is not in it, only its hash, marked demo
    text = (Path(__file__).parents[2] / "config" / "firebell.yaml").read_text(encoding="utf-8")
    assert routing_key_sha256(KEY) in text and f"routing_keys: [{KEY}]" not in text
    (entry,) = shipped_config.directory.service("checkout").routing_keys
    assert (entry.sha256, entry.demo) == (routing_key_sha256(KEY), True)
    assert shipped_config.directory.demo_keys_only()


def test_a_demo_key_is_refused_unless_demo_keys_are_accepted(shipped_config: FirebellConfig) -> None:
    # Given the shipped directory, as a deployed function loads it, then the demo key is refused
    with pytest.raises(DemoRoutingKeyRefused, match="accepted only by the local runtime"):
        shipped_config.directory.service_for_routing_key(KEY)
    # And as the local runtime loads it, the demo key finds its service; an unknown key finds none
    local = shipped_config.accepting_demo_keys()
    assert local.directory.service_for_routing_key(KEY).id == "checkout"
    assert local.directory.service_for_routing_key(KEY.lower()) is None
    # And the stored hash itself is no key: presenting it finds nothing
    assert local.directory.service_for_routing_key(routing_key_sha256(KEY)) is None


def test_a_generated_key_works_everywhere_and_is_stored_nowhere(config_dir: Path) -> None:
    # Given a key made by the CLI, its entry added to the checkout service
    key, sha256 = new_key_entry()
    assert sha256 == routing_key_sha256(key)
    edit(config_dir / "firebell.yaml", lambda d: d["services"][0]["routing_keys"].append({"sha256": sha256}))
    # Then the deployed loader finds checkout by it, and the config no longer has only demo keys
    config = load_config(config_dir)
    assert config.directory.service_for_routing_key(key).id == "checkout"
    assert not config.directory.demo_keys_only()
    assert key not in (config_dir / "firebell.yaml").read_text(encoding="utf-8")
    # And two runs never make the same key
    assert new_key_entry()[0] != key


def test_hash_reads_the_key_from_stdin() -> None:
    out = io.StringIO()
    assert keys.main(["hash"], stdin=io.StringIO(KEY + "\n"), out=out) == 0
    assert f"- {{ sha256: {routing_key_sha256(KEY)} }}" in out.getvalue()
    assert KEY not in out.getvalue()


def test_a_plain_key_in_config_is_refused_without_being_echoed(config_dir: Path) -> None:
    # Given someone pasted a key itself into config/firebell.yaml
    pasted = "PASTEDKEY0123456789abcdef0123456"
    edit(config_dir / "firebell.yaml", lambda d: d["services"][0].update(routing_keys=[pasted]))
    # Then loading names the entry and how to fix it, and never repeats the key
    message = load_error(config_dir)
    assert "services[0].routing_keys[0]: is a routing key in plain text: store only its SHA-256" in message
    assert pasted not in message


def test_a_key_identifies_one_service(config_dir: Path) -> None:
    def second_service_with_the_same_key(d):
        d["services"].append(
            {"id": "billing", "team": "platform", "routing_keys": [{"sha256": routing_key_sha256(KEY)}]}
        )

    edit(config_dir / "firebell.yaml", second_service_with_the_same_key)
    assert "services[1].routing_keys[0]: listed before, for service 'checkout'" in load_error(config_dir)


def test_accepting_demo_keys_leaves_the_loaded_config_as_it_was(shipped_config: FirebellConfig) -> None:
    shipped_config.accepting_demo_keys()
    with pytest.raises(DemoRoutingKeyRefused):
        shipped_config.directory.service_for_routing_key(KEY)
