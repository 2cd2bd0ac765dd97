"""What keeping the local state costs (`python -m bench.state_save [--incidents 1000]`): one save (Scan + write the
folder) and one load (BatchWriteItem into fresh tables) of a table holding that many incidents, each with the items
a real one has (bench/state_save_sample.jsonl: a P2 alarm incident as the demo leaves it).
Runs on moto's in-process mock; prints the figures (nothing is written to bench/results)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import boto3
from moto import mock_aws

from infra.local.render import REGION, create_table, render_topology
from infra.local.state import StateDir
from infra.topology import CONFIG_DIR, TOPOLOGY


def one_incident() -> list[dict]:
    """The 40 items of one P2 alarm incident after the demo (opened, paged twice, acknowledged, resolved, its effects)."""
    sample = Path(__file__).resolve().parent / "state_save_sample.jsonl"
    return [json.loads(line) for line in sample.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=int, default=1000)
    args = parser.parse_args()
    with mock_aws(), tempfile.TemporaryDirectory() as folder:
        resources = render_topology(TOPOLOGY, CONFIG_DIR, "http://127.0.0.1:3000")
        table = resources[("table", "incidents")]
        sample = one_incident()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        items = [{**item, "pk": {"S": f"{item['pk']['S']}-{n}"}} for n in range(args.incidents) for item in sample]
        for start in range(0, len(items), 25):
            dynamodb.batch_write_item(
                RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
            )
        state = StateDir(Path(folder))
        began = time.perf_counter()
        state.save(TOPOLOGY, resources, [], "bench")
        saved = time.perf_counter() - began
        size = sum(f.stat().st_size for f in Path(folder).iterdir())
        for spec in TOPOLOGY.tables:  # empty again, as a new start has them
            dynamodb.delete_table(TableName=resources[("table", spec.name)])
            create_table(dynamodb, spec)
        began = time.perf_counter()
        loaded = state.load_tables(TOPOLOGY, resources)
        load = time.perf_counter() - began
    print(
        f"{args.incidents} incidents, {len(items)} items ({len(sample)} per incident), {size / 1e6:.1f} MB on disk: "
        f"save {saved:.2f} s, load {load:.2f} s ({loaded['incidents']} items loaded)"
    )


if __name__ == "__main__":
    main()
