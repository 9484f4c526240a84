"""Fixtures of the end-to-end suite: generated projects built and run on a real Docker engine.

Every test here is marked `e2e` and needs the lab (tests/e2e/lab: a private dockerd, Compose v2
and local look-alikes of the official base images). Without an engine the whole directory is
skipped with one line of reason; with DOCKERGEN_E2E_REQUIRED=1 (set by .ci/run) it fails instead.

Projects are generated with the library API (`--no-syntax-line`, never `--pull`), under unique
compose project names (`dge2e-<what>-<random>`) and on free 127.0.0.1 ports, so that several runs
can share one engine. Images are built once per session; every project is torn down (`down -v
--rmi local`) by a finalizer, whatever happened.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from labutil import docker as lab_docker  # noqa: E402
from labutil import lab_env  # noqa: E402
from projects import E2E_DEFAULT, built_kinds, e2e_full_layout  # noqa: E402

from scaffold import layout as layouts  # noqa: E402
from scaffold.api import new_project  # noqa: E402
from scaffold.templatesets.loader import load_template_set  # noqa: E402

REQUIRED = os.environ.get("DOCKERGEN_E2E_REQUIRED", "").strip().lower() not in (
    "",
    "0",
    "false",
    "no",
)
PREFIX = "dge2e"

# How long a whole stack may take to become healthy (the generated healthchecks run every 10 s;
# a cold mysql initialises in 10-20 s).
UP_TIMEOUT = 240

# Created by the engine in every container, whatever the image holds.
ENGINE_FILES = {
    "",
    ".",
    ".dockerenv",
    "dev",
    "etc",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "proc",
    "sys",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an e2e test, whether or not its module says so."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def unavailable(reason: str) -> None:
    """Skip (one line of reason), or fail when the e2e tests are required to run (CI)."""
    if REQUIRED:
        pytest.fail(
            f"{reason} (DOCKERGEN_E2E_REQUIRED=1: the e2e tests must run, not skip)", pytrace=False
        )
    pytest.skip(reason)


# ------------------------------------------------------------------------------------ the engine


# Every image this session builds with `docker build` carries this label, compose-built ones
# com.docker.compose.project=<project>: removed at the end, superseded (untagged) versions too.
SESSION_LABEL = "org.dockergen.e2e.session"
SESSION = uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Lab:
    """The engine: `docker ...` with the lab's environment (DOCKER_HOST, PATH, DOCKER_CONFIG)."""

    env: dict[str, str]

    def docker(
        self, *args: Any, check: bool = True, timeout: float = 600, input: str | None = None
    ) -> subprocess.CompletedProcess:
        return lab_docker(self.env, *args, check=check, timeout=timeout, input=input)

    def rm_images(self, *tags: str) -> None:
        if tags:
            self.docker("image", "rm", "--force", *tags, check=False, timeout=120)

    def rm_labelled_images(self, label: str) -> None:
        """Every image with this label (`key=value`), tagged or not."""
        ids = self.docker("images", "--all", "--quiet", "--filter", f"label={label}", check=False)
        self.rm_images(*sorted(set(ids.stdout.split())))

    def build(
        self,
        context: Path,
        tag: str,
        *args: Any,
        dockerfile: Path | None = None,
        timeout: float = 900,
    ) -> float:
        """`docker build` with BuildKit (the lab's /usr/bin/docker); returns the seconds taken."""
        cmd: list[Any] = [
            "build",
            "--progress=plain",
            "--tag",
            tag,
            "--label",
            f"{SESSION_LABEL}={SESSION}",
        ]
        cmd += args
        if dockerfile is not None:
            cmd += ["--file", dockerfile]
        t0 = time.monotonic()
        self.docker(*cmd, context, timeout=timeout)
        return time.monotonic() - t0

    def inspect(self, *names: str, kind: str = "container") -> list[dict[str, Any]]:
        return json.loads(self.docker(kind, "inspect", *names, timeout=60).stdout)

    def names_in_image(self, image: str) -> dict[str, tarfile.TarInfo]:
        """Every path of an image's (flattened) filesystem, from `docker export` of a container
        created but never started: works for images without a shell (scratch). The engine's own
        per-container files (/.dockerenv, /dev, /etc/hosts, ...) are left out."""
        cid = self.docker("create", image, timeout=120).stdout.strip()
        try:
            proc = subprocess.Popen(
                ["docker", "export", cid],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
            assert proc.stdout is not None
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                names = {m.name.removeprefix("./").rstrip("/"): m for m in tar}
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"docker export {image} failed: {err.decode()[-2000:]}"
            return {
                n: m for n, m in names.items() if n not in ENGINE_FILES and not n.startswith("dev/")
            }
        finally:
            self.docker("rm", "--force", cid, check=False, timeout=60)


_probe: list[Lab | str] = []


def probe_engine() -> Lab | str:
    """The lab's engine, or why there is none (looked up once per session)."""
    if not _probe:
        env = lab_env()
        if env is None:
            _probe.append(
                "no Docker engine for the e2e tests: start the lab with "
                'eval "$(tests/e2e/lab up)" (as root)'
            )
        else:
            lab = Lab(env)
            compose = lab.docker("compose", "version", "--short", check=False, timeout=30)
            version = compose.stdout.strip().lstrip("v")
            _probe.append(
                lab
                if compose.returncode == 0 and version.startswith("2")
                else f"the Docker engine has no Compose v2 plugin ({version or 'missing'})"
            )
    return _probe[0]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture of an e2e test: skip (or fail) from this one place, so that the
    skips fold into one line of the summary."""
    if HERE in Path(str(item.path)).resolve().parents:
        found = probe_engine()
        if isinstance(found, str):
            unavailable(found)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    found = probe_engine()
    if isinstance(found, str):
        unavailable(found)
    assert isinstance(found, Lab)
    yield found
    found.rm_labelled_images(f"{SESSION_LABEL}={SESSION}")


# ------------------------------------------------------------------------------------ projects


_handed_out: set[int] = set()


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on right now (the engine publishes on the same host's 127.0.0.1),
    never the same one twice in a session (a project's stack may come up after another's)."""
    socks = []
    try:
        while len(socks) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] in _handed_out:
                s.close()
                continue
            socks.append(s)
        ports = [s.getsockname()[1] for s in socks]
        _handed_out.update(ports)
        return ports
    finally:
        for s in socks:
            s.close()


def unique(what: str) -> str:
    return f"{PREFIX}-{what}-{uuid.uuid4().hex[:8]}"


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    """(status, body) of a GET; an HTTP error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@dataclass
class Project:
    """A generated project and its compose stack on the lab's engine."""

    lab: Lab
    path: Path
    name: str
    services: list[dict[str, Any]]
    built: bool = False

    # ---- layout
    def port(self, service: str) -> int:
        return next(s["port"] for s in self.services if s["name"] == service)

    def named(self, category: str) -> list[str]:
        tset = load_template_set("default")
        return [s["name"] for s in self.services if tset.kinds[s["kind"]].category == category]

    def image(self, service: str) -> str:
        """The tag compose gives a built service's image."""
        return f"{self.name}-{service}"

    def secret(self, name: str) -> str:
        return (self.path / "secrets" / name).read_text(encoding="utf-8").rstrip("\r\n")

    def secret_values(self) -> dict[str, str]:
        directory = self.path / "secrets"
        names = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []
        return {name: self.secret(name) for name in names}

    def url(self, service: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port(service)}{path}"

    def get(self, service: str, path: str = "/") -> tuple[int, str]:
        """GET a published service on 127.0.0.1: (status, body)."""
        return http_get(self.url(service, path))

    def get_json(self, service: str, path: str = "/") -> tuple[int, Any]:
        status, body = self.get(service, path)
        try:
            return status, json.loads(body)
        except json.JSONDecodeError:
            raise AssertionError(
                f"GET {self.url(service, path)}: {status}, not JSON: {body[:500]}"
            ) from None

    # ---- compose
    def compose(
        self, *args: Any, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess:
        return self.lab.docker(
            "compose",
            "--project-directory",
            self.path,
            "--project-name",
            self.name,
            *args,
            check=check,
            timeout=timeout,
        )

    def build(self) -> None:
        if not self.built:
            self.compose("build", timeout=1500)
            self.built = True

    def up(self, *services: str, build: bool = False) -> subprocess.CompletedProcess:
        """`up --detach --wait` (every listed service, or all, healthy); fail with logs if not."""
        args = ["up", "--detach", "--wait", "--wait-timeout", str(UP_TIMEOUT)]
        if build:
            args.append("--build")
        proc = self.compose(*args, *services, check=False, timeout=UP_TIMEOUT + 900)
        if proc.returncode != 0:
            raise AssertionError(
                f"docker compose up failed ({proc.returncode}) for {self.name}:\n"
                f"{proc.stderr[-3000:]}\n{self.diagnostics()}"
            )
        self.built = True
        return proc

    def down(self, *, volumes: bool = False, timeout: int = 5) -> None:
        self.compose(
            "down",
            "--timeout",
            str(timeout),
            "--remove-orphans",
            *(["--volumes"] if volumes else []),
            timeout=300,
        )

    def exec(self, service: str, script: str, *, check: bool = True) -> subprocess.CompletedProcess:
        """`docker compose exec -T SERVICE sh -c SCRIPT` as the service's own user."""
        return self.compose("exec", "-T", service, "sh", "-c", script, check=check, timeout=120)

    def exec_argv(
        self, service: str, *argv: str, check: bool = True
    ) -> subprocess.CompletedProcess:
        """`docker compose exec -T SERVICE ARGV...`: for images with no shell (every built kind)."""
        return self.compose("exec", "-T", service, *argv, check=check, timeout=120)

    def container(self, service: str) -> str:
        cid = self.compose("ps", "--all", "--quiet", service, timeout=60).stdout.strip()
        assert cid, f"{self.name}: no container for {service}"
        return cid.splitlines()[0]

    def volumes(self) -> list[str]:
        out = self.lab.docker(
            "volume",
            "ls",
            "--quiet",
            "--filter",
            f"label=com.docker.compose.project={self.name}",
            timeout=60,
        ).stdout
        return sorted(out.split())

    def diagnostics(self) -> str:
        ps = self.compose("ps", "--all", check=False, timeout=60)
        logs = self.compose("logs", "--no-color", "--tail", "25", check=False, timeout=60)
        return f"--- compose ps\n{ps.stdout}\n--- compose logs (tail)\n{logs.stdout[-6000:]}"

    def destroy(self) -> None:
        """Containers, networks, volumes and the images compose built: all gone."""
        self.compose(
            "down",
            "--volumes",
            "--remove-orphans",
            "--rmi",
            "local",
            "--timeout",
            "1",
            check=False,
            timeout=300,
        )
        # earlier builds of the same services (superseded by a rebuild: untagged, not removed)
        self.lab.rm_labelled_images(f"com.docker.compose.project={self.name}")


ProjectFactory = Callable[..., Project]


@pytest.fixture(scope="session")
def make_project(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProjectFactory]:
    """make_project("what", [(kind, name), ...]) -> a generated Project (not built).

    Every built service (frontend, backend) gets its own free port. The finalizer destroys every
    project made, even when a test or a build failed.
    """
    made: list[Project] = []
    default = load_template_set("default")

    def make(what: str, specs: list[tuple[str, str]], template: str | None = None) -> Project:
        """`template`: another set (a folder) than the bundled default."""
        name = unique(what)
        tset = load_template_set(template) if template else default
        published = [s for s in specs if tset.kinds[s[0]].published]
        ports = iter(free_ports(len(published)))
        services = []
        for kind, svc in specs:
            entry: dict[str, Any] = {"name": svc, "kind": kind}
            if tset.kinds[kind].published:
                # published in so many words: a backend behind a frontend isn't by default, and
                # these tests reach every built service on its own host port
                entry["port"] = entry["publish"] = next(ports)
            services.append(entry)
        data: dict[str, Any] = {
            "project": name,
            "options": {"syntax_line": False},
            "services": services,
        }
        if template:
            data["template"] = template
        target = tmp_path_factory.mktemp(what) / name
        result = new_project(target, layouts.parse(data))
        normalised = [
            {"name": s.name, "kind": s.kind, "port": s.port} for s in result.layout.services
        ]
        project = Project(lab=lab, path=target, name=name, services=normalised)
        made.append(project)
        return project

    yield make
    for project in made:
        project.destroy()


# The all-databases layout, from the set: the default layout, then every other backend kind and
# every database kind the lab has a look-alike of (MongoDB has no Debian package, hence none: its
# output is checked statically only).
DEFAULT = E2E_DEFAULT  # `dockergen new --defaults`
FULL = e2e_full_layout(load_template_set("default"))
# Every built kind the whole stack leaves out (the other frontends), so each gets an image.
STATIC = [
    (kind, kind)
    for kind in built_kinds(load_template_set("default"))
    if kind not in {k for k, _ in FULL}
]


@pytest.fixture(scope="session")
def full_project(make_project: ProjectFactory) -> Project:
    """The all-databases layout, its images built once for the session (compose build)."""
    project = make_project("full", FULL)
    project.build()
    return project


@pytest.fixture(scope="session")
def default_project(make_project: ProjectFactory) -> Project:
    """The default layout (react + fastapi + postgres), not built yet."""
    return make_project("default", DEFAULT)


@pytest.fixture(scope="session")
def static_project(make_project: ProjectFactory) -> Project:
    project = make_project("static", STATIC)
    project.build()
    return project


@pytest.fixture(scope="session")
def kind_images(full_project: Project, static_project: Project) -> dict[str, tuple[Project, str]]:
    """kind -> (project, service) for every built kind of the default set."""
    found: dict[str, tuple[Project, str]] = {}
    for project in (full_project, static_project):
        for svc in project.services:
            if (
                svc["kind"] not in found
                and load_template_set("default").kinds[svc["kind"]].category != "database"
            ):
                found[svc["kind"]] = (project, svc["name"])
    return found
