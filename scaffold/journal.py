"""All-or-nothing changes to a project: stage, commit a journal, roll forward.

An update touches many files (the user's files, `.dockergen/base/`, `state.json`); a crash half
way must never leave a project whose pristine copy disagrees with its files, or that has half
of a new service. The protocol, all inside `.dockergen/txn/` (same filesystem as the project,
so every move is a rename):

1. Stage. Every new file content is written to `txn/<n>` with its final mode and fsync'd.
   Nothing outside `txn/` is touched yet.
2. Commit. The list of operations is written to `txn/journal.tmp`, fsync'd, then renamed to
   `txn/journal.json` and the directory fsync'd. That rename is the commit point.
3. Apply. Each operation runs in order; each is idempotent, so replaying it is harmless:
   `put` renames `txn/<n>` over the target (a missing source means it already happened;
   `keep_existing` puts, used for secrets, never replace a file), `delete` unlinks if present,
   `prune` removes a directory only if empty, `mkdir` creates a directory with a mode.
4. Finish. Touched directories are fsync'd, `txn/` is renamed to `txn.done/` (the transaction
   is over), then removed.

Recovery, run first by every command that touches a project: a `txn/` with `journal.json`
was committed, so its operations are replayed to the end (roll forward); a `txn/` without one
never changed anything outside itself, so it is deleted (roll back); a `txn.done/` is only
litter and is removed. Either way the project ends exactly in the old state or the new one.
A directory lock (flock) keeps two dockergen processes from working on one project at once;
the kernel drops it if the process dies. Every path is checked to stay inside the project
before anything is staged or replayed: a journal is data found in a (possibly cloned) project
and must not reach a file outside it, through `..` or a symlinked folder.

For tests, DOCKERGEN_CRASH_AT=<point> SIGKILLs the process at that point: `staged` (before the
commit), an operation index (before that operation) or `done` (after all, before cleanup).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from scaffold.errors import StateError
from scaffold.state import DONE_DIR, STATE_DIR, TXN_DIR

JOURNAL = "journal.json"
CRASH_ENV = "DOCKERGEN_CRASH_AT"
_SRC = re.compile(r"^[0-9]{5}$")
_KINDS = ("put", "delete", "prune", "mkdir")


@dataclass(frozen=True)
class Change:
    """One path of the project (POSIX, relative): new content, or None to delete it."""

    path: str
    data: bytes | None
    mode: int = 0o644
    keep_existing: bool = False  # never replace a file that exists (secrets)


def _crash_point(point: str) -> None:
    if os.environ.get(CRASH_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # directories can't be opened for fsync there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, mode)  # the umask must not change what the template asked for


def _txn(project: Path) -> Path:
    return project / STATE_DIR / TXN_DIR


def _inside(project: Path, root: str, op: dict[str, Any]) -> bool:
    rel = op.get("path")
    if not isinstance(rel, str) or op.get("op") not in _KINDS:
        return False
    if op["op"] == "put" and not _SRC.match(str(op.get("src"))):
        return False
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        return False
    parent = os.path.realpath(project.joinpath(*pure.parts).parent)
    return parent == root or parent.startswith(root + os.sep)


def _check_paths(project: Path, ops: Iterable[dict[str, Any]]) -> None:
    """Refuse the whole transaction if any operation would touch a file outside the project."""
    root = os.path.realpath(project)
    for op in ops:
        if not _inside(project, root, op):
            raise StateError(
                f"{project}: refusing to change {op.get('path')!r}: it leads outside the project"
            )


@contextlib.contextmanager
def locked(project: Path) -> Iterator[None]:
    """Hold the project's lock: one dockergen process per project at a time."""
    try:
        import fcntl
    except ImportError:  # no flock on this platform: run unlocked
        yield
        return
    state = project / STATE_DIR
    try:
        fd = os.open(state, os.O_RDONLY)
    except OSError:
        raise StateError(f"{project}: no {STATE_DIR}/; is this a dockergen project?") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StateError(
                f"{project}: another dockergen command is working on this project"
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _ops(changes: Sequence[Change], dirs: dict[str, int]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = [
        {"op": "mkdir", "path": p, "mode": m} for p, m in sorted(dirs.items())
    ]
    emptied: set[str] = set()
    for n, change in enumerate(changes):
        if change.data is None:
            ops.append({"op": "delete", "path": change.path})
            parent = Path(change.path).parent
            while parent != Path("."):
                emptied.add(parent.as_posix())
                parent = parent.parent
        else:
            op: dict[str, str | bool] = {"op": "put", "path": change.path, "src": f"{n:05d}"}
            if change.keep_existing:
                op["keep_existing"] = True
            ops.append(op)
    # deepest first, so a folder emptied of its subfolders goes too
    ops += [{"op": "prune", "path": p} for p in sorted(emptied, key=lambda p: (-p.count("/"), p))]
    return ops


def _run(project: Path, txn: Path, op: dict[str, Any]) -> None:
    target = project / op["path"]
    kind = op["op"]
    if kind == "put":
        src = txn / op["src"]
        if not src.exists():  # already moved by an earlier, interrupted run
            return
        if op.get("keep_existing") and target.exists():
            src.unlink()
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, target)
    elif kind == "delete":
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
    elif kind == "prune":
        with contextlib.suppress(OSError):
            target.rmdir()
    elif kind == "mkdir":
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, op["mode"])
    else:
        raise StateError(f"{txn / JOURNAL}: unknown operation {kind!r}")


def _roll_forward(project: Path, txn: Path, ops: list[dict[str, Any]]) -> None:
    for i, op in enumerate(ops):
        _crash_point(str(i))
        try:
            _run(project, txn, op)
        except OSError as exc:
            raise StateError(
                f"can't finish the update at {op['path']}: {exc.strerror}; "
                "fix that and run `dockergen update` again to complete it"
            ) from None
    _crash_point("done")
    for parent in sorted({(project / op["path"]).parent for op in ops}):
        if parent.is_dir():
            _fsync_dir(parent)
    done = txn.parent / DONE_DIR
    shutil.rmtree(done, ignore_errors=True)
    os.rename(txn, done)
    _fsync_dir(txn.parent)
    shutil.rmtree(done, ignore_errors=True)


def apply(project: Path, changes: Sequence[Change], *, dirs: dict[str, int] | None = None) -> None:
    """Make every change, or (if interrupted) none until recover() finishes them.

    `dirs` are directories to create with a mode before any file goes in (e.g. secrets/ 0700).
    The caller holds the lock and has run recover().
    """
    if not changes and not dirs:
        return
    ops = _ops(changes, dirs or {})
    _check_paths(project, ops)
    txn = _txn(project)
    if txn.exists():
        raise StateError(f"{txn}: an interrupted update is still pending; run the command again")
    try:
        txn.mkdir()
        for n, change in enumerate(changes):
            if change.data is not None:
                _write(txn / f"{n:05d}", change.data, change.mode)
        _fsync_dir(txn)
        _crash_point("staged")
        tmp = txn / "journal.tmp"
        _write(tmp, json.dumps({"ops": ops}).encode(), 0o644)
    except OSError as exc:  # disk full, read-only: nothing outside txn/ was touched yet
        shutil.rmtree(txn, ignore_errors=True)
        raise StateError(
            f"can't stage the update in {txn}: {exc.strerror}; nothing was changed"
        ) from None
    os.replace(tmp, txn / JOURNAL)
    _fsync_dir(txn)
    _roll_forward(project, txn, ops)


def recover(project: Path) -> str | None:
    """Finish or discard an interrupted transaction; say which, or None if there was none."""
    txn = _txn(project)
    shutil.rmtree(txn.parent / DONE_DIR, ignore_errors=True)
    if not txn.is_dir():
        return None
    journal = txn / JOURNAL
    if not journal.exists():
        shutil.rmtree(txn)
        return "discarded an interrupted update that had not changed anything yet"
    try:
        ops = json.loads(journal.read_text(encoding="utf-8"))["ops"]
        if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise StateError(f"{journal}: corrupt journal of an interrupted update") from None
    _check_paths(project, ops)
    _roll_forward(project, txn, ops)
    return "completed an interrupted update"
