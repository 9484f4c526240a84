"""Unresolved conflicts an earlier update left in the project.

An update that can't merge two changes writes `<<<<<<< yours` / `=======` / `>>>>>>> template`
blocks into the file (or, where markers can't go, the template's copy beside it as
`<path>.dockergen-new`) and exits 1. Until the user resolves them the tree can't build, so every
later command that would build or regenerate it (`update`, `add`, `remove`, `verify`) refuses,
and `diff --exit-code` fails: a CI gate must not pass on such a tree.

Only files dockergen generated are looked at, and only whole conflict blocks count: a Markdown
file with a line of `=======` or a quoted `<<<<<<<` is not a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scaffold.errors import ConflictError, StateError
from scaffold.merge import SIDECAR_SUFFIX, TEMPLATE, YOURS

_START = f"<<<<<<< {YOURS}".encode()
_MIDDLE = b"======="
_END = f">>>>>>> {TEMPLATE}".encode()


def has_markers(data: bytes) -> bool:
    """True when `data` holds a whole conflict block as the merge writes it: a `<<<<<<< yours`
    line, later a `=======` line, later a `>>>>>>> template` line (LF or CRLF)."""
    if _START not in data:  # the common case, without splitting the file
        return False
    expect = _START
    for line in data.splitlines():
        if line.rstrip(b"\r") == expect:
            if expect == _END:
                return True
            expect = _MIDDLE if expect == _START else _END
    return False


def unresolved(project: Path, generated: Iterable[str]) -> list[str]:
    """The generated files (relative POSIX paths) that still hold conflict markers, or whose
    `.dockergen-new` sidecar is still beside them; sorted."""
    found: list[str] = []
    for rel in sorted(set(generated)):
        path = project / rel
        if (project / (rel + SIDECAR_SUFFIX)).is_file():
            found.append(rel)
            continue
        try:
            if path.is_file() and has_markers(path.read_bytes()):
                found.append(rel)
        except OSError:
            continue  # unreadable: the command that needs it says so itself
    return found


def conflict_line(files: list[str]) -> str:
    """The one line every command prints about unresolved conflicts."""
    return (
        f"{len(files)} file(s) have unresolved conflicts: {', '.join(files)} (resolve the "
        f"<<<<<<< {YOURS} / >>>>>>> {TEMPLATE} blocks; where a {SIDECAR_SUFFIX} copy sits "
        "beside a file, merge it by hand and delete it)"
    )


def raise_if_unresolved(project: Path, generated: Iterable[str]) -> None:
    """ConflictError (exit 1) naming the conflicted files, if there are any."""
    files = unresolved(project, generated)
    if files:
        raise ConflictError(conflict_line(files))


def check_project(project: Path) -> None:
    """For commands that don't read the state otherwise (`verify`): refuse a project with
    unresolved conflicts. A folder without dockergen state (a hand-written compose project) or
    with a state this can't read has nothing to check here."""
    from scaffold.state import read_state

    try:
        state = read_state(project)
    except StateError:
        return
    raise_if_unresolved(project, state.files)
