"""Where the CLI points and how it proves who it is: named profiles, and the tokens a sign-in got.

~/.config/firebell/config.toml (or $FIREBELL_CONFIG_HOME/config.toml):

    [profiles.local]                      # the default: the local runtime
    endpoint = "http://127.0.0.1:3000"
    auth = "local"                        # firebell login --as <person>

    [profiles.prod]
    endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    auth = "sigv4"                        # the machine API, signed with an AWS profile's credentials
    aws_profile = "ops"

    [profiles.console]
    endpoint = "https://d111111abcdef8.cloudfront.net"
    auth = "cognito"                      # firebell login: the hosted sign-in, in a browser

Tokens are kept in ~/.cache/firebell/tokens.json (0600), one per profile, with the endpoint they were made for: a
token is only ever sent there (`--endpoint` elsewhere asks for a new sign-in); `firebell logout` forgets them.
"""

from __future__ import annotations

import json
import os
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUTH_KINDS = ("local", "sigv4", "cognito")
DEFAULT_PROFILE = "local"
LOCAL_ENDPOINT = "http://127.0.0.1:3000"


class ProfileError(Exception):
    """The profile asked for is missing or malformed (exit code 2, like any usage error)."""


@dataclass(frozen=True)
class Profile:
    name: str
    endpoint: str
    auth: str = "local"
    aws_profile: str | None = None
    region: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def config_home() -> Path:
    explicit = os.environ.get("FIREBELL_CONFIG_HOME")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "firebell"


def cache_home() -> Path:
    explicit = os.environ.get("FIREBELL_CONFIG_HOME")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "firebell"


def _profiles_file() -> dict[str, Any]:
    path = config_home() / "config.toml"
    if not path.exists():
        return {}
    try:
        profiles: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")).get("profiles", {})
        return profiles
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path}: {error}") from None


def checked_endpoint(endpoint: object, source: str) -> str:
    """The endpoint without its trailing slash, or ProfileError naming where it came from (`--endpoint`, a profile):
    urllib would otherwise fail deep inside a command with a traceback (`unknown url type`, `Invalid IPv6 URL`)."""
    text = str(endpoint).strip()
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 (reading it validates it: a port that is not a number raises ValueError)
    except ValueError as error:
        raise ProfileError(f"{source}: {text[:200]!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProfileError(f"{source}: {text[:200]!r} is not an http(s) URL, e.g. {LOCAL_ENDPOINT}")
    return text.rstrip("/")


def load_profile(name: str | None, endpoint: str | None = None, auth: str | None = None) -> Profile:
    """The named profile (or $FIREBELL_PROFILE, or `local`), with --endpoint/--auth over what it says."""
    chosen = name or os.environ.get("FIREBELL_PROFILE") or DEFAULT_PROFILE
    found = _profiles_file().get(chosen)
    if found is None and chosen != DEFAULT_PROFILE and endpoint is None:
        raise ProfileError(
            f"no profile {chosen!r} in {config_home() / 'config.toml'} (create it with `firebell profile set {chosen} --endpoint …`)"
        )
    settings = dict(found or {})
    settings.setdefault("endpoint", LOCAL_ENDPOINT)
    settings.setdefault("auth", "local")
    if endpoint:
        settings["endpoint"] = endpoint
    if auth:
        settings["auth"] = auth
    if settings["auth"] not in AUTH_KINDS:
        raise ProfileError(
            f"profile {chosen!r}: auth must be one of {', '.join(AUTH_KINDS)} (got {settings['auth']!r})"
        )
    known = {"endpoint", "auth", "aws_profile", "region"}
    source = "--endpoint" if endpoint else f"profile {chosen!r} (in {config_home() / 'config.toml'}): endpoint"
    return Profile(
        name=chosen,
        endpoint=checked_endpoint(settings["endpoint"], source),
        auth=settings["auth"],
        aws_profile=settings.get("aws_profile"),
        region=settings.get("region"),
        extra={k: v for k, v in settings.items() if k not in known},
    )


def save_profile(profile: Profile) -> Path:
    profiles = _profiles_file()
    entry = {"endpoint": profile.endpoint, "auth": profile.auth}
    if profile.aws_profile:
        entry["aws_profile"] = profile.aws_profile
    if profile.region:
        entry["region"] = profile.region
    profiles[profile.name] = entry
    path = config_home() / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    for name, values in sorted(profiles.items()):
        lines.append(f"[profiles.{json.dumps(name)}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]  # JSON strings are TOML strings
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class TokenStore:
    """Tokens per profile, readable by their owner only (they act as that person until they expire)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_home() / "tokens.json"

    def _all(self) -> dict[str, Any]:
        try:
            saved: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            return saved
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def get(self, profile: str) -> dict[str, Any] | None:
        return self._all().get(profile)

    def put(self, profile: str, tokens: dict[str, Any]) -> None:
        everything = {**self._all(), profile: tokens}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(everything, file)
        os.replace(temporary, self.path)

    def forget(self, profile: str) -> bool:
        everything = self._all()
        if everything.pop(profile, None) is None:
            return False
        self.path.write_text(json.dumps(everything), encoding="utf-8")
        return True
