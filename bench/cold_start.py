"""Cold start: the import of each handler and its first event, in a fresh interpreter as Lambda runs it, next to
`import botocore.session` in the same run (issue 10: at most 2.5× for every function).

Each sample is a new interpreter (bench/lambda_like.py): the layer as built for deployment (bytecode included) and
the function's folder on sys.path and nothing else, Lambda's environment with active tracing, the function's own
variables from infra/topology.py, and moto's server as the AWS endpoint, so the first event makes its real SDK
calls (bench/lambda_events.py says which event each function gets). Timed: from before `import app` to the
handler's return, split into the import and the first event. The baseline is `import botocore.session` from the
same layer in the same kind of interpreter. A round runs every function and the baseline once, in turn; the first
round is discarded (OS file cache, moto's first requests of each service); medians of `--runs` rounds. Ratios are
what travels between machines: compare those, never the milliseconds.

`--before REV` builds a second deployment from another commit's package, functions and pins, and measures it in
the same rounds (the before/after table); both run the same events against the same endpoint.

    .venv/bin/python -m bench.cold_start [--runs 7] [--before 615fa25] [--aws-latency-ms 0] [--out FOLDER] [--save]
        → bench/results/local/ (--save: bench/results/) cold_start.json (`functions[].ratio_to_baseline`) and cold_start.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from typing import Any

from bench import output
from bench.lambda_like import BASELINE, measured_builds, run_facts, write_result
from infra.topology import TOPOLOGY, FunctionSpec

GOAL = 2.5


def summary(samples: list[dict[str, Any]], baseline: dict[str, float]) -> dict[str, Any]:
    """Medians of one function's samples; `baseline`: the baseline's median wall and CPU ms."""
    total = [round(s["after_event_ms"][0], 1) for s in samples]
    imports = [round(s["import_ms"], 1) for s in samples]
    cpu = [round(s["after_event_cpu_ms"][0], 1) for s in samples]
    last = samples[-1]
    return {
        "median_ms": round(statistics.median(total), 1),
        "import_median_ms": round(statistics.median(imports), 1),
        "first_event_median_ms": round(statistics.median(t - i for t, i in zip(total, imports, strict=True)), 1),
        "samples_ms": total,
        "ratio_to_baseline": round(statistics.median(total) / baseline["median_ms"], 2),
        "cpu_median_ms": round(statistics.median(cpu), 1),
        "cpu_ratio_to_baseline": round(statistics.median(cpu) / baseline["cpu_median_ms"], 2),
        "peak_rss_mb_after_first_event": round(last["peak_rss_kib"]["first_event"] / 1024, 1),
        "modules_loaded": last["modules"],
        "xray_segments_first_event": dict(Counter(last["segments"])),
    }


def measure(
    runs: int, before: str | None, functions: tuple[FunctionSpec, ...] = TOPOLOGY.functions, aws_latency_ms: float = 0.0
) -> dict[str, Any]:
    with measured_builds(before, aws_latency_ms) as (deployments, env, events):
        samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
        baseline: list[dict[str, Any]] = []
        for round_ in range(runs + 1):
            for spec in functions:
                for kind, deployment in deployments.items():
                    result = env.run(deployment, spec, events.for_function(spec.name, 1))
                    if round_:
                        samples.setdefault((kind, spec.name), []).append(result)
            result = env.run(deployments["after"], TOPOLOGY.functions[0], [], module=BASELINE)
            if round_:
                baseline.append(result)
            print(
                f"round {round_}/{runs} done{' (warm-up, discarded)' if not round_ else ''}",
                file=sys.stderr,
                flush=True,
            )
    wall, cpu = [round(b["import_ms"], 1) for b in baseline], [round(b["import_cpu_ms"], 1) for b in baseline]
    base = {
        "module": BASELINE,
        "median_ms": round(statistics.median(wall), 1),
        "samples_ms": wall,
        "cpu_median_ms": round(statistics.median(cpu), 1),
        "cpu_samples_ms": cpu,
    }
    return {
        "baseline": base,
        **{
            kind: [{"name": spec.name, **summary(samples[(kind, spec.name)], base)} for spec in functions]
            for kind in deployments
        },
    }


def markdown(result: dict[str, Any]) -> str:
    before = {row["name"]: row for row in result.get("before", {}).get("functions", [])}
    base = result["baseline"]
    latency = result.get("aws_latency_ms") or 0
    aws_latency = (
        f", which answers each one {latency:g} ms later (`--aws-latency-ms`: AWS across a network)" if latency else ""
    )
    lines = [
        f"# Cold start: import + first event, as Lambda runs it ({result['date']}, commit {result['commit']})",
        "",
        f"{result['machine']}; median of {result['runs']} fresh interpreters per function (one warm-up round discarded); "
        f"`{result['command']}`.",
        "",
        "Each: the layer as built for deployment (bytecode included) and the function's folder only on sys.path; Lambda's "
        "environment with active tracing (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, a sampled _X_AMZN_TRACE_ID, the X-Ray "
        "daemon address) and the function's variables from infra/topology.py; the first event's AWS calls go to moto's "
        f"server{aws_latency}. Baseline: `import {BASELINE}` from the same layer, in the same rounds: {base['median_ms']} ms "
        f"({base['cpu_median_ms']} ms CPU). Goal: at most {GOAL}× for every function. Wall time is the goal's measure; "
        "CPU time (the child's own, without the endpoint's) is the steadier one on a busy machine.",
        "",
    ]
    head = (
        "| function | import ms | first event ms | import + first event ms | **× botocore.session** | CPU ms | CPU × |"
    )
    rule = "|---|---|---|---|---|---|---|"
    if before:
        head += f" before ({result['before']['commit']}): ms | × | CPU × |"
        rule += "---|---|---|"
    lines += [head + " peak RSS MB | X-Ray segments of the first event |", rule + "---|---|"]
    for row in result["functions"]:
        line = (
            f"| {row['name']} | {row['import_median_ms']} | {row['first_event_median_ms']} | {row['median_ms']} | "
            f"**{row['ratio_to_baseline']}** | {row['cpu_median_ms']} | {row['cpu_ratio_to_baseline']} |"
        )
        if before:
            was = before[row["name"]]
            line += f" {was['median_ms']} | {was['ratio_to_baseline']} | {was['cpu_ratio_to_baseline']} |"
        segments = ", ".join(f"{name} ×{n}" for name, n in sorted(row["xray_segments_first_event"].items()))
        lines.append(line + f" {row['peak_rss_mb_after_first_event']} | {segments} |")
    worst = max(row["ratio_to_baseline"] for row in result["functions"])
    lines += ["", f"Worst: {worst}× ({'within' if worst <= GOAL else 'over'} the {GOAL}× goal).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds measured (one more is run first and discarded)")
    parser.add_argument("--before", metavar="REV", help="also measure this commit's code in the same rounds")
    parser.add_argument("--functions", nargs="+", choices=[f.name for f in TOPOLOGY.functions], help="only these")
    parser.add_argument(
        "--aws-latency-ms",
        type=float,
        default=0.0,
        help="moto's server answers each AWS call this much later, as a service across a network does (default 0)",
    )
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    functions = tuple(TOPOLOGY.function(name) for name in args.functions) if args.functions else TOPOLOGY.functions
    measured = measure(args.runs, args.before, functions, args.aws_latency_ms)
    result = {
        "what": "median wall time of `import app` plus the first event, in a fresh interpreter as Lambda runs it",
        **run_facts("cold_start", argv),
        "runs": args.runs,
        "goal_ratio": GOAL,
        "aws_latency_ms": args.aws_latency_ms,
        "baseline": measured["baseline"],
    }
    write_result(output.chosen(args.out, args.save), "cold_start", result, args.before, measured, markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
