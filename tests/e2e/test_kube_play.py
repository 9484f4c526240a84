"""Kubernetes at run time (issue 12): the default layout's deploy/kubernetes, built by kustomize,
run by `podman kube play` (Podman 4.3, Debian bookworm) on this machine.

No Kubernetes control plane can run here; Podman runs Deployments and PersistentVolumeClaims as
pods, on one machine. The test runs the manifests `kubectl kustomize deploy/kubernetes` builds,
through one documented conversion (`for_podman`, made here and nowhere else), each step for a
thing Podman 4.3 lacks or gets wrong:

- a StatefulSet becomes a Deployment (1 pod, `Recreate`) plus the PersistentVolumeClaim its
  `volumeClaimTemplates` would have made (`data-NAME`, as a StatefulSet names it): kube play
  has no StatefulSet;
- a projected volume of Secrets becomes a host folder holding the same files (key -> path,
  the volume's `defaultMode`, group = the pod's `fsGroup`), and an `emptyDir` a host folder made
  as the kubelet makes one (group `fsGroup`, mode 2777): kube play supports neither projected nor
  secret volumes, turns an emptyDir into a *named volume shared by every pod that has a volume of
  that name* (the api's and the database's `/tmp` were one volume) owned by root, and ignores
  `fsGroup` (postgres: "could not create lock file /var/run/postgresql/...: Permission denied");
- a `configMap` volume mounted with a `subPath` (the frontend's nginx.conf rendered for
  Kubernetes) becomes a host file holding that key, mounted without the subPath: kube play 4.3
  reads the ConfigMap but ignores `subPath` and mounts the whole volume's folder over the file
  ("not a directory");
- `imagePullPolicy: Never` (nothing can be pulled here; the images come from the lab engine by
  `docker save | podman load`);
- no container `ports:`: kube play 4.3 publishes every containerPort on the host's 0.0.0.0
  (a second replica then fails: "bind: address already in use"); pods are reached on their IPs;
- no probes: kube play 4.3 turns an exec probe into a broken CMD-SHELL healthcheck (the argv
  split into words) and schedules health checks by systemd timers (no systemd here). The test
  runs every pod's readinessProbe itself (httpGet to the pod's IP, exec by `podman exec`);
- Services, NetworkPolicies, PodDisruptionBudgets and the Namespace are left out (Podman has no
  such objects). A Service name is resolved by a `hostAliases` entry (one pod's IP): the
  StatefulSets' pods start first, then the other workloads in waves, each after the workloads
  its NetworkPolicy lets it reach (the frontend after the api: nginx resolves its backends'
  names once, at start, as on a cluster where the Services exist first), each pod getting the
  Service names of the pods started before it.

Podman runs with a private store, run root and network configuration under a temporary folder
(removed at the end), and a containers.conf with `default_ulimits`: this sandbox's root lacks
CAP_SYS_RESOURCE, so Podman's default nofile limit (1048576, above the hard limit 20000) fails
with "error setting rlimit type 7 (nofile): operation not permitted", and a nproc limit at the
hard limit with the same error for type 6. Checked: every pod of every workload (2 replicas of
each stateless one) becomes ready by its own readinessProbe (the api's /readyz: postgres
answers, with the password from its Secret's file), the frontend answers on every pod and
proxies /api/ to the api by its Service name (its nginx.conf the ConfigMap's), and a row
written to the database survives `podman kube down` and a new `kube play` (the claim's volume).
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scaffold.api import update_project
from scaffold.edits import set_values
from tests.e2e.conftest import DEFAULT, Lab, Project, ProjectFactory, http_get, unavailable

pytestmark = pytest.mark.e2e

READY_TIMEOUT = 180
FRONTEND = "frontend"
DATABASE = "postgres"
# What Podman needs here (Debian bookworm): catatonit is its pause binary; netavark and
# aardvark-dns give a network whose pods resolve each other's names (.ci/run installs them).
PACKAGES = ("podman", "catatonit", "netavark", "aardvark-dns")
TOOLS = {
    "podman": "/usr/bin/podman",
    "catatonit": "/usr/libexec/podman/catatonit",
    "netavark": "/usr/lib/podman/netavark",
    "aardvark-dns": "/usr/lib/podman/aardvark-dns",
}
# Below this sandbox's hard limits (nofile 20000); see the module docstring.
ULIMITS = ("nofile=16384:16384", "nproc=8192:8192")

Doc = dict[str, Any]


class Podman:
    """`podman` with a private store, run root, tmp dir and network configuration."""

    def __init__(self, base: Path) -> None:
        self.base = base
        for sub in ("root", "run", "tmp", "networks", "volumes"):
            (base / sub).mkdir(parents=True)
        conf = base / "containers.conf"
        conf.write_text(
            "[containers]\n"
            f"default_ulimits = {json.dumps(list(ULIMITS))}\n"
            "[network]\n"
            'network_backend = "netavark"\n'
            f'network_config_dir = "{base / "networks"}"\n'
        )
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        self.argv = [
            TOOLS["podman"],
            "--root",
            str(base / "root"),
            "--runroot",
            str(base / "run"),
            "--tmpdir",
            str(base / "tmp"),
            "--network-config-dir",
            str(base / "networks"),
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ]

    def __call__(
        self, *args: Any, check: bool = True, timeout: float = 300, stdin: Any = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*self.argv, *map(str, args)],
            env=self.env,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"podman {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                f"{proc.stderr[-3000:]}"
            )
        return proc

    def pod_ip(self, pod: str, network: str) -> str:
        infra = self("pod", "inspect", pod, "--format", "{{.InfraContainerID}}").stdout.strip()
        networks = json.loads(
            self("inspect", infra, "--format", "{{json .NetworkSettings.Networks}}").stdout
        )
        return str(networks[network]["IPAddress"])


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def for_podman(
    docs: list[Doc], folders: Path
) -> tuple[list[Doc], list[Doc], list[tuple[Path, int]]]:
    """The conversion of the module docstring: (the StatefulSets' documents, the others', the
    emptyDir folders with their group)."""
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    first: list[Doc] = []
    then: list[Doc] = []
    scratch: list[tuple[Path, int]] = []
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        doc = json.loads(json.dumps(doc))  # a copy: the original keeps its probes
        name, spec = doc["metadata"]["name"], doc["spec"]
        pod = spec["template"]["spec"]
        gid = int(pod.get("securityContext", {}).get("fsGroup", 0))
        for container in pod["containers"]:
            container["imagePullPolicy"] = "Never"
            for key in ("ports", "startupProbe", "livenessProbe", "readinessProbe"):
                container.pop(key, None)
        config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
        for volume in list(pod.get("volumes", [])):
            if "configMap" not in volume:
                continue
            # kube play mounts a configMap volume's folder even with a subPath ("not a
            # directory" over a file): the key's file itself, from a host folder, instead
            data = config_maps[volume["configMap"]["name"]]["data"]
            mode = int(volume["configMap"].get("defaultMode", 0o644))
            pod["volumes"].remove(volume)
            for container in pod["containers"]:
                for mount in container.get("volumeMounts", []):
                    if mount["name"] != volume["name"]:
                        continue
                    key = mount.pop("subPath")
                    path = folders / name / volume["name"] / key
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(data[key])
                    path.chmod(mode)
                    mount["name"] = f"{volume['name']}-{key.replace('.', '-')}"
                    pod["volumes"].append(
                        {"name": mount["name"], "hostPath": {"path": str(path), "type": "File"}}
                    )
        for volume in pod.get("volumes", []):
            folder = folders / name / volume["name"]
            if "emptyDir" in volume:
                scratch.append((folder, gid))  # made afresh by each play, as a pod's is
                del volume["emptyDir"]
            elif "projected" in volume:
                folder.mkdir(parents=True)
                mode = int(volume["projected"].get("defaultMode", 0o644))
                for source in volume["projected"]["sources"]:
                    secret = secrets[source["secret"]["name"]]
                    for item in source["secret"]["items"]:
                        path = folder / item["path"]
                        path.write_bytes(base64.b64decode(secret["data"][item["key"]]))
                        os.chown(path, 0, gid)
                        path.chmod(mode)
                del volume["projected"]
            else:
                continue
            volume["hostPath"] = {"path": str(folder), "type": "Directory"}
        out = then
        if doc["kind"] == "StatefulSet":
            out = first
            for template in spec.pop("volumeClaimTemplates", []):
                claim = f"{template['metadata']['name']}-{name}"
                out.append(
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {"name": claim},
                        "spec": template["spec"],
                    }
                )
                pod.setdefault("volumes", []).append(
                    {
                        "name": template["metadata"]["name"],
                        "persistentVolumeClaim": {"claimName": claim},
                    }
                )
            for key in (
                "serviceName",
                "podManagementPolicy",
                "updateStrategy",
                "persistentVolumeClaimRetentionPolicy",
            ):
                spec.pop(key, None)
            spec["strategy"] = {"type": "Recreate"}
            doc["kind"] = "Deployment"
        out.append(doc)
    return first, then, scratch


def pod_names(doc: Doc) -> list[str]:
    """The pods kube play makes of a Deployment: NAME-pod-0, NAME-pod-1, ..."""
    return [f"{doc['metadata']['name']}-pod-{i}" for i in range(int(doc["spec"]["replicas"]))]


class Cluster:
    """The converted manifests played by Podman on a network of their own."""

    def __init__(self, podman: Podman, docs: list[Doc], network: str) -> None:
        self.podman, self.docs, self.network = podman, docs, network
        self.first, self.then, self.scratch = for_podman(docs, podman.base / "volumes")
        self.files: list[Path] = []
        self.ips: dict[str, str] = {}

    def _callees(self, doc: Doc) -> set[str]:
        """The workloads a workload's pods talk to: its NetworkPolicy's egress peers."""
        policy = next(
            d
            for d in self.docs
            if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == doc["metadata"]["name"]
        )
        return {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for rule in policy["spec"].get("egress", [])
            for peer in rule["to"]
        }

    def play(self) -> None:
        for folder, gid in self.scratch:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            os.chown(folder, 0, gid)
            folder.chmod(0o2777)  # as the kubelet makes an emptyDir of a pod with an fsGroup
        # an existing claim is kept as it is (kube play 4.3 fails on a PersistentVolumeClaim
        # whose volume exists: "volume with name ... already exists"; kubectl apply doesn't)
        volumes = set(self.podman("volume", "ls", "--format", "{{.Name}}").stdout.split())
        first = [
            d
            for d in self.first
            if d["kind"] != "PersistentVolumeClaim" or d["metadata"]["name"] not in volumes
        ]
        self.files = [self.podman.base / "first.yaml"]
        self.files[0].write_text(yaml.safe_dump_all(first, sort_keys=False))
        self.podman("kube", "play", "--network", self.network, self.files[0])
        services = [d for d in self.docs if d["kind"] == "Service"]
        aliases: dict[str, list[str]] = {}
        played: set[str] = set()

        def alias(started: list[Doc]) -> None:
            for doc in started:
                labels = doc["spec"]["template"]["metadata"]["labels"]
                ip = self.podman.pod_ip(pod_names(doc)[0], self.network)
                played.add(labels["app.kubernetes.io/name"])
                for svc in services:
                    if _matches(svc["spec"]["selector"], labels):
                        aliases.setdefault(ip, []).append(svc["metadata"]["name"])

        alias([d for d in self.first if d["kind"] == "Deployment"])
        # The other workloads in waves: each after the ones it talks to, as on a cluster where
        # their Services exist first (the frontend's nginx resolves its backends' names once,
        # at start, and doesn't start without them).
        pending = list(self.then)
        while pending:
            wave = [d for d in pending if self._callees(d) <= played]
            assert wave, f"no order starts {[d['metadata']['name'] for d in pending]}"
            for doc in wave:
                doc["spec"]["template"]["spec"]["hostAliases"] = [
                    {"ip": ip, "hostnames": names} for ip, names in aliases.items()
                ]
            path = self.podman.base / f"then-{len(self.files)}.yaml"
            path.write_text(yaml.safe_dump_all(wave, sort_keys=False))
            self.files.append(path)
            self.podman("kube", "play", "--network", self.network, path)
            alias(wave)
            pending = [d for d in pending if d not in wave]
        self.ips = {
            pod: self.podman.pod_ip(pod, self.network)
            for doc in self.first + self.then
            if doc["kind"] == "Deployment"
            for pod in pod_names(doc)
        }

    def down(self) -> None:
        for path in reversed(self.files):
            if path.exists():
                self.podman("kube", "down", path, check=False, timeout=300)

    def not_ready(self) -> list[str]:
        """Every pod container whose readinessProbe (from the manifests) fails now."""
        failing = []
        for doc in self.docs:
            if doc["kind"] not in ("Deployment", "StatefulSet"):
                continue
            for pod in pod_names(doc):
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    probe = container.get("readinessProbe")
                    assert probe, f"{doc['metadata']['name']}: no readinessProbe"
                    if not self._passes(pod, container["name"], probe):
                        failing.append(f"{pod}/{container['name']}")
        return failing

    def _passes(self, pod: str, container: str, probe: Doc) -> bool:
        if "httpGet" in probe:
            get = probe["httpGet"]
            url = f"http://{self.ips[pod]}:{get['port']}{get.get('path', '/')}"
            try:
                status, _ = http_get(url, timeout=float(probe.get("timeoutSeconds", 3)))
            except OSError:
                return False
            return 200 <= status < 400
        command = probe["exec"]["command"]
        proc = self.podman("exec", f"{pod}-{container}", *command, check=False, timeout=60)
        return proc.returncode == 0

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while failing := self.not_ready():
            if time.monotonic() > deadline:
                logs = {
                    name: self.podman("logs", "--tail", "20", name, check=False).stderr[-1500:]
                    for name in {f.replace("/", "-") for f in failing}
                }
                raise AssertionError(f"not ready after {READY_TIMEOUT} s: {failing}\n{logs}")
            time.sleep(2)

    def diagnostics(self) -> str:
        ps = self.podman("ps", "--all", "--format", "{{.Names}} {{.Status}}", check=False)
        logs = [
            f"--- {name}\n" + self.podman("logs", "--tail", "15", name, check=False).stderr
            for name in ps.stdout.split("\n")
            if name and not name.split(" ")[0].endswith("-infra")
            for name in [name.split(" ")[0]]
        ]
        return ps.stdout + "\n".join(logs)[-5000:]

    def psql(self, sql: str) -> str:
        """SQL as the database's administrator (the password from its Secret's file)."""
        script = (
            'PGPASSWORD="$(cat /run/secrets/postgres_admin_password)" psql -h 127.0.0.1 '
            f'-U postgres -d postgres -v ON_ERROR_STOP=1 -X -A -t -c "{sql}"'
        )
        name = f"{DATABASE}-pod-0-{DATABASE}"
        return self.podman("exec", name, "sh", "-c", script, timeout=120).stdout.strip()


def _tools() -> None:
    missing = [name for name, path in TOOLS.items() if not Path(path).exists()]
    if missing:
        unavailable(
            f"podman kube play needs {', '.join(missing)}: apt-get install "
            f"--no-install-recommends {' '.join(PACKAGES)} (.ci/run does)"
        )
    if shutil.which("kubectl") is None:
        unavailable("kubectl is not installed (kustomize builds deploy/kubernetes; .ci/run does)")


def _kustomize(project: Path) -> list[Doc]:
    proc = subprocess.run(
        ["kubectl", "kustomize", str(project / "deploy" / "kubernetes")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _images(docs: list[Doc]) -> list[str]:
    return sorted(
        {
            c["image"]
            for d in docs
            if d["kind"] in ("Deployment", "StatefulSet")
            for c in d["spec"]["template"]["spec"]["containers"]
        }
    )


@pytest.fixture(scope="module")
def cluster(lab: Lab, make_project: ProjectFactory) -> Iterator[tuple[Project, Cluster]]:
    _tools()
    project = make_project("kube", DEFAULT)
    update_project(project.path, set_values(["targets=compose,kubernetes"]))
    project.build()  # the images the manifests name: compose's `image:` names
    docs = _kustomize(project.path)
    base = Path(tempfile.mkdtemp(prefix="dgpod-"))
    podman = Podman(base)
    network = f"dge2e-{uuid.uuid4().hex[:8]}"
    try:
        save = subprocess.Popen(
            ["docker", "save", *_images(docs)],
            env=lab.env,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        podman("load", "--quiet", stdin=save.stdout, timeout=600)
        assert save.wait(timeout=60) == 0
        # a subnet and a bridge of its own, so that another Podman beside it can't clash
        subnet = f"10.89.{random.randrange(1, 255)}.0/24"
        podman("network", "create", "--subnet", subnet, network)
        config = base / "networks" / f"{network}.json"
        settings = json.loads(config.read_text())
        settings["network_interface"] = f"dgp{uuid.uuid4().hex[:8]}"
        config.write_text(json.dumps(settings))
        kube = Cluster(podman, docs, network)
        started = time.monotonic()
        kube.play()
        kube.wait_ready()
        print(f"kube play: every pod ready after {time.monotonic() - started:.0f} s")
        yield project, kube
    finally:
        podman("pod", "rm", "--all", "--force", "--time", "1", check=False, timeout=600)
        podman("volume", "rm", "--all", "--force", check=False)
        podman("network", "rm", "--force", network, check=False)
        podman("system", "reset", "--force", check=False, timeout=600)
        shutil.rmtree(base, ignore_errors=True)


def test_every_pod_becomes_ready_and_the_frontend_answers(
    cluster: tuple[Project, Cluster],
) -> None:
    _project, kube = cluster
    deployments = {d["metadata"]["name"]: d for d in kube.docs if d["kind"] == "Deployment"}
    running = kube.podman("pod", "ps", "--format", "{{.Name}} {{.Status}}").stdout
    states = dict(line.split(" ", 1) for line in running.splitlines() if line.strip())
    for doc in deployments.values():
        assert doc["spec"]["replicas"] == 2
        for pod in pod_names(doc):
            assert states.get(pod) == "Running", states
    assert kube.not_ready() == []
    frontend = deployments[FRONTEND]
    port = frontend["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    for pod in pod_names(frontend):
        try:
            status, body = http_get(f"http://{kube.ips[pod]}:{port}/")
        except OSError as exc:
            raise AssertionError(f"{pod}: {exc}\n{kube.diagnostics()}") from None
        assert status == 200 and "<html" in body.lower(), (pod, status, body[:300])
        assert http_get(f"http://{kube.ips[pod]}:{port}/healthz")[0] == 200


def test_database_rows_survive_kube_down_and_play(cluster: tuple[Project, Cluster]) -> None:
    _project, kube = cluster
    marker = uuid.uuid4().hex
    kube.psql(f"CREATE TABLE dge2e_kube (v text); INSERT INTO dge2e_kube VALUES ('{marker}')")
    kube.down()
    assert kube.podman("pod", "ps", "--quiet").stdout.strip() == ""
    claims = [d["metadata"]["name"] for d in kube.first if d["kind"] == "PersistentVolumeClaim"]
    volumes = kube.podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
    assert set(claims) <= set(volumes), volumes  # the claims outlive their pods
    kube.play()
    kube.wait_ready()
    assert kube.psql("SELECT v FROM dge2e_kube") == marker


def test_api_through_the_frontend_reaches_the_backend_by_its_service_name(
    cluster: tuple[Project, Cluster],
) -> None:
    """The frontend's nginx.conf is the ConfigMap's (rendered for Kubernetes: no 127.0.0.11
    resolver, `proxy_pass http://api:8000/`), mounted over the image's; nginx resolved the
    Service name at start through the pod's resolver (here a hostAliases entry), and /api/
    reaches the backend, which answers /readyz once its database does."""
    _project, kube = cluster
    frontend = next(
        d for d in kube.docs if d["kind"] == "Deployment" and d["metadata"]["name"] == FRONTEND
    )
    pod_spec = frontend["spec"]["template"]["spec"]
    container = pod_spec["containers"][0]
    port = container["ports"][0]["containerPort"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    volume = next(v for v in pod_spec["volumes"] if v["name"] == "config")
    config_map = next(
        d
        for d in kube.docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume["configMap"]["name"]
    )
    conf = config_map["data"][mount["subPath"]]
    (backend,) = kube._callees(frontend)
    assert "127.0.0.11" not in conf and f"proxy_pass http://{backend}:" in conf
    for pod in pod_names(frontend):
        mounted = kube.podman(
            "exec", f"{pod}-{FRONTEND}", "curl", "-fsS", f"file://{mount['mountPath']}"
        ).stdout
        assert mounted == conf, pod
        try:
            status, body = http_get(f"http://{kube.ips[pod]}:{port}/api/")
            assert status == 200, (pod, status, body[:300])
            assert json.loads(body)["service"] == backend, body[:300]
            status, body = http_get(f"http://{kube.ips[pod]}:{port}/api/{backend}/readyz")
            assert status == 200 and json.loads(body)["status"] == "ready", body[:300]
        except (OSError, AssertionError) as exc:
            raise AssertionError(f"{pod}: {exc}\n{kube.diagnostics()}") from None
