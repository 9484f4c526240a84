"""Issue 13's command-line and template-set points, run as a person runs them: `python -m
scaffold` in a subprocess (a pseudo-terminal for Ctrl-C), its stderr line and exit code checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: its own cache (recently used sets), no colour."""
    return {**os.environ, "DOCKERGEN_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def one_line(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    [line] = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr
    return line


def test_a_flags_value_is_blamed_on_the_flag(tmp_path: Path, env: dict[str, str]) -> None:
    line = one_line(run(env, tmp_path, "new", "p", "-b", "fastapi:My App!"))
    assert line.startswith("dockergen: --backend fastapi:My App!: invalid service name 'My App!'")
    assert not (tmp_path / "p").exists()
    assert run(env, tmp_path, "new", "p", "-b", "fastapi:api").returncode == 0
    line = one_line(run(env, tmp_path / "p", "update", "--set", "services.api.port=70000"))
    assert line == (
        "dockergen: --set services.api.port=70000: a port is a whole number from 1 to 65535, "
        "not 70000"
    )


def test_diff_and_update_name_the_project(tmp_path: Path, env: dict[str, str]) -> None:
    assert run(env, tmp_path, "new", "shop", "-b", "fastapi:api").returncode == 0
    moved = (tmp_path / "shop").rename(tmp_path / "my-checkout")
    for command in ("diff", "update"):
        proc = run(env, moved, command)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("shop is up to date"), proc.stdout


def test_kinds_and_templates_list_show_what_the_set_really_gives(
    tmp_path: Path, env: dict[str, str]
) -> None:
    mirrored = tmp_path / "mirrored"
    mirrored.mkdir()
    (mirrored / "set.yml").write_text(
        "name: m\nversion: 1.0.0\nextends: default\n"
        "policy: {mirror: registry.example.test/mirror/}\n"
    )
    kinds = run(env, tmp_path, "kinds", "-t", str(mirrored))
    assert kinds.returncode == 0, kinds.stderr
    assert "runtime=registry.example.test/mirror/library/postgres:17-trixie" in kinds.stdout
    shutil.rmtree(mirrored)
    listed = run(env, tmp_path, "templates", "list").stdout
    assert f"{mirrored}  (folder no longer exists)" in listed


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_newer_release_of_the_projects_git_set_is_announced(
    tmp_path: Path, env: dict[str, str]
) -> None:
    repo = tmp_path / "team-set"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    for version, tag in (("1.0.0", "v1.0.0"), ("1.1.0", "v1.1.0")):
        (repo / "set.yml").write_text(f"name: team\nversion: {version}\nextends: default\n")
        git("add", "-A")
        git("commit", "-qm", version)
        git("tag", tag)
    proc = run(
        env, tmp_path, "new", "p", "-t", repo.as_uri(), "--template-ref", "v1.0.0", "-d", "redis"
    )
    assert proc.returncode == 0, proc.stderr
    hint = "team 1.0.0 -> 1.1.0 available: dockergen update --template-ref v1.1.0"
    assert hint in run(env, tmp_path / "p", "diff").stdout
    assert hint in run(env, tmp_path / "p", "update").stdout


FAKE_DOCKER = """#!/bin/sh
# A docker CLI that answers what verify asks first, then hangs reading the compose model.
case "$*" in
  info*) echo 20.10.24 ;;
  "compose version"*) echo 2.40.3 ;;
  *config*) touch "$MARKER"; sleep 60 ;;
  *) echo "unexpected: $*" >&2; exit 3 ;;
esac
"""


def test_ctrl_c_before_verify_built_anything(tmp_path: Path, env: dict[str, str]) -> None:
    assert run(env, tmp_path, "new", "p", "-b", "fastapi:api").returncode == 0
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    marker = tmp_path / "config-called"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "scaffold", "verify", str(tmp_path / "p")],
        env={**env, "PATH": f"{bin_dir}:{env['PATH']}", "MARKER": str(marker)},
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 200),
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), child.read_nonblocking(10000, timeout=1)
    child.sendintr()  # Ctrl-C: the whole foreground group, as a terminal sends it
    child.expect("interrupted before verify built or started anything; your stack was not touched")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
