"""The local runtime's state, kept in a folder across restarts (moto keeps everything in memory only).

  <state dir>/                       (default .firebell/state/ at the repository root; --state-dir, FIREBELL_STATE_DIR)
    lock                             held by the runtime using the folder
    manifest.json                    format, when and how it was saved (clean stop or periodic), what it holds
    table-<table>.jsonl              every item of each table, one per line, in DynamoDB JSON: incidents, timelines,
                                     the outbox's effects, dedup pointers, used nonces, the reference counter and
                                     the admin API's directory overlay
    outbox.jsonl                     every email and SMS sent (what GET /_local/outbox lists), earlier runs included
    dead-letters.jsonl               every message in a dead-letter queue, with why it is there (GET /_local/dead-letters
                                     and the health check's dead-letter alarm see them again after a restart)
    secrets.json                     the generated secrets' values (ack links in kept emails stay valid); mode 0600
    session.key                      signs the local sign-in's sessions (docs/access.md): made on first start, kept
                                     even by --fresh (a browser's session stays valid across restarts); mode 0600

Loaded through the public API (BatchWriteItem; the secrets when they are created). Saved from moto's tables under
the lock every DynamoDB request takes (infra/local/moto_patches.py): one consistent instant, in 0.1 s of CPU for
10,000 items where a paginated Scan takes 5 s and holds that lock page by page (`python -m bench.state_save`).
Saved on a clean stop, and every `interval` seconds while anything changed: a kill -9 loses at most the last
interval's changes. Each file is replaced whole (write, then rename): a crash mid-save leaves the previous save.
Never kept: messages still in a queue (but a dead-letter queue's), Step Functions executions (each incident's
timers are re-armed from its state at start).
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import boto3

from infra.local.moto_patches import dynamodb_snapshot
from infra.local.render import ACCOUNT_ID, REGION, Resources
from infra.topology import ROOT, Topology

log = logging.getLogger("firebell.local")
DEFAULT_STATE_DIR = ROOT / ".firebell" / "state"
FORMAT = 1
_BATCH = 25  # BatchWriteItem's limit


class StateDir:
    """One folder of kept state: load it into freshly rendered resources, save them into it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: Any = None

    def take(self) -> None:
        """One runtime per folder: a second would overwrite the first's saves. The OS drops the lock with the process."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = (self.path / "lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise RuntimeError(
                f"state folder {self.path} is in use by another local runtime: pass --state-dir (or FIREBELL_STATE_DIR)"
            ) from None

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # (closing drops the lock)
            self._lock = None

    @property
    def manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / "manifest.json").read_text())
        except FileNotFoundError:
            return None

    def erase(self) -> None:
        """Forget what was kept (--fresh): only this folder's own files, never anything else in it."""
        for name in ("manifest.json", "outbox.jsonl", "dead-letters.jsonl", "secrets.json"):
            (self.path / name).unlink(missing_ok=True)
        for table in self.path.glob("table-*.jsonl"):
            table.unlink()

    def session_secret(self) -> str:
        """The local sign-in's signing secret, made once for this folder."""
        path = self.path / "session.key"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            _replace_text(path, secrets.token_urlsafe(32), mode=0o600)
            return path.read_text().strip()

    # --- loading ---------------------------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        try:
            return json.loads((self.path / "secrets.json").read_text())
        except FileNotFoundError:
            return {}

    def outbox(self) -> list[dict[str, Any]]:
        return list(_read_lines(self.path / "outbox.jsonl"))

    def dead_letters(self) -> list[dict[str, Any]]:
        return list(_read_lines(self.path / "dead-letters.jsonl"))

    def load_tables(self, topology: Topology, resources: Resources) -> dict[str, int]:
        """Put every kept item back into its (new, empty) table; returns how many per table."""
        manifest = self.manifest
        if manifest is not None and manifest.get("format") != FORMAT:
            raise RuntimeError(
                f"{self.path}: state saved in format {manifest.get('format')}, this runtime reads {FORMAT} "
                "(start with --fresh to begin again)"
            )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        loaded: dict[str, int] = {}
        for table in topology.tables:
            name = resources[("table", table.name)]
            items = list(_read_lines(self.path / f"table-{table.name}.jsonl"))
            for start in range(0, len(items), _BATCH):
                requests = [{"PutRequest": {"Item": _with_bytes(item)}} for item in items[start : start + _BATCH]]
                while requests:
                    requests = (
                        dynamodb.batch_write_item(RequestItems={name: requests})
                        .get("UnprocessedItems", {})
                        .get(name, [])
                    )
            loaded[table.name] = len(items)
        return loaded

    # --- saving ----------------------------------------------------------------------------------

    def save(
        self,
        topology: Topology,
        resources: Resources,
        outbox: list[dict[str, Any]],
        how: str,
        dead_letters: list[dict[str, Any]] | None = None,
    ) -> dict[str, int]:
        names = {table.name: resources[("table", table.name)] for table in topology.tables}
        snapshot = dynamodb_snapshot(ACCOUNT_ID, REGION, list(names.values()))
        counts: dict[str, int] = {}
        for table, name in names.items():
            _replace(self.path / f"table-{table}.jsonl", snapshot[name])
            counts[table] = len(snapshot[name])
        _replace(self.path / "outbox.jsonl", outbox)
        _replace(self.path / "dead-letters.jsonl", dead_letters or [])
        secretsmanager = boto3.client("secretsmanager", region_name=REGION)
        values = {
            s.name: secretsmanager.get_secret_value(SecretId=resources[("secret", s.name)])["SecretString"]
            for s in topology.secrets
        }
        _replace_text(self.path / "secrets.json", json.dumps(values), mode=0o600)
        manifest = {
            "format": FORMAT,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "saved_by": how,
            "items": counts,
            "outbox": len(outbox),
            "dead_letters": len(dead_letters or []),
        }
        _replace_text(self.path / "manifest.json", json.dumps(manifest, indent=2))
        return counts


class PeriodicSave(threading.Thread):
    """Saves every `interval` seconds while something changed (DynamoDB writes, the outbox), and once more at stop."""

    def __init__(self, save: Any, changes: Any, interval: float, stop: threading.Event) -> None:
        super().__init__(name="state-save", daemon=True)
        self._save = save
        self._changes = changes  # () → something that differs whenever there is more to save
        self._interval = interval
        self._stopping = stop
        self._saved: Any = None

    def run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.save_if_changed("periodic")

    def save_if_changed(self, how: str, always: bool = False) -> None:
        changes = self._changes()
        if changes == self._saved and not always:
            return
        try:
            self._save(how)
            self._saved = changes
        except Exception:  # the next round tries again; the previous save stays whole meanwhile
            log.exception("saving the local state failed")


def _with_bytes(item: dict[str, Any]) -> dict[str, Any]:
    """A kept binary attribute (base64 text, _unsupported) as the bytes boto3 takes (it would encode text again)."""
    return {name: {"B": base64.b64decode(value["B"])} if "B" in value else value for name, value in item.items()}


def _read_lines(path: Path):
    try:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)
    except FileNotFoundError:
        return


def _replace(path: Path, rows: list[Any]) -> None:
    _replace_text(path, "".join(json.dumps(row, ensure_ascii=False, default=_unsupported) + "\n" for row in rows))


def _replace_text(path: Path, text: str, mode: int = 0o644) -> None:
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    # Renamed whole: a killed runtime leaves the previous save or this one. (No fsync: the kernel writes it out even
    # after a kill -9; only a power cut in the next seconds could lose it, and fsyncing megabytes a second costs.)
    os.replace(partial, path)


def _unsupported(value: Any) -> Any:
    if isinstance(value, bytes):  # a binary attribute (a packed document): base64, as in DynamoDB's JSON
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot keep a {type(value).__name__} attribute in the local state")
