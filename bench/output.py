"""Where the benches write their results.

By default into bench/results/local/ (ignored by git), so running a bench leaves the tree as it was; into
bench/results/ (tracked: the figures README.md, bench/README.md and the docs quote) only when asked, with a bench's
`--save` or FIREBELL_BENCH_SAVE=1 (`make bench SAVE=1`). `--out FOLDER` writes anywhere else.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAVED = ROOT / "bench" / "results"
LOCAL = SAVED / "local"
SAVE_VARIABLE = "FIREBELL_BENCH_SAVE"


def results_dir(save: bool = False) -> Path:
    """bench/results/ when asked to save (the flag or FIREBELL_BENCH_SAVE=1), else bench/results/local/."""
    asked = save or os.environ.get(SAVE_VARIABLE, "").strip() not in ("", "0")
    return SAVED if asked else LOCAL


def add_arguments(parser: argparse.ArgumentParser, out_flag: str = "--out") -> None:
    parser.add_argument(
        out_flag,
        type=Path,
        default=None,
        help="folder for the results (default: bench/results/local/, untracked; bench/results/ with --save)",
    )
    parser.add_argument(
        "--save",
        action="store_true",
        help=f"write into bench/results/, the tracked results (also {SAVE_VARIABLE}=1, make bench SAVE=1)",
    )


def chosen(out: Path | None, save: bool) -> Path:
    """The folder add_arguments' options name."""
    return out if out is not None else results_dir(save)


def write(folder: Path, stem: str, result: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """<stem>.json and <stem>.md in `folder`, made if need be; says where they went."""
    folder.mkdir(parents=True, exist_ok=True)
    as_json, as_markdown = folder / f"{stem}.json", folder / f"{stem}.md"
    as_json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    as_markdown.write_text(markdown, encoding="utf-8")
    print(f"results: {as_json}, {as_markdown}")
    return as_json, as_markdown
