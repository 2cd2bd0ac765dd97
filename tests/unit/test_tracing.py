"""The functions' Tracer (firebell/tracing.py): X-Ray imported on the first traced call, not at import, and only the
AWS SDK patched. Each case runs in a fresh interpreter: what is imported and patched is process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from infra.topology import ROOT

LAYER = ROOT / "layers" / "common" / "python"

PROBE = """
import json, sys
from firebell.tracing import lazy_tracer

tracer = lazy_tracer()

@tracer.capture_method
def traced():
    return "done"

imported_at_start = "aws_xray_sdk.core" in sys.modules
result = traced()
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
from aws_xray_sdk.core import xray_recorder
print(json.dumps({"imported_at_start": imported_at_start, "result": result, "disabled": tracer.disabled,
                  "patched": sorted(_PATCHED_MODULES), "streaming_threshold": xray_recorder.streaming_threshold}))
"""


def run(environment: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_", "_X_AMZN", "AWS_XRAY"))}
    env.update(environment, PYTHONPATH=str(LAYER))
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_in_lambda_xray_loads_on_the_first_traced_call_and_patches_only_botocore(tmp_path):
    # Given Lambda's environment with active tracing (a sampled trace header)
    found = run(
        {
            "LAMBDA_TASK_ROOT": str(tmp_path),
            "AWS_LAMBDA_FUNCTION_NAME": "intake",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
        }
    )
    # Then the SDK was not imported with the module, the traced call ran, and only botocore was patched
    assert found == {
        "imported_at_start": False,
        "result": "done",
        "disabled": False,
        "patched": ["botocore"],
        "streaming_threshold": 0,
    }


def test_with_tracing_disabled_nothing_is_patched():
    # Given the local runtime's and the tests' setting
    found = run({"POWERTOOLS_TRACE_DISABLED": "true"})
    # Then the traced call still runs, and nothing is patched
    assert found["imported_at_start"] is False and found["result"] == "done"
    assert found["disabled"] is True and found["patched"] == []
