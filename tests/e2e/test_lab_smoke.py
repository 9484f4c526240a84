"""Smoke tests of the e2e lab (tests/e2e/lab): engine, Compose, BuildKit and every look-alike image.

Skipped when the lab is not up. Start it with:  eval "$(tests/e2e/lab up)"
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labutil import (
    LOOKALIKE_IMAGES,
    cleanup,
    docker,
    lab_env,
    unique,
    wait_healthy,
)

pytestmark = pytest.mark.e2e

HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]


@pytest.fixture(scope="module")
def env():
    found = lab_env()
    if found is None:
        pytest.skip('e2e lab is not up (run: eval "$(tests/e2e/lab up)")')
    return found


@pytest.fixture
def net(env):
    name = unique("dglab-smoke")
    docker(env, "network", "create", name)
    yield name
    cleanup(env, networks=[name])


def secret_file(tmp_path: Path, name: str, value: str) -> Path:
    """A password file as a compose secret would mount it (readable by the container's uid)."""
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o644)
    return path


# ------------------------------------------------------------------ engine, compose, buildkit


def test_engine_and_compose(env):
    version = docker(
        env, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"
    ).stdout
    assert version.startswith("20.10"), version
    compose = docker(env, "compose", "version", "--short").stdout.strip()
    assert compose.split(".")[0] in ("2", "v2"), compose


def test_images_present(env):
    missing = [
        tag
        for tag in LOOKALIKE_IMAGES
        if docker(env, "image", "inspect", tag, check=False).returncode != 0
    ]
    assert not missing, f"look-alikes missing: {missing}"


def test_buildkit_secret_build(env, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.13-slim-trixie\n"
        'RUN --mount=type=secret,id=tok,required=true test "$(cat /run/secrets/tok)" = s3cret\n'
    )
    (tmp_path / "tok").write_text("s3cret")
    tag = unique("dglab-smoke-build")
    try:
        docker(env, "build", "--secret", f"id=tok,src={tmp_path / 'tok'}", "-t", tag, str(tmp_path))
    finally:
        docker(env, "image", "rm", "--force", tag, check=False)


# ------------------------------------------------------------------ every look-alike, hardened

TRIVIAL = {
    "python:3.13-slim-trixie": [
        "sh",
        "-c",
        "python -c 'import sys; assert sys.version_info[:2] == (3, 13)'"
        " && python3 -V && pip --version && python -m venv /tmp/venv"
        " && /tmp/venv/bin/python -c 'import sys; assert sys.prefix == \"/tmp/venv\"'"
        " && ! command -v gcc",
    ],
    "node:24-trixie-slim": [
        "sh",
        "-c",
        "node --version | grep -q '^v24[.]' && npm --version | grep -q '^11[.]'"
        " && npx --version && yarn --version && id -u node | grep -qx 1000",
    ],
    "golang:1.25-trixie": [
        "sh",
        "-c",
        "go version | grep -q ' go1[.]25[.]' && test \"$(go env GOTOOLCHAIN)\" = local"
        ' && test "$(go env GOPATH)" = /go',
    ],
    "nginx:1.30-trixie": [
        "sh",
        "-c",
        "nginx -v && curl --version >/dev/null && test -f /etc/nginx/nginx.conf"
        " && test -d /etc/nginx/conf.d && test -d /var/cache/nginx"
        ' && test -d /usr/share/nginx/html && test "$(id -u nginx):$(id -g nginx)" = 101:101',
    ],
    "postgres:17-trixie": ["postgres", "--version"],
    "mysql:8.4": ["mysqld", "--version"],
    "redis:8.6-trixie": ["redis-cli", "--version"],
    # what the express runtime relies on: the C++ runtime node links against, and useradd
    "debian:trixie-slim": [
        "sh",
        "-c",
        "grep -q '^VERSION_CODENAME=trixie$' /etc/os-release && command -v useradd"
        " && ls /usr/lib/*-linux-gnu/libstdc++.so.6 /usr/lib/*-linux-gnu/libgcc_s.so.1",
    ],
}


@pytest.mark.parametrize("image", list(LOOKALIKE_IMAGES))
def test_lookalike_runs_hardened(env, image):
    proc = docker(
        env, "run", "--rm", *HARDENED, "--tmpfs", "/tmp:exec", image, *TRIVIAL[image], timeout=120
    )
    assert proc.returncode == 0


def test_golang_static_build(env):
    script = (
        "mkdir -p /tmp/app && cd /tmp/app"
        " && printf 'module example.com/app\\n\\ngo 1.25\\n' > go.mod"
        ' && printf \'package main\\nimport "fmt"\\n'
        'func main() { fmt.Println("ok") }\\n\' > main.go'
        " && CGO_ENABLED=0 go build -trimpath -o /tmp/app/app . && /tmp/app/app"
    )
    proc = docker(
        env,
        "run",
        "--rm",
        *HARDENED,
        "--tmpfs",
        "/tmp:exec,size=512m",
        "-e",
        "GOCACHE=/tmp/gocache",
        "golang:1.25-trixie",
        "sh",
        "-c",
        script,
        timeout=300,
    )
    assert proc.stdout.strip() == "ok"


def test_nginx_serves_as_non_root(env, tmp_path):
    conf = tmp_path / "default.conf"
    conf.write_text("server { listen 8080; location / { root /usr/share/nginx/html; } }\n")
    conf.chmod(0o644)
    name = unique("dglab-nginx")
    try:
        docker(
            env,
            "run",
            "-d",
            "--name",
            name,
            "--user",
            "101:101",
            *HARDENED,
            "--tmpfs",
            "/var/cache/nginx:uid=101,gid=101",
            "--tmpfs",
            "/run:uid=101,gid=101",
            "-v",
            f"{conf}:/etc/nginx/conf.d/default.conf:ro",
            "--health-cmd",
            "curl -fsS http://127.0.0.1:8080/ >/dev/null",
            "--health-interval",
            "1s",
            "--health-retries",
            "30",
            "nginx:1.30-trixie",
        )
        wait_healthy(env, name, timeout=60)
    finally:
        cleanup(env, containers=[name])


# ------------------------------------------------------------------ databases as uid 999


def test_postgres_as_999_with_password_file(env, net, tmp_path):
    pw = secret_file(tmp_path, "pg_password", "pg-S3cret'\"x")
    name = unique("dglab-pg")
    try:
        docker(
            env,
            "run",
            "-d",
            "--name",
            name,
            "--network",
            net,
            "--user",
            "999:999",
            *HARDENED,
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/var/run/postgresql",
            "-v",
            f"{pw}:/run/secrets/pg_password:ro",
            "-e",
            "POSTGRES_PASSWORD_FILE=/run/secrets/pg_password",
            "-e",
            "POSTGRES_USER=app",
            "-e",
            "POSTGRES_DB=appdb",
            "--health-cmd",
            "pg_isready -U app -d appdb -h 127.0.0.1",
            "--health-interval",
            "1s",
            "--health-retries",
            "90",
            "postgres:17-trixie",
        )
        wait_healthy(env, name)
        client = [
            "run",
            "--rm",
            "--network",
            net,
            *HARDENED,
            "-v",
            f"{pw}:/run/secrets/pg_password:ro",
            "postgres:17-trixie",
            "sh",
            "-c",
        ]
        ok = docker(
            env,
            *client,
            f'PGPASSWORD="$(cat /run/secrets/pg_password)" '
            f"psql -h {name} -U app -d appdb -Atc 'select current_user, current_database()'",
        )
        assert ok.stdout.strip() == "app|appdb"
        bad = docker(
            env,
            *client,
            f"PGPASSWORD=wrong psql -h {name} -U app -d appdb -c 'select 1'",
            check=False,
        )
        assert bad.returncode != 0 and "password authentication failed" in bad.stderr
    finally:
        cleanup(env, containers=[name])


def test_postgres_as_root_drops_to_postgres(env):
    name = unique("dglab-pg-root")
    try:
        docker(
            env,
            "run",
            "-d",
            "--name",
            name,
            "-e",
            "POSTGRES_PASSWORD=example",
            "--health-cmd",
            "pg_isready -U postgres -h 127.0.0.1",
            "--health-interval",
            "1s",
            "--health-retries",
            "90",
            "postgres:17-trixie",
        )
        wait_healthy(env, name)
        status = docker(env, "exec", name, "cat", "/proc/1/status").stdout
        uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
        assert uid_line.split()[1:] == ["999"] * 4, uid_line
    finally:
        cleanup(env, containers=[name])


def test_mysql_as_999_with_password_files(env, net, tmp_path):
    root_pw = secret_file(tmp_path, "root_password", "r00t-S3cret")
    app_pw = secret_file(tmp_path, "app_password", "app-S3cret'\"x")
    name = unique("dglab-mysql")
    try:
        docker(
            env,
            "run",
            "-d",
            "--name",
            name,
            "--network",
            net,
            "--user",
            "999:999",
            *HARDENED,
            "--tmpfs",
            "/tmp",
            "--tmpfs",
            "/var/run/mysqld",
            "-v",
            f"{root_pw}:/run/secrets/root_password:ro",
            "-v",
            f"{app_pw}:/run/secrets/app_password:ro",
            "-e",
            "MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root_password",
            "-e",
            "MYSQL_DATABASE=appdb",
            "-e",
            "MYSQL_USER=app",
            "-e",
            "MYSQL_PASSWORD_FILE=/run/secrets/app_password",
            "--health-cmd",
            "mysqladmin ping -h 127.0.0.1 --silent",
            "--health-interval",
            "1s",
            "--health-retries",
            "120",
            "mysql:8.4",
        )
        wait_healthy(env, name, timeout=150)
        client = [
            "run",
            "--rm",
            "--network",
            net,
            *HARDENED,
            "-v",
            f"{app_pw}:/run/secrets/app_password:ro",
            "-v",
            f"{root_pw}:/run/secrets/root_password:ro",
            "mysql:8.4",
            "sh",
            "-c",
        ]
        ok = docker(
            env,
            *client,
            f'MYSQL_PWD="$(cat /run/secrets/app_password)" '
            f"mysql -h {name} -u app -N -e 'select database()' appdb",
        )
        assert ok.stdout.strip() == "appdb"
        root = docker(
            env,
            *client,
            f'MYSQL_PWD="$(cat /run/secrets/root_password)" '
            f"mysql -h {name} -u root -N -e 'select 1'",
        )
        assert root.stdout.strip() == "1"
        bad = docker(
            env, *client, f"MYSQL_PWD=wrong mysql -h {name} -u app -e 'select 1'", check=False
        )
        assert bad.returncode != 0 and "Access denied" in bad.stderr
    finally:
        cleanup(env, containers=[name])


def test_redis_as_999_with_password_file(env, net, tmp_path):
    pw = secret_file(tmp_path, "redis_password", "redis-S3cret")
    name = unique("dglab-redis")
    try:
        docker(
            env,
            "run",
            "-d",
            "--name",
            name,
            "--network",
            net,
            "--user",
            "999:999",
            *HARDENED,
            "--tmpfs",
            "/tmp",
            "-v",
            f"{pw}:/run/secrets/redis_password:ro",
            "--health-cmd",
            'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli ping | grep -q PONG',
            "--health-interval",
            "1s",
            "--health-retries",
            "60",
            "redis:8.6-trixie",
            "sh",
            "-c",
            "exec docker-entrypoint.sh redis-server"
            ' --requirepass "$(cat /run/secrets/redis_password)"',
        )
        wait_healthy(env, name, timeout=60)
        client = [
            "run",
            "--rm",
            "--network",
            net,
            *HARDENED,
            "-v",
            f"{pw}:/run/secrets/redis_password:ro",
            "redis:8.6-trixie",
            "sh",
            "-c",
        ]
        ok = docker(
            env,
            *client,
            f'export REDISCLI_AUTH="$(cat /run/secrets/redis_password)"; '
            f"redis-cli -h {name} set k v >/dev/null && redis-cli -h {name} get k",
        )
        assert ok.stdout.strip() == "v"
        noauth = docker(env, *client, f"redis-cli -h {name} get k", check=False)
        assert "NOAUTH" in noauth.stdout + noauth.stderr
    finally:
        cleanup(env, containers=[name])
