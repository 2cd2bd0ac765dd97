"""Monitoring tools on the wire: PagerDuty Events API v2 events and Prometheus Alertmanager webhooks (v4).

Pure: bytes in, validated models out, then `Signal`s for AlertIntake.handle_signal. Anything malformed
raises an `InvalidPayload` (InvalidJson, PayloadTooLarge or InvalidRequest, in domain/errors.py) listing every
problem with the field it concerns; nothing else escapes a parser.
The limits below are documented in docs/integrations.md.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, TypeGuard

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
)

from .enums import Source
from .errors import FieldProblem, InvalidRequest
from .models import Signal
from .rules import PagerDutySeverity, SeverityRules
from .text import Text
from .wire import (  # the shared wire rules; the public ones are part of this module's interface too
    ALERTMANAGER_MAX_BODY_BYTES,
    MAX_ALERTS,
    MAX_ANNOTATION,
    MAX_DEDUP_KEY,
    MAX_DESCRIPTION_DETAILS,
    MAX_DETAILS_BYTES,
    MAX_FINGERPRINT,
    MAX_GROUP_KEY,
    MAX_LABEL_NAME,
    MAX_LABELS,
    MAX_LINKS,
    MAX_ROUTING_KEY,
    MAX_SUMMARY,
    MAX_TEXT,
    MAX_URL,
    PAGERDUTY_MAX_BODY_BYTES,
    HttpUrl,
    OptionalText,
    Timestamp,
    _blank_is_none,
    _json_bytes,
    _problems,
    _storable,
    _Wire,
    decode_json_object,
)

# --- PagerDuty Events API v2 ---------------------------------------------------------------------------


OptionalHttpUrl = Annotated[HttpUrl | None, BeforeValidator(_blank_is_none)]


class PagerDutyLink(_Wire):
    href: HttpUrl
    text: OptionalText = None


class PagerDutyImage(_Wire):
    src: HttpUrl
    href: OptionalHttpUrl = None
    alt: OptionalText = None


def _bounded_details(value: Any) -> Any:
    if value is not None and _json_bytes(value) > MAX_DETAILS_BYTES:
        raise ValueError(f"is larger than {MAX_DETAILS_BYTES // 1024} KiB ({MAX_DETAILS_BYTES:,} bytes) as JSON")
    return value


CustomDetails = Annotated[Any, AfterValidator(_bounded_details)]  # payload.custom_details: any JSON, bounded


class PagerDutyPayload(_Wire):
    summary: Annotated[str, Text(MAX_SUMMARY)]
    source: Annotated[str, Text(MAX_TEXT)]
    severity: PagerDutySeverity
    timestamp: Timestamp | None = None
    component: OptionalText = None
    group: OptionalText = None
    class_: OptionalText = Field(default=None, alias="class")
    custom_details: CustomDetails = None


class PagerDutyEnvelope(_Wire):
    routing_key: Annotated[str, Text(MAX_ROUTING_KEY)]
    event_action: Literal["trigger", "acknowledge", "resolve"]
    # Kept verbatim (not stripped): it is the caller's key.
    dedup_key: Annotated[
        Annotated[str, StringConstraints(max_length=MAX_DEDUP_KEY)] | None, BeforeValidator(_blank_is_none)
    ] = None
    payload: Any = None  # validated as PagerDutyPayload for triggers; acknowledge and resolve ignore it
    links: Annotated[list[PagerDutyLink], Field(max_length=MAX_LINKS)] | None = None
    images: Annotated[list[PagerDutyImage], Field(max_length=MAX_LINKS)] | None = None
    client: OptionalText = None
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
            problems.append(
                FieldProblem(
                    "payload", "is missing or blank" if document.get("payload") is None else "must be an object"
                )
            )
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
    event: PagerDutyEvent,
    service: str,
    severity: SeverityRules,
    new_key: Callable[[], str] = lambda: uuid.uuid4().hex,
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
            source=Source.PAGERDUTY,
            action=envelope.event_action,
            dedup_key=pagerduty_dedup_key(service, dedup_key),
            summary=f"PagerDuty event {_clip(dedup_key, 200)}",
            details=f"{envelope.event_action} from {actor}",
            actor=actor,
            service=service,
            links=links,
        ), dedup_key
    mapped = severity.for_pagerduty(payload.severity)
    context = {
        "source": payload.source,
        "severity": payload.severity.value,
        "timestamp": payload.timestamp.isoformat() if payload.timestamp else None,
        "component": payload.component,
        "group": payload.group,
        "class": payload.class_,
        "client": envelope.client,
        "client_url": envelope.client_url,
        "images": [image.model_dump(exclude_none=True) for image in envelope.images or []],
        "custom_details": payload.custom_details,
    }
    custom_details = {k: v for k, v in context.items() if v not in (None, [])}
    header = [
        f"{name}: {custom_details[name]}"
        for name in ("source", "severity", "component", "group", "class")
        if name in custom_details
    ]
    details = "\n".join(header)
    if payload.custom_details is not None:
        rendered = (
            payload.custom_details
            if isinstance(payload.custom_details, str)
            else json.dumps(payload.custom_details, ensure_ascii=False)
        )
        details += "\n\n" + _clip(rendered, MAX_DESCRIPTION_DETAILS)
    signal = Signal(
        source=Source.PAGERDUTY,
        action="trigger",
        dedup_key=pagerduty_dedup_key(service, dedup_key),
        summary=payload.summary,
        details=_clip(details.strip(), MAX_ANNOTATION),
        actor=actor,
        service=service,
        impact=mapped.impact,
        urgency=mapped.urgency,
        custom_details=custom_details,
        links=links,
    )
    sources = {
        "payload.custom_details": payload.custom_details,
        "links": envelope.model_dump(include={"links"}),
        "images": envelope.model_dump(include={"images"}),
        "payload": payload.model_dump(exclude={"custom_details"}, mode="json"),
        "client": [envelope.client, envelope.client_url],
    }
    return _storable(signal, sources), dedup_key


# --- Prometheus Alertmanager webhook, version 4 --------------------------------------------------------

LabelName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_NAME)]
LabelSet = Annotated[
    dict[LabelName, Annotated[str, StringConstraints(max_length=MAX_TEXT)]], Field(max_length=MAX_LABELS)
]


def _bounded_annotations(value: dict[str, str]) -> dict[str, str]:
    if _json_bytes(value) > MAX_DETAILS_BYTES:
        raise ValueError(
            f"are larger than {MAX_DETAILS_BYTES // 1024} KiB ({MAX_DETAILS_BYTES:,} bytes) together as JSON"
        )
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
    annotations: Annotations = Field(default_factory=dict)
    startsAt: Timestamp | None = None
    endsAt: Timestamp | None = None
    generatorURL: Annotated[str, StringConstraints(max_length=MAX_URL)] | None = None
    fingerprint: Annotated[str, Text(MAX_FINGERPRINT)] | None = None

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
    groupLabels: Annotated[LabelSet, BeforeValidator(_null_is_empty)] = Field(default_factory=dict)
    commonLabels: Annotated[LabelSet, BeforeValidator(_null_is_empty)] = Field(default_factory=dict)
    commonAnnotations: Annotations = Field(default_factory=dict)
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
        FieldProblem(
            f"alerts.{i}.annotations.{name}",
            f"is longer than {MAX_SUMMARY:,} characters (it becomes the incident title)",
        )
        for i, alert in enumerate(webhook.alerts)
        for name in TITLE_ANNOTATIONS
        if len(alert.annotations.get(name, "")) > MAX_SUMMARY
    ]
    if too_long:
        raise InvalidRequest(problems=too_long)
    return webhook


def alertmanager_dedup_key(service: str, fingerprint: str) -> str:
    return _namespaced("alertmanager", service, fingerprint)


def _is_set(moment: datetime | None) -> TypeGuard[datetime]:
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
        signals.append(
            _storable(
                signal,
                {
                    f"{at}.annotations": alert.annotations,
                    f"{at}.labels": alert.labels,
                    f"{at}.generatorURL": alert.generatorURL,
                    "groupKey": webhook.groupKey,
                },
            )
        )
    return signals
