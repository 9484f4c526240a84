"""An update is all-or-nothing: SIGKILL it anywhere, and after the next run the project is
exactly as before or exactly as a completed update leaves it.

Each case runs `dockergen add` (plus a newer set and a service removed by hand, so the journal
holds puts, deletes, prunes, a new secret and the pristine copy) in a subprocess and kills it:
at every kind of instrumented point (DOCKERGEN_CRASH_AT, read by scaffold.journal) and after
random delays.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from projects import base_layout, create, make_sets, use_set

from scaffold import journal
from scaffold.state import read_state

Snapshot = tuple[dict[str, bytes], frozenset[str]]
COMMAND = ["add", "postgres", "--name", "db"]


def snapshot(project: Path, before: Snapshot | None = None) -> Snapshot:
    """Files and folders, without the journal's own; new secrets (random) by name only."""
    files: dict[str, bytes] = {}
    dirs: set[str] = set()
    for path in project.rglob("*"):
        rel = path.relative_to(project).as_posix()
        if rel.startswith((".dockergen/txn", ".dockergen/txn.done")):
            continue
        if path.is_dir():
            dirs.add(rel)
        elif rel.startswith("secrets/") and (before is None or rel not in before[0]):
            files[rel] = b"<new secret>"
        else:
            files[rel] = path.read_bytes()
    return files, frozenset(dirs)


def run(project: Path, env: dict[str, str], crash_at: str | None = None) -> subprocess.Popen:
    env = {**env, journal.CRASH_ENV: crash_at} if crash_at is not None else env
    return subprocess.Popen(
        [sys.executable, "-m", "scaffold", *COMMAND, "-p", str(project)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


class Case:
    """A project ready to update, its state before, and its state after a clean update."""

    def __init__(self, root: Path) -> None:
        v1, v2 = make_sets(root / "versions")
        template = root / "set"
        use_set(template, v1)
        self.start = create(root / "start" / "demo", base_layout(template))
        dockerfile = self.start / "api" / "Dockerfile"
        dockerfile.write_text(dockerfile.read_text().replace("USER", "ENV TZ=UTC\nUSER"))
        (self.start / "worker" / "notes.txt").write_text("mine\n")
        layout = self.start / "dockergen.yml"
        worker = "- name: worker\n  kind: web\n  port: 8100\n"
        layout.write_text(layout.read_text().replace(worker, ""))  # removed by hand
        use_set(template, v2)  # the newer set is in place: the update applies it
        # conftest points DOCKERGEN_CACHE_DIR at a temp dir; a killed copier leaves its own
        # temp dirs behind, so they go under this test's folder, not the system's
        (root / "tmp").mkdir()
        self.env = {**os.environ, "TMPDIR": str(root / "tmp")}
        self.root = root
        self.before = snapshot(self.start)
        done = self.fresh("reference")
        proc = run(done, self.env, crash_at="done")  # stop before cleanup: keep the journal
        assert proc.wait(timeout=120) == -signal.SIGKILL
        self.ops = json.loads((done / ".dockergen" / "txn" / "journal.json").read_text())["ops"]
        journal.recover(done)
        self.after = snapshot(done, self.before)
        self.started = time.perf_counter()
        clean = self.fresh("timing")
        assert run(clean, self.env).wait(timeout=120) == 0
        self.duration = time.perf_counter() - self.started
        assert snapshot(clean, self.before) == self.after

    def fresh(self, name: str) -> Path:
        project = self.root / name / "demo"
        shutil.copytree(self.start, project, symlinks=True)
        return project


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case(tmp_path_factory.mktemp("atomic"))


def recover_with_cli(project: Path, env: dict[str, str]) -> str:
    """The next dockergen command (here `diff`) finishes or discards the interrupted update."""
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "diff", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def assert_whole(case: Case, project: Path) -> str:
    """The project is `before` or `after`, with a valid state and no journal left."""
    got = snapshot(project, case.before)
    assert not (project / ".dockergen" / "txn").exists()
    read_state(project)
    if got == case.before:
        return "before"
    assert got == case.after, sorted(
        set(got[0].items()) ^ set(case.after[0].items()), key=lambda kv: kv[0]
    )[:5]
    return "after"


def test_the_update_has_every_kind_of_operation(case: Case) -> None:
    kinds = {op["op"] for op in case.ops}
    assert kinds == {"mkdir", "put", "delete", "prune"}
    paths = {op["path"] for op in case.ops}
    assert "secrets/db_admin_password" in paths
    assert ".dockergen/state.json" in paths
    assert case.before != case.after


@pytest.mark.parametrize("where", ["staged", "first", "second", "middle", "last", "done"])
def test_killed_at_a_journal_point_then_recovered(case: Case, where: str) -> None:
    n = len(case.ops)
    point = {"first": "0", "second": "1", "middle": str(n // 2), "last": str(n - 1)}.get(
        where, where
    )
    project = case.fresh(f"crash-{where}")
    proc = run(project, case.env, crash_at=point)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert (project / ".dockergen" / "txn").is_dir()  # killed mid-transaction
    message = recover_with_cli(project, case.env)
    state = assert_whole(case, project)
    if where == "staged":
        assert state == "before"
        assert "discarded an interrupted update" in message
    else:
        assert state == "after"
        assert "completed an interrupted update" in message


def test_killed_again_while_recovering(case: Case) -> None:
    project = case.fresh("crash-twice")
    assert run(project, case.env, crash_at="1").wait(timeout=120) == -signal.SIGKILL
    env = {**case.env, journal.CRASH_ENV: str(len(case.ops) // 2)}
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "diff", str(project)], env=env, check=False
    )
    assert proc.returncode == -signal.SIGKILL
    recover_with_cli(project, case.env)
    assert assert_whole(case, project) == "after"


def test_killed_at_random_moments(case: Case) -> None:
    rng = random.Random(20261128)
    for i in range(8):
        project = case.fresh(f"random-{i}")
        proc = run(project, case.env)
        time.sleep(rng.uniform(0.0, case.duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=120)
        assert code in (0, -signal.SIGKILL), proc.stderr.read() if proc.stderr else code
        recover_with_cli(project, case.env)
        if assert_whole(case, project) == "before":  # caught before the commit: run it again
            assert run(project, case.env).wait(timeout=120) == 0
            assert assert_whole(case, project) == "after"


def test_an_update_after_a_rollback_completes(case: Case) -> None:
    project = case.fresh("rollback-then-update")
    assert run(project, case.env, crash_at="staged").wait(timeout=120) == -signal.SIGKILL
    assert run(project, case.env).wait(timeout=120) == 0  # recovers, then updates
    assert assert_whole(case, project) == "after"


def test_a_stale_done_folder_is_cleaned_silently(case: Case) -> None:
    project = case.fresh("done-litter")
    litter = project / ".dockergen" / journal.DONE_DIR
    litter.mkdir()
    (litter / "00001").write_text("x")
    assert journal.recover(project) is None
    assert not litter.exists()


# ------------------------------------------------------------------ a journal is untrusted data


def _plant_journal(project: Path, ops: list[dict]) -> None:
    txn = project / ".dockergen" / "txn"
    txn.mkdir()
    (txn / "journal.json").write_text(json.dumps({"ops": ops}))


@pytest.mark.parametrize(
    "op",
    [
        {"op": "delete", "path": "../victim"},
        {"op": "delete", "path": "/etc/hostname"},
        {"op": "put", "path": "x", "src": "../../victim"},
        {"op": "chmod", "path": "x"},
        {"op": "delete", "path": "linked/victim"},
    ],
    ids=["dotdot", "absolute", "src-escape", "unknown-op", "symlinked-folder"],
)
def test_a_journal_reaching_outside_the_project_is_refused(
    case: Case, tmp_path: Path, op: dict
) -> None:
    project = case.fresh(f"planted-{tmp_path.name}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("keep me\n")
    (project.parent / "victim").write_text("keep me too\n")
    (project / "linked").symlink_to(outside, target_is_directory=True)
    _plant_journal(project, [{"op": "delete", "path": "README.md"}, op])
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "diff", str(project)],
        env=case.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("dockergen: ") and "refusing to change" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
    assert (outside / "victim").read_text() == "keep me\n"
    assert (project.parent / "victim").read_text() == "keep me too\n"
    assert (project / "README.md").is_file()  # nothing of the planted journal ran


def test_a_staging_failure_changes_nothing(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    from scaffold.errors import StateError
    from scaffold.update import update_project

    project = case.fresh("disk-full")
    calls = []
    real = journal._write

    def failing(path: Path, data: bytes, mode: int) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        real(path, data, mode)

    monkeypatch.setattr(journal, "_write", failing)
    with pytest.raises(StateError, match="No space left on device; nothing was changed"):
        update_project(project)
    assert snapshot(project) == case.before
    assert not (project / ".dockergen" / "txn").exists()
