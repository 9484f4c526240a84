"""`dockergen verify` on the lab when the Dockerfiles keep their `# syntax=` line: no registry is
reachable, so the frontend can't be pulled; verify says so in one line naming the fix, and the
fix (as printed) makes the same project verify."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

FIX = "dockergen update --set options.syntax_line=false"


def dockergen(lab, project, *args: str) -> subprocess.CompletedProcess:
    env = dict(lab.env, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args],
        cwd=project.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


def test_an_unpullable_syntax_frontend_is_named_with_its_fix(lab, make_project):
    project = make_project("syntax", [("static", "web")])
    on = dockergen(lab, project, "update", "--set", "options.syntax_line=true")
    assert on.returncode == 0, on.stderr
    assert (project.path / "web" / "Dockerfile").read_text().startswith("# syntax=")
    proc = dockergen(lab, project, "verify")
    assert proc.returncode == 1, f"{proc.stdout}\n{proc.stderr}"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("dockergen: ")]
    assert len(errors) == 1, proc.stderr
    assert "'# syntax=' line" in errors[0] and errors[0].endswith(f"run `{FIX}`"), errors[0]
    fix = dockergen(lab, project, *FIX.split()[1:])
    assert fix.returncode == 0, fix.stderr
    assert not (project.path / "web" / "Dockerfile").read_text().startswith("# syntax=")
    proc = dockergen(lab, project, "verify")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
