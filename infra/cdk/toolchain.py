"""What `make synth` checks before it runs the CDK CLI, and tells after (python -m infra.cdk.toolchain <command>):

- `node`: the Node.js on PATH is one the pinned CDK CLI supports (its package.json `engines`), else one clear line
  that says which is needed and where to read more, instead of the CLI failing somewhere inside (and, with no CLI
  installed yet, how to install it);
- `templates`: where the synthesized CloudFormation templates went (cdk.out/manifest.json's stacks).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from infra.topology import ROOT

CDK_CLI_PACKAGE = ROOT / "node_modules" / "aws-cdk" / "package.json"
CLOUD_ASSEMBLY = ROOT / "cdk.out"
GUIDE = "docs/deploy.md#prerequisites"
Version = tuple[int, int, int]
_COMPARATOR = re.compile(r"(>=|<=|>|<|=|\^|~)?\s*v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?")


def parse_version(text: str) -> Version:
    """`v20.20.2` (what `node --version` prints) → (20, 20, 2)."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)\S*", text.strip())
    if match is None:
        raise ValueError(f"not a Node.js version: {text!r}")
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def satisfies(version: Version, npm_range: str) -> bool:
    """Whether `version` is in an npm `engines` range: alternatives joined by `||`, each a set of comparators
    (>=, >, <=, <, =, ^, ~ on full or partial versions), as `>= 18.0.0` or `^22.0.0 || >=24`."""
    for alternative in npm_range.split("||"):
        comparators = _COMPARATOR.findall(alternative)
        if not comparators or " - " in alternative:  # (hyphen ranges: not used by the CDK CLI, not read here)
            raise ValueError(f"cannot read the version range {npm_range!r}")
        if all(_holds(version, *comparator) for comparator in comparators):
            return True
    return False


def _holds(version: Version, operator: str, major: str, minor: str, patch: str) -> bool:
    wanted = (int(major), int(minor) if minor.isdigit() else 0, int(patch) if patch.isdigit() else 0)
    match operator:
        case ">=":
            return version >= wanted
        case ">":
            return version > wanted
        case "<=":
            return version <= wanted
        case "<":
            return version < wanted
        case "^":  # same major (for 0.x: same minor)
            return version >= wanted and (version[0] == wanted[0] if wanted[0] else version[:2] == wanted[:2])
        case "~":
            return version >= wanted and version[:2] == wanted[:2]
        case _:  # "=" or none: as precise as written
            precision = 1 + minor.isdigit() + (patch.isdigit() and minor.isdigit())
            return version[:precision] == wanted[:precision]


def check_node(package: Path | None = None, node: str | None = None) -> str | None:
    """None if the Node.js on PATH (or `node`, a version string) runs the CDK CLI (`package`: its package.json,
    by default the installed one); else what is wrong."""
    package = package or CDK_CLI_PACKAGE
    if not package.is_file():  # a fresh clone before `make install`: the pinned CLI's `engines` is not there to read
        return (
            f"the AWS CDK CLI is not installed ({_shown(package)} is missing): run `make install` "
            f"(npm install: the CLI pinned in package.json, into node_modules; `make synth` does it too) ({GUIDE})"
        )
    about = json.loads(package.read_text(encoding="utf-8"))
    cli = f"the AWS CDK CLI {about['version']}"
    wanted = about.get("engines", {}).get("node")
    if node is None:
        executable = shutil.which("node")
        if executable is None:
            return f"Node.js is not installed: {cli} needs Node.js {wanted or '(any)'} ({GUIDE})"
        node = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True).stdout
    version = parse_version(node)
    if wanted and not satisfies(version, wanted):
        return (
            f"Node.js {node.strip()} cannot run {cli}: it needs Node.js {wanted} ({_shown(package)} engines; {GUIDE})"
        )
    return None


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def templates(assembly: Path | None = None) -> list[Path]:
    """The stacks' template files, from the cloud assembly's manifest (by default cdk.out's)."""
    assembly = assembly or CLOUD_ASSEMBLY
    if not (assembly / "manifest.json").is_file():
        raise FileNotFoundError(f"no cloud assembly in {_shown(assembly)}: run `make synth` first")
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    return [
        assembly / artifact["properties"]["templateFile"]
        for artifact in manifest.get("artifacts", {}).values()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]


def main(argv: list[str]) -> int:
    match argv:
        case ["node"]:
            problem = check_node()
            if problem:
                print(f"make: {problem}", file=sys.stderr)
                return 1
            return 0
        case ["templates"]:
            try:
                found = templates()
            except FileNotFoundError as error:
                print(f"make: {error}", file=sys.stderr)
                return 1
            for path in found:
                print(f"CloudFormation template: {path.relative_to(ROOT)}")
            return 0
    print("usage: python -m infra.cdk.toolchain node|templates", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
