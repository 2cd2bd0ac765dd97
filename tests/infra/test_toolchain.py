"""What `make synth` checks and tells (infra/cdk/toolchain.py): the Node.js version against the CDK CLI's `engines`,
and where the templates went."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cdk import toolchain
from infra.cdk.toolchain import CDK_CLI_PACKAGE, check_node, main, parse_version, satisfies, templates


@pytest.mark.parametrize(
    ("version", "npm_range", "expected"),
    [
        ("v20.20.2", ">= 18.0.0", True),
        ("v16.20.2", ">= 18.0.0", False),
        ("v18.0.0", ">=18", True),
        ("v22.1.0", "^22.0.0 || ^24.0.0", True),
        ("v23.0.0", "^22.0.0 || ^24.0.0", False),
        ("v24.3.1", "^22.0.0 || ^24.0.0", True),
        ("v20.11.0", ">=18 <21", True),
        ("v21.0.0", ">=18 <21", False),
        ("v20.19.5", "~20.19", True),
        ("v20.20.0", "~20.19", False),
        ("v20.0.0", "20", True),
        ("v20.0.0", "20.1", False),
    ],
)
def test_npm_ranges(version: str, npm_range: str, expected: bool) -> None:
    assert satisfies(parse_version(version), npm_range) is expected


def test_an_unreadable_version_or_range_is_said_so() -> None:
    with pytest.raises(ValueError, match=r"not a Node\.js version"):
        parse_version("node 20")
    with pytest.raises(ValueError, match="cannot read the version range"):
        satisfies((20, 0, 0), "latest")


def test_the_pinned_cli_s_own_range_decides(tmp_path: Path) -> None:
    package = tmp_path / "package.json"
    package.write_text(json.dumps({"version": "2.1148.1", "engines": {"node": ">= 18.0.0"}}), encoding="utf-8")
    assert check_node(package, node="v22.12.0\n") is None
    problem = check_node(package, node="v16.20.2\n")
    assert problem is not None
    assert problem.startswith("Node.js v16.20.2 cannot run the AWS CDK CLI 2.1148.1: it needs Node.js >= 18.0.0")
    assert "docs/deploy.md#prerequisites" in problem


def test_the_installed_cli_declares_a_range_this_module_reads() -> None:
    wanted = json.loads(CDK_CLI_PACKAGE.read_text(encoding="utf-8"))["engines"]["node"]
    satisfies((22, 0, 0), wanted)  # no ValueError


def test_templates_are_read_from_the_manifest(tmp_path: Path) -> None:
    manifest = {
        "artifacts": {
            "Firebell.assets": {"type": "cdk:asset-manifest", "properties": {"file": "Firebell.assets.json"}},
            "Firebell": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Firebell.template.json"}},
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert templates(tmp_path) == [tmp_path / "Firebell.template.json"]


def test_an_unknown_command_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy"]) == 2
    assert "usage" in capsys.readouterr().err


def test_without_the_cdk_cli_installed_node_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(toolchain, "CDK_CLI_PACKAGE", tmp_path / "node_modules" / "aws-cdk" / "package.json")

    assert main(["node"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("make: the AWS CDK CLI is not installed") and "`make install`" in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_templates_before_any_synth_says_to_synth_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(toolchain, "CLOUD_ASSEMBLY", tmp_path / "cdk.out")

    assert main(["templates"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("make: no cloud assembly in") and "`make synth`" in err and err.count("\n") == 1, err
