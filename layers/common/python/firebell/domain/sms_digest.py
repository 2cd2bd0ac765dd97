"""The SMS digest: carriers start blocking a sender after ~16 messages an hour to one number, so past
`notifications.sms_digest.after` SMS pages to one person in a `per_minutes` window, the rest of the window's
SMS pages are held and go out as one digest SMS when the window ends (email still goes per page). Windows are
fixed (aligned to the epoch): the count and the digest are per person and window. Pure: no clock, no I/O."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

_MAX_SMS = 1500  # SNS sends up to 1,600 characters as a multi-part SMS
_LINE = 140


def window_of(at: datetime, window_seconds: int) -> int:
    return int(at.timestamp()) // window_seconds


def window_end(window: int, window_seconds: int) -> datetime:
    return datetime.fromtimestamp((window + 1) * window_seconds, UTC)


def digest_id(person: str, window: int) -> str:
    """Names the digest on timelines and its timer's execution (at most 80 characters, as Step Functions allows)."""
    who = person if len(person) <= 40 else hashlib.sha256(person.encode()).hexdigest()[:16]
    return f"sms-digest-{who}-{window}"


def digest_text(digest: str, held: list[dict[str, Any]], after: int, per_minutes: float) -> str:
    """One SMS naming every held page (their one-click links stay in the emails sent for each)."""
    head = (
        f"firebell digest {digest}: {len(held)} more page(s) after {after} SMS in {per_minutes:g} min; see each email."
    )
    lines = [head]
    for n, item in enumerate(held):
        line = item["text"].split(" Ack: ")[0][:_LINE]
        if sum(len(x) + 1 for x in lines) + len(line) > _MAX_SMS - 20:
            lines.append(f"... and {len(held) - n} more")
            break
        lines.append(line)
    return "\n".join(lines)
