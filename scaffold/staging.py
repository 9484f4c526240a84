"""Atomic placement: build the whole result next to the target, then move it in.

A temporary sibling directory lives on the same filesystem as the target, so the final move is
a rename; an error or Ctrl-C before it leaves the target exactly as it was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from scaffold.errors import TargetError


@contextlib.contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """A scratch directory beside `target`, removed whatever happens."""
    parent = target.parent
    created = [p for p in (parent, *parent.parents) if not p.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.dockergen-", dir=parent))
    except OSError as exc:
        raise TargetError(f"can't write next to {target}: {exc.strerror}") from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for directory in created:  # innermost first; only those still empty (a failed run)
            with contextlib.suppress(OSError):
                directory.rmdir()


# What a folder may already hold for `new` to use it without --force: a version control's
# metadata (`git init` first), and a README or licence (kept unless the set writes one).
VCS_METADATA = frozenset(
    {".git", ".hg", ".svn", ".bzr", "_darcs", ".fossil", ".jj", ".gitattributes", ".hgignore"}
)
_DOC_STEMS = ("readme", "license", "licence", "copying")


def _may_stay(entry: Path) -> bool:
    if entry.name in VCS_METADATA:
        return True
    return entry.is_file() and entry.name.lower().split(".")[0] in _DOC_STEMS


def check_new_target(target: Path, *, force: bool) -> None:
    """`target` may be created, or is a folder holding nothing but what `_may_stay` allows."""
    if target.exists() and not target.is_dir():
        raise TargetError(f"{target} exists and is not a directory")
    if target.is_dir() and not force and not all(_may_stay(e) for e in target.iterdir()):
        raise TargetError(f"{target} is not empty", hint="pass --force to write into it")


def check_collisions(target: Path, files: list[str], *, force: bool) -> None:
    """A file the set writes that is already in `target` (a README the folder kept): refused
    without --force, as it would be replaced."""
    if force or not target.is_dir():
        return
    clash = [f for f in files if (target / f).exists() or (target / f).is_symlink()]
    if clash:
        raise TargetError(
            f"{target / clash[0]} is in the way: the template set writes it",
            hint="move it away, or pass --force to replace it",
        )


def place_new(built: Path, target: Path) -> None:
    """Move a finished tree to `target`: one rename when the target is absent or empty.

    Into a non-empty directory (--force) each file is replaced atomically by rename; files of
    the target that the render doesn't produce are left alone.
    """
    if not target.exists():
        os.rename(built, target)
        return
    if not any(target.iterdir()):
        # Fill the existing directory (it may be the caller's working directory: `new .`).
        for entry in sorted(built.iterdir()):
            os.rename(entry, target / entry.name)
        return
    for path in sorted(built.rglob("*")):
        rel = path.relative_to(built)
        dst = target / rel
        if path.is_dir():
            if dst.exists() and not dst.is_dir():
                raise TargetError(f"{dst} is in the way of a generated directory")
            dst.mkdir(exist_ok=True)
            shutil.copymode(path, dst)
        else:
            if dst.is_dir():
                raise TargetError(f"{dst} is a directory in the way of a generated file")
            os.replace(path, dst)
