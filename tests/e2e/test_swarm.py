"""Docker Swarm, for real (issue 12): the default layout's deploy/swarm/stack.yml on the lab's
engine switched to swarm mode.

`docker swarm init` on the lab engine (compose keeps working beside it), the project's images
built by `docker compose build` (the names the stack file runs), a node label that pins the
database, then `docker stack deploy`. Checked: every service reaches its replica count with
healthy tasks; a marker written to the database survives `docker service update --force` and
`docker stack rm` + a new deploy; a rolling update of the backend to a new tag while a bounded
request loop (at most 300 requests to 127.0.0.1) goes through the frontend records 0 failures;
the database's credentials are not in the frontend's tasks; a second engine in a network
namespace of its own joins as a worker and the backend's tasks spread over both nodes (see
`second_node`). The same checks run on the all-databases layout in test_swarm_full.py. The
engine is left as found: the swarm is left (`docker swarm leave --force`) only when this module
initialised it.

The lab's kernel has no IPVS (no /proc/net/ip_vs): the swarm's routing mesh and its virtual IPs
can't work there. The stack file keeps both (right for a real swarm); the test deploys it with
one documented change, made here and nowhere else (`lab_stack`): every service resolved by DNS
round robin (`endpoint_mode: dnsrr`) and a published service on its node's port (`mode: host`),
one task of it, as one node can bind a port once.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import socket
import subprocess
import tempfile
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
from tests.e2e.conftest import DEFAULT, Lab, Project, ProjectFactory

pytestmark = pytest.mark.e2e

# Each database kind's own client as its administrator, run in its task by `sh -c` (the
# password from the swarm secret, in the client's environment, never on a command line).
ADMIN_CLIENTS = {
    "postgres": 'PGPASSWORD="$(cat /run/secrets/{db}_admin_password)" psql -h 127.0.0.1 '
    '-U postgres -d postgres -v ON_ERROR_STOP=1 -X -A -t -c "{query}"',
    "mysql": 'MYSQL_PWD="$(cat /run/secrets/{db}_admin_password)" mysql -h 127.0.0.1 -u root '
    '-N -B -e "{query}"',
    "redis": 'REDISCLI_AUTH="$(cat /run/secrets/{db}_admin_password)" redis-cli '
    "--user redis-admin -h 127.0.0.1 {query}",
}
MARKER_WRITE = {
    "postgres": "CREATE TABLE dge2e_swarm (v text); INSERT INTO dge2e_swarm VALUES ('{marker}')",
    "mysql": "CREATE DATABASE dge2e; CREATE TABLE dge2e.swarm (v VARCHAR(64)); "
    "INSERT INTO dge2e.swarm VALUES ('{marker}')",
    "redis": "SET dge2e_swarm {marker}",
}
MARKER_READ = {
    "postgres": "SELECT v FROM dge2e_swarm",
    "mysql": "SELECT v FROM dge2e.swarm",
    "redis": "GET dge2e_swarm",
}

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
            # the tasks on this engine (the manager); a task on another node is in the counts
            # above only once healthy: swarm reports a task with a healthcheck running then
            ids = self.containers(svc["name"])
            states = [
                (c.get("State", {}).get("Health") or {}).get("Status", "none")
                for c in (self.lab.inspect(*ids) if ids else [])
            ]
            if any(s not in ("healthy", "none") for s in states):
                return False
        return True

    def wait_healthy(self) -> None:
        if not _wait(self.healthy, DEPLOY_TIMEOUT, None):
            raise AssertionError(f"stack {self.name} not healthy:\n{self.diagnostics()}")

    def diagnostics(self) -> str:
        ps = self.lab.docker("stack", "ps", "--no-trunc", self.name, check=False, timeout=60)
        return f"{self.replicas()}\n{ps.stdout[-6000:]}"

    def client(self, db: str, query: str, *, check: bool = True) -> str:
        """A query (SQL, or a redis command) as the database's administrator, in its task, with
        the engine's own client and the password from its swarm secret."""
        kind = next(s["kind"] for s in self.project.services if s["name"] == db)
        cid = self.containers(db)[0]
        script = ADMIN_CLIENTS[kind].format(db=db, query=query)
        proc = self.lab.docker("exec", cid, "sh", "-c", script, check=check, timeout=120)
        return proc.stdout.strip()

    def write_marker(self, db: str, marker: str) -> None:
        kind = next(s["kind"] for s in self.project.services if s["name"] == db)
        out = self.client(db, MARKER_WRITE[kind].format(marker=marker))
        assert kind != "redis" or out == "OK", out

    def read_marker(self, db: str) -> str:
        kind = next(s["kind"] for s in self.project.services if s["name"] == db)
        return self.client(db, MARKER_READ[kind])


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


def _named(stack: Stack, predicate: Any) -> list[str]:
    tset = load_template_set("default")
    return [s["name"] for s in stack.project.services if predicate(tset.kinds[s["kind"]])]


def databases(stack: Stack) -> list[str]:
    return _named(stack, lambda kind: kind.data_dir)


def backends(stack: Stack) -> list[str]:
    return _named(stack, lambda kind: kind.unless_proxied)


def test_every_service_reaches_its_replicas_healthy(stack: Stack) -> None:
    replicas = stack.replicas()
    assert replicas[stack.service(BACKEND)].startswith("2/2"), replicas
    assert replicas[stack.service(DATABASE)].startswith("1/1"), replicas
    status, body = stack.project.get_json(FRONTEND, "/api/readyz")  # frontend -> api -> db
    assert status == 200, body


def check_markers_survive(stack: Stack) -> None:
    """A marker written to every database survives `docker service update --force` of it (a new
    task on the same volume) and `docker stack rm` followed by a new deploy."""
    markers = {db: uuid.uuid4().hex for db in databases(stack)}
    for db, marker in markers.items():
        stack.write_marker(db, marker)
    for db in markers:
        before = stack.containers(db)
        stack.lab.docker(
            "service",
            "update",
            "--force",
            "--detach=false",
            stack.service(db),
            timeout=DEPLOY_TIMEOUT,
        )
        stack.wait_healthy()
        assert stack.containers(db) != before, db  # a new task, the same volume
    assert {db: stack.read_marker(db) for db in markers} == markers
    stack.remove()
    stack.deploy()
    stack.wait_healthy()
    assert {db: stack.read_marker(db) for db in markers} == markers


def test_database_marker_survives_force_update_and_redeploy(stack: Stack) -> None:
    check_markers_survive(stack)


def check_rolling_update(stack: Stack, backend: str, path: str) -> None:
    """Change the (fastapi) backend's source, build a new tag, `docker service update --image`
    it while a bounded request loop goes through the frontend to `path`: no request fails."""
    project = stack.project
    main = project.path / backend / "app" / "main.py"
    main.write_text(main.read_text() + "\n# rolled out by tests/e2e/test_swarm.py\n")
    tag = f"{project.name}-{backend}:v2"
    stack.lab.build(project.path / backend, tag)
    service = stack.service(backend)

    def update_state() -> str:
        spec = stack.lab.inspect(service, kind="service")[0]
        return str((spec.get("UpdateStatus") or {}).get("State", ""))

    # detached: the loop below runs while swarm replaces the two tasks one at a time and then
    # watches the last one for `monitor` (30 s); the update is over when its state leaves
    # "updating" (completed, or rollback_* on a failure)
    stack.lab.docker("service", "update", "--detach", "--image", tag, service, timeout=120)
    url = project.url(FRONTEND, path)
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
    print(f"rolling update of {backend} ({path}): {sent} requests in {seconds:.0f} s, 0 failed")


def test_rolling_update_of_the_backend_fails_no_request(stack: Stack) -> None:
    # /readyz answers 200 only while the backend reaches its database
    check_rolling_update(stack, BACKEND, "/api/readyz")


def _copy(lab: Lab, cid: str, path: str, dest: Path) -> bool:
    """Whether the engine finds `path` in the container (copied out; no binary runs in it)."""
    dest.mkdir(parents=True, exist_ok=True)
    return lab.docker("cp", f"{cid}:{path}", dest, check=False, timeout=60).returncode == 0


def check_credentials(stack: Stack, tmp_path: Path) -> None:
    """No database's credentials in the frontend's tasks (no secret, no /run/secrets, no value
    in its spec); every backend has its own login's password for each database it uses, and no
    administrator's password."""
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
    dbs = databases(stack)
    for backend in backends(stack):
        spec = stack.lab.inspect(stack.service(backend), kind="service")[0]
        files = sorted(
            s["File"]["Name"] for s in spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
        )
        assert files and all(f.endswith(f"_{backend}_password") for f in files), files
        # (docker cp sees a secret's mount point, not its content)
        cid = stack.containers(backend)[0]
        for name in files:
            assert _copy(stack.lab, cid, f"/run/secrets/{name}", tmp_path / backend / name)
        for db in dbs:
            admin = f"/run/secrets/{db}_admin_password"
            assert not _copy(stack.lab, cid, admin, tmp_path / backend / f"{db}-admin")
    # the fastapi backend reads its own login's password (its image has python to show it)
    api = stack.containers(BACKEND)[0]
    read = "import sys; print(open(sys.argv[1]).read().strip())"
    for db in dbs:
        name = f"{db}_{BACKEND}_password"
        got = stack.lab.docker("exec", api, "python", "-c", read, f"/run/secrets/{name}")
        assert got.stdout.strip() == values[name]


def test_database_credentials_are_not_in_the_frontend(stack: Stack, tmp_path: Path) -> None:
    check_credentials(stack, tmp_path)


# ------------------------------------------------------------------------- a second node


def _ip(*args: str, netns: str | None = None, check: bool = True) -> None:
    prefix = ["ip", "netns", "exec", netns] if netns else []
    proc = subprocess.run(
        [*prefix, "ip", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {proc.stderr.strip()}")


def _unmount_below(root: Path) -> None:
    """Whatever the node's dockerd left mounted under its folders (it unmounts on a clean stop)."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "--lazy", mount], capture_output=True, check=False)


@contextlib.contextmanager
def second_node(swarm: Lab) -> Iterator[tuple[Lab, str]]:
    """A second engine (Debian's dockerd, as the lab's) in a network namespace of its own, a veth
    pair to this host, joined to the swarm as a worker: (its `docker`, its node ID). Gone at the
    end: left and removed from the swarm, stopped by its PID, namespace, link and folders
    deleted."""
    manager = str(_state(swarm).get("NodeAddr") or "")
    if not manager or manager.startswith("127."):
        pytest.skip(f"the swarm advertises {manager!r}: a second node can't reach it")
    suffix = uuid.uuid4().hex[:8]
    netns, host_if, node_if = f"dge2e-{suffix}", f"dgh{suffix}", f"dgw{suffix}"
    net = f"10.251.{random.randrange(1, 255)}"
    host_ip, node_ip = f"{net}.1", f"{net}.2"
    root = Path(tempfile.mkdtemp(prefix="dge2e-node-", dir="/var/tmp"))
    with contextlib.ExitStack() as undo:
        undo.callback(shutil.rmtree, root, ignore_errors=True)
        undo.callback(_unmount_below, root)
        _ip("netns", "add", netns)
        undo.callback(_ip, "netns", "del", netns, check=False)
        _ip("link", "add", host_if, "type", "veth", "peer", "name", node_if)
        undo.callback(_ip, "link", "del", host_if, check=False)  # its route goes with it
        _ip("link", "set", node_if, "netns", netns)
        _ip("addr", "add", f"{host_ip}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        # VXLAN: the node drops a tunnelled packet whose outer source address differs from the
        # manager's address in its forwarding table (a static entry: "don't migrate static
        # entries"), so packets to the node leave from the manager's advertised address
        _ip("route", "replace", f"{node_ip}/32", "dev", host_if, "src", manager)
        for args in (
            ("addr", "add", f"{node_ip}/30", "dev", node_if),
            ("link", "set", node_if, "up"),
            ("link", "set", "lo", "up"),
            ("route", "add", f"{manager}/32", "via", host_ip),
            # no way out: the node's (failing) pull of an image fails at once, not after DNS
            # timeouts, and the image loaded below is used
            ("route", "add", "unreachable", "default"),
        ):
            _ip(*args, netns=netns)
        config = root / "daemon.json"
        config.write_text(
            json.dumps(
                {
                    "storage-driver": "overlay2",
                    "log-driver": "json-file",
                    "log-opts": {"max-size": "10m", "max-file": "2"},
                }
            )
        )
        sock = root / "docker.sock"
        # nsenter, not `ip netns exec`: that remounts /sys, and dockerd then finds no cgroups
        # ("Devices cgroup isn't mounted")
        with open(root / "dockerd.log", "wb") as log:
            daemon = subprocess.Popen(
                [
                    "nsenter",
                    f"--net=/var/run/netns/{netns}",
                    "/usr/sbin/dockerd",
                    "--config-file",
                    str(config),
                    "--data-root",
                    str(root / "data"),
                    "--exec-root",
                    str(root / "exec"),
                    "--pidfile",
                    str(root / "docker.pid"),
                    "--host",
                    f"unix://{sock}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def stop() -> None:
            daemon.terminate()  # nsenter execs dockerd: this PID is dockerd's
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=30)

        undo.callback(stop)
        node = Lab(dict(swarm.env, DOCKER_HOST=f"unix://{sock}"))

        def answers() -> bool:
            if daemon.poll() is not None:
                raise AssertionError((root / "dockerd.log").read_text()[-3000:])
            return node.docker("info", check=False, timeout=30).returncode == 0

        _wait(answers, 60, "the second node's dockerd did not answer")
        token = swarm.docker("swarm", "join-token", "--quiet", "worker").stdout.strip()
        node.docker(
            "swarm", "join", "--advertise-addr", node_ip, "--token", token, f"{manager}:2377"
        )
        node_id = node.docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
        undo.callback(swarm.docker, "node", "rm", "--force", node_id, check=False)
        undo.callback(node.docker, "swarm", "leave", "--force", check=False)
        yield node, node_id


def test_a_second_node_runs_stateless_replicas(stack: Stack) -> None:
    """A worker joins (a second engine in its own network namespace); the backend's two tasks
    spread over both nodes; the task on the worker becomes healthy and ready:
    it reaches the database on the manager through the internal overlay network (VXLAN between
    the two engines), and the frontend answers through both tasks."""
    swarm = stack.lab
    manager_id = swarm.docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    with second_node(swarm) as (node, node_id):
        service = stack.service(BACKEND)
        image = swarm.inspect(service, kind="service")[0]["Spec"]["TaskTemplate"]
        image = image["ContainerSpec"]["Image"].split("@")[0]
        # no registry here: the image goes to the node as `docker save | docker load`
        save = subprocess.Popen(["docker", "save", image], env=swarm.env, stdout=subprocess.PIPE)
        load = subprocess.run(
            ["docker", "load", "--quiet"],
            env=node.env,
            stdin=save.stdout,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert save.wait(timeout=60) == 0 and load.returncode == 0, load.stderr
        # a new task goes where the service has fewest (the stack file's `spread: node.id`):
        # down to one task (on the manager), then two again. (A forced update would not do:
        # start-first, each new task starts while the old still runs, so both land on the
        # node that had none.)
        for replicas in ("1", "2"):
            swarm.docker(
                "service",
                "update",
                "--replicas",
                replicas,
                "--detach=false",
                service,
                timeout=DEPLOY_TIMEOUT,
            )
        stack.wait_healthy()

        def placed() -> dict[str, str]:
            ids = swarm.docker(
                "service", "ps", "--quiet", "--filter", "desired-state=running", service
            ).stdout.split()
            tasks = json.loads(swarm.docker("inspect", *ids).stdout) if ids else []
            return {t["NodeID"]: t["Status"]["State"] for t in tasks}

        assert _wait(lambda: placed() == {manager_id: "running", node_id: "running"}, 120, None), (
            placed()
        )
        # the worker's task: healthy (its healthcheck) and ready (postgres on the manager
        # answers it over the overlay network)
        cid = node.docker(
            "ps", "--quiet", "--filter", f"label=com.docker.swarm.service.name={service}"
        ).stdout.split()[0]
        assert node.inspect(cid)[0]["State"]["Health"]["Status"] == "healthy"
        port = next(s["port"] for s in stack.project.services if s["name"] == BACKEND)
        probe = (
            "import sys, urllib.request; "
            "print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"
        )
        ready = node.docker(
            "exec", cid, "python", "-c", probe, f"http://127.0.0.1:{port}/readyz", timeout=60
        )
        assert '"ok"' in ready.stdout or "ok" in ready.stdout, ready.stdout
        # through the frontend (DNS round robin over both tasks): every request answered
        for _ in range(20):
            status, body = stack.project.get_json(FRONTEND, "/api/readyz")
            assert status == 200, body
