"""The cold-start benchmark's bookkeeping and the environment it runs handlers in (never its timings: those are
machine-dependent; `python -m bench.cold_start` measures them)."""

from __future__ import annotations

from pathlib import Path

from bench.cold_start import markdown, summary
from bench.lambda_like import Deployment, LambdaLike
from infra.topology import TOPOLOGY


class Daemon:
    address = "127.0.0.1:2000"


def sample(total: float, imported: float, cpu: float, segments: tuple[str, ...] = ()) -> dict:
    return {
        "after_event_ms": [total],
        "import_ms": imported,
        "after_event_cpu_ms": [cpu],
        "import_cpu_ms": imported,
        "peak_rss_kib": {"import": 40_960, "first_event": 61_440, "last_event": 61_440},
        "modules": 500,
        "segments": list(segments),
    }


def test_summary_gives_medians_and_ratios_to_the_baseline_of_the_same_run():
    # Given three samples of a function and the baseline's medians
    samples = [
        sample(300, 200, 250),
        sample(500, 300, 260),
        sample(400, 250, 240, ("## handler", "dynamodb", "dynamodb")),
    ]
    row = summary(samples, {"median_ms": 100.0, "cpu_median_ms": 125.0})
    # Then the medians of the whole, the import and the event, and the ratios, wall and CPU
    assert (row["median_ms"], row["import_median_ms"], row["first_event_median_ms"]) == (400, 250, 150)
    assert (row["ratio_to_baseline"], row["cpu_median_ms"], row["cpu_ratio_to_baseline"]) == (4.0, 250, 2.0)
    assert row["peak_rss_mb_after_first_event"] == 60.0
    assert row["xray_segments_first_event"] == {"## handler": 1, "dynamodb": 2}


def test_markdown_puts_before_and_after_side_by_side():
    row = {"name": "intake", **summary([sample(250, 150, 200)], {"median_ms": 100.0, "cpu_median_ms": 100.0})}
    was = {"name": "intake", **summary([sample(400, 300, 350)], {"median_ms": 100.0, "cpu_median_ms": 100.0})}
    result = {
        "date": "2026-12-01",
        "commit": "abc1234",
        "machine": "x86_64, 2 CPUs",
        "runs": 1,
        "command": "python -m bench.cold_start",
        "baseline": {"median_ms": 100.0, "cpu_median_ms": 100.0},
        "functions": [row],
        "before": {"commit": "615fa25", "functions": [was]},
    }
    text = markdown(result)
    assert "| intake | 150 | 100 | 250 | **2.5** | 200 | 2.0 | 400 | 4.0 | 3.5 | 60.0 |" in text
    assert "before (615fa25)" in text and "Worst: 2.5× (within the 2.5× goal)." in text


def test_a_handler_runs_with_lambdas_environment_tracing_on_and_its_own_variables(tmp_path: Path):
    # Given a deployment and rendered resources (names only: nothing is called)
    spec = TOPOLOGY.function("classify")
    deployment = Deployment(tmp_path / "opt", {spec.name: tmp_path / "task" / spec.name})
    resources = {ref: f"{ref[0]}:{ref[1]}" for ref in spec.environment.values()}
    env = LambdaLike("http://127.0.0.1:5000", resources, Daemon(), tmp_path).environment(spec, deployment)
    # Then it is Lambda's (task root, function name, the X-Ray daemon) with tracing on, pointed at the local endpoint
    assert (
        env["LAMBDA_TASK_ROOT"] == str(tmp_path / "task" / "classify") and env["AWS_LAMBDA_FUNCTION_NAME"] == "classify"
    )
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == "127.0.0.1:2000" and "POWERTOOLS_TRACE_DISABLED" not in env
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    # And the stack's variables, the config in the layer, and exactly the topology's variables for this function
    assert env["POWERTOOLS_SERVICE_NAME"] == "classify" and env["FIREBELL_CONFIG_DIR"] == str(
        tmp_path / "opt" / "firebell" / "config"
    )
    for variable, ref in spec.environment.items():
        assert env[variable] == resources[ref]
    assert "FIREBELL_LOCAL_RUNTIME" not in env and not any(k.startswith("PYTHON") for k in env)


def test_memory_reports_the_highest_peak_and_what_each_size_buys():
    from bench.memory import SIZES_MB, row
    from bench.memory import markdown as memory_markdown

    # Given two runs of a function that handled two events (CPU: 300 ms to the first event's end, then 20 ms)
    runs = [
        {
            "after_event_ms": [350, 380],
            "after_event_cpu_ms": [300, 320],
            "peak_rss_kib": {"import": 40_960, "first_event": 51_200, "last_event": peak},
        }
        for peak in (56_320, 61_440)
    ]
    found = row(TOPOLOGY.function("intake"), runs)
    # Then the highest peak of each stage, and the CPU-bound time at each size (1,769 MB is a full vCPU)
    assert found["peak_rss_mb"] == {"import": 40.0, "first_event": 50.0, "last_event": 60.0}
    assert found["cold_start_ms_by_memory_mb"][1769] == 300 and found["cold_start_ms_by_memory_mb"][512] == round(
        300 * 1769 / 512
    )
    assert found["warm_event_ms_by_memory_mb"][1769] == 20 and set(found["cold_start_ms_by_memory_mb"]) == set(SIZES_MB)
    result = {
        "date": "2026-12-01",
        "commit": "abc1234",
        "machine": "x86_64",
        "events": 2,
        "runs": 2,
        "command": "python -m bench.memory",
        "functions": [found],
    }
    assert "| intake | 40.0 | 50.0 | **60.0** |" in memory_markdown(
        result
    ) and "within the 90 MB goal" in memory_markdown(result)


def test_every_function_has_a_representative_event_for_the_benches():
    # The cold-start and memory benches hand each function of the topology its own kind of event: a function added
    # without one stops `make bench` at its first step (as the mail function once did).
    from bench.lambda_events import Events

    missing = [spec.name for spec in TOPOLOGY.functions if not callable(getattr(Events, f"_{spec.name}", None))]
    assert missing == []


def test_the_writes_bench_counts_every_step_of_an_incident():
    # (it runs in `make bench` only: a change to the store port it counts on must break here, not there)
    from bench.writes import BEFORE, measure

    rows = measure()
    assert [r["step"] for r in rows] == list(BEFORE)
    assert all(r["items_written"] >= r["write_requests"] >= 0 for r in rows), rows
    # (classify writes nothing since the opening change classifies and pages: its step is kept, counted as 0)
    assert rows[0]["write_requests"] >= 1 and sum(r["write_requests"] for r in rows) > len(rows), rows


def test_the_storm_ledger_charges_a_unit_with_the_calls_its_own_threads_make(monkeypatch) -> None:
    import boto3
    from moto import mock_aws

    from bench.storm_ledger import DynamoCalls
    from firebell.concurrency import run_at_once

    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    calls = DynamoCalls()
    calls.install()
    try:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            dynamodb.list_tables()  # (outside any unit)
            with calls.charge() as charged:
                # (as the opening reads at once: firebell/concurrency.py)
                run_at_once([dynamodb.list_tables, dynamodb.list_tables, dynamodb.describe_limits])
    finally:
        calls.uninstall()
    assert charged == {"ListTables": 2, "DescribeLimits": 1}
    assert calls.snapshot() == {"ListTables": 3, "DescribeLimits": 1}
