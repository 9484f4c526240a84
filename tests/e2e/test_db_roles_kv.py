"""Per-service logins to redis on a real engine (issue 11, section 1), attacked with an app's own
credentials.

One stack: fastapi `api` and express `node-api` using `redis`. With `api`'s password (the file
only `api` mounts, read inside the redis container so that redis-cli gets it through
REDISCLI_AUTH, never argv), CONFIG, FLUSHALL, key enumeration and every `node_api:` key are
refused; `api:` keys work; a connection that hasn't logged in can do nothing. Each backend's
/readyz logs in for real (a wrong password in its secret file fails it); each backend mounts its
own password file and not the administrator's; no password is in a process's command line or a
container's environment. Then `dockergen add` of a go backend to the stack, with data in it:
after `down` and `up` (the volume stays), the new backend logs in as its own user (its RESP
handshake sends AUTH user password), and the old passwords, logins and data are unchanged.

MongoDB has no image on the lab (no Debian package of the server), so its logins are checked
statically (tests/test_db_roles_kv_static.py) and not here.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import Project, free_ports

from scaffold.api import add_service_edit, update_project

pytestmark = pytest.mark.e2e

DB = "redis"
SPECS = [("fastapi", "api"), ("express", "node-api"), ("redis", DB)]
BACKENDS = ["api", "node-api"]
ADDED = ("go", "go-api")
ADMIN = "redis-admin"


def login(service: str) -> str:
    return service.replace("-", "_")


def redis(project: Project, args: str, *, as_service: str | None) -> str:
    """redis-cli in the redis container, logged in as `as_service`'s own user with the password
    from its secret file (or, with None, not logged in): the reply text, errors included."""
    if as_service is None:
        auth = ""
    elif as_service == ADMIN:
        auth = f'REDISCLI_AUTH="$(cat /run/secrets/{DB}_admin_password)" '
        auth += f"redis-cli --user {ADMIN} "
    else:
        auth = f'REDISCLI_AUTH="$(cat /run/secrets/{DB}_{as_service}_password)" '
        auth += f"redis-cli --user {login(as_service)} "
    cmd = (auth or "redis-cli ") + f"-h 127.0.0.1 {args} 2>&1"
    return project.exec(DB, cmd).stdout.strip()


def secret_mounts(project: Project, service: str) -> set[str]:
    mounts = project.lab.inspect(project.container(service))[0]["Mounts"]
    return {m["Destination"] for m in mounts if m["Destination"].startswith("/run/secrets/")}


@pytest.fixture(scope="module")
def stack(make_project):
    project = make_project("roleskv", SPECS)
    try:
        project.up(build=True)
        yield project
    finally:
        project.down(volumes=True)


# ----------------------------------------------------------------- an app's own credentials


@pytest.mark.parametrize(
    "args",
    [
        "CONFIG GET '*'",
        "CONFIG SET appendonly no",
        "FLUSHALL",
        "FLUSHDB",
        "KEYS '*'",
        "SCAN 0",
        "DEBUG SLEEP 0",
        "ACL LIST",
        "SHUTDOWN NOSAVE",
        "MODULE LIST",
        "REPLICAOF 127.0.0.1 1",
        "BGSAVE",
        "MONITOR",
        "FUNCTION FLUSH",
    ],
)
def test_api_may_not_run_administrative_or_dangerous_commands(stack, args):
    reply = redis(stack, args, as_service="api")
    # redis refuses DEBUG from every connection (enable-debug-command) before the ACL is asked
    assert reply.startswith(("NOPERM", "ERR DEBUG command not allowed")), (args, reply)
    # the server is still up and its data is untouched
    assert redis(stack, "PING", as_service="api") == "PONG"


def test_api_reads_and_writes_its_own_keys(stack):
    assert redis(stack, "SET api:x from-api", as_service="api") == "OK"
    assert redis(stack, "GET api:x", as_service="api") == "from-api"
    assert redis(stack, "DEL api:x", as_service="api") == "1"


def test_api_may_not_touch_another_backends_keys(stack):
    assert redis(stack, "SET node_api:k from-node", as_service="node-api") == "OK"
    for args in (
        "GET node_api:k",
        "SET node_api:k from-api",
        "DEL node_api:k",
        "EXISTS node_api:k",
    ):
        reply = redis(stack, args, as_service="api")
        assert reply.startswith("NOPERM"), (args, reply)
    # a script runs with the caller's permissions
    script = shlex.quote("return redis.call('get', 'node_api:k')")
    reply = redis(stack, f"EVAL {script} 0", as_service="api")
    assert "No permissions to access a key" in reply, reply
    # nor outside any prefix
    assert redis(stack, "SET shared v", as_service="api").startswith("NOPERM")
    assert redis(stack, "GET node_api:k", as_service="node-api") == "from-node"


def test_a_connection_that_has_not_logged_in_can_do_nothing(stack):
    for args in ("PING", "GET api:x", "SET api:x v", "CONFIG GET '*'"):
        reply = redis(stack, args, as_service=None)
        assert reply.startswith("NOAUTH"), (args, reply)
    # `default` is off: no password logs in as it
    reply = redis(stack, "--user default --pass anything PING", as_service=None)
    assert "WRONGPASS" in reply or "NOAUTH" in reply, reply


# ------------------------------------------------------------------------------ the backends


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_logs_in_as_its_own_user(stack, backend):
    status, body = stack.get_json(backend, "/readyz")
    assert (status, body) == (200, {"status": "ready", "databases": {DB: "ok"}})
    env = stack.lab.inspect(stack.container(backend))[0]["Config"]["Env"]
    assert f"REDIS_USER={login(backend)}" in env
    assert f"REDIS_PREFIX={login(backend)}:" in env


def wrong_password_readiness(project: Project, backend: str) -> tuple[int, Any]:
    """/readyz of `backend` while its secret file holds another password (the readiness check
    reads the file at every check; the compose secret is a bind mount of it, so an in-place
    write is seen at once)."""
    path = project.path / "secrets" / f"{DB}_{backend}_password"
    saved = path.read_bytes()
    try:
        path.write_bytes(b"not-" + saved)
        return project.get_json(backend, "/readyz")
    finally:
        path.write_bytes(saved)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_wrong_password_fails_the_readiness_check(stack, backend):
    status, body = wrong_password_readiness(stack, backend)
    assert status == 503, body
    assert body["databases"][DB] != "ok", body
    assert stack.get_json(backend, "/readyz")[0] == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_mounts_only_its_own_password(stack, backend):
    assert secret_mounts(stack, backend) == {f"/run/secrets/{DB}_{backend}_password"}


def test_only_the_database_mounts_the_administrator_password(stack):
    assert secret_mounts(stack, DB) == {
        f"/run/secrets/{DB}_admin_password",
        *(f"/run/secrets/{DB}_{b}_password" for b in BACKENDS),
    }


def test_no_password_in_a_command_line_or_an_environment(stack):
    passwords = stack.secret_values()
    assert len(passwords) == 1 + len(BACKENDS)
    # every process in the database container, as the host sees it (/proc/*/cmdline)
    top = stack.lab.docker("top", stack.container(DB), "-eo", "pid,args", timeout=60).stdout
    assert "redis-server" in top, top
    for service in (DB, *BACKENDS):
        config = stack.lab.inspect(stack.container(service))[0]["Config"]
        seen = "\n".join([*config["Env"], *(config["Cmd"] or []), top])
        for name, value in passwords.items():
            assert value not in seen, f"{name} is visible in {service}"
    # the config redis reads holds hashes, not passwords, and only redis may read it
    conf = stack.exec(DB, "stat -c '%a %U' /tmp/redis.conf && cat /tmp/redis.conf").stdout
    assert conf.startswith("600 redis"), conf
    assert "user default off" in conf
    for value in passwords.values():
        assert value not in conf


# --------------------------------------------------------------- a backend added on the way


@dataclass
class Grown:
    """The stack before and after `dockergen add go --name go-api`, `down` and `up`."""

    secrets_before: dict[str, str] = field(default_factory=dict)
    secrets_after: dict[str, str] = field(default_factory=dict)
    report: str = ""


@pytest.fixture(scope="module")
def grown(stack: Project) -> Grown:
    record = Grown()
    assert redis(stack, "SET api:keep kept-api", as_service="api") == "OK"
    assert redis(stack, "SET node_api:keep kept-node", as_service="node-api") == "OK"
    record.secrets_before = stack.secret_values()
    kind, name = ADDED
    (port,) = free_ports(1)
    result = update_project(stack.path, add_service_edit(kind, name, port))
    assert not result.conflicts, result.conflicts
    stack.services.append({"name": name, "kind": kind, "port": port})
    # `down` (the volume stays) before `up`: the new login changes redis's command, so compose
    # recreates redis, and on the lab's engine (20.10) recreating it beside the new container
    # has twice of four runs left the network's DNS without the service names (`lookup redis:
    # no such host` in every backend, a fresh container included). New networks don't have it.
    stack.down()
    stack.up(build=True)
    record.secrets_after = stack.secret_values()
    return record


def test_an_added_backend_gets_its_own_user_on_the_existing_data(stack, grown):
    name = ADDED[1]
    status, body = stack.get_json(name, "/readyz")
    assert (status, body) == (200, {"status": "ready", "databases": {DB: "ok"}})
    assert secret_mounts(stack, name) == {f"/run/secrets/{DB}_{name}_password"}
    users = redis(stack, "ACL USERS", as_service=ADMIN).split()
    assert sorted(users) == sorted(["default", ADMIN, *(login(b) for b in [*BACKENDS, name])])
    assert redis(stack, "GET api:keep", as_service=name).startswith("NOPERM")
    assert redis(stack, f"SET {login(name)}:x v", as_service=name) == "OK"


def test_adding_a_backend_keeps_the_passwords_and_the_data(stack, grown):
    new = f"{DB}_{ADDED[1]}_password"
    assert set(grown.secrets_after) == {*grown.secrets_before, new}
    assert {k: grown.secrets_after[k] for k in grown.secrets_before} == grown.secrets_before
    # the old logins work with the old passwords, and see their data
    assert redis(stack, "GET api:keep", as_service="api") == "kept-api"
    assert redis(stack, "GET node_api:keep", as_service="node-api") == "kept-node"
    for backend in BACKENDS:
        assert stack.get_json(backend, "/readyz")[0] == 200


def test_the_go_readiness_check_really_logs_in(stack, grown):
    status, body = wrong_password_readiness(stack, ADDED[1])
    assert status == 503, body
    assert "WRONGPASS" in body["databases"][DB], body
