"""PagerDuty Change Events (POST /v2/change/enqueue) on the wire: a deploy, a config push, a rotated secret.

Pure: bytes in, a validated ChangeEvent out (or InvalidPayload naming each field, like the alert events in
integrations.py). A change is not a problem: it opens nothing and pages nobody; usecases/change_events.py puts it
on the timeline of its service's open incidents, where responders look for "what changed?".
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from pydantic import Field, ValidationError

from .errors import InvalidRequest
from .integrations import CustomDetails, PagerDutyLink
from .text import Text
from .wire import (
    MAX_LINKS,
    MAX_ROUTING_KEY,
    MAX_SUMMARY,
    PAGERDUTY_MAX_BODY_BYTES,
    OptionalText,
    Timestamp,
    _problems,
    _Wire,
    decode_json_object,
)


class ChangePayload(_Wire):
    summary: Annotated[str, Text(MAX_SUMMARY)]
    source: OptionalText = None
    timestamp: Timestamp | None = None
    custom_details: CustomDetails = None


class ChangeEvent(_Wire):
    """PagerDuty's change event: `routing_key`, `payload` (summary required), `links` (images are ignored, as PagerDuty
    ignores them on change events)."""

    routing_key: Annotated[str, Text(MAX_ROUTING_KEY)]
    payload: ChangePayload
    links: Annotated[list[PagerDutyLink], Field(max_length=MAX_LINKS)] | None = None

    def identity(self) -> str | None:
        """What tells a client's retry from a new change: the whole event, when it carries its own timestamp. PagerDuty
        has no dedup key for changes; without a timestamp two identical changes cannot be told from one sent twice."""
        if self.payload.timestamp is None:
            return None
        canonical = json.dumps(
            self.model_dump(mode="json", exclude={"routing_key"}), sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]

    def details(self) -> dict[str, Any]:
        """What the timeline entry keeps."""
        dumped = self.model_dump(mode="json", exclude={"routing_key"}, exclude_none=True)
        return {**dumped["payload"], "links": dumped.get("links", [])}


def parse_change_event(body: bytes | str | None) -> ChangeEvent:
    """POST /v2/change/enqueue's body; every problem at once, each naming its field (`payload.summary`)."""
    document = decode_json_object(body, PAGERDUTY_MAX_BODY_BYTES)
    try:
        return ChangeEvent.model_validate(document)
    except ValidationError as error:
        raise InvalidRequest(problems=_problems(error)) from None
