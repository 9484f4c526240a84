"""Database logins per backend (issue 11, section 1), attacked on a real engine.

One stack: three backends of three kinds (fastapi `api`, express `node-api`, go `go-api`) using
postgres and mysql. Each backend logs in as a login of its own, to a database of its own, with
a password only it (and the database, which creates the login) mounts. With `api`'s password,
read from the project's secret file and handed to the database's own client on stdin (never in
a command line), everything a SQL injection would try next is denied: running programs, reading
or writing the server's files, creating roles, changing the server's settings, granting, and
another backend's database. Every backend's /readyz really logs in (a wrong password file fails
it), no password is in any process's command line or any container's environment, and a
backend added with `dockergen add` to a running project with data gets its login while the old
logins' passwords and data stay as they were. The go readiness check's MySQL 8.4 login
(caching_sha2_password, which the lab's MariaDB look-alike doesn't speak) runs against a server
following MySQL's documented exchange (tests/e2e/go/mysql_auth_test.go).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import free_ports
from labutil import wait_until

from scaffold.edits import add_service
from scaffold.update import update_project

pytestmark = pytest.mark.e2e

SPECS = [
    ("fastapi", "api"),
    ("express", "node-api"),
    ("go", "go-api"),
    ("postgres", "postgres"),
    ("mysql", "mysql"),
]
BACKENDS = ["api", "node-api", "go-api"]
DATABASES = ["postgres", "mysql"]
READY = {"status": "ready", "databases": {"postgres": "ok", "mysql": "ok"}}
HERE = Path(__file__).resolve().parent


def login(service: str) -> str:
    return service.replace("-", "_")


def sql(project, db: str, backend: str, statement: str, *, database: str | None = None):
    """Run one statement in the database container with `backend`'s login over TCP (so with
    password authentication), the password read from the project's secret file and passed on
    stdin into the client's environment. Returns the completed process (not checked)."""
    user = login(backend)
    password = project.secret(f"{db}_{backend}_password")
    if db == "postgres":
        script = (
            'read -r PGPASSWORD && export PGPASSWORD && exec psql -h 127.0.0.1 -U "$1" -d "$2" '
            '-X -qAt -v ON_ERROR_STOP=1 -c "$3"'
        )
    else:
        script = (
            'read -r MYSQL_PWD && export MYSQL_PWD && exec mysql -h 127.0.0.1 -u "$1" -D "$2" '
            '-N -B -e "$3"'
        )
    return project.lab.docker(
        "compose",
        "--project-directory",
        project.path,
        "--project-name",
        project.name,
        "exec",
        "-T",
        db,
        "sh",
        "-c",
        script,
        "sh",
        user,
        database or user,
        statement,
        check=False,
        timeout=120,
        input=password + "\n",
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def denied(proc: subprocess.CompletedProcess, *reasons: str) -> None:
    assert proc.returncode != 0, f"allowed: {proc.stdout!r}"
    assert any(r in proc.stderr for r in reasons), proc.stderr


@pytest.fixture(scope="module")
def stack(make_project):
    project = make_project("roles", SPECS)
    try:
        project.up(build=True)
        yield project
    finally:
        project.down(volumes=True)


# ------------------------------------------------------------------------------------ postgres


def test_postgres_login_is_no_superuser_and_owns_its_database(stack):
    flags = ok(
        sql(
            stack,
            "postgres",
            "api",
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = current_user",
        )
    )
    assert flags == "f|f|f|f|f"
    ok(sql(stack, "postgres", "api", "CREATE TABLE dge2e_own (v text)"))
    ok(sql(stack, "postgres", "api", "INSERT INTO dge2e_own VALUES ('mine')"))
    assert ok(sql(stack, "postgres", "api", "SELECT v FROM dge2e_own")) == "mine"


def test_postgres_copy_from_program_is_denied(stack):
    ok(sql(stack, "postgres", "api", "CREATE TABLE IF NOT EXISTS dge2e_copy (v text)"))
    for statement in (
        "COPY dge2e_copy FROM PROGRAM 'id'",
        "COPY dge2e_copy TO PROGRAM 'id'",
        "COPY dge2e_copy FROM '/etc/passwd'",
    ):
        denied(
            sql(stack, "postgres", "api", statement),
            "pg_execute_server_program",
            "pg_read_server_files",
            "pg_write_server_files",
            "must be superuser",
        )
    denied(
        sql(stack, "postgres", "api", "SELECT pg_read_file('/etc/passwd')"),
        "permission denied",
    )


def test_postgres_create_role_and_alter_system_are_denied(stack):
    denied(sql(stack, "postgres", "api", "CREATE ROLE dge2e_evil SUPERUSER"), "permission denied")
    denied(sql(stack, "postgres", "api", "CREATE ROLE dge2e_evil LOGIN"), "permission denied")
    denied(
        sql(stack, "postgres", "api", "ALTER SYSTEM SET log_min_messages = 'panic'"),
        "permission denied",
        "must be superuser",
    )
    denied(
        sql(stack, "postgres", "api", "ALTER ROLE node_api PASSWORD 'x'"),
        "permission denied",
    )
    denied(sql(stack, "postgres", "api", "CREATE DATABASE dge2e_more"), "permission denied")


def test_postgres_another_backends_database_is_denied(stack):
    ok(sql(stack, "postgres", "node-api", "CREATE TABLE IF NOT EXISTS dge2e_theirs (v text)"))
    ok(sql(stack, "postgres", "node-api", "INSERT INTO dge2e_theirs VALUES ('theirs')"))
    for other in ("node_api", "postgres"):
        denied(
            sql(stack, "postgres", "api", "SELECT count(*) FROM dge2e_theirs", database=other),
            "permission denied for database",
            "does not have CONNECT privilege",
        )


# ------------------------------------------------------------------------------------ mysql


def test_mysql_login_has_its_own_database_only(stack):
    grants = ok(sql(stack, "mysql", "api", "SHOW GRANTS"))
    lines = sorted(grants.splitlines())
    assert len(lines) == 2, grants
    assert lines[0].startswith("GRANT ALL PRIVILEGES ON `api`.* TO `api`@`%`"), grants
    assert lines[1].startswith("GRANT USAGE ON *.* TO `api`@`%`"), grants  # no global privilege
    assert "GRANT OPTION" not in grants
    ok(sql(stack, "mysql", "api", "CREATE TABLE dge2e_own (v VARCHAR(20))"))
    ok(sql(stack, "mysql", "api", "INSERT INTO dge2e_own VALUES ('mine')"))
    assert ok(sql(stack, "mysql", "api", "SELECT v FROM dge2e_own")) == "mine"


def test_mysql_server_files_are_out_of_reach(stack):
    denied(
        sql(stack, "mysql", "api", "SELECT 'x' INTO OUTFILE '/tmp/dge2e-outfile'"),
        "FILE privilege",
        "Access denied",
    )
    ok(sql(stack, "mysql", "api", "CREATE TABLE IF NOT EXISTS dge2e_load (v TEXT)"))
    loaded = sql(stack, "mysql", "api", "SELECT LOAD_FILE('/etc/passwd') IS NULL")
    assert loaded.returncode != 0 or loaded.stdout.strip() == "1", loaded.stdout
    denied(
        sql(stack, "mysql", "api", "LOAD DATA INFILE '/etc/passwd' INTO TABLE dge2e_load"),
        "FILE privilege",
        "Access denied",
    )


def test_mysql_grant_and_other_databases_are_denied(stack):
    denied(
        sql(stack, "mysql", "api", "GRANT SELECT ON api.* TO 'node_api'@'%'"),
        "Access denied",
    )
    denied(sql(stack, "mysql", "api", "CREATE USER 'dge2e_evil'@'%'"), "Access denied")
    ok(sql(stack, "mysql", "node-api", "CREATE TABLE IF NOT EXISTS dge2e_theirs (v INT)"))
    denied(
        sql(stack, "mysql", "api", "SELECT * FROM node_api.dge2e_theirs"),
        "Access denied",
        "command denied",
    )
    denied(sql(stack, "mysql", "api", "SELECT 1", database="node_api"), "Access denied")
    denied(sql(stack, "mysql", "api", "SELECT user FROM mysql.user"), "denied")
    # the login's `_` is escaped in the grant: not a wildcard over look-alike names
    denied(sql(stack, "mysql", "node-api", "CREATE DATABASE node1api"), "Access denied")


# ------------------------------------------------------------------------------------ readiness


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_is_ready(stack, backend):
    assert stack.get_json(backend, "/readyz") == (200, READY)


def test_a_wrong_password_file_fails_every_readiness_check(stack):
    """The readiness checks log in for real (go's too): with the password files' content
    replaced in place (the bind-mounted file keeps its inode), every check fails."""
    files = {
        f"{db}_{b}_password": stack.secret(f"{db}_{b}_password")
        for db in DATABASES
        for b in BACKENDS
    }
    try:
        for name in files:
            (stack.path / "secrets" / name).write_text("wrong-" + uuid.uuid4().hex)
        for backend in BACKENDS:
            status, body = stack.get_json(backend, "/readyz")
            assert status == 503, (backend, body)
            assert all(body["databases"][db] != "ok" for db in DATABASES), (backend, body)
    finally:
        for name, value in files.items():
            (stack.path / "secrets" / name).write_text(value)
    for backend in BACKENDS:
        assert stack.get_json(backend, "/readyz") == (200, READY)


def test_go_logs_in_with_mysql_84_caching_sha2(stack, tmp_path):
    """The generated readiness.go against caching_sha2_password's fast and full authentication
    (RSA public key) and a wrong password, in the lab's golang image (no network)."""
    src = tmp_path / "go"
    shutil.copytree(stack.path / "go-api", src)
    shutil.copy(HERE / "go" / "mysql_auth_test.go", src)
    proc = stack.lab.docker(
        "run",
        "--rm",
        "--network",
        "none",
        "--volume",
        f"{src}:/src",
        "--workdir",
        "/src",
        "golang:1.25-trixie",
        "go",
        "test",
        "-count=1",
        "-v",
        ".",
        check=False,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for name in ("FullAuthentication", "FastAuthentication", "WrongPasswordFails"):
        assert f"--- PASS: TestCachingSha2{name}" in out, out[-4000:]


FAKE_PASSWORD = "s3cret-Pa55"  # tests/e2e/go/mysql_auth_test.go's
ATTEMPTS = [("first", FAKE_PASSWORD), ("again", FAKE_PASSWORD), ("wrong", "wrong-password")]
PY_CHECK = (
    "import pathlib, sys; pathlib.Path('/tmp/fake-pw').write_text(sys.argv[1] + '\\n'); "
    "from app.readiness import configured, check; [check(db) for db in configured()]; print('ok')"
)
NODE_CHECK = (
    "require('fs').writeFileSync('/tmp/fake-pw', process.argv[1] + '\\n'); "
    "const r = require('./readiness'); r.checkAll(r.configuredDatabases()).then((x) => "
    "{ console.log(JSON.stringify(x)); process.exit(x.fake === 'ok' ? 0 : 1); })"
)


def test_python_and_node_log_in_with_mysql_84_caching_sha2(stack, tmp_path):
    """fastapi's (PyMySQL, with `cryptography` for the RSA step) and express's (mysql2) mysql
    readiness checks, as built into the images, against caching_sha2_password: a first login
    takes the full authentication (RSA public key), the next the fast one, a wrong password
    fails. The server is the go test's, on a network of its own joined by the two backends."""
    src = tmp_path / "fake"
    shutil.copytree(stack.path / "go-api", src)
    shutil.copy(HERE / "go" / "mysql_auth_test.go", src)
    lab, network, fake = stack.lab, f"{stack.name}-fake", f"{stack.name}-fakemysql"
    backends = {"api": ["python", "-c", PY_CHECK], "node-api": ["node", "-e", NODE_CHECK]}
    lab.docker("network", "create", "--internal", network)
    try:
        lab.docker(
            "run", "--detach", "--name", fake, "--network", network, "--network-alias", "fake",
            "--volume", f"{src}:/src", "--workdir", "/src",
            "--env", "FAKE_MYSQL_LISTEN=:3306", "--env", "FAKE_MYSQL_CONNECTIONS=6",
            "golang:1.25-trixie", "go", "test", "-count=1", "-v", "-run", "TestServeFakeMySQL",
            "-timeout", "300s", ".",
        )  # fmt: skip
        listening = lambda: "listening" in lab.docker("logs", fake, check=False).stdout  # noqa: E731
        assert wait_until(listening, 240), lab.docker("logs", fake, check=False).stderr
        results = {}
        for backend in backends:
            lab.docker("network", "connect", network, stack.container(backend))
        for attempt, password in ATTEMPTS:
            for backend, command in backends.items():
                env = {
                    "DATABASES": "fake",
                    "FAKE_KIND": "mysql",
                    "FAKE_HOST": "fake",
                    "FAKE_PORT": "3306",
                    "FAKE_USER": login(backend),
                    "FAKE_DATABASE": "api",
                    "FAKE_PASSWORD_FILE": "/tmp/fake-pw",
                }
                flags = [a for k, v in env.items() for a in ("--env", f"{k}={v}")]
                proc = lab.docker(
                    "exec", *flags, stack.container(backend), *command, password, check=False
                )
                results[backend, attempt] = proc.returncode
        lab.docker("wait", fake, timeout=120)
        log = lab.docker("logs", fake).stdout
    finally:
        for backend in backends:
            lab.docker(
                "network", "disconnect", "--force", network, stack.container(backend), check=False
            )
        lab.docker("rm", "--force", fake, check=False)
        lab.docker("network", "rm", network, check=False)
    assert results == {
        (b, attempt): 0 if attempt != "wrong" else 1
        for b in backends
        for attempt in ("first", "again", "wrong")
    }, log
    exchanges = [
        line.split(": ", 1)[1] for line in log.splitlines() if line.startswith("connection ")
    ]
    assert len(exchanges) == 6, log
    for user, (first, again, wrong) in {
        "api": exchanges[0::2],
        "node_api": exchanges[1::2],
    }.items():
        assert first.startswith(f"login {user} api caching_sha2_password|key asked|full"), log
        assert again.startswith(f"login {user} api caching_sha2_password|fast"), log
        assert "wrong password" in wrong, log


# ------------------------------------------------------------------------------------ secrets


def secret_mounts(project, service: str) -> list[str]:
    mounts = project.lab.inspect(project.container(service))[0]["Mounts"]
    return sorted(m["Destination"] for m in mounts if m["Destination"].startswith("/run/secrets/"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_backend_mounts_only_its_own_passwords(stack, backend):
    assert secret_mounts(stack, backend) == [
        f"/run/secrets/mysql_{backend}_password",
        f"/run/secrets/postgres_{backend}_password",
    ]


@pytest.mark.parametrize("db", DATABASES)
def test_a_database_mounts_its_admin_and_its_clients_passwords(stack, db):
    assert secret_mounts(stack, db) == sorted(
        [f"/run/secrets/{db}_admin_password"]
        + [f"/run/secrets/{db}_{b}_password" for b in BACKENDS]
    )


def test_no_password_in_any_command_line_or_environment(stack):
    values = stack.secret_values()
    assert len(values) == 2 + 2 * len(BACKENDS), sorted(values)
    seen: dict[str, str] = {}
    for service in [*BACKENDS, *DATABASES]:
        info = stack.lab.inspect(stack.container(service))[0]
        seen[f"{service} env"] = "\n".join(info["Config"]["Env"] or [])
        seen[f"{service} cmd"] = " ".join(info["Config"]["Cmd"] or [])
        seen[f"{service} top"] = stack.lab.docker(
            "top", stack.container(service), "-eo", "pid,args"
        ).stdout
    for db in DATABASES:
        # every process's full argv, from inside (docker top cuts long lines)
        seen[f"{db} /proc"] = stack.exec(db, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").stdout
    assert "mysqld" in seen["mysql /proc"] and "postgres" in seen["postgres /proc"]
    for where, text in seen.items():
        leaked = [name for name, value in values.items() if value in text]
        assert not leaked, f"{where} holds {leaked}"
    # the administrator's option file lived only while the logins were created
    assert stack.exec("mysql", "ls -A /tmp").stdout.split() == ["logins-ready"]


# ------------------------------------------------------------------------------------ add


def settles_ready(project, backend: str, timeout: float = 60) -> bool:
    """/readyz after the databases were recreated or restarted: a backend that was already
    running may briefly fail to resolve or reach them (a recreated container's new address),
    so it gets a short while; returns True, or fails with the last answer and the logs."""
    seen: list[tuple[int, object]] = []

    def ready() -> bool:
        seen.append(project.get_json(backend, "/readyz"))
        return seen[-1] == (200, READY)

    if wait_until(ready, timeout, interval=2):
        return True
    raise AssertionError(f"{backend}: {seen[-1]}\n{project.diagnostics()}")


def test_add_a_backend_to_a_running_project_with_data(stack):
    """`dockergen add` + `up` on the running stack: the new backend's logins are created on the
    existing volumes; the old logins keep their passwords (their secret files are unchanged and
    still log in) and their data."""
    marker = f"dge2e-{uuid.uuid4().hex[:12]}"
    for db in DATABASES:
        ok(sql(stack, db, "api", "CREATE TABLE dge2e_kept (v VARCHAR(40))"))
        ok(sql(stack, db, "api", f"INSERT INTO dge2e_kept VALUES ('{marker}')"))
    before = stack.secret_values()
    (port,) = free_ports(1)
    update_project(stack.path, edit=add_service("fastapi", "late-api", port))
    stack.services.append({"name": "late-api", "kind": "fastapi", "port": port})
    after_add = stack.secret_values()
    assert {k: after_add[k] for k in before} == before
    assert set(after_add) - set(before) == {"postgres_late-api_password", "mysql_late-api_password"}
    stack.up(build=True)

    assert settles_ready(stack, "late-api")
    for db in DATABASES:
        ok(sql(stack, db, "late-api", "CREATE TABLE dge2e_late (v INT)"))
        assert ok(sql(stack, db, "api", "SELECT v FROM dge2e_kept")) == marker
        # still the old password: the setup never changes an existing login's
        assert ok(sql(stack, db, "node-api", "SELECT 1")) == "1"
        denied(
            sql(stack, db, "late-api", "SELECT v FROM dge2e_kept", database="api"),
            "permission denied",
            "Access denied",
            "does not have CONNECT privilege",
        )
    for backend in BACKENDS:
        assert settles_ready(stack, backend)
    assert stack.secret_values() == after_add


def test_setup_is_idempotent_over_a_restart(stack):
    """A restart runs the setup again: nothing fails, every login still logs in."""
    stack.compose("restart", "--timeout", "5", *DATABASES, timeout=300)
    stack.up()
    logs = stack.compose("logs", "--no-color", *DATABASES, timeout=60).stdout
    assert "dockergen: creating the client logins failed" not in logs
    for backend in BACKENDS:
        assert settles_ready(stack, backend)


# ------------------------------------------------------------------------------------ old volumes

OLD_ENV = {
    # what the databases were started with before the logins were per backend
    "postgres": ["POSTGRES_USER=app", "POSTGRES_DB=app", "POSTGRES_PASSWORD={old}"],
    "mysql": [
        "MYSQL_ROOT_PASSWORD={old}",
        "MYSQL_DATABASE=app",
        "MYSQL_USER=app",
        "MYSQL_PASSWORD=old-app-password",
    ],
}
OLD_SECRET = {"postgres": "postgres_password", "mysql": "mysql_root_password"}
LEGACY = {
    "postgres": (
        'psql -U app -d app -v ON_ERROR_STOP=1 -qAt -c "{sql}"',
        "until pg_isready -q -h 127.0.0.1; do sleep 0.5; done",
    ),
    "mysql": (
        'MYSQL_PWD=old-app-password mysql -h 127.0.0.1 -u app -N -B app -e "{sql}"',
        "until mysqladmin ping -h 127.0.0.1 --silent >/dev/null 2>&1; do sleep 0.5; done; sleep 1",
    ),
}


def readme_commands(project, db: str) -> str:
    """The shell block of the generated README's part for `db` that keeps an old volume."""
    text = (project.path / "README.md").read_text(encoding="utf-8")
    part = text[text.index(f"### `{db}`") :]
    return part[part.index("```sh\n") + len("```sh\n") : part.index("\n```", part.index("```sh"))]


def make_old_volume(project, db: str, old: str, marker: str) -> None:
    """The volume as a project generated before per-backend logins left it: initialised by the
    official entrypoint with the old variables, holding a table of the old app user's."""
    from scaffold.templatesets.loader import load_template_set

    kind = load_template_set("default").kinds[db]
    volume = f"{project.name}_{db}-data"
    lab = project.lab
    lab.docker(
        "volume",
        "create",
        "--label",
        f"com.docker.compose.project={project.name}",
        "--label",
        f"com.docker.compose.volume={db}-data",
        volume,
    )
    env = [a for e in OLD_ENV[db] for a in ("--env", e.format(old=old))]
    name = f"{project.name}-old-{db}"
    lab.docker(
        "run", "--detach", "--name", name, "--user", "999:999",
        "--volume", f"{volume}:{kind.data_dir}", *env, kind.image,
    )  # fmt: skip
    try:
        client, wait = LEGACY[db]
        sql_text = f"CREATE TABLE legacy (v VARCHAR(40)); INSERT INTO legacy VALUES ('{marker}')"
        lab.docker("exec", name, "sh", "-c", f"{wait}; {client.format(sql=sql_text)}", timeout=180)
    finally:
        lab.docker("stop", "--time", "20", name, check=False, timeout=120)
        lab.docker("rm", "--force", name, check=False, timeout=60)


def test_an_old_volume_is_kept_with_the_readme_commands(make_project):
    """A volume initialised before the logins were per backend (postgres: superuser `app`, no
    `postgres` role; mysql: root with the old root password): the setup fails and says so; the
    generated README's commands, run as written, make it healthy with the data kept and the
    backend's login created."""
    project = make_project(
        "oldvol", [("fastapi", "api"), ("postgres", "postgres"), ("mysql", "mysql")]
    )
    marker = f"dge2e-{uuid.uuid4().hex[:12]}"
    try:
        for db in DATABASES:
            old = "old-" + uuid.uuid4().hex
            (project.path / "secrets" / OLD_SECRET[db]).write_text(old + "\n")
            make_old_volume(project, db, old, marker)
        project.compose("up", "--detach", *DATABASES, timeout=300)
        for db in DATABASES:

            def failed(db: str = db) -> bool:
                logs = project.compose("logs", "--no-color", db, timeout=60).stdout
                return "dockergen: creating the client logins failed" in logs

            assert wait_until(failed, 120), project.diagnostics()
        for db in DATABASES:
            proc = subprocess.run(
                ["bash", "-ec", readme_commands(project, db)],
                cwd=project.path,
                env=project.lab.env,
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
        project.up(*DATABASES)
        for db in DATABASES:
            ok(sql(project, db, "api", "CREATE TABLE mine (v INT)"))
        legacy_pg = project.exec("postgres", "psql -U postgres -d app -Atc 'SELECT v FROM legacy'")
        assert legacy_pg.stdout.strip() == marker
        legacy_my = project.exec(
            "mysql",
            'MYSQL_PWD="$(cat /run/secrets/mysql_admin_password)" '
            "mysql -u root -N -B app -e 'SELECT v FROM legacy'",
        )
        assert legacy_my.stdout.strip() == marker
    finally:
        project.down(volumes=True)
