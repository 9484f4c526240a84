"""Detection for `dockergen init`: the services of an existing repository, as a Layout.

Everything a stack is recognised by is data in the template set (kind.yml `detect:`): the files
and dependency names that mark a folder as a kind, where its facts (runtime version, package
manager, entry, port, health route) are read, and what a database's users declare. This module
only walks the repository (bounded, never into node_modules, .venv, .git...) and reads manifest
formats (package.json, pyproject.toml and TOML lockfiles, requirements*.txt, go.mod).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scaffold.layout import Layout
from scaffold.templatesets.loader import TemplateSet


@dataclass(frozen=True)
class Reason:
    """Why a service was detected, or a fact recorded: shown in the interview's review."""

    path: str  # the folder, relative POSIX, "." for the root
    text: str  # "backend/ is fastapi: pyproject.toml depends on fastapi"


@dataclass(frozen=True)
class Detection:
    """What `init` found: a layout (starter=False, each service's path and facts filled where
    the repository states them), why, and what the user should look at."""

    layout: Layout
    reasons: tuple[Reason, ...]
    warnings: tuple[str, ...]


def detect(root: Path, tset: TemplateSet) -> Detection:
    """The services of the repository at `root`, by `tset`'s `detect:` data.

    Raises LayoutError (one line; exit 2 at the CLI) for an empty folder, nothing detectable, a
    manifest that can't be parsed (named, with the position), a marker whose `missing` applies
    (a go.mod without a main package), or two services claiming the same host port.
    """
    raise NotImplementedError("being implemented on issue14-detect")
