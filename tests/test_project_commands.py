"""Project commands as a user runs them day to day (issue 9, section 6): from a subfolder, after
deleting a generated file, removing a database, adding a second service of a kind."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from projects import generate
from typer.testing import CliRunner, Result

from scaffold.checkers import find_tool
from scaffold.cli import app

runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    data = {
        "services": [
            {"name": "api", "kind": "fastapi"},
            {"name": "redis", "kind": "redis"},
        ]
    }
    generate(target, data)
    return target


# ------------------------------------------------------------ the project root, found upward


@pytest.mark.parametrize(
    "args",
    [["diff", "--exit-code"], ["update"], ["add", "postgres"], ["remove", "redis"]],
    ids=["diff", "update", "add", "remove"],
)
def test_commands_find_the_project_from_a_subfolder(
    shop: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(shop / "api" / "app")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "no .dockergen" not in result.output
    assert not (shop / "api" / "app" / ".dockergen").exists()
    if args[0] == "add":
        assert (shop / "secrets" / "postgres_api_password").is_file()
    if args[0] == "remove":
        assert "redis" not in (shop / "docker-compose.yml").read_text()


def test_verify_finds_the_project_from_a_subfolder(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []

    def fake_verify(project: Path, **_: Any) -> Any:
        seen.append(project)
        raise SystemExit(0)

    monkeypatch.setattr("scaffold.verify.verify_project", fake_verify)
    monkeypatch.chdir(shop / "api")
    invoke("verify")
    assert seen == [shop]


def test_an_explicit_project_still_wins(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    generate(other, {"services": [{"name": "web", "kind": "static"}]})
    monkeypatch.chdir(shop / "api")
    result = invoke("diff", "--project", str(other))
    assert result.exit_code == 0 and "other is up to date" in result.stdout
    result = invoke("diff", str(other))
    assert result.exit_code == 0 and "other is up to date" in result.stdout


def test_outside_any_project_the_error_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("update")
    assert result.exit_code == 2
    assert "is this a dockergen project?" in result.stderr


# ------------------------------------------------------------ remove: the volume it leaves


def test_remove_names_the_kept_volume_and_how_to_delete_it(shop: Path) -> None:
    compose = find_tool("docker-compose")
    if compose is None:
        pytest.skip("docker-compose (the test extra) not installed")
    config = subprocess.run(
        [compose, "config", "--format", "json"], cwd=shop, capture_output=True, text=True
    )
    assert config.returncode == 0, config.stderr
    engine_name = json.loads(config.stdout)["volumes"]["redis-data"]["name"]
    assert engine_name == "shop_redis-data"
    result = invoke("remove", "redis", "--project", str(shop))
    assert result.exit_code == 0, result.output
    assert (
        f"  volume    {engine_name} (kept with its data; once its container is gone, e.g. after "
        f"`docker compose up -d --remove-orphans`, `docker volume rm {engine_name}` deletes it)"
    ) in result.stdout.splitlines()


def test_removing_a_service_without_a_volume_names_none(shop: Path) -> None:
    invoke("add", "go", "--name", "worker", "--project", str(shop))
    result = invoke("remove", "worker", "--project", str(shop))
    assert result.exit_code == 0, result.output
    assert "volume" not in result.stdout


# ------------------------------------------------------------ a generated file the user deleted


def test_a_deleted_generated_file_is_listed_as_kept_deleted(shop: Path) -> None:
    (shop / "api" / "app" / "readiness.py").unlink()
    line = "  deleted   api/app/readiness.py (by you: kept deleted; --restore brings it back)"
    result = invoke("diff", "--project", str(shop))
    assert result.exit_code == 0, result.output
    assert "shop is up to date" in result.stdout
    assert line in result.stdout.splitlines()
    result = invoke("update", "--project", str(shop))
    assert result.exit_code == 0, result.output
    assert "shop is up to date" in result.stdout
    assert line in result.stdout.splitlines()
    assert not (shop / "api" / "app" / "readiness.py").exists()
    result = invoke("update", "--project", str(shop), "--set", "services.api.port=8001")
    assert line in result.stdout.splitlines()  # and within a real update's list
    result = invoke("update", "--project", str(shop), "--restore")
    assert (shop / "api" / "app" / "readiness.py").is_file()
    assert "kept deleted" not in invoke("diff", "--project", str(shop)).stdout


# ------------------------------------------------------------ add: the name it picks


def test_add_help_says_the_name_it_picks(shop: Path) -> None:
    help_text = " ".join(invoke("add", "--help").stdout.split())
    assert "the kind's default name, numbered when a service already has it" in help_text
    result = invoke("add", "go", "--project", str(shop))
    assert result.exit_code == 0, result.output
    assert "created   api-2/Dockerfile" in result.stdout
    assert "api-2" in (shop / "docker-compose.yml").read_text()
