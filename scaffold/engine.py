"""The local Docker engine, driven through the `docker` CLI and its Compose v2 plugin.

Using the CLI rather than an SDK means verify sees exactly what the user's own
`docker compose` would do, with their contexts and credentials.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.errors import EngineError


def _run(
    args: list[str], *, timeout: float, cwd: Path | None = None, shield: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run a docker command; `shield` puts it in a session of its own, out of reach of the
    terminal's Ctrl-C (a teardown must finish even when the user presses it again)."""
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
        start_new_session=shield,
    )


@dataclass(frozen=True)
class Engine:
    docker: str
    compose_version: str = ""

    def compose_command(
        self, project: Path, *args: str, name: str | None = None, files: Sequence[Path] = ()
    ) -> list[str]:
        """`docker compose` for a project directory, optionally under another project name
        (`-p`) and with explicit compose files (`-f`, merged in order)."""
        cmd = [self.docker, "compose", "--project-directory", str(project)]
        if name is not None:
            cmd += ["--project-name", name]
        for file in files:
            cmd += ["--file", str(file)]
        return [*cmd, *args]

    def compose(
        self,
        project: Path,
        *args: str,
        timeout: float = 1800,
        name: str | None = None,
        files: Sequence[Path] = (),
        shield: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        cmd = self.compose_command(project, *args, name=name, files=files)
        return _run(cmd, cwd=project, timeout=timeout, shield=shield)

    def labelled(self, kind: str, label: str, *, shield: bool = False) -> list[str]:
        """IDs of every container, network, volume or image carrying this label (`key=value`)."""
        listing = {
            "container": ["ps", "--all", "--quiet"],
            "network": ["network", "ls", "--quiet"],
            "volume": ["volume", "ls", "--quiet"],
            "image": ["images", "--all", "--quiet"],
        }[kind]
        proc = _run(
            [self.docker, *listing, "--filter", f"label={label}"], timeout=60, shield=shield
        )
        if proc.returncode != 0:
            raise EngineError(f"docker {' '.join(listing[:2])} failed: {last_line(proc)}")
        return sorted(set(proc.stdout.split()))

    def remove_images(self, label: str, *, shield: bool = False) -> None:
        """Remove the images with this label by their tags (an ID another tag shares stays)."""
        listing = [self.docker, "images", "--filter", f"label={label}"]
        proc = _run([*listing, "--format", "{{.Repository}}:{{.Tag}}"], timeout=60, shield=shield)
        tags = sorted({t for t in proc.stdout.split() if "<none>" not in t})
        untagged = _run(
            [*listing, "--filter", "dangling=true", "--quiet"], timeout=60, shield=shield
        )
        refs = tags + sorted(set(untagged.stdout.split()))
        if refs:
            _run([self.docker, "image", "rm", *refs], timeout=300, shield=shield)

    def inspect(self, *ids: str, kind: str = "container") -> list[dict[str, Any]]:
        if not ids:
            return []
        proc = _run([self.docker, kind, "inspect", *ids], timeout=60)
        if proc.returncode != 0:
            raise EngineError(f"docker {kind} inspect failed: {last_line(proc)}")
        objects: list[dict[str, Any]] = json.loads(proc.stdout)
        return objects


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
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
    return Engine(docker=docker, compose_version=version.stdout.strip())


def version_tuple(text: str) -> tuple[int, ...]:
    """(2, 40, 3) from '2.40.3', 'v2.40.3' or '2.40.3-desktop.1'; () when there is no number."""
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(g) for g in found.groups() if g is not None) if found else ()


def parse_ps(stdout: str) -> list[dict[str, Any]]:
    """`compose ps --format json` prints a JSON array (older) or one object per line (newer)."""
    stdout = stdout.strip()
    if not stdout:
        return []
    if stdout.startswith("["):
        listed: list[dict[str, Any]] = json.loads(stdout)
        return listed
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
