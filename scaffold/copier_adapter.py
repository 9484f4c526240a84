"""The one place that knows copier's internals: run_copy without its git probes.

copier's public API (`run_copy`) asks git, on every call, whether the template folder is a
repository or a bundle (`git rev-parse`, then a `git init` and `git bundle verify` in a scratch
folder) and, for every file it writes, whether the destination's git index needs an
executable-bit fix (`git config`). dockergen's sources are always plain folders (bundled, or
materialised without .git by templatesets.overlay) rendered into a fresh staging folder that
nobody has `git add`ed, so every answer is known in advance: not a repository, nothing to sync.

Skipping them saves about 40% of `dockergen new` for 20 services (1.4 s of 3.6 s, 161 git
processes) and half of an in-process render; see the numbers in tests/test_copier_adapter.py.
That is worth two private names, so they live here and nowhere else (a test enforces it),
tests/test_copier_adapter.py fails loudly if copier renames them or stops calling them, and
pyproject.toml pins copier to the minor version those tests ran on.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any


def _no_git() -> bool:
    return False


# (copier module, function name, stand-in): copier calls each through its module's globals.
# copier._main.is_git_available: per written file, before `git config core.fileMode`.
# copier._template.is_git_available: Template.vcs, before get_repo's `git rev-parse` and bundle
# check (copier only reaches get_repo through that test, so get_repo needs no stand-in).
PROBES: tuple[tuple[str, str, Callable[..., Any]], ...] = (
    ("copier._main", "is_git_available", _no_git),
    ("copier._template", "is_git_available", _no_git),
)


@contextlib.contextmanager
def without_git_probes() -> Iterator[None]:
    """Answer copier's git questions with "no git here" for the duration of one render.

    A name copier no longer has is skipped (its probes then just run again: slower, still
    correct); the tests catch that before a release does.
    """
    saved: list[tuple[Any, str, Any]] = []
    for module_name, name, stand_in in PROBES:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, stand_in)
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def copy_folder(
    src: Path,
    dst: Path,
    data: Mapping[str, Any],
    *,
    exclude: Sequence[str],
    unsafe: bool,
) -> None:
    """Render the plain template folder `src` into `dst` with copier's public `run_copy`."""
    from copier import Settings, run_copy  # heavy import: only when rendering

    with without_git_probes():
        run_copy(
            str(src),
            str(dst),
            data=dict(data),
            defaults=True,
            quiet=True,
            overwrite=True,
            exclude=exclude,
            unsafe=unsafe,
            settings=Settings(trust=[]),  # trust no repository by name
        )
