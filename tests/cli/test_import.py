"""`firebell import`: from saved files and from a stand-in of each vendor's API on 127.0.0.1 (paginated, with a 429),
twice (the same file, nothing duplicated), beside entries added by hand, and on hostile input (a clear error naming
the field, never a traceback)."""

from __future__ import annotations

import io
import json
import shutil
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from firebell.cli import main as cli
from firebell.domain.directory import Directory
from firebell.domain.routing_keys import routing_key_sha256
from firebell.importing.sources import retry_after_seconds

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
AS_OF = "2026-01-10T00:00:00+00:00"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def import_from(vendor: str, folder: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run("import", vendor, "--from-dir", str(folder), "--out", str(out), "--as-of", AS_OF, *extra)


def written(path: Path) -> Directory:
    return Directory.model_validate(yaml.safe_load(path.read_text()))


# --- from files --------------------------------------------------------------------------------------------------


def test_pagerduty_from_files(tmp_path: Path) -> None:
    out = tmp_path / "firebell.yaml"
    code, stdout, stderr = import_from("pagerduty", FIXTURES / "pagerduty", out, "--sender", "fb@example.com")
    assert code == 0, stderr
    assert "read from pagerduty: 7 users" in stdout and "wrote: 7 people, 3 schedules" in stdout
    directory = written(out)
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())["pagerduty"]
    platform = directory.schedule(ids["schedules:PSCHED1"])
    assert platform is not None
    # Layer 1 (weekly) at the bottom, the restricted business-hours layer on top; the ended layer left out
    assert [layer.name for layer in platform.layers] == ["weekly", "business-hours"]
    assert len(platform.layers[1].restrictions) == 5
    policy = next(p for p in directory.escalation_policies if p.id == ids["escalation_policies:PEP0002"])
    assert policy.repeat == 9 and [level.delay_minutes for level in policy.levels] == [5, 10]
    checkout = directory.service(ids["services:PSVC001"])
    assert checkout is not None
    assert [k.sha256 for k in checkout.routing_keys] == [routing_key_sha256("8f2a1c4e9b7d40e6a3c5b1d2e4f60718")]
    alice = directory.person(ids["people:PAL1CE0"])
    assert alice is not None and alice.phone == "+447700900001" and alice.notification_rules is not None
    follow_up = alice.notification_rules.high.follow_up
    assert follow_up is not None and (follow_up.every_minutes, follow_up.times) == (5, 2)
    report = (tmp_path / "firebell.pagerduty-import.md").read_text()
    for expected in ("repeats 12 times", "round robin", "aws_cloudwatch_inbound_integration", "push_notification"):
        assert expected in report


def test_opsgenie_from_files(tmp_path: Path) -> None:
    out = tmp_path / "firebell.yaml"
    code, _stdout, stderr = import_from("opsgenie", FIXTURES / "opsgenie", out, "--sender", "fb@example.com")
    assert code == 0, stderr
    directory = written(out)
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())["opsgenie"]
    ops = next(p for p in directory.escalation_policies if p.id == ids["escalation_policies:e-ops"])
    # rules at 0 (the schedule: both its rotations), 5 (two people) and 15 minutes (a team: reported); repeat 2
    assert [sorted(t.ref for t in level.targets) for level in ops.levels] == [
        sorted([ids["schedules:r-ops-week"], ids["schedules:r-ops-nights"]]),
        sorted([ids["people:u-ben"], ids["people:u-dan"]]),
    ]
    assert [level.delay_minutes for level in ops.levels] == [5, 10] and ops.repeat == 2
    web = next(p for p in directory.escalation_policies if p.id == ids["escalation_policies:e-web"])
    assert [level.delay_minutes for level in web.levels] == [58, 30]  # at 2 and 60 minutes; then 30 to the managers
    teams = {t.id: t for t in directory.teams}
    assert teams[ids["teams:t-ops"]].incident_managers == [ids["people:u-ben"]]  # the team admin
    assert teams[ids["teams:t-web"]].incident_managers == [ids["people:u-ada"]]  # no admin: the account owner
    report = (tmp_path / "firebell.opsgenie-import.md").read_text()
    assert "conditions other than priority" in report and "a team recipient" in report and "notifies the next" in report
    # routing by hours and priority: a rule to nobody overnight for P4/P5, office hours to the Web schedule
    quiet = teams[ids["teams:t-ops"]].routing_rules[0]
    assert (quiet.escalation_policy, [p.value for p in quiet.priorities or []]) == (None, ["P4", "P5"])
    office = teams[ids["teams:t-web"]].routing_rules[0]
    assert office.escalation_policy == ids["escalation_policies:routing:t-web:s-web"]


# --- idempotency and hand edits ----------------------------------------------------------------------------------


def test_importing_twice_writes_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "firebell.yaml"
    for vendor in ("pagerduty", "opsgenie"):
        assert import_from(vendor, FIXTURES / vendor, out, "--sender", "fb@example.com")[0] == 0
        first = out.read_text()
        assert import_from(vendor, FIXTURES / vendor, out)[0] == 0
        assert out.read_text() == first
    document = yaml.safe_load(out.read_text())
    for kind in ("people", "schedules", "escalation_policies", "teams", "services"):
        entries = [e["id"] for e in document[kind]]
        assert len(entries) == len(set(entries)), kind
    # both vendors' entries side by side, each import keeping the other's (alice from PagerDuty, ada from Opsgenie)
    assert {"alice", "ada"} <= {p["id"] for p in document["people"]}


def test_hand_added_entries_survive_and_ids_stay(tmp_path: Path) -> None:
    source = tmp_path / "pd"
    shutil.copytree(FIXTURES / "pagerduty", source)
    out = tmp_path / "firebell.yaml"
    assert import_from("pagerduty", source, out, "--sender", "fb@example.com")[0] == 0
    document = yaml.safe_load(out.read_text())
    document["people"].append({"id": "zed", "name": "Zed Contractor", "email": "zed@example.com"})
    document["services"].append({"id": "billing", "team": "payments", "alarm_name_prefixes": ["billing-"]})
    alice = next(p for p in document["people"] if p["id"] == "alice")
    alice["slack_user_id"] = "U0ALICE01"
    alice["roles"] = ["responder"]  # demoted by hand: kept
    document["teams"][0]["stakeholders"] = ["zed"]
    document["teams"][0]["routing_rules"] = [  # PagerDuty has no team routing: a rule added by hand stays
        {
            "name": "weekends",
            "time_zone": "Europe/London",
            "escalation_policy": "payments",
            "restrictions": [
                {"type": "weekly", "start_day": "sat", "start": "00:00", "end_day": "mon", "end": "00:00"}
            ],
        }
    ]
    out.write_text(yaml.safe_dump(document, sort_keys=False))
    # in PagerDuty meanwhile: Alice renamed, Gus deleted
    pages = json.loads((source / "users.json").read_text())
    pages[0]["users"][0]["name"] = "Alice Ops-Smith"
    pages[1]["users"] = [u for u in pages[1]["users"] if u["id"] != "PGUS000"]
    (source / "users.json").write_text(json.dumps(pages))
    for layer in json.loads((source / "schedules" / "PSCHED3.json").read_text())["schedule"]["schedule_layers"]:
        assert layer  # (gus is on PSCHED3's weekend layer: he is left out of its turn, and reported)
    code, stdout, stderr = import_from("pagerduty", source, out)
    assert code == 0, stderr
    assert "removed (gone from pagerduty): 1" in stdout
    after = written(out)
    alice_after = after.person("alice")
    assert alice_after is not None and alice_after.name == "Alice Ops-Smith"
    assert alice_after.slack_user_id == "U0ALICE01" and [r.value for r in alice_after.roles] == ["responder"]
    assert after.person("zed") is not None and after.person("gus") is None
    assert after.service("billing") is not None and after.team("platform-sre").stakeholders == ["zed"]
    assert [rule.name for rule in after.team("platform-sre").routing_rules] == ["weekends"]
    assert "member PGUS000 is not among the users read" in (tmp_path / "firebell.pagerduty-import.md").read_text()


def test_an_import_that_does_not_validate_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "firebell.yaml"
    out.write_text(
        "notifications: {sender: fb@example.com}\nteams:\n  - {id: x, name: X, escalation_policy: nope, "
        "incident_managers: [nobody]}\n"
    )
    before = out.read_text()
    code, _, stderr = import_from("pagerduty", FIXTURES / "pagerduty", out)
    assert code == 1 and "unknown policy 'nope'" in stderr and "Traceback" not in stderr
    assert out.read_text() == before and not (tmp_path / "firebell.import-ids.json").exists()


def test_a_refused_import_into_a_new_folder_writes_its_report_only(tmp_path: Path) -> None:
    source = tmp_path / "pagerduty"
    shutil.copytree(FIXTURES / "pagerduty", source)
    _edit(  # two users of one email, as PagerDuty allows by case: firebell refuses the merged file
        "users.json",
        lambda pages: [
            {
                **pages[0],
                "users": [
                    pages[0]["users"][0],
                    {**pages[0]["users"][1], "email": pages[0]["users"][0]["email"].upper()},
                ],
            },
            *pages[1:],
        ],
    )(source)
    out = tmp_path / "new" / "firebell.yaml"
    code, stdout, stderr = import_from("pagerduty", source, out, "--sender", "fb@example.com")
    assert code == 1 and "Traceback" not in stderr and "one email, one person" in stderr
    assert "would write:" in stdout and "wrote:" not in stdout
    assert not out.exists() and (out.parent / "firebell.pagerduty-import.md").exists()


def test_layers_of_one_name_and_a_vast_turn(tmp_path: Path) -> None:
    source = tmp_path / "pagerduty"
    shutil.copytree(FIXTURES / "pagerduty", source)

    def rename_and_stretch(d: Any) -> Any:
        layers = d["schedule"]["schedule_layers"]
        layers[0]["name"] = layers[1]["name"]  # PagerDuty does not keep layer names distinct
        layers[2]["end"] = None
        layers[2]["rotation_turn_length_seconds"] = 3600 * 10**20
        return d

    _edit("schedules/PSCHED1.json", rename_and_stretch)(source)
    out = tmp_path / "firebell.yaml"
    code, _, stderr = import_from("pagerduty", source, out, "--sender", "fb@example.com")
    assert code == 0, stderr
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())["pagerduty"]
    layers = written(out).schedule(ids["schedules:PSCHED1"]).layers
    assert [layer.name for layer in layers] == ["weekly", "weekly-2"]
    assert (
        "Old weekly): a turn of 360000000000000000000000 seconds is longer than a year"
        in (tmp_path / "firebell.pagerduty-import.md").read_text()
    )


def test_an_opsgenie_default_rule_to_nobody_is_a_last_rule_paging_nobody(tmp_path: Path) -> None:
    source = tmp_path / "opsgenie"
    shutil.copytree(FIXTURES / "opsgenie", source)

    def default_to_nobody(answer: Any) -> Any:
        for rule in answer["data"]:
            if rule["isDefault"]:
                rule["notify"] = {"type": "none"}
        return answer

    _edit("teams/t-web/routing-rules.json", default_to_nobody)(source)
    out = tmp_path / "firebell.yaml"
    code, _, stderr = import_from("opsgenie", source, out, "--sender", "fb@example.com")
    assert code == 0, stderr
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())["opsgenie"]
    last = written(out).team(ids["teams:t-web"]).routing_rules[-1]
    assert (last.name, last.page_nobody, last.escalation_policy) == ("default: nobody", True, None)


def test_a_file_written_by_an_import_without_its_ids_is_refused(tmp_path: Path) -> None:
    first = tmp_path / "first" / "firebell.yaml"
    assert import_from("pagerduty", FIXTURES / "pagerduty", first, "--sender", "fb@example.com")[0] == 0
    copied = tmp_path / "config" / "firebell.yaml"  # the config copied without its firebell.import-ids.json
    copied.parent.mkdir()
    shutil.copy(first, copied)
    code, _, stderr = import_from("pagerduty", FIXTURES / "pagerduty", copied)
    assert code == 1 and "firebell.import-ids.json" in stderr and "Traceback" not in stderr
    assert copied.read_text() == first.read_text()
    shutil.copy(first.with_name("firebell.import-ids.json"), copied.with_name("firebell.import-ids.json"))
    assert import_from("pagerduty", FIXTURES / "pagerduty", copied)[0] == 0
    assert copied.read_text() == first.read_text()


@pytest.mark.parametrize(
    ("vendor", "path", "field"),
    [
        ("pagerduty", "schedules/PSCHED1/overrides.json", ("overrides", "start", "end")),
        ("opsgenie", "schedules/s-ops/overrides.json", ("data", "startDate", "endDate")),
    ],
)
def test_an_override_ending_before_it_starts_is_reported(
    vendor: str, path: str, field: tuple[str, str, str], tmp_path: Path
) -> None:
    listed, start, end = field

    def reverse(answer: Any) -> Any:
        pages = answer if isinstance(answer, list) else [answer]
        first = pages[0][listed][0]
        first[start], first[end] = first[end], first[start]
        return answer

    source = tmp_path / vendor
    shutil.copytree(FIXTURES / vendor, source)
    _edit(path, reverse)(source)
    out = tmp_path / "firebell.yaml"
    code, _, stderr = import_from(vendor, source, out, "--sender", "fb@example.com")
    assert code == 0, stderr
    assert "before it starts" in (tmp_path / f"firebell.{vendor}-import.md").read_text()


def test_a_new_file_needs_a_sender(tmp_path: Path) -> None:
    code, _, stderr = import_from("opsgenie", FIXTURES / "opsgenie", tmp_path / "new.yaml")
    assert code == 1 and "--sender" in stderr


# --- hostile input ------------------------------------------------------------------------------------------------


def _edit(path: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        file = folder / path
        file.write_text(json.dumps(change(json.loads(file.read_text()))))

    return apply


def _drop(obj: dict[str, Any], key: str) -> dict[str, Any]:
    obj.pop(key)
    return obj


HOSTILE: list[tuple[str, str, Callable[[Path], None], str]] = [
    (
        "pagerduty",
        "user without email",
        _edit("users.json", lambda p: [{**p[0], "users": [_drop(p[0]["users"][0], "email")]}]),
        "users[0].email: missing",
    ),
    (
        "pagerduty",
        "turn length a string",
        _edit(
            "schedules/PSCHED1.json",
            lambda d: {
                "schedule": {
                    **d["schedule"],
                    "schedule_layers": [
                        {**d["schedule"]["schedule_layers"][0], "rotation_turn_length_seconds": "weekly"}
                    ],
                }
            },
        ),
        "rotation_turn_length_seconds: expected an integer, got str",
    ),
    (
        "pagerduty",
        "rules not a list",
        _edit(
            "escalation_policies.json",
            lambda p: [
                {**p[0], "escalation_policies": [{**p[0]["escalation_policies"][0], "escalation_rules": {"a": 1}}]}
            ],
        ),
        "escalation_rules: expected a list",
    ),
    (
        "pagerduty",
        "weekday 9",
        _edit(
            "schedules/PSCHED3.json",
            lambda d: {
                "schedule": {
                    **d["schedule"],
                    "schedule_layers": [
                        {
                            **d["schedule"]["schedule_layers"][0],
                            "restrictions": [
                                {**d["schedule"]["schedule_layers"][0]["restrictions"][0], "start_day_of_week": 9}
                            ],
                        }
                    ],
                }
            },
        ),
        "start_day_of_week: 9 is not 1 (Monday) to 7 (Sunday)",
    ),
    (
        "pagerduty",
        "a page that is a list of numbers",
        _edit("teams.json", lambda p: [1, 2]),
        "page [0]: expected a JSON object",
    ),
    (
        "opsgenie",
        "startDate not a date",
        _edit(
            "schedules.json",
            lambda d: {
                **d,
                "data": [{**d["data"][0], "rotations": [{**d["data"][0]["rotations"][0], "startDate": "yesterday"}]}],
            },
        ),
        "rotations[0].startDate: 'yesterday' is not an ISO 8601 date-time",
    ),
    (
        "opsgenie",
        "data an object",
        _edit("escalations.json", lambda d: {**d, "data": {"id": "e"}}),
        "data: expected a list, got dict",
    ),
    (
        "opsgenie",
        "restriction hour 25",
        _edit(
            "schedules.json",
            lambda d: {
                **d,
                "data": [
                    {
                        **d["data"][0],
                        "rotations": [
                            {
                                **d["data"][0]["rotations"][1],
                                "timeRestriction": {
                                    "type": "time-of-day",
                                    "restriction": {"startHour": 25, "startMin": 0, "endHour": 9, "endMin": 0},
                                },
                            }
                        ],
                    }
                ],
            },
        ),
        "startHour: 25:00 is not a time of day",
    ),
    (
        "pagerduty",
        "a virtual start in year 1",
        _edit(
            "schedules/PSCHED1.json",
            lambda d: {
                "schedule": {
                    **d["schedule"],
                    "schedule_layers": [
                        {
                            **d["schedule"]["schedule_layers"][0],
                            "rotation_virtual_start": "0001-01-01T00:00:00+01:00",
                        }
                    ],
                }
            },
        ),
        "rotation_virtual_start: '0001-01-01T00:00:00+01:00' is out of range",
    ),
    ("opsgenie", "not JSON", lambda folder: (folder / "teams.json").write_text("{oops"), "teams.json: not JSON"),
    ("opsgenie", "a missing file", lambda folder: (folder / "escalations.json").unlink(), "escalations.json: missing"),
    (
        "opsgenie",
        "username a number",
        _edit("users.json", lambda p: [{**p[0], "data": [{**p[0]["data"][0], "username": 42}]}, *p[1:]]),
        "users[0].username: expected a string, got int",
    ),
]


@pytest.mark.parametrize(("vendor", "what", "break_it", "named"), HOSTILE, ids=[h[1] for h in HOSTILE])
def test_hostile_input_names_the_field(
    vendor: str, what: str, break_it: Callable[[Path], None], named: str, tmp_path: Path
) -> None:
    source = tmp_path / vendor
    shutil.copytree(FIXTURES / vendor, source)
    break_it(source)
    out = tmp_path / "firebell.yaml"
    code, _, stderr = import_from(vendor, source, out, "--sender", "fb@example.com")
    assert code == 1, what
    assert named in stderr and "Traceback" not in stderr
    assert not out.exists()


def test_usage_errors(tmp_path: Path) -> None:
    code, _, stderr = run("import", "pagerduty", "--from-dir", str(FIXTURES), "--out", "x.yaml", "--as-of", "soon")
    assert code == 2 and "--as-of" in stderr
    with pytest.raises(SystemExit) as both:
        run("import", "pagerduty", "--from-dir", "a", "--token", "t", "--out", "x.yaml")
    assert both.value.code == 2


def test_help_reads_well(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run("import", "opsgenie", "--help")
    shown = capsys.readouterr().out
    assert done.value.code == 0
    for expected in ("--from-dir DIR", "$OPSGENIE_API_KEY", "api.eu.opsgenie.com", "examples:", "docs/importing.md"):
        assert expected in shown


# --- the stand-in APIs ----------------------------------------------------------------------------------------------


class StandIn(BaseHTTPRequestHandler):
    """Answers GETs from a fixture folder as the vendor would: the page a request's offset asks for, a 429 with
    Retry-After on the first request for users, 401 without the right authorization header."""

    folder: Path
    authorization: str
    seen: list[str]
    refused_once: set[str]

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        self.seen.append(self.path)
        if self.headers.get("Authorization") != self.authorization:
            return self._answer(401, {"error": {"message": "Unauthorized", "code": 2006}})
        if url.path.endswith("/users") and "users" not in self.refused_once:
            self.refused_once.add("users")
            return self._answer(429, {"message": "Rate limit exceeded"}, {"Retry-After": "0"})
        parts = [p for p in url.path.split("/") if p and p not in ("v1", "v2")]
        file = self.folder.joinpath(*parts[:-1], parts[-1] + ".json")
        if not file.is_file():
            return self._answer(404, {"error": {"message": "Not Found"}})
        answer = json.loads(file.read_text())
        if isinstance(answer, list):  # the pages of a list: the one the offset names
            offset = int(query.get("offset", "0"))
            size = len(answer[0].get("users") or answer[0].get("data") or [1])
            answer = answer[min(offset // max(size, 1), len(answer) - 1)]
        raw = json.dumps(answer).replace(
            "https://api.opsgenie.com", f"http://127.0.0.1:{self.server.server_address[1]}"
        )
        self._answer(200, json.loads(raw))

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def stand_in() -> Iterator[Callable[[str, str], tuple[str, type[StandIn]]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(vendor: str, authorization: str) -> tuple[str, type[StandIn]]:
        handler = type(
            "Vendor",
            (StandIn,),
            {"folder": FIXTURES / vendor, "authorization": authorization, "seen": [], "refused_once": set()},
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("vendor", "authorization", "variable"),
    [("pagerduty", "Token token=pd-read-only", "PAGERDUTY_TOKEN"), ("opsgenie", "GenieKey og-key", "OPSGENIE_API_KEY")],
)
def test_from_the_api_equals_from_files(
    vendor: str, authorization: str, variable: str, stand_in: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, handler = stand_in(vendor, authorization)
    monkeypatch.setenv(variable, authorization.split()[-1].removeprefix("token="))
    from_api, from_files = tmp_path / "api" / "firebell.yaml", tmp_path / "files" / "firebell.yaml"
    common = ["--as-of", AS_OF, "--sender", "fb@example.com"]
    code, _stdout, stderr = run("import", vendor, "--token", "--api-url", base, "--out", str(from_api), *common)
    assert code == 0, stderr
    assert import_from(vendor, FIXTURES / vendor, from_files, "--sender", "fb@example.com")[0] == 0
    assert from_api.read_text() == from_files.read_text()
    users = [p for p in handler.seen if urllib.parse.urlsplit(p).path.endswith("/users")]
    assert len(users) == 3  # refused once (429), then both pages of users
    assert any("offset=4" in p for p in users)


def test_a_wrong_token_is_a_clear_refusal(stand_in: Any, tmp_path: Path) -> None:
    base, _ = stand_in("pagerduty", "Token token=right")
    code, _, stderr = run(
        "import",
        "pagerduty",
        "--token",
        "wrong",
        "--api-url",
        base,
        "--out",
        str(tmp_path / "f.yaml"),
        "--sender",
        "fb@example.com",
    )
    assert code == 1 and "HTTP 401 (check the token)" in stderr and "Traceback" not in stderr


def test_retry_after() -> None:
    assert retry_after_seconds("3", 0) == 3.0
    assert retry_after_seconds(None, 2) == 2.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 0) == 0.0  # a date in the past: at once
    assert retry_after_seconds("9999", 0) == 60.0


def test_a_config_file_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    out = tmp_path / "firebell.yaml"
    out.write_text("notifications: {sender: fb@example.com}\npeople: 42\n")
    code, _, stderr = import_from("pagerduty", FIXTURES / "pagerduty", out)
    assert code == 1 and "people: expected a list of entries" in stderr and "Traceback" not in stderr
    out.write_text("people: [unclosed\n")
    code, _, stderr = import_from("pagerduty", FIXTURES / "pagerduty", out)
    assert code == 1 and "not valid YAML" in stderr


def test_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "firebell.yaml"
    code, stdout, _ = import_from("opsgenie", FIXTURES / "opsgenie", out, "--sender", "fb@example.com", "--dry-run")
    assert code == 0 and "would write: 6 people" in stdout
    assert list(tmp_path.iterdir()) == []


def test_notification_steps_become_follow_ups() -> None:
    from firebell.domain.notification_rules import NotificationRules
    from firebell.importing.common import Imported, follow_ups

    out = Imported("pagerduty")
    even = follow_ups("P1", "Ann", {"high": [(0, "email"), (5, "sms"), (10, "sms")], "low": [(0, "email")]}, out)
    assert even == {
        "high": {"via": ["email"], "follow_up": {"every_minutes": 5, "times": 2, "via": ["sms"]}},
        "low": {"via": ["email"]},
    }
    uneven = follow_ups("P2", "Bo", {"high": [(0, "sms"), (3, "email"), (10, "sms")], "low": []}, out)
    assert uneven is not None and uneven["high"]["follow_up"] == {
        "every_minutes": 3,
        "times": 2,
        "via": ["email", "sms"],
    }
    assert uneven["low"] == {"via": []}  # no low-urgency rule in the source: low urgency reaches nobody there too
    nothing_high = follow_ups("P3", "Cy", {"high": [], "low": [(0, "email")]}, out)
    assert nothing_high is not None and nothing_high["high"] == {"via": ["sms", "email"]}
    assert follow_ups("P4", "Di", {"high": [(0, "sms"), (0, "email")], "low": [(0, "email"), (0, "sms")]}, out) is None
    for rules in (even, uneven, nothing_high):
        NotificationRules.model_validate(rules)  # what the config will hold
    assert [item.source_id for item in out.not_mapped] == ["P2", "P3"]


def test_a_person_already_in_the_file_is_taken_over_by_email(tmp_path: Path) -> None:
    """The sample config's people, added by hand, include the vendor's: one person, one entry (their roles stay)."""
    out = tmp_path / "firebell.yaml"
    out.write_text(
        "notifications: {sender: fb@example.com}\n"
        "people:\n  - {id: al, name: Al, email: Alice@Example.com, roles: [incident_manager], slack_user_id: U0AL12345}\n"
    )
    code, _, stderr = import_from("pagerduty", FIXTURES / "pagerduty", out)
    assert code == 0, stderr
    directory = written(out)
    assert [p.id for p in directory.people if p.email and p.email.lower() == "alice@example.com"] == ["al"]
    al = directory.person("al")
    assert al is not None and al.name == "Alice Ops" and al.slack_user_id == "U0AL12345"
    assert [r.value for r in al.roles] == ["incident_manager"]
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())["pagerduty"]
    assert ids["people:PAL1CE0"] == "al"
    assert import_from("pagerduty", FIXTURES / "pagerduty", out)[0] == 0  # and again: still one
    assert [p.id for p in written(out).people].count("al") == 1


def test_a_user_whose_email_is_not_an_address_comes_over_without_one(tmp_path: Path) -> None:
    source = tmp_path / "pagerduty"
    shutil.copytree(FIXTURES / "pagerduty", source)

    def misspell(pages: Any) -> Any:
        pages[0]["users"][1]["email"] = "bob at example"  # the directory refuses it: SES could not send to it
        return pages

    _edit("users.json", misspell)(source)
    out = tmp_path / "firebell.yaml"
    code, _, stderr = import_from("pagerduty", source, out, "--sender", "fb@example.com")
    assert code == 0, stderr
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())["pagerduty"]
    bob = written(out).person(ids["people:PB0B000"])
    assert bob is not None and bob.email is None and bob.phone == "+12025550102"
    assert "email 'bob at example' is not an address" in (tmp_path / "firebell.pagerduty-import.md").read_text()


def test_a_user_without_notification_rules_is_said_to_get_firebell_s_default(tmp_path: Path) -> None:
    source = tmp_path / "pagerduty"
    shutil.copytree(FIXTURES / "pagerduty", source)

    def no_rules(pages: Any) -> Any:
        pages[0]["users"][1]["notification_rules"] = []
        return pages

    _edit("users.json", no_rules)(source)
    out = tmp_path / "firebell.yaml"
    code, _, stderr = import_from("pagerduty", source, out, "--sender", "fb@example.com")
    assert code == 0, stderr
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())["pagerduty"]
    bob = written(out).person(ids["people:PB0B000"])
    assert bob is not None and bob.notification_rules is None  # firebell's default: SMS and email
    report = (tmp_path / "firebell.pagerduty-import.md").read_text()
    assert "Bob Backend: no notification rules in PagerDuty" in report
