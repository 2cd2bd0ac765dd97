"""What people read: the email and SMS texts, and the one-click acknowledgement link in them."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..domain import ack_links
from ..domain.directory import FirebellConfig, Person
from ..domain.enums import Status
from ..domain.models import Incident
from .base import Context


def acknowledge_link(ctx: Context, config: FirebellConfig, incident: Incident, person: str, now: datetime) -> str:
    if ctx.ack_secret is None:
        raise RuntimeError("no acknowledgement-link secret is configured (ACK_SECRET_ARN or FIREBELL_ACK_SECRET)")
    expires = now + timedelta(hours=config.rules.process.ack_link_hours)
    token = ack_links.sign(incident.incident_id, person, expires, ctx.ack_secret())
    return f"{ctx.public_url}/ack/{token}"


def compose(
    ctx: Context, config: FirebellConfig, incident: Incident, person: Person, why: str, note: str | None, now: datetime
) -> tuple[str, str, str]:
    """(email subject, email body, SMS text) for one person."""
    api_url = ctx.public_url
    priority = incident.priority or "unprioritised"
    state = incident.status.value.replace("_", " ")
    drill = "DRILL " if incident.drill else ""
    subject = f"[firebell] {drill}{incident.reference} {priority} {state}: {incident.title}"[:200]
    lines = [
        f"Hello {person.name},",
        "",
        *(
            ["THIS IS A DRILL: a practice incident. Acknowledge it as you would a real one; nothing is broken.", ""]
            if incident.drill
            else []
        ),
        f"{incident.reference} ({priority}, {incident.category or 'uncategorised'}) is {state} — you are receiving this for: {why}.",
        f"Title: {incident.title}",
        f"Team: {incident.team or '-'}   Service: {incident.service or '-'}",
    ]
    if note:
        lines += ["", note]
    if incident.known_error and incident.status is not Status.CLOSED:
        known = incident.known_error
        lines.append(f"Known error {known.problem} ({known.title}). Workaround: {known.workaround}")
    if incident.previously and incident.status is Status.TRIGGERED:
        last = incident.previously
        by = f" by {last.resolved_by}" if last.resolved_by else ""
        lines.append(f"Last time this alert fired ({last.reference}), it was resolved{by}: {last.resolution_notes}")
    if incident.similar and incident.status is Status.TRIGGERED:
        lines.append("Similar past incidents:")
        lines += [
            f"- {past.reference} {past.title or ''}: resolved{f' by {past.resolved_by}' if past.resolved_by else ''}: {past.resolution_notes}"
            for past in incident.similar
        ]
    if incident.sla:
        lines.append(
            f"Respond by {incident.sla.response.due_at:%Y-%m-%d %H:%M} UTC; resolve by {incident.sla.resolution.due_at:%Y-%m-%d %H:%M} UTC"
        )
    if incident.resolution_notes and incident.status in (Status.RESOLVED, Status.CLOSED):
        lines.append(f"Resolution: {incident.resolution_notes}")
    if incident.review and not incident.review.completed_at and incident.review.owner == person.id:
        lines.append(
            f"Post-incident review due {incident.review.due_at:%Y-%m-%d %H:%M} UTC: POST {api_url}/incidents/{incident.reference}/review"
        )
    link = ""
    if incident.status is Status.TRIGGERED and api_url and ctx.ack_secret is not None:
        link = acknowledge_link(ctx, config, incident, person.id, now)
        lines += ["", f"Acknowledge (stops paging): {link}"]
    text = f"firebell {drill}{incident.reference} {priority} {state}: {incident.title}"[:120]
    if (
        incident.known_error and incident.status is not Status.CLOSED
    ):  # what to do, in the SMS too (its first 100 characters)
        text += f" Known error {incident.known_error.problem}: {incident.known_error.workaround[:100]}"
    text += f" Ack: {link}" if link else ""
    return subject, "\n".join(lines), text


def slack_text(sms_text: str) -> str:
    """A Slack direct message: the SMS text, escaped for Slack's mrkdwn (an alarm cannot mention or make a link)."""
    from ..domain.chat import slack_escaped  # (only where a page goes to Slack: no import for the others)

    return slack_escaped(sms_text)
