"""`dockergen verify`: build, start and health-check a project on the local engine.

Static checks say a Dockerfile looks right; this shows it is right on the user's machine: every
image builds, every container becomes healthy, and the table shows what actually runs (image
size, runtime user).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scaffold.engine import Engine, find_engine, last_line, parse_ps
from scaffold.errors import EngineError, LayoutError

COMPOSE_FILE = "docker-compose.yml"


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    image: str
    size_mb: float
    user: str
    health: str

    @property
    def healthy(self) -> bool:
        return self.health == "healthy"


@dataclass(frozen=True)
class VerifyResult:
    services: list[ServiceStatus]
    error: str | None
    torn_down: str

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.services) and all(s.healthy for s in self.services)


Step = Callable[[str], None]


def collect(engine: Engine, project: Path) -> list[ServiceStatus]:
    proc = engine.compose(project, "ps", "--all", "--format", "json", timeout=60)
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
        statuses.append(
            ServiceStatus(
                service=row.get("Service", c["Name"].lstrip("/")),
                image=c["Config"].get("Image", ""),
                size_mb=image.get("Size", 0) / 1e6,
                user=c["Config"].get("User") or "root (image default)",
                health=health,
            )
        )
    return sorted(statuses, key=lambda s: s.service)


def verify_project(
    project: Path,
    *,
    clean: bool = False,
    keep: bool = False,
    wait_timeout: int = 300,
    step: Step = lambda _msg: None,
) -> VerifyResult:
    """Build, start, wait for health, report, then tear down (keeping volumes unless clean)."""
    project = project.absolute()
    from scaffold.conflicts import check_project

    check_project(project)  # conflict markers can't build: the same line update and diff give
    if not (project / COMPOSE_FILE).is_file():
        raise LayoutError(f"{project}: no {COMPOSE_FILE}; run verify in a generated project")
    engine = find_engine()
    error: str | None = None
    statuses: list[ServiceStatus] = []
    try:
        step("building images")
        proc = engine.compose(project, "build")
        if proc.returncode != 0:
            from scaffold.hints import build_failure_line

            error = build_failure_line(proc)  # names the fix for a known cause
        else:
            step("starting services and waiting for healthchecks")
            proc = engine.compose(
                project, "up", "--detach", "--wait", "--wait-timeout", str(wait_timeout)
            )
            if proc.returncode != 0:
                error = f"not every service became healthy: {last_line(proc)}"
        step("collecting status")
        statuses = collect(engine, project)
    finally:
        if keep:
            torn = "left running (--keep)"
        else:
            step("stopping the stack")
            args = ["down", "--timeout", "10"] + (["--volumes"] if clean else [])
            engine.compose(project, *args, timeout=300)
            torn = "stopped; volumes removed (--clean)" if clean else "stopped; volumes kept"
    return VerifyResult(services=statuses, error=error, torn_down=torn)
