"""Loads config/: firebell.yaml (the directory, domain/directory.py) and rules.yaml (domain/rules.py), validated.

A broken file fails with the file, the path inside it and what is wrong, e.g.
``config/firebell.yaml: teams[0].escalation_policy.levels[1].delay_minutes: Input should be greater than 0``.
"""

import hashlib
import pickle
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .domain.directory import Directory, FirebellConfig
from .domain.errors import ConfigError, field_problems
from .domain.rules import Rules


M = TypeVar("M", bound=BaseModel)
# Beside each YAML file in the layer: its document as parsed at build time, with the SHA-256 of the text it came
# from (write_parsed). Importing PyYAML costs ~90 M instructions (0.17x import botocore.session) of a cold start.
PARSED_SUFFIX = ".parsed"


def _yaml_loader() -> Any:
    import yaml

    # libyaml's parser when the wheel has it (the layer's does): the pure-Python one takes ~10 ms for config/.
    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: bytes) -> Any:
    yaml, loader = _yaml_loader()
    return yaml.load(text.decode("utf-8"), Loader=loader)  # noqa: S506 (a safe loader)


def write_parsed(path: Path) -> None:
    """The layer build's step: `path`'s document, parsed now, next to it (pickle keeps YAML's dates and times)."""
    text = path.read_bytes()
    document = (hashlib.sha256(text).hexdigest(), parse_yaml(text))
    path.with_name(path.name + PARSED_SUFFIX).write_bytes(pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))


def _parsed_at_build(path: Path, text: bytes) -> tuple[Any] | None:
    """The document shipped beside `path`, if it was parsed from this very text (an edited file is parsed anew)."""
    try:
        digest, document = pickle.loads(path.with_name(path.name + PARSED_SUFFIX).read_bytes())  # noqa: S301 (our build's)
    except OSError:
        return None
    return (document,) if digest == hashlib.sha256(text).hexdigest() else None


def _document(path: Path) -> Any:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    shipped = _parsed_at_build(path, text)
    if shipped is not None:
        return shipped[0]
    yaml, _ = _yaml_loader()
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def _load_yaml_model(path: Path, model: type[M]) -> M:
    raw = _document(path)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(f"{p.field}: {p.problem}" for p in field_problems(exc))) from exc


def load_config(config_dir: Path) -> FirebellConfig:
    return FirebellConfig(
        directory=_load_yaml_model(config_dir / "firebell.yaml", Directory),
        rules=_load_yaml_model(config_dir / "rules.yaml", Rules),
    )


@lru_cache(maxsize=4)
def cached_config(config_dir: str) -> FirebellConfig:
    """Config is read once per Lambda container (first use, never at import)."""
    return load_config(Path(config_dir))
