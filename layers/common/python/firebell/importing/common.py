"""What both importers share: reading the vendors' JSON with errors that name the field, stable ids, restriction
windows as firebell writes them, and the report of what could not be mapped."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .sources import ImportError_

T = TypeVar("T")
Entry = dict[str, Any]  # one config entry, as it is written to YAML
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A turn longer than this is nobody's rotation, and stepping a schedule by a vast one overflows datetime at run time.
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # the directory's EmailAddress pattern
MAX_LEVEL_MINUTES = 7 * 24 * 60  # an escalation level's longest wait (domain/directory.py)
MAX_TURN_HOURS = 366 * 24  # a custom rotation's longest turn (domain/schedules.py)
_KIND_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object", bool: "true or false"}


def is_address(email: str) -> bool:
    """Whether `email` is an address a person of the directory may have (domain/directory.py's EmailAddress)."""
    return ADDRESS.fullmatch(email) is not None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def need(obj: Any, key: str, kind: type[T], where: str) -> T:
    """obj[key], which must be of `kind` (bool is not an int here); else an ImportError_ naming where.key."""
    if not isinstance(obj, dict):
        raise ImportError_(f"{where}: expected an object, got {_kind(obj)}")
    if key not in obj or obj[key] is None:
        raise ImportError_(f"{where}.{key}: missing")
    return _typed(obj[key], kind, f"{where}.{key}")


def maybe(obj: Any, key: str, kind: type[T], where: str, default: T) -> T:
    """obj[key] if present and not null, of `kind`; else the default."""
    if not isinstance(obj, dict):
        raise ImportError_(f"{where}: expected an object, got {_kind(obj)}")
    if obj.get(key) is None:
        return default
    return _typed(obj[key], kind, f"{where}.{key}")


def _typed(value: Any, kind: type[T], where: str) -> T:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ImportError_(f"{where}: expected {_KIND_NAMES.get(kind, kind.__name__)}, got {_kind(value)}")
    return value


def objects(obj: Any, key: str, where: str, required: bool = True) -> list[tuple[str, dict[str, Any]]]:
    """The objects of the list obj[key], each with its path for errors (e.g. users[3])."""
    items = need(obj, key, list, where) if required else maybe(obj, key, list, where, [])
    out = []
    for i, item in enumerate(items):
        path = f"{where}.{key}[{i}]" if where else f"{key}[{i}]"
        if not isinstance(item, dict):
            raise ImportError_(f"{path}: expected an object, got {_kind(item)}")
        out.append((path, item))
    return out


def ident(obj: Any, key: str = "id") -> str | None:
    """obj[key] when obj is an object and that is a string; else None (for look-ups that skip what is odd)."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def items_of(obj: Any, key: str) -> list[Any]:
    """obj[key] when it is a list; else [] (read-only references, such as a policy's teams, that may be absent)."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []


def instant(value: Any, where: str) -> datetime:
    """An ISO 8601 date-time with an offset (both vendors send them so; a Z is UTC)."""
    if not isinstance(value, str):
        raise ImportError_(f"{where}: expected a date-time string, got {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ImportError_(f"{where}: {value[:40]!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise ImportError_(f"{where}: {value[:40]!r} has no UTC offset")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset lands outside datetime's range
        raise ImportError_(f"{where}: {value[:40]!r} is out of range") from None


def zone(name: Any, where: str) -> ZoneInfo:
    if not isinstance(name, str):
        raise ImportError_(f"{where}: expected a time zone name, got {_kind(name)}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ImportError_(f"{where}: {name[:60]!r} is not an IANA time zone name") from None


def is_zone(name: Any) -> bool:
    try:
        ZoneInfo(name)
        return isinstance(name, str)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        return False


def slug(text: str, fallback: str) -> str:
    """A firebell id from a name: lower-case ASCII letters, digits and dashes (a schedule id's pattern)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
    return cleaned or fallback


def name_id(name: str, kind: str, source_id: str) -> str:
    """The id wanted for an entry named `name`: its slug, or, when that has no letter (運用チーム, or its digits
    alone), the kind and the source's id (`schedule-p1a2b3c`): readable, and the same on every import."""
    wanted = slug(name, "")
    return wanted if re.search("[a-z]", wanted) else slug(f"{kind}-{source_id}", kind)


def clock(value: time) -> str:
    return value.strftime("%H:%M:%S") if value.second else value.strftime("%H:%M")


def after(start: time, seconds: int) -> tuple[int, time]:
    """(whole days later, wall time) `seconds` after `start` on a wall clock."""
    total = start.hour * 3600 + start.minute * 60 + start.second + seconds
    days, rest = divmod(total, 86400)
    return days, time(rest // 3600, rest % 3600 // 60, rest % 60)


def daily_window(start: time, seconds: int) -> Entry:
    """A daily restriction from start for `seconds` (at most a day; a whole day is end == start)."""
    _, end = after(start, seconds)
    return {"type": "daily", "start": clock(start), "end": clock(end)}


def weekly_window(start_day: int, start: time, seconds: int) -> Entry:
    """A weekly restriction from weekday start_day (Monday 0) at start, for `seconds` (at most a week)."""
    days, end = after(start, seconds)
    return {
        "type": "weekly",
        "start_day": WEEKDAYS[start_day],
        "start": clock(start),
        "end_day": WEEKDAYS[(start_day + days) % 7],
        "end": clock(end),
    }


def distinct_name(name: str, taken: set[str]) -> str:
    """name, or name-2, name-3 … the first not taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def rotation(step_hours: int, origin_local: datetime) -> Entry:
    """A firebell rotation stepping `step_hours` of wall clock from the local date and handoff time."""
    handoff = origin_local.time().replace(microsecond=0)
    kind: Entry = {"start": origin_local.date().isoformat(), "handoff": clock(handoff)}
    if step_hours == 24:
        return {"type": "daily", **kind}
    if step_hours == 24 * 7:
        return {"type": "weekly", **kind}
    return {"type": "custom", **kind, "length_hours": step_hours}


@dataclass
class NotMapped:
    kind: str  # user, schedule, layer, rotation, override, escalation_policy, rule, team, service, integration …
    source_id: str
    name: str
    why: str

    def line(self) -> str:
        named = f" ({self.name})" if self.name and self.name != self.source_id else ""
        return f"{self.kind} {self.source_id}{named}: {self.why}"


@dataclass
class Imported:
    """What an importer made of the source: entries keyed by their source key (e.g. user:PXXXX), firebell ids
    already assigned, and everything it could not carry over."""

    vendor: str
    # False where this firebell has no Layer.restrictions: a restricted layer is then left out (and reported)
    # rather than put its members on call round the clock.
    restrictions: bool = True
    people: dict[str, Entry] = field(default_factory=dict)
    schedules: dict[str, Entry] = field(default_factory=dict)
    escalation_policies: dict[str, Entry] = field(default_factory=dict)
    teams: dict[str, Entry] = field(default_factory=dict)
    services: dict[str, Entry] = field(default_factory=dict)
    counts_in: dict[str, int] = field(default_factory=dict)
    not_mapped: list[NotMapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # choices made that a reader should know (not losses)

    def unrestricted(self, kind: str, source_id: str, name: str) -> None:
        self.skip(
            kind, source_id, name, "time restrictions, which this firebell cannot express (no Layer.restrictions)"
        )

    def skip(self, kind: str, source_id: str, name: str, why: str) -> None:
        self.not_mapped.append(NotMapped(kind, source_id, name, why))

    def count(self, kind: str, n: int = 1) -> None:
        self.counts_in[kind] = self.counts_in.get(kind, 0) + n

    def kinds(self) -> dict[str, dict[str, Entry]]:
        return {
            "people": self.people,
            "schedules": self.schedules,
            "escalation_policies": self.escalation_policies,
            "teams": self.teams,
            "services": self.services,
        }


class Ids:
    """Firebell ids for source keys, stable across imports: the sidecar file's mapping is used first; a new key gets
    the wanted slug, or the slug with -2, -3 … when another entry of that kind holds it."""

    def __init__(
        self, known: dict[str, str], reserved: dict[str, set[str]], emails: dict[str, str] | None = None
    ) -> None:
        self.known = dict(known)
        # people already in the file that this vendor did not import, by email (casefolded): the same person
        self.emails = dict(emails or {})
        self.taken: dict[str, set[str]] = {kind: set(ids) for kind, ids in reserved.items()}
        for key, firebell_id in self.known.items():
            self.taken.setdefault(_kind_of(key), set()).add(firebell_id)
        self.used: dict[str, str] = {}

    def of(self, key: str, wanted: str) -> str:
        found = self.known.get(key)
        if found is None:
            taken = self.taken.setdefault(_kind_of(key), set())
            found, n = wanted, 2
            while found in taken:
                found, n = f"{wanted}-{n}", n + 1
            taken.add(found)
            self.known[key] = found
        self.used[key] = found
        return found

    def person(self, key: str, email: str) -> str:
        """A person's id: theirs from an earlier import, else that of the person of the file with their email (who
        the import takes over), else one from the email's local part."""
        if key not in self.known and email.casefold() in self.emails:
            self.known[key] = self.emails.pop(email.casefold())
        return self.of(key, slug(email.split("@")[0], "person"))


def _kind_of(key: str) -> str:
    return key.split(":", 1)[0]


def e164(digits: str) -> str | None:
    """'+4420…' from a number with or without its + and separators; None unless it is E.164-shaped."""
    cleaned = re.sub(r"[\s().-]", "", digits)
    cleaned = cleaned if cleaned.startswith("+") else "+" + cleaned
    return cleaned if re.fullmatch(r"\+[1-9]\d{6,14}", cleaned) else None


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


ONE_DAY = timedelta(days=1)


def follow_ups(source_id: str, name: str, steps: dict[str, list[tuple[int, str]]], out: Imported) -> Entry | None:
    """Per urgency, channels at once (delay 0) and later ones as firebell's follow-up (every N minutes, k times).
    None when the result is firebell's default (SMS and email at once for both urgencies)."""
    rules: Entry = {}
    for urgency in ("high", "low"):
        timed = steps.get(urgency, [])
        at_once = list(dict.fromkeys(channel for delay, channel in timed if delay == 0))
        delays = sorted({delay for delay, _ in timed if delay > 0})
        rule: Entry = {"via": at_once}
        if delays:
            every = min(max(delays[0], 1), 120)
            times = min(len(delays), 10)
            later = list(dict.fromkeys(channel for delay, channel in sorted(timed) if delay > 0))
            if delays != [every * (k + 1) for k in range(len(delays))]:
                out.skip(
                    "notification_rule",
                    source_id,
                    name,
                    f"{urgency} urgency steps at {delays} minutes are not evenly spaced: firebell follows up every "
                    f"{every} minutes, {times} times",
                )
            rule["follow_up"] = {"every_minutes": every, "times": times, "via": later}
        rules[urgency] = rule
    default = ["sms", "email"]
    if not rules["high"]["via"] and "follow_up" not in rules["high"]:
        # firebell refuses a high urgency that reaches nobody (a P1 must page someone)
        out.skip("notification_rule", source_id, name, "no high-urgency step firebell can send: SMS and email instead")
        rules["high"] = {"via": default}
    same = all(set(rule["via"]) == set(default) and "follow_up" not in rule for rule in rules.values())
    return None if same else rules
