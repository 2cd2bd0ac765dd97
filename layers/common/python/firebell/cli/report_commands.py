"""The reports commands: `firebell reports` (a period's figures, or its incidents as CSV) and `firebell drill`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from .client import Api, CliError, api_path
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
    reports.add_argument("--from", dest="start", help="ISO 8601 time with its offset (default: 30 days before --to)")
    reports.add_argument("--to", dest="end", help="ISO 8601 time with its offset (default: now)")
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
    end = _time("--to", args.end) or datetime.now(UTC)
    start = _time("--from", args.start) or end - timedelta(days=30)
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


def _time(flag: str, text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        raise CliError(f"{flag}: give an ISO 8601 time with its offset, e.g. 2026-11-01T00:00:00Z") from None
