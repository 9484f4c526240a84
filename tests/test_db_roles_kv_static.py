"""Per-service logins to mongodb and redis, as generated (issue 11, section 1).

MongoDB has no image on the engine lab (no Debian package of the server), so its login setup
is checked here: what each container mounts and is told, and the generated script itself. The
shell part must parse (`sh -n`); its mongosh parts run in node against a recording stand-in for
mongosh's `db`, so their decisions are checked: which server counts as the real one (the first
start's temporary mongod has no access control), whom they log in as, with which password, and
that they only ever create the users that are missing. Redis's ACL is attacked on the lab
(tests/e2e/test_db_roles_kv.py); its generated text is checked here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from projects import generate

LAYOUT = {
    "project": "kv",
    "services": [
        {"name": "api", "kind": "fastapi"},
        {"name": "node-api", "kind": "express"},
        {"name": "mongodb", "kind": "mongodb"},
        {"name": "redis", "kind": "redis"},
    ],
}
BACKENDS = {"api": "api", "node-api": "node_api"}  # service -> login

# The commands no client's redis user may run, as the issue and the kind list them.
DENIED = [
    *("config", "flushall", "flushdb", "debug", "module", "shutdown", "acl", "keys", "save"),
    *("bgsave", "bgrewriteaof", "replicaof", "slaveof", "monitor", "sync", "psync", "failover"),
    *("cluster", "migrate", "restore", "scan", "randomkey", "pubsub", "function"),
]

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("kv") / "kv"
    generate(target, LAYOUT)
    return target


@pytest.fixture(scope="module")
def compose(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((project / "docker-compose.yml").read_text())
    return data


def script(compose: dict[str, Any], service: str) -> str:
    """The shell script of a database's command, as the container's `sh -c` gets it (compose
    turns `$$` into `$`)."""
    command = compose["services"][service]["command"]
    assert command[:2] == ["sh", "-ec"], command
    return str(command[2]).replace("$$", "$")


# ------------------------------------------------------------------- mounts and environment


@pytest.mark.parametrize("db", ["mongodb", "redis"])
def test_each_backend_mounts_its_own_password_and_is_told_its_login(compose, db):
    for backend, login in BACKENDS.items():
        svc = compose["services"][backend]
        own = f"{db}_{backend}_password"
        assert [s for s in svc["secrets"] if s.startswith(f"{db}_")] == [own]
        assert svc["environment"][f"{db.upper()}_USER"] == login
        assert svc["environment"][f"{db.upper()}_PASSWORD_FILE"] == f"/run/secrets/{own}"
    if db == "mongodb":
        assert compose["services"]["api"]["environment"]["MONGODB_DATABASE"] == "api"
    else:
        assert compose["services"]["node-api"]["environment"]["REDIS_PREFIX"] == "node_api:"


@pytest.mark.parametrize("db", ["mongodb", "redis"])
def test_only_the_database_mounts_the_administrator_password(compose, project, db):
    admin = f"{db}_admin_password"
    for name, svc in compose["services"].items():
        assert (admin in svc.get("secrets", [])) == (name == db), name
    assert sorted(compose["services"][db]["secrets"]) == sorted(
        [admin, *(f"{db}_{b}_password" for b in BACKENDS)]
    )
    assert (project / "secrets" / admin).read_text().strip()


def test_mongodb_administrator_is_root_from_a_file(compose):
    env = compose["services"]["mongodb"]["environment"]
    assert env["MONGO_INITDB_ROOT_USERNAME"] == "root"
    assert env["MONGO_INITDB_ROOT_PASSWORD_FILE"] == "/run/secrets/mongodb_admin_password"
    assert not any("PASSWORD" in k and not k.endswith("_FILE") for k in env)
    assert compose["services"]["mongodb"]["init"] is True


@pytest.mark.parametrize("db", ["mongodb", "redis"])
def test_no_password_option_on_a_command_line(compose, db):
    svc = compose["services"][db]
    text = script(compose, db) + "\n".join(svc["healthcheck"]["test"])
    assert "requirepass" not in text
    # a password option (redis-cli's `-p` is the port: a number)
    assert not re.search(r"(^|\s)(-p|-a|-u|--pass|--password)(\s+|=)(?!\d)", text), text
    # the secret files are read by the tools (or the shell's builtins), never expanded into argv
    # of another program: every `cat` of a secret is inside a command substitution
    for line in text.splitlines():
        if "/run/secrets/" in line and "cat " in line:
            assert re.search(r"\$\(cat [\"']?(\$1|/run/secrets/\S+?)[\"']?\)", line), line


# ------------------------------------------------------------------ the mongodb login setup


def mongosh_parts(compose: dict[str, Any]) -> tuple[str, str]:
    """(the probe that waits for the real server, the login script)."""
    text = script(compose, "mongodb")
    probe = re.search(r"--eval '([^']*)'", text)
    assert probe, text
    js = text.split("<<'JS'\n", 1)[1].split("\nJS\n", 1)[0]
    return probe.group(1), js


def test_mongodb_setup_is_valid_shell_and_runs_detached_before_the_server(compose):
    text = script(compose, "mongodb")
    subprocess.run(["sh", "-n", "-c", text], check=True)
    assert "( (logins || echo" in text
    assert text.rstrip().endswith("exec docker-entrypoint.sh mongod")
    assert "touch /tmp/logins-ready" in text
    assert compose["services"]["mongodb"]["healthcheck"]["test"][1].startswith(
        "test -e /tmp/logins-ready && "
    )


# mongosh's `db` and `require` stand-ins: every call recorded, the real code path unchanged.
HARNESS = r"""
const vm = require('vm');
const [code, files, existing, adminFails] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const calls = [];
let exitCode = null;
const fakeFs = {readFileSync(path, encoding) {
  calls.push(['read', path, encoding]);
  if (!(path in files)) throw new Error('ENOENT: ' + path);
  return files[path];
}};
const db = {
  adminCommand(cmd) {
    calls.push(['adminCommand', Object.keys(cmd)[0]]);
    if (adminFails !== null) { const e = new Error('refused'); e.code = adminFails; throw e; }
    return {ok: 1};
  },
  getSiblingDB(name) {
    return {
      auth(user, pwd) { calls.push(['auth', name, user, pwd]); return {ok: 1}; },
      getUser(user) { return existing.includes(name + '.' + user) ? {user} : null; },
      createUser(doc) { calls.push(['createUser', name, doc]); },
      updateUser() { calls.push(['updateUser']); },
      changeUserPassword() { calls.push(['changeUserPassword']); },
    };
  },
};
const require_ = (m) => { if (m !== 'fs') throw new Error('require ' + m); return fakeFs; };
class Quit extends Error {}
const quit = (c) => { exitCode = c; throw new Quit(); };
try { vm.runInNewContext(code, {require: require_, db, quit}); }
catch (e) { if (!(e instanceof Quit)) throw e; }
console.log(JSON.stringify({calls, exitCode}));
"""


def run_js(code: str, files: dict[str, str], existing: list[str], admin_fails: int | None) -> Any:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, "-e", HARNESS],
        input=json.dumps([code, files, existing, admin_fails]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(proc.stdout)


@needs_node
@pytest.mark.parametrize(
    ("refusal", "real"),
    [
        (13, True),  # Unauthorized: access control is on, the real server
        (None, False),  # answered: the temporary init server, without access control
        (11600, False),  # any other failure (shutting down...): keep waiting
    ],
)
def test_mongodb_setup_waits_for_the_server_with_access_control(compose, refusal, real):
    probe, _ = mongosh_parts(compose)
    result = run_js(probe, {}, [], refusal)
    assert result["calls"] == [["adminCommand", "listDatabases"]]
    assert result["exitCode"] == (0 if real else 1)


SECRETS = {
    "/run/secrets/mongodb_admin_password": "admin-pw\n",
    "/run/secrets/mongodb_api_password": "api pw with spaces\n",
    "/run/secrets/mongodb_node-api_password": "node-pw",
}


def user(login: str, password: str) -> dict[str, Any]:
    """A createUser document: the login in its own database, readWrite there only."""
    return {"user": login, "pwd": password, "roles": [{"role": "readWrite", "db": login}]}


@needs_node
def test_mongodb_setup_creates_each_missing_user_in_its_own_database(compose):
    _, js = mongosh_parts(compose)
    calls = run_js(js, SECRETS, [], None)["calls"]
    assert ["auth", "admin", "root", "admin-pw"] in calls
    created = [c[1:] for c in calls if c[0] == "createUser"]
    assert created == [
        ["api", user("api", "api pw with spaces")],
        ["node_api", user("node_api", "node-pw")],
    ]
    # it logs in before it creates anything
    login_at = calls.index(["auth", "admin", "root", "admin-pw"])
    assert login_at < calls.index(["createUser", *created[0]])


@needs_node
def test_mongodb_setup_never_changes_an_existing_user(compose):
    _, js = mongosh_parts(compose)
    calls = run_js(js, SECRETS, ["api.api"], None)["calls"]
    assert [c[1] for c in calls if c[0] == "createUser"] == ["node_api"]
    assert not [c for c in calls if c[0] in ("updateUser", "changeUserPassword")]
    # the existing user's password file is not even read
    assert ["read", "/run/secrets/mongodb_api_password", "utf8"] not in calls


@needs_node
def test_mongodb_setup_fails_without_the_administrator_password(compose):
    """A volume initialised before (another administrator): the setup fails, loudly."""
    _, js = mongosh_parts(compose)
    files = {k: v for k, v in SECRETS.items() if "admin" not in k}
    proc = subprocess.run(
        [NODE or "node", "-e", HARNESS],
        input=json.dumps([js, files, [], None]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "ENOENT" in proc.stderr


# ---------------------------------------------------------------------------- the redis ACL


def test_redis_acl_confines_each_client(compose):
    text = script(compose, "redis")
    subprocess.run(["sh", "-n", "-c", text], check=True)
    assert "printf 'user default off\\n'" in text
    for login in BACKENDS.values():
        (line,) = [ln for ln in text.splitlines() if f"'user {login} on " in ln]
        rules = line.split("'")[1].removesuffix("\\n").split()
        assert rules[:4] == ["user", login, "on", "%s"]  # the password's hash, from the file
        assert f"~{login}:*" in rules and f"&{login}:*" in rules
        assert [r for r in rules if r.startswith(("~", "&"))] == [f"~{login}:*", f"&{login}:*"]
        assert rules.index("+@all") < rules.index("-@dangerous") < rules.index("-@admin")
        for command in DENIED:
            assert f"-{command}" in rules, command
        assert "-script|flush" in rules


def test_readme_tells_each_client_its_login_and_how_to_recover_an_old_volume(project):
    readme = (project / "README.md").read_text()
    assert "### Logins of `mongodb`" in readme and "### Logins of `redis`" in readme
    assert "- `node-api`: user and database `node_api`" in readme
    assert "- `node-api`: user `node_api`, prefix `node_api:`" in readme
    assert "A volume initialised before per-service users" in readme
    assert "Data from before per-service users" in readme
    assert "{{" not in readme and "{%" not in readme
