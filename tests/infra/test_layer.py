"""The common layer's local bundler (infra/cdk/layer.py).

The fingerprint tests are fast and offline. The real build downloads wheels: it runs only with
FIREBELL_TEST_LAYER_BUILD=1 (`make synth` builds the same layer into cdk.out/).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import tomllib
from pathlib import Path

import pytest

from firebell.config import load_config
from infra.cdk.layer import (
    BOTOCORE_SERVICES,
    CONSTRAINTS,
    PACKAGE_DIR,
    PLATFORM,
    PYPROJECT,
    PYTHON_VERSION,
    FunctionBundler,
    LayerBundler,
    prune_botocore_data,
    runtime_requirements,
)
from infra.topology import TOPOLOGY


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "firebell"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "data" / "records.py").write_text("TABLE = 1\n")
    config = tmp_path / "config"
    config.mkdir()
    (config / "firebell.yaml").write_text("notifications: {}\n")
    return package, config


def test_requirements_are_pyproject_runtime_dependencies() -> None:
    with PYPROJECT.open("rb") as file:
        assert runtime_requirements() == tuple(tomllib.load(file)["project"]["dependencies"])


def test_pip_targets_the_lambda_platform(tmp_path: Path) -> None:
    # Given a bundler with two requirements
    command = LayerBundler(requirements=["a==1", "b==2"]).pip_command(tmp_path)
    # Then pip installs wheels for the Lambda runtime, not for this machine, without local bytecode
    joined = " ".join(command)
    for flag in (f"--platform {PLATFORM}", "--only-binary=:all:", f"--python-version {PYTHON_VERSION}", "--no-compile"):
        assert flag in joined
    assert command[-2:] == ["a==1", "b==2"]


def test_fingerprint_follows_every_input(inputs: tuple[Path, Path]) -> None:
    package, config = inputs

    def fingerprint(requirements: tuple[str, ...] = ("a==1",)) -> str:
        return LayerBundler(package, config, requirements).fingerprint()

    # Given a fingerprint of the inputs
    original = fingerprint()
    # Then it is stable, and ignores bytecode caches
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "records.cpython-311.pyc").write_bytes(b"\0")
    assert fingerprint() == original
    # And it changes with the requirements, the package and the config
    assert fingerprint(("a==2",)) != original
    (package / "data" / "records.py").write_text("TABLE = 2\n")
    changed_package = fingerprint()
    assert changed_package != original
    (config / "rules.yaml").write_text("rules: []\n")
    assert fingerprint() != changed_package


@pytest.mark.skipif(
    os.environ.get("FIREBELL_TEST_LAYER_BUILD") != "1",
    reason="downloads the layer's wheels; set FIREBELL_TEST_LAYER_BUILD=1 to run (make synth also builds it)",
)
def test_real_layer_build(tmp_path: Path) -> None:
    # Given the real bundler, When it builds the layer
    bundler = LayerBundler()
    bundler.bundle(tmp_path)
    site = tmp_path / "python"
    # Then the firebell package, its dependencies (as cp311 manylinux wheels) and the config are in place
    assert (site / "firebell" / "__init__.py").is_file()
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    for requirement in bundler.requirements:
        name = re.split(r"[\[=<>~ ]", requirement, maxsplit=1)[0]
        assert name.replace("-", "_").lower() in installed, requirement
    assert list(site.glob("pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so"))
    # And every module ships its bytecode for the runtime's interpreter, used without checking the sources
    sources = [p for p in site.rglob("*.py") if "__pycache__" not in p.parts]
    compiled = {p.parent.parent / (p.name.split(".")[0] + ".py") for p in site.rglob("__pycache__/*.cpython-311.pyc")}
    assert sources and not [p for p in sources if p not in compiled and p.stat().st_size], "modules without bytecode"
    header = (site / "firebell" / "__pycache__" / "wiring.cpython-311.pyc").read_bytes()[:8]
    assert (
        header[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(header[4:8], "little") == 0b01
    )  # hash-based, unchecked
    # And the functions can load the config from where FIREBELL_CONFIG_DIR points (/opt/firebell/config)
    assert load_config(tmp_path / "firebell" / "config").directory.notifications.sender
    # And botocore keeps the models of the services firebell calls, and only those
    assert {p.name for p in (site / "botocore" / "data").iterdir() if p.is_dir()} == set(BOTOCORE_SERVICES)


def test_the_command_line_is_not_in_the_layer(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """firebell/cli is the `firebell` command on people's machines: changing it redeploys no layer, and the
    layer's copy of the package leaves it out."""
    package, config = inputs
    bundler = LayerBundler(package, config, ("a==1",))
    original = bundler.fingerprint()
    (package / "cli").mkdir()
    (package / "cli" / "main.py").write_text("print('hello')\n")
    assert bundler.fingerprint() == original

    from infra.cdk.layer import _ignored_in

    assert _ignored_in(package)(str(package), ["cli", "data", "__init__.py"]) == {"cli"}
    assert _ignored_in(package)(str(package / "data"), ["cli", "records.py"]) == set()


def test_every_aws_service_the_code_calls_keeps_its_botocore_model() -> None:
    """The layer drops every other service's model: a client of a service left out fails only once deployed
    (UnknownServiceError), so the list is held to the code here."""
    called = {"dynamodb"}  # pynamodb's
    for path in PACKAGE_DIR.rglob("*.py"):
        if "cli" not in path.relative_to(PACKAGE_DIR).parts:
            called |= set(re.findall(r"""\bclient\(\s*["'](\w+)["']""", path.read_text(encoding="utf-8")))
    for spec in TOPOLOGY.functions:
        for path in spec.code_dir.rglob("*.py"):
            called |= set(re.findall(r"""\bclient\(\s*["'](\w+)["']""", path.read_text(encoding="utf-8")))
    assert called == set(BOTOCORE_SERVICES)


def test_pruned_botocore_data_keeps_the_services_models_endpoints_and_every_region(tmp_path: Path) -> None:
    # Given botocore's data with three services, one of which is spelled differently in endpoints.json
    for service, prefix in (("sns", "sns"), ("stepfunctions", "states"), ("ec2", "ec2")):
        (tmp_path / service / "2020-01-01").mkdir(parents=True)
        model = json.dumps({"metadata": {"endpointPrefix": prefix}}).encode()
        (tmp_path / service / "2020-01-01" / "service-2.json.gz").write_bytes(gzip.compress(model))
    regions = {"us-east-1": {"description": "US East (N. Virginia)"}}
    endpoints = {
        "partitions": [{"partition": "aws", "regions": regions, "services": {"sns": {}, "states": {}, "ec2": {}}}]
    }
    (tmp_path / "endpoints.json").write_text(json.dumps(endpoints))
    (tmp_path / "_retry.json").write_text("{}")
    # When it is pruned to two of them
    prune_botocore_data(tmp_path, keep=("sns", "stepfunctions"))
    # Then their models stay, the other goes; endpoints keep their entries (by endpoint prefix) and every region
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_retry.json", "endpoints.json", "sns", "stepfunctions"]
    (partition,) = json.loads((tmp_path / "endpoints.json").read_text())["partitions"]
    assert partition["services"] == {"sns": {}, "states": {}} and partition["regions"] == regions


def test_a_function_ships_its_modules_with_bytecode_checked_against_them(tmp_path: Path) -> None:
    # Given a function folder (with a stale cache in it)
    code = tmp_path / "code"
    (code / "__pycache__").mkdir(parents=True)
    (code / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (code / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"\0")
    bundler = FunctionBundler(code)
    original = bundler.fingerprint()
    # When it is bundled
    bundler.bundle(tmp_path / "out")
    # Then the module ships with its bytecode, hash-checked (the console's editor can change app.py), and no stale cache
    assert sorted(p.name for p in (tmp_path / "out" / "__pycache__").iterdir()) == ["app.cpython-311.pyc"]
    header = (tmp_path / "out" / "__pycache__" / "app.cpython-311.pyc").read_bytes()[:8]
    assert (
        header[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(header[4:8], "little") == 0b11
    )  # hash-based, checked
    # And the asset's fingerprint follows the code
    (code / "app.py").write_text("def handler(event, context):\n    return 2\n")
    assert bundler.fingerprint() != original


def test_the_layer_installs_at_the_locked_versions(tmp_path: Path) -> None:
    # Given the bundler as synth makes it
    bundler = LayerBundler()
    command = bundler.pip_command(tmp_path)
    # Then pip is held to constraints.txt (the runtime dependencies' own dependencies as make install takes them)
    assert command[command.index("--constraint") + 1] == str(CONSTRAINTS)
    # And the layer is rebuilt when the lock changes
    lock = tmp_path / "constraints.txt"
    lock.write_text("six==1.17.0\n")
    locked = LayerBundler(constraints=lock).fingerprint()
    lock.write_text("six==1.16.0\n")
    assert LayerBundler(constraints=lock).fingerprint() != locked


def test_the_lock_holds_every_pin_of_pyproject() -> None:
    """constraints.txt is made from pyproject.toml by `make lock`: a pin changed in one and not the other would make
    `make install` refuse to resolve, or the layer ship another version than the tests ran."""
    locked = dict(
        re.match(r"([A-Za-z0-9_.\[\]-]+)==(\S+)", line).groups()  # type: ignore[union-attr]
        for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith((" ", "#"))
    )
    locked = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in locked.items()}
    with PYPROJECT.open("rb") as file:
        project = tomllib.load(file)["project"]
    for pin in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        name, version = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", pin).groups()  # type: ignore[union-attr]
        assert locked.get(re.sub(r"[-_.]+", "-", name).lower()) == version, f"{pin}: run make lock"
