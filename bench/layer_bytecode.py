"""Handler import as Lambda does it, from the layer as built for deployment, with and without its bytecode.

/opt is read-only in Lambda, so a layer shipped without .pyc files is compiled again on every cold start. This
builds the layer with infra/cdk/layer.py's bundler (pip downloads its wheels; bench/lambda_like.py), makes a copy
without any __pycache__, takes each function's folder without its bytecode (the same for both), and imports each handler
(`app`, as Lambda's `app.handler` does) in fresh interpreters with bytecode writing off, rounds alternating
between the two layers; `import botocore.session` from each layer is the baseline. Medians, one warm-up round
discarded; the ratios are what travels between machines.

    .venv/bin/python -m bench.layer_bytecode [--runs 7 --out FOLDER --save]
        → bench/results/local/ (--save: bench/results/) layer_bytecode.json and layer_bytecode.md
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench import output
from bench.lambda_like import build_deployment
from infra.topology import TOPOLOGY

_PROBE = "import sys, time\nsys.path[:0] = {paths!r}\nstart = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - start)"
# As Lambda runs them (tracing off: the X-Ray SDK is a measurement of its own).
ENVIRONMENT = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "firebell",
    "AWS_REGION": "us-east-1",
    "LAMBDA_TASK_ROOT": "/var/task",
}


def import_ms(paths: list[str], module: str, cwd: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")} | ENVIRONMENT
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(paths=paths, module=module)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} from {paths} failed:\n{done.stderr.strip()}")
    return float(done.stdout.split()[-1]) * 1000


def build(folder: Path) -> dict[str, Path]:
    """The layer with its bytecode, the same without, and each function's folder (its sources: the import compiles
    them alike in both): their paths."""
    deployment = build_deployment(folder / "with")
    without = folder / "layer-without-bytecode"
    shutil.copytree(deployment.opt, without, ignore=shutil.ignore_patterns("__pycache__"))
    for spec in TOPOLOGY.functions:
        shutil.copytree(
            deployment.tasks[spec.name], folder / "functions" / spec.name, ignore=shutil.ignore_patterns("__pycache__")
        )
    return {"with bytecode": deployment.site, "without bytecode": without / "python"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="firebell-layer-bench-") as temporary:
        folder = Path(temporary)
        layers = build(folder)
        targets = [(spec.name, [str(folder / "functions" / spec.name)], "app") for spec in TOPOLOGY.functions]
        targets.append(("baseline", [], "botocore.session"))
        samples: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs + 1):
            for kind, site in layers.items():
                for name, paths, module in targets:
                    taken = import_ms([*paths, str(site)], module, folder)
                    if run:  # the first round warms the OS file cache
                        samples.setdefault((name, kind), []).append(round(taken, 1))
            print(f"run {run}/{args.runs} done", file=sys.stderr)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    rows = []
    for name, _, module in targets:
        row = {"function": name, "module": module}
        for kind in layers:
            row[kind] = {
                "median_ms": round(medians[(name, kind)], 1),
                "samples_ms": samples[(name, kind)],
                "ratio_to_baseline": round(medians[(name, kind)] / medians[("baseline", kind)], 2),
            }
        row["speed_up"] = round(medians[(name, "without bytecode")] / medians[(name, "with bytecode")], 2)
        rows.append(row)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": args.runs,
        "environment": ENVIRONMENT,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "functions": rows,
    }
    lines = [
        f"# Handler import from the deployed layer, with and without bytecode ({result['date']})",
        "",
        f"{result['machine']}; median of {args.runs} fresh interpreters each (`.venv/bin/python -m bench.layer_bytecode`).",
        "",
        "| function | with bytecode ms | × botocore.session | without ms | × botocore.session | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        w, wo = row["with bytecode"], row["without bytecode"]
        lines.append(
            f"| {row['function']} | {w['median_ms']} | {w['ratio_to_baseline']} | {wo['median_ms']} | {wo['ratio_to_baseline']} | {row['speed_up']} |"
        )
    output.write(output.chosen(args.out, args.save), "layer_bytecode", result, "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
