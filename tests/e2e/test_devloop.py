"""The development loop on a real engine: `docker compose watch` on a generated project.

The stack is started first (`up --wait`, so every service is healthy), then `docker compose
watch --no-up` runs as a subprocess. One source line of each backend is changed, and within a
bounded time the running service answers with the change, from a new container (watch rebuilt
the image: the hardened containers accept no file copies). A Dockerfile edit rebuilds too. Watch
is stopped with SIGINT, as Ctrl-C does, and leaves the stack running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# conftest's Project (a module named conftest can't be imported unambiguously here)
Project = Any

pytestmark = pytest.mark.e2e

# How long one change may take to be served: a source-only rebuild of the starter apps takes
# 2-3 s on the lab (measured); the margin is for a busy shared machine.
CHANGE_TIMEOUT = 120
WATCH_START_TIMEOUT = 60


def edit(path: Path, old: str, new: str) -> None:
    """Change a file in place (one write, as an editor saving it)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


class Watch:
    """`docker compose watch --no-up` for a project, its output in a file."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.log = project.path.parent / f"{project.name}-watch.log"
        with self.log.open("w", encoding="utf-8") as out:
            self.proc = subprocess.Popen(
                [
                    "docker",
                    "compose",
                    "--project-directory",
                    str(project.path),
                    "--project-name",
                    project.name,
                    "watch",
                    "--no-up",
                ],
                env=project.lab.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped as one, by its id
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_enabled(self) -> None:
        deadline = time.monotonic() + WATCH_START_TIMEOUT
        while "Watch enabled" not in self.output():
            if self.proc.poll() is not None:
                pytest.fail(f"docker compose watch exited {self.proc.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"watch not enabled within {WATCH_START_TIMEOUT} s:\n{self.output()}")
            time.sleep(0.5)

    def stop(self) -> int | None:
        """SIGINT (Ctrl-C) to its process group; SIGKILL if it hangs. Its exit code."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
                return None
        return self.proc.returncode


@pytest.fixture(scope="module")
def watched(make_project: Any) -> Iterator[tuple[Project, Watch]]:
    project = make_project("devloop", [("fastapi", "api"), ("express", "express")])
    project.up(build=True)
    watch = Watch(project)
    try:
        watch.wait_enabled()
        yield project, watch
    finally:
        watch.stop()
        # the containers, volumes and images go with the project (make_project's finalizer)


def wait_for_answer(project: Project, watch: Watch, service: str, key: str, value: str) -> float:
    """Seconds until GET / of the service has `key` == value; fails after CHANGE_TIMEOUT."""
    t0 = time.monotonic()
    seen = None
    while time.monotonic() - t0 < CHANGE_TIMEOUT:
        try:
            status, body = project.get_json(service, "/")
            seen = body
            if status == 200 and body.get(key) == value:
                return time.monotonic() - t0
        except (OSError, AssertionError) as exc:  # recreated container: refused, reset, not JSON
            seen = repr(exc)
        time.sleep(0.5)
    pytest.fail(
        f"{service}: {key} != {value!r} within {CHANGE_TIMEOUT} s (last answer: {seen})\n"
        f"--- watch output\n{watch.output()[-4000:]}\n{project.diagnostics()}"
    )


@pytest.mark.parametrize(
    ("service", "source", "old", "new"),
    [
        ("api", "app/main.py", 'f"Hello from {SERVICE}"', 'f"Changed under watch: {SERVICE}"'),
        ("express", "server.js", "`Hello from ${SERVICE}`", "`Changed under watch: ${SERVICE}`"),
    ],
)
def test_a_source_change_is_served(
    watched: tuple[Project, Watch], service: str, source: str, old: str, new: str
) -> None:
    project, watch = watched
    before = project.container(service)
    status, body = project.get_json(service, "/")
    assert (status, body["message"]) == (200, f"Hello from {service}")
    edit(project.path / service / source, old, new)
    wait_for_answer(project, watch, service, "message", f"Changed under watch: {service}")
    assert project.container(service) != before, "served by the same container: not rebuilt"
    assert f'Rebuilding service(s) ["{service}"]' in watch.output()


def test_a_dockerfile_change_rebuilds(watched: tuple[Project, Watch]) -> None:
    """The image's SERVICE_NAME is set by the Dockerfile only (compose doesn't set it)."""
    project, watch = watched
    before = project.container("express")
    edit(project.path / "express" / "Dockerfile", "SERVICE_NAME=express", "SERVICE_NAME=edited")
    wait_for_answer(project, watch, "express", "service", "edited")
    assert project.container("express") != before


def test_stopping_watch_leaves_the_stack_running(watched: tuple[Project, Watch]) -> None:
    project, watch = watched
    code = watch.stop()
    assert code is not None, f"watch ignored SIGINT:\n{watch.output()}"
    for service in ("api", "express"):
        state = project.lab.inspect(project.container(service))[0]["State"]
        assert state["Running"], f"{service} stopped with watch"
