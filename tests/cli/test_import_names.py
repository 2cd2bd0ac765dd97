"""What an import calls things: counts in its summary."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from firebell.cli import main as cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
AS_OF = "2026-01-10T00:00:00+00:00"


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
