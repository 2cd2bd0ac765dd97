"""Opsgenie's schedules (each rotation a firebell schedule: Opsgenie's on-call is their union), escalations and
teams → firebell (docs/importing.md). The people are opsgenie.py's."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .common import (
    MAX_LEVEL_MINUTES,
    MAX_TURN_HOURS,
    Entry,
    Ids,
    Imported,
    ident,
    instant,
    is_zone,
    items_of,
    local,
    maybe,
    name_id,
    need,
    objects,
    rotation,
)
from .opsgenie_routing import map_routing, restriction_windows
from .sources import ImportError_

LAST_LEVEL_MINUTES = 30  # how long the last level waits before the incident managers when Opsgenie does not repeat
DAYS = {
    name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}


# --- schedules --------------------------------------------------------------------------------------------------


_STEP_HOURS = {"hourly": 1, "daily": 24, "weekly": 24 * 7}


def map_schedules(
    schedules: list[Any], people: dict[str, str], ids: Ids, out: Imported, as_of: datetime
) -> dict[str, list[str]]:
    """Opsgenie schedule id → the firebell schedules of its rotations (in the rotations' order)."""
    found: dict[str, list[str]] = {}
    for where, schedule, overrides in schedules:
        out.count("schedules")
        schedule_id = need(schedule, "id", str, where)
        name = maybe(schedule, "name", str, where, schedule_id)
        if schedule.get("enabled") is False:
            out.skip("schedule", schedule_id, name, "disabled in Opsgenie")
            continue
        zone_name = need(schedule, "timezone", str, where)
        if not is_zone(zone_name):
            out.skip("schedule", schedule_id, name, f"timezone {zone_name!r} is not an IANA time zone name")
            continue
        tz = ZoneInfo(zone_name)
        made: dict[str, str] = {}  # rotation id → firebell schedule id
        for rotation_where, rot in objects(schedule, "rotations", where, required=False):
            out.count("rotations")
            entry = _rotation(schedule_id, name, rotation_where, rot, people, tz, ids, out, as_of)
            if entry is not None:
                made[str(rot.get("id"))] = entry["id"]
                out.schedules[f"schedules:{rot.get('id')}"] = entry
        if not made:
            out.skip("schedule", schedule_id, name, "no rotation in force could be mapped")
            continue
        found[schedule_id] = list(made.values())
        for override_where, override in overrides:
            out.count("overrides")
            user = need(override, "user", dict, override_where)
            user_id = str(user.get("id"))
            start = instant(override.get("startDate"), f"{override_where}.startDate")
            end = instant(override.get("endDate"), f"{override_where}.endDate")
            if user.get("type", "user") != "user" or user_id not in people:
                out.skip(
                    "override", str(override.get("alias")), name, f"{user.get('type')} {user_id}: not a person read"
                )
                continue
            if end <= start:
                out.skip("override", str(override.get("alias")), name, f"ends ({end}) before it starts ({start})")
                continue
            if end <= as_of:  # over before the import: nothing to carry
                continue
            named = [str(r.get("id")) for r in items_of(override, "rotations") if isinstance(r, dict)]
            for rotation_id in named or list(made):  # none named: it takes over every rotation
                if rotation_id in made:
                    target = out.schedules[f"schedules:{rotation_id}"]
                    target.setdefault("overrides", []).append(
                        {"person": people[user_id], "start": start.isoformat(), "end": end.isoformat()}
                    )
    return found


def _rotation(
    schedule_id: str,
    schedule_name: str,
    where: str,
    rot: dict[str, Any],
    people: dict[str, str],
    tz: ZoneInfo,
    ids: Ids,
    out: Imported,
    as_of: datetime,
) -> Entry | None:
    rotation_id = need(rot, "id", str, where)
    label = maybe(rot, "name", str, where, rotation_id)
    what = f"{schedule_name} / {label}"
    end = rot.get("endDate")
    if end is not None and instant(end, f"{where}.endDate") <= as_of:
        out.notes.append(f"{what}: ended before the import ({end}), not carried over")
        return None
    kind = need(rot, "type", str, where)
    length = maybe(rot, "length", int, where, 1)
    if kind not in _STEP_HOURS or length < 1:
        raise ImportError_(f"{where}.type: {kind[:20]!r} with length {length}: expected daily, weekly or hourly")
    if _STEP_HOURS[kind] * length > MAX_TURN_HOURS:
        out.skip("rotation", rotation_id, what, f"a turn of {length} {kind} steps is longer than a year")
        return None
    start = instant(rot.get("startDate"), f"{where}.startDate")
    if end is not None:
        out.skip("rotation", rotation_id, what, f"ends at {end}: firebell schedules do not end; remove it then")
    members = []
    for participant_where, participant in objects(rot, "participants", where):
        kind_of = maybe(participant, "type", str, participant_where, "user")
        participant_id = str(participant.get("id"))
        if kind_of == "user" and participant_id in people:
            members.append(people[participant_id])
        else:
            who = participant.get("name") or participant.get("username") or participant.get("id")
            label_of = "nobody (a gap in the turn)" if kind_of == "none" else f"{kind_of} {who}"
            out.skip(
                "rotation",
                rotation_id,
                what,
                f"participant {label_of}: firebell rotates people only; left out of the turn",
            )
    if not members:
        out.skip("rotation", rotation_id, what, "no person among its participants")
        return None
    layer: Entry = {"name": "rotation", "rotation": rotation(_STEP_HOURS[kind] * length, local(start, tz))}
    layer["members"] = members
    if rot.get("timeRestriction") and not out.restrictions:
        out.unrestricted("rotation", rotation_id, what)
        return None
    if rot.get("timeRestriction"):
        layer["restrictions"] = restriction_windows(rot["timeRestriction"], f"{where}.timeRestriction")
    wanted = name_id(f"{schedule_name}-{label}", "schedule", rotation_id)
    return {"id": ids.of(f"schedules:{rotation_id}", wanted), "name": what, "time_zone": tz.key, "layers": [layer]}


# --- escalations and teams ----------------------------------------------------------------------------------------


def map_policies(
    escalations: list[tuple[str, dict[str, Any]]],
    people: dict[str, str],
    rotations: dict[str, list[str]],
    ids: Ids,
    out: Imported,
) -> dict[str, str]:
    found: dict[str, str] = {}
    for where, escalation in escalations:
        out.count("escalations")
        escalation_id = need(escalation, "id", str, where)
        name = maybe(escalation, "name", str, where, escalation_id)
        at: dict[int, list[Entry]] = {}  # minutes after the alert → targets
        for rule_where, rule in objects(escalation, "rules", where):
            delay = need(rule, "delay", dict, rule_where)
            minutes = need(delay, "timeAmount", int, f"{rule_where}.delay") * UNIT_MINUTES.get(
                str(delay.get("timeUnit", "minutes")), 1
            )
            recipient = need(rule, "recipient", dict, rule_where)
            kind, recipient_id = maybe(recipient, "type", str, f"{rule_where}.recipient", ""), str(recipient.get("id"))
            notify = maybe(rule, "notifyType", str, rule_where, "default")
            label = f"{kind} {recipient.get('name') or recipient.get('username') or recipient_id}"
            if rule.get("condition") == "if-not-closed":
                out.skip("escalation_rule", escalation_id, name, f"{label}: if-not-closed is kept as if-not-acked")
            if kind == "user" and recipient_id in people:
                at.setdefault(minutes, []).append({"person": people[recipient_id]})
            elif kind == "schedule" and recipient_id in rotations and notify in ("default", "all"):
                at.setdefault(minutes, []).extend({"schedule": s} for s in rotations[recipient_id])
            else:
                why = (
                    f"notifies the {notify} on-call"
                    if kind == "schedule" and recipient_id in rotations
                    else "not imported"
                )
                if kind == "team":
                    why = "a team recipient (its routing rules decide): name its schedule or people instead"
                out.skip("escalation_rule", escalation_id, name, f"{label}: {why}")
        if not at:
            out.skip("escalation", escalation_id, name, "no rule with a recipient that was imported")
            continue
        times = sorted(at)
        if times[0] > 0:
            out.notes.append(f"escalation {name}: its first rule waits {times[0]} min; firebell pages it at once")
        repeat = maybe(escalation, "repeat", dict, where, {})
        wait = maybe(repeat, "waitInterval", int, f"{where}.repeat", 0)
        count = maybe(repeat, "count", int, f"{where}.repeat", 0) if repeat else 0
        if not repeat:
            out.notes.append(
                f"escalation {name}: Opsgenie stops after its last rule; firebell pages the team's incident managers "
                f"{LAST_LEVEL_MINUTES} minutes after it"
            )
        if count > 9:
            out.skip("escalation", escalation_id, name, f"repeats {count} times: firebell repeats at most 9")
        levels = []
        for i, minutes in enumerate(times):
            next_at = times[i + 1] if i + 1 < len(times) else minutes + (wait or LAST_LEVEL_MINUTES)
            targets = list({tuple(t.items()): t for t in at[minutes]}.values())
            level_minutes = next_at - minutes
            if level_minutes > MAX_LEVEL_MINUTES:
                out.skip("escalation", escalation_id, name, f"a wait of {level_minutes} minutes: firebell waits a week")
            levels.append({"delay_minutes": min(max(level_minutes, 1), MAX_LEVEL_MINUTES), "targets": targets})
        entry: Entry = {
            "id": ids.of(f"escalation_policies:{escalation_id}", name_id(name, "policy", escalation_id)),
            "levels": levels,
        }
        entry["repeat"] = min(count, 9)
        found[escalation_id] = entry["id"]
        out.escalation_policies[f"escalation_policies:{escalation_id}"] = entry
    return found


def map_teams(
    teams: list[Any],
    escalations: list[tuple[str, dict[str, Any]]],
    people: dict[str, str],
    admins: list[str],
    rotations: dict[str, list[str]],
    policies: dict[str, str],
    ids: Ids,
    out: Imported,
) -> None:
    owned: dict[str, str] = {}
    for _, escalation in escalations:
        owner = escalation.get("ownerTeam")
        escalation_id = ident(escalation)
        if isinstance(owner, dict) and escalation_id in policies:
            owned.setdefault(str(owner.get("id")), policies[str(escalation_id)])
    for where, team, routing_rules in teams:
        out.count("teams")
        team_id = need(team, "id", str, where)
        name = maybe(team, "name", str, where, team_id)
        team_key = name_id(name, "team", team_id)
        routing = map_routing(team_id, name, routing_rules, policies, rotations, ids, out)
        policy = routing.default
        policy = policy or owned.get(team_id)
        if policy is None:
            out.skip("team", team_id, name, "neither its default routing rule nor an escalation it owns was imported")
            continue
        members = [
            (people[user_id], m.get("role"))
            for _, m in objects(team, "members", where, required=False)
            if (user_id := ident(m.get("user")) or "") in people
        ]
        managers = [p for p, role in members if role == "admin"]
        incident_managers = managers or [p for p, _ in members if p in admins] or admins[:1]
        if not incident_managers:
            out.skip("team", team_id, name, "no team admin and no account owner or admin to be its incident manager")
            continue
        why = "its team admins" if managers else "no team admin: account owners/admins"
        out.notes.append(
            f"team {name}: policy {policy}; incident managers {', '.join(incident_managers)} ({why}); Opsgenie has no "
            "services, so no service routes incidents to it yet: add one (alarm_name_prefixes, namespaces or "
            "routing_keys), else its incidents go to default_team"
        )
        entry: Entry = {"id": ids.of(f"teams:{team_id}", team_key), "name": name, "escalation_policy": policy}
        if managers:
            entry["manager"] = managers[0]
        entry["incident_managers"] = incident_managers
        if routing.rules:
            entry["routing_rules"] = routing.rules
        out.teams[f"teams:{team_id}"] = entry
        for person in out.people.values():
            if person["id"] in incident_managers and "incident_manager" not in person["roles"]:
                person["roles"].append("incident_manager")
