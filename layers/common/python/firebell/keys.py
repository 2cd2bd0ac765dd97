"""Routing keys for monitoring tools, made and hashed on the operator's machine (docs/security.md).

    python -m firebell.keys new      a new key, printed once, and the entry to store for it
    python -m firebell.keys hash     the entry for a key you already have (read from stdin, not the command line,
                                     which shell history and `ps` would keep)

Only the entry (the key's SHA-256) goes into config/firebell.yaml or an admin change; the key goes to the sender.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from .domain.routing_keys import fingerprint, new_routing_key, routing_key_sha256


def entry_for(routing_key: str) -> str:
    """The line to add under the service's `routing_keys:` in config/firebell.yaml."""
    return f"- {{ sha256: {routing_key_sha256(routing_key)} }}"


def _explain(routing_key: str, out: TextIO) -> None:
    print(f"fingerprint (as logs name it): {fingerprint(routing_key)}", file=out)
    print("add under the service's routing_keys: in config/firebell.yaml (or in PUT /admin/services/<id>):", file=out)
    print(f"  {entry_for(routing_key)}", file=out)


def main(argv: list[str] | None = None, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m firebell.keys", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new", help="make a new routing key; it is printed once and stored nowhere")
    commands.add_parser("hash", help="the entry for an existing key, read from standard input")
    arguments = parser.parse_args(argv)
    if arguments.command == "new":
        routing_key = new_routing_key()
        print(f"routing key (shown once; give it to the sender, store it nowhere else): {routing_key}", file=out)
    else:
        routing_key = stdin.readline().strip()
        if not routing_key:
            parser.error("no key on standard input")
    _explain(routing_key, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
