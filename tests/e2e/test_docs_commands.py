"""Every shell command in README.md and docs/*.md (their ```sh blocks) works as printed, run in order by bash from the
repository's folder against a fresh local runtime that has played its demo, as after `make run`.

Only the ports change (each test run takes free ones); the CA path is the runtime's default, .firebell/tls/. A command
passes when it exits 0 and, if it prints JSON, that JSON is not an error (curl -s exits 0 on a 4xx); a `# {…}` line
below a command is what it prints (each key shown must have that value). No AWS_* variable reaches the commands:
what a command needs, it must say. Blocks fenced ```shell are commands for a deployed stack (docs/access.md), which
need real AWS credentials: they are not run here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra.local.runtime import TLS_DIR
from infra.topology import ROOT
from tests.e2e.conftest import TIME_SCALE, RunningPipeline, running_pipeline

pytestmark = pytest.mark.e2e

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Commands the documents print that this test does not run, and why.
NOT_RUN = {
    "make run": "what this test's runtime is: the same `python -m infra.local`, on free ports",
    "make test": "the suite this test belongs to",
}
DEFAULT_PORTS = {"3000": "api", "3443": "tls", "4566": "aws", "2525": "smtp"}
ERROR_KEYS = ("error", "errors")


@dataclass
class Command:
    where: str  # file:line
    text: str
    expected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def words(self) -> str:
        return " ".join(shlex.split(self.text, comments=True))


def commands_in(document: Path) -> list[Command]:
    """The commands of each ```sh block; a command continues over lines while a quote is open or a line ends in \\."""
    lines = document.read_text().splitlines()
    commands: list[Command] = []
    in_block, pending, start, last = False, "", 0, None
    for number, line in enumerate(lines, 1):
        if line.strip().startswith("```"):
            in_block = line.strip() == "```sh"
            continue
        if not in_block:
            continue
        if not pending:
            stripped = line.strip()
            if stripped.startswith("# {") and last is not None:
                last.expected.append(json.loads(stripped[2:]))
                continue
            if not stripped or stripped.startswith("#"):
                continue
            start = number
        pending += line + "\n"
        if pending.rstrip().endswith("\\") or not _complete(pending):
            continue
        last = Command(f"{document.relative_to(ROOT)}:{start}", pending.strip())
        commands.append(last)
        pending = ""
    assert not pending, f"{document}: an unfinished command at line {start}"
    return commands


def _complete(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
        return True
    except ValueError:  # a quote still open
        return False


def on_ports(text: str, pipeline: RunningPipeline) -> str:
    ports = {
        "api": pipeline.api_url,
        "tls": pipeline.https_url,
        "aws": pipeline.aws_url,
        "smtp": f"smtp://127.0.0.1:{pipeline.smtp_port}",
    }
    return re.sub(
        r"\b(localhost|127\.0\.0\.1):(3000|3443|4566|2525)\b",
        lambda m: f"{m.group(1)}:{ports[DEFAULT_PORTS[m.group(2)]].rsplit(':', 1)[1]}",
        text,
    )


def includes(actual: Any, expected: dict[str, Any]) -> bool:
    return isinstance(actual, dict) and all(actual.get(key) == value for key, value in expected.items())


@pytest.fixture(scope="module")
def after_make_run() -> Iterator[RunningPipeline]:
    with running_pipeline(ROOT / "config", TIME_SCALE, demo=True, tls_dir=TLS_DIR) as pipeline:
        yield pipeline


def test_the_documents_have_commands_and_every_one_is_run_or_said_why_not() -> None:
    found = [command.words for document in DOCUMENTS for command in commands_in(document)]
    assert len(found) >= 8, found
    assert set(NOT_RUN) <= set(found), "a command listed as not run is no longer in the documents"


def test_every_documented_command_works_as_printed(after_make_run: RunningPipeline) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    ran, failures = 0, []
    for document in DOCUMENTS:
        for command in commands_in(document):
            if command.words not in NOT_RUN:
                ran += 1
                problem = run(command, after_make_run, env)
                if problem:
                    failures.append(f"{command.where}: {command.text}\n  {problem}")
    assert not failures, "\n\n".join(failures)
    assert ran >= 6


def run(command: Command, pipeline: RunningPipeline, env: dict[str, str]) -> str | None:
    """What is wrong with the command's run, if anything (later commands still run: one report lists every failure)."""
    done = subprocess.run(
        ["bash", "-c", on_ports(command.text, pipeline)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    output = f"{done.stdout}{done.stderr}".strip()[:1000]
    if done.returncode != 0:
        return f"exited {done.returncode}: {output}"
    try:
        printed = json.loads(done.stdout)
    except ValueError:
        return f"printed no JSON, expected {command.expected}: {output}" if command.expected else None
    if isinstance(printed, dict) and any(key in printed for key in ERROR_KEYS):
        return f"was refused: {output}"
    wrong = [expected for expected in command.expected if not includes(printed, expected)]
    return f"printed {output}, not {wrong}" if wrong else None
