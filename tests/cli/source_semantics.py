"""Who is on call at T, worked out from the vendors' own JSON by their documented rules, independently of the
importer (tests/cli/test_import_on_call.py compares it with firebell's on_call on the imported config).

PagerDuty (support.pagerduty.com "Schedule Basics", the REST API's ScheduleLayer and Restriction): the final
schedule is overrides, then the layers from the top: `schedule_layers` lists the top layer first (the Terraform
provider reverses the API's list to write Layer 1 first). A layer counts between its `start` and `end`; its turns
follow each other from `rotation_virtual_start` every `rotation_turn_length_seconds` of the schedule's local clock
(handoffs keep their local time across DST); its restrictions (daily: start_time_of_day for duration_seconds every
day; weekly: from start_day_of_week 1=Monday) limit when the layer has anyone: outside them the layer below shows.

Opsgenie (the API's schedule and rotation models): everyone on call in any rotation is notified (the union).
A rotation turns every `length` hours/days/weeks of local clock from `startDate`; its timeRestriction limits it
to a time of day (may cross midnight) or to weekday-and-time spans; an override takes over the rotations it names
(all of them when it names none) for its span. A participant of type none is a turn with nobody on call."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def _turn(origin: datetime, at_wall: datetime, length: timedelta) -> int | None:
    if at_wall < origin:
        return None
    return (at_wall - origin) // length


def _pd_covered(restriction: dict[str, Any], at_wall: datetime) -> bool:
    begin_of_day = time.fromisoformat(restriction["start_time_of_day"])
    length = timedelta(seconds=restriction["duration_seconds"])
    for days_back in range(8):
        day = at_wall.date() - timedelta(days=days_back)
        if restriction["type"] == "weekly_restriction" and day.isoweekday() != restriction["start_day_of_week"]:
            continue
        begin = datetime.combine(day, begin_of_day)
        if begin <= at_wall < begin + length:
            return True
    return False


def pagerduty_on_call(schedule: dict[str, Any], overrides: list[dict[str, Any]], at: datetime) -> str | None:
    """The PagerDuty user id on call at `at`, or None."""
    for override in reversed(overrides):
        if _at(override["start"]) <= at < _at(override["end"]):
            return override["user"]["id"]
    zone = ZoneInfo(schedule["time_zone"])
    at_wall = _wall(at, zone)
    for layer in schedule["schedule_layers"]:  # the top layer first
        if at < _at(layer["start"]) or (layer.get("end") and at >= _at(layer["end"])):
            continue
        if layer["restrictions"] and not any(_pd_covered(r, at_wall) for r in layer["restrictions"]):
            continue
        k = _turn(
            _wall(_at(layer["rotation_virtual_start"]), zone),
            at_wall,
            timedelta(seconds=layer["rotation_turn_length_seconds"]),
        )
        if k is not None:
            return layer["users"][k % len(layer["users"])]["user"]["id"]
    return None


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNIT = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}


def _og_covered(restriction: dict[str, Any], at_wall: datetime) -> bool:
    minute_of_day = at_wall.hour * 60 + at_wall.minute
    if restriction["type"] == "time-of-day":
        r = restriction["restriction"]
        begin, end = r["startHour"] * 60 + r["startMin"], r["endHour"] * 60 + r["endMin"]
        return begin <= minute_of_day < end if begin < end else (minute_of_day >= begin or minute_of_day < end)
    week = 7 * 1440
    now = at_wall.weekday() * 1440 + minute_of_day
    for r in restriction["restrictions"]:
        begin = _DAYS.index(r["startDay"]) * 1440 + r["startHour"] * 60 + r["startMin"]
        end = (_DAYS.index(r["endDay"]) * 1440 + r["endHour"] * 60 + r["endMin"]) % week
        if (begin <= now < end) if begin < end else (now >= begin or now < end):
            return True
    return False


def opsgenie_on_call(schedule: dict[str, Any], overrides: list[dict[str, Any]], at: datetime) -> set[str]:
    """The Opsgenie user ids notified for the schedule at `at` (the union over its rotations)."""
    zone = ZoneInfo(schedule["timezone"])
    at_wall = _wall(at, zone)
    found: set[str] = set()
    for rotation in schedule["rotations"]:
        if at < _at(rotation["startDate"]) or (rotation.get("endDate") and at >= _at(rotation["endDate"])):
            continue
        taking_over = [
            o
            for o in overrides
            if _at(o["startDate"]) <= at < _at(o["endDate"])
            and (not o["rotations"] or rotation["id"] in {r["id"] for r in o["rotations"]})
        ]
        if taking_over:
            found.add(taking_over[-1]["user"]["id"])
            continue
        if rotation.get("timeRestriction") and not _og_covered(rotation["timeRestriction"], at_wall):
            continue
        k = _turn(_wall(_at(rotation["startDate"]), zone), at_wall, _UNIT[rotation["type"]] * rotation["length"])
        if k is not None:
            participant = rotation["participants"][k % len(rotation["participants"])]
            if participant.get("type", "user") == "user":
                found.add(participant["id"])
    return found


def opsgenie_route(rules: list[dict[str, Any]], priority: str, at: datetime) -> tuple[str, str | None]:
    """What a team's routing rules notify for an alert of `priority` at `at`: the first rule by `order` whose
    criteria (here: all alerts, or priority equal to one of its values) and time restriction (in the rule's
    timezone) match; the default rule takes what none matched. (type, id) of its notify; ("none", None) pages nobody.
    """
    default = next(r for r in rules if r.get("isDefault"))
    for rule in sorted(rules, key=lambda r: r["order"]):
        if rule.get("isDefault"):
            continue
        criteria = rule.get("criteria", {"type": "match-all"})
        if criteria["type"] != "match-all":
            wanted = [c for c in criteria["conditions"] if c["field"] == "priority"]
            if len(wanted) != len(criteria["conditions"]):
                continue  # other conditions (tags …): this test's alerts carry none of them
            if priority not in {c["expectedValue"] for c in wanted}:
                continue
        zone = ZoneInfo(rule.get("timezone", "UTC"))
        if rule.get("timeRestriction") and not _og_covered(rule["timeRestriction"], _wall(at, zone)):
            continue
        return rule["notify"]["type"], rule["notify"].get("id")
    return default["notify"]["type"], default["notify"].get("id")
