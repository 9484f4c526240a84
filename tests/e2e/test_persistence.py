"""Persistence (the brief, section I): named volumes keep data, tmpfs doesn't.

On the all-databases layout (postgres, mysql, redis and the fastapi backend that uses them):
a marker written into each database through the engine's own client (`docker compose exec`,
logging in with the password from the compose secret file) survives `docker compose down` +
`up`; `down -v` removes it. A file written to a backend's /tmp (a tmpfs) is gone after the
container restarts. One down/up cycle serves every check; the tests below read its record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from scaffold.templatesets.loader import load_template_set

pytestmark = pytest.mark.e2e

DATABASES = ["postgres", "mysql", "redis"]
BACKEND = "api"  # fastapi: no shell, its python writes into /tmp
TABLE = "dge2e_marker"


def client(db: str, sql_or_args: str) -> str:
    """A command for `compose exec DB sh -c`: the engine's own client, password from the secret."""
    if db == "postgres":
        return (
            'PGPASSWORD="$(cat /run/secrets/postgres_password)" psql -h 127.0.0.1 -U app -d app '
            f'-v ON_ERROR_STOP=1 -X -A -t -c "{sql_or_args}"'
        )
    if db == "mysql":
        return (
            'MYSQL_PWD="$(cat /run/secrets/mysql_password)" mysql -h 127.0.0.1 -u app -N -B app '
            f'-e "{sql_or_args}"'
        )
    if db == "redis":
        return (
            'REDISCLI_AUTH="$(cat /run/secrets/redis_admin_password)" '
            "redis-cli --user redis-admin -h 127.0.0.1 "
            f"{sql_or_args}"
        )
    raise ValueError(db)


def write(project, db: str, value: str) -> None:
    if db == "redis":
        out = project.exec(db, client(db, f"SET {TABLE} {value}")).stdout.strip()
        assert out == "OK", out
    else:
        kind = "text" if db == "postgres" else "VARCHAR(100)"
        project.exec(
            db,
            client(db, f"CREATE TABLE {TABLE} (v {kind}); INSERT INTO {TABLE} VALUES ('{value}')"),
        )


def read(project, db: str) -> str:
    """The marker, or '' when there is none (no key; no table)."""
    if db == "redis":
        return project.exec(db, client(db, f"GET {TABLE}")).stdout.strip()
    proc = project.exec(db, client(db, f"SELECT v FROM {TABLE}"), check=False)
    if proc.returncode != 0:
        missing = "does not exist" in proc.stderr or "doesn't exist" in proc.stderr
        assert missing, f"{db}: {proc.stderr}"
        return ""
    return proc.stdout.strip()


MARKER = "/tmp/dge2e-marker"


def tmp_marker(project) -> str:
    script = f"import os; print(open({MARKER!r}).read() if os.path.exists({MARKER!r}) else '')"
    return project.exec_argv(BACKEND, "python", "-c", script).stdout.strip()


def write_tmp_marker(project, marker: str) -> None:
    project.exec_argv(BACKEND, "python", "-c", f"open({MARKER!r}, 'w').write({marker!r})")


@dataclass
class Record:
    marker: str
    written: dict[str, str] = field(default_factory=dict)
    after_down_up: dict[str, str] = field(default_factory=dict)
    after_down_v_up: dict[str, str] = field(default_factory=dict)
    volumes_after_down: list[str] = field(default_factory=list)
    volumes_after_down_v: list[str] = field(default_factory=list)
    mounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tmp_before_restart: str = ""
    tmp_after_restart: str = ""
    tmp_after_down_up: str = ""


@pytest.fixture(scope="module")
def cycle(full_project) -> Any:
    project = full_project
    services = [*DATABASES, BACKEND]
    record = Record(marker=f"dge2e-{uuid.uuid4().hex}")
    try:
        project.up(*services)
        for db in DATABASES:
            write(project, db, record.marker)
            record.written[db] = read(project, db)
            record.mounts[db] = project.lab.inspect(project.container(db))[0]["Mounts"]
        write_tmp_marker(project, record.marker)
        record.tmp_before_restart = tmp_marker(project)
        project.compose("restart", "--timeout", "5", BACKEND, timeout=120)
        record.tmp_after_restart = tmp_marker(project)
        write_tmp_marker(project, record.marker)

        project.down(timeout=10)
        record.volumes_after_down = project.volumes()
        project.up(*services)
        record.after_down_up = {db: read(project, db) for db in DATABASES}
        record.tmp_after_down_up = tmp_marker(project)

        project.down(volumes=True, timeout=10)
        record.volumes_after_down_v = project.volumes()
        project.up(*DATABASES)
        record.after_down_v_up = {db: read(project, db) for db in DATABASES}
        yield record
    finally:
        project.down(volumes=True)


@pytest.mark.parametrize("db", DATABASES)
def test_data_lives_in_a_named_volume_at_the_engines_data_directory(cycle, full_project, db):
    data_dir = load_template_set("default").kinds[db].data_dir
    volumes = [m for m in cycle.mounts[db] if m["Destination"] == data_dir]
    assert len(volumes) == 1 and volumes[0]["Type"] == "volume", cycle.mounts[db]
    assert volumes[0]["Name"] == f"{full_project.name}_{db}-data"


@pytest.mark.parametrize("db", DATABASES)
def test_data_survives_down_and_up(cycle, db):
    assert cycle.written[db] == cycle.marker
    assert cycle.after_down_up[db] == cycle.marker


def test_down_keeps_the_volumes_and_down_v_removes_them(cycle, full_project):
    assert cycle.volumes_after_down == sorted(f"{full_project.name}_{db}-data" for db in DATABASES)
    assert cycle.volumes_after_down_v == []


@pytest.mark.parametrize("db", DATABASES)
def test_down_v_removes_the_data(cycle, db):
    assert cycle.after_down_v_up[db] == ""


def test_tmpfs_is_empty_after_a_restart(cycle):
    assert cycle.tmp_before_restart == cycle.marker
    assert cycle.tmp_after_restart == ""
    assert cycle.tmp_after_down_up == ""
