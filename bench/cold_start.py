"""Cold-start import cost of each Lambda handler module, next to `import botocore.session` as a baseline.

Every sample is a FRESH Python process (nothing cached in memory) that times only the import with
`time.perf_counter()`, with the environment the functions run with (POWERTOOLS_TRACE_DISABLED=1, ...).
Modules are measured round-robin after one discarded warm-up round, so a machine getting busier or
quieter affects all of them alike; the median of `--runs` samples is reported, with the ratio to the
baseline measured in the same run (ratios travel between machines better than milliseconds).

    .venv/bin/python -m bench.cold_start [--runs 7] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common" / "python"
BASELINE = "botocore.session"
DEFAULT_OUT = ROOT / "bench" / "results"

FUNCTION_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "firebell",
    "AWS_REGION": "us-east-1",
}

# Runs in the child: nothing but the import between the two clock readings.
_PROBE = """\
import sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
print(repr(elapsed))
"""


@dataclass(frozen=True)
class Measurement:
    name: str  # the function's name, or "baseline"
    module: str
    samples_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)


def function_modules() -> list[tuple[str, str]]:
    """(function name, handler module) for every function of the pipeline, from the topology."""
    for path in (str(ROOT), str(LAYER)):
        if path not in sys.path:
            sys.path.insert(0, path)
    from infra.topology import TOPOLOGY

    return [(spec.name, spec.module) for spec in TOPOLOGY.functions]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME")}
    env.update(FUNCTION_ENV)
    return env


def import_seconds(module: str, env: dict[str, str]) -> float:
    """One fresh interpreter importing `module`; the seconds the import took."""
    probe = _PROBE.format(paths=[str(ROOT), str(LAYER)], module=module)
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{done.stderr.strip()}")
    return float(done.stdout.strip().splitlines()[-1])


def measure(targets: list[tuple[str, str]], runs: int, progress=print) -> list[Measurement]:
    env = child_env()
    for _, module in targets:  # warm-up: OS file cache (and .pyc files, unless bytecode writing is off)
        import_seconds(module, env)
    samples: dict[str, list[float]] = {module: [] for _, module in targets}
    for run in range(1, runs + 1):
        for _, module in targets:
            samples[module].append(round(import_seconds(module, env) * 1000, 2))
        progress(f"run {run}/{runs} done")
    return [Measurement(name, module, samples[module]) for name, module in targets]


def machine_info() -> dict[str, object]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "bytecode_writing": "off (PYTHONDONTWRITEBYTECODE)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on",
        "botocore": version("botocore"),
        "aws-lambda-powertools": version("aws-lambda-powertools"),
        "pydantic": version("pydantic"),
        "pynamodb": version("pynamodb"),
    }


def report(measurements: list[Measurement], runs: int, machine: dict[str, object]) -> dict[str, object]:
    baseline = next(m for m in measurements if m.name == "baseline")

    def row(m: Measurement) -> dict[str, object]:
        return {
            **asdict(m),
            "median_ms": round(m.median_ms, 2),
            "min_ms": min(m.samples_ms),
            "max_ms": max(m.samples_ms),
            "ratio_to_baseline": round(m.median_ms / baseline.median_ms, 2),
        }

    return {
        "what": "median wall time of the import statement in a fresh interpreter",
        "runs": runs,
        "environment": FUNCTION_ENV,
        "machine": machine,
        "baseline": row(baseline),
        "functions": [row(m) for m in measurements if m is not baseline],
    }


def render_markdown(result: dict) -> str:
    machine = result["machine"]
    base = result["baseline"]
    lines = [
        "# Cold start: handler import time",
        "",
        f"Median of {result['runs']} fresh interpreters per module (one warm-up round discarded), "
        f"timing only the import; ratio against `import {base['module']}` measured in the same run.",
        "",
        "| Function | Module | Median (ms) | Min–max (ms) | × botocore.session |",
        "|---|---|---:|---:|---:|",
    ]
    for row in [*result["functions"], base]:
        label = "baseline" if row is base else row["name"]
        lines.append(
            f"| {label} | `{row['module']}` | {row['median_ms']:.1f} | {row['min_ms']:.1f}–{row['max_ms']:.1f} "
            f"| {row['ratio_to_baseline']:.2f} |"
        )
    lines += [
        "",
        f"Environment of each import: {', '.join(f'`{k}={v}`' for k, v in result['environment'].items())}.",
        "",
        "Machine:",
        "",
        f"- date: {machine['date']}",
        f"- python: {machine['python']} ({machine['implementation']}) on {machine['platform']}",
        f"- cpu count: {machine['cpu_count']}",
        f"- bytecode writing: {machine['bytecode_writing']}",
        f"- botocore {machine['botocore']}, aws-lambda-powertools {machine['aws-lambda-powertools']}, "
        f"pydantic {machine['pydantic']}, pynamodb {machine['pynamodb']}",
        "",
    ]
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per module (default 7)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for cold_start.json/.md")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    targets = [*function_modules(), ("baseline", BASELINE)]
    print(f"measuring {len(targets)} modules × {args.runs} runs (+1 warm-up) in fresh interpreters")
    try:
        measurements = measure(targets, args.runs)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    result = report(measurements, args.runs, machine_info())

    args.out.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out / "cold_start.json", json.dumps(result, indent=2) + "\n")
    markdown = render_markdown(result)
    write_atomically(args.out / "cold_start.md", markdown)
    print(markdown)
    print(f"written: {args.out / 'cold_start.json'}, {args.out / 'cold_start.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
