"""deploy/swarm/stack.yml (issue 12): the compose file's services as a swarm stack, with the same
hardening, checked against the compose file service by service and by the docker CLI's own
stack loader (`docker stack config`) and the compose-spec schema."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scaffold.api import sample_layouts
from scaffold.plan import size_bytes
from tests import oracles
from tests.projects import default_set, e2e_full_layout, generate, services

# Fields a stack file takes over from compose unchanged: the hardening and the wiring.
SAME = (
    "user",
    "command",
    "init",
    "read_only",
    "cap_drop",
    "cap_add",
    "environment",
    "secrets",
    "healthcheck",
    "networks",
    "logging",
)


def full_layout() -> dict[str, Any]:
    pairs = e2e_full_layout(default_set())
    return {"services": services(*pairs), "targets": ["swarm"]}


LAYOUTS = {
    "default": {
        "services": services("react", ("fastapi", "api"), "postgres"),
        "targets": ["swarm"],
    },
    "full": None,  # filled lazily: every backend, every database the lab runs
    "api-only": {"services": services(("go", "api")), "targets": ["swarm"]},
    "all-kinds": None,  # every kind of the set at once, mongodb included
}


def _layout(name: str) -> dict[str, Any]:
    if name == "all-kinds":
        return {**sample_layouts(default_set())[0][1], "targets": ["swarm"]}
    return full_layout() if name == "full" else LAYOUTS[name]  # type: ignore[return-value]


def _load(project: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    stack = yaml.safe_load((project / "deploy" / "swarm" / "stack.yml").read_text())
    return compose, stack


@pytest.fixture(params=sorted(LAYOUTS))
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    generate(target, _layout(request.param))
    return target


def test_the_stack_keeps_composes_hardening_service_by_service(project: Path) -> None:
    compose, stack = _load(project)
    assert list(stack["services"]) == list(compose["services"])
    for name, svc in stack["services"].items():
        mine = compose["services"][name]
        for key in SAME:
            assert svc.get(key) == mine.get(key), (name, key)
        assert svc["image"] == mine["image"]
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
        assert svc["deploy"]["resources"]["limits"] == mine["deploy"]["resources"]["limits"]
        assert svc["logging"]["options"]["max-size"], name  # bounded logs
        tmpfs = {v["target"]: v["tmpfs"]["size"] for v in svc["volumes"] if v["type"] == "tmpfs"}
        want = {}
        for entry in mine["tmpfs"]:
            path, _, options = entry.partition(":")
            opts = dict(o.split("=") for o in options.split(","))
            want[path] = size_bytes(opts["size"])
        assert tmpfs == want, name
        assert "depends_on" not in svc and "build" not in svc and "restart" not in svc
        assert "security_opt" not in svc  # `docker stack deploy` ignores it (README says so)
    assert stack["networks"] == {
        n: ({"driver": "overlay", "internal": True} if spec else {"driver": "overlay"})
        for n, spec in ((n, (s or {}).get("internal")) for n, s in compose["networks"].items())
    }
    assert set(stack.get("volumes", {})) == set(compose.get("volumes", {}))
    for secret, spec in stack.get("secrets", {}).items():
        file = (project / "deploy" / "swarm" / spec["file"]).resolve()
        assert file == (project / compose["secrets"][secret]["file"]).resolve()
        assert file.is_file() and file.parent.name == "secrets"


def test_databases_stay_put_and_stateless_services_roll(project: Path) -> None:
    compose, stack = _load(project)
    for name, svc in stack["services"].items():
        deploy = svc["deploy"]
        volumes = [v for v in svc["volumes"] if v["type"] == "volume"]
        if "volumes" in compose["services"][name]:  # a database: its data in a named volume
            assert deploy["replicas"] == 1
            assert deploy["update_config"]["order"] == "stop-first"
            assert deploy["rollback_config"]["order"] == "stop-first"
            assert deploy["placement"]["constraints"] == [f"node.labels.shop.{name} == data"]
            assert [v["source"] for v in volumes] == [f"{name}-data"]
            assert "ports" not in svc
        else:
            assert deploy["replicas"] == 2
            assert deploy["update_config"] == {
                "parallelism": 1,
                "order": "start-first",
                "failure_action": "rollback",
                "monitor": "30s",
                "delay": "5s",
            }
            assert deploy["rollback_config"]["order"] == "start-first"
            # its tasks spread over the nodes (tests/e2e/test_swarm.py: over a second node)
            assert deploy["placement"] == {"preferences": [{"spread": "node.id"}]}
            assert not volumes
        assert deploy["restart_policy"]["condition"] == "any"


def test_published_ports_match_compose(project: Path) -> None:
    compose, stack = _load(project)
    for name, svc in compose["services"].items():
        want = []
        for entry in svc.get("ports", []):
            _, host, container = entry.split(":")
            want.append((int(container), int(host)))
        got = [(p["target"], p["published"]) for p in stack["services"][name].get("ports", [])]
        assert got == want, name


def test_compose_spec_schema_accepts_the_stack(project: Path) -> None:
    assert oracles.compose_schema(project / "deploy" / "swarm" / "stack.yml") == []


def _docker_with_stack_config() -> str | None:
    """The first `docker` on PATH whose `stack` has `config` (the lab's 20.10 client hasn't)."""
    for folder in os.get_exec_path():
        exe = Path(folder) / "docker"
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            continue
        proc = subprocess.run([exe, "stack", "--help"], capture_output=True, text=True)
        if any(line.split()[:1] == ["config"] for line in proc.stdout.splitlines()):
            return str(exe)
    return None


def test_docker_stack_config_loads_it(project: Path) -> None:
    """The docker CLI's own stack loader and schema: what `docker stack deploy` would deploy."""
    docker = _docker_with_stack_config()
    if docker is None:
        pytest.skip("no docker CLI on PATH has `docker stack config` (docker 23+)")
    proc = subprocess.run(
        [docker, "stack", "config", "-c", "deploy/swarm/stack.yml"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = yaml.safe_load(proc.stdout)
    _, stack = _load(project)
    assert set(loaded["services"]) == set(stack["services"])
    for name, svc in loaded["services"].items():
        # nothing the file asks for was dropped by the loader
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"], name
        assert svc["deploy"]["resources"]["limits"]["pids"] > 0, name
        sizes = [v["tmpfs"]["size"] for v in svc["volumes"] if v["type"] == "tmpfs"]
        assert sizes and all(s > 0 for s in sizes), name
    for spec in loaded.get("secrets", {}).values():
        assert Path(spec["file"]).is_file()  # resolved from the stack file's folder
