"""External checkers run on a rendered project: hadolint and `docker compose config`.

Both are optional; `find_tool` looks for them next to this Python (a venv) or on PATH, and
`find_compose` also finds the `docker compose` plugin.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def find_tool(name: str) -> str | None:
    """A checker binary: next to this Python (a venv's bin), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


# Where the docker CLI looks for plugins (docs.docker.com: "cli-plugins"), after $DOCKER_CONFIG.
_PLUGIN_DIRS = (
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


def find_compose() -> str | None:
    """Compose v2: a `docker-compose` executable, else the `docker compose` plugin's binary,
    which runs standalone just as well (so the checks can keep the user's config out)."""
    found = find_tool("docker-compose")
    if found:
        return found
    config = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    for folder in (str(Path(config) / "cli-plugins"), *_PLUGIN_DIRS):
        candidate = Path(folder) / "docker-compose"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def hadolint(tool: str, path: Path, shown: str) -> list[str]:
    """hadolint with its default rules; every result is a finding."""
    with tempfile.TemporaryDirectory(prefix="dockergen-hadolint-") as tmp:
        config = Path(tmp) / "hadolint.yaml"
        config.write_text("{}\n", encoding="utf-8")
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp, "NO_COLOR": "1"}
        try:
            proc = subprocess.run(
                [tool, "--config", str(config), "--no-fail", "-f", "json", str(path.resolve())],
                capture_output=True,
                text=True,
                cwd=tmp,
                env=env,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"{shown}: hadolint failed: {exc}"]
    try:
        results = json.loads(proc.stdout)
    except ValueError:
        text = " ".join((proc.stdout + proc.stderr).split())
        return [f"{shown}: hadolint failed (exit {proc.returncode}): {text}"]
    return [
        f"{shown}:{r.get('line')}: {r.get('code')} ({r.get('level')}): {r.get('message')}"
        for r in results
    ]


def compose_config(tool: str, project: Path, file: str, shown: str) -> list[str]:
    """`docker compose config -q` without a daemon or the user's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    with tempfile.TemporaryDirectory(prefix="dockergen-compose-") as cfg:
        env["DOCKER_CONFIG"] = cfg
        try:
            proc = subprocess.run(
                [
                    tool,
                    "--project-directory",
                    str(project),
                    "-f",
                    str(project / file),
                    "config",
                    "-q",
                ],
                capture_output=True,
                text=True,
                cwd=project,
                env=env,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"{shown}: compose config failed: {exc}"]
    if proc.returncode != 0:
        text = " ".join(proc.stderr.split()) or f"exit {proc.returncode}"
        return [f"{shown}: compose config: {text}"]
    return []


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
