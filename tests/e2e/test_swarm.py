"""Docker Swarm, for real (issue 12): the default layout's deploy/swarm/stack.yml on the lab's
engine switched to swarm mode.

`docker swarm init` on the lab engine (compose keeps working beside it), the project's images
built by `docker compose build` (the names the stack file runs), a node label that pins the
database, then `docker stack deploy`. Checked: every service reaches its replica count with
healthy tasks; a marker written to the database survives `docker service update --force` and
`docker stack rm` + a new deploy; a rolling update of the backend to a new tag while a bounded
request loop (at most 300 requests to 127.0.0.1) goes through the frontend records 0 failures;
the database's credentials are not in the frontend's tasks. The all-databases layout (every
backend kind, every database kind the lab has a look-alike of) deploys healthy too, every
backend ready through the frontend. The engine is left as found: the
swarm is left (`docker swarm leave --force`) only when this module initialised it.

The lab's kernel has no IPVS (no /proc/net/ip_vs): the swarm's routing mesh and its virtual IPs
can't work there. The stack file keeps both (right for a real swarm); the test deploys it with
one documented change, made here and nowhere else (`lab_stack`): every service resolved by DNS
round robin (`endpoint_mode: dnsrr`) and a published service on its node's port (`mode: host`),
one task of it, as one node can bind a port once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scaffold.api import update_project
from scaffold.edits import set_values
from scaffold.templatesets.loader import load_template_set
from tests.e2e.conftest import DEFAULT, FULL, Lab, Project, ProjectFactory

pytestmark = pytest.mark.e2e

DEPLOY_TIMEOUT = 420
MAX_REQUESTS = 300
DATABASE = "postgres"
BACKEND = "api"
FRONTEND = "frontend"


def _advertise_address() -> str | None:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = s.getsockname()[0]
        return address


def _state(lab: Lab) -> dict[str, Any]:
    out = lab.docker("info", "--format", "{{json .Swarm}}", timeout=60).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def _has_gwbridge(lab: Lab) -> bool:
    names = lab.docker("network", "ls", "--format", "{{.Name}}", timeout=60).stdout.split()
    return "docker_gwbridge" in names


@pytest.fixture(scope="module")
def swarm(lab: Lab) -> Iterator[Lab]:
    """The lab engine in swarm mode; left again at the end if this module switched it."""
    state = _state(lab)
    initialised = False
    gwbridge = _has_gwbridge(lab)
    if state.get("LocalNodeState") == "active":
        if not state.get("ControlAvailable"):
            pytest.skip("the lab engine is a swarm worker, not a manager: can't deploy a stack")
    elif state.get("LocalNodeState") == "inactive":
        address = _advertise_address()
        args = ["swarm", "init"] + (["--advertise-addr", address] if address else [])
        proc = lab.docker(*args, check=False, timeout=120)
        if proc.returncode != 0:
            pytest.skip(f"`docker swarm init` failed on the lab engine: {proc.stderr.strip()}")
        initialised = True
    else:
        pytest.skip(f"the lab engine's swarm state is {state.get('LocalNodeState')!r}")
    try:
        yield lab
    finally:
        if initialised:
            lab.docker("swarm", "leave", "--force", check=False, timeout=120)
            if not gwbridge and _has_gwbridge(lab):  # swarm made it; leaving doesn't remove it
                lab.docker("network", "rm", "docker_gwbridge", check=False, timeout=60)


def lab_stack(project: Project) -> Path:
    """deploy/swarm/stack.yml with the lab's one change (see the module docstring), beside it."""
    source = project.path / "deploy" / "swarm" / "stack.yml"
    stack = yaml.safe_load(source.read_text())
    for svc in stack["services"].values():
        svc["deploy"]["endpoint_mode"] = "dnsrr"
        if svc.get("ports"):
            svc["deploy"]["replicas"] = 1
            for port in svc["ports"]:
                port["mode"] = "host"
    target = source.with_name("lab-stack.yml")
    target.write_text(yaml.safe_dump(stack, sort_keys=False))
    return target


class Stack:
    def __init__(self, lab: Lab, project: Project) -> None:
        self.lab, self.project, self.name = lab, project, project.name
        self.file = lab_stack(project)

    def service(self, svc: str) -> str:
        return f"{self.name}_{svc}"

    def deploy(self) -> None:
        self.lab.docker(
            "stack",
            "deploy",
            "--resolve-image",
            "never",
            "--compose-file",
            self.file,  # its relative paths (../../secrets/...) are taken from its folder
            self.name,
            timeout=300,
        )

    def remove(self) -> None:
        self.lab.docker("stack", "rm", self.name, check=False, timeout=300)
        # `stack rm` returns before the tasks are gone; the volumes and networks wait on them
        _wait(lambda: not self._labelled("ps", "-aq"), 180, "stack rm: tasks still there")
        _wait(lambda: not self._labelled("network", "ls", "-q"), 120, "stack rm: networks left")

    def _labelled(self, *command: str) -> str:
        where = f"label=com.docker.stack.namespace={self.name}"
        return self.lab.docker(*command, "--filter", where, timeout=60).stdout.strip()

    def replicas(self) -> dict[str, str]:
        out = self.lab.docker(
            "service",
            "ls",
            "--filter",
            f"label=com.docker.stack.namespace={self.name}",
            "--format",
            "{{.Name}} {{.Replicas}}",
            timeout=60,
        ).stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if line.strip())

    def containers(self, svc: str) -> list[str]:
        out = self.lab.docker(
            "ps",
            "-q",
            "--filter",
            f"label=com.docker.swarm.service.name={self.service(svc)}",
            timeout=60,
        ).stdout
        return out.split()

    def healthy(self) -> bool:
        """Every service at its replica count, each running task healthy (where it has a check)."""
        replicas = self.replicas()
        if len(replicas) != len(self.project.services):
            return False
        for _name, count in replicas.items():
            running, _, wanted = count.partition(" ")[0].partition("/")
            if running != wanted or running == "0":
                return False
        for svc in self.project.services:
            ids = self.containers(svc["name"])
            states = (
                [
                    (c.get("State", {}).get("Health") or {}).get("Status", "none")
                    for c in self.lab.inspect(*ids)
                ]
                if ids
                else ["missing"]
            )
            if any(s not in ("healthy", "none") for s in states):
                return False
        return True

    def wait_healthy(self) -> None:
        if not _wait(self.healthy, DEPLOY_TIMEOUT, None):
            raise AssertionError(f"stack {self.name} not healthy:\n{self.diagnostics()}")

    def diagnostics(self) -> str:
        ps = self.lab.docker("stack", "ps", "--no-trunc", self.name, check=False, timeout=60)
        return f"{self.replicas()}\n{ps.stdout[-6000:]}"

    def psql(self, sql: str, *, check: bool = True) -> str:
        """SQL as the database's administrator, in its task (password from its swarm secret)."""
        cid = self.containers(DATABASE)[0]
        script = (
            'PGPASSWORD="$(cat /run/secrets/postgres_admin_password)" psql -h 127.0.0.1 '
            f'-U postgres -d postgres -v ON_ERROR_STOP=1 -X -A -t -c "{sql}"'
        )
        proc = self.lab.docker("exec", cid, "sh", "-c", script, check=check, timeout=120)
        return proc.stdout.strip()


def _wait(predicate: Any, timeout: float, message: str | None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(3)
    if message:
        raise AssertionError(message)
    return False


@contextlib.contextmanager
def deployed(swarm: Lab, make_project: ProjectFactory, what: str, specs: Any) -> Iterator[Stack]:
    """A layout generated with the swarm target, built, deployed healthy; removed at the end
    with its volumes, node labels and extra images."""
    project = make_project(what, specs)
    tset = load_template_set("default")
    backends = [s["name"] for s in project.services if tset.kinds[s["kind"]].unless_proxied]
    databases = [s["name"] for s in project.services if tset.kinds[s["kind"]].data_dir]
    # backends as a layout has them: reached through the frontend only (make_project publishes
    # every built service)
    unpublish = [f"services.{name}.publish=" for name in backends]
    update_project(project.path, set_values(["targets=compose,swarm", *unpublish]))
    project.build()  # the images deploy/swarm/stack.yml runs: compose's `image:` names
    node = swarm.docker("info", "--format", "{{.Swarm.NodeID}}", timeout=60).stdout.strip()
    labels = [f"{project.name}.{db}" for db in databases]
    for label in labels:
        swarm.docker("node", "update", "--label-add", f"{label}=data", node, timeout=60)
    stack = Stack(swarm, project)
    try:
        stack.deploy()
        stack.wait_healthy()
        yield stack
    finally:
        stack.remove()
        for db in databases:
            swarm.docker("volume", "rm", "--force", f"{project.name}_{db}-data", check=False)
        for label in labels:
            swarm.docker("node", "update", "--label-rm", label, node, check=False, timeout=60)
        swarm.rm_images(*(f"{project.name}-{name}:v2" for name in backends))


@pytest.fixture(scope="module")
def stack(swarm: Lab, make_project: ProjectFactory) -> Iterator[Stack]:
    """The default layout (react + fastapi + postgres) on the swarm."""
    with deployed(swarm, make_project, "swarm", DEFAULT) as deployed_stack:
        yield deployed_stack


def test_every_kind_the_lab_runs_deploys_healthy(swarm: Lab, make_project: ProjectFactory) -> None:
    """The all-databases layout (every backend kind, every database kind with a look-alike): each
    service at its replica count, healthy, and every backend ready (its databases answer)
    through the frontend."""
    with deployed(swarm, make_project, "swarmfull", FULL) as full:
        replicas = full.replicas()
        assert all(
            r.split(" ")[0].split("/")[0] == r.split(" ")[0].split("/")[1]
            for r in replicas.values()
        ), replicas
        tset = load_template_set("default")
        backends = [
            s["name"] for s in full.project.services if tset.kinds[s["kind"]].unless_proxied
        ]
        for i, name in enumerate(backends):
            path = "/api/readyz" if i == 0 else f"/api/{name}/readyz"
            status, body = full.project.get_json(FRONTEND, path)
            assert status == 200, (name, body)


def test_every_service_reaches_its_replicas_healthy(stack: Stack) -> None:
    replicas = stack.replicas()
    assert replicas[stack.service(BACKEND)].startswith("2/2"), replicas
    assert replicas[stack.service(DATABASE)].startswith("1/1"), replicas
    status, body = stack.project.get_json(FRONTEND, "/api/readyz")  # frontend -> api -> db
    assert status == 200, body


def test_database_marker_survives_force_update_and_redeploy(stack: Stack) -> None:
    marker = uuid.uuid4().hex
    stack.psql(f"CREATE TABLE dge2e_swarm (v text); INSERT INTO dge2e_swarm VALUES ('{marker}')")
    before = stack.containers(DATABASE)
    stack.lab.docker(
        "service",
        "update",
        "--force",
        "--detach=false",
        stack.service(DATABASE),
        timeout=DEPLOY_TIMEOUT,
    )
    stack.wait_healthy()
    assert stack.containers(DATABASE) != before  # a new task, the same volume
    assert stack.psql("SELECT v FROM dge2e_swarm") == marker
    stack.remove()
    stack.deploy()
    stack.wait_healthy()
    assert stack.psql("SELECT v FROM dge2e_swarm") == marker


def test_rolling_update_of_the_backend_fails_no_request(stack: Stack) -> None:
    project = stack.project
    main = project.path / BACKEND / "app" / "main.py"
    main.write_text(main.read_text() + "\n# rolled out by tests/e2e/test_swarm.py\n")
    tag = f"{project.name}-{BACKEND}:v2"
    stack.lab.build(project.path / BACKEND, tag)
    service = stack.service(BACKEND)

    def update_state() -> str:
        spec = stack.lab.inspect(service, kind="service")[0]
        return str((spec.get("UpdateStatus") or {}).get("State", ""))

    # detached: the loop below runs while swarm replaces the two tasks one at a time and then
    # watches the last one for `monitor` (30 s); the update is over when its state leaves
    # "updating" (completed, or rollback_* on a failure)
    stack.lab.docker("service", "update", "--detach", "--image", tag, service, timeout=120)
    url = project.url(FRONTEND, "/api/")
    failures: list[str] = []
    sent, state, started = 0, "updating", time.monotonic()
    while sent < MAX_REQUESTS:
        sent += 1
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                if resp.status != 200:
                    failures.append(f"{resp.status}")
        except (urllib.error.URLError, OSError) as exc:
            failures.append(str(exc))
        if sent % 10 == 0:
            state = update_state()
            if state != "updating":
                break
        time.sleep(0.3)
    seconds = time.monotonic() - started
    assert _wait(lambda: update_state() != "updating", DEPLOY_TIMEOUT, None)
    assert update_state() == "completed", stack.diagnostics()
    spec = stack.lab.inspect(service, kind="service")[0]
    assert spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].startswith(tag)
    assert state == "completed", (
        f"{sent} requests ran out before the update ended ({seconds:.0f} s)"
    )
    assert failures == [], f"{len(failures)} of {sent} requests failed: {failures[:5]}"
    print(f"rolling update: {sent} requests in {seconds:.0f} s, 0 failed")


def _copy(lab: Lab, cid: str, path: str, dest: Path) -> bool:
    """Whether the engine finds `path` in the container (copied out; no binary runs in it)."""
    dest.mkdir(parents=True, exist_ok=True)
    return lab.docker("cp", f"{cid}:{path}", dest, check=False, timeout=60).returncode == 0


def test_database_credentials_are_not_in_the_frontend(stack: Stack, tmp_path: Path) -> None:
    values = {
        p.name: p.read_text().strip()
        for p in (stack.project.path / "secrets").iterdir()
        if "." not in p.name
    }
    frontend = stack.lab.inspect(stack.service(FRONTEND), kind="service")[0]
    container_spec = frontend["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert not container_spec.get("Secrets")
    text = json.dumps(container_spec)
    assert not any(value in text for value in values.values())
    for i, cid in enumerate(stack.containers(FRONTEND)):
        # no /run/secrets at all in the frontend's tasks
        assert not _copy(stack.lab, cid, "/run/secrets", tmp_path / f"frontend-{i}")
    # the backend gets its own login's password, not the administrator's
    api = stack.containers(BACKEND)[0]
    assert _copy(stack.lab, api, "/run/secrets/postgres_api_password", tmp_path / "api")
    # (docker cp sees the secret's mount point, not its content: read it in the task)
    read = "import sys; print(open(sys.argv[1]).read().strip())"
    got = stack.lab.docker(
        "exec", api, "python", "-c", read, "/run/secrets/postgres_api_password", timeout=60
    )
    assert got.stdout.strip() == values["postgres_api_password"]
    assert not _copy(stack.lab, api, "/run/secrets/postgres_admin_password", tmp_path / "api2")
