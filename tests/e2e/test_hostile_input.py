"""Hostile requests over real HTTP, through the local gateway into the api function: never a 5xx, always the
API's error format naming what is wrong. Run with -s to print the table of what each one got."""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from infra.local.http_api import BODY_TIMEOUT_SECONDS
from tests.e2e.conftest import RunningPipeline

pytestmark = pytest.mark.e2e

REPORT = '{"title": "Checkout is slow", "reporter": "me"}'
# Signed as a machine (SigV4; the local gateway checks no signature): the hostility here is in the bodies.
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261201/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
}


def send(pipeline: RunningPipeline, raw: bytes, pause_after: int | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request written byte for byte; the status, headers and body of the answer."""
    host, port = urllib.parse.urlsplit(pipeline.api_url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=BODY_TIMEOUT_SECONDS + 50) as connection:
        connection.sendall(raw if pause_after is None else raw[:pause_after])  # a stalled client sends no more
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def request(
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    length: int | None = None,
    credentials: dict[str, str] = SIGNED,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in {**credentials, **(headers or {})}.items()]
    if not any(name.lower() == "transfer-encoding" for name in headers or {}):
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, size: int = 7) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def create(pipeline: RunningPipeline) -> None:
    status, _, body = send(
        pipeline, request("POST", "/incidents", REPORT.encode(), {"Content-Type": "application/json"})
    )
    assert status == 201, body


def a_cursor(pipeline: RunningPipeline) -> str:
    create(pipeline)
    create(pipeline)
    _, _, body = send(pipeline, request("GET", "/incidents?status=triggered&limit=1"))
    return json.loads(body)["cursor"]


def tampered(cursor: str) -> str:
    encoded, _, checksum = cursor.partition(".")
    return f"{encoded[:10]}{'B' if encoded[10] == 'A' else 'A'}{encoded[11:]}.{checksum}"


Case = Callable[[RunningPipeline], tuple[bytes, int | None]]
JSON = {"Content-Type": "application/json"}
CASES: dict[str, tuple[Case, int, str]] = {  # name → (request, expected status, a field or code the body names)
    "JSON nested 10,000 deep": (
        lambda p: (
            request("POST", "/incidents", b'{"title": ' + b"[" * 10_000 + b"]" * 10_000 + b', "reporter": "me"}', JSON),
            None,
        ),
        400,
        "body",
    ),
    "integer of 5,001 digits": (
        lambda p: (
            request("POST", "/incidents", b'{"title": "x", "reporter": "me", "impact": ' + b"9" * 5_001 + b"}", JSON),
            None,
        ),
        400,
        "body",
    ),
    "1e999": (
        lambda p: (request("POST", "/incidents", b'{"title": "x", "reporter": "me", "impact": 1e999}', JSON), None),
        400,
        "body",
    ),
    "invalid UTF-8 (\\xff in title)": (
        lambda p: (request("POST", "/incidents", b'{"title": "caf\xff", "reporter": "me"}', JSON), None),
        400,
        "body",
    ),
    "NUL in title": (
        lambda p: (request("POST", "/incidents", b'{"title": "a\\u0000b", "reporter": "me"}', JSON), None),
        400,
        "body.title",
    ),
    "multipart/form-data without boundary": (
        lambda p: (request("POST", "/incidents", b"title=x", {"Content-Type": "multipart/form-data"}), None),
        415,
        "header.Content-Type",
    ),
    "text/xml": (
        lambda p: (request("POST", "/incidents", b"<incident/>", {"Content-Type": "text/xml"}), None),
        415,
        "header.Content-Type",
    ),
    "2 MB body (over the API's 1 MiB)": (
        lambda p: (
            request("POST", "/incidents", b'{"title": "' + b"x" * 2_000_000 + b'", "reporter": "me"}', JSON),
            None,
        ),
        413,
        "body",
    ),
    "11 MB body (over API Gateway's 10 MB)": (
        lambda p: (request("POST", "/incidents", b"", JSON, length=11 * 1024 * 1024), None),
        413,
        "payload_too_large",
    ),
    "tampered cursor": (
        lambda p: (request("GET", f"/incidents?status=triggered&limit=1&cursor={tampered(a_cursor(p))}"), None),
        400,
        "query.cursor",
    ),
    "cursor reused with another filter": (
        lambda p: (request("GET", f"/incidents?status=acknowledged&limit=1&cursor={a_cursor(p)}"), None),
        400,
        "query.cursor",
    ),
    "PROPFIND /incidents": (lambda p: (request("PROPFIND", "/incidents"), None), 405, "method_not_allowed"),
    "TRACE /incidents/INC-1": (lambda p: (request("TRACE", "/incidents/INC-1"), None), 405, "method_not_allowed"),
    "chunked body (Transfer-Encoding: chunked)": (
        lambda p: (
            request("POST", "/incidents", chunked(REPORT.encode()), {**JSON, "Transfer-Encoding": "chunked"}),
            None,
        ),
        201,
        "INC-",
    ),
    "stalled body (headers, 10 of 100 bytes, then silence)": (
        lambda p: (
            request("POST", "/incidents", b'{"title": ', JSON, length=100),
            len(request("POST", "/incidents", b'{"title": ', JSON, length=100)),
        ),
        408,
        "request_timeout",
    ),
    "README's curl -d (form-urlencoded JSON)": (
        lambda p: (
            request("POST", "/incidents", REPORT.encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
            None,
        ),
        201,
        "INC-",
    ),
    "form-urlencoded form fields": (
        lambda p: (
            request(
                "POST", "/incidents", b"title=x&reporter=me", {"Content-Type": "application/x-www-form-urlencoded"}
            ),
            None,
        ),
        400,
        "invalid_json",
    ),
    "no credentials, a broken body": (
        lambda p: (request("POST", "/incidents", b'{"title": ', JSON, credentials={}), None),
        401,
        "unauthenticated",
    ),
    "a forged session token": (
        lambda p: (
            request("GET", "/incidents", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, credentials={}),
            None,
        ),
        401,
        "not one this runtime signed",
    ),
    "a session cookie 8 KB long": (
        lambda p: (
            request("GET", "/incidents", headers={"Cookie": "firebell_session=" + "A" * 8192}, credentials={}),
            None,
        ),
        401,
        "unauthenticated",
    ),
    "a stale body field `by`": (
        lambda p: (request("POST", "/incidents/INC-1/acknowledge", b'{"by": "bob"}', JSON), None),
        422,
        "body.by",
    ),
    # Powertools takes a list of nulls for no body at all (schemathesis: ST201 on acknowledge)
    "a body of nulls where none or {} is due": (
        lambda p: (request("POST", "/incidents/INC-1/acknowledge", b"[null, null]", JSON), None),
        422,
        "body",
    ),
    "a body of nulls to resume": (
        lambda p: (request("POST", "/incidents/INC-1/resume", b"[null]", JSON), None),
        422,
        "body",
    ),
    # http.server's own refusals, in the API's format rather than its HTML page
    "a 100 KB address": (lambda p: (request("GET", "/incidents/" + "x" * 100_000), None), 414, "request_uri_too_long"),
    "a 70 KB header": (
        lambda p: (request("GET", "/incidents", headers={"X-Padding": "y" * 70_000}), None),
        431,
        "request_header_fields_too_large",
    ),
    "a calendar feed address that is no token": (
        lambda p: (request("GET", "/feeds/" + "%00.x" * 2_000 + "/calendar.ics", credentials={}), None),
        404,
        "feed_not_found",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_gets_a_clear_4xx_in_the_api_error_format(local_pipeline: RunningPipeline, name: str) -> None:
    build, expected, named = CASES[name]
    raw, pause_after = build(local_pipeline)
    status, headers, body = send(local_pipeline, raw, pause_after)
    text = body.decode("utf-8", errors="replace")
    print(f"\n| {name} | {status} | `{text[:150]}` |")
    assert status == expected, text
    assert headers.get("content-type", "").startswith("application/json")
    document: dict[str, Any] = json.loads(body)
    if status >= 400:
        assert set(document) <= {"error", "message", "fields"} and document["error"] and document["message"], document
    assert named in text, text
    if status == 405:
        assert headers["allow"] in ("GET, POST", "GET")
