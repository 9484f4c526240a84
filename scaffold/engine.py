"""The local Docker engine, driven through the `docker` CLI and its Compose v2 plugin.

Using the CLI rather than an SDK means verify sees exactly what the user's own
`docker compose` would do, with their contexts and credentials.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.errors import EngineError


def _run(
    args: list[str], *, timeout: float, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass(frozen=True)
class Engine:
    docker: str

    def compose(
        self, project: Path, *args: str, timeout: float = 1800
    ) -> subprocess.CompletedProcess:
        cmd = [self.docker, "compose", "--project-directory", str(project), *args]
        return _run(cmd, cwd=project, timeout=timeout)

    def inspect(self, *ids: str, kind: str = "container") -> list[dict[str, Any]]:
        if not ids:
            return []
        proc = _run([self.docker, kind, "inspect", *ids], timeout=60)
        if proc.returncode != 0:
            raise EngineError(f"docker {kind} inspect failed: {last_line(proc)}")
        return json.loads(proc.stdout)


def last_line(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or proc.stdout or "").strip().splitlines()
    return text[-1] if text else f"exit status {proc.returncode}"


def find_engine() -> Engine:
    """A docker CLI with Compose v2 that reaches a running engine, or one clear EngineError."""
    docker = shutil.which("docker")
    if docker is None:
        raise EngineError("no Docker engine: the `docker` command was not found")
    try:
        info = _run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=20)
        if info.returncode != 0 or not info.stdout.strip():
            raise EngineError(f"no Docker engine reachable: {last_line(info)}")
        version = _run([docker, "compose", "version", "--short"], timeout=20)
        if version.returncode != 0:
            raise EngineError("Docker Compose v2 is missing (`docker compose version` failed)")
    except subprocess.TimeoutExpired:
        raise EngineError("no Docker engine reachable: `docker` did not answer in time") from None
    return Engine(docker=docker)


def parse_ps(stdout: str) -> list[dict[str, Any]]:
    """`compose ps --format json` prints a JSON array (older) or one object per line (newer)."""
    stdout = stdout.strip()
    if not stdout:
        return []
    if stdout.startswith("["):
        return json.loads(stdout)
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
