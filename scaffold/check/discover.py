"""Which files `dockergen check` audits: Dockerfiles (`Dockerfile*`, `*.Dockerfile`), compose
files (`docker-compose*.y*ml`, `compose*.y*ml`) and `.dockerignore` files, found under the paths
given. Dependency, VCS and dockergen's own state folders are never entered (a pristine copy of
the last render is not the project's file). A symlink loop or an unreadable folder is a Skipped
note, never an exception.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from scaffold.check.model import Skipped
from scaffold.state import STATE_DIR

FileKind = Literal["dockerfile", "compose", "dockerignore"]

# never descended: installed dependencies, version control, virtualenvs, dockergen's state
PRUNED = frozenset({"node_modules", ".git", ".hg", ".svn", ".venv", STATE_DIR})

_PATTERNS: tuple[tuple[str, FileKind], ...] = (
    ("Dockerfile*", "dockerfile"),
    ("*.Dockerfile", "dockerfile"),
    ("docker-compose*.yml", "compose"),
    ("docker-compose*.yaml", "compose"),
    ("compose*.yml", "compose"),
    ("compose*.yaml", "compose"),
    (".dockerignore", "dockerignore"),
)


# a template of a Dockerfile or compose file, or an editor's or merge tool's leftover: not
# what Docker builds or runs (Dockerfile.jinja, docker-compose.yml.orig)
_NOT_USED = (".jinja", ".jinja2", ".j2", ".tmpl", ".tpl", ".template", ".orig", ".rej", ".bak", "~")


def kind_of(path: Path) -> FileKind | None:
    """What an audited file is, from its name (case-sensitive, as Docker's own defaults are)."""
    name = path.name
    if name.endswith(_NOT_USED):
        return None
    if name == ".dockerignore" or name.endswith(".Dockerfile.dockerignore"):
        return "dockerignore"
    if name.startswith("Dockerfile") and name.endswith(".dockerignore"):
        return "dockerignore"  # Dockerfile.dockerignore: BuildKit's per-Dockerfile ignore file
    for pattern, kind in _PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return kind
    return None


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def discover(paths: Sequence[Path], root: Path) -> tuple[list[Path], list[Skipped]]:
    """The files to audit under `paths` (each a file or a folder), sorted by their path relative
    to `root`, and the ones that could not be looked at. A file named explicitly is audited
    whatever its name only when its kind can be told from the name; otherwise it is skipped."""
    found: dict[str, Path] = {}
    skipped: dict[str, Skipped] = {}

    def skip(path: Path, reason: str) -> None:
        rel = _rel(path, root)
        skipped.setdefault(rel, Skipped(rel, reason))

    def walk(folder: Path, seen: frozenset[tuple[int, int]]) -> None:
        try:
            info = folder.stat()
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skip(folder, _why(exc, "folder"))
            return
        ident = (info.st_dev, info.st_ino)
        if ident in seen:
            skip(folder, "symlink loop: the folder links back to one of its parents")
            return
        seen = seen | {ident}
        for entry in entries:
            path = folder / entry.name
            try:
                is_dir = entry.is_dir()  # follows symlinks: ELOOP for a self-referencing link
                is_file = entry.is_file()
            except OSError as exc:
                skip(path, _why(exc, "entry"))
                continue
            if is_dir:
                if entry.name not in PRUNED:
                    walk(path, seen)
            elif entry.is_symlink() and not is_file and kind_of(path) is not None:
                try:
                    path.stat()
                except OSError as exc:
                    skip(path, _why(exc, "file"))
                    continue
            elif is_file and kind_of(path) is not None:
                found.setdefault(_rel(path, root), path)

    for given in paths:
        try:
            mode = given.stat().st_mode
        except OSError as exc:
            skip(given, _why(exc, "path"))
            continue
        if stat.S_ISDIR(mode):
            walk(given, frozenset())
        elif kind_of(given) is None:
            skip(given, "not a Dockerfile, compose file or .dockerignore (by its name)")
        else:
            found.setdefault(_rel(given, root), given)
    return [found[k] for k in sorted(found)], [skipped[k] for k in sorted(skipped)]


def _why(exc: OSError, what: str) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return f"{what} does not exist (a dangling symlink?)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{what} is not readable (permission denied)"
    return f"{what} could not be read: {exc.strerror or exc}"
