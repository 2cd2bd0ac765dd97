"""`firebell import pagerduty|opsgenie`: a vendor's directory as a firebell config (docs/importing.md). Works on
files and the vendor's API, not on firebell's: no profile or sign-in needed."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 4
TOKEN_VARIABLES = {"pagerduty": "PAGERDUTY_TOKEN", "opsgenie": "OPSGENIE_API_KEY"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command = sub.add_parser(
        "import",
        help="write a firebell config from PagerDuty or Opsgenie (their API, or JSON saved from it)",
        description="Read teams, people and their contact methods and notification rules, schedules, escalation "
        "policies and services from PagerDuty or Opsgenie, and write them into a firebell config file. Importing "
        "again updates the same entries (ids are kept in a .import-ids.json file beside it) and keeps entries you "
        "added by hand. What cannot be mapped is listed, with why, in a report file.",
    )
    vendors = command.add_subparsers(dest="vendor", required=True)
    for vendor, brand, api_help in (
        ("pagerduty", "PagerDuty", "https://api.pagerduty.com"),
        ("opsgenie", "Opsgenie", "https://api.opsgenie.com; --eu for api.eu.opsgenie.com"),
    ):
        variable = TOKEN_VARIABLES[vendor]
        parser = vendors.add_parser(
            vendor,
            help=f"import from {brand}",
            description=f"Import {brand}'s directory into a firebell config file (docs/importing.md).",
            epilog=f"examples:\n  {variable}=… firebell import {vendor} --token --out config/firebell.yaml\n"
            f"  firebell import {vendor} --from-dir saved/ --out config/firebell.yaml --sender firebell@example.com",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument(
            "--token",
            nargs="?",
            const="",
            metavar="TOKEN",
            help=f"read the API ({api_help}) with this read-only API key; without a value, "
            f"${variable} (kept out of your shell history)",
        )
        where.add_argument("--from-dir", type=Path, metavar="DIR", help="read JSON answers saved from the API instead")
        parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="the config to write or update")
        parser.add_argument("--sender", metavar="ADDRESS", help="notifications.sender, needed when FILE has none yet")
        parser.add_argument("--report", type=Path, metavar="FILE", help=f"default: FILE's name + .{vendor}-import.md")
        parser.add_argument("--api-url", metavar="URL", help="another API address (a proxy, or a test's stand-in)")
        if vendor == "opsgenie":
            parser.add_argument("--eu", action="store_true", help="the EU instance, api.eu.opsgenie.com")
        parser.add_argument(
            "--as-of",
            metavar="TIME",
            help="ISO 8601 instant the import is taken at (default now): layers and overrides ended by then are "
            "left out, and PagerDuty overrides are read from then",
        )
        parser.add_argument(
            "--override-days", type=int, default=90, metavar="N", help="PagerDuty overrides N days ahead (default 90)"
        )
        parser.add_argument("--dry-run", action="store_true", help="print the summary; write nothing")
        parser.set_defaults(offline=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..importing import opsgenie, pagerduty, writer
    from ..importing.sources import DirectorySource, HttpSource, ImportError_

    try:
        as_of = datetime.fromisoformat(args.as_of) if args.as_of else datetime.now(UTC)
        if as_of.tzinfo is None:
            raise ValueError("give an offset, e.g. 2026-10-20T12:00:00+00:00")
    except ValueError as error:
        print(f"firebell: --as-of: {error}", file=err)
        return EXIT_USAGE
    if args.override_days < 1:
        print("firebell: --override-days: at least 1", file=err)
        return EXIT_USAGE
    for flag, path in (("--out", args.out), ("--report", args.report)):
        problem = path and _not_a_file_path(path)
        if problem:
            print(f"firebell: {flag}: {problem}", file=err)
            return EXIT_USAGE
    try:
        if args.from_dir is not None:
            source: DirectorySource | HttpSource = DirectorySource(args.from_dir)
            described = str(args.from_dir)
        else:
            token = args.token or os.environ.get(TOKEN_VARIABLES[args.vendor], "")
            if not token:
                print(f"firebell: --token: give the API key, or set ${TOKEN_VARIABLES[args.vendor]}", file=err)
                return EXIT_USAGE
            if args.vendor == "pagerduty":
                source = pagerduty.http_source(token, args.api_url or pagerduty.API)
            else:
                source = opsgenie.http_source(token, args.api_url or (opsgenie.API_EU if args.eu else opsgenie.API))
            described = source.base_url
        if writer.orphaned(args.out):
            raise ImportError_(
                f"{args.out} was written by an import, but {writer.sidecar_path(args.out).name} (the source ids it "
                "gave) is not beside it: importing now would add every entry again beside itself. Put that file back "
                "(keep it in git with the config), or import into a new file"
            )
        plan = writer.load_plan(args.out)
        ids = plan.ids(args.vendor)
        restrictions = writer.restrictions_supported()
        if args.vendor == "pagerduty":
            imported = pagerduty.convert(pagerduty.read(source, as_of, args.override_days), ids, as_of, restrictions)
        else:
            imported = opsgenie.convert(opsgenie.read(source), ids, as_of, restrictions)
        outcome = writer.merge(plan, imported, ids, args.sender)
    except ImportError_ as error:
        print(f"firebell: {error}", file=err)
        unreachable = isinstance(getattr(args, "token", None), str) and "unreachable" in str(error)
        return EXIT_UNREACHABLE if unreachable else EXIT_REFUSED
    problems = writer.validate(outcome.document)
    text = writer.report(imported, outcome, described)
    report_file = args.report or writer.report_path(args.out, args.vendor)
    # A config that does not validate is not written: the summary then says what would have been.
    print(summary(imported, outcome, report_file, args.dry_run, written=not problems), file=out)
    if problems:
        if not args.dry_run:
            report_file.parent.mkdir(parents=True, exist_ok=True)
            report_file.write_text(text, "utf-8")
        print(f"firebell: the merged config does not validate, nothing written to {args.out}:", file=err)
        for problem in problems[:20]:
            print(f"  {problem}", file=err)
        return EXIT_REFUSED
    if not args.dry_run:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(writer.dump_yaml(outcome.document), "utf-8")
            mapping = {**plan.mapping, args.vendor: dict(sorted(ids.known.items()))}
            writer.sidecar_path(args.out).write_text(json_text(mapping), "utf-8")
            report_file.write_text(text, "utf-8")
        except OSError as error:  # (permissions, a full disk: what the checks above cannot foresee)
            print(f"firebell: cannot write {error.filename or args.out}: {error.strerror or error}", file=err)
            return EXIT_USAGE
    return 0


def _not_a_file_path(path: Path) -> str | None:
    """Why a file cannot be written at `path` (checked before anything is read, so that nothing is half done)."""
    if path.is_dir():
        return f"{path} is a folder: give the config file to write, e.g. {path / 'firebell.yaml'}"
    existing = next((parent for parent in path.parents if parent.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{existing} is a file, not a folder: {path} cannot be made"
    return None


def json_text(value: object) -> str:
    import json

    return json.dumps(value, indent=1, sort_keys=True) + "\n"


def summary(imported: object, outcome: object, report_file: Path, dry_run: bool, written: bool = True) -> str:
    from ..importing.common import Imported
    from ..importing.writer import Outcome, counted

    assert isinstance(imported, Imported) and isinstance(outcome, Outcome)
    read = counted(imported.counts_in) or "nothing"
    wrote = counted(outcome.counts_out)
    lines = [
        f"read from {imported.vendor}: {read}",
        f"{'wrote' if written and not dry_run else 'would write'}: {wrote}",
    ]
    if outcome.removed:
        lines.append(f"removed (gone from {imported.vendor}): {len(outcome.removed)}")
    lines.append(
        f"not mapped: {len(imported.not_mapped)}" + ("" if dry_run else f" (each with its reason in {report_file})")
    )
    return "\n".join(lines)
