"""`dockergen verify`: build, start and health-check a project on the local engine.

Static checks say a Dockerfile looks right; this shows it is right on the user's machine: every
image builds, every container becomes healthy, and the table shows what actually runs (image
size, runtime user).

verify never touches the user's own stack (the one `docker compose up` starts in the project). It
runs a copy of it under a compose project name of its own, `<project>-verify-<6 hex>`: unique per
run, so two verifies can share one engine (two CI jobs of one repository, say), and every
container, network, volume and image it makes carries that name and nothing of the user's. A
generated override file, merged after the project's compose files, takes away what would still be
shared: published host ports (the user's stack holds them), fixed `container_name`s, explicitly
named or external volumes and networks (the user's data and the user's service aliases), and
explicit image tags of built services. Compose applies the `!reset` tags this needs from 2.24 on;
older versions are refused with one line, and the merged model is checked before anything runs.

At the end verify removes only what it made: its containers, networks, volumes (they are its own:
a fresh database every run) and the images it tagged. The layers stay in the build cache, so the
next run builds as fast as if the images had been kept, and tags don't pile up, one set per run.
"""

from __future__ import annotations

import json
import secrets
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold.conflicts import check_project
from scaffold.engine import Engine, find_engine, last_line, parse_ps, version_tuple
from scaffold.errors import Aborted, CheckFailed, EngineError, LayoutError
from scaffold.hints import build_failure_line

COMPOSE_FILE = "docker-compose.yml"
# What `docker compose` merges after the main file when no -f is given (the first one found).
USER_OVERRIDES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
# The first Compose that applies `!reset` (older ones ignore it or fail on the merge).
MIN_COMPOSE = (2, 24)
LOG_LINES = 20
PROJECT_LABEL = "com.docker.compose.project"
RESOURCES = ("container", "network", "volume", "image")


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    image: str
    size_mb: float
    user: str
    health: str
    logs: tuple[str, ...] = ()  # the last lines of its log, collected only when not healthy

    @property
    def healthy(self) -> bool:
        return self.health == "healthy"


@dataclass(frozen=True)
class VerifyResult:
    services: list[ServiceStatus]
    error: str | None
    torn_down: str
    stack: str = ""  # verify's own compose project name
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.services) and all(s.healthy for s in self.services)


Step = Callable[[str], None]


@dataclass(frozen=True)
class Stack:
    """verify's copy of the project: the directory, its own project name, the files merged."""

    project: Path
    name: str
    files: tuple[Path, ...]

    def compose(
        self, engine: Engine, *args: str, timeout: float = 1800, shield: bool = False
    ) -> Any:
        return engine.compose(
            self.project, *args, name=self.name, files=self.files, timeout=timeout, shield=shield
        )


def stack_name(project_name: str, token: str | None = None) -> str:
    """`<project>-verify-<6 hex>`: a compose project name never the user's, unique per run."""
    return f"{project_name}-verify-{token or secrets.token_hex(3)}"


def _key(name: str) -> str:
    return json.dumps(name)  # a JSON string is a YAML scalar, whatever the name holds


def override_yaml(model: dict[str, Any]) -> str:
    """The compose file verify merges last: from the project's resolved model (`docker compose
    config --format json`), everything that the user's stack could share with verify's is reset.
    """
    lines = [
        "# Written by `dockergen verify` for its own copy of the stack; deleted after the run.",
        "services:",
    ]
    for name, svc in sorted((model.get("services") or {}).items()):
        lines += [f"  {_key(name)}:", "    ports: !reset []", "    container_name: !reset null"]
        if svc.get("build") is not None:
            lines.append("    image: !reset null")  # tag `<verify name>-<service>`, not the user's
    for section in ("volumes", "networks"):
        entries = sorted(model.get(section) or {})
        if entries:
            lines.append(f"{section}:")
            lines += [f"  {_key(k)}: {{name: !reset null, external: !reset null}}" for k in entries]
    return "\n".join(lines) + "\n"


def isolation_problems(model: dict[str, Any], name: str) -> list[str]:
    """What in the merged model (verify's files, under its name) could still reach the user's
    stack; empty when the override took."""
    problems = []
    if model.get("name") != name:
        problems.append(f"project name is {model.get('name')!r}, not {name!r}")
    for svc_name, svc in sorted((model.get("services") or {}).items()):
        if svc.get("ports"):
            problems.append(f"service {svc_name} still publishes host ports")
        if svc.get("container_name"):
            problems.append(f"service {svc_name} keeps container_name {svc['container_name']}")
    for section in ("volumes", "networks"):
        for key, entry in sorted((model.get(section) or {}).items()):
            entry = entry or {}
            if entry.get("external") or not str(entry.get("name", "")).startswith(f"{name}_"):
                problems.append(f"{section[:-1]} {key} is {entry.get('name', key)}, not verify's")
    return problems


def shared_bind_mounts(model: dict[str, Any]) -> list[str]:
    """Read-write bind mounts: a host folder verify's copy would write into as well."""
    found = []
    for svc_name, svc in sorted((model.get("services") or {}).items()):
        for mount in svc.get("volumes") or []:
            if mount.get("type") == "bind" and not mount.get("read_only"):
                found.append(
                    f"service {svc_name} bind-mounts {mount.get('source')} read-write: verify's "
                    "copy of the stack writes into it too"
                )
    return found


def _config(engine: Engine, project: Path, **kwargs: Any) -> dict[str, Any]:
    proc = engine.compose(project, "config", "--format", "json", timeout=120, **kwargs)
    if proc.returncode != 0:
        raise CheckFailed(f"docker compose config failed: {last_line(proc)}")
    config: dict[str, Any] = json.loads(proc.stdout)
    return config


def collect(engine: Engine, stack: Stack) -> list[ServiceStatus]:
    proc = stack.compose(engine, "ps", "--all", "--format", "json", timeout=60)
    if proc.returncode != 0:
        raise EngineError(f"docker compose ps failed: {last_line(proc)}")
    rows = parse_ps(proc.stdout)
    containers = engine.inspect(*[r["ID"] for r in rows])
    images = {i["Id"]: i for i in engine.inspect(*{c["Image"] for c in containers}, kind="image")}
    statuses = []
    for row, c in zip(rows, containers, strict=True):
        state = c.get("State", {})
        health = (state.get("Health") or {}).get("Status") or state.get("Status", "unknown")
        image = images.get(c["Image"], {})
        service = row.get("Service", c["Name"].lstrip("/"))
        statuses.append(
            ServiceStatus(
                service=service,
                image=c["Config"].get("Image", ""),
                size_mb=image.get("Size", 0) / 1e6,
                user=c["Config"].get("User") or "root (image default)",
                health=health,
                logs=() if health == "healthy" else _logs(engine, stack, service),
            )
        )
    return sorted(statuses, key=lambda s: s.service)


def _logs(engine: Engine, stack: Stack, service: str) -> tuple[str, ...]:
    proc = stack.compose(
        engine, "logs", "--no-color", "--no-log-prefix", "--tail", str(LOG_LINES), service
    )
    return tuple((proc.stdout + proc.stderr).rstrip().splitlines()[-LOG_LINES:])


@contextmanager
def _no_sigint() -> Iterator[None]:
    """Ctrl-C ignored for the duration (main thread only): a teardown finishes once begun."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def teardown(engine: Engine, stack: Stack) -> str:
    """`down` verify's stack with its volumes and images; what was removed, counted by label."""
    label = f"{PROJECT_LABEL}={stack.name}"
    with _no_sigint():
        before = {kind: engine.labelled(kind, label, shield=True) for kind in RESOURCES}
        # One second to stop: the copy and its data are thrown away, so a service slow to
        # exit on SIGTERM need not be waited for (the generated ones exit at once).
        down = ["down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "1"]
        proc = stack.compose(engine, *down, timeout=300, shield=True)
        # `down` removes nothing, images included, when no container was created (a build
        # interrupted or failed part-way): verify's images go by their label then.
        if engine.labelled("image", label, shield=True):
            engine.remove_images(label, shield=True)
        after = {kind: engine.labelled(kind, label, shield=True) for kind in RESOURCES}
    removed = [
        _plural(len(set(before[k]) - set(after[k])), k) for k in RESOURCES if before[k] != after[k]
    ]
    left = [_plural(len(after[k]), k) for k in RESOURCES if after[k]]
    text = f"removed {', '.join(removed)}" if removed else "nothing to remove"
    if left:
        why = f" ({last_line(proc)})" if proc.returncode != 0 else ""
        text += f"; left {', '.join(left)}{why}: docker compose -p {stack.name} down -v"
    return text


def compose_file(project: Path) -> str:
    """dockergen's compose file: docker-compose.yml, or its name beside the repository's own
    (dockergen.yml `beside`, from `dockergen init`)."""
    from scaffold.layout import LAYOUT_FILE, load
    from scaffold.usercode import Beside

    path = project / LAYOUT_FILE
    if not path.is_file():
        return COMPOSE_FILE
    return Beside(frozenset(load(path).beside)).compose_file


def preflight(project: Path) -> None:
    """Checks before anything is built: the project must be one verify can run."""
    check_project(project)  # conflict markers can't build: the same line update and diff give
    name = compose_file(project)
    if not (project / name).is_file():
        raise LayoutError(f"{project}: no {name}; run verify in a generated project")


def _require_compose(engine: Engine) -> None:
    found = version_tuple(engine.compose_version)
    if found and found < MIN_COMPOSE:
        need = ".".join(map(str, MIN_COMPOSE))
        raise EngineError(
            f"verify needs Docker Compose {need} or later to run beside your stack without "
            f"touching it (found {engine.compose_version}): upgrade Compose"
        )


def verify_project(
    project: Path,
    *,
    keep: bool = False,
    wait_timeout: int = 300,
    step: Step = lambda _msg: None,
    warn: Step = lambda _msg: None,
    engine: Engine | None = None,
) -> VerifyResult:
    """Build and start a copy of the project's stack under verify's own name, wait for health,
    report, then remove that copy (unless keep). The user's own stack is never touched.

    Ctrl-C tears the copy down and raises Aborted (exit 130) saying what was removed. `warn`
    hears, before anything is built, of what the copy cannot help sharing (a read-write bind
    mount); the result lists the same warnings.
    """
    project = project.absolute()
    preflight(project)
    try:
        return _verify(
            project, keep=keep, wait_timeout=wait_timeout, step=step, warn=warn, engine=engine
        )
    except KeyboardInterrupt:  # before _run: only `docker compose config` had run
        raise Aborted(
            "interrupted before verify built or started anything; your stack was not touched"
        ) from None


def _verify(
    project: Path,
    *,
    keep: bool,
    wait_timeout: int,
    step: Step,
    warn: Step,
    engine: Engine | None,
) -> VerifyResult:
    engine = engine or find_engine()
    _require_compose(engine)
    name = compose_file(project)
    user_files = [project / name]
    if name == COMPOSE_FILE:  # beside a repository's own compose file, its override is its own
        user_files += [project / n for n in USER_OVERRIDES if (project / n).is_file()][:1]
    user = _config(engine, project, files=user_files)
    name = stack_name(str(user.get("name") or project.name))
    with tempfile.TemporaryDirectory(prefix="dockergen-verify-") as tmp:
        override = Path(tmp) / "verify.override.yml"
        override.write_text(override_yaml(user), encoding="utf-8")
        stack = Stack(project=project, name=name, files=(*user_files, override))
        problems = isolation_problems(_config(engine, project, name=name, files=stack.files), name)
        if problems:
            raise EngineError(
                f"Docker Compose {engine.compose_version or '(unknown version)'} did not apply "
                f"verify's override ({problems[0]}); verify needs Compose 2.24 or later"
            )
        warnings = shared_bind_mounts(user)
        for warning in warnings:
            warn(warning)
        result = _run(engine, stack, keep=keep, wait_timeout=wait_timeout, step=step)
        return VerifyResult(**{**result.__dict__, "warnings": warnings})


def _run(
    engine: Engine, stack: Stack, *, keep: bool, wait_timeout: int, step: Step
) -> VerifyResult:
    error: str | None = None
    statuses: list[ServiceStatus] = []
    try:
        step(f"building images (as {stack.name})")
        proc = stack.compose(engine, "build")  # Compose v2 builds every image in parallel
        if proc.returncode != 0:
            error = build_failure_line(proc)  # names the fix for a known cause
        else:
            # Started once; `--wait` polls the containers' health at a sub-second pace (on the
            # lab it returns within 0.5 s of the last healthy event), so verify waits no longer
            # than the healthchecks take.
            step("starting services and waiting for healthchecks")
            up = ["up", "--detach", "--wait", "--wait-timeout", str(wait_timeout)]
            proc = stack.compose(engine, *up)
            if proc.returncode != 0:
                error = f"not every service became healthy: {last_line(proc)}"
        step("collecting status")
        statuses = collect(engine, stack)
    except KeyboardInterrupt:
        raise Aborted(
            f"interrupted; verify's stack {stack.name}: {teardown(engine, stack)}"
        ) from None
    except BaseException:
        teardown(engine, stack)
        raise
    if keep:
        torn = (
            f"{stack.name} left running (--keep); remove it with: "
            f"docker compose -p {stack.name} down --volumes --rmi local"
        )
    else:
        step(f"removing {stack.name}")
        torn = f"{stack.name}: {teardown(engine, stack)}"
    return VerifyResult(
        services=statuses,
        error=error,
        torn_down=torn,
        stack=stack.name,
    )
