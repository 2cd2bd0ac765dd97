"""Peak memory of each function: a fresh interpreter as Lambda runs it handles 20 representative events in a row,
and its peak resident set (VmHWM) is read after the import, the first event and the last (issue 10: at most 90 MB
per handler after 20 events). The same set-up as bench/cold_start.py (bench/lambda_like.py: the built layer,
Lambda's environment with active tracing, moto's server as the endpoint); the events are bench/lambda_events.py's,
varied over the 20 (intake: new alarms, repeats and OKs; the API: reports, lists, reads, timelines and
acknowledgements). Each function runs `--runs` times; the highest peak is reported (memory is what a function
must never run out of). `--before REV` measures another commit's build in the same run.

The CPU time of the cold start (bench/cold_start.py's measure, taken here too) says what each memory size costs in
latency: Lambda gives a function CPU in proportion to its memory (1,769 MB = one vCPU), so the table shows, per
function, the configured memory (infra/topology.py), the share of a vCPU it buys and the cold start it implies.

    .venv/bin/python -m bench.memory [--events 20 --runs 3 --before 615fa25 --out FOLDER --save]
        → bench/results/local/ (--save: bench/results/) memory.json and memory.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

from bench import output
from bench.lambda_like import measured_builds, run_facts, write_result
from infra.topology import TOPOLOGY

GOAL_MB = 90
FULL_VCPU_MB = 1769  # Lambda: the memory size at which a function has one full vCPU
SIZES_MB = (128, 256, 512, 1024, FULL_VCPU_MB)  # the sizes the trade-off table compares


def mb(kib: int) -> float:
    return round(kib / 1024, 1)


def measure(events: int, runs: int, before: str | None) -> dict[str, list[dict[str, Any]]]:
    with measured_builds(before) as (deployments, env, made):
        samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for round_ in range(runs):
            for spec in TOPOLOGY.functions:
                for kind, deployment in deployments.items():
                    samples.setdefault((kind, spec.name), []).append(
                        env.run(deployment, spec, made.for_function(spec.name, events))
                    )
            print(f"run {round_ + 1}/{runs} done", file=sys.stderr, flush=True)
    return {kind: [row(spec, samples[(kind, spec.name)]) for spec in TOPOLOGY.functions] for kind in deployments}


def row(spec: Any, samples: list[dict[str, Any]]) -> dict[str, Any]:
    cold_cpu_ms = statistics.median(s["after_event_cpu_ms"][0] for s in samples)
    warm_cpu_ms = statistics.median(
        (s["after_event_cpu_ms"][-1] - s["after_event_cpu_ms"][0]) / max(1, len(s["after_event_cpu_ms"]) - 1)
        for s in samples
    )

    def at(memory_mb: int, cpu_ms: float) -> int:  # CPU time here, stretched by the share of a vCPU the size buys
        return round(cpu_ms / min(1.0, memory_mb / FULL_VCPU_MB))

    return {
        "name": spec.name,
        "events": len(samples[0]["after_event_ms"]),
        "peak_rss_mb": {
            stage: max(mb(s["peak_rss_kib"][stage]) for s in samples)
            for stage in ("import", "first_event", "last_event")
        },
        "peak_rss_mb_samples": [mb(s["peak_rss_kib"]["last_event"]) for s in samples],
        "memory_mb": spec.memory_mb,
        "vcpu_share": round(min(1.0, spec.memory_mb / FULL_VCPU_MB), 3),
        "cold_start_cpu_ms_here": round(cold_cpu_ms, 1),
        "warm_event_cpu_ms_here": round(warm_cpu_ms, 1),
        "cold_start_ms_by_memory_mb": {size: at(size, cold_cpu_ms) for size in SIZES_MB},
        "warm_event_ms_by_memory_mb": {size: at(size, warm_cpu_ms) for size in SIZES_MB},
    }


def markdown(result: dict[str, Any]) -> str:
    before = {r["name"]: r for r in result.get("before", {}).get("functions", [])}
    lines = [
        f"# Peak memory per function ({result['date']}, commit {result['commit']})",
        "",
        f"{result['machine']}; each function in a fresh interpreter as Lambda runs it (bench/lambda_like.py), "
        f"{result['events']} events in a row, highest of {result['runs']} runs; `{result['command']}`. "
        f"Goal: at most {GOAL_MB} MB after {result['events']} events.",
        "",
    ]
    head = "| function | after import MB | after the first event MB | after the last MB |"
    rule = "|---|---|---|---|"
    if before:
        head += f" before ({result['before']['commit']}): after the last MB |"
        rule += "---|"
    lines += [head, rule]
    for r in result["functions"]:
        peak = r["peak_rss_mb"]
        line = f"| {r['name']} | {peak['import']} | {peak['first_event']} | **{peak['last_event']}** |"
        lines.append(line + (f" {before[r['name']]['peak_rss_mb']['last_event']} |" if before else ""))
    worst = max(r["peak_rss_mb"]["last_event"] for r in result["functions"])
    lines += [
        "",
        f"Highest: {worst} MB ({'within' if worst <= GOAL_MB else 'over'} the {GOAL_MB} MB goal).",
        "",
        "## Sizing: memory buys CPU",
        "",
        f"Lambda gives a function memory / {FULL_VCPU_MB} MB of a vCPU. Below a full vCPU, CPU-bound work costs the "
        "same GB-seconds at any size (half the CPU, twice the time); a bigger size costs more only for the time "
        "spent waiting on AWS calls. The CPU-bound part of a cold start and of a warm event at each size, from this "
        "machine's CPU time (the calls' latency comes on top whatever the size):",
        "",
        "| function | peak MB | configured MB | cold start ms at "
        + " / ".join(map(str, SIZES_MB))
        + " MB | warm event ms at "
        + " / ".join(map(str, SIZES_MB))
        + " MB |",
        "|---|---|---|---|---|",
    ]
    for r in result["functions"]:
        cold = " / ".join(str(ms) for ms in r["cold_start_ms_by_memory_mb"].values())
        warm = " / ".join(str(ms) for ms in r["warm_event_ms_by_memory_mb"].values())
        lines.append(f"| {r['name']} | {r['peak_rss_mb']['last_event']} | **{r['memory_mb']}** | {cold} | {warm} |")
    lines += [
        "",
        "Memory is not the constraint: 128 MB would hold every handler twice over, but would stretch the "
        "CPU-bound part of a cold start to seconds. The paging path (intake, classify, notify) and the API have "
        "1,024 MB: half of 512 MB's cold start, for the waiting time's doubled price (tens of milliseconds of AWS "
        "calls per invocation: under $0.01 per 1,000 incidents). The outbox relay runs every minute in the "
        "background and mostly waits on one query: 256 MB. infra/topology.py holds the sizes.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20, help="events per function (default 20)")
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters per function (default 3)")
    parser.add_argument("--before", metavar="REV", help="also measure this commit's code in the same run")
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.events < 1 or args.runs < 1:
        parser.error("--events and --runs must be at least 1")
    measured = measure(args.events, args.runs, args.before)
    result = {
        "what": "peak resident set (VmHWM) of a fresh interpreter handling the events in a row, as Lambda runs it",
        **run_facts("memory", argv),
        "events": args.events,
        "runs": args.runs,
        "goal_mb": GOAL_MB,
    }
    write_result(output.chosen(args.out, args.save), "memory", result, args.before, measured, markdown)
    return 0 if all(r["peak_rss_mb"]["last_event"] <= GOAL_MB for r in result["functions"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
