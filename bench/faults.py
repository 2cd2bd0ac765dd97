"""Issue 7's mixed load under seeded faults on the handlers' AWS calls, at 0 %, 10 % and 20 %.

Each rate runs on a fresh local runtime (bench/faults_load.py: the load, the runtime process, the invariants;
infra/local/faults.py: the injector). Writes faults.json and faults.md into bench/results/local/ (--save: bench/results/).

    .venv/bin/python -m bench.faults [--rates 0 0.1 0.2 --seed 7 --small --note "…"]
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime

from bench import output
from bench.faults_load import FULL, INVARIANTS, SMALL, run_load

COLUMNS = ("fault_rate", "seed", "faults_injected", "incidents_expected", "incidents_created", *INVARIANTS)


def markdown(runs: list[dict], load: dict, note: str) -> str:
    lines = [
        "# Faults: the mixed load under seeded faults on the handlers' AWS calls",
        "",
        note,
        "",
        f"Load: {load['distinct']} distinct CloudWatch alarms, {load['duplicates']} duplicates of {load['stormed']} of them, "
        f"{load['reports']} POST /incidents with an Idempotency-Key, {load['acks']} acknowledgements; clients retry 5xx "
        "and connection errors (6 attempts). Faults: throttling, 500, 503, connection errors (before the call) and read "
        "timeouts after the call took effect, on every AWS call a handler makes (`infra/local/faults.py`). "
        "Every invariant column should read 0 and incidents_created should equal incidents_expected. Timers are scaled up "
        "(level 1 waits 50 min), so every page in a run is a level-1 (or P1 incident-manager) page: acked_then_paged can only "
        "catch a late copy of a level-1 page; paging that continues past an acknowledgement is the concurrency test's subject.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += [
        "| " + " | ".join(f"{run[c]:.0%}" if c == "fault_rate" else str(run[c]) for c in COLUMNS) + " |" for run in runs
    ]
    lines += [
        "",
        "Details per run (duplicates by channel, incidents per key, dead letters per queue and reason, faults by kind):",
        "",
    ]
    for run in runs:
        d = run["details"]
        lines.append(
            f"- {run['fault_rate']:.0%}: {d['seconds']} s, quiet before the deadline: {d['quiet_before_deadline']}; "
            f"faults {d['faults']['by_kind']} over {d['faults']['eligible_calls']} handler calls; duplicate emails "
            f"{d['duplicate_emails']}, SMS {d['duplicate_sms']}; alarms without an incident {d['alarms_without_an_incident']}, "
            f"with several {d['alarms_with_several_incidents']}; acknowledgements that took {d['acknowledged']}, "
            f"Idempotency-Keys with several incidents {d['keys_with_several_incidents']}, without one {d['keys_without_an_incident']}; "
            f"dead letters {d['dead_letters']} (the /_local view showed {d['dead_letters_shown_by_local_view']}); "
            f"final HTTP statuses {d['final_http_statuses']}"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.faults", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.2])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--small", action="store_true", help="the test's smaller load")
    parser.add_argument("--note", default="", help="a line for the .md (e.g. which code was measured)")
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    load = SMALL if args.small else FULL
    runs = []
    for rate in args.rates:
        print(f"fault rate {rate:.0%} …", flush=True)
        runs.append(run_load(rate, args.seed, load, deadline_seconds=900))
        print("  " + ", ".join(f"{c}={runs[-1][c]}" for c in COLUMNS[2:]), flush=True)
    load_fields = {k: getattr(load, k) for k in ("distinct", "duplicates", "stormed", "reports", "acks")}
    meta = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "load": load_fields,
        "note": args.note,
    }
    output.write(
        output.chosen(args.out, args.save), "faults", {"runs": runs, **meta}, markdown(runs, load_fields, args.note)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
