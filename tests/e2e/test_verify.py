"""`dockergen verify` against the real engine, as a user runs it (a subprocess, the lab's docker),
beside the user's own running stack.

The user's stack is the default project started with `docker compose up --wait` under its own
name, with a marker row written into its postgres. verify passes beside it and leaves it as it
was: same containers, still running, marker still there, and nothing of verify's left behind.
A backend broken to exit fails verify with its last log lines under the table; --keep leaves
verify's copy running with the command that removes it; Ctrl-C removes what verify started and
exits 130. The user's stack is checked to be untouched after every one of them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.e2e

# `dockergen new --defaults` (on free ports)
DEFAULT = [("react", "frontend"), ("fastapi", "api"), ("postgres", "postgres")]
TABLE = "dge2e_verify_marker"
# the `api` backend's login (the database mounts every client's password file)
PSQL = (
    'PGPASSWORD="$(cat /run/secrets/postgres_api_password)" '
    "psql -h 127.0.0.1 -U api -d api -X -A -t"
)


def verify_command(project, *args: str) -> list[str]:
    return [sys.executable, "-m", "scaffold", "verify", str(project.path), *args]


def cli_env(lab) -> dict[str, str]:
    return dict(lab.env, COLUMNS="200", NO_COLOR="1", TERM="dumb")


def verify(lab, project, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        verify_command(project, *args),
        env=cli_env(lab),
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )


def rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows: service -> cells (rich's box characters stripped)."""
    table = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 5 and cells[0] and cells[0] != "service":
            table[cells[0]] = cells
    return table


def containers(project) -> dict[str, tuple[str, str]]:
    """The user's stack: service -> (container ID, state)."""
    ids = project.compose("ps", "--all", "--quiet", timeout=60).stdout.split()
    found = {}
    for c in project.lab.inspect(*ids):
        service = c["Config"]["Labels"]["com.docker.compose.service"]
        found[service] = (c["Id"], c["State"]["Status"])
    return found


def marker(project) -> str:
    proc = project.exec("postgres", f'{PSQL} -c "SELECT v FROM {TABLE}"', check=False)
    return proc.stdout.strip() if proc.returncode == 0 else f"(no marker: {proc.stderr.strip()})"


def verify_leftovers(lab, project) -> list[str]:
    """Everything on the engine that belongs to one of verify's stacks of this project."""
    prefix = f"{project.name}-verify-"
    label = '{{.Label "com.docker.compose.project"}}'
    found = []
    for listing, field in (
        (["ps", "--all"], "Names"),
        (["network", "ls"], "Name"),
        (["volume", "ls"], "Name"),
    ):
        out = lab.docker(*listing, "--format", f"{label} {{{{.{field}}}}}", timeout=60).stdout
        found += [f"{listing[0]} {line}" for line in out.splitlines() if line.startswith(prefix)]
    images = lab.docker("images", "--format", "{{.Repository}}", timeout=60).stdout.split()
    return found + [f"image {i}" for i in images if i.startswith(prefix)]


@pytest.fixture(scope="module")
def user_stack(lab, make_project):
    """The user's own stack, up and healthy, with a marker row in its database."""
    project = make_project("verify", DEFAULT)
    project.up(build=True)
    value = f"dge2e-{uuid.uuid4().hex}"
    project.exec(
        "postgres",
        f'{PSQL} -v ON_ERROR_STOP=1 -c "CREATE TABLE {TABLE} (v text); '
        f"INSERT INTO {TABLE} VALUES ('{value}')\"",
    )
    assert marker(project) == value
    before = containers(project)
    assert sorted(before) == ["api", "frontend", "postgres"]
    assert all(state == "running" for _, state in before.values()), before
    project.expected = (before, value)  # type: ignore[attr-defined]
    return project


def assert_untouched(lab, project) -> None:
    before, value = project.expected
    assert containers(project) == before, "the user's stack was changed"
    assert marker(project) == value
    for service in ("api", "frontend"):
        status, _ = project.get(service, "/")
        assert status < 500, (service, status)
    assert verify_leftovers(lab, project) == []


@pytest.fixture
def broken_api(user_stack) -> Iterator:
    """Replace the api's entry point (verify builds from the source; the user's running
    container keeps its image) and put it back afterwards."""
    main = user_stack.path / "api" / "app" / "__main__.py"
    original = main.read_text(encoding="utf-8")

    def write(body: str) -> None:
        main.write_text(body + "  # broken on purpose by tests/e2e/test_verify.py\n")

    yield write
    main.write_text(original, encoding="utf-8")


def test_verify_passes_beside_the_users_running_stack_and_leaves_it_untouched(lab, user_stack):
    proc = verify(lab, user_stack)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "all 3 services healthy" in proc.stdout, proc.stdout
    table = rows(proc.stdout)
    assert sorted(table) == ["api", "frontend", "postgres"], proc.stdout
    for cells in table.values():
        assert cells[4] == "healthy", cells
        assert cells[3] != "root (image default)" and not cells[3].startswith("0"), cells
        if cells[0] != "postgres":
            assert cells[1].startswith(f"{user_stack.name}-verify-"), cells  # its own image tags
    said = re.search(
        rf"verify stack ({user_stack.name}-verify-[0-9a-f]{{6}}): removed (.*)", proc.stdout
    )
    assert said, proc.stdout
    assert "3 containers" in said[2] and "1 volume" in said[2] and "2 images" in said[2], said[0]
    assert not re.search(r"\.py:\d+\s*$", proc.stdout + proc.stderr, re.MULTILINE)
    assert_untouched(lab, user_stack)


def test_keep_leaves_verifys_stack_running_and_says_how_to_remove_it(lab, user_stack):
    proc = verify(lab, user_stack, "--keep")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    said = re.search(
        r"left running \(--keep\); remove it with: (docker compose .*)$", proc.stdout, re.M
    )
    assert said, proc.stdout
    kept = verify_leftovers(lab, user_stack)
    assert sum(k.startswith("ps ") for k in kept) == 3, kept
    assert not any(
        "0.0.0.0" in line or "127.0.0.1:" in line
        for line in lab.docker(
            "ps",
            "--filter",
            f"label=com.docker.compose.project={said[1].split()[3]}",
            "--format",
            "{{.Ports}}",
            timeout=60,
        ).stdout.splitlines()
    ), "verify published host ports"
    before, _ = user_stack.expected
    assert containers(user_stack) == before
    # the printed command, as the user would run it (from anywhere)
    subprocess.run(said[1].split(), env=lab.env, check=True, capture_output=True, timeout=300)
    assert_untouched(lab, user_stack)


def test_a_backend_that_exits_fails_verify_with_its_last_log_lines(lab, user_stack, broken_api):
    broken_api(
        "import sys\n\nfor i in range(30):\n    print(f'dge2e starter line {i}', flush=True)\n"
        "sys.exit(3)"
    )
    proc = verify(lab, user_stack, "--wait-timeout", "120")
    assert proc.returncode == 1, f"{proc.stdout}\n{proc.stderr}"
    table = rows(proc.stdout)
    assert table["api"][4] != "healthy", proc.stdout
    assert table["postgres"][4] == "healthy", proc.stdout
    assert "api" in proc.stderr, proc.stderr  # the one-line reason names the broken service
    # under the table: the api's own last lines (the latest ones, at most 20), nobody else's
    after_table = proc.stdout[proc.stdout.index("--- api") :]
    header, *rest = after_table.splitlines()
    assert re.fullmatch(r"--- api \(\w+\): last \d+ log lines", header), header
    block = [
        ln
        for ln in rest[
            : next(i for i, ln in enumerate(rest) if ln.startswith(("--- ", "verify stack")))
        ]
    ]
    assert 0 < len(block) <= 20, after_table
    assert block[-1] == "dge2e starter line 29", after_table
    assert all(ln.startswith("dge2e starter line") for ln in block), after_table
    assert "--- postgres" not in proc.stdout
    assert_untouched(lab, user_stack)


def test_ctrl_c_removes_what_verify_started_and_exits_130(lab, user_stack, broken_api):
    broken_api("import time\n\nprint('dge2e hanging', flush=True)\ntime.sleep(3600)")
    proc = subprocess.Popen(
        verify_command(user_stack, "--wait-timeout", "300"),
        env=cli_env(lab),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the terminal's Ctrl-C goes to all of it
    )
    try:
        deadline = time.monotonic() + 600
        while not any(k.startswith("ps ") for k in verify_leftovers(lab, user_stack)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "verify never started its containers"
            time.sleep(0.5)
        time.sleep(2)  # inside `up --wait` now: the api never becomes healthy
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, f"{out}\n{err}"
    line = err.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"dockergen: interrupted; verify's stack {user_stack.name}-verify-[0-9a-f]{{6}}: "
        r"removed \d+ containers?, .*",
        line,
    ), err
    assert "nothing was written" not in err
    assert_untouched(lab, user_stack)
