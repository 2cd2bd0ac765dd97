"""bench/cost_meter.py's DynamoDB arithmetic: item sizes and the index writes a change costs (AWS's rules, which
moto does not apply), so that bench/cost.py prices what DynamoDB would bill."""

from __future__ import annotations

from bench.cost_meter import _Index, item_size, value_size

TABLE_KEYS = ["pk", "sk"]


def s(text: str) -> dict:
    return {"S": text}


def test_sizes_follow_dynamodbs_rules():
    # names count, strings are UTF-8 bytes, numbers a byte per two significant digits plus one
    assert item_size({"pk": s("abc"), "é": s("é")}) == 2 + 3 + 2 + 2
    assert value_size({"N": "12345"}) == 4 and value_size({"N": "-0.0012300"}) == 3
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    # lists and maps: 3 bytes, and one per element (a map's keys count too)
    assert value_size({"L": [s("ab"), {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert value_size({"M": {"k": s("v")}}) == 3 + 1 + 1 + 1


def incident(status: str, document: str = "x" * 2000, **more) -> dict:
    return {
        "pk": s("INCIDENT#1"),
        "sk": s("INCIDENT"),
        "status": s(status),
        "opened_at": s("2026-01-01"),
        "document": s(document),
        **more,
    }


def test_a_keys_only_index_is_written_only_when_its_keys_change():
    index = _Index("by-status", ["status", "opened_at"], TABLE_KEYS, {"ProjectionType": "KEYS_ONLY"})
    assert index.write_units(None, incident("triggered")) == 1  # an entry appears
    assert index.write_units(incident("triggered"), incident("triggered", document="y" * 3000)) == 0  # not projected
    assert index.write_units(incident("triggered"), incident("acknowledged")) == 2  # a key change: delete and put
    assert index.write_units(incident("closed"), None) == 1  # the item went


def test_an_all_projection_index_rewrites_the_whole_entry_on_every_change():
    index = _Index("by-status", ["status", "opened_at"], TABLE_KEYS, {"ProjectionType": "ALL"})
    assert (
        index.write_units(incident("triggered"), incident("triggered", document="y" * 2000)) == 3
    )  # 2,060 bytes + 100, in KB
    assert index.write_units(incident("triggered"), incident("triggered")) == 0


def test_an_include_index_carries_its_attributes_and_a_sparse_one_leaves_items_without_its_key_out():
    index = _Index(
        "by-recency",
        ["entity", "opened_at"],
        TABLE_KEYS,
        {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["priority"]},
    )
    assert index.write_units(incident("triggered"), incident("acknowledged")) == 0  # no `entity`: not in it
    with_entity = {"entity": s("incident")}
    assert (
        index.write_units(incident("triggered", **with_entity), incident("triggered", priority=s("P2"), **with_entity))
        == 1
    )
    assert index.entry(incident("triggered", priority=s("P2"), **with_entity)).keys() == {
        "pk",
        "sk",
        "entity",
        "opened_at",
        "priority",
    }
