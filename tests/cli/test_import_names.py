"""What an import calls things (ids for names in another script than Latin, counts in its summary), and checking
its output folder with `firebell config validate`."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

from firebell.cli import main as cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
AS_OF = "2026-01-10T00:00:00+00:00"
TEAM = "運用チーム"


def run_import(vendor: str, folder: Path, out: Path) -> str:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = cli.main(
        [
            "import",
            vendor,
            "--from-dir",
            str(folder),
            "--out",
            str(out),
            "--as-of",
            AS_OF,
            "--sender",
            "fb@example.com",
        ],
        stdout,
        stderr,
    )
    assert code == 0, stderr.getvalue()
    return stdout.getvalue()


def ids_of(out: Path, vendor: str) -> dict[str, str]:
    mapping: dict[str, str] = json.loads((out.parent / f"{out.stem}.import-ids.json").read_text())[vendor]
    return mapping


def _page(key: str, items: list[Any]) -> list[dict[str, Any]]:
    return [{key: items, "limit": 100, "offset": 0, "more": False, "total": None}]


def _ref(kind: str, source_id: str) -> dict[str, str]:
    return {"id": source_id, "type": f"{kind}_reference", "summary": source_id}


def pagerduty_one_of_each(folder: Path, name: str) -> Path:
    """A PagerDuty account as saved from its API with one user, schedule, policy, team and service, all `name`d."""
    alice = json.loads((FIXTURES / "pagerduty" / "users.json").read_text())[0]["users"][0]
    files: dict[str, Any] = {
        "users.json": _page("users", [alice]),
        "teams.json": _page("teams", [{"id": "PT1ZX9", "type": "team", "name": name}]),
        "teams/PT1ZX9/members.json": _page("members", [{"user": _ref("user", alice["id"]), "role": "responder"}]),
        "schedules.json": _page("schedules", [{"id": "P1A2B3C", "type": "schedule", "name": name}]),
        "schedules/P1A2B3C.json": {
            "schedule": {
                "id": "P1A2B3C",
                "type": "schedule",
                "name": name,
                "time_zone": "Asia/Tokyo",
                "schedule_layers": [
                    {
                        "id": "PL1",
                        "name": "週次",
                        "start": "2026-01-01T09:00:00+09:00",
                        "end": None,
                        "rotation_virtual_start": "2026-01-01T09:00:00+09:00",
                        "rotation_turn_length_seconds": 7 * 86400,
                        "users": [{"user": _ref("user", alice["id"])}],
                        "restrictions": [],
                    }
                ],
            }
        },
        "schedules/P1A2B3C/overrides.json": {"overrides": []},
        "escalation_policies.json": _page(
            "escalation_policies",
            [
                {
                    "id": "PEPJP01",
                    "type": "escalation_policy",
                    "name": name,
                    "num_loops": 0,
                    "escalation_rules": [
                        {"id": "PR1", "escalation_delay_in_minutes": 10, "targets": [_ref("schedule", "P1A2B3C")]}
                    ],
                    "services": [_ref("service", "PSVJP01")],
                    "teams": [_ref("team", "PT1ZX9")],
                }
            ],
        ),
        "services.json": _page(
            "services",
            [
                {
                    "id": "PSVJP01",
                    "type": "service",
                    "name": name,
                    "status": "active",
                    "escalation_policy": _ref("escalation_policy", "PEPJP01"),
                    "teams": [_ref("team", "PT1ZX9")],
                    "integrations": [],
                }
            ],
        ),
    }
    for path, content in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(json.dumps(content, ensure_ascii=False), "utf-8")
    return folder


def test_the_summary_counts_one_of_a_kind_in_the_singular(tmp_path: Path) -> None:
    stdout = run_import("pagerduty", pagerduty_one_of_each(tmp_path / "pd", "Ops"), tmp_path / "firebell.yaml")
    assert "read from pagerduty: 1 user, 4 contact methods, 6 notification rules, 1 schedule, 1 schedule layer," in (
        stdout
    )
    assert "wrote: 1 person, 1 schedule, 1 escalation policy, 1 team, 1 service\n" in stdout


def test_pagerduty_names_without_latin_letters_get_the_kind_and_the_source_id(tmp_path: Path) -> None:
    out = tmp_path / "firebell.yaml"
    run_import("pagerduty", pagerduty_one_of_each(tmp_path / "pd", TEAM), out)
    expected = {
        "schedules:P1A2B3C": "schedule-p1a2b3c",
        "escalation_policies:PEPJP01": "policy-pepjp01",
        "teams:PT1ZX9": "team-pt1zx9",
        "services:PSVJP01": "service-psvjp01",
    }
    assert ids_of(out, "pagerduty").items() >= expected.items()
    run_import("pagerduty", tmp_path / "pd", out)  # again: the same ids, nothing added
    assert ids_of(out, "pagerduty").items() >= expected.items()
    assert f"name: {TEAM}" in out.read_text("utf-8") and "schedule-p1a2b3c-2" not in out.read_text("utf-8")


def test_opsgenie_names_without_latin_letters_get_the_kind_and_the_source_id(tmp_path: Path) -> None:
    folder = tmp_path / "og"
    shutil.copytree(FIXTURES / "opsgenie", folder)
    renamed = {
        "Ops": TEAM,
        "Ops schedule": "運用当番",
        "Working week": "平日",
        "Ops escalation": "運用エスカレーション",
    }
    for path in folder.rglob("*.json"):
        text = path.read_text("utf-8")
        for old, new in renamed.items():
            text = text.replace(f'"name": "{old}"', f'"name": "{new}"')
        path.write_text(text, "utf-8")
    out = tmp_path / "firebell.yaml"

    run_import("opsgenie", folder, out)

    ids = ids_of(out, "opsgenie")
    assert ids["teams:t-ops"] == "team-t-ops"
    assert ids["escalation_policies:e-ops"] == "policy-e-ops"
    assert ids["schedules:r-ops-week"] == "schedule-r-ops-week"
    assert ids["schedules:r-ops-nights"] == "nights"  # a name with Latin letters keeps its slug


def test_config_validate_on_an_imports_folder_says_to_copy_the_rules_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "imported" / "firebell.yaml"
    run_import("pagerduty", pagerduty_one_of_each(tmp_path / "pd", "Ops"), out)

    def validate() -> tuple[int, str, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        code = cli.main(["config", "validate", str(out.parent)], stdout, stderr)
        return code, stdout.getvalue(), stderr.getvalue()

    code, _, stderr = validate()
    assert code == 1
    assert "firebell.yaml is valid (1 person, 1 team, 1 schedule, 1 escalation policy, 1 service)" in stderr
    assert f"copy config/rules.yaml into {out.parent}" in stderr
    shutil.copy(Path(__file__).parents[2] / "config" / "rules.yaml", out.parent)
    code, stdout, stderr = validate()
    assert code == 0, stderr
    assert stdout == f"{out.parent}: valid — 1 person, 1 team, 1 schedule, 1 escalation policy, 1 service\n"


def test_config_validate_names_a_problem_of_a_firebell_yaml_without_rules(tmp_path: Path) -> None:
    (tmp_path / "firebell.yaml").write_text("people: []\n")
    stdout, stderr = io.StringIO(), io.StringIO()
    assert cli.main(["config", "validate", str(tmp_path)], stdout, stderr) == 1
    assert "people" in stderr.getvalue() and "rules.yaml" not in stderr.getvalue()
