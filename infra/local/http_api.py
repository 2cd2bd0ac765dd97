"""API Gateway (REST, proxy integration) on localhost: HTTP requests in, Lambda proxy events to the api handler.

Paths under /_local/ are the runtime's own (outbox, dead letters, health), never the api function's; GET /,
/assets/… and /config.json are the web console's (infra/local/console.py), as CloudFront serves them in AWS.
As the deployed API (infra/cdk: binaryMediaTypes */*), every body reaches the function base64-encoded, byte
for byte: text that is not UTF-8 is the function's to refuse, not replaced on the way. Every method reaches
the function (which answers 405 with Allow for one no route declares); chunked bodies are read; a client
that stops sending mid-request is answered 408 after BODY_TIMEOUT_SECONDS and its connection closed; one that
hangs up before its answer is read is a debug line, not a traceback.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from firebell.domain.errors import error_body
from infra.local.console import console_file, is_console_path
from infra.local.render import ACCOUNT_ID

if TYPE_CHECKING:
    from infra.local.lambdas import LocalFunction
    from infra.local.runtime import LocalRuntime

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
BODY_TIMEOUT_SECONDS = 10.0
# What reading from or writing to a client that has hung up raises (the api function's own failures are caught
# where it is invoked: a 502).
CLIENT_GONE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

log = logging.getLogger("firebell.local")


class RequestRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


# Who a SigV4-signed request is taken to come from: moto's account's IAM user `local`.
LOCAL_IAM_USER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/local"


def iam_identity(headers: dict[str, str]) -> dict[str, str]:
    """What API Gateway's AWS_IAM authorization adds to requestContext.identity once a SigV4 signature verified:
    here the signature is taken as valid, unchecked (docs/access.md: a local gap, as moto checks no credentials
    either). Nothing for a request not signed that way."""
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not authorization.startswith("AWS4-HMAC-SHA256"):
        return {}
    access_key = authorization.partition("Credential=")[2].partition("/")[0][:128]
    return {
        "accountId": ACCOUNT_ID,
        "caller": "AIDALOCALUSER",
        "user": "AIDALOCALUSER",
        "userArn": LOCAL_IAM_USER_ARN,
        "accessKey": access_key,
    }


def proxy_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    domain: str = "127.0.0.1",
    scheme: str = "http",
    base_path: str = "",
) -> dict[str, Any]:
    """`base_path`: what API Gateway puts before the route in requestContext.path (the stage on the execute-api
    domain; a custom domain's base path): the local gateway serves at the root."""
    url = urlsplit(raw_path)
    query = parse_qs(url.query, keep_blank_values=True)
    # API Gateway sets X-Forwarded-Proto itself, whatever the client sent.
    headers = {k: v for k, v in headers.items() if k.lower() != "x-forwarded-proto"} | {"X-Forwarded-Proto": scheme}
    return {
        "resource": "/{proxy+}",
        "path": url.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": url.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"{base_path}{url.path}",
            "stage": "local",
            "domainName": domain,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", ""), **iam_identity(headers)},
        },
        "body": base64.b64encode(body).decode("ascii") if body else None,
        "isBase64Encoded": bool(body),
    }


def start_http_api(
    runtime: LocalRuntime,
    function: LocalFunction,
    port: int,
    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer,
    name: str = "http-api",
) -> ThreadingHTTPServer:
    """`server_class`: infra/local/tls.py passes one that speaks TLS, for the same routes over HTTPS."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "firebell-local"
        protocol_version = "HTTP/1.1"  # keep-alive and chunked request bodies, as API Gateway speaks
        timeout = BODY_TIMEOUT_SECONDS  # a socket timeout: a stalled client never holds a thread for ever

        def log_message(self, *_: Any) -> None:  # the timeline is the log that matters
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except CLIENT_GONE as error:  # the client's choice, not firebell's error: no traceback in the log
                self.close_connection = True
                log.debug("%s %s: the client went away (%s)", name, self.client_address[0], type(error).__name__)

        def _reply(self, status: int, headers: dict[str, str], body: bytes, head: bool = False) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status in (204, 304):  # HTTP: no body; a client reads none, and would take it for the next answer
                body = b""
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._reply(status, {"Content-Type": "application/json"}, json.dumps(payload, default=str).encode())

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server's own refusals (a request line or headers too long, a malformed request) in the API's
            # error format rather than its HTML page, as API Gateway words its own.
            self.close_connection = True
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = "Error"
            self._json(code, error_body(phrase.lower().replace(" ", "_").replace("-", "_"), message or phrase))

        def _refuse(self, refused: RequestRefused) -> None:
            self.close_connection = True  # what is left of the body is unread: the connection cannot be reused
            self._json(refused.status, error_body(refused.code, str(refused)))

        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._read_chunks()
            declared = self.headers.get("Content-Length") or "0"
            if not declared.strip().isdigit():
                raise RequestRefused(400, "invalid_header", f"Content-Length is not a number: {declared[:40]!r}")
            length = int(declared)
            if length > MAX_BODY_BYTES:
                raise RequestRefused(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES:,} bytes")
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                raise RequestRefused(400, "incomplete_body", f"the body ended after {len(body)} of {length} bytes")
            return body

        def _read_chunks(self) -> bytes:
            body = bytearray()
            while True:
                size_line = self.rfile.readline(1026).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise RequestRefused(400, "invalid_chunk", "a chunk size is not hexadecimal") from None
                if len(body) + size > MAX_BODY_BYTES:
                    raise RequestRefused(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES:,} bytes")
                if size == 0:
                    while self.rfile.readline(8194).strip():  # trailers: none that matter here
                        pass
                    return bytes(body)
                chunk = self.rfile.read(size)
                if len(chunk) < size or self.rfile.readline(3).strip():
                    raise RequestRefused(400, "invalid_chunk", "a chunk is shorter than its size says")
                body += chunk

        def _handle(self) -> None:
            try:
                body = self._read_body()
            except RequestRefused as refused:
                self._refuse(refused)
                return
            except TimeoutError:
                self._refuse(
                    RequestRefused(408, "request_timeout", f"no complete body within {BODY_TIMEOUT_SECONDS:g} s")
                )
                return
            path = urlsplit(self.path).path
            if path.startswith("/_local/"):
                self._local(path, body)
                return
            if self.command in ("GET", "HEAD") and is_console_path(path):
                status, headers, content = console_file(path)
                self._reply(status, headers, content, head=self.command == "HEAD")
                return
            host, port = self.server.server_address[:2]
            event = proxy_event(
                self.command,
                self.path,
                dict(self.headers.items()),
                body,
                self.client_address[0],
                domain=f"{host}:{port}",
                scheme=getattr(self.server, "scheme", "http"),
            )
            try:
                response = function.invoke(event)
            except Exception as error:  # what API Gateway answers when the integration fails
                self._json(502, error_body("internal_error", f"Internal server error ({type(error).__name__})"))
                return
            headers = dict(response.get("headers") or {})
            for name, values in (response.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(values)
            payload = response.get("body") or ""
            data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
            self._reply(int(response.get("statusCode", 200)), headers, data)

        def _local(self, path: str, body: bytes) -> None:
            if path == "/_local/faults":
                self._faults(body)
            elif path == "/_local/outbox":
                self._json(200, {"items": runtime.outbox()})
            elif path == "/_local/dead-letters":
                self._json(200, runtime.dead_letters_view())
            elif path == "/_local/health":
                # The same checks as the stack's CloudWatch alarms (infra/local/health.py); 503 while any fails.
                try:
                    health = runtime.health()
                except Exception as error:  # a check that cannot be measured is not a healthy one
                    self._json(503, {"ok": False, "status": "failing", "error": f"{type(error).__name__}: {error}"})
                    return
                self._json(200 if health["ok"] else 503, health)
            else:
                self._json(404, {"error": "route_not_found", "message": f"no local route {path}"})

        def _faults(self, body: bytes) -> None:
            injector = runtime.faults
            if self.command == "POST":  # {"rate": 0}: the harness stops faults before it measures
                rate = float(json.loads(body or b"{}").get("rate", 0))
                if injector is not None:
                    injector.rate = rate
                elif rate:
                    self._json(
                        409,
                        {"error": "faults_not_installed", "message": "start with FIREBELL_FAULT_RATE to inject faults"},
                    )
                    return
            self._json(
                200,
                injector.snapshot()
                if injector
                else {
                    "rate": 0.0,
                    "seed": None,
                    "faults_injected": 0,
                    "eligible_calls": 0,
                    "by_kind": {},
                    "by_operation": {},
                },
            )

        def __getattr__(self, name: str) -> Any:
            # Every method (PROPFIND, TRACE, …) goes to the function, which knows which ones each path takes.
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    server = server_class(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server
