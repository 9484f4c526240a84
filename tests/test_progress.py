"""Progress of long work (issue 13): shown with rich on a terminal, for a git template fetch, a
large update and verify; nothing of it when stdout is not a terminal (piped or redirected).

Each test runs the CLI in a pseudo-terminal (pexpect) and again with stdout redirected.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from projects import skip_unless_kinds

pexpect = pytest.importorskip("pexpect", reason="pexpect is a test extra: pip install -e .[test]")

REPO = Path(__file__).resolve().parent.parent
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Z0-9]|[=>])")


def plain(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "NO_COLOR")}
    return {**env, "TERM": "xterm-256color", "DOCKERGEN_CACHE_DIR": str(tmp_path / "cache")}


def in_terminal(cwd: Path, env: dict[str, str], command: str, *args: str) -> tuple[int, str]:
    """Run in a pseudo-terminal (stdout and stderr on it); exit code and everything shown."""
    child = pexpect.spawn(
        command, list(args), cwd=str(cwd), env=env, encoding="utf-8", timeout=120,
        dimensions=(30, 120),
    )  # fmt: skip
    try:
        child.expect(pexpect.EOF)
        output = child.before or ""
    finally:
        child.close()
    return (child.exitstatus if child.exitstatus is not None else -1), output


def redirected(cwd: Path, env: dict[str, str], command: str, *args: str) -> tuple[int, str]:
    """stdout to a file, stderr still the terminal: what the terminal showed."""
    line = " ".join([command, *args]) + " > out.txt"
    return in_terminal(cwd, env, "/bin/sh", "-c", line)


def make(venv_bin: Path, where: Path, *args: str) -> Path:
    run = subprocess.run(
        [str(venv_bin / "dockergen"), "new", "big", *args],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return where / "big"


def test_a_large_update_shows_its_progress_on_a_terminal_only(venv_bin: Path, tmp_path: Path):
    skip_unless_kinds({"services": [{"kind": "fastapi"}, {"kind": "postgres"}]})
    backends = [f"fastapi:api{i}" for i in range(1, 6)]
    args = [a for spec in backends for a in ("-b", spec)]
    project = make(venv_bin, tmp_path, *args, "-d", "postgres")
    env = env_for(tmp_path)
    dockergen = str(venv_bin / "dockergen")

    code, shown = in_terminal(
        project, env, dockergen, "update", "--set", "options.syntax_line=false"
    )
    assert code == 0, shown
    text = plain(shown)
    assert "rendering from template set default" in text
    assert re.search(r"merging files .*\d+/\d+", text), text
    assert "Updated" in text or "updated" in text

    code, shown = redirected(project, env, dockergen, "update", "--set", "options.syntax_line=true")
    assert code == 0, shown
    assert "merging files" not in shown and "rendering" not in shown
    assert "\x1b[" not in shown  # no live display at all
    assert "merging files" not in (project / "out.txt").read_text()


def _git_set(tmp_path: Path) -> str:
    src = tmp_path / "set-src"
    shutil.copytree(REPO / "templates" / "default", src)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(src)], check=True)
    subprocess.run([*git, "-C", str(src), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(src), "commit", "-qm", "set"], check=True)
    return f"file://{src}"


def test_a_git_template_fetch_shows_its_progress_on_a_terminal_only(venv_bin: Path, tmp_path: Path):
    url = _git_set(tmp_path)
    env = env_for(tmp_path)
    dockergen = str(venv_bin / "dockergen")
    code, shown = in_terminal(tmp_path, env, dockergen, "templates", "show", url)
    assert code == 0, shown
    assert f"cloning template set {url}" in plain(shown)
    assert "checking out template set" in plain(shown)

    shutil.rmtree(tmp_path / "cache")  # a clone again, with stdout redirected
    code, shown = redirected(tmp_path, env, dockergen, "templates", "show", url)
    assert code == 0, shown
    assert "cloning" not in shown and "\x1b[" not in shown
    assert "source:" in (tmp_path / "out.txt").read_text()


# verify in a terminal: the engine's part is stood in for (this is about what the CLI shows while
# images build and healthchecks are waited on; tests/e2e/ run the real thing).
_FAKE_VERIFY = """
import sys, time
from scaffold import verify
from scaffold.verify import ServiceStatus, VerifyResult

def run(project, **kwargs):
    kwargs["step"]("building images (as big-verify-a)")
    time.sleep(0.4)
    kwargs["step"]("starting services and waiting for healthchecks")
    time.sleep(0.4)
    return VerifyResult(
        services=[ServiceStatus("api", "big-verify-a-api", 50, "10001", "healthy")],
        error=None, torn_down="big-verify-a: removed 1 container", stack="big-verify-a",
    )

verify.verify_project = run
from scaffold.cli import main
sys.argv = ["dockergen", "verify", "."]
main()
"""


def test_verify_shows_its_steps_on_a_terminal_only(tmp_path: Path):
    env = env_for(tmp_path)
    code, shown = in_terminal(tmp_path, env, sys.executable, "-c", _FAKE_VERIFY)
    assert code == 0, shown
    text = plain(shown)
    assert "building images (as big-verify-a)" in text
    assert "waiting for healthchecks" in text
    assert "all 1 services healthy" in text

    script = tmp_path / "fake_verify.py"
    script.write_text(_FAKE_VERIFY)
    code, shown = redirected(tmp_path, env, sys.executable, str(script))
    assert code == 0, shown
    assert "building images" not in shown and "healthchecks" not in shown
    assert "all 1 services healthy" in (tmp_path / "out.txt").read_text()
