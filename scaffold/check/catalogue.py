"""The rule catalogue (scaffold/check/rules.yml): the rules `dockergen check` applies, and the
names and patterns they recognise, as data validated here.

docs/rules.md is generated from `load()`; the rules themselves look up their metadata here, so
a rule's id, severity and wording live in one place.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scaffold.check.model import Rule, Severity
from scaffold.errors import TemplateSetError

CATALOGUE = Path(__file__).with_name("rules.yml")
CONCEPTS = ("input", "persistence", "layers", "multistage", "compose", "hardening", "policy")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RuleEntry(_Strict):
    title: str
    concept: Literal[
        "input", "persistence", "layers", "multistage", "compose", "hardening", "policy"
    ]
    severity: Literal["low", "medium", "high"]
    rationale: str
    fix: str


class Install(_Strict):
    """A dependency-install command line: see rules.yml `knowledge.installs`."""

    argv: tuple[str, ...]
    cache_ok: tuple[str, ...] = ()
    cache_env: tuple[str, ...] = ()
    prod_ok: tuple[str, ...] | None = None
    manifest: bool = False
    manifest_flags: tuple[str, ...] = ()
    implicit_unless: tuple[tuple[str, ...], ...] = ()


class Insecure(_Strict):
    """A command that switches a TLS or signature check off: see `knowledge.insecure_commands`."""

    argv: tuple[str, ...]
    flags: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


class Knowledge(_Strict):
    """What the rules recognise (file names, variable names, commands, images)."""

    secret_files: tuple[str, ...]
    not_secret_files: tuple[str, ...]
    credential_words: frozenset[str]
    credential_names: frozenset[str]
    reference_words: frozenset[str]
    credential_values: tuple[str, ...]
    build_repositories: tuple[str, ...]
    build_tags: tuple[str, ...]
    installs: tuple[Install, ...]
    builds: tuple[tuple[str, ...], ...]
    apt_installs: tuple[tuple[str, ...], ...]
    apt_cleanup: tuple[str, ...]
    host_sensitive: tuple[str, ...]
    host_sensitive_trees: tuple[str, ...]
    production_env: dict[str, str] = Field(default_factory=dict)
    insecure_commands: tuple[Insecure, ...] = ()
    image_aliases: dict[str, str] = Field(default_factory=dict)
    insecure_env: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    docker_socket: tuple[str, ...]
    broad_capabilities: frozenset[str]
    unbounded_log_drivers: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("credential_values")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            re.compile(pattern)
        return value

    @functools.cached_property
    def value_patterns(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.credential_values))


class _Catalogue(_Strict):
    rules: dict[str, _RuleEntry]
    knowledge: Knowledge

    @field_validator("rules")
    @classmethod
    def _ids(cls, value: dict[str, _RuleEntry]) -> dict[str, _RuleEntry]:
        for rid in value:
            if not re.fullmatch(r"DG\d{3}", rid):
                raise ValueError(f"rule id {rid!r} is not DGnnn")
        return value


@functools.cache
def _catalogue() -> _Catalogue:
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
        data = yaml.load(CATALOGUE.read_text(encoding="utf-8"), Loader=loader)
        return _Catalogue.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:  # a packaging bug, not user input
        raise TemplateSetError(f"the rule catalogue {CATALOGUE} is invalid: {exc}") from exc


def load() -> dict[str, Rule]:
    """Every rule of the catalogue, by id, in id order (a fresh dict; the rules are frozen)."""
    return dict(_rules())


@functools.cache
def _rules() -> dict[str, Rule]:
    return {
        rid: Rule(
            id=rid,
            title=entry.title,
            concept=entry.concept,
            severity=Severity[entry.severity.upper()],
            rationale=entry.rationale,
            fix=entry.fix,
        )
        for rid, entry in sorted(_catalogue().rules.items())
    }


def knowledge() -> Knowledge:
    """The names and patterns the rules recognise (rules.yml `knowledge`)."""
    return _catalogue().knowledge
