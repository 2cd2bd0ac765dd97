"""Time zone names as the config and the API take them: IANA names (Europe/London), checked against the zone database
the layer ships (tzdata), with one message wherever a zone is named."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def known_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/London") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(known_time_zone)]
