"""The collector during a function's init and first event (firebell/startup.py, issue 10)."""

from __future__ import annotations

import gc
from pathlib import Path

from firebell import startup

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def test_no_collection_during_the_import_its_objects_frozen_then_the_usual_pace_after_the_first_event():
    before = (
        gc.get_threshold()
    )  # (a handler module imported earlier in this process, its handler never run, left it raised)
    try:
        startup.begin()
        assert not gc.isenabled()  # (the import's objects are made here)
        made = [object() for _ in range(10)]
        startup.done()
        assert gc.isenabled() and gc.get_freeze_count() >= len(made)
        assert gc.get_threshold()[0] == startup.FIRST_EVENT_THRESHOLD

        handler = startup.first_event(lambda event, context: event["answer"])
        assert handler({"answer": 42}, None) == 42
        assert gc.get_threshold() == startup._USUAL
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        gc.enable()


def test_every_handler_module_brackets_its_imports_and_wraps_its_handler():
    for app in sorted(FUNCTIONS.glob("*/app.py")):
        code = [line for line in app.read_text().splitlines() if line and not line.startswith((" ", '"', "#"))]
        imports = [n for n, line in enumerate(code) if line.startswith(("import ", "from "))]
        begin, done = (
            code.index("startup.begin()  # no garbage collections while the import runs (firebell/startup.py)"),
            len(code) - 1,
        )
        assert code[imports[0]] == "from firebell import startup" and begin == imports[0] + 1, app
        assert code[done].startswith("startup.done()") and max(imports) < done, app
        assert "@startup.first_event" in code, app
