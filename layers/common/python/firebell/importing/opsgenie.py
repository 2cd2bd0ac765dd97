"""Opsgenie's REST API (https://api.opsgenie.com or api.eu.opsgenie.com; the shapes of opsgenie-go-sdk-v2's models,
every answer under `data`) → firebell.

Opsgenie's on-call for a schedule is the UNION of its rotations' participants; firebell's top layer wins. So each
rotation becomes a firebell schedule of its own, and a target naming the Opsgenie schedule pages all of them at
the same level: paging reaches the same people (docs/importing.md)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from .common import (
    Entry,
    Ids,
    Imported,
    e164,
    follow_ups,
    is_address,
    is_zone,
    maybe,
    need,
    objects,
)
from .opsgenie_directory import UNIT_MINUTES, map_policies, map_schedules, map_teams
from .sources import HttpSource, JsonObject, Source

API = "https://api.opsgenie.com"
API_EU = "https://api.eu.opsgenie.com"
PAGE_SIZE = 100
FETCH_WORKERS = 8
ROLES = {"owner": ["responder", "admin"], "admin": ["responder", "admin"], "user": ["responder"]}
DAYS = {
    name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}
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


def _data(answer: JsonObject, where: str) -> dict[str, Any]:
    """The object a GET of one thing answers, under `data`."""
    return need(answer, "data", dict, where)


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
    rotations = map_schedules(raw["schedules"], people, ids, out, as_of)
    policies = map_policies(raw["escalations"], people, rotations, ids, out)
    map_teams(raw["teams"], raw["escalations"], people, admins, rotations, policies, ids, out)
    for _where, integration in raw["integrations"]:
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
        if user.get("blocked") is True:
            out.notes.append(f"{name}: blocked in Opsgenie; imported (remove them from the config if they left)")
        person: Entry = {"id": ids.person(f"people:{user_id}", email), "name": name}
        if is_address(email):
            person["email"] = email
        else:
            out.skip("user", user_id, name, f"username {email[:80]!r} is not an email address: imported without one")
        out.count("contact methods", len(contacts))
        for contact_where, contact in sorted(contacts, key=lambda c: maybe(c[1], "applyOrder", int, c[0], 0)):
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


URGENCY_PRIORITIES = {"high": {"P1", "P2"}, "low": {"P3", "P4", "P5"}}  # domain/notification_rules.py's split


def _priorities(rule: dict[str, Any], where: str) -> set[str] | None:
    """The priorities a rule's criteria select (all alerts: P1–P5); None for conditions on anything else."""
    criteria = maybe(rule, "criteria", dict, where, {"type": "match-all"})
    if criteria.get("type") == "match-all":
        return {"P1", "P2", "P3", "P4", "P5"}
    chosen: set[str] = set()
    for _, condition in objects(criteria, "conditions", f"{where}.criteria", required=False):
        value = condition.get("expectedValue")
        if condition.get("field") != "priority" or condition.get("operation") != "equals" or condition.get("not"):
            return None
        if not isinstance(value, str) or value not in URGENCY_PRIORITIES["high"] | URGENCY_PRIORITIES["low"]:
            return None  # (a list or an object there: not a priority, so a condition on something else)
        chosen.add(str(value))
    if criteria.get("type") == "match-all-conditions" and len(chosen) > 1:
        return set()  # one alert has one priority: such a rule matches nothing
    return chosen or None


def _notification_rules(
    user_id: str, name: str, rules: list[tuple[str, dict[str, Any]]], out: Imported
) -> Entry | None:
    steps: dict[str, list[tuple[int, str]]] = {"high": [], "low": []}
    decided: set[str] = set()
    for where, rule in sorted(rules, key=lambda r: maybe(r[1], "order", int, r[0], 0)):
        rule_id = str(rule.get("id"))
        if rule.get("enabled") is False:
            continue
        priorities = _priorities(rule, where)
        if priorities is None:
            out.skip("notification_rule", rule_id, name, "conditions other than priority: not mapped")
            continue
        # firebell's rules are per urgency: a rule takes an urgency when it covers any of its priorities not
        # already taken by an earlier rule (Opsgenie applies the first rule that matches)
        urgencies = [u for u, covered in URGENCY_PRIORITIES.items() if covered & priorities]
        for urgency in urgencies:
            if urgency not in decided and not URGENCY_PRIORITIES[urgency] <= priorities:
                wanted = ", ".join(sorted(priorities & URGENCY_PRIORITIES[urgency]))
                out.skip(
                    "notification_rule",
                    rule_id,
                    name,
                    f"for {wanted} only: firebell applies it to every {urgency}-urgency page "
                    f"({', '.join(sorted(URGENCY_PRIORITIES[urgency]))})",
                )
        if rule.get("timeRestriction"):
            out.skip("notification_rule", rule_id, name, "a time restriction: firebell's quiet hours are per person")
        fresh = [u for u in urgencies if u not in decided]
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
                if method == "voice":
                    out.notes.append(f"{name}: a voice call step becomes SMS to the same number")
            else:
                out.skip("notification_rule", rule_id, name, f"a {method or 'contact'} step has no firebell channel")
        for urgency in fresh:
            steps[urgency] += timed
            decided.add(urgency)
    if not decided:
        return None
    return follow_ups(user_id, name, steps, out)
