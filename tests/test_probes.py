"""The cheap healthcheck probes (issue 16) decide what they claim, run here without an engine.

Each probe is taken from a generated project (the compose file or the Dockerfile, as the engine
gets it) and run against stand-ins: the fastapi probe against a local HTTP server, the postgres
probe against postmaster.pid files in each of the postmaster's states. The lab tests
(tests/e2e/test_stack.py) run them in the real containers.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from projects import generate, services

PGDATA = "/var/lib/postgresql/data"
LOGINS_READY = "/tmp/logins-ready"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("probes") / "p"
    generate(target, {"services": services(("fastapi", "api"), "postgres")})
    return target


def dockerfile_healthcheck(dockerfile: Path) -> list[str]:
    """The exec-form command of the Dockerfile's HEALTHCHECK (its continuation line)."""
    lines = dockerfile.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("HEALTHCHECK "))
    cmd = lines[at + 1].strip()
    assert cmd.startswith("CMD ["), cmd
    return list(json.loads(cmd.removeprefix("CMD ")))


# ------------------------------------------------------------------------------------ fastapi


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.HTTPServer]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_python_probe(cmd: list[str], port: int) -> int:
    assert cmd[0] == "python"
    env = {"PORT": str(port), "PATH": os.environ.get("PATH", "")}
    return subprocess.run([sys.executable, *cmd[1:]], env=env, timeout=30).returncode


def test_fastapi_probe_is_a_raw_socket_in_an_isolated_interpreter(project: Path) -> None:
    cmd = dockerfile_healthcheck(project / "api" / "Dockerfile")
    assert cmd[:4] == ["python", "-I", "-S", "-c"]  # no site, no environment, no urllib
    assert "urllib" not in cmd[4]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (500, False), (503, False)])
def test_fastapi_probe_passes_only_on_200(
    project: Path, server: http.server.HTTPServer, status: int, healthy: bool, monkeypatch
) -> None:
    monkeypatch.setattr(_Health, "status", status)
    cmd = dockerfile_healthcheck(project / "api" / "Dockerfile")
    code = run_python_probe(cmd, server.server_address[1])
    assert (code == 0) is healthy, code


def test_fastapi_probe_fails_when_nothing_listens(project: Path) -> None:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    port = httpd.server_address[1]
    httpd.server_close()  # the port is free again: a refused connection
    assert run_python_probe(dockerfile_healthcheck(project / "api" / "Dockerfile"), port) != 0


# ----------------------------------------------------------------------------------- postgres

# postmaster.pid as PostgreSQL 17 writes it: pid, data dir, start time, port, socket dir,
# listen address, shared memory key, then the status line (padded to 8 characters).
PID_LINES = ["7", PGDATA, "1796248914", "5432", "/var/run/postgresql", "*", "  1515672 5"]


def postgres_probe(project: Path, root: Path) -> str:
    """The compose healthcheck of postgres, with compose's `$$` unescaped and its two paths
    moved under `root`."""
    compose = yaml.safe_load((project / "docker-compose.yml").read_text(encoding="utf-8"))
    test = compose["services"]["postgres"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "pg_isready" not in test[1]  # no client, no backend forked for it
    script = test[1].replace("$$", "$")
    assert PGDATA + "/postmaster.pid" in script and LOGINS_READY in script
    return script.replace(PGDATA, str(root / "data")).replace(LOGINS_READY, str(root / "ready"))


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
@pytest.mark.parametrize(
    ("logins", "lines", "healthy"),
    [
        (True, [*PID_LINES, "ready   "], True),
        (False, [*PID_LINES, "ready   "], False),  # logins not made yet
        (True, [*PID_LINES, "starting"], False),  # recovering or starting
        (True, [*PID_LINES, "stopping"], False),  # shutting down
        (True, PID_LINES, False),  # no status line yet
        (True, None, False),  # no postmaster
    ],
)
def test_postgres_probe_reads_the_postmaster_status(
    project: Path, tmp_path: Path, logins: bool, lines: list[str] | None, healthy: bool
) -> None:
    (tmp_path / "data").mkdir()
    if logins:
        (tmp_path / "ready").touch()
    if lines is not None:
        (tmp_path / "data" / "postmaster.pid").write_text("\n".join(lines) + "\n")
    script = postgres_probe(project, tmp_path)
    code = subprocess.run(["sh", "-c", script], capture_output=True, timeout=30).returncode
    assert (code == 0) is healthy, code


# -------------------------------------------------------------------------------------- mysql


def mysql_probe(tmp_path: Path, port: int) -> list[str]:
    """The compose healthcheck of mysql, its port and logins-ready file moved to stand-ins."""
    target = tmp_path / "p"
    generate(target, {"services": services(("fastapi", "api"), "mysql")})
    compose = yaml.safe_load((target / "docker-compose.yml").read_text(encoding="utf-8"))
    test = compose["services"]["mysql"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]  # bash builtins only: no client, no handshake
    assert "mysqladmin" not in test[3] and "/127.0.0.1/3306" in test[3]
    script = test[3].replace("$$", "$")  # compose's escape, as compose unescapes it
    script = script.replace("/3306", f"/{port}").replace(LOGINS_READY, str(tmp_path / "ready"))
    return ["bash", "-c", script]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    ("logins", "greets", "healthy"),
    [
        (True, True, True),
        (False, True, False),  # the logins are not made yet (or the first start's init runs)
        (True, False, False),  # nothing listens: the init's temporary server has no network
    ],
)
def test_mysql_probe_needs_the_logins_and_a_server_greeting(
    tmp_path: Path, logins: bool, greets: bool, healthy: bool
) -> None:
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if not greets:
        listener.close()  # the port is free again: a refused connection

    def greet() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"J\x00\x00\x00\n8.4.0\x00")  # the start of MySQL's handshake packet
        conn.close()

    thread = threading.Thread(target=greet, daemon=True)
    if greets:
        thread.start()
    if logins:
        (tmp_path / "ready").touch()
    code = subprocess.run(mysql_probe(tmp_path, port), capture_output=True, timeout=30).returncode
    assert (code == 0) is healthy, code
    if greets:
        listener.close()


def test_mysql_probe_sees_readiness_that_comes_during_it(tmp_path: Path) -> None:
    """A probe that starts before the logins exist looks again every 0.1 s: it succeeds soon
    after they appear (the engine hears of it then, not an interval later), within its
    timeout."""
    import socket

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def greet() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"J\x00\x00\x00\n8.4.0\x00")
        conn.close()

    threading.Thread(target=greet, daemon=True).start()
    threading.Timer(0.6, (tmp_path / "ready").touch).start()
    started = time.monotonic()
    code = subprocess.run(mysql_probe(tmp_path, port), capture_output=True, timeout=30).returncode
    took = time.monotonic() - started
    listener.close()
    assert code == 0
    assert took < 3  # the kind's timeout: the engine never kills it


def test_a_failing_database_probe_gives_up_within_its_timeout(
    project: Path, tmp_path: Path
) -> None:
    """Not ready at all: each probe retries for about 1.5 s, then fails before the engine's
    3 s timeout would kill it."""
    (tmp_path / "data").mkdir()
    started = time.monotonic()
    script = postgres_probe(project, tmp_path)
    code = subprocess.run(["sh", "-c", script], capture_output=True, timeout=30).returncode
    assert code != 0 and 1 <= time.monotonic() - started < 3


def test_postgres_probe_sees_readiness_that_comes_during_it(project: Path, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "ready").touch()
    pid = tmp_path / "data" / "postmaster.pid"
    pid.write_text("\n".join([*PID_LINES, "starting"]) + "\n")
    threading.Timer(0.6, lambda: pid.write_text("\n".join([*PID_LINES, "ready   "]) + "\n")).start()
    started = time.monotonic()
    script = postgres_probe(project, tmp_path)
    code = subprocess.run(["sh", "-c", script], capture_output=True, timeout=30).returncode
    assert code == 0 and time.monotonic() - started < 3


# -------------------------------------------------------------------------------------- redis


def redis_probe(tmp_path: Path, port: int, password_file: Path) -> list[str]:
    """The compose healthcheck of redis, with compose's `$$` unescaped, its port and the admin
    password's file moved to stand-ins."""
    target = tmp_path / "p"
    generate(target, {"services": services(("fastapi", "api"), "redis")})
    compose = yaml.safe_load((target / "docker-compose.yml").read_text(encoding="utf-8"))
    test = compose["services"]["redis"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]  # bash builtins only: no redis-cli, cat or grep
    script = test[3].replace("$$", "$")
    assert "redis-cli" not in script and "/127.0.0.1/6379" in script
    script = script.replace("/6379", f"/{port}")
    assert "/run/secrets/redis_admin_password" in script
    return ["bash", "-c", script.replace("/run/secrets/redis_admin_password", str(password_file))]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    ("loading", "right_password", "healthy"),
    [(False, True, True), (False, False, False), (True, True, False)],
)
def test_redis_probe_pings_as_the_administrator(
    tmp_path: Path, loading: bool, right_password: bool, healthy: bool
) -> None:
    """A RESP AUTH then PING: healthy on +PONG only (a wrong password gets -WRONGPASS and
    -NOAUTH; a server loading its data answers -LOADING)."""
    import socket

    secret = "s3cret pass/word"  # a space: the request is RESP, not an inline command
    password_file = tmp_path / "admin_password"
    password_file.write_text(secret if right_password else "other")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.settimeout(5)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                data = b""
                while data.count(b"\r\n") < 10:  # AUTH (3 parts) and PING (1), in RESP
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                good = f"${len(secret)}\r\n{secret}\r\n".encode() in data
                if not good:
                    conn.sendall(b"-WRONGPASS invalid username-password pair\r\n-NOAUTH\r\n")
                elif loading:
                    conn.sendall(b"+OK\r\n-LOADING Redis is loading the dataset\r\n")
                else:
                    conn.sendall(b"+OK\r\n+PONG\r\n")
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    probe = redis_probe(tmp_path, port, password_file)
    code = subprocess.run(probe, capture_output=True, timeout=30).returncode
    listener.close()
    assert (code == 0) is healthy, code


# ------------------------------------------------------------------------- startup: no rich


def test_is_live_answers_without_importing_rich_when_piped() -> None:
    """`dockergen new` piped or redirected: the progress check doesn't import rich (20-40 ms)."""
    code = (
        "import sys; from scaffold import progress; "
        "print(progress.is_live(), 'rich' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_COMPATIBLE", "FORCE_COLOR")}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "False"]
    forced = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "TTY_COMPATIBLE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert forced == ["True", "True"]  # forced: rich decides, as before
