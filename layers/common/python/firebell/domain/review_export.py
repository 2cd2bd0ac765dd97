"""A post-incident review as Markdown (pure): the incident's key facts, what the review found, its action items and
an excerpt of the timeline, for a wiki page or a pull request."""

from __future__ import annotations

from datetime import UTC, datetime

from .enums import TimelineKind
from .models import Incident, TimelineEntry

# The timeline lines a review reads (the deliveries, occurrences and reminders are in the full timeline).
EXCERPT = (
    TimelineKind.OPENED,
    TimelineKind.CLASSIFIED,
    TimelineKind.KNOWN_ERROR,
    TimelineKind.PAGED,
    TimelineKind.ACKNOWLEDGED,
    TimelineKind.ESCALATED,
    TimelineKind.ESCALATION_EXHAUSTED,
    TimelineKind.REASSIGNED,
    TimelineKind.ON_HOLD,
    TimelineKind.RESUMED,
    TimelineKind.SLA_BREACHED,
    TimelineKind.STAKEHOLDER_UPDATE,
    TimelineKind.NOTE,
    TimelineKind.RETRIGGERED,
    TimelineKind.RESOLVED,
    TimelineKind.REOPENED,
    TimelineKind.CLOSED,
    TimelineKind.CHANGE_EVENT,
)


def cell(text: object) -> str:
    """Text in a table cell: on one line, its pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|") or "—"


def _when(at: datetime | None) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if at else "—"


def _after(later: datetime | None, earlier: datetime) -> str:
    if not later:
        return ""
    minutes = (later - earlier).total_seconds() / 60
    return f" ({minutes:.0f} min after opening)" if minutes < 120 else f" ({minutes / 60:.1f} h after opening)"


def review_markdown(incident: Incident, timeline: list[TimelineEntry]) -> str:
    review = incident.review
    lines = [
        f"# {incident.reference}: {' '.join(incident.title.split())} — post-incident review",
        "",
        f"- Priority: {incident.priority or '—'}; team: {incident.team or '—'}; service: {incident.service or '—'}",
        f"- Opened: {_when(incident.opened_at)}",
        f"- Acknowledged: {_when(incident.acknowledged_at)}{_after(incident.acknowledged_at, incident.opened_at)}"
        + (f" by {incident.acknowledged_by}" if incident.acknowledged_by else ""),
        f"- Resolved: {_when(incident.resolved_at)}{_after(incident.resolved_at, incident.opened_at)}"
        + (f" by {incident.resolved_by}" if incident.resolved_by else ""),
        f"- Closed: {_when(incident.closed_at)}",
    ]
    if incident.known_error:
        lines.append(f"- Known error: {incident.known_error.problem} ({incident.known_error.title})")
    if review:
        state = (
            f"done by {review.completed_by}, {_when(review.completed_at)}"
            if review.completed_at
            else f"open, due {_when(review.due_at)}"
        )
        lines.append(f"- Review: owner {review.owner}; {state}")
    lines += [
        "",
        "## Summary",
        "",
        (review.summary if review and review.summary else incident.resolution_notes or "—"),
        "",
        "## Root cause",
        "",
        (review.root_cause if review and review.root_cause else "—"),
        "",
        "## Contributing factors",
        "",
    ]
    factors = review.contributing_factors if review else []
    lines += [f"- {' '.join(f.split())}" for f in factors] or ["—"]
    lines += ["", "## Action items", ""]
    actions = review.actions if review else []
    if actions:
        lines += ["| # | Action | Owner | Due | Done |", "|---:|---|---|---|---|"]
        lines += [
            f"| {a.number} | {cell(a.text)} | {cell(a.owner)} | {_when(a.due_at)} | "
            f"{cell(f'{_when(a.done_at)} by {a.done_by}') if a.done_at else 'not yet'} |"
            for a in actions
        ]
    else:
        lines.append("—")
    lines += ["", "## Timeline (excerpt)", "", "| When (UTC) | What | Who |", "|---|---|---|"]
    lines += [
        f"| {e.at:%Y-%m-%d %H:%M:%S} | {cell(e.message)} | {cell(e.actor)} |"
        for e in sorted(timeline, key=lambda e: e.at)
        if e.kind in EXCERPT
    ]
    return "\n".join(lines) + "\n"
