"""Teams, people, services and rules: readable YAML in config/, validated on load.

A broken file fails with the file, the path inside it and what is wrong, e.g.
``config/firebell.yaml: teams[0].escalation_policy.levels[1].delay_minutes: Input should be greater than 0``.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .domain.rules import Rules


class ConfigError(ValueError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    id: Annotated[str, Field(min_length=1)]
    name: str
    email: str | None = None
    phone: Annotated[str | None, Field(pattern=r"^\+[1-9]\d{6,14}$")] = None  # E.164, as SNS SMS needs


class PolicyLevel(_Strict):
    delay_minutes: Annotated[float, Field(gt=0)]
    targets: Annotated[list[str], Field(min_length=1)]


class EscalationPolicy(_Strict):
    levels: Annotated[list[PolicyLevel], Field(min_length=1)]


class Team(_Strict):
    id: Annotated[str, Field(min_length=1)]
    name: str
    escalation_policy: EscalationPolicy
    incident_managers: Annotated[list[str], Field(min_length=1)]
    stakeholders: list[str] = []


class Service(_Strict):
    id: Annotated[str, Field(min_length=1)]
    team: str
    namespaces: list[str] = []
    alarm_name_prefixes: list[str] = []


class Notifications(_Strict):
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


class Directory(_Strict):
    """config/firebell.yaml: who is paged, for what, and from which address."""

    notifications: Notifications
    people: Annotated[list[Person], Field(min_length=1)]
    teams: Annotated[list[Team], Field(min_length=1)]
    services: list[Service] = []
    default_team: str

    @model_validator(mode="after")
    def _references_exist(self) -> "Directory":
        people = {p.id for p in self.people}
        teams = {t.id for t in self.teams}
        problems: list[str] = []
        for ti, team in enumerate(self.teams):
            for li, level in enumerate(team.escalation_policy.levels):
                problems += [
                    f"teams[{ti}].escalation_policy.levels[{li}].targets: unknown person {t!r}"
                    for t in level.targets
                    if t not in people
                ]
            for field in ("incident_managers", "stakeholders"):
                problems += [f"teams[{ti}].{field}: unknown person {p!r}" for p in getattr(team, field) if p not in people]
        problems += [f"services[{i}].team: unknown team {s.team!r}" for i, s in enumerate(self.services) if s.team not in teams]
        if self.default_team not in teams:
            problems.append(f"default_team: unknown team {self.default_team!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def person(self, person_id: str) -> Person | None:
        """None once someone has left the config (an incident keeps the policy it opened with)."""
        return next((p for p in self.people if p.id == person_id), None)

    def team(self, team_id: str | None) -> Team:
        """The team, or the default team if it no longer exists."""
        found = next((t for t in self.teams if t.id == team_id), None)
        return found or next(t for t in self.teams if t.id == self.default_team)


class FirebellConfig(_Strict):
    directory: Directory
    rules: Rules


M = TypeVar("M", bound=BaseModel)


def _load_yaml_model(path: Path, model: type[M]) -> M:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + "; ".join(_describe(e) for e in exc.errors())) from exc


def _describe(error: dict) -> str:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return f"{path or '(top level)'}: {error['msg']}"


def load_config(config_dir: Path) -> FirebellConfig:
    return FirebellConfig(
        directory=_load_yaml_model(config_dir / "firebell.yaml", Directory),
        rules=_load_yaml_model(config_dir / "rules.yaml", Rules),
    )


@lru_cache(maxsize=4)
def cached_config(config_dir: str) -> FirebellConfig:
    """Config is read once per Lambda container (first use, never at import)."""
    return load_config(Path(config_dir))
