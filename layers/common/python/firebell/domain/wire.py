"""What every monitoring tool's payload shares on the wire: its limits, JSON decoded within bounds (size, depth,
number size, valid UTF-8, no control characters), pydantic errors as field problems, bounded field types.
The PagerDuty and Alertmanager parsers (domain/integrations.py) are built from these."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

from .errors import FieldProblem, InvalidJson, InvalidPayload, InvalidRequest, PayloadTooLarge
from .models import Signal
from .text import Text

# --- limits -----------------------------------------------------------------------------------------

PAGERDUTY_MAX_BODY_BYTES = 512 * 1024  # PagerDuty's own limit for one event
ALERTMANAGER_MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_SUMMARY = 1_024  # PagerDuty payload.summary; becomes the incident title
MAX_DETAILS_BYTES = 65_536  # payload.custom_details, and an alert's annotations, as compact UTF-8 JSON
MAX_TEXT = 1_024  # source, component, group, class, client, link text, image alt, receiver, label values
MAX_URL = 2_048
MAX_ROUTING_KEY = 64
MAX_DEDUP_KEY = 255  # PagerDuty's own limit
MAX_LINKS = 20  # links, and images, per event
MAX_DEPTH = 32  # nesting of JSON objects and arrays
MAX_ALERTS = 100  # per webhook: set Alertmanager's max_alerts to at most this
MAX_LABELS = 128  # labels, and annotations, per alert
MAX_LABEL_NAME = 256
MAX_ANNOTATION = 65_536
MAX_FINGERPRINT = 128
MAX_GROUP_KEY = 4_096
MAX_DESCRIPTION_DETAILS = 8_192  # characters of custom_details repeated in the incident description
# What one alert puts on its incident (title, description, labels, custom details, links), as stored: JSON
# with non-ASCII escaped. Every field can be within its limit and the sum still too big for a DynamoDB item
# (400 KB with everything else the incident collects), so the sum has a limit too.
MAX_STORED_BYTES = 192 * 1024


# --- JSON with bounds --------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text[:32]} is out of range")
    return number


# C0 controls other than tab, line feed and carriage return, and DEL: JSON may escape them, but no field means
# them, and a NUL or an ESC would travel on into email subjects, SMS and terminals. Refused, never stripped.
_CONTROL_CHARACTERS = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - {"\t", "\n", "\r"}


def text_problem(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not Unicode text)"
    control = next((c for c in text if c in _CONTROL_CHARACTERS), None)
    if control is not None:
        return f"contains the control character U+{ord(control):04X}"
    return None


def _flaw(document: Any, limit: int) -> tuple[tuple[str | int, ...], str, type[InvalidPayload]] | None:
    """The first place the document nests deeper than `limit` or holds text that is not Unicode (an unpaired
    surrogate escape) or holds a control character, found iteratively: a deep document must not blow the stack."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        children: Iterable[tuple[str | int, Any]]
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return path, problem, InvalidJson
            continue
        if isinstance(value, dict):
            for key in value:
                problem = text_problem(key)
                if problem:
                    return path, f"has a field name that {problem}", InvalidJson
            children = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if len(path) >= limit:  # as the parser's own limit answers (400), however deep
            return path, f"nests deeper than {limit} levels", InvalidJson
        stack.extend((child, (*path, key)) for key, child in children)
    return None


def decode_json(body: bytes | str | None, max_bytes: int, prefix: tuple[str, ...] = ()) -> Any:
    """Any JSON document within bounds (size, depth, number size, UTF-8, no control characters), or InvalidPayload
    naming the field at fault (under `prefix`, e.g. ("body",) for the API's names)."""
    if body is None or len(body) == 0:
        raise InvalidJson(problems=[FieldProblem("body", "is empty: expected a JSON object")])
    raw = body.encode("utf-8", errors="surrogatepass") if isinstance(body, str) else body
    if len(raw) > max_bytes:
        raise PayloadTooLarge(problems=[FieldProblem("body", f"is larger than {max_bytes:,} bytes")])
    try:
        text = raw.decode("utf-8")
        document = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except UnicodeDecodeError as error:
        raise InvalidJson(problems=[FieldProblem("body", f"is not UTF-8 text (byte {error.start})")]) from None
    except RecursionError:
        raise InvalidJson(problems=[FieldProblem("body", f"nests deeper than {MAX_DEPTH} levels")]) from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, huge numbers (over 4,300 digits)
        # (Python's advice on raising its digit limit means nothing to a client)
        reason = str(error).split("; use sys.set_int_max_str_digits()")[0][:200]
        raise InvalidJson(problems=[FieldProblem("body", f"is not valid JSON ({reason})")]) from None
    flaw = _flaw(document, MAX_DEPTH)
    if flaw is not None:
        path, problem, error_type = flaw
        raise error_type(problems=[FieldProblem(_dotted((*prefix, *path[:4])), problem)])
    return document


def decode_json_object(body: bytes | str | None, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, or InvalidPayload naming `body` (or the field at fault)."""
    document = decode_json(body, max_bytes)
    if not isinstance(document, dict):
        raise InvalidRequest(problems=[FieldProblem("body", f"must be a JSON object, not {_json_type(document)}")])
    return document


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", errors="surrogatepass"))


# --- pydantic errors → field problems ----------------------------------------------------------------


def _dotted(loc: tuple[str | int, ...]) -> str:
    parts = []
    for part in loc:
        text = str(part)
        parts.append(text if len(text) <= 64 else f"{text[:61]}...")
    return ".".join(parts) or "body"


_TYPE_NAMES = {
    "string_type": "must be a string",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be an array",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "int_parsing": "must be an integer",
}


def _problem(error: Mapping[str, Any], blank: str) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing":
        return blank
    if kind == "string_too_short":
        return blank if ctx.get("min_length") == 1 else f"is shorter than {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"is longer than {ctx.get('max_length'):,} characters"
    if kind == "too_long":
        return f"has more than {ctx.get('max_length'):,} items"
    if kind in ("literal_error", "enum"):
        return f"is invalid (must be one of: {str(ctx.get('expected', '')).replace(' or ', ', ')})".replace("'", "")
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in _TYPE_NAMES:
        return _TYPE_NAMES[kind]
    if kind.startswith("datetime"):
        return "must be an ISO 8601 timestamp"
    return str(error["msg"])[:200]


def _problems(
    error: ValidationError, prefix: tuple[str | int, ...] = (), blank: str = "is missing or blank"
) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    for detail in error.errors(include_url=False, include_input=False):
        loc, problem = tuple(detail["loc"]), _problem(detail, blank)
        if loc and loc[-1] == "[key]":  # pydantic's marker for a dict key at fault: say so in words
            empty = detail["type"] == "string_too_short"
            loc, problem = (loc[:-2], "has an empty name") if empty else (loc[:-1], f"(the name) {problem}")
        found.append(FieldProblem(_dotted((*prefix, *loc)), problem))
    return found


# --- shared field types ------------------------------------------------------------------------------


def _iso_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise ValueError("must be an ISO 8601 timestamp string")


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


# An optional string: blank or null is absent.
OptionalText = Annotated[
    Annotated[str, Text(MAX_TEXT, required=False, one_line=False)] | None, BeforeValidator(_blank_is_none)
]


Timestamp = Annotated[datetime, BeforeValidator(_iso_string)]


def _http_url(value: Any) -> Any:
    if isinstance(value, str) and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


HttpUrl = Annotated[str, BeforeValidator(_http_url), StringConstraints(max_length=MAX_URL)]


class _Wire(BaseModel):
    # Tools send fields firebell does not use (and new ones over time): ignored, as PagerDuty does.
    # defer_build: a model's validator is built on its first use, so a function builds only the models it uses (cold start).
    model_config = ConfigDict(defer_build=True, extra="ignore", frozen=True, populate_by_name=True)


def _stored_bytes(value: Any) -> int:
    return len(json.dumps(value))  # as the incident store writes it (ASCII-escaped JSON)


def _storable(signal: Signal, sources: dict[str, Any]) -> Signal:
    """The signal, if what it puts on the incident fits; else too_large naming the biggest field it came from."""
    stored = _stored_bytes(
        signal.model_dump(mode="json", include={"summary", "details", "labels", "custom_details", "links"})
    )
    if stored > MAX_STORED_BYTES:
        field = max(sources, key=lambda name: _stored_bytes(sources[name]))
        raise PayloadTooLarge(
            problems=[
                FieldProblem(
                    field,
                    f"is too large: with the rest of the alert it comes to {stored:,} bytes as stored, at most {MAX_STORED_BYTES:,}",
                )
            ]
        )
    return signal
