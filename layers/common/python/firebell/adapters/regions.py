"""AWS region codes and display names, from the endpoint data botocore ships (the names the console and
CloudWatch notifications use), read on first use and kept for the container's life."""

from functools import cache

from botocore.loaders import create_loader

from ..domain.alarms import Region, region_key


@cache
def _regions() -> dict[str, Region]:
    by_name: dict[str, Region] = {}
    for partition in create_loader().load_data("endpoints")["partitions"]:
        for code, about in partition["regions"].items():
            region = Region(code=code, partition=partition["partition"])
            by_name[region_key(code)] = region
            if about.get("description"):
                by_name[region_key(about["description"])] = region
    return by_name


def lookup(name: str) -> Region | None:
    """The region a code ("eu-west-1") or display name ("EU - Ireland", "Europe (Ireland)") stands for."""
    return _regions().get(region_key(name))
