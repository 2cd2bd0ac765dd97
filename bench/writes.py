"""DynamoDB writes per use case, for one P2 alarm incident from ALARM to closed (`python -m bench.writes`).

Counted on the store port with the in-memory fake (tests/fakes.py), which keeps DynamoIncidentStore's shape:
a write request is one PutItem/UpdateItem/DeleteItem or one TransactWriteItems; items are what DynamoDB bills
(a transaction item costs two write units). Writes to carry effects out (claim, then done with its timeline
line) are counted with the step whose change committed them. Results: writes.{json,md} in bench/results/local/ (--save: bench/results/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python")]

from bench import output  # noqa: E402
from firebell.config import load_config  # noqa: E402
from tests.fakes import InMemoryIncidentStore  # noqa: E402
from tests.unit.builders import alarm, confirming, page_request, watch_request  # noqa: E402
from tests.unit.conftest import build_world  # noqa: E402

# Before issue 7's core (commit e5cd404), the same steps, counted the same way on its fake store.
BEFORE = {
    "alarm opens an incident (intake)": 5,
    "a duplicate alarm, first repeat (intake)": 4,
    "classify (P2: SLA, escalation)": 7,
    "page level 1 (email + SMS)": 4,
    "page level 2 (email + SMS)": 4,
    "acknowledge": 3,
    "watch": 1,
    "note": 1,
    "resolve (alarm OK)": 7,
    "confirmation window opens (3 emails)": 4,
    "closes": 4,
}


class CountingStore(InMemoryIncidentStore):
    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self.items = 0

    def _add(self, items: int) -> None:
        self.requests += 1
        self.items += items

    def commit(self, change):
        marks = len(change.dedup) + len(change.once) + (1 if change.idempotency else 0)
        self._add(1 + len(change.entries) + len(change.effects(0)) + marks)
        return super().commit(change)

    def record_signals(self, dedup_key, candidate_id, seen_at, message_ids, triggered_at=None):
        self._add(1 + sum(1 for m in message_ids if m))  # a marker per message id and the count, one transaction
        return super().record_signals(dedup_key, candidate_id, seen_at, message_ids, triggered_at)

    def log_repeat(self, *args):
        self._add(2)
        return super().log_repeat(*args)

    def next_reference(self):
        self._add(1)
        return super().next_reference()

    def claim_effect(self, *args):
        self._add(1)
        return super().claim_effect(*args)

    def complete_effect(self, effect, status, result, entries=()):
        self._add(1 + len(entries))
        return super().complete_effect(effect, status, result, entries)


def measure() -> list[dict]:
    store = CountingStore()
    world = build_world(load_config(ROOT / "config"), store=store)
    s = world.service
    rows: list[dict] = []

    def step(name, action):
        requests, items = store.requests, store.items
        result = action()
        rows.append(
            {
                "step": name,
                "write_requests": store.requests - requests,
                "items_written": store.items - items,
                "before": BEFORE[name],
            }
        )
        return result

    _, incident = step("alarm opens an incident (intake)", lambda: s.handle_alarm(alarm("ALARM"), message_id="sns:1"))
    step("a duplicate alarm, first repeat (intake)", lambda: s.handle_alarm(alarm("ALARM"), message_id="sns:2"))
    step("classify (P2: SLA, escalation)", lambda: s.classify(incident))
    step("page level 1 (email + SMS)", lambda: s.page(page_request(incident, 1, ["alice"], token="t1")))
    step("page level 2 (email + SMS)", lambda: s.page(page_request(incident, 2, ["bob"], token="t2")))
    step("acknowledge", lambda: s.acknowledge(incident, by="bob"))
    step("watch", lambda: s.watch(watch_request(incident, "w1")))
    step("note", lambda: s.add_note(incident, by="bob", text="cache stampede"))
    step("resolve (alarm OK)", lambda: s.handle_alarm(alarm("OK"), message_id="sns:3"))
    step("confirmation window opens (3 emails)", lambda: s.resolution_confirming(confirming(incident, "c1")))
    step("closes", lambda: s.resolution_window_closed(incident))
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "# DynamoDB writes per use case (one P2 alarm incident, ALARM to closed)",
        "",
        "`python -m bench.writes`. Before: the pre-issue-7 core (commit e5cd404), write requests of one item each.",
        "After: write requests (a transaction is one) and the items they write (each effect is committed, claimed",
        "and marked done; a delivery's timeline line is written with its done mark).",
        "",
        "| step | before: requests | after: requests | after: items |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['step']} | {r['before']} | {r['write_requests']} | {r['items_written']} |" for r in rows]
    total = {k: sum(r[k] for r in rows) for k in ("before", "write_requests", "items_written")}
    lines.append(
        f"| **total** | **{total['before']}** | **{total['write_requests']}** | **{total['items_written']}** |"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.writes", description=__doc__)
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    rows = measure()
    print(markdown(rows))
    output.write(output.chosen(args.out, args.save), "writes", {"steps": rows}, markdown(rows))


if __name__ == "__main__":
    main()
