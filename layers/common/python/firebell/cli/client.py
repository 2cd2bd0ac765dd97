"""The API over HTTP, as the profile says to authenticate: a local sign-in's token, a Cognito token, or SigV4."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from .profiles import Profile, TokenStore

TIMEOUT_SECONDS = 30


class CliError(Exception):
    """An error the CLI reports and exits with; `exit_code` says which kind (main.py lists them)."""

    exit_code = 1


class Refused(CliError):
    """The API answered 4xx: the request was understood and refused (the API's own words are shown)."""

    exit_code = 1

    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        super().__init__(describe_refusal(status, body))


class UsageError(CliError):
    """A flag's value the command refuses before asking the API."""

    exit_code = 2


class NotSignedIn(CliError):
    exit_code = 3


class Unavailable(CliError):
    """Nobody answered, or the API failed (5xx): worth retrying later, unlike a refusal."""

    exit_code = 4


def describe_refusal(status: int, body: Any) -> str:
    """The API's ErrorBody in one line: `403 forbidden: viewer may not … (body.to: …)`."""
    if not isinstance(body, dict):
        return f"{status}: {body}" if body else str(status)
    code = body.get("error") or body.get("status") or ""
    message = body.get("message") or ""
    fields = [
        f"{f.get('field')}: {f.get('problem') or f.get('message')}"
        for f in body.get("fields") or []
        if isinstance(f, dict)
    ]
    fields += [str(e) for e in body.get("errors") or []]  # PagerDuty's own refusal shape
    text = f"{status} {code}: {message}".strip().rstrip(":")
    return f"{text} ({'; '.join(fields)})" if fields else text


def region_of(endpoint: str) -> str | None:
    """execute-api hosts name their region: abc123.execute-api.eu-west-1.amazonaws.com."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    parts = host.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "execute-api" else None


class Api:
    def __init__(
        self,
        profile: Profile,
        tokens: TokenStore,
        refresh: Callable[[Profile, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.profile = profile
        self.tokens = tokens
        self._refresh = refresh  # cognito: a fresh ID token from the refresh token (login.py)

    def _sign_in(self) -> dict[str, Any] | None:
        """The profile's saved sign-in, if it was made with the endpoint the profile names now: a token is never
        sent to another endpoint (`--endpoint` changes where a profile points, not who it signed in to)."""
        saved = self.tokens.get(self.profile.name)
        return saved if saved and saved.get("endpoint") == self.profile.endpoint else None

    @property
    def base_url(self) -> str:
        return (self._sign_in() or {}).get("api_url") or self.profile.endpoint

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The parsed answer of a 2xx; Refused for a 4xx, Unavailable for a 5xx or no answer."""
        url = self.base_url + path
        pairs = {k: v for k, v in (query or {}).items() if v is not None}
        if pairs:
            url += "?" + urllib.parse.urlencode(pairs)
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {
            "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {}),
            **(headers or {}),
        }
        all_headers.update(self._credentials(method, url, data, all_headers))
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return _parsed(response.read(), response.headers.get_content_type())
        except urllib.error.HTTPError as error:
            answer = _parsed(error.read(), error.headers.get_content_type() if error.headers else "")
            if error.code == 401 and self.profile.auth != "sigv4":
                raise NotSignedIn(
                    f"{describe_refusal(401, answer)}: run `firebell login` (profile {self.profile.name})"
                ) from None
            if error.code >= 500:
                raise Unavailable(describe_refusal(error.code, answer)) from None
            raise Refused(error.code, answer) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise Unavailable(
                f"no answer from {self.base_url} ({reason}); is it running? (profile {self.profile.name})"
            ) from None

    def _credentials(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        if self.profile.auth == "sigv4":
            return _sigv4(self.profile, method, url, data, headers)
        saved = self._sign_in()
        if not saved or not saved.get("token"):
            elsewhere = self.tokens.get(self.profile.name)
            where = (
                f" to {self.profile.endpoint} (the sign-in kept is for {elsewhere.get('endpoint') or 'another endpoint'})"
                if elsewhere
                else ""
            )
            raise NotSignedIn(f"not signed in{where} (profile {self.profile.name}): run `firebell login`")
        if saved.get("expires_at") and saved["expires_at"] <= time.time() + 30:
            if self._refresh is None or not saved.get("refresh_token"):
                raise NotSignedIn(f"the sign-in has expired (profile {self.profile.name}): run `firebell login`")
            saved = self._refresh(self.profile, saved)
            self.tokens.put(self.profile.name, saved)
        return {"Authorization": f"Bearer {saved['token']}"}


def _sigv4(profile: Profile, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
    """Sign as API Gateway's AWS_IAM authorization expects (service execute-api), with the AWS profile's keys."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.Session(profile=profile.aws_profile)
    credentials = session.get_credentials()
    if credentials is None:
        raise NotSignedIn(
            f"no AWS credentials for profile {profile.aws_profile or 'default'} (aws configure, or aws sso login)"
        )
    region = profile.region or region_of(profile.endpoint) or session.get_config_variable("region")
    if not region:
        raise NotSignedIn("no region to sign for: set region in the firebell profile or the AWS profile")
    request = AWSRequest(method=method, url=url, data=data or b"", headers=dict(headers))
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return {
        k: v for k, v in request.headers.items() if k.lower() in ("authorization", "x-amz-date", "x-amz-security-token")
    }


def _parsed(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if content_type.endswith("json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    return text


def api_path(*parts: str) -> str:
    """A route's path from its parts, each quoted (an incident reference or an id may hold anything)."""
    return "/" + "/".join(urllib.parse.quote(p, safe="") for p in parts)
