"""Whole stacks from one command (the brief, section IV): `docker compose up --build --wait`.

Two layouts: the default one (react + fastapi + postgres) and the all-databases one (react, three
backends of three kinds, postgres + mysql + redis; MongoDB has no Debian package, so no
look-alike: its output is checked statically only). A request through the frontend's nginx
(http://127.0.0.1:<frontend port>/api/...) reaches every backend's readiness endpoint, which logs
in to every database. The containers started in dependency order, each edge on the condition the
set gives it: every database healthy before any backend started; the frontend, which resolves its
backends per request, started once they had started. Every service was healthy within its kind's
start budget (kind.yml `healthcheck.start_period`).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import FULL

from scaffold.templatesets.loader import load_template_set

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    project: Any
    events: list[str]  # `docker events` JSON lines of this project, recorded during `up`


def bring_up(project) -> Any:
    """Start the stack while `docker events` records it. Asking afterwards (`--since`) is not
    enough: the engine keeps only its last 256 events, which the healthchecks of a few stacks on
    a shared engine overwrite within a minute. The stream can lag `up` by seconds, so it is read
    until every service's first healthy event arrived (bounded)."""
    label = f"label=com.docker.compose.project={project.name}"
    command = ["docker", "events", "--filter", "type=container", "--filter", label]
    recorder = subprocess.Popen(
        [*command, "--format", "{{json .}}"],
        env=project.lab.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(recorder.stdout or []), daemon=True)
    reader.start()
    try:
        time.sleep(1)  # the stream is open before the first container starts
        project.up(build=True)
        services = set(dependencies(project))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and set(_first(lines, "healthy")) != services:
            time.sleep(0.5)
    finally:
        recorder.terminate()
        recorder.wait(timeout=30)
        reader.join(timeout=30)
    return Stack(project, list(lines))


@pytest.fixture(scope="module")
def default_stack(default_project):
    try:
        yield bring_up(default_project)
    finally:
        default_project.down(volumes=True)


@pytest.fixture(scope="module")
def full_stack(full_project):
    try:
        yield bring_up(full_project)
    finally:
        full_project.down(volumes=True)


def ready_path(stack: Stack, backend: str) -> str:
    """nginx sends /api/ to the first backend and /api/<name>/ to each one."""
    return (
        "/api/readyz" if backend == stack.project.named("backend")[0] else f"/api/{backend}/readyz"
    )


# ------------------------------------------------------------------------------------ requests


def test_default_layout_is_ready_through_the_frontend(default_stack):
    project = default_stack.project
    status, body = project.get_json("frontend", "/api/readyz")
    assert (status, body) == (200, {"status": "ready", "databases": {"postgres": "ok"}})
    page_status, page = project.get("frontend", "/")
    assert page_status == 200 and '<div id="root">' in page, page[:500]


@pytest.mark.parametrize(
    "backend",
    [name for kind, name in FULL if load_template_set("default").kinds[kind].category == "backend"],
)
def test_every_backend_reaches_every_database_through_the_frontend(full_stack, backend):
    project = full_stack.project
    databases = project.named("database")
    assert sorted(databases) == ["mysql", "postgres", "redis"]
    status, body = project.get_json("frontend", ready_path(full_stack, backend))
    assert status == 200, body
    assert body == {"status": "ready", "databases": dict.fromkeys(databases, "ok")}
    # ... and it is that backend which answered
    status, hello = project.get_json("frontend", f"/api/{backend}/")
    assert status == 200 and hello.get("service") == backend, hello


# ------------------------------------------------------------------------------------ start order


def nanos(timestamp: str) -> int:
    """RFC 3339 with nanoseconds (docker inspect) -> ns since the epoch."""
    main, _, frac = timestamp.rstrip("Z").partition(".")
    seconds = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    return int(seconds) * 10**9 + int((frac + "000000000")[:9])


def _first(lines: list[str], action: str) -> dict[str, int]:
    """service -> time (ns) of its first `start` or `healthy` event among `docker events` lines."""
    actions = {"start": "start", "health_status: healthy": "healthy"}
    first: dict[str, int] = {}
    for line in list(lines):
        event = json.loads(line)
        service = event["Actor"]["Attributes"].get("com.docker.compose.service")
        if service and actions.get(event.get("Action", "")) == action:
            first.setdefault(service, int(event["timeNano"]))
    return first


def events(stack: Stack) -> dict[str, dict[str, int]]:
    """service -> {"start": first start, "healthy": first healthy} (ns), from engine events."""
    seen: dict[str, dict[str, int]] = {}
    for action in ("start", "healthy"):
        for service, when in _first(stack.events, action).items():
            seen.setdefault(service, {})[action] = when
    return seen


def dependencies(project) -> dict[str, dict[str, str]]:
    """service -> {dependency: condition}, as compose reads the generated file."""
    config = json.loads(project.compose("config", "--format", "json", timeout=60).stdout)
    return {
        name: {
            dep: spec.get("condition", "") for dep, spec in (svc.get("depends_on") or {}).items()
        }
        for name, svc in config["services"].items()
    }


def check_start_order(stack: Stack) -> None:
    project = stack.project
    deps = dependencies(project)
    tset = load_template_set("default")
    frontends, backends, databases = (
        set(project.named(c)) for c in ("frontend", "backend", "database")
    )
    # The generated file says: frontend <- every backend <- every database, each edge on the
    # condition of its relation in set.yml (a frontend's proxies: started; connects: healthy).
    proxied = tset.category("frontend").condition("proxies")
    connected = tset.category("backend").condition("connects")
    assert (proxied, connected) == ("service_started", "service_healthy")
    for name in frontends:
        assert deps[name] == dict.fromkeys(backends, proxied), deps
    for name in backends:
        assert deps[name] == dict.fromkeys(databases, connected), deps
    for name in databases:
        assert deps[name] == {}, deps

    # The engine says it happened in that order: what each edge waits for came first.
    seen = events(stack)
    assert set(seen) == frontends | backends | databases, seen
    waited = {"service_healthy": "healthy", "service_started": "start"}
    lines = []
    for name, needs in deps.items():
        for dep, condition in needs.items():
            started, ready = seen[name].get("start"), seen[dep].get(waited[condition])
            assert started and ready, (name, dep, seen)
            lines.append(
                f"{dep} {waited[condition]} {(started - ready) / 1e9:+.2f} s before {name} started"
            )
            assert ready < started, f"{name} started before {dep} was {waited[condition]}:\n" + (
                "\n".join(lines)
            )

    # docker inspect agrees: each dependant's State.StartedAt is after the first passing
    # healthcheck of what it waits healthy for (when the health log still holds it: the engine
    # keeps the last 5).
    cids = {name: project.container(name) for name in deps}
    state = {name: project.lab.inspect(cid)[0]["State"] for name, cid in cids.items()}
    for name, needs in deps.items():
        started = nanos(state[name]["StartedAt"])
        for dep in [d for d, condition in needs.items() if condition == "service_healthy"]:
            log = (state[dep].get("Health") or {}).get("Log") or []
            passed = [nanos(entry["End"]) for entry in log if entry["ExitCode"] == 0]
            if len(log) < 5 and passed:
                assert min(passed) < started, (
                    name,
                    dep,
                    state[dep]["Health"],
                    state[name]["StartedAt"],
                )


def test_default_layout_starts_in_dependency_order(default_stack):
    check_start_order(default_stack)


def test_all_databases_layout_starts_in_dependency_order(full_stack):
    check_start_order(full_stack)


def test_every_service_is_healthy_and_databases_are_not_published(full_stack):
    project = full_stack.project
    rows = project.compose("ps", "--all", "--format", "json", timeout=60).stdout.strip()
    ps = json.loads(rows) if rows.startswith("[") else [json.loads(r) for r in rows.splitlines()]
    assert sorted(r["Service"] for r in ps) == sorted(s["name"] for s in project.services)
    for row in ps:
        assert row["Health"] == "healthy", row
        published = [p for p in row.get("Publishers") or [] if p.get("PublishedPort")]
        if row["Service"] in project.named("database"):
            assert not published, row
        else:
            assert all(p["URL"] == "127.0.0.1" for p in published), row


# ------------------------------------------------------------------------------ start budgets


def seconds(duration: str) -> float:
    """A compose duration of whole units (`30s`, `1m30s`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def check_start_budgets(stack: Stack) -> None:
    """Every service turned healthy within its kind's own start budget (kind.yml healthcheck
    start_period, plus one interval for the probe that sees it), with generous slack for a
    shared, loaded engine (twice the budget, plus 10 s): a bound, not the benchmark's timing."""
    project = stack.project
    tset = load_template_set("default")
    seen = events(stack)
    report = []
    for svc in project.services:
        health = tset.kinds[svc["kind"]].healthcheck
        assert health is not None, svc  # every bundled kind documents its budget
        budget = seconds(health.start_period) + seconds(health.interval)
        took = (seen[svc["name"]]["healthy"] - seen[svc["name"]]["start"]) / 1e9
        report.append(
            f"{svc['name']} ({svc['kind']}): healthy {took:.1f} s after start, budget {budget:g} s"
        )
        assert took <= 2 * budget + 10, "\n".join(report)


def test_default_layout_is_healthy_within_each_kinds_start_budget(default_stack):
    check_start_budgets(default_stack)


def test_all_databases_layout_is_healthy_within_each_kinds_start_budget(full_stack):
    check_start_budgets(full_stack)
