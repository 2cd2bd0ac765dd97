"""`firebell import` given paths it cannot write: a one-line usage error (exit 2) before anything is read, never a
traceback, and nothing written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from firebell.cli import main as cli

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"


def run_import(*extra: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["import", "pagerduty", "--from-dir", str(FIXTURES / "pagerduty"), "--sender", "f@example.com", *extra]
    return cli.main(argv, out, err), err.getvalue()


def test_out_an_existing_folder_is_a_usage_error_suggesting_a_file_in_it(tmp_path: Path) -> None:
    code, err = run_import("--out", str(tmp_path))

    assert code == 2, err
    assert (
        err
        == f"firebell: --out: {tmp_path} is a folder: give the config file to write, e.g. {tmp_path / 'firebell.yaml'}\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--out", "--report"])
def test_a_path_under_a_file_is_a_usage_error_naming_the_file(tmp_path: Path, flag: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    paths = {"--out": tmp_path / "firebell.yaml", "--report": tmp_path / "report.md", flag: blocker / "x" / "y.txt"}

    code, err = run_import("--out", str(paths["--out"]), "--report", str(paths["--report"]))

    assert code == 2 and err.startswith(f"firebell: {flag}: {blocker} is a file, not a folder"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_report_an_existing_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, err = run_import("--out", str(tmp_path / "firebell.yaml"), "--report", str(tmp_path))

    assert code == 2 and err.startswith("firebell: --report:") and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []
