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
# And its model as validated at build time (a file of its own: a layer built by this code stays readable by code
# that reads .parsed alone). A container then builds no validator for the directory and the rules (~8 ms of a
# cold start, 0.08x import botocore.session; issue 10).
VALIDATED_SUFFIX = ".validated"
MODELS: dict[str, type[BaseModel]] = {"firebell.yaml": Directory, "rules.yaml": Rules}


def _yaml_loader() -> Any:
    import yaml

    # libyaml's parser when the wheel has it (the layer's does): the pure-Python one takes ~10 ms for config/.
    return yaml, getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: bytes) -> Any:
    yaml, loader = _yaml_loader()
    return yaml.load(text.decode("utf-8"), Loader=loader)


def write_parsed(path: Path) -> None:
    """The layer build's step: `path`'s document, parsed now, next to it (pickle keeps YAML's dates and times), and
    its model as validated now (none if it does not validate: loading it then says why, as for any file)."""
    text = path.read_bytes()
    digest, document = hashlib.sha256(text).hexdigest(), parse_yaml(text)
    _shipped(path, PARSED_SUFFIX).write_bytes(pickle.dumps((digest, document), protocol=pickle.HIGHEST_PROTOCOL))
    model = MODELS.get(path.name)
    try:
        validated = model.model_validate(document) if model else None
    except ValidationError:
        validated = None
    if validated is not None:
        _shipped(path, VALIDATED_SUFFIX).write_bytes(
            pickle.dumps((digest, validated), protocol=pickle.HIGHEST_PROTOCOL)
        )
    else:
        _shipped(path, VALIDATED_SUFFIX).unlink(missing_ok=True)


def _shipped(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _at_build(path: Path, suffix: str, text: bytes) -> tuple[Any] | None:
    """What the build shipped beside `path`, if it came from this very text (an edited file is parsed anew)."""
    try:
        digest, shipped = pickle.loads(_shipped(path, suffix).read_bytes())
    except OSError:
        return None
    return (shipped,) if digest == hashlib.sha256(text).hexdigest() else None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc


def _document(path: Path, text: bytes) -> Any:
    shipped = _at_build(path, PARSED_SUFFIX, text)
    if shipped is not None:
        return shipped[0]
    yaml, _ = _yaml_loader()
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc


def _load_yaml_model(path: Path, model: type[M]) -> M:
    text = _read(path)
    validated = _at_build(path, VALIDATED_SUFFIX, text)
    if validated is not None and type(validated[0]) is model:
        return validated[0]
    raw = _document(path, text)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(f"{p.field}: {p.problem}" for p in field_problems(exc))) from exc


def load_directory(path: Path) -> Directory:
    """A firebell.yaml alone, validated as load_config validates it."""
    return _load_yaml_model(path, Directory)


def load_config(config_dir: Path) -> FirebellConfig:
    # Both parts are validated models already: validating them again as FirebellConfig's fields would build every
    # validator of the directory and the rules, which the shipped models spare a container.
    return FirebellConfig.model_construct(
        directory=_load_yaml_model(config_dir / "firebell.yaml", Directory),
        rules=_load_yaml_model(config_dir / "rules.yaml", Rules),
    )


@lru_cache(maxsize=4)
def cached_config(config_dir: str) -> FirebellConfig:
    """Config is read once per Lambda container (first use, never at import)."""
    return load_config(Path(config_dir))
