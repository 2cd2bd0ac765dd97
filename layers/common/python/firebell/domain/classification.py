"""Categorisation and ownership: which category, impact, urgency, priority, SLA and team."""

import re
from dataclasses import dataclass

from .directory import Directory
from .enums import Impact, Priority, Urgency
from .models import Incident, SlaClock
from .priority import priority_for
from .rules import CategoryRule, Rules
from .sla import start_clock


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    impact: Impact
    urgency: Urgency
    priority: Priority
    team: str
    service: str | None
    sla: SlaClock


def _category_for(incident: Incident, rules: Rules) -> CategoryRule:
    namespace = incident.alarm.namespace if incident.alarm else None
    if namespace:
        for rule in rules.categories:
            if namespace in rule.namespaces:
                return rule
    words = set(re.findall(r"[a-z0-9]+", f"{incident.title} {incident.description}".lower()))
    for rule in rules.categories:
        if any(keyword.lower() in words for keyword in rule.keywords):
            return rule
    return rules.default_category


def _service_for(incident: Incident, directory: Directory) -> str | None:
    if incident.service:
        return incident.service
    if incident.alarm:
        for service in directory.services:
            if any(incident.alarm.name.startswith(prefix) for prefix in service.alarm_name_prefixes):
                return service.id
        for service in directory.services:
            if incident.alarm.namespace in service.namespaces:
                return service.id
    return None


def classify(incident: Incident, rules: Rules, directory: Directory, time_scale: float = 1.0) -> Classification:
    """Reporter-given impact/urgency win over the category's defaults; SLA clocks start at opening."""
    rule = _category_for(incident, rules)
    impact = incident.impact or rule.impact
    urgency = incident.urgency or rule.urgency
    priority = priority_for(impact, urgency, rules)
    service = _service_for(incident, directory)
    owning = next((s.team for s in directory.services if s.id == service), directory.default_team)
    return Classification(
        category=rule.name,
        impact=impact,
        urgency=urgency,
        priority=priority,
        team=owning,
        service=service,
        sla=start_clock(priority, incident.opened_at, rules, time_scale),
    )
