"""`dockergen verify` against the real engine, as a user runs it (a subprocess, the lab's docker).

A freshly generated default project verifies: every service healthy, exit 0, volumes kept. The
same project with its backend edited to exit at start fails: exit 1, the broken service named;
with --clean the volumes are removed as well (even though the run failed).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def verify(lab, project, *args: str) -> subprocess.CompletedProcess:
    env = dict(lab.env, COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-m", "scaffold", "verify", str(project.path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


# `dockergen new --defaults` (on free ports)
DEFAULT = [("react", "frontend"), ("fastapi", "api"), ("postgres", "postgres")]


@pytest.fixture(scope="module")
def fresh(make_project):
    return make_project("verify", DEFAULT)


def rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows: service -> cells (rich's box characters stripped)."""
    table = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 5 and cells[0] and cells[0] != "service":
            table[cells[0]] = cells
    return table


def test_a_fresh_default_project_verifies(lab, fresh):
    proc = verify(lab, fresh)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "all 3 services healthy" in proc.stdout, proc.stdout
    table = rows(proc.stdout)
    assert sorted(table) == ["api", "frontend", "postgres"], proc.stdout
    for cells in table.values():
        assert cells[4] == "healthy", cells
        assert cells[3] != "root (image default)" and not cells[3].startswith("0"), cells
    assert "volumes kept" in proc.stdout
    assert fresh.volumes() == [f"{fresh.name}_postgres-data"]
    # torn down: nothing left running
    assert not fresh.compose("ps", "--quiet", timeout=60).stdout.strip()


def test_a_backend_that_exits_fails_verify_and_clean_removes_the_volumes(lab, fresh):
    main = fresh.path / "api" / "app" / "__main__.py"
    main.write_text("import sys\n\nsys.exit(3)  # broken on purpose by tests/e2e/test_verify.py\n")
    proc = verify(lab, fresh, "--clean", "--wait-timeout", "120")
    assert proc.returncode == 1, f"{proc.stdout}\n{proc.stderr}"
    table = rows(proc.stdout)
    assert table["api"][4] != "healthy", proc.stdout
    assert table["postgres"][4] == "healthy", proc.stdout
    assert "api" in proc.stderr, proc.stderr  # the one-line reason names the broken service
    assert "volumes removed (--clean)" in proc.stdout
    assert fresh.volumes() == []
