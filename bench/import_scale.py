"""`python -m bench.import_scale`: `firebell import opsgenie` (and pagerduty) on a generated tenant of the size a
migration vendor audited (1,247 schedules; 30,000+ contact methods and notification rules), from saved files and,
with --api, from a stand-in of Opsgenie's API on 127.0.0.1. Writes import.json and import.md
into bench/results/local/ (bench/results/ with --save; --out FOLDER anywhere)."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import output

SCHEDULES = 1247
USERS = 6000  # 3 contact methods and 3 notification rules each: 36,000
TEAMS = 250
INTEGRATIONS = 500
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _write(folder: Path, path: str, answer: Any) -> None:
    file = folder / (path.strip("/") + ".json")
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(answer), "utf-8")


def _answer(data: Any) -> dict[str, Any]:
    return {"data": data, "took": 0.01, "requestId": "bench"}


def opsgenie_tenant(folder: Path) -> dict[str, int]:
    """Opsgenie's answers (opsgenie-go-sdk-v2's shapes, as tests/fixtures/import/opsgenie) for a large tenant."""
    users = [
        {
            "id": f"u{i}",
            "username": f"user{i}@example.com",
            "fullName": f"User {i}",
            "role": {"name": "User"},
            "timeZone": ("Europe/London", "America/New_York", "Asia/Tokyo")[i % 3],
        }
        for i in range(USERS)
    ]
    users[0]["role"] = {"name": "Owner"}
    pages = []
    for offset in range(0, USERS, 100):
        paging = (
            {"next": f"https://api.opsgenie.com/v2/users?limit=100&offset={offset + 100}"}
            if offset + 100 < USERS
            else {}
        )
        pages.append({"data": users[offset : offset + 100], "paging": paging, "totalCount": USERS})
    _write(folder, "users", pages)
    contacts = rules = 0
    for i, user in enumerate(users):
        number = f"44-77009{i:05d}"
        _write(
            folder,
            f"users/{user['id']}/contacts",
            _answer(
                [
                    {"id": f"c{i}e", "method": "email", "to": user["username"], "status": {"enabled": True}},
                    {"id": f"c{i}s", "method": "sms", "to": number, "status": {"enabled": True}},
                    {"id": f"c{i}v", "method": "voice", "to": number, "status": {"enabled": True}},
                ]
            ),
        )
        contacts += 3
        steps = [
            {"sendAfter": {"timeAmount": 0, "timeUnit": "minutes"}, "contact": {"method": "sms", "to": number}},
            {"sendAfter": {"timeAmount": 0, "timeUnit": "minutes"}, "contact": {"method": "email", "to": "x"}},
            {"sendAfter": {"timeAmount": 5, "timeUnit": "minutes"}, "contact": {"method": "voice", "to": number}},
        ]
        full = [
            {
                "id": f"n{i}a",
                "name": "New alert",
                "actionType": "create-alert",
                "order": 1,
                "enabled": True,
                "criteria": {"type": "match-all"},
                "steps": steps,
            },
            {
                "id": f"n{i}b",
                "name": "P5",
                "actionType": "create-alert",
                "order": 0,
                "enabled": True,
                "criteria": {
                    "type": "match-any-condition",
                    "conditions": [{"field": "priority", "operation": "equals", "expectedValue": "P5"}],
                },
                "steps": steps[1:2],
            },
            {"id": f"n{i}c", "name": "Shift", "actionType": "schedule-start", "order": 0, "enabled": True},
        ]
        _write(
            folder,
            f"users/{user['id']}/notification-rules",
            _answer([{k: r[k] for k in ("id", "name", "actionType", "order", "enabled")} for r in full]),
        )
        for rule in full[:2]:
            _write(folder, f"users/{user['id']}/notification-rules/{rule['id']}", _answer(rule))
        rules += 3
    schedules, escalations = [], []
    for s in range(SCHEDULES):
        people = [f"u{(s * 4 + k) % USERS}" for k in range(4)]
        week = {
            "type": "weekday-and-time-of-day",
            "restrictions": [
                {"startDay": "monday", "startHour": 9, "startMin": 0, "endDay": "friday", "endHour": 17, "endMin": 0}
            ],
        }
        nights = {"type": "time-of-day", "restriction": {"startHour": 17, "startMin": 0, "endHour": 9, "endMin": 0}}
        schedules.append(
            {
                "id": f"s{s}",
                "name": f"Schedule {s}",
                "timezone": ("Europe/London", "America/New_York")[s % 2],
                "enabled": True,
                "ownerTeam": {"id": f"t{s % TEAMS}"},
                "rotations": [
                    {
                        "id": f"s{s}w",
                        "name": "Week",
                        "startDate": "2026-01-05T09:00:00Z",
                        "type": "weekly",
                        "length": 1,
                        "participants": [{"type": "user", "id": p} for p in people[:3]],
                        "timeRestriction": week,
                    },
                    {
                        "id": f"s{s}n",
                        "name": "Nights",
                        "startDate": "2026-01-01T17:00:00Z",
                        "type": "daily",
                        "length": 1,
                        "participants": [{"type": "user", "id": p} for p in people[2:]],
                        "timeRestriction": nights,
                    },
                ],
            }
        )
        overrides = (
            []
            if s % 3
            else [
                {
                    "alias": f"o{s}",
                    "user": {"type": "user", "id": people[0]},
                    "startDate": "2026-12-24T09:00:00Z",
                    "endDate": "2026-12-27T09:00:00Z",
                    "rotations": [],
                }
            ]
        )
        _write(folder, f"schedules/s{s}/overrides", _answer(overrides))
        escalations.append(
            {
                "id": f"e{s}",
                "name": f"Escalation {s}",
                "ownerTeam": {"id": f"t{s % TEAMS}"},
                "rules": [
                    {
                        "condition": "if-not-acked",
                        "notifyType": "default",
                        "delay": {"timeAmount": 0},
                        "recipient": {"type": "schedule", "id": f"s{s}"},
                    },
                    {
                        "condition": "if-not-acked",
                        "notifyType": "default",
                        "delay": {"timeAmount": 10},
                        "recipient": {"type": "user", "id": people[3]},
                    },
                ],
                "repeat": {"waitInterval": 10, "count": 2},
            }
        )
    _write(folder, "schedules", _answer(schedules))
    _write(folder, "escalations", _answer(escalations))
    teams = [{"id": f"t{t}", "name": f"Team {t}"} for t in range(TEAMS)]
    _write(folder, "teams", _answer(teams))
    per_team = USERS // TEAMS
    for t, team in enumerate(teams):
        members = [
            {"user": {"id": f"u{t * per_team + k}"}, "role": "admin" if k == 0 else "user"} for k in range(per_team)
        ]
        _write(folder, f"teams/t{t}", _answer({**team, "members": members}))
        _write(
            folder,
            f"teams/t{t}/routing-rules",
            _answer(
                [
                    {
                        "id": f"rr{t}",
                        "name": "Default",
                        "isDefault": True,
                        "order": 0,
                        "criteria": {"type": "match-all"},
                        "notify": {"type": "escalation", "id": f"e{t}"},
                    }
                ]
            ),
        )
    _write(
        folder,
        "integrations",
        _answer([{"id": f"i{n}", "name": f"API {n}", "type": "API", "enabled": True} for n in range(INTEGRATIONS)]),
    )
    return {
        "users": USERS,
        "contact methods": contacts,
        "notification rules": rules,
        "schedules": SCHEDULES,
        "rotations": 2 * SCHEDULES,
        "escalations": SCHEDULES,
        "teams": TEAMS,
        "integrations": INTEGRATIONS,
    }


class _Files(BaseHTTPRequestHandler):
    folder: Path
    requests = 0

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests += 1
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p and p != "v2"]
        answer = json.loads(self.folder.joinpath(*parts[:-1], parts[-1] + ".json").read_text())
        if isinstance(answer, list):
            answer = answer[int(dict(urllib.parse.parse_qsl(url.query)).get("offset", "0")) // 100]
        raw = json.dumps(answer).replace(
            "https://api.opsgenie.com", f"http://127.0.0.1:{self.server.server_address[1]}"
        )
        body = raw.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    code = run()
    return time.perf_counter() - started, code


def _phases(folder: Path, config: Path) -> list[tuple[str, float]]:
    from datetime import UTC, datetime

    from firebell.importing import opsgenie, writer
    from firebell.importing.sources import DirectorySource

    as_of = datetime(2026, 10, 20, tzinfo=UTC)
    marks = [time.perf_counter()]
    plan = writer.load_plan(config)
    marks.append(time.perf_counter())
    raw = opsgenie.read(DirectorySource(folder))
    marks.append(time.perf_counter())
    ids = plan.ids("opsgenie")
    imported = opsgenie.convert(raw, ids, as_of)
    outcome = writer.merge(plan, imported, ids, None)
    marks.append(time.perf_counter())
    assert not writer.validate(outcome.document)
    marks.append(time.perf_counter())
    writer.dump_yaml(outcome.document)
    marks.append(time.perf_counter())
    steps = [
        "reading the config file it wrote (PyYAML: libyaml parses, Python builds the objects)",
        "reading the saved answers (a file per GET)",
        "mapping and merging",
        "validating as the functions load it (pydantic)",
        "writing the YAML (libyaml's emitter)",
    ]
    return [(step, marks[i + 1] - marks[i]) for i, step in enumerate(steps)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_scale", description=__doc__)
    parser.add_argument("--api", action="store_true", help="also import through a stand-in API on 127.0.0.1")
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    from firebell.cli import main as cli

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="firebell-import-bench-"))
    try:
        started = time.perf_counter()
        counts = opsgenie_tenant(work / "opsgenie")
        generated = time.perf_counter() - started
        config = work / "out" / "firebell.yaml"
        argv_files = [
            "import",
            "opsgenie",
            "--from-dir",
            str(work / "opsgenie"),
            "--out",
            str(config),
            "--sender",
            "firebell@example.com",
            "--as-of",
            "2026-10-20T00:00:00+00:00",
        ]
        stdout = io.StringIO()
        first, code = _timed(lambda: cli.main(argv_files, stdout, io.StringIO()))
        assert code == 0, stdout.getvalue()
        summary = stdout.getvalue().strip().replace(str(config.parent), "<out>")
        not_mapped = _not_mapped(config.parent / "firebell.opsgenie-import.md")
        text = config.read_text()
        again, code = _timed(lambda: cli.main(argv_files, io.StringIO(), io.StringIO()))
        assert code == 0 and config.read_text() == text, "a re-import changed the file"
        rows = [("from saved files, into a new file", first), ("again, into the file it wrote (the same bytes)", again)]
        phases = _phases(work / "opsgenie", config)
        requests = 0
        if args.api:
            handler = type("Files", (_Files,), {"folder": work / "opsgenie", "requests": 0})
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            api_config = work / "api" / "firebell.yaml"
            argv_api = [
                "import",
                "opsgenie",
                "--token",
                "bench",
                "--api-url",
                f"http://127.0.0.1:{server.server_address[1]}",
                "--out",
                str(api_config),
                "--sender",
                "firebell@example.com",
                "--as-of",
                "2026-10-20T00:00:00+00:00",
            ]
            through_api, code = _timed(lambda: cli.main(argv_api, io.StringIO(), io.StringIO()))
            server.shutdown()
            assert code == 0 and api_config.read_text() == text
            requests = handler.requests
            rows.append((f"through a stand-in API on 127.0.0.1 ({requests:,} GETs, 8 at a time)", through_api))
        size = len(text.encode())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "# Import at the scale of the largest audited Opsgenie tenant",
        "",
        "`python -m bench.import_scale" + (" --api" if args.api else "") + "` (a generated tenant; nothing leaves the "
        "machine). The tenant, shaped as Opsgenie's API answers (tests/fixtures/import/opsgenie/README.md):",
        "",
        *(f"- {kind}: {n:,}" for kind, n in counts.items()),
        "",
        (
            f"Generating the folder of answers took {generated:.1f} s (not counted below). Wall times on this machine "
            f"(2 cores shared with other work; load average {load_before:.1f} when the bench started, "
            f"{os.getloadavg()[0]:.1f} when it ended):"
        ),
        "",
        "| import | wall time |",
        "|---|---|",
        *(f"| {what} | {seconds:.1f} s |" for what, seconds in rows),
        "",
        f"The config written: {size / 1e6:.1f} MB of YAML. The command's summary:",
        "",
        "```text",
        summary,
        "```",
        "",
        "Not mapped, by kind and reason (digits folded to N; each line of the report names its source entry):",
        "",
        "| kind | reason | entries |",
        "|---|---|---:|",
        *(f"| {kind} | {why} | {n:,} |" for (kind, why), n in not_mapped.most_common()),
        "",
        "Where the re-import's time goes (the same steps called one by one):",
        "",
        "| step | wall time |",
        "|---|---|",
        *(f"| {step} | {seconds:.1f} s |" for step, seconds in phases),
        "",
        "Through Opsgenie's real API the time is set by its rate limits (per-minute quotas by plan, answered 429 with",
        "the wait, which the importer honours), not by the importer: one GET per user for contacts, one for the",
        "list of notification rules and one per paging rule, one per team and its routing rules, one per schedule's",
        "overrides" + (f" ({requests:,} here)." if requests else "."),
        "",
    ]
    result = {
        "tenant": counts,
        "wall_seconds": dict(rows),
        "reimport_phases_seconds": dict(phases),
        "config_bytes": size,
        "api_requests": requests,
        "not_mapped": [{"kind": k, "why": w, "entries": n} for (k, w), n in not_mapped.most_common()],
        "summary": summary,
    }
    output.write(output.chosen(args.out, args.save), "import", result, "\n".join(lines))


def _not_mapped(report: Path) -> Counter[tuple[str, str]]:
    """The report's "Not mapped" lines (`- <kind> <id> (<name>): <why>`) counted by kind and reason."""
    section = report.read_text("utf-8").split("## Not mapped", 1)[1].split("\n## ", 1)[0]
    found: Counter[tuple[str, str]] = Counter()
    for line in section.splitlines():
        if line.startswith("- ") and ": " in line and line != "- nothing":
            kind, why = line[2:].split(" ", 1)[0], line.split(": ", 1)[1]
            found[(kind, re.sub(r"\d+", "N", why)[:120])] += 1
    return found


if __name__ == "__main__":
    main()
