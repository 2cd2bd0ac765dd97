"""Opsgenie's REST API (https://api.opsgenie.com or api.eu.opsgenie.com; the shapes of opsgenie-go-sdk-v2's models,
every answer under `data`) → firebell.

Opsgenie's on-call for a schedule is the UNION of its rotations' participants; firebell's top layer wins. So each
rotation becomes a firebell schedule of its own, and a target naming the Opsgenie schedule pages all of them at
the same level: paging reaches the same people (docs/importing.md)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from .common import (
    WEEKDAYS,
    Entry,
    Ids,
    Imported,
    clock,
    e164,
    instant,
    is_zone,
    local,
    maybe,
    need,
    objects,
    rotation,
    slug,
)
from .pagerduty import follow_ups
from .sources import HttpSource, ImportError_, JsonObject, Source

API = "https://api.opsgenie.com"
API_EU = "https://api.eu.opsgenie.com"
PAGE_SIZE = 100
FETCH_WORKERS = 8
LAST_LEVEL_MINUTES = 30  # how long the last level waits before the incident managers when Opsgenie does not repeat
ROLES = {"owner": ["responder", "admin"], "admin": ["responder", "admin"], "user": ["responder"]}
DAYS = {
    name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
CHANNELS = {"email": "email", "sms": "sms", "voice": "sms"}
PAGING = "create-alert"  # the notification rules that say how a new alert reaches someone


def http_source(api_key: str, base_url: str = API) -> HttpSource:
    return HttpSource(base_url, {"Authorization": f"GenieKey {api_key}"}, _next_page)


def _next_page(page: JsonObject, url: str) -> str | None:
    paging = page.get("paging")
    following = paging.get("next") if isinstance(paging, dict) else None
    return following if isinstance(following, str) and following else None


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _data(answer: JsonObject, where: str) -> Any:
    if "data" not in answer:
        raise ImportError_(f"{where}.data: missing")
    return answer["data"]


def _listed(source: Source, path: str, params: dict[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    n = 0
    name = path.strip("/").split("/")[-1]
    for page in source.pages(path, params):
        for _, item in objects(page, "data", ""):
            yield f"{name}[{n}]", item
            n += 1


def read(source: Source) -> JsonObject:
    users = list(_listed(source, "/v2/users", {"limit": str(PAGE_SIZE)}))
    teams = list(_listed(source, "/v2/teams"))
    schedules = list(_listed(source, "/v2/schedules", {"expand": "rotation"}))
    escalations = list(_listed(source, "/v2/escalations"))
    integrations = list(_listed(source, "/v2/integrations"))

    def user_details(item: tuple[str, dict[str, Any]]) -> tuple[list[Any], list[tuple[str, dict[str, Any]]], int]:
        where, user = item
        user_id = _q(need(user, "id", str, where))
        contacts = list(_listed(source, f"/v2/users/{user_id}/contacts"))
        listed = list(_listed(source, f"/v2/users/{user_id}/notification-rules"))
        rules = []
        for rule_where, rule in listed:
            if rule.get("actionType") == PAGING:
                rule_id = _q(need(rule, "id", str, rule_where))
                full = _data(source.get(f"/v2/users/{user_id}/notification-rules/{rule_id}"), rule_where)
                rules.append((rule_where, full))
        return contacts, rules, len(listed)

    def team_details(item: tuple[str, dict[str, Any]]) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
        where, team = item
        team_id = _q(need(team, "id", str, where))
        full = _data(source.get(f"/v2/teams/{team_id}"), where)
        return full, list(_listed(source, f"/v2/teams/{team_id}/routing-rules"))

    def overrides(item: tuple[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        where, schedule = item
        return list(_listed(source, f"/v2/schedules/{_q(need(schedule, 'id', str, where))}/overrides"))

    with ThreadPoolExecutor(FETCH_WORKERS) as pool:
        per_user = list(pool.map(user_details, users))
        per_team = list(pool.map(team_details, teams))
        per_schedule = list(pool.map(overrides, schedules))
    return {
        "users": [(where, user, *per_user[i]) for i, (where, user) in enumerate(users)],
        "teams": [(where, *per_team[i]) for i, (where, _) in enumerate(teams)],
        "schedules": [(where, schedule, per_schedule[i]) for i, (where, schedule) in enumerate(schedules)],
        "escalations": escalations,
        "integrations": integrations,
    }


def convert(raw: JsonObject, ids: Ids, as_of: datetime, restrictions: bool = True) -> Imported:
    out = Imported("opsgenie", restrictions)
    people, admins = _people(raw["users"], ids, out)
    rotations = _schedules(raw["schedules"], people, ids, out, as_of)
    policies = _policies(raw["escalations"], people, rotations, ids, out)
    _teams(raw["teams"], raw["escalations"], people, admins, rotations, policies, ids, out)
    for where, integration in raw["integrations"]:
        out.count("integrations")
        out.skip(
            "integration",
            str(integration.get("id")),
            f"{integration.get('name')} ({integration.get('type')})",
            "an Opsgenie alert API key is not a firebell routing key: point this sender at firebell's intake "
            "(CloudWatch through SNS, PagerDuty Events v2, Alertmanager) with a key from `python -m firebell.keys new`",
        )
    return out


# --- people -----------------------------------------------------------------------------------------------------


def _people(users: list[Any], ids: Ids, out: Imported) -> tuple[dict[str, str], list[str]]:
    found: dict[str, str] = {}
    admins: list[str] = []
    for where, user, contacts, rules, listed_rules in users:
        out.count("users")
        out.count("notification rules", listed_rules)  # every rule; only the paging ones (create-alert) are read
        user_id = need(user, "id", str, where)
        email = need(user, "username", str, where)  # an Opsgenie username is the user's email address
        name = maybe(user, "fullName", str, where, email)
        person: Entry = {"id": ids.of(f"people:{user_id}", slug(email.split("@")[0], "person")), "name": name}
        person["email"] = email
        out.count("contact methods", len(contacts))
        for contact_where, contact in sorted(contacts, key=lambda c: c[1].get("applyOrder") or 0):
            method = maybe(contact, "method", str, contact_where, "")
            enabled = (
                (contact.get("status") or {}).get("enabled", True) if isinstance(contact.get("status"), dict) else True
            )
            if method in ("sms", "voice") and enabled and "phone" not in person:
                # Opsgenie writes numbers as <country code>-<number>
                number = e164(maybe(contact, "to", str, contact_where, ""))
                if number:
                    person["phone"] = number
                else:
                    out.skip("contact", str(contact.get("id")), name, f"{contact.get('to')!r} is not a phone number")
            elif method == "mobile":
                out.skip("contact", str(contact.get("id")), name, "mobile app push has no firebell channel")
        zone_name = maybe(user, "timeZone", str, where, "")
        if zone_name and is_zone(zone_name):
            person["time_zone"] = zone_name
        elif zone_name:
            out.skip("user", user_id, name, f"timeZone {zone_name!r} is not an IANA name: left out")
        role = str((user.get("role") or {}).get("name", "User") if isinstance(user.get("role"), dict) else "User")
        person["roles"] = list(ROLES.get(role.lower(), ["viewer"]))
        if role.lower() in ("owner", "admin"):
            admins.append(person["id"])
        notification = _notification_rules(user_id, name, rules, out)
        if notification:
            person["notification_rules"] = notification
        found[user_id] = person["id"]
        out.people[f"people:{user_id}"] = person
    return found, admins


def _urgencies(rule: dict[str, Any], where: str) -> list[str] | None:
    """The urgencies a rule's criteria cover: all alerts, or conditions on priority only; None: other conditions."""
    criteria = maybe(rule, "criteria", dict, where, {"type": "match-all"})
    if criteria.get("type") == "match-all":
        return ["high", "low"]
    covered: set[str] = set()
    for condition_where, condition in objects(criteria, "conditions", f"{where}.criteria", required=False):
        if condition.get("field") != "priority" or condition.get("operation") != "equals" or condition.get("not"):
            return None
        covered.add("high" if condition.get("expectedValue") in ("P1", "P2") else "low")
    if criteria.get("type") == "match-all-conditions" and len(covered) > 1:
        return []
    return sorted(covered) or None


def _notification_rules(
    user_id: str, name: str, rules: list[tuple[str, dict[str, Any]]], out: Imported
) -> Entry | None:
    steps: dict[str, list[tuple[int, str]]] = {"high": [], "low": []}
    decided: set[str] = set()
    for where, rule in sorted(rules, key=lambda r: r[1].get("order") or 0):
        rule_id = str(rule.get("id"))
        if rule.get("enabled") is False:
            continue
        urgencies = _urgencies(rule, where)
        if urgencies is None:
            out.skip("notification_rule", rule_id, name, "conditions other than priority: not mapped")
            continue
        if rule.get("timeRestriction"):
            out.skip("notification_rule", rule_id, name, "a time restriction: firebell's quiet hours are per person")
        fresh = [u for u in urgencies if u not in decided]
        if len(fresh) < len(urgencies):
            out.skip(
                "notification_rule",
                rule_id,
                name,
                "Opsgenie applies the first matching rule: an earlier rule already takes some of these alerts",
            )
        timed = []
        for step_where, step in objects(rule, "steps", where, required=False):
            if step.get("enabled") is False:
                continue
            contact = need(step, "contact", dict, step_where)
            method = maybe(contact, "method", str, f"{step_where}.contact", "")
            after = maybe(step, "sendAfter", dict, step_where, {"timeAmount": 0})
            minutes = need(after, "timeAmount", int, f"{step_where}.sendAfter") * UNIT_MINUTES.get(
                str(after.get("timeUnit", "minutes")), 1
            )
            if method in CHANNELS:
                timed.append((minutes, CHANNELS[method]))
            else:
                out.skip("notification_rule", rule_id, name, f"a {method or 'contact'} step has no firebell channel")
        for urgency in fresh:
            steps[urgency] += timed
            decided.add(urgency)
    if not decided:
        return None
    return follow_ups(user_id, name, steps, out)


# --- schedules --------------------------------------------------------------------------------------------------


def _restrictions(value: Any, where: str) -> list[Entry]:
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


_STEP_HOURS = {"hourly": 1, "daily": 24, "weekly": 24 * 7}


def _schedules(
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
            if end <= as_of or end <= start:
                continue
            named = [str(r.get("id")) for r in override.get("rotations") or [] if isinstance(r, dict)]
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
        layer["restrictions"] = _restrictions(rot["timeRestriction"], f"{where}.timeRestriction")
    wanted = slug(f"{schedule_name}-{label}", "rotation")
    return {"id": ids.of(f"schedules:{rotation_id}", wanted), "name": what, "time_zone": tz.key, "layers": [layer]}


# --- escalations and teams ----------------------------------------------------------------------------------------


def _policies(
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
            levels.append({"delay_minutes": max(next_at - minutes, 1), "targets": targets})
        entry: Entry = {"id": ids.of(f"escalation_policies:{escalation_id}", slug(name, "policy")), "levels": levels}
        entry["repeat"] = min(count, 9)
        found[escalation_id] = entry["id"]
        out.escalation_policies[f"escalation_policies:{escalation_id}"] = entry
    return found


def _teams(
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
        if isinstance(owner, dict) and escalation.get("id") in policies:
            owned.setdefault(str(owner.get("id")), policies[escalation["id"]])
    for where, team, routing_rules in teams:
        out.count("teams")
        team_id = need(team, "id", str, where)
        name = maybe(team, "name", str, where, team_id)
        team_key = slug(name, "team")
        policy = None
        for rule_where, rule in sorted(routing_rules, key=lambda r: r[1].get("order") or 0):
            out.count("routing rules")
            notify = maybe(rule, "notify", dict, rule_where, {})
            target = f"{notify.get('type')} {notify.get('name') or notify.get('id')}"
            if not rule.get("isDefault"):
                conditions = "time restrictions" if rule.get("timeRestriction") else "conditions"
                out.skip(
                    "routing_rule",
                    str(rule.get("id")),
                    f"{name} / {rule.get('name') or target}",
                    f"routes by {conditions} to {target}: firebell routes every alert of a team to its policy",
                )
                continue
            if notify.get("type") == "escalation" and notify.get("id") in policies:
                policy = policies[str(notify["id"])]
            elif notify.get("type") == "schedule" and notify.get("id") in rotations:
                policy = ids.of(f"escalation_policies:routing:{team_id}", f"{team_key}-on-call")
                out.escalation_policies[f"escalation_policies:routing:{team_id}"] = {
                    "id": policy,
                    "levels": [
                        {
                            "delay_minutes": LAST_LEVEL_MINUTES,
                            "targets": [{"schedule": s} for s in rotations[str(notify["id"])]],
                        }
                    ],
                    "repeat": 0,
                }
                out.notes.append(
                    f"team {name}: its default routing pages schedule {notify.get('name')}: policy {policy}"
                )
        policy = policy or owned.get(team_id)
        if policy is None:
            out.skip("team", team_id, name, "neither its default routing rule nor an escalation it owns was imported")
            continue
        members = [
            (people[str((m.get("user") or {}).get("id"))], m.get("role"))
            for _, m in objects(team, "members", where, required=False)
            if str((m.get("user") or {}).get("id")) in people
        ]
        managers = [p for p, role in members if role == "admin"]
        incident_managers = managers or [p for p, _ in members if p in admins] or admins[:1]
        if not incident_managers:
            out.skip("team", team_id, name, "no team admin and no account owner or admin to be its incident manager")
            continue
        if not managers:
            out.notes.append(f"team {name}: no team admin; incident manager: {', '.join(incident_managers)}")
        entry: Entry = {"id": ids.of(f"teams:{team_id}", team_key), "name": name, "escalation_policy": policy}
        if managers:
            entry["manager"] = managers[0]
        entry["incident_managers"] = incident_managers
        out.teams[f"teams:{team_id}"] = entry
        for person in out.people.values():
            if person["id"] in incident_managers and "incident_manager" not in person["roles"]:
                person["roles"].append("incident_manager")
