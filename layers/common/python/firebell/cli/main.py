"""`firebell …`: parse, call the API, print. Exit codes: 0 done, 1 the API refused (its words are printed),
2 usage (a bad flag or profile), 3 not signed in, 4 the API is unreachable or failed (5xx)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from . import commands, importing
from .client import Api, CliError
from .login import refresh_cognito
from .profiles import ProfileError, TokenStore, load_profile

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own exit code is 2 too; say what to run for help
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="firebell", description="Work firebell incidents, on-call and the directory from a terminal.")
    root.add_argument(
        "--profile", help="a profile of ~/.config/firebell/config.toml (default: $FIREBELL_PROFILE or local)"
    )
    root.add_argument("--endpoint", help="the API (or, for cognito, the console) URL, over the profile's")
    root.add_argument("--auth", choices=("local", "sigv4", "cognito"), help="how to authenticate, over the profile's")
    root.add_argument("--output", "-o", choices=("table", "json"), default="table")
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.register(sub)
    importing.register(sub)
    return root


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = parser().parse_args(argv)
    if getattr(args, "offline", None):  # works on files and a vendor's API: no profile or sign-in
        try:
            return int(args.offline(args, out, err))
        except KeyboardInterrupt:
            return 130
    try:
        profile = load_profile(args.profile, args.endpoint, args.auth)
    except ProfileError as error:
        print(f"firebell: {error}", file=err)
        return EXIT_USAGE
    tokens = TokenStore()
    api = Api(profile, tokens, refresh=refresh_cognito)
    try:
        args.run(args, api, out)
    except CliError as error:
        print(f"firebell: {error}", file=err)
        return error.exit_code
    except ProfileError as error:
        print(f"firebell: {error}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return 0


def run_entry_point() -> None:
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `firebell … | head`: the reader left; say nothing more, as other commands do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (Python's flush at exit would raise again)
        code = 141  # 128 + SIGPIPE, what a shell reports for a command cut off by its pipe
    sys.exit(code)
