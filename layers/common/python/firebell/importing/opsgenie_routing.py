"""An Opsgenie team's routing rules → the team's escalation policy and its firebell `routing_rules`
(domain/routing.py). Opsgenie tries the rules by `order`, the first whose criteria and time restriction match routes
the alert, and the default rule takes the rest; firebell tries a team's routing_rules in order the same way, and
the team's escalation_policy takes the rest. A rule notifying `none` pages nobody (a firebell rule with
`page_nobody: true`); one notifying a schedule pages its rotations (a one-level policy made for it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

from .common import WEEKDAYS, Entry, Ids, Imported, clock, ident, is_zone, maybe, name_id, need, objects
from .sources import ImportError_

LAST_LEVEL_MINUTES = 30
WHOLE_WEEK = [{"type": "weekly", "start_day": "mon", "start": "00:00", "end_day": "mon", "end": "00:00"}]
DAYS = {
    name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
_NOBODY = "nobody"  # what a rule notifying `none` routes to


def restriction_windows(value: Any, where: str) -> list[Entry]:
    restriction = maybe({"r": value}, "r", dict, where, {})
    kind = need(restriction, "type", str, where)

    def wall(item: dict[str, Any], prefix: str, item_where: str) -> tuple[int, time]:
        hour = need(item, f"{prefix}Hour", int, item_where)
        minute = maybe(item, f"{prefix}Min", int, item_where, 0)
        if not (0 <= hour <= 24 and 0 <= minute < 60) or (hour == 24 and minute):
            raise ImportError_(f"{item_where}.{prefix}Hour: {hour}:{minute:02} is not a time of day")
        return (1, time(0, minute)) if hour == 24 else (0, time(hour, minute))

    if kind == "time-of-day":
        item = need(restriction, "restriction", dict, where)
        (_, start), (_, end) = wall(item, "start", f"{where}.restriction"), wall(item, "end", f"{where}.restriction")
        return [{"type": "daily", "start": clock(start), "end": clock(end)}]
    if kind == "weekday-and-time-of-day":
        windows = []
        for item_where, item in objects(restriction, "restrictions", where):
            start_day = DAYS.get(str(item.get("startDay")).lower())
            end_day = DAYS.get(str(item.get("endDay")).lower())
            if start_day is None or end_day is None:
                raise ImportError_(f"{item_where}.startDay: days are monday … sunday")
            (_, start), (later, end) = wall(item, "start", item_where), wall(item, "end", item_where)
            windows.append(
                {
                    "type": "weekly",
                    "start_day": WEEKDAYS[start_day],
                    "start": clock(start),
                    "end_day": WEEKDAYS[(end_day + later) % 7],
                    "end": clock(end),
                }
            )
        return windows
    raise ImportError_(f"{where}.type: {kind[:40]!r} is not time-of-day or weekday-and-time-of-day")


@dataclass
class Routing:
    default: str | None = None  # the policy of the default rule (None: none imported)
    rules: list[Entry] = field(default_factory=list)


def _priorities(rule: dict[str, Any], where: str) -> list[str] | bool | None:
    """The priorities a rule's criteria select: None for every alert, False when they say something else."""
    criteria = maybe(rule, "criteria", dict, where, {"type": "match-all"})
    if criteria.get("type") == "match-all":
        return None
    chosen: list[str] = []
    for _, condition in objects(criteria, "conditions", f"{where}.criteria", required=False):
        value = condition.get("expectedValue")
        if condition.get("field") != "priority" or condition.get("operation") != "equals" or condition.get("not"):
            return False
        if value not in PRIORITIES:
            return False
        chosen.append(str(value))
    if not chosen or (criteria.get("type") == "match-all-conditions" and len(set(chosen)) > 1):
        return False
    return sorted(set(chosen))


def _target(
    notify: dict[str, Any],
    team_id: str,
    team_key: str,
    policies: dict[str, str],
    rotations: dict[str, list[str]],
    ids: Ids,
    out: Imported,
) -> str | None:
    """The firebell policy a rule's notify stands for, _NOBODY for `none`, None when it was not imported."""
    kind, notified = notify.get("type"), ident(notify) or ""
    if kind == "none":
        return _NOBODY
    if kind == "escalation":
        return policies.get(notified)
    if kind == "schedule" and notified in rotations:
        key = f"escalation_policies:routing:{team_id}:{notified}"
        policy = ids.of(key, f"{team_key}-{name_id(str(notify.get('name') or notified), 'schedule', notified)}")
        out.escalation_policies[key] = {
            "id": policy,
            "levels": [
                {"delay_minutes": LAST_LEVEL_MINUTES, "targets": [{"schedule": s} for s in rotations[notified]]}
            ],
            "repeat": 0,
        }
        out.notes.append(f"routing to schedule {notify.get('name') or notified} pages it through policy {policy}")
        return policy
    return None


def map_routing(
    team_id: str,
    team_name: str,
    rules: list[tuple[str, dict[str, Any]]],
    policies: dict[str, str],
    rotations: dict[str, list[str]],
    ids: Ids,
    out: Imported,
) -> Routing:
    routing = Routing()
    team_key = name_id(team_name, "team", team_id)
    names: set[str] = set()
    for where, rule in sorted(rules, key=lambda r: maybe(r[1], "order", int, r[0], 0)):
        out.count("routing rules")
        rule_id = str(rule.get("id"))
        label = f"{team_name} / {maybe(rule, 'name', str, where, rule_id)}"
        notify = maybe(rule, "notify", dict, where, {})
        policy = _target(notify, team_id, team_key, policies, rotations, ids, out)
        if policy is None:
            out.skip(
                "routing_rule", rule_id, label, f"notifies {notify.get('type')} {notify.get('name')}: not imported"
            )
            continue
        if rule.get("isDefault") is True:
            if policy == _NOBODY:  # every other alert pages nobody: a last rule for the whole week, to nobody
                name = "default: nobody"
                while name in names:
                    name += "'"
                names.add(name)
                routing.rules.append(
                    {"name": name, "time_zone": "UTC", "restrictions": WHOLE_WEEK, "page_nobody": True}
                )
            else:
                routing.default = policy
            continue
        priorities = _priorities(rule, where)
        if priorities is False:
            out.skip(
                "routing_rule", rule_id, label, "conditions other than priority: firebell routes by hours and priority"
            )
            continue
        zone_name = maybe(rule, "timezone", str, where, "UTC")
        if not is_zone(zone_name):
            raise ImportError_(f"{where}.timezone: {zone_name[:60]!r} is not an IANA time zone name")
        restrictions = WHOLE_WEEK
        if rule.get("timeRestriction"):
            restrictions = restriction_windows(rule["timeRestriction"], f"{where}.timeRestriction")
        name = label.split(" / ", 1)[1][:200] or rule_id
        while name in names:
            name += "'"
        names.add(name)
        entry: Entry = {"name": name, "time_zone": zone_name, "restrictions": restrictions}
        if priorities is not None:
            entry["priorities"] = priorities
        if policy == _NOBODY:
            entry["page_nobody"] = True
        else:
            entry["escalation_policy"] = policy
        routing.rules.append(entry)
    return routing
