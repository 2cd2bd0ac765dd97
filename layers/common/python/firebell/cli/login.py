"""Signing in: as a person of the config (local runtime), or through Cognito's hosted sign-in (deployed).

Cognito: the authorization-code grant with PKCE (RFC 7636), as a native app does it (RFC 8252): a one-shot
listener on 127.0.0.1 receives the code, the hosted UI's token endpoint trades it for tokens. The user pool's
domain and the CLI's app client come from the console's config.json (the stack writes it next to the console).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import webbrowser
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from .client import Api, CliError, NotSignedIn, Refused, Unavailable, _parsed, describe_refusal
from .profiles import Profile, TokenStore

CALLBACK_PATH = "/callback"
# Cognito matches a redirect URI exactly, port included: the CLI's app client allows this one (infra/cdk/people.py).
DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"
SIGN_IN_WAIT_SECONDS = 300


def _post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    return _send(request)


def _send(request: urllib.request.Request) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return _parsed(response.read(), response.headers.get_content_type())
    except urllib.error.HTTPError as error:
        answer = _parsed(error.read(), error.headers.get_content_type() if error.headers else "")
        if error.code >= 500:
            raise Unavailable(describe_refusal(error.code, answer)) from None
        # A sign-in refused (an unknown person, a code the hosted UI does not know) is a refusal, exit 1, like any
        # other; only a 401 says that credentials are missing.
        raise (
            NotSignedIn(describe_refusal(error.code, answer)) if error.code == 401 else Refused(error.code, answer)
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise Unavailable(f"no answer from {request.full_url} ({getattr(error, 'reason', error)})") from None


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def login_local(profile: Profile, tokens: TokenStore, person: str) -> dict[str, Any]:
    """POST /auth/local/sign-in: the local runtime signs anyone of its config in, no password."""
    answer = _post_json(f"{profile.endpoint}/auth/local/sign-in", {"person": person})
    saved = {
        "token": answer["token"],
        "person": answer.get("person", person),
        "roles": answer.get("roles", []),
        "expires_at": _epoch(answer.get("expires_at")),
        "endpoint": profile.endpoint,
    }
    tokens.put(profile.name, saved)
    return saved


# --- Cognito ---------------------------------------------------------------------------------------


def console_config(profile: Profile) -> dict[str, Any]:
    """The deployed console's config.json (infra/cdk/stack.py writes it): where the API is and how people sign in."""
    config = _send(urllib.request.Request(f"{profile.endpoint}/config.json", headers={"Accept": "application/json"}))
    if not isinstance(config, dict) or not config.get("sign_in_url") or not config.get("cli_client_id"):
        raise CliError(f"{profile.endpoint}/config.json names no Cognito sign-in (is the endpoint the console URL?)")
    return config


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class _OneCallback(HTTPServer):
    code: str | None = None
    error: str | None = None
    state: str = ""


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _OneCallback

    def log_message(self, *_: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path != CALLBACK_PATH:
            self.send_error(404)
            return
        if query.get("state") != self.server.state:
            self.server.error = "the sign-in answered with another state (a stale or forged callback)"
        elif "error" in query:
            self.server.error = f"{query['error']}: {query.get('error_description', '')}".strip(": ")
        else:
            self.server.code = query.get("code")
        done = (
            "You are signed in to firebell; you can close this tab."
            if self.server.code
            else f"Sign-in failed: {self.server.error}"
        )
        body = f"<!doctype html><title>firebell</title><p>{done}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def login_cognito(
    profile: Profile,
    tokens: TokenStore,
    open_browser: Callable[[str], Any] = webbrowser.open,
    say: Callable[[str], None] = print,
    wait_seconds: float = SIGN_IN_WAIT_SECONDS,
) -> dict[str, Any]:
    config = console_config(profile)
    verifier, challenge = pkce_pair()
    redirect_uri = config.get("cli_redirect_uri") or DEFAULT_REDIRECT_URI
    port = urllib.parse.urlsplit(redirect_uri).port or 80
    try:
        server = _OneCallback(("127.0.0.1", port), _CallbackHandler)
    except OSError as error:
        raise CliError(
            f"cannot listen on {redirect_uri} for the sign-in's answer ({error.strerror}): is another sign-in running?"
        ) from None
    server.state = secrets.token_urlsafe(24)
    authorize = f"{config['sign_in_url'].rstrip('/')}/oauth2/authorize?" + urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": config["cli_client_id"],
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": server.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    say(f"Opening the sign-in page; if no browser opens, visit:\n  {authorize}")
    open_browser(authorize)
    server.timeout = 1
    deadline = time.monotonic() + wait_seconds
    try:
        while server.code is None and server.error is None and time.monotonic() < deadline:
            server.handle_request()  # one request or a 1 s timeout; then look again
    finally:
        server.server_close()
    if server.code is None:
        raise NotSignedIn(server.error or f"no sign-in within {wait_seconds:.0f} s")
    answer = _token_request(
        config,
        {
            "grant_type": "authorization_code",
            "code": server.code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    saved = _saved_tokens(answer, config, profile)
    tokens.put(profile.name, saved)
    return saved


def refresh_cognito(profile: Profile, saved: dict[str, Any]) -> dict[str, Any]:
    """A fresh ID token from the refresh token (Api calls this when the saved one is about to expire)."""
    config = console_config(profile)
    answer = _token_request(config, {"grant_type": "refresh_token", "refresh_token": saved["refresh_token"]})
    return {**_saved_tokens(answer, config, profile), "refresh_token": saved["refresh_token"]}


def _token_request(config: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    data = urllib.parse.urlencode({**form, "client_id": config["cli_client_id"]}).encode()
    request = urllib.request.Request(
        f"{config['sign_in_url'].rstrip('/')}/oauth2/token",
        data=data,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    tokens: dict[str, Any] = _send(request)
    return tokens


def _saved_tokens(answer: dict[str, Any], config: dict[str, Any], profile: Profile) -> dict[str, Any]:
    api = str(config.get("api_url") or "")
    api_url = api if api.startswith("http") else profile.endpoint + api  # "/api" behind the console's CloudFront
    return {
        "token": answer["id_token"],
        "refresh_token": answer.get("refresh_token"),
        "expires_at": time.time() + int(answer.get("expires_in", 3600)),
        "api_url": api_url.rstrip("/"),
        "endpoint": profile.endpoint,
    }


def whoami(api: Api) -> dict[str, Any]:
    me: dict[str, Any] = api.call("GET", "/auth/me")
    return me
