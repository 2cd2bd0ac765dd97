"""The `firebell` command against stand-ins on 127.0.0.1 (a scripted API, the hosted UI's two endpoints): profiles,
exit codes, output, SigV4 and the Cognito sign-in. tests/e2e/test_cli.py runs it against the local runtime."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from firebell.cli import main as cli
from firebell.cli.client import Api, NotSignedIn, describe_refusal, region_of
from firebell.cli.login import login_cognito, pkce_pair
from firebell.cli.profiles import Profile, TokenStore, load_profile


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("FIREBELL_CONFIG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FIREBELL_PROFILE", raising=False)
    return tmp_path / "home"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


class Recorder(BaseHTTPRequestHandler):
    """An HTTP server answering from a script: (method, path) → (status, body); it records what it got."""

    script: ClassVar[dict[tuple[str, str], tuple[int, Any]]] = {}
    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *_: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(self.path).path
        self.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        status, answer = self.script.get((self.command, path), (404, {"error": "not_found", "message": f"no {path}"}))
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server() -> Iterator[tuple[str, type[Recorder]]]:
    handler = type("Script", (Recorder,), {"script": {}, "seen": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()
    httpd.server_close()


def test_unknown_profile_is_a_usage_error_naming_how_to_make_it():
    code, _, err = run("--profile", "prod", "incidents", "list")
    assert code == 2
    assert "no profile 'prod'" in err and "firebell profile set prod" in err


@pytest.mark.parametrize("endpoint", ["notaurl", "http://[::1", "ftp://example.com", "https://", "http://host:port"])
@pytest.mark.parametrize("command", [("login", "--as", "alice"), ("incidents", "list"), ("oncall", "now")])
def test_an_endpoint_that_is_no_url_is_a_usage_error_naming_the_flag(endpoint, command):
    code, _, err = run("--endpoint", endpoint, *command)
    assert code == 2, err
    assert err.startswith("firebell: --endpoint:") and err.count("\n") == 1 and "Traceback" not in err, err


def test_a_profile_whose_endpoint_is_no_url_is_a_usage_error_naming_the_profile(config_home: Path):
    config_home.mkdir(parents=True)
    (config_home / "config.toml").write_text('[profiles.prod]\nendpoint = "http://[::1"\nauth = "sigv4"\n')

    code, _, err = run("--profile", "prod", "incidents", "list")

    assert code == 2 and "profile 'prod'" in err and "config.toml" in err and "not a URL" in err, err


def test_profile_set_refuses_an_endpoint_that_is_no_url(config_home: Path):
    code, _, err = run("profile", "set", "prod", "--endpoint", "notaurl", "--auth", "sigv4")

    assert code == 2 and "--endpoint" in err, err
    assert not (config_home / "config.toml").exists()


def test_a_profile_set_is_used_by_later_commands(config_home: Path):
    assert (
        run(
            "profile",
            "set",
            "prod",
            "--endpoint",
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/",
            "--auth",
            "sigv4",
            "--aws-profile",
            "ops",
        )[0]
        == 0
    )
    profile = load_profile("prod")
    assert (profile.endpoint, profile.auth, profile.aws_profile) == (
        "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
        "sigv4",
        "ops",
    )
    assert region_of(profile.endpoint) == "eu-west-1"


def test_without_a_sign_in_the_command_says_to_log_in(server):
    url, _ = server
    code, _, err = run("--endpoint", url, "incidents", "list")
    assert code == 3
    assert "firebell login" in err


def test_a_refusal_is_shown_in_the_apis_words_with_exit_code_1(server, config_home):
    url, handler = server
    handler.script[("POST", "/auth/local/sign-in")] = (
        200,
        {"token": "t0k", "person": "dave", "roles": ["viewer"], "expires_at": "2099-01-01T00:00:00Z"},
    )
    handler.script[("GET", "/auth/me")] = (200, {"person": "dave", "roles": ["viewer"], "kind": "person"})
    handler.script[("POST", "/incidents/INC-7/acknowledge")] = (
        403,
        {
            "error": "forbidden",
            "message": "viewer may not acknowledge an incident; needs one of responder, incident_manager, admin",
        },
    )
    assert run("--endpoint", url, "login", "--as", "dave")[0] == 0

    code, _, err = run("--endpoint", url, "ack", "INC-7")

    assert code == 1
    assert "403 forbidden: viewer may not acknowledge an incident" in err
    acknowledge = handler.seen[-1]
    assert acknowledge["headers"]["Authorization"] == "Bearer t0k"
    assert json.loads(acknowledge["body"]) == {}  # the actor is the signed-in person, never a body field


def test_a_server_error_or_no_answer_is_exit_code_4(server, config_home):
    url, handler = server
    TokenStore().put("local", {"token": "t", "endpoint": url})
    handler.script[("GET", "/incidents")] = (503, {"error": "unavailable", "message": "try again"})
    assert run("--endpoint", url, "incidents", "list")[0] == 4
    TokenStore().put("local", {"token": "t", "endpoint": "http://127.0.0.1:9"})
    assert run("--endpoint", "http://127.0.0.1:9", "incidents", "list")[0] == 4


def test_a_sign_in_is_never_sent_to_another_endpoint(server, config_home):
    url, handler = server
    TokenStore().put("local", {"token": "secret-of-the-other-endpoint", "endpoint": "https://prod.example.com"})

    code, _, err = run("--endpoint", url, "incidents", "list")

    assert code == 3 and "(the sign-in kept is for https://prod.example.com)" in err and "firebell login" in err
    assert handler.seen == []  # not even asked: the token stays with the endpoint it was made for


def test_table_and_json_output(server, config_home):
    url, handler = server
    TokenStore().put("local", {"token": "t", "endpoint": url})
    incident = {
        "reference": "INC-3",
        "status": "triggered",
        "priority": "P2",
        "service": "checkout",
        "title": "5xx high",
        "opened_at": "2026-12-01T10:00:00Z",
    }
    handler.script[("GET", "/incidents")] = (200, {"items": [incident], "cursor": None})

    code, table, _ = run("--endpoint", url, "incidents", "list", "--status", "triggered")
    assert code == 0
    header, row = table.splitlines()
    assert header.split() == ["REFERENCE", "STATUS", "PRIORITY", "SERVICE", "TEAM", "ASSIGNEE", "OPENED_AT", "TITLE"]
    assert row.split()[:4] == ["INC-3", "triggered", "P2", "checkout"]
    assert "status=triggered" in handler.seen[-1]["path"]

    code, raw, _ = run("--endpoint", url, "-o", "json", "incidents", "list")
    assert json.loads(raw)["items"] == [incident]


def test_describe_refusal_names_the_fields():
    # The API's ErrorBody (domain/errors.py): each field's `problem`
    body = {
        "error": "validation_failed",
        "message": "invalid request: body.to",
        "fields": [{"field": "body.to", "problem": "Field required"}],
    }
    assert describe_refusal(422, body) == "422 validation_failed: invalid request: body.to (body.to: Field required)"


def test_sigv4_signs_for_execute_api_in_the_endpoints_region(server, monkeypatch):
    url, handler = server
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    handler.script[("GET", "/incidents")] = (200, {"items": []})
    profile = Profile("prod", url, "sigv4", region="eu-west-1")

    Api(profile, TokenStore()).call("GET", "/incidents")

    authorization = handler.seen[-1]["headers"]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization


def test_pkce_challenge_is_the_verifiers_s256():
    import base64
    import hashlib

    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert challenge == base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_cognito_sign_in_trades_the_code_for_tokens_with_the_verifier(server, config_home):
    """The hosted UI redirects the browser to the CLI's 127.0.0.1 listener with a code; the CLI trades it at the
    token endpoint with its PKCE verifier and keeps the ID token for the API behind the console."""
    url, handler = server
    handler.script[("GET", "/config.json")] = (
        200,
        {
            "api_url": "/api",
            "sign_in_url": url,
            "cli_client_id": "cli-client",
            "cli_redirect_uri": f"http://localhost:{free_port()}/callback",
        },
    )
    handler.script[("POST", "/oauth2/token")] = (
        200,
        {"id_token": "id.jwt", "refresh_token": "refresh", "expires_in": 3600},
    )

    def browser(authorize_url: str) -> None:  # the hosted UI signs the person in and redirects
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
        assert (query["client_id"], query["code_challenge_method"]) == ("cli-client", "S256")
        callback = f"{query['redirect_uri']}?code=the-code&state={query['state']}"
        threading.Thread(target=lambda: urllib.request.urlopen(callback, timeout=10).read(), daemon=True).start()

    saved = login_cognito(
        Profile("console", url, "cognito"), TokenStore(), open_browser=browser, say=lambda _: None, wait_seconds=20
    )

    assert saved["token"] == "id.jwt" and saved["api_url"] == f"{url}/api"
    form = dict(urllib.parse.parse_qsl(handler.seen[-1]["body"].decode()))
    assert (
        form["grant_type"] == "authorization_code" and form["code"] == "the-code" and len(form["code_verifier"]) >= 43
    )


def test_cognito_sign_in_refuses_a_callback_with_another_state(server, config_home):
    url, handler = server
    handler.script[("GET", "/config.json")] = (
        200,
        {
            "api_url": "/api",
            "sign_in_url": url,
            "cli_client_id": "c",
            "cli_redirect_uri": f"http://localhost:{free_port()}/callback",
        },
    )

    def forged(authorize_url: str) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
        threading.Thread(
            target=lambda: urllib.request.urlopen(f"{query['redirect_uri']}?code=x&state=forged", timeout=10).read(),
            daemon=True,
        ).start()

    with pytest.raises(NotSignedIn, match="another state"):
        login_cognito(
            Profile("console", url, "cognito"), TokenStore(), open_browser=forged, say=lambda _: None, wait_seconds=20
        )


def test_config_validate_names_the_first_problem(tmp_path: Path):
    code, out, _ = run("config", "validate", str(Path(__file__).resolve().parents[2] / "config"))
    assert code == 0 and "valid" in out
    broken = tmp_path / "config"
    broken.mkdir()
    (broken / "firebell.yaml").write_text("people: []\n")
    (broken / "rules.yaml").write_text("{}\n")
    code, _, err = run("config", "validate", str(broken))
    assert code == 1 and "people" in err


def test_a_command_cut_off_by_its_pipe_ends_quietly(tmp_path: Path):
    """`firebell reports --csv | head`: the reader leaves while the command still writes; it ends with the
    shell's code for that (141), without a traceback."""
    script = tmp_path / "cut.py"
    script.write_text(
        "import sys\n"
        "from firebell.cli import main as cli\n"
        "cli.main = lambda: print('x' * 1_000_000) or 0\n"  # more than a pipe holds: the write meets the closed pipe
        "cli.run_entry_point()\n"
    )
    cut = subprocess.run(
        f"{sys.executable} {script} | head -c 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert cut.stdout == "x" and cut.stderr == "", cut.stderr


def test_reports_reads_dates_and_times_without_offset_as_utc(server, config_home):
    url, handler = server
    TokenStore().put("local", {"token": "t", "endpoint": url})
    handler.script[("GET", "/reports")] = (200, {})

    def asked(*period: str) -> dict[str, list[str]]:
        code, _, err = run("--endpoint", url, "-o", "json", "reports", *period)
        assert code == 0, err
        return urllib.parse.parse_qs(urllib.parse.urlsplit(handler.seen[-1]["path"]).query)

    november = asked("--from", "2026-11-01", "--to", "2026-11-30")  # --to's day is included
    assert (november["from"], november["to"]) == (["2026-11-01T00:00:00+00:00"], ["2026-12-01T00:00:00+00:00"])
    morning = asked("--from", "2026-11-01T09:30", "--to", "2026-11-01T12:00:00+01:00")
    assert (morning["from"], morning["to"]) == (["2026-11-01T09:30:00+00:00"], ["2026-11-01T12:00:00+01:00"])


@pytest.mark.parametrize(
    ("period", "named"),
    [
        (("--from", "2026-13-01"), "argument --from: '2026-13-01' is no date or time"),
        (("--to", "last tuesday"), "argument --to: 'last tuesday' is no date or time"),
        (("--from", "2026-12-02", "--to", "2026-12-01"), "--to: must be after --from"),
        (("--from", "2025-01-01", "--to", "2026-12-01"), "--from: a report covers at most 400 days"),
        (("--from", "1900-01-01", "--to", "1900-02-01"), "--from: must be between 1970 and 2200"),
        (("--to", "9999-12-31"), "--to: must be between 1970 and 2200"),
    ],
)
def test_reports_refuses_a_period_the_api_would_refuse_as_a_usage_error(server, config_home, capsys, period, named):
    url, handler = server
    TokenStore().put("local", {"token": "t", "endpoint": url})
    try:
        code, _, err = run("--endpoint", url, "reports", *period)
    except SystemExit as parse_error:  # argparse's own refusal, printed to sys.stderr
        code, err = int(parse_error.code or 0), capsys.readouterr().err
    assert code == 2
    assert named in err
    assert handler.seen == []  # not sent
