"""Monitoring tools on the wire: PagerDuty Events API v2 events and Prometheus Alertmanager webhooks (v4).

Pure: bytes in, validated models out, then `Signal`s for AlertIntake.handle_signal. Anything malformed
raises an `InvalidPayload` (InvalidJson, PayloadTooLarge or InvalidRequest, in domain/errors.py) listing every
problem with the field it concerns; nothing else escapes a parser.
The limits below are documented in docs/integrations.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StringConstraints, ValidationError, field_validator

from .enums import Source
from .errors import FieldProblem, InvalidJson, InvalidRequest, PayloadTooLarge
from .models import Signal
from .rules import PagerDutySeverity, SeverityRules

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


def _flaw(document: Any, limit: int) -> tuple[tuple[str | int, ...], str] | None:
    """The first place the document nests deeper than `limit` or holds text that is not Unicode (an unpaired
    surrogate escape), found iteratively: a deep document must not blow the stack."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not _is_unicode(value):
                return path, "contains an unpaired surrogate (not Unicode text)"
            continue
        if isinstance(value, dict):
            for key in value:
                if not _is_unicode(key):
                    return path, "has a field name with an unpaired surrogate (not Unicode text)"
            children = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if len(path) >= limit:
            return path, f"nests deeper than {limit} levels"
        stack.extend((child, (*path, key)) for key, child in children)
    return None


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def decode_json_object(body: bytes | str | None, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object, or InvalidPayload naming `body` (or the path that nests too deeply)."""
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
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, huge numbers
        raise InvalidJson(problems=[FieldProblem("body", f"is not valid JSON ({str(error)[:200]})")]) from None
    if not isinstance(document, dict):
        raise InvalidRequest(problems=[FieldProblem("body", f"must be a JSON object, not {_json_type(document)}")])
    flaw = _flaw(document, MAX_DEPTH)
    if flaw is not None:
        path, problem = flaw
        raise InvalidRequest(problems=[FieldProblem(_dotted(path[:4]), problem)])
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
    "string_type": "must be a string", "dict_type": "must be an object", "model_type": "must be an object",
    "model_attributes_type": "must be an object", "list_type": "must be an array", "int_type": "must be an integer",
    "int_from_float": "must be an integer", "int_parsing": "must be an integer",
}


def _problem(error: dict[str, Any], blank: str) -> str:
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


def _problems(error: ValidationError, prefix: tuple[str | int, ...] = (), blank: str = "is missing or blank") -> list[FieldProblem]:
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


def _text(max_length: int) -> Any:
    """A required string: blank is missing."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)]


def _optional_text(max_length: int) -> Any:
    """An optional string: blank or null is absent."""
    return Annotated[Annotated[str, StringConstraints(strip_whitespace=True, max_length=max_length)] | None, BeforeValidator(_blank_is_none)]


Timestamp = Annotated[datetime, BeforeValidator(_iso_string)]


def _http_url(value: Any) -> Any:
    if isinstance(value, str) and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


HttpUrl = Annotated[str, BeforeValidator(_http_url), StringConstraints(max_length=MAX_URL)]


class _Wire(BaseModel):
    # Tools send fields firebell does not use (and new ones over time): ignored, as PagerDuty does.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


def _stored_bytes(value: Any) -> int:
    return len(json.dumps(value))  # as the incident store writes it (ASCII-escaped JSON)


def _storable(signal: Signal, sources: dict[str, Any]) -> Signal:
    """The signal, if what it puts on the incident fits; else too_large naming the biggest field it came from."""
    stored = _stored_bytes(signal.model_dump(mode="json", include={"summary", "details", "labels", "custom_details", "links"}))
    if stored > MAX_STORED_BYTES:
        field = max(sources, key=lambda name: _stored_bytes(sources[name]))
        raise PayloadTooLarge(problems=[FieldProblem(
            field, f"is too large: with the rest of the alert it comes to {stored:,} bytes as stored, at most {MAX_STORED_BYTES:,}")])
    return signal


# --- PagerDuty Events API v2 ---------------------------------------------------------------------------


OptionalHttpUrl = Annotated[HttpUrl | None, BeforeValidator(_blank_is_none)]


class PagerDutyLink(_Wire):
    href: HttpUrl
    text: _optional_text(MAX_TEXT) = None


class PagerDutyImage(_Wire):
    src: HttpUrl
    href: OptionalHttpUrl = None
    alt: _optional_text(MAX_TEXT) = None


class PagerDutyPayload(_Wire):
    summary: _text(MAX_SUMMARY)
    source: _text(MAX_TEXT)
    severity: PagerDutySeverity
    timestamp: Timestamp | None = None
    component: _optional_text(MAX_TEXT) = None
    group: _optional_text(MAX_TEXT) = None
    class_: _optional_text(MAX_TEXT) = Field(default=None, alias="class")
    custom_details: Any = None

    @field_validator("custom_details")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if value is not None and _json_bytes(value) > MAX_DETAILS_BYTES:
            raise ValueError(f"is larger than {MAX_DETAILS_BYTES // 1024} KiB ({MAX_DETAILS_BYTES:,} bytes) as JSON")
        return value


class PagerDutyEnvelope(_Wire):
    routing_key: _text(MAX_ROUTING_KEY)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    # Kept verbatim (not stripped): it is the caller's key.
    dedup_key: Annotated[Annotated[str, StringConstraints(max_length=MAX_DEDUP_KEY)] | None, BeforeValidator(_blank_is_none)] = None
    payload: Any = None  # validated as PagerDutyPayload for triggers; acknowledge and resolve ignore it
    links: Annotated[list[PagerDutyLink], Field(max_length=MAX_LINKS)] | None = None
    images: Annotated[list[PagerDutyImage], Field(max_length=MAX_LINKS)] | None = None
    client: _optional_text(MAX_TEXT) = None
    client_url: OptionalHttpUrl = None


@dataclass(frozen=True, slots=True)
class PagerDutyEvent:
    envelope: PagerDutyEnvelope
    payload: PagerDutyPayload | None  # set for triggers


def parse_pagerduty_event(body: bytes | str | None) -> PagerDutyEvent:
    """POST /v2/enqueue's body. Every problem is reported at once, as PagerDuty does."""
    document = decode_json_object(body, PAGERDUTY_MAX_BODY_BYTES)
    problems: list[FieldProblem] = []
    envelope = payload = None
    try:
        envelope = PagerDutyEnvelope.model_validate(document)
    except ValidationError as error:
        problems += _problems(error)
    action = document.get("event_action")
    if action == "trigger":
        if not isinstance(document.get("payload"), dict):
            problems.append(FieldProblem("payload", "is missing or blank" if document.get("payload") is None else "must be an object"))
        else:
            try:
                payload = PagerDutyPayload.model_validate(document["payload"])
            except ValidationError as error:
                problems += _problems(error, ("payload",))
    elif action in ("acknowledge", "resolve") and _blank_is_none(document.get("dedup_key")) is None:
        problems.append(FieldProblem("dedup_key", f"is missing or blank (required to {action})"))
    if problems:
        raise InvalidRequest(problems=problems)
    assert envelope is not None
    return PagerDutyEvent(envelope, payload)


def _namespaced(source: str, service: str, key: str) -> str:
    return f"{source}:{service}:{key}"


def pagerduty_dedup_key(service: str, dedup_key: str) -> str:
    return _namespaced("pagerduty", service, dedup_key)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pagerduty_signal(
    event: PagerDutyEvent, service: str, severity: SeverityRules, new_key: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> tuple[Signal, str]:
    """The Signal for an event of the service the routing key belongs to, and the dedup key to answer with
    (the caller's, or a new one for a trigger without). PayloadTooLarge if it would not fit on an incident."""
    envelope = event.envelope
    dedup_key = envelope.dedup_key or new_key()
    actor = _clip(envelope.client or "pagerduty-events", 256)
    links = [{"href": link.href, "text": link.text or link.href} for link in envelope.links or []]
    if envelope.client_url:
        links.append({"href": envelope.client_url, "text": envelope.client or envelope.client_url})
    payload = event.payload
    if envelope.event_action != "trigger" or payload is None:
        return Signal(
            source=Source.PAGERDUTY, action=envelope.event_action, dedup_key=pagerduty_dedup_key(service, dedup_key),
            summary=f"PagerDuty event {_clip(dedup_key, 200)}", details=f"{envelope.event_action} from {actor}",
            actor=actor, service=service, links=links,
        ), dedup_key
    mapped = severity.for_pagerduty(payload.severity)
    context = {
        "source": payload.source, "severity": payload.severity.value,
        "timestamp": payload.timestamp.isoformat() if payload.timestamp else None,
        "component": payload.component, "group": payload.group, "class": payload.class_,
        "client": envelope.client, "client_url": envelope.client_url,
        "images": [image.model_dump(exclude_none=True) for image in envelope.images or []],
        "custom_details": payload.custom_details,
    }
    custom_details = {k: v for k, v in context.items() if v not in (None, [])}
    header = [f"{name}: {custom_details[name]}" for name in ("source", "severity", "component", "group", "class") if name in custom_details]
    details = "\n".join(header)
    if payload.custom_details is not None:
        rendered = payload.custom_details if isinstance(payload.custom_details, str) else json.dumps(payload.custom_details, ensure_ascii=False)
        details += "\n\n" + _clip(rendered, MAX_DESCRIPTION_DETAILS)
    signal = Signal(
        source=Source.PAGERDUTY, action="trigger", dedup_key=pagerduty_dedup_key(service, dedup_key),
        summary=payload.summary, details=_clip(details.strip(), MAX_ANNOTATION), actor=actor, service=service,
        impact=mapped.impact, urgency=mapped.urgency, custom_details=custom_details, links=links,
    )
    sources = {"payload.custom_details": payload.custom_details, "links": envelope.model_dump(include={"links"}),
               "images": envelope.model_dump(include={"images"}),
               "payload": payload.model_dump(exclude={"custom_details"}, mode="json"),
               "client": [envelope.client, envelope.client_url]}
    return _storable(signal, sources), dedup_key


# --- Prometheus Alertmanager webhook, version 4 --------------------------------------------------------

LabelName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_NAME)]
LabelSet = Annotated[dict[LabelName, Annotated[str, StringConstraints(max_length=MAX_TEXT)]], Field(max_length=MAX_LABELS)]


def _bounded_annotations(value: dict[str, str]) -> dict[str, str]:
    if _json_bytes(value) > MAX_DETAILS_BYTES:
        raise ValueError(f"are larger than {MAX_DETAILS_BYTES // 1024} KiB ({MAX_DETAILS_BYTES:,} bytes) together as JSON")
    return value


def _null_is_empty(value: Any) -> Any:
    return {} if value is None else value


Annotations = Annotated[
    dict[LabelName, Annotated[str, StringConstraints(max_length=MAX_ANNOTATION)]],
    Field(max_length=MAX_LABELS),
    BeforeValidator(_null_is_empty),
]
AlertStatus = Literal["firing", "resolved"]
TITLE_ANNOTATIONS = ("summary", "title")


class AlertmanagerAlert(_Wire):
    status: AlertStatus
    labels: LabelSet
    annotations: Annotations = {}
    startsAt: Timestamp | None = None
    endsAt: Timestamp | None = None
    generatorURL: Annotated[str, StringConstraints(max_length=MAX_URL)] | None = None
    fingerprint: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_FINGERPRINT)] | None = None

    @field_validator("annotations")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        return _bounded_annotations(value)

    def key(self) -> str:
        """Alertmanager's fingerprint; older senders lack it, so the same label set gets the same key."""
        if self.fingerprint:
            return self.fingerprint
        canonical = json.dumps(sorted(self.labels.items()), ensure_ascii=False)
        return "labels-" + hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()[:16]


class AlertmanagerWebhook(_Wire):
    version: Literal["4"]
    status: AlertStatus
    alerts: Annotated[list[AlertmanagerAlert], Field(max_length=MAX_ALERTS)]
    receiver: Annotated[str, StringConstraints(max_length=MAX_TEXT)] | None = None
    groupKey: Annotated[str, StringConstraints(max_length=MAX_GROUP_KEY)] | None = None
    truncatedAlerts: Annotated[StrictInt, Field(ge=0)] = 0
    groupLabels: Annotated[LabelSet, BeforeValidator(_null_is_empty)] = {}
    commonLabels: Annotated[LabelSet, BeforeValidator(_null_is_empty)] = {}
    commonAnnotations: Annotations = {}
    externalURL: Annotated[str, StringConstraints(max_length=MAX_URL)] | None = None

    @field_validator("commonAnnotations")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        return _bounded_annotations(value)


def parse_alertmanager_webhook(body: bytes | str | None) -> AlertmanagerWebhook:
    """POST /v1/alertmanager/<routing key>'s body; problems are named `body.<path>` as elsewhere in the API."""
    document = decode_json_object(body, ALERTMANAGER_MAX_BODY_BYTES)
    try:
        webhook = AlertmanagerWebhook.model_validate(document)
    except ValidationError as error:
        raise InvalidRequest(problems=_problems(error, blank="is missing")) from None
    # The annotations that become the incident title have the title's limit.
    too_long = [
        FieldProblem(f"alerts.{i}.annotations.{name}", f"is longer than {MAX_SUMMARY:,} characters (it becomes the incident title)")
        for i, alert in enumerate(webhook.alerts) for name in TITLE_ANNOTATIONS
        if len(alert.annotations.get(name, "")) > MAX_SUMMARY
    ]
    if too_long:
        raise InvalidRequest(problems=too_long)
    return webhook


def alertmanager_dedup_key(service: str, fingerprint: str) -> str:
    return _namespaced("alertmanager", service, fingerprint)


def _is_set(moment: datetime | None) -> bool:
    return moment is not None and moment.year > 1  # Alertmanager sends 0001-01-01T00:00:00Z for "not yet"


def _title(alert: AlertmanagerAlert) -> str:
    name = alert.labels.get("alertname", "").strip()
    summary = (alert.annotations.get("summary") or alert.annotations.get("title") or "").strip()
    if name and summary and not summary.startswith(name):
        title = f"{name}: {summary}"
    else:
        title = summary or name or f"Alertmanager alert {alert.key()}"
    return _clip(" ".join(title.split()), MAX_SUMMARY)


def alertmanager_signals(webhook: AlertmanagerWebhook, service: str, severity: SeverityRules) -> list[Signal]:
    """One Signal per alert: firing triggers (or counts a repeat), resolved resolves. PayloadTooLarge
    if any alert would not fit on its incident."""
    signals = []
    for index, alert in enumerate(webhook.alerts):
        fingerprint = alert.key()
        mapped = severity.for_alertmanager(alert.labels)
        description = (alert.annotations.get("description") or alert.annotations.get("message") or "").strip()
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        if alert.status == "firing":
            details = "\n\n".join(part for part in (description, f"labels: {labels}" if labels else "") if part)
        else:
            ended = alert.endsAt.isoformat() if _is_set(alert.endsAt) else None
            details = f"Alertmanager reports it resolved{f' at {ended}' if ended else ''}"
        context = {
            "annotations": alert.annotations,
            "fingerprint": fingerprint,
            "startsAt": alert.startsAt.isoformat() if _is_set(alert.startsAt) else None,
            "endsAt": alert.endsAt.isoformat() if _is_set(alert.endsAt) else None,
            "generatorURL": alert.generatorURL or None,
            "receiver": webhook.receiver,
            "groupKey": webhook.groupKey,
            "externalURL": webhook.externalURL or None,
        }
        links = []
        if alert.generatorURL and alert.generatorURL.lower().startswith(("http://", "https://")):
            links.append({"href": alert.generatorURL, "text": "Source (generator URL)"})
        if webhook.externalURL and webhook.externalURL.lower().startswith(("http://", "https://")):
            links.append({"href": webhook.externalURL, "text": "Alertmanager"})
        signal = Signal(
            source=Source.ALERTMANAGER,
            action="trigger" if alert.status == "firing" else "resolve",
            dedup_key=alertmanager_dedup_key(service, fingerprint),
            summary=_title(alert),
            details=_clip(details, MAX_ANNOTATION),
            actor="alertmanager",
            service=service,
            impact=mapped.impact if mapped else None,
            urgency=mapped.urgency if mapped else None,
            labels=dict(alert.labels),
            custom_details={k: v for k, v in context.items() if v is not None},
            links=links,
        )
        at = f"alerts.{index}"
        signals.append(_storable(signal, {f"{at}.annotations": alert.annotations, f"{at}.labels": alert.labels,
                                          f"{at}.generatorURL": alert.generatorURL, "groupKey": webhook.groupKey}))
    return signals
