"""The cold-start benchmark's bookkeeping (never its timings: those are machine-dependent)."""

from __future__ import annotations

from bench.cold_start import BASELINE, Measurement, function_modules, render_markdown, report


def test_benchmark_covers_every_function_of_the_topology():
    """Given infra/topology.py, then the benchmark imports each function's handler module."""
    assert function_modules() == [
        ("api", "functions.api.app"),
        ("intake", "functions.intake.app"),
        ("classify", "functions.classify.app"),
        ("notify", "functions.notify.app"),
        ("outbox", "functions.outbox.app"),
    ]


def test_report_gives_medians_and_ratios_to_the_baseline():
    """Given synthetic samples, then medians, extremes and the ratio to the baseline median are reported."""
    measurements = [
        Measurement("intake", "functions.intake.app", [30.0, 10.0, 20.0]),
        Measurement("baseline", BASELINE, [5.0, 4.0, 6.0]),
    ]
    result = report(measurements, runs=3, machine={
        "date": "2024-05-01T10:00:00+00:00", "python": "3.11.7", "implementation": "CPython", "platform": "Linux",
        "cpu_count": 2, "bytecode_writing": "on", "botocore": "1", "aws-lambda-powertools": "3", "pydantic": "2",
        "pynamodb": "6",
    })  # fmt: skip

    (intake,) = result["functions"]
    assert (intake["median_ms"], intake["min_ms"], intake["max_ms"], intake["ratio_to_baseline"]) == (20.0, 10.0, 30.0, 4.0)
    assert result["baseline"]["ratio_to_baseline"] == 1.0
    markdown = render_markdown(result)
    assert "| intake | `functions.intake.app` | 20.0 | 10.0–30.0 | 4.00 |" in markdown
    assert "| baseline | `botocore.session` | 5.0 | 4.0–6.0 | 1.00 |" in markdown
    assert "cpu count: 2" in markdown and "python: 3.11.7" in markdown
