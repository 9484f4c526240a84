"""Helpers for tests that use the dockergen e2e lab (tests/e2e/lab).

    env = lab_env()            # None if the lab is not up
    docker(env, "run", "--rm", "python:3.13-slim-trixie", "python", "-V")

The lab's `export` lines are parsed here so that tests can run `docker` / `docker compose`
against the lab's engine without the caller having eval'ed them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

LAB_SCRIPT = Path(__file__).resolve().with_name("lab")

# official image tag -> recipe dir of its look-alike (tests/e2e/lookalikes/<dir>)
LOOKALIKE_IMAGES = {
    "python:3.13-slim-trixie": "python",
    "node:24-trixie-slim": "node",
    "golang:1.25-trixie": "golang",
    "nginx:1.30-trixie": "nginx",
    "postgres:17-trixie": "postgres",
    "mysql:8.4": "mysql",
    "redis:8.6-trixie": "redis",
    "debian:trixie-slim": "debian",
}


_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def parse_exports(text: str, base_env: dict | None = None) -> dict:
    """Environment after eval'ing `export K=V` lines (V may refer to $VARS, e.g. "$PATH")."""
    env = dict(os.environ if base_env is None else base_env)
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        key, _, raw = line[len("export ") :].partition("=")
        words = shlex.split(raw)
        value = words[0] if words else ""
        # expand $VAR / ${VAR} against the environment built so far (shlex kept them literal)
        value = _VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)
        env[key] = value
    return env


def lab_env(timeout: float = 60) -> dict | None:
    """The lab's environment if it is up: from `tests/e2e/lab env`, else from the current
    environment when DOCKER_HOST is set and answers. None when no engine is reachable."""
    try:
        proc = subprocess.run(
            [str(LAB_SCRIPT), "env"],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        proc = None
    if proc is not None and proc.returncode == 0 and "DOCKER_HOST" in proc.stdout:
        return parse_exports(proc.stdout)
    if os.environ.get("DOCKER_HOST"):
        env = dict(os.environ)
        try:
            ok = (
                docker(
                    env, "info", "--format", "{{.ServerVersion}}", check=False, timeout=20
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return env
    return None


def docker(env: dict, *args, check: bool = True, timeout: float = 300, input: str | None = None):
    """Run `docker ARGS` (the lab's client comes first on the lab's PATH); output captured."""
    proc = subprocess.run(
        ["docker", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"docker {shlex.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )
    return proc


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def health(env: dict, container: str) -> str:
    proc = docker(env, "inspect", "--format", "{{json .State}}", container, check=False, timeout=30)
    if proc.returncode != 0:
        return "missing"
    state = json.loads(proc.stdout)
    if not state.get("Running"):
        return "exited"
    return (state.get("Health") or {}).get("Status", "none")


def wait_healthy(env: dict, container: str, timeout: float = 120) -> None:
    """Wait for a container with a healthcheck to be healthy; fail with its logs otherwise."""
    seen = {}

    def ready() -> bool:
        seen["status"] = health(env, container)
        return seen["status"] in ("healthy", "exited", "missing")

    wait_until(ready, timeout)
    if seen.get("status") != "healthy":
        logs = docker(env, "logs", "--tail", "60", container, check=False)
        raise AssertionError(
            f"{container} is {seen.get('status')} after {timeout:.0f} s\n"
            f"{logs.stdout[-4000:]}{logs.stderr[-4000:]}"
        )


def cleanup(
    env: dict,
    containers: Iterable[str] = (),
    networks: Iterable[str] = (),
    volumes: Iterable[str] = (),
) -> None:
    for c in containers:
        docker(env, "rm", "--force", "--volumes", c, check=False, timeout=60)
    for n in networks:
        docker(env, "network", "rm", n, check=False, timeout=60)
    for v in volumes:
        docker(env, "volume", "rm", "--force", v, check=False, timeout=60)
