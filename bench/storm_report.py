"""The storm bench's report (bench/storm.py): storm.md from storm.json's figures, with an earlier run's beside."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any


def machine() -> dict[str, Any]:
    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "?"

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "packages": {
            p: version(p)
            for p in ("moto", "botocore", "boto3", "pynamodb", "aws-lambda-powertools", "pydantic", "werkzeug")
        },
    }


# The figures a before/after table compares (each run's ratios are of its own baseline, in its own run).
COMPARED = [
    ("code", ("code",)),
    ("incidents created", ("checks", "incidents_created")),
    ("occurrences of the stormed alarm (API)", ("checks", "storm_occurrences_api")),
    ("DynamoDB writes per duplicate alarm", ("dynamodb", "writes_per_duplicate_alarm")),
    ("DynamoDB writes per alarm of the stormed one, opening included", ("dynamodb", "storm_writes_per_alarm")),
    ("DynamoDB writes per alarm, all alarms", ("dynamodb", "writes_per_alarm_overall")),
    ("DynamoDB reads per alarm, all alarms", ("dynamodb", "reads_per_alarm_overall")),
    ("alarms/s through intake", ("throughput", "alarms_per_second")),
    ("raw conditional UpdateItem/s, same run", ("throughput", "raw_updates_per_second")),
    ("ratio alarms/s ÷ raw updates/s", ("throughput", "ratio")),
    ("CPU ms per alarm, bench process (handlers)", ("throughput", "cpu_ms_per_alarm", "bench_process")),
    ("CPU ms per raw update, bench process (boto3)", ("throughput", "cpu_ms_per_raw_update", "bench_process")),
    ("CPU ms per alarm, moto process", ("throughput", "cpu_ms_per_alarm", "moto_process")),
    ("intake invocation median ms", ("throughput", "invocation_ms", "median")),
    ("checks passed", ("passed",)),
    ("date", ("machine", "date")),
    ("command", ("command",)),
]


def summary_of(result: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for label, path in COMPARED:
        value: Any = result
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        found[label] = value
    return found


def before_after(result: dict[str, Any]) -> list[str]:
    if "before" not in result:
        return []
    now = summary_of(result)
    return [
        "",
        "Before and after (each run's ratio is to its own baseline, measured in that run):",
        "",
        "| measure | before | after |",
        "|---|---|---|",
        *[f"| {label} | {_cell(result['before'].get(label))} | {_cell(now[label])} |" for label, _ in COMPARED],
    ]


def _cell(value: Any) -> str:
    if isinstance(value, str) and value.startswith("python -m"):
        return f"`{value}`"
    return (
        "–" if value is None else f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
    )


def markdown(result: dict[str, Any]) -> str:
    c, t, checks = result["config"], result["throughput"], result["checks"]
    per_duplicate = result["dynamodb"]["writes_per_duplicate_alarm"]
    ok = "✓" if result["passed"] else "✗"

    def cpu(ms: dict[str, float | None]) -> str:
        moto = f"{ms['moto_process']} ms" if ms["moto_process"] is not None else "(in the bench process)"
        return f"{ms['bench_process']} ms / {moto}"

    def busy(ms: dict[str, float | None], rate: float) -> str:
        return ", ".join(
            "–" if v is None else f"{v * rate / 1000:.2f}" for v in (ms["bench_process"], ms["moto_process"])
        )

    unit = {
        "group": "a group of one alarm's copies in a batch, `AlertIntake.handle_group`",
        "alarm": "one alarm, `AlertIntake.handle_alarm`",
    }[result["dynamodb"]["charged_per"]]
    where = (
        "its own process (moto's request handling has a core of its own, as DynamoDB does)"
        if c["moto"] == "process"
        else "a thread of the bench process (it shares the GIL with the workers)"
    )
    lines = [
        f"# Alarm storm through intake ({result['machine']['date']}, code of {result['code']})",
        "",
        f"{c['duplicates']:,} copies of one alarm and {c['distinct']:,} distinct alarms, shuffled, in SQS events of {c['batch_size']} "
        f"real-format SNS-wrapped CloudWatch notifications, handed to the intake handler by {c['workers']} concurrent workers "
        f"(one intake container each, in-process) against moto's server over HTTP, running in {where}. Baseline: the same number of "
        "conditional UpdateItems of the dedup pointer's counting shape (one bare write per alarm) from as many threads with plain "
        "boto3, same server, same run.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| incidents created (expected {checks['incidents_expected']:,}) | {ok if checks['incidents_created'] == checks['incidents_expected'] else '✗'} {checks['incidents_created']:,} |",
        f"| occurrences of the stormed alarm, `GET /incidents/{checks['storm_incident']}` (expected {checks['storm_occurrences_expected']:,}) | "
        f"{ok if checks['storm_occurrences_api'] == checks['storm_occurrences_expected'] else '✗'} {checks['storm_occurrences_api']:,} |",
        f"| occurrences of each distinct alarm | {', '.join(f'{k}: {v:,} alarms' for k, v in checks['distinct_alarm_occurrences'].items()) or '–'} |",
        f"| incidents with their opened line on the timeline, from the table (opened twice: {checks['incidents_opened_more_than_once']}) | "
        f"{checks['incidents_with_opened_line']:,} |",
        f"| DynamoDB writes per duplicate alarm (units that only counted repeats) | **{'–' if per_duplicate is None else per_duplicate}** |",
        f"| DynamoDB writes per alarm of the stormed one, its opening included | {result['dynamodb']['storm_writes_per_alarm']} |",
        f"| DynamoDB writes per alarm, all {c['alarms']:,} alarms | {result['dynamodb']['writes_per_alarm_overall']} |",
        f"| alarms/s through intake ({t['intake_seconds']:.1f} s) | {t['alarms_per_second']:,.1f} |",
        f"| raw conditional UpdateItem/s, {c['workers']} threads, plain boto3 ({t['raw_seconds']:.1f} s) | {t['raw_updates_per_second']:,.1f} |",
        f"| ratio alarms/s ÷ raw updates/s | **{t['ratio']:.3f}** (firebell costs ×{t['overhead_factor']:.2f} the bare write) |",
        f"| CPU per alarm through intake: bench process (handlers) / moto process | {cpu(t['cpu_ms_per_alarm'])} |",
        f"| CPU per raw update: bench process (boto3) / moto process | {cpu(t['cpu_ms_per_raw_update'])} |",
        f"| cores busy during intake / during the baseline: bench process, moto process | {busy(t['cpu_ms_per_alarm'], t['alarms_per_second'])}"
        f" / {busy(t['cpu_ms_per_raw_update'], t['raw_updates_per_second'])} |",
        f"| intake invocation (10 records): median / p95 / max | {t['invocation_ms']['median']} / {t['invocation_ms']['p95']} / {t['invocation_ms']['max']} ms |",
        f"| records redelivered after a failure; dead letters | {t['redelivered_records']}; {sum(checks['dead_letters'].values())} |",
        "",
        f"DynamoDB calls charged to each unit of intake's work (a unit: {unit}), by what intake did with it (a group's "
        "outcome is its first alarm's; counted at botocore's `BaseClient._make_api_call`; conditional writes that failed "
        "count as writes):",
        "",
        "| alarms | outcome | units | alarms | writes/alarm | reads/alarm | units by number of writes | units by number of alarms | calls by operation |",
        "|---|---|---:|---:|---:|---:|---|---|---|",
        *[
            f"| {r['alarms']} | {r['outcome']} | {r['units']:,} | {r['count']:,} | {r['writes_per_alarm']} | {r['reads_per_alarm']} | "
            f"{', '.join(f'{k}: {v:,}' for k, v in r['units_by_write_count'].items())} | "
            f"{', '.join(f'{k}: {v:,}' for k, v in r['units_by_alarm_count'].items())} | "
            f"{', '.join(f'{k} {v:,}' for k, v in r['by_operation'].items())} |"
            for r in result["dynamodb"]["per_alarm"]
        ],
        *before_after(result),
        "",
        "moto's DynamoDB requests are serialised by one lock, because moto does not apply a write to an item "
        "atomically and DynamoDB does; moto spends milliseconds of Python per request, so both rates are bounded by "
        "moto, not by DynamoDB. Compare the ratio and the CPU per alarm across machines, not the rates. "
        f"powertools printed {t['emf_lines_printed_with_metrics_disabled']} EMF metric lines during the storm although "
        "POWERTOOLS_METRICS_DISABLED is set (captured, not shown).",
        "",
        "Machine:",
        "",
        *[f"- {k}: {v}" for k, v in result["machine"].items() if k != "packages"],
        "- " + ", ".join(f"{p} {v}" for p, v in result["machine"]["packages"].items()),
        "",
        f"Command: `{result['command']}`",
        "",
    ]
    return "\n".join(lines)
