"""Where the benches write (bench/output.py): a run leaves the tracked results alone unless asked to save."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench import output, writes


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    saved, local = tmp_path / "results", tmp_path / "results" / "local"
    monkeypatch.setattr(output, "SAVED", saved)
    monkeypatch.setattr(output, "LOCAL", local)
    monkeypatch.delenv(output.SAVE_VARIABLE, raising=False)
    # The measurement itself is not what is tested here: two steps stand in for it.
    rows = [{"step": "alarm opens an incident", "before": 5, "write_requests": 2, "items_written": 4}]
    monkeypatch.setattr(writes, "measure", lambda: rows)
    return saved, local


def test_a_bench_writes_into_the_untracked_folder_by_default(folders: tuple[Path, Path]) -> None:
    saved, local = folders
    writes.main([])
    assert json.loads((local / "writes.json").read_text())["steps"][0]["items_written"] == 4
    assert (local / "writes.md").read_text().startswith("#")
    assert not (saved / "writes.json").exists()


@pytest.mark.parametrize("asked", [["--save"], "environment"])
def test_a_bench_writes_the_tracked_results_when_asked(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, asked: list[str] | str
) -> None:
    saved, local = folders
    if asked == "environment":
        monkeypatch.setenv(output.SAVE_VARIABLE, "1")  # make bench SAVE=1
        writes.main([])
    else:
        writes.main(list(asked))
    assert (saved / "writes.json").exists() and (saved / "writes.md").exists()
    assert not (local / "writes.json").exists()


def test_out_names_any_folder(folders: tuple[Path, Path], tmp_path: Path) -> None:
    writes.main(["--out", str(tmp_path / "elsewhere")])
    assert (tmp_path / "elsewhere" / "writes.json").exists()


def test_the_default_folder_is_ignored_by_git() -> None:
    assert output.LOCAL.is_relative_to(output.SAVED)
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(output.LOCAL / "writes.json")], cwd=output.ROOT, check=False
    )
    assert ignored.returncode == 0, "bench/results/local/ must be in .gitignore"
    tracked = subprocess.run(
        ["git", "check-ignore", "-q", str(output.SAVED / "writes.json")], cwd=output.ROOT, check=False
    )
    assert tracked.returncode == 1
