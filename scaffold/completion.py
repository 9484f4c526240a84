"""What shell completion offers: kinds, service names, `--set` keys and known template sets.

Each function takes what the command line holds so far and returns candidates; none raises
(a project or set that can't be read completes nothing) and none prints, so a half-typed
command line never shows an error in the middle of the user's prompt.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml

from scaffold.errors import DockergenError
from scaffold.layout import LAYOUT_FILE
from scaffold.templatesets.loader import TemplateSet, load_template_set

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def template_sets() -> list[str]:
    """The bundled sets' names and the sources used lately (folders that still exist, URLs)."""
    from scaffold.templatesets.sources import bundled_names, is_git_url, recent

    names = list(bundled_names())
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        for entry in recent():
            source = str(entry["source"])
            if (is_git_url(source) or Path(source).is_dir()) and source not in names:
                names.append(source)
    return names


def _set(template: str | None) -> TemplateSet | None:
    try:
        return load_template_set(template)
    except (DockergenError, OSError, ValueError):
        return None


def kinds(template: str | None, flag: str | None = None) -> list[str]:
    """The set's kinds; with `flag` (a `new` flag: its category's `flag`, else its name) only
    that category's."""
    tset = _set(template)
    if tset is None:
        return []
    if flag is None:
        return sorted(tset.kinds)
    for name, spec in tset.categories.items():
        if (spec.flag or name) == flag:
            return sorted(k.name for k in tset.kinds_in(name))
    return []


def _layout(project: Path | None) -> tuple[Path, dict[str, Any]] | None:
    from scaffold.pipeline import find_root

    root = project or find_root(Path.cwd())
    if root is None:
        return None
    try:
        data = yaml.safe_load((root / LAYOUT_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return (root, data) if isinstance(data, dict) else None


def services(project: Path | None) -> list[str]:
    """The service names of the project's dockergen.yml (read as it is, not validated)."""
    found = _layout(project)
    if found is None or not isinstance(found[1].get("services"), list):
        return []
    return [str(s["name"]) for s in found[1]["services"] if isinstance(s, dict) and s.get("name")]


def project_kinds(project: Path | None) -> list[str]:
    """`add KIND`: the kinds of the set the project uses (the default set's outside one)."""
    found = _layout(project)
    if found is None:
        return kinds(None)
    from scaffold.layout import parse
    from scaffold.pipeline import load_set

    try:
        return sorted(load_set(parse(found[1]), found[0]).kinds)
    except (DockergenError, OSError, ValueError):
        return []


SERVICE_KEYS = ("port", "publish", "name", "uses")


def set_keys(project: Path | None, incomplete: str) -> list[str]:
    """`update --set KEY=VALUE`: the keys, down to services.NAME.FIELD= and answers.NAME=."""
    if incomplete.startswith("services."):
        name, dot, _ = incomplete.removeprefix("services.").partition(".")
        if not dot:
            return [f"services.{n}." for n in services(project)]
        return [f"services.{name}.{key}=" for key in SERVICE_KEYS]
    if incomplete.startswith("answers."):
        found = _layout(project)
        answers = found[1].get("answers") if found else None
        names = list(answers) if isinstance(answers, dict) else []
        tset = None
        if found and isinstance(found[1].get("template"), str):
            tset = _set(found[1]["template"])
        names += [q.name for q in tset.questions if q.name not in names] if tset else []
        return [f"answers.{n}=" for n in names]
    return ["services.", "answers.", "options.syntax_line=", "template=", "template_ref="]
