"""Each function imports as Lambda imports it: its folder is the asset's root (`app` is a top-level module, its
siblings such as the api's admin and integrations routers too) and the layer is on the path; nothing else of
the repository is."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from infra.topology import ROOT, TOPOLOGY

LAYER = ROOT / "layers" / "common" / "python"

PROBE = """
import sys
sys.path[:0] = [{code!r}, {layer!r}]
import {module}
assert {module}.handler
assert "functions" not in sys.modules and "infra" not in sys.modules, sorted(m for m in sys.modules if m.split(".")[0] in ("functions", "infra"))
"""


@pytest.mark.parametrize("spec", TOPOLOGY.functions, ids=lambda s: s.name)
def test_the_function_imports_from_its_own_asset_and_the_layer(spec, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env.update(POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true", AWS_DEFAULT_REGION="us-east-1")
    module = spec.handler.rsplit(".", 1)[0]
    probe = PROBE.format(code=str(spec.code_dir), layer=str(LAYER), module=module)
    # -I: isolated (no cwd, no user site); run from an empty folder so the repository is not importable.
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
