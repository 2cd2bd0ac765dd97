"""Where an importer reads the vendor's answers: its REST API (urllib; 429 and 5xx retried with backoff that honours
Retry-After) or a folder of JSON files saved from it, laid out by request path (docs/importing.md)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

JsonObject = dict[str, Any]
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 60.0


class ImportError_(Exception):
    """Reading the source failed for good (a refusal, a file that is not JSON, a missing field): what and where."""


class Source(Protocol):
    def get(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> JsonObject:
        """One answer (a JSON object) for GET `path` with `params`."""
        ...

    def pages(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> Iterator[JsonObject]:
        """Every page of a list answer (the vendor's pagination followed)."""
        ...


def _query(params: Mapping[str, str | list[str]] | None) -> str:
    return urllib.parse.urlencode(list(params.items()) if params else [], doseq=True)


def retry_after_seconds(header: str | None, attempt: int) -> float:
    """Retry-After as seconds or an HTTP date; without it exponential backoff (0.5 s, 1 s, 2 s …), capped."""
    if header:
        try:
            return min(max(float(header), 0.0), MAX_WAIT_SECONDS)
        except ValueError:
            try:
                when: float = parsedate_to_datetime(header).timestamp()
                return min(max(when - time.time(), 0.0), MAX_WAIT_SECONDS)
            except (TypeError, ValueError):
                pass
    return min(0.5 * 2.0**attempt, MAX_WAIT_SECONDS)


class HttpSource:
    """GETs against a vendor's API with its authorization header. `next_page` says, from a page and the URL it came
    from, the URL of the next page (None: the last); each vendor paginates its own way."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        next_page: Callable[[JsonObject, str], str | None],
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept": "application/json", "User-Agent": "firebell-import", **headers}
        self.next_page = next_page
        self.sleep = sleep
        self.timeout = timeout
        self.requests = 0  # for the summary and the tests

    def _url(self, path: str, params: Mapping[str, str | list[str]] | None) -> str:
        query = _query(params)
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    def fetch(self, url: str) -> JsonObject:
        for attempt in range(MAX_ATTEMPTS):
            request = urllib.request.Request(url, headers=self.headers, method="GET")
            self.requests += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
            except urllib.error.HTTPError as error:
                if error.code in RETRIED_STATUSES and attempt + 1 < MAX_ATTEMPTS:
                    self.sleep(retry_after_seconds(error.headers.get("Retry-After"), attempt))
                    continue
                detail = error.read()[:300].decode("utf-8", "replace")
                hint = " (check the token)" if error.code in (401, 403) else ""
                raise ImportError_(f"GET {url}: HTTP {error.code}{hint}: {detail}") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                if attempt + 1 < MAX_ATTEMPTS:
                    self.sleep(retry_after_seconds(None, attempt))
                    continue
                raise ImportError_(f"GET {url}: unreachable: {getattr(error, 'reason', error)}") from None
            return _json_object(body, f"GET {url}")
        raise ImportError_(f"GET {url}: still refused after {MAX_ATTEMPTS} attempts")  # pragma: no cover

    def get(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> JsonObject:
        return self.fetch(self._url(path, params))

    def pages(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> Iterator[JsonObject]:
        url: str | None = self._url(path, params)
        seen: set[str] = set()
        while url is not None and url not in seen:  # a page naming itself as next would loop for ever
            seen.add(url)
            page = self.fetch(url)
            yield page
            url = self.next_page(page, url)


def _json_object(raw: bytes, where: str) -> JsonObject:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise ImportError_(f"{where}: not JSON ({type(error).__name__})") from None
    if not isinstance(value, dict):
        raise ImportError_(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


class DirectorySource:
    """Answers saved as files: GET /schedules/P1/overrides is DIR/schedules/P1/overrides.json (a leading /v2 or /v1
    of Opsgenie's paths is dropped). A file holds one answer, or a JSON array of the pages of a list answer."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ImportError_(f"{folder}: not a folder")
        self.folder = folder

    def _file(self, path: str) -> Path:
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] in ("v1", "v2"):
            parts = parts[1:]
        if not parts or any(p in (".", "..") for p in parts):
            raise ImportError_(f"no file for {path!r}")
        return self.folder.joinpath(*parts[:-1], parts[-1] + ".json")

    def _answers(self, path: str) -> list[JsonObject] | None:
        file = self._file(path)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ImportError_(f"{file}: cannot read: {error.strerror}") from None
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise ImportError_(
                f"{file}: not JSON ({error if not isinstance(error, RecursionError) else 'nested too deep'})"
            ) from None
        answers = value if isinstance(value, list) else [value]
        if not answers:
            raise ImportError_(f"{file}: an empty list (expected an answer, or the pages of one)")
        for i, answer in enumerate(answers):
            if not isinstance(answer, dict):
                raise ImportError_(f"{file}: page [{i}]: expected a JSON object, got {type(answer).__name__}")
        return answers

    def get(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> JsonObject:
        answers = self._answers(path)
        if answers is None:
            raise ImportError_(f"{self._file(path)}: missing (the answer to GET {path})")
        return answers[0]

    def pages(self, path: str, params: Mapping[str, str | list[str]] | None = None) -> Iterator[JsonObject]:
        answers = self._answers(path)
        if answers is None:
            raise ImportError_(f"{self._file(path)}: missing (the answer to GET {path})")
        yield from answers

    def has(self, path: str) -> bool:
        return self._file(path).is_file()
