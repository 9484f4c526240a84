"""Helpers shared by the test modules: layouts, generation, tree snapshots.

Kept out of conftest.py so test modules can import them by a name no other conftest shadows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from scaffold import layout as layouts
from scaffold.api import NewResult, new_project
from scaffold.templateset import TemplateSet, load_template_set


def default_set() -> TemplateSet:
    return load_template_set("default")


def kind_names(category: str | None = None) -> list[str]:
    """Kinds of the bundled default set (all, or one category), sorted."""
    tset = default_set()
    return sorted(k.name for k in tset.kinds.values() if category in (None, k.category))


def missing_kinds(data: dict[str, Any]) -> list[str]:
    """Kinds a raw layout uses that the default set doesn't (yet) have."""
    have = set(default_set().kinds)
    return sorted({s["kind"] for s in data.get("services", []) if s["kind"] not in have})


def skip_unless_kinds(data: dict[str, Any]) -> None:
    """Skip (with the reason) when a layout needs kinds the set doesn't have yet."""
    missing = missing_kinds(data)
    if missing:
        pytest.skip(f"kinds not in templates/default yet: {', '.join(missing)}")


def services(*specs: str | tuple[str, str] | tuple[str, str, int]) -> list[dict[str, Any]]:
    """services("postgres", ("fastapi", "api"), ("react", "web", 3001)) -> layout entries.

    A bare kind takes the kind's default name.
    """
    tset = default_set()
    out: list[dict[str, Any]] = []
    for spec in specs:
        if isinstance(spec, str):
            name = tset.kinds[spec].default_name if spec in tset.kinds else spec
            out.append({"name": name, "kind": spec})
        elif len(spec) == 2:
            out.append({"name": spec[1], "kind": spec[0]})
        else:
            out.append({"name": spec[1], "kind": spec[0], "port": spec[2]})
    return out


def generate(target: Path, data: dict[str, Any], *, force: bool = False) -> NewResult:
    """Validate raw layout data and generate it into `target` through the library API."""
    return new_project(target, layouts.parse(data), force=force)


def tree(root: Path) -> set[str]:
    """Every path (files and directories) below root, relative, POSIX: for 'nothing written'."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def staging_leftovers(parent: Path) -> list[str]:
    """Temporary directories the atomic writer must always remove."""
    return sorted(p.name for p in parent.iterdir() if ".dockergen-" in p.name)


def assert_no_findings(findings: Iterable[str]) -> None:
    findings = list(findings)
    assert not findings, f"{len(findings)} finding(s):\n" + "\n".join(findings)
