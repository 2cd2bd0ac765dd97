"""The reports commands: `firebell reports` (a period's figures, or its incidents as CSV) and `firebell drill`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO

from .client import Api, UsageError, api_path
from .output import INCIDENT_DETAIL, emit

BREAKDOWN_COLUMNS = (
    "key",
    "incidents",
    "mtta.p50_seconds",
    "mtta.p90_seconds",
    "mttr.p50_seconds",
    "mttr.p90_seconds",
    "aws_usd",
)
SUMMARY = (
    "incidents",
    "drills_excluded",
    "mtta.mean_seconds",
    "mtta.p50_seconds",
    "mtta.p90_seconds",
    "mttr.mean_seconds",
    "mttr.p50_seconds",
    "mttr.p90_seconds",
    "time_to_first_page.p50_seconds",
    "auto_resolved_share",
    "escalations",
    "cost.aws_usd",
    "cost.aws_usd_per_incident",
    "cost.messaging_usd",
)


def register_reports(sub: argparse._SubParsersAction[Any]) -> None:
    reports = sub.add_parser(
        "reports",
        help="MTTA/MTTR, SLA, escalations, noisy alerts, on-call load for a period (default: the last 30 days)",
    )
    reports.add_argument(
        "--from",
        dest="start",
        type=_moment(end_of_day=False),
        help="a date (from its start) or an ISO 8601 time; UTC unless it has an offset (default: 30 days before --to)",
    )
    reports.add_argument(
        "--to",
        dest="end",
        type=_moment(end_of_day=True),
        help="a date (to its end) or an ISO 8601 time; UTC unless it has an offset (default: now)",
    )
    for name in ("team", "service", "priority", "source"):
        reports.add_argument(f"--{name}")
    reports.add_argument(
        "--by",
        choices=("priority", "team", "service", "period", "sla", "on-call", "alerts"),
        default="priority",
        help="the table shown after the summary",
    )
    reports.add_argument("--bucket", choices=("week", "month"), default="week", help="the periods of --by period (UTC)")
    reports.add_argument("--csv", action="store_true", help="the period's incidents as CSV, one row each")
    reports.set_defaults(run=_reports)
    drill = sub.add_parser("drill", help="training drills: start one, end it, read its report").add_subparsers(
        dest="action", required=True
    )
    start = drill.add_parser("start", help="page whoever is on call with a practice incident, marked as a drill")
    start.add_argument("--title")
    start.add_argument("--service")
    start.add_argument("--impact", choices=("high", "medium", "low"))
    start.add_argument("--urgency", choices=("high", "medium", "low"))
    start.set_defaults(
        run=lambda a, api, out: emit(
            api.call(
                "POST",
                "/drills",
                {
                    k: v
                    for k, v in (
                        ("title", a.title),
                        ("service", a.service),
                        ("impact", a.impact),
                        ("urgency", a.urgency),
                    )
                    if v
                },
            ),
            a.output,
            out,
            detail=INCIDENT_DETAIL,
        )
    )
    end = drill.add_parser("end", help="end a drill: resolved and closed at once, every timer stopped")
    end.add_argument("incident")
    end.set_defaults(
        run=lambda a, api, out: emit(
            api.call("POST", api_path("drills", a.incident, "end")), a.output, out, detail=INCIDENT_DETAIL
        )
    )
    report = drill.add_parser("report", help="who was paged when, each responder's time to acknowledge")
    report.add_argument("incident")
    report.set_defaults(run=_drill_report)


def _reports(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    start, end = _period(args.start, args.end)
    query = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "team": args.team,
        "service": args.service,
        "priority": args.priority,
        "source": args.source,
    }
    if args.csv:
        print(api.call("GET", "/reports/incidents.csv", query=query), end="", file=out)
        return
    report = api.call("GET", "/reports", query={**query, "bucket": args.bucket})
    if args.output == "json":
        emit(report, "json", out)
        return
    emit(report, "table", out, detail=SUMMARY)
    print(file=out)
    rows, columns = {
        "priority": (report["by_priority"], BREAKDOWN_COLUMNS),
        "team": (report["by_team"], BREAKDOWN_COLUMNS),
        "service": (report["by_service"], BREAKDOWN_COLUMNS),
        "period": (report["by_period"], BREAKDOWN_COLUMNS),
        "sla": (
            report["sla"],
            ("priority", "incidents", "response_met", "response_breached", "resolution_met", "resolution_breached"),
        ),
        "on-call": (
            report["on_call"],
            (
                "person",
                "time_zone",
                "pages",
                "interruptions.business",
                "interruptions.off_hours",
                "interruptions.sleep",
                "acknowledgements",
                "hours_on_call",
            ),
        ),
        "alerts": (report["top_alerts_by_incidents"], ("alert", "incidents", "occurrences", "flaps")),
    }[args.by]
    emit(rows, "table", out, columns=columns)


def _drill_report(args: argparse.Namespace, api: Api, out: TextIO) -> None:
    report = api.call("GET", api_path("drills", args.incident))
    if args.output == "json":
        emit(report, "json", out)
        return
    emit(
        report,
        "table",
        out,
        detail=(
            "reference",
            "title",
            "started_at",
            "ended_at",
            "acknowledged_by",
            "seconds_to_acknowledge",
            "escalations_by_timeout",
        ),
    )
    print(file=out)
    emit(
        report["responders"],
        "table",
        out,
        columns=("person", "seconds_to_first_page", "acknowledged", "seconds_to_acknowledge"),
    )


def _moment(end_of_day: bool) -> Callable[[str], datetime]:
    """argparse's type for --from/--to: a date or an ISO 8601 time, in UTC unless an offset is given (reports count
    weeks and months in UTC). `--to 2026-11-30` includes that day, so `--from 2026-11-01 --to 2026-11-30` is November."""

    def parse(text: str) -> datetime:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return datetime.combine(day, time(), UTC) + timedelta(days=1 if end_of_day and day < date.max else 0)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is no date or time; give e.g. 2026-11-01 or 2026-11-01T09:30:00+01:00"
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return parse


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The period asked for, refused here as a usage error naming the flag where the API would refuse it
    (report_service.py), so that no value it cannot take is sent."""
    from ..report_service import EARLIEST, LATEST, MAX_PERIOD  # (the domain only when a report is asked for)

    for flag, moment in (("--from", start), ("--to", end)):
        if moment is not None and not EARLIEST <= moment <= LATEST:
            raise UsageError(f"{flag}: must be between {EARLIEST:%Y} and {LATEST:%Y}")
    end = end or datetime.now(UTC)
    start = start or end - timedelta(days=30)
    if end <= start:
        raise UsageError(f"--to: must be after --from ({start.isoformat()})")
    if end - start > MAX_PERIOD:
        raise UsageError(
            f"--from: a report covers at most {MAX_PERIOD.days} days; this period is {(end - start).days} days"
        )
    return start, end
