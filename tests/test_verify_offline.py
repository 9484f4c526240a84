"""`dockergen verify` without an engine: the override it merges, the compose commands it runs
(through a recording fake of the engine), and what its command line prints.

The real runs, beside a user's running stack on the lab's engine, are in tests/e2e/test_verify.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from scaffold import verify as verify_mod
from scaffold.cli import app
from scaffold.engine import Engine, version_tuple
from scaffold.errors import Aborted, EngineError
from scaffold.verify import (
    ServiceStatus,
    VerifyResult,
    isolation_problems,
    override_yaml,
    stack_name,
    verify_project,
)

RESET = object()


class ResetLoader(yaml.SafeLoader):
    """Reads Compose's `!reset` tag as a marker, to see what the override resets."""


ResetLoader.add_constructor("!reset", lambda _loader, _node: RESET)

# What `docker compose config --format json` says about a user's project (trimmed).
USER_MODEL: dict[str, Any] = {
    "name": "shop",
    "services": {
        "api": {
            "build": {"context": "/p/api"},
            "image": "registry.example/shop-api:1",
            "ports": [{"target": 8000, "published": "8000", "host_ip": "127.0.0.1"}],
        },
        "db": {"image": "postgres:17-trixie", "container_name": "shop-db"},
        "web frontend": {"build": {"context": "/p/web"}},
    },
    "volumes": {"db-data": {"name": "shop_db-data"}, "seed": {"name": "seed", "external": True}},
    "networks": {"edge": {"name": "shop_edge"}, "shared": {"name": "corp", "external": True}},
}


def test_the_override_resets_everything_the_users_stack_could_share() -> None:
    text = override_yaml(USER_MODEL)
    data = yaml.load(text, Loader=ResetLoader)
    assert sorted(data["services"]) == ["api", "db", "web frontend"]
    for name, svc in data["services"].items():
        assert svc["ports"] is RESET and svc["container_name"] is RESET, name
    # built services get verify's own image tag; a pulled image keeps its reference
    assert data["services"]["api"]["image"] is RESET
    assert data["services"]["web frontend"]["image"] is RESET
    assert "image" not in data["services"]["db"]
    for section in ("volumes", "networks"):
        assert sorted(data[section]) == sorted(USER_MODEL[section])
        for entry in data[section].values():
            assert entry == {"name": RESET, "external": RESET}
    assert "8000" not in text and "shop" not in text  # nothing of the user's is restated


def test_the_override_of_a_project_without_volumes_or_networks_is_services_only() -> None:
    data = yaml.load(override_yaml({"services": {"a": {}}}), Loader=ResetLoader)
    assert list(data) == ["services"]


def test_verify_stack_names_are_the_projects_plus_a_unique_suffix() -> None:
    names = {stack_name("shop") for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert re.fullmatch(r"shop-verify-[0-9a-f]{6}", name), name
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name)  # what Compose accepts
    assert stack_name("shop", "abc123") == "shop-verify-abc123"


def merged_model(name: str, **changes: Any) -> dict[str, Any]:
    model: dict[str, Any] = {
        "name": name,
        "services": {"api": {"build": {}}, "db": {"image": "postgres:17-trixie"}},
        "volumes": {"db-data": {"name": f"{name}_db-data"}},
        "networks": {"default": {"name": f"{name}_default"}},
    }
    model.update(changes)
    return model


def test_isolation_problems_find_what_the_override_did_not_take() -> None:
    name = "shop-verify-abc123"
    assert isolation_problems(merged_model(name), name) == []
    leaky = merged_model(
        name,
        services={"api": {"ports": [{"target": 80, "published": "8080"}], "container_name": "x"}},
        volumes={"db-data": {"name": "shop_db-data"}, "seed": {"name": "seed", "external": True}},
    )
    problems = isolation_problems(leaky, name)
    assert any("api still publishes host ports" in p for p in problems), problems
    assert any("container_name x" in p for p in problems), problems
    assert any("volume db-data is shop_db-data" in p for p in problems), problems
    assert any("volume seed" in p for p in problems), problems
    assert isolation_problems(merged_model("shop"), name)  # the user's own name


def test_compose_command_carries_the_project_name_and_every_file_in_order() -> None:
    engine = Engine(docker="/usr/bin/docker")
    cmd = engine.compose_command(
        Path("/p"), "up", "--wait", name="shop-verify-1", files=[Path("/p/a.yml"), Path("/t/b.yml")]
    )
    assert cmd == [
        "/usr/bin/docker",
        "compose",
        "--project-directory",
        "/p",
        "--project-name",
        "shop-verify-1",
        "--file",
        "/p/a.yml",
        "--file",
        "/t/b.yml",
        "up",
        "--wait",
    ]
    assert engine.compose_command(Path("/p"), "ps") == [
        "/usr/bin/docker",
        "compose",
        "--project-directory",
        "/p",
        "ps",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.40.3", (2, 40, 3)), ("v2.24.0-desktop.1", (2, 24, 0)), ("2.23", (2, 23)), ("", ())],
)
def test_compose_versions_parse(text: str, expected: tuple[int, ...]) -> None:
    assert version_tuple(text) == expected


# ---------------------------------------------------------------- verify_project on a fake engine


def done(stdout: str = "", returncode: int = 0, stderr: str = "") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


class FakeEngine(Engine):
    """Records every compose call; answers like Compose 2.40 for a healthy two-service stack
    (or one whose `up` fails, or is interrupted by Ctrl-C)."""

    def __init__(self, *, version: str = "2.40.3", up: str = "ok", model: Any = None) -> None:
        super().__init__(docker="docker", compose_version=version)
        object.__setattr__(self, "model", model or USER_MODEL)
        object.__setattr__(self, "calls", [])
        object.__setattr__(self, "up_mode", up)
        object.__setattr__(self, "alive", set())
        object.__setattr__(self, "images", set())
        object.__setattr__(self, "removed_images", [])

    def compose(self, project: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess:
        name, files = kw.get("name"), [str(f) for f in kw.get("files", ())]
        self.calls.append({**kw, "args": list(args), "name": name, "files": files})
        if args[0] == "config":
            if self.up_mode == "interrupt-config":
                raise KeyboardInterrupt
            if name is None:
                return done(json.dumps(self.model))
            return done(json.dumps(merged_model(name)))
        if args[0] == "build":
            self.images.update({f"{name}-api"})
            if self.up_mode == "build-fail":
                return done(returncode=1, stderr="failed to solve: process did not complete")
        if args[0] == "up":
            self.alive.update({"c-api", "c-db"})
            if self.up_mode == "interrupt":
                raise KeyboardInterrupt
            if self.up_mode == "fail":
                return done(returncode=1, stderr="container shop-verify-x-api-1 exited (3)")
        if args[0] == "ps":
            rows = [{"ID": "c-api", "Service": "api"}, {"ID": "c-db", "Service": "db"}]
            return done("\n".join(json.dumps(r) for r in rows))
        if args[0] == "logs":
            return done("".join(f"line {i}\n" for i in range(20)))
        if args[0] == "down" and self.alive:  # Compose removes nothing without a container
            self.alive.clear()
            self.images.clear()
        return done()

    def inspect(self, *ids: str, kind: str = "container") -> list[dict[str, Any]]:
        if kind == "image":
            return [{"Id": "sha256:1", "Size": 50e6}]
        failing = self.up_mode == "fail"
        return [
            {
                "Name": f"/{i}",
                "Image": "sha256:1",
                "Config": {"Image": "img", "User": "10001"},
                "State": {
                    "Health": {"Status": "unhealthy" if failing and i == "c-api" else "healthy"}
                },
            }
            for i in ids
        ]

    def labelled(self, kind: str, label: str, *, shield: bool = False) -> list[str]:
        return sorted({"container": self.alive, "image": self.images}.get(kind, set()))

    def remove_images(self, label: str, *, shield: bool = False) -> None:
        self.removed_images.append((label, shield))
        self.images.clear()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "docker-compose.yml").write_text("name: shop\nservices: {}\n")
    return tmp_path


def test_every_command_after_reading_the_users_config_runs_under_verifys_own_name(
    project: Path,
) -> None:
    engine = FakeEngine()
    result = verify_project(project, engine=engine)
    assert result.ok, result
    first, *rest = engine.calls
    assert first["args"][:1] == ["config"] and first["name"] is None  # the user's model, read
    assert re.fullmatch(r"shop-verify-[0-9a-f]{6}", result.stack)
    assert [c["args"][0] for c in rest] == ["config", "build", "up", "ps", "down"]
    for call in rest:
        assert call["name"] == result.stack, call
        assert call["files"][0] == str(project / "docker-compose.yml")
        assert call["files"][-1].endswith("verify.override.yml")
    down = rest[-1]
    assert down["args"][:5] == ["down", "--volumes", "--remove-orphans", "--rmi", "local"]
    assert down["shield"] is True  # out of reach of a second Ctrl-C
    assert result.torn_down == f"{result.stack}: removed 2 containers, 1 image"
    assert engine.removed_images == []  # `down --rmi local` took them
    assert not Path(rest[-1]["files"][-1]).exists()  # the override file is gone too


def test_a_users_compose_override_file_is_merged_before_verifys(project: Path) -> None:
    (project / "compose.override.yaml").write_text("services: {}\n")
    engine = FakeEngine()
    verify_project(project, engine=engine)
    files = engine.calls[-1]["files"]
    assert files[:2] == [
        str(project / "docker-compose.yml"),
        str(project / "compose.override.yaml"),
    ]


def test_an_unhealthy_service_brings_its_last_log_lines(project: Path) -> None:
    result = verify_project(project, engine=FakeEngine(up="fail"))
    assert not result.ok and "exited (3)" in (result.error or "")
    by_name = {s.service: s for s in result.services}
    assert by_name["api"].logs == tuple(f"line {i}" for i in range(20))
    assert by_name["db"].logs == ()  # healthy: no logs fetched


def test_a_read_write_bind_mount_is_warned_of_before_anything_is_built(project: Path) -> None:
    bind = {"type": "bind", "source": "/p/pgdata", "target": "/var/lib/postgresql/data"}
    engine = FakeEngine(model={"name": "shop", "services": {"db": {"volumes": [bind]}}})
    heard = []
    result = verify_project(
        project, engine=engine, warn=lambda m: heard.append((m, len(engine.calls)))
    )
    assert heard == [(result.warnings[0], 2)]  # after the two `config` calls, before `build`
    assert result.warnings[0].startswith("service db bind-mounts /p/pgdata read-write")


def test_a_failed_build_removes_the_images_verify_tagged(project: Path) -> None:
    engine = FakeEngine(up="build-fail")
    result = verify_project(project, engine=engine)
    assert (
        not result.ok and result.error == "build failed: failed to solve: process did not complete"
    )
    assert engine.removed_images == [(f"com.docker.compose.project={result.stack}", True)]
    assert result.torn_down == f"{result.stack}: removed 1 image"


def test_keep_leaves_the_stack_and_names_the_command_that_removes_it(project: Path) -> None:
    engine = FakeEngine()
    result = verify_project(project, engine=engine, keep=True)
    assert "down" not in [c["args"][0] for c in engine.calls]
    assert result.torn_down.endswith(f"docker compose -p {result.stack} down --volumes --rmi local")


def test_ctrl_c_tears_down_what_verify_started_and_says_so(project: Path) -> None:
    engine = FakeEngine(up="interrupt")
    with pytest.raises(Aborted) as caught:
        verify_project(project, engine=engine)
    assert caught.value.exit_code == 130
    assert engine.calls[-1]["args"][0] == "down"
    assert re.fullmatch(
        r"interrupted; verify's stack shop-verify-[0-9a-f]{6}: removed 2 containers, 1 image",
        caught.value.line(),
    )


def test_ctrl_c_before_anything_was_built_says_the_users_stack_was_not_touched(
    project: Path,
) -> None:
    engine = FakeEngine(up="interrupt-config")
    with pytest.raises(Aborted) as caught:
        verify_project(project, engine=engine)
    assert caught.value.exit_code == 130
    assert caught.value.line() == (
        "interrupted before verify built or started anything; your stack was not touched"
    )
    assert [c["args"][0] for c in engine.calls] == ["config"]


def test_compose_older_than_2_24_is_refused_in_one_line_before_anything_runs(
    project: Path,
) -> None:
    engine = FakeEngine(version="2.23.3")
    with pytest.raises(EngineError) as caught:
        verify_project(project, engine=engine)
    assert "Docker Compose 2.24 or later" in caught.value.line()
    assert "2.23.3" in caught.value.line()
    assert engine.calls == []


def test_an_override_compose_did_not_apply_stops_verify_before_it_builds(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine()
    monkeypatch.setattr(verify_mod, "isolation_problems", lambda _m, _n: ["api publishes ports"])
    with pytest.raises(EngineError, match="did not apply verify's override"):
        verify_project(project, engine=engine)
    assert [c["args"][0] for c in engine.calls] == ["config", "config"]


# ---------------------------------------------------------------- the command line


def fake_verify(result: VerifyResult):
    def run(project: Path, **kwargs: Any) -> VerifyResult:
        kwargs["step"]("building images")
        kwargs["step"]("starting services and waiting for healthchecks")
        return result

    return run


HEALTHY = VerifyResult(
    services=[ServiceStatus("api", "shop-verify-a-api", 50, "10001", "healthy")],
    error=None,
    torn_down="shop-verify-a: removed 1 container",
    stack="shop-verify-a",
)


def plain(text: str) -> str:
    """What a terminal shows: hyperlinks (OSC 8) and colour/cursor codes (CSI) taken out."""
    text = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\", "", text)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_progress_lines_on_a_terminal_carry_no_source_location(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(verify_mod, "verify_project", fake_verify(HEALTHY))
    result = CliRunner().invoke(
        app, ["verify", str(tmp_path)], env={"TTY_COMPATIBLE": "1", "COLUMNS": "120"}
    )
    assert result.exit_code == 0, result.output
    shown = plain(result.stderr)
    assert "building images" in shown, shown
    assert "starting services" in shown, shown
    assert not re.search(r"\.py\b", shown), shown


def test_no_progress_lines_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(verify_mod, "verify_project", fake_verify(HEALTHY))
    result = CliRunner().invoke(app, ["verify", str(tmp_path)], env={"TTY_COMPATIBLE": "0"})
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "verify stack shop-verify-a: removed 1 container" in result.stdout
    assert "all 1 services healthy" in result.stdout


def test_a_failing_service_has_its_log_lines_printed_under_the_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    failing = VerifyResult(
        services=[
            ServiceStatus("api", "i", 50, "10001", "exited", logs=("[boom] Traceback", "Error: x")),
            ServiceStatus("db", "i", 50, "999", "healthy"),
            ServiceStatus("web", "i", 50, "101", "created"),
        ],
        error="not every service became healthy: api exited (3)",
        torn_down="shop-verify-a: removed 3 containers",
        stack="shop-verify-a",
    )
    monkeypatch.setattr(verify_mod, "verify_project", fake_verify(failing))
    result = CliRunner().invoke(app, ["verify", str(tmp_path)], env={"COLUMNS": "120"})
    assert result.exit_code == 1, result.output
    out = result.stdout
    table_end = out.rindex("└")
    assert out.index("--- api (exited): last 2 log lines\n[boom] Traceback\nError: x\n") > table_end
    assert "--- web (created): no log output\n" in out
    assert "--- db" not in out
    assert result.stderr.strip() == "dockergen: not every service became healthy: api exited (3)"


def test_read_write_bind_mounts_are_named_as_shared_with_verifys_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = {
        "services": {
            "db": {"volumes": [{"type": "bind", "source": "/p/data", "target": "/var/lib/db"}]},
            "api": {
                "volumes": [
                    {"type": "bind", "source": "/p/conf", "target": "/c", "read_only": True},
                    {"type": "volume", "source": "cache", "target": "/cache"},
                ]
            },
        }
    }
    assert verify_mod.shared_bind_mounts(model) == [
        "service db bind-mounts /p/data read-write: verify's copy of the stack writes into it too"
    ]

    def run(project: Path, **kwargs: Any) -> VerifyResult:
        for warning in verify_mod.shared_bind_mounts(model):
            kwargs["warn"](warning)
        return HEALTHY

    monkeypatch.setattr(verify_mod, "verify_project", run)
    result = CliRunner().invoke(app, ["verify", str(tmp_path)], env={"TTY_COMPATIBLE": "0"})
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "dockergen: warning: service db bind-mounts /p/data read-write: verify's copy of the "
        "stack writes into it too\n"
    )


def test_clean_and_keep_together_are_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["verify", str(tmp_path), "--clean", "--keep"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "dockergen: --clean and --keep contradict each other"
