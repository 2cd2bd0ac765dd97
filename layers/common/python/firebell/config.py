"""Loads config/: firebell.yaml (the directory, domain/directory.py) and rules.yaml (domain/rules.py), validated.

A broken file fails with the file, the path inside it and what is wrong, e.g.
``config/firebell.yaml: teams[0].escalation_policy.levels[1].delay_minutes: Input should be greater than 0``.
"""

from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .domain.directory import Directory, FirebellConfig
from .domain.errors import ConfigError, field_problems
from .domain.rules import Rules


M = TypeVar("M", bound=BaseModel)
# libyaml's parser when the wheel has it (the layer's does): the pure-Python one took ~10 ms of every cold start.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml_model(path: Path, model: type[M]) -> M:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
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
