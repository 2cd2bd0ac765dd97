"""The common Lambda layer, built on this machine (no Docker): pinned wheels for the Lambda platform, the
firebell package and the YAML config.

Layer layout (extracted under /opt by Lambda):
  python/<runtime dependencies>   cp311 manylinux x86_64 wheels from pyproject's [project].dependencies, their
                                  own dependencies at constraints.txt's versions (`make lock`)
  python/firebell/                layers/common/python/firebell
  firebell/config/*.yaml          config/, read through FIREBELL_CONFIG_DIR=/opt/firebell/config, each with its
                                  document parsed at build time beside it (*.yaml.parsed) and its model as
                                  validated then (*.yaml.validated, firebell/config.py)

Everything under python/ ships compiled (__pycache__/*.cpython-311.pyc): /opt is read-only, so a layer without
bytecode is compiled again on every cold start (issue 10 measured ×2.8 on the import). Bytecode is only good for
the interpreter version that wrote it, so the functions run the version the build runs (LAMBDA_RUNTIME,
PYTHON_VERSION: 3.11, this machine's and CI's) and the build refuses another. The .pyc files are "unchecked
hash" ones: used as they are, whatever the sources' timestamps in the zip.

botocore keeps only the models of the AWS services firebell calls (BOTOCORE_SERVICES) and their entries in
endpoints.json: a client's first model load lists every one of botocore's 400-odd service folders, and the first
client parses the whole 1.2 MB endpoints.json (issue 10: 40–80 ms of the first event, and 25 MB of layer).
"""

from __future__ import annotations

import compileall
import gzip
import hashlib
import json
import py_compile
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from firebell.config import write_parsed
from infra.topology import CONFIG_DIR, ROOT

LAYER_SOURCE_DIR = ROOT / "layers" / "common"
PACKAGE_DIR = LAYER_SOURCE_DIR / "python" / "firebell"
PYPROJECT = ROOT / "pyproject.toml"
# Every package's version as resolved from pyproject's pins (`make lock`): the layer takes its runtime dependencies'
# own dependencies at these versions, as `make install` does, so the layer is what the tests ran against.
CONSTRAINTS = ROOT / "constraints.txt"

PYTHON_VERSION = "3.11"
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_11
PLATFORM = "manylinux2014_x86_64"

# The AWS services firebell calls, as botocore names them (firebell/adapters/aws.py; pynamodb: dynamodb). A client
# of any other fails in the deployed layer with UnknownServiceError: tests/infra/test_layer.py holds this to the code.
BOTOCORE_SERVICES = ("dynamodb", "s3", "secretsmanager", "ses", "sns", "sqs", "stepfunctions")

_IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
# firebell/cli runs on people's machines (the `firebell` command), never in Lambda.
_NOT_FOR_LAMBDA = {"cli"}


def runtime_requirements(pyproject: Path = PYPROJECT) -> tuple[str, ...]:
    with pyproject.open("rb") as file:
        return tuple(tomllib.load(file)["project"]["dependencies"])


def _files(directory: Path, pattern: str = "**/*") -> Iterator[Path]:
    for path in sorted(directory.glob(pattern)):
        relative = path.relative_to(directory).parts
        if (
            path.is_file()
            and path.suffix != ".pyc"
            and not _IGNORED_PARTS.intersection(relative)
            and not (len(relative) > 1 and relative[0] in _NOT_FOR_LAMBDA)
        ):
            yield path


def _ignored_in(package_dir: Path):
    """copytree's `ignore`: caches everywhere, and what is not for Lambda at the package's top."""

    def ignored(folder: str, names: list[str]) -> set[str]:
        found = set(shutil.ignore_patterns(*_IGNORED_PARTS, "*.pyc")(folder, names))
        return found | _NOT_FOR_LAMBDA.intersection(names) if Path(folder) == package_dir else found

    return ignored


@jsii.implements(ILocalBundling)
class LayerBundler:
    """Local bundling for the common layer: CDK calls try_bundle() with the asset's output directory."""

    def __init__(
        self,
        package_dir: Path = PACKAGE_DIR,
        config_dir: Path = CONFIG_DIR,
        requirements: Sequence[str] | None = None,
        constraints: Path | None = CONSTRAINTS,
    ) -> None:
        self.package_dir = package_dir
        self.config_dir = config_dir
        self.requirements = tuple(requirements) if requirements is not None else runtime_requirements()
        self.constraints = constraints

    def pip_command(self, target: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            # Wheels for the Lambda runtime, whatever interpreter and OS run the synth.
            "--platform",
            PLATFORM,
            "--only-binary=:all:",
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            "cp",
            # Compiled below, all of it in one way (compile_site).
            "--no-compile",
            "--target",
            str(target),
            *(["--constraint", str(self.constraints)] if self.constraints else []),
            *self.requirements,
        ]

    def fingerprint(self) -> str:
        """Hash of every input of the layer: this recipe (the module's own source), the pinned requirements,
        the package and the config.

        A custom hash rather than AssetHashType.OUTPUT: OUTPUT would have to run pip on every synth to learn
        the hash, and the default SOURCE hash would only see layers/common (not config/ or pyproject.toml).
        With this one, a synth reuses cdk.out's bundle until an input changes.
        """
        inputs = [(self.package_dir, _files(self.package_dir)), (self.config_dir, _files(self.config_dir, "*.yaml"))]
        locked = self.constraints.read_text(encoding="utf-8").splitlines() if self.constraints else []
        return _fingerprint(inputs, [*self.requirements, *locked])

    def bundle(self, output_dir: Path) -> None:
        site = output_dir / "python"
        site.mkdir(parents=True, exist_ok=True)
        subprocess.run(self.pip_command(site), check=True)
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: nothing runs them in Lambda
        prune_botocore_data(site / "botocore" / "data")
        shutil.copytree(
            self.package_dir,
            site / "firebell",
            ignore=_ignored_in(self.package_dir),
            dirs_exist_ok=True,
        )
        compile_site(site)
        config_target = output_dir / "firebell" / "config"
        config_target.mkdir(parents=True, exist_ok=True)
        for path in _files(self.config_dir, "*.yaml"):
            shutil.copy2(path, config_target / path.name)
            write_parsed(
                config_target / path.name
            )  # read instead of the YAML while it is unchanged (firebell/config.py)

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        self.bundle(Path(output_dir))
        return True


@jsii.implements(ILocalBundling)
class FunctionBundler:
    """Local bundling for a function's folder: its modules and their bytecode (the api's dozen modules took ~20 ms
    to compile on every cold start). Checked-hash .pyc: whoever edits app.py in the Lambda console gets that code,
    for the cost of hashing a few kilobytes."""

    def __init__(self, code_dir: Path) -> None:
        self.code_dir = code_dir

    def fingerprint(self) -> str:
        return _fingerprint([(self.code_dir, _files(self.code_dir))])

    def bundle(self, output_dir: Path) -> None:
        shutil.copytree(
            self.code_dir, output_dir, ignore=shutil.ignore_patterns(*_IGNORED_PARTS, "*.pyc"), dirs_exist_ok=True
        )
        compile_site(output_dir, py_compile.PycInvalidationMode.CHECKED_HASH)

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        self.bundle(Path(output_dir))
        return True


def _fingerprint(inputs: Sequence[tuple[Path, Iterator[Path]]], requirements: Sequence[str] = ()) -> str:
    """This recipe (the module's own source), the interpreter (the bytecode is its), the requirements and the files."""
    digest = hashlib.sha256(Path(__file__).read_bytes() + sys.version.encode())
    for requirement in requirements:
        digest.update(requirement.encode() + b"\0")
    for base, files in inputs:
        for path in files:
            digest.update(f"{base.name}/{path.relative_to(base).as_posix()}".encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _endpoint_prefix(service_folder: Path) -> str:
    """The service's key in endpoints.json (its model's endpointPrefix: `states` for stepfunctions, `email` for ses)."""
    model = sorted(service_folder.glob("*/service-2.json*"))[-1]  # the newest API version
    text = gzip.decompress(model.read_bytes()) if model.suffix == ".gz" else model.read_bytes()
    return json.loads(text)["metadata"]["endpointPrefix"]


def prune_botocore_data(data: Path, keep: Sequence[str] = BOTOCORE_SERVICES) -> None:
    """Only the kept services' models and endpoints; the partitions and their regions stay whole (adapters/regions.py
    reads the regions' display names)."""
    for folder in data.iterdir():
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder)
    prefixes = {_endpoint_prefix(data / service) for service in keep}
    endpoints = data / "endpoints.json"
    document = json.loads(endpoints.read_text(encoding="utf-8"))
    for partition in document["partitions"]:
        partition["services"] = {name: about for name, about in partition["services"].items() if name in prefixes}
    endpoints.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")


def compile_site(
    site: Path, invalidation: py_compile.PycInvalidationMode = py_compile.PycInvalidationMode.UNCHECKED_HASH
) -> None:
    """Bytecode for everything the functions import, for the runtime's interpreter (this one, checked)."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != PYTHON_VERSION:
        raise RuntimeError(
            f"the layer's bytecode must be compiled by Python {PYTHON_VERSION}, the functions' runtime; "
            f"this is Python {running} (make install with python{PYTHON_VERSION})"
        )
    if not compileall.compile_dir(site, quiet=2, workers=0, invalidation_mode=invalidation):
        raise RuntimeError(f"compiling {site} failed")


def common_layer(scope: Construct, construct_id: str, bundler: LayerBundler | None = None) -> lambda_.LayerVersion:
    bundler = bundler or LayerBundler()
    return lambda_.LayerVersion(
        scope,
        construct_id,
        description="firebell package, its pinned runtime dependencies and config/*.yaml",
        code=_bundled_here(LAYER_SOURCE_DIR, bundler),
        compatible_runtimes=[LAMBDA_RUNTIME],
        compatible_architectures=[lambda_.Architecture.X86_64],
    )


def function_code(code_dir: Path) -> lambda_.Code:
    """A function's asset: its folder with bytecode (FunctionBundler), rebuilt when a file in it changes."""
    return _bundled_here(code_dir, FunctionBundler(code_dir))


def _bundled_here(source_dir: Path, bundler: LayerBundler | FunctionBundler) -> lambda_.Code:
    """An asset bundled on this machine, named by what goes into it (the bundler's fingerprint)."""
    return lambda_.Code.from_asset(
        str(source_dir),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=bundler.fingerprint(),
        # Never pulled: local bundling always succeeds, and there is no Docker here.
        bundling=BundlingOptions(image=DockerImage.from_registry("local-bundling-only"), local=bundler),
    )
