"""`dockergen update`, `add`, `remove` and `diff`: the merge into a real project, end to end.

The projects use a small test set (a copy of the bundled one with its own `web` backend kind),
so the expected lines don't move when the bundled kinds change; it and the helpers shared with
test_update_matrix.py and test_atomic.py (`make_sets`, `create`, `files_of`...) are in
projects.py.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projects import (
    base_layout,
    create,
    files_of,
    make_sets,
    skip_unless_kinds,
    use_set,
    without_secrets,
)
from typer.testing import CliRunner, Result

from scaffold.cli import app
from scaffold.edits import add_service, remove_service, rewrite_layout, set_values
from scaffold.errors import ConflictError, StateError, UsageError
from scaffold.merge import Outcome
from scaffold.update import update_project

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_sets(tmp_path_factory.mktemp("sets"))


@pytest.fixture
def template(tmp_path: Path, sets: tuple[Path, Path]) -> Path:
    """This test's template folder, holding v1; `use_set(template, sets[1])` upgrades it."""
    use_set(tmp_path / "set", sets[0])
    return tmp_path / "set"


@pytest.fixture
def project(tmp_path: Path, template: Path) -> Path:
    return create(tmp_path / "demo", base_layout(template))


runner = CliRunner()


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def expected_tree(tmp_path: Path, data: dict[str, Any]) -> dict[str, bytes]:
    """What `new` writes for this layout, .dockergen/ included (secrets are random: left out)."""
    target = create(tmp_path / "expected" / "demo", data)
    return without_secrets(files_of(target, internal=True))


# ------------------------------------------------------------------ no-op and identity


def test_update_without_changes_writes_nothing(project: Path) -> None:
    before = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in project.rglob("*")}
    result = update_project(project)
    assert not result.changed and not result.files
    assert {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in project.rglob("*")} == before


def test_update_leaves_the_same_tree_as_new_for_the_same_layout(
    tmp_path: Path, project: Path, template: Path, sets: tuple[Path, Path]
) -> None:
    use_set(template, sets[1])
    update_project(project, edit=add_service("postgres", "db"))
    data = base_layout(template)
    data["services"].append({"name": "db", "kind": "postgres", "port": 5432})
    data["project"] = "demo"
    assert without_secrets(files_of(project, internal=True)) == expected_tree(tmp_path, data)
    assert update_project(project).changed is False


def test_second_update_after_a_merge_is_a_no_op(
    project: Path, template: Path, sets: tuple[Path, Path]
) -> None:
    dockerfile = project / "api" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER", "ENV TZ=UTC\nUSER"))
    use_set(template, sets[1])
    assert update_project(project).changed
    assert not update_project(project).changed


# ------------------------------------------------------------------ hand-edited dockergen.yml


def test_hand_edited_layout_regenerates_and_keeps_the_users_text(project: Path) -> None:
    layout_file = project / "dockergen.yml"
    text = layout_file.read_text().replace("port: 8000", "port: 8050") + "# my note\n"
    layout_file.write_text(text)
    result = update_project(project)
    assert layout_file.read_text() == text  # the input is never rewritten by a plain update
    assert "EXPOSE 8050" in (project / "api" / "Dockerfile").read_text()
    assert '"127.0.0.1:8050:8050"' in (project / "docker-compose.yml").read_text()
    assert {f.path for f in result.files} >= {"api/Dockerfile", "docker-compose.yml"}
    assert not update_project(project).changed


def test_broken_layout_is_one_line_exit_2_and_nothing_written(project: Path) -> None:
    (project / "dockergen.yml").write_text("services: [\n")
    before = files_of(project, internal=True)
    result = invoke("update", str(project))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "malformed YAML" in result.stderr
    assert files_of(project, internal=True) == before


def test_invalid_layout_names_the_field(project: Path) -> None:
    (project / "dockergen.yml").write_text(
        (project / "dockergen.yml").read_text().replace("kind: web\n  port: 8000", "kind: nope")
    )
    result = invoke("update", str(project))
    assert result.exit_code == 2
    assert "unknown kind 'nope'" in result.stderr


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: (p / ".dockergen" / "state.json").write_text("{"),
        lambda p: (p / ".dockergen" / "base" / "docker-compose.yml").write_text("x"),
        lambda p: (p / ".dockergen" / "base" / "api" / "Dockerfile").unlink(),
        lambda p: shutil.rmtree(p / ".dockergen"),
    ],
    ids=["state-json", "pristine-changed", "pristine-missing", "no-state-dir"],
)
def test_corrupt_state_is_one_line_exit_2_and_nothing_written(
    project: Path, damage: Callable[[Path], None]
) -> None:
    damage(project)
    before = files_of(project, internal=True)
    for args in (
        ["update", str(project)],
        ["diff", str(project)],
        ["remove", "worker", "-p", str(project)],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith("dockergen: ")
        assert files_of(project, internal=True) == before


# ------------------------------------------------------------------ --set


def test_set_port_and_option(project: Path) -> None:
    update_project(
        project, edit=set_values(["services.api.port=8001", "options.syntax_line=false"])
    )
    data = yaml.safe_load((project / "dockergen.yml").read_text())
    assert data["services"][0] == {"name": "api", "kind": "web", "port": 8001}
    assert data["options"] == {"syntax_line": False}
    dockerfile = (project / "api" / "Dockerfile").read_text()
    assert "EXPOSE 8001" in dockerfile and "# syntax=" not in dockerfile
    update_project(project, edit=set_values(["options.syntax_line="]))  # empty: back to default
    assert "options" not in yaml.safe_load((project / "dockergen.yml").read_text())
    assert (project / "api" / "Dockerfile").read_text().startswith("# syntax=")


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("services.api.port", "use KEY=VALUE"),
        ("services.nope.port=1", "no service named 'nope'"),
        ("services.port=1", "use services.NAME.FIELD"),
        ("colour=blue", "use services.NAME.FIELD"),
        ("services.api.port=[1", "not a valid YAML scalar"),
    ],
)
def test_set_rejects_bad_assignments(project: Path, assignment: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        update_project(project, edit=set_values([assignment]))


def test_set_value_is_validated_like_the_file(project: Path) -> None:
    before = files_of(project, internal=True)
    result = invoke("update", str(project), "--set", "services.api.port=http")
    assert result.exit_code == 2
    assert "--set services.api.port=http: a port is a whole number from 1 to 65535" in result.stderr
    result = invoke("update", str(project), "--set", "services.api.port=8100")
    assert result.exit_code == 2 and "port 8100 is used by both" in result.stderr
    assert files_of(project, internal=True) == before


# ------------------------------------------------------------------ publish (the host port)

GOLDEN = Path(__file__).resolve().parent / "golden"


def bundled_project(tmp_path: Path, frontend: str) -> Path:
    """A project of the bundled set: a frontend, two backends, a database."""
    data = {
        "services": [
            {"name": "site", "kind": frontend},
            {"name": "api", "kind": "fastapi"},
            {"name": "orders", "kind": "go"},
            {"name": "db", "kind": "postgres"},
        ]
    }
    skip_unless_kinds(data)
    return create(tmp_path / "shop", data)


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {rel for rel in set(before) | set(after) if before.get(rel) != after.get(rel)}


def compose_ports(project: Path) -> dict[str, list[str]]:
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    return {name: svc.get("ports", []) for name, svc in compose["services"].items()}


@pytest.mark.parametrize("service", ["site", "api"])
def test_set_publish_rewrites_only_compose_and_its_readme(tmp_path: Path, service: str) -> None:
    """The host port is compose's business: no Dockerfile, nginx.conf or app file changes."""
    project = bundled_project(tmp_path, "static")
    before = files_of(project)
    inside = {
        s["name"]: str(s["port"])
        for s in yaml.safe_load((project / "dockergen.yml").read_text())["services"]
    }
    # a backend behind the frontend isn't published by default; the frontend is
    assert bool(compose_ports(project)[service]) == (service == "site")
    result = invoke("update", str(project), "--set", f"services.{service}.publish=18001")
    assert result.exit_code == 0, result.output
    assert changed_files(before, files_of(project)) == {
        "docker-compose.yml",
        "README.md",
        "dockergen.yml",
    }
    assert compose_ports(project)[service] == [f"127.0.0.1:18001:{inside[service]}"]
    assert f"| `{service}` |" in (project / "README.md").read_text()
    assert "http://127.0.0.1:18001 |" in (project / "README.md").read_text()
    entry = next(
        s
        for s in yaml.safe_load((project / "dockergen.yml").read_text())["services"]
        if s["name"] == service
    )
    assert entry["publish"] == 18001 and entry["port"] == int(inside[service])
    # false: not published at all; empty: back to the default (the same number as port)
    assert (
        invoke("update", str(project), "--set", f"services.{service}.publish=false").exit_code == 0
    )
    assert compose_ports(project)[service] == []
    # for api, false says what its default already says: only dockergen.yml records it
    expected = (
        {"dockergen.yml"}
        if service == "api"
        else {"docker-compose.yml", "README.md", "dockergen.yml"}
    )
    assert changed_files(before, files_of(project)) == expected
    assert invoke("update", str(project), "--set", f"services.{service}.publish=").exit_code == 0
    assert files_of(project) == before


def test_set_publish_of_a_backend_moves_the_vite_dev_proxy_only(tmp_path: Path) -> None:
    """`npm run dev` runs on the host and reaches backends where compose publishes them, so the
    react dev-server proxy follows `publish`; the image's nginx.conf and Dockerfiles don't."""
    project = bundled_project(tmp_path, "react")
    before = files_of(project)
    result = invoke("update", str(project), "--set", "services.api.publish=18001")
    assert result.exit_code == 0, result.output
    assert changed_files(before, files_of(project)) == {
        "docker-compose.yml",
        "README.md",
        "dockergen.yml",
        "site/vite.config.js",
    }
    vite = (project / "site" / "vite.config.js").read_text()
    assert "target: 'http://127.0.0.1:18001'" in vite
    nginx = (project / "site" / "nginx.conf").read_text()
    assert "http://api:8000" in nginx and "18001" not in nginx
    assert compose_ports(project)["api"] == ["127.0.0.1:18001:8000"]
    # not published: the dev proxy sends it to where its own dev server listens, its port
    assert invoke("update", str(project), "--set", "services.api.publish=false").exit_code == 0
    vite = (project / "site" / "vite.config.js").read_text()
    assert "'/api/api/': {\n        target: 'http://127.0.0.1:8000'" in vite
    assert "'/api/orders/'" in vite
    assert "'/api/': {\n        target: 'http://127.0.0.1:8000'" in vite  # the first backend


def test_set_port_still_moves_the_port_inside(tmp_path: Path) -> None:
    """`port` keeps its meaning: the Dockerfile, the proxies and the published port follow it."""
    project = bundled_project(tmp_path, "react")
    result = invoke("update", str(project), "--set", "services.api.port=8001")
    assert result.exit_code == 0, result.output
    assert "EXPOSE 8001" in (project / "api" / "Dockerfile").read_text()
    assert "http://api:8001" in (project / "site" / "nginx.conf").read_text()
    assert compose_ports(project)["api"] == []  # behind the frontend: not published
    # its dev server moves with it, and the frontend's dev proxy follows
    assert "target: 'http://127.0.0.1:8001'" in (project / "site" / "vite.config.js").read_text()
    assert invoke("update", str(project), "--set", "services.api.publish=8001").exit_code == 0
    assert compose_ports(project)["api"] == ["127.0.0.1:8001:8001"]


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("services.api.publish=0", "--set services.api.publish=0: a port is 1 to 65535, or false"),
        (
            "services.api.publish=true",
            "--set services.api.publish=true: a port is 1 to 65535, or false",
        ),
        (
            "services.api.publish=web",
            "--set services.api.publish=web: a port is 1 to 65535, or false",
        ),
        ("services.db.publish=5432", "service 'db': a database is never published"),
        ("services.api.publish=8080", "port 8080 is used by both 'site' and 'api'"),
    ],
)
def test_set_publish_errors_are_one_line(tmp_path: Path, assignment: str, message: str) -> None:
    project = bundled_project(tmp_path, "static")
    before = files_of(project, internal=True)
    line = invoke("update", str(project), "--set", assignment)
    assert line.exit_code == 2, line.output
    assert len(line.stderr.splitlines()) == 1 and message in line.stderr, line.stderr
    assert "Input should" not in line.stderr
    assert files_of(project, internal=True) == before


@pytest.mark.parametrize("scenario", sorted(p.parent.name for p in GOLDEN.glob("*/layout.yml")))
def test_a_dockergen_yml_from_before_publish_means_what_it_meant(
    tmp_path: Path, scenario: str
) -> None:
    """A golden's dockergen.yml was written by `new` before `publish` existed (it has none).
    Generated again, it is written back byte for byte, every published service is published
    on its `port`, and `update` and `diff` find nothing to do."""
    text = (GOLDEN / scenario / "expected" / "dockergen.yml").read_text()
    data = yaml.safe_load(text)
    assert all("publish" not in s for s in data["services"])
    skip_unless_kinds(data)
    project = create(tmp_path / scenario, data)
    assert (project / "dockergen.yml").read_text() == text
    ports = compose_ports(project)
    for entry in data["services"]:
        if ports[entry["name"]]:
            assert ports[entry["name"]] == [f"127.0.0.1:{entry['port']}:{entry['port']}"]
    before = files_of(project, internal=True)
    assert not update_project(project).changed
    assert files_of(project, internal=True) == before
    assert invoke("diff", str(project), "--exit-code").exit_code == 0


def test_switching_to_another_set_folder_records_it_relative_to_the_project(
    tmp_path: Path, project: Path, sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "team-set"
    shutil.copytree(sets[1], other)
    monkeypatch.chdir(tmp_path)  # the command line's relative path is taken from here
    result = invoke("update", str(project), "--template", "./team-set")
    assert result.exit_code == 0, result.output
    recorded = yaml.safe_load((project / "dockergen.yml").read_text())["template"]
    assert recorded == os.path.relpath(other, project)
    assert (project / recorded).resolve() == other.resolve()
    assert "template set default 1.0.0 -> 2.0.0" in result.stdout
    # dockergen.yml's relative path is the project's, whatever the current directory
    monkeypatch.chdir(project)
    result = invoke("update", "--set", "services.api.port=8001")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((project / "dockergen.yml").read_text())["template"] == recorded


def test_library_edit_records_a_relative_set_folder_as_the_cli_does(
    tmp_path: Path, project: Path, sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "team-set"
    shutil.copytree(sets[1], other)
    monkeypatch.chdir(tmp_path)
    update_project(project, edit=set_values(["template=./team-set"]))
    recorded = yaml.safe_load((project / "dockergen.yml").read_text())["template"]
    assert recorded == os.path.relpath(other, project)


def test_switching_to_a_set_folder_by_absolute_path_records_it_absolute(
    tmp_path: Path, project: Path, sets: tuple[Path, Path]
) -> None:
    other = tmp_path / "team-set"
    shutil.copytree(sets[1], other)
    result = invoke("update", str(project), "--template", str(other))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((project / "dockergen.yml").read_text())["template"] == str(other)


def test_project_and_its_relative_set_move_together(
    tmp_path: Path, project: Path, sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository holding a project and its set folder works from any clone location."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(sets[1], repo / "sets" / "team")
    shutil.move(project, repo / "app")
    monkeypatch.chdir(repo)
    result = invoke("update", "app", "--template", "sets/team")
    assert result.exit_code == 0, result.output
    moved = tmp_path / "elsewhere"
    shutil.move(repo, moved)
    monkeypatch.chdir(tmp_path)
    result = invoke("diff", str(moved / "app"))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((moved / "app" / "dockergen.yml").read_text())["template"] == (
        "../sets/team"
    )


def test_rename_carries_edits_to_the_new_folder(project: Path) -> None:
    dockerfile = project / "api" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER", "ENV TZ=UTC\nUSER"))
    (project / "api" / "notes.txt").write_text("mine\n")
    result = update_project(project, edit=set_values(["services.api.name=backend"]))
    moved = (project / "backend" / "Dockerfile").read_text()
    assert "ENV TZ=UTC\nUSER" in moved and 'image.title="demo-backend"' in moved
    assert sorted(p.name for p in (project / "api").iterdir()) == ["notes.txt"]
    by_path = {f.path: f for f in result.files}
    assert by_path["backend/Dockerfile"].outcome is Outcome.MERGED
    assert by_path["backend/Dockerfile"].moved_from == "api/Dockerfile"
    assert not update_project(project).changed


# ------------------------------------------------------------------ digest pins (--digests FILE)

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
PINNED_FROM = "FROM python:3.12-slim@{} AS {}"


def _pins(path: Path, digest: str, image: str = "python:3.12-slim") -> str:
    path.write_text(yaml.safe_dump({image: digest}))
    return str(path)


def _froms(project: Path, service: str) -> list[str]:
    text = (project / service / "Dockerfile").read_text()
    return [line for line in text.splitlines() if line.startswith("FROM ")]


def test_new_digests_are_recorded_and_survive_an_update(tmp_path: Path, template: Path) -> None:
    layout_file = tmp_path / "layout.yml"
    layout_file.write_text(yaml.safe_dump(base_layout(template)))
    project = tmp_path / "demo"
    pins = _pins(tmp_path / "pins.yml", D1)
    result = invoke("new", str(project), "--layout", str(layout_file), "--digests", pins)
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((project / "dockergen.yml").read_text())["digests"] == {
        "python:3.12-slim": D1
    }
    pinned = [PINNED_FROM.format(D1, "build"), PINNED_FROM.format(D1, "runtime")]
    assert _froms(project, "api") == pinned
    assert not update_project(project).changed
    assert _froms(project, "api") == _froms(project, "worker") == pinned
    assert invoke("diff", str(project), "--exit-code").exit_code == 0


def test_update_digests_repins_and_keeps_the_users_edit(tmp_path: Path, project: Path) -> None:
    assert "digests" not in yaml.safe_load((project / "dockergen.yml").read_text())
    result = invoke("update", str(project), "--digests", _pins(tmp_path / "d1.yml", D1))
    assert result.exit_code == 0, result.output
    assert _froms(project, "api")[0] == PINNED_FROM.format(D1, "build")
    worker = project / "worker" / "Dockerfile"
    worker.write_text(worker.read_text().replace("USER", "ENV TZ=UTC\nUSER"))
    layout_file = project / "dockergen.yml"
    layout_file.write_text(layout_file.read_text() + "# my note\n")
    # the same image spelled another way: the entry already there takes the new digest
    d2 = _pins(tmp_path / "d2.yml", D2, "docker.io/library/python:3.12-slim")
    result = invoke("update", str(project), "--digests", d2)
    assert result.exit_code == 0, result.output
    pinned = [PINNED_FROM.format(D2, "build"), PINNED_FROM.format(D2, "runtime")]
    assert _froms(project, "api") == _froms(project, "worker") == pinned
    assert (project / "api" / "Dockerfile").read_bytes() == (
        project / ".dockergen" / "base" / "api" / "Dockerfile"
    ).read_bytes()  # unedited: exactly the new render
    assert "ENV TZ=UTC\nUSER" in worker.read_text()
    assert "merged    worker/Dockerfile (your edits kept)" in result.stdout
    text = layout_file.read_text()
    assert yaml.safe_load(text)["digests"] == {"python:3.12-slim": D2}
    assert text.endswith("# my note\n")
    assert not update_project(project).changed


def test_update_digests_with_a_rename(tmp_path: Path, project: Path) -> None:
    dockerfile = project / "api" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("USER", "ENV TZ=UTC\nUSER"))
    pins = _pins(tmp_path / "d1.yml", D1)
    result = invoke("update", str(project), "--set", "services.api.name=backend", "--digests", pins)
    assert result.exit_code == 0, result.output
    moved = (project / "backend" / "Dockerfile").read_text()
    assert "ENV TZ=UTC\nUSER" in moved and PINNED_FROM.format(D1, "build") in moved
    assert "merged    backend/Dockerfile (from api/Dockerfile, your edits kept)" in result.stdout


@pytest.mark.parametrize(
    ("pins", "where", "message"),
    [
        ("python:3.12-slim: sha256:abc\n", "file", "is not a sha256:<64 hex> digest"),
        ("python: " + D1 + "\n", "file", "a digests key is image:tag"),
        ("digests:\n  python:3.12-slim: md5:1\n", "layout", "is not a sha256:<64 hex> digest"),
    ],
)
def test_bad_digests_are_one_line_and_nothing_written(
    tmp_path: Path, project: Path, pins: str, where: str, message: str
) -> None:
    before = files_of(project, internal=True)
    if where == "file":
        (tmp_path / "pins.yml").write_text(pins)
        result = invoke("update", str(project), "--digests", str(tmp_path / "pins.yml"))
    else:
        layout_file = project / "dockergen.yml"
        layout_file.write_text(layout_file.read_text().replace("services:", pins + "services:"))
        before = files_of(project, internal=True)
        result = invoke("update", str(project))
        assert "dockergen.yml: digests: python:3.12-slim:" in result.stderr
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert files_of(project, internal=True) == before


# ------------------------------------------------------------------ add / remove


def test_add_database_wires_backends_and_creates_volume_and_secret(project: Path) -> None:
    secrets_before = files_of(project / "secrets") if (project / "secrets").exists() else {}
    result = invoke("add", "postgres", "--name", "db", "-p", str(project))
    assert result.exit_code == 0, result.output
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    for backend in ("api", "worker"):
        svc = compose["services"][backend]
        assert svc["environment"]["DB_HOST"] == "db"
        # its own login and password, not the administrator's nor the other backend's
        assert svc["environment"]["DB_USER"] == backend
        assert svc["environment"]["DB_PASSWORD_FILE"] == f"/run/secrets/db_{backend}_password"
        assert [s for s in svc["secrets"] if s.startswith("db_")] == [f"db_{backend}_password"]
        assert svc["depends_on"]["db"] == {"condition": "service_healthy"}
    assert "db-data" in compose["volumes"]
    assert compose["services"]["db"]["secrets"] == [
        "db_admin_password",
        "db_api_password",
        "db_worker_password",
    ]
    secret = project / "secrets" / "db_admin_password"
    assert secret.stat().st_size > 20
    assert (project / "secrets").stat().st_mode & 0o777 == 0o700
    assert "secrets/db_admin_password (new, random)" in result.stdout
    assert "secrets/db_api_password (new, random)" in result.stdout
    assert not secrets_before
    layout = yaml.safe_load((project / "dockergen.yml").read_text())
    assert layout["services"][-1] == {"name": "db", "kind": "postgres", "port": 5432}

    value = secret.read_bytes()
    result = invoke("remove", "db", "-p", str(project))
    assert result.exit_code == 0, result.output
    compose = yaml.safe_load((project / "docker-compose.yml").read_text())
    assert "db" not in compose["services"]
    assert "depends_on" not in compose["services"]["api"]
    assert "volumes" not in compose
    assert secret.read_bytes() == value  # never deleted: the data it guards may still exist
    assert "secrets/db_admin_password (its service is gone; kept)" in result.stdout


def test_existing_secrets_are_never_overwritten(project: Path) -> None:
    update_project(project, edit=add_service("postgres", "db"))
    secret = project / "secrets" / "db_api_password"
    secret.write_text("chosen-by-me")
    update_project(project, edit=set_values(["services.api.port=8002"]))
    assert secret.read_text() == "chosen-by-me"


def test_add_default_name_and_port(project: Path) -> None:
    update_project(project, edit=add_service("web"))
    layout = yaml.safe_load((project / "dockergen.yml").read_text())
    assert layout["services"][-1] == {"name": "web", "kind": "web", "port": 8001}
    assert (project / "web" / "Dockerfile").is_file()
    update_project(project, edit=add_service("web"))
    assert (
        yaml.safe_load((project / "dockergen.yml").read_text())["services"][-1]["name"] == "web-2"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "nope"], "unknown kind 'nope'"),
        (["add", "web", "--name", "api"], "a service named 'api' already exists"),
        (["add", "web", "--name", "Bad_Name"], "invalid service name"),
        (["add", "postgres", "--port", "6000"], "never published"),
        (["remove", "nope"], "no service named 'nope'"),
    ],
)
def test_add_remove_errors(project: Path, args: list[str], message: str) -> None:
    before = files_of(project, internal=True)
    result = invoke(*args, "-p", str(project))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert files_of(project, internal=True) == before


def test_remove_the_last_service_is_refused(tmp_path: Path, template: Path) -> None:
    project = create(
        tmp_path / "solo", {"template": str(template), "services": [{"name": "a", "kind": "web"}]}
    )
    with pytest.raises(UsageError, match="only service"):
        update_project(project, edit=remove_service("a"))


def test_remove_keeps_edited_files_and_names_them(project: Path) -> None:
    main_py = project / "worker" / "app" / "main.py"
    main_py.write_text(main_py.read_text() + "print('mine')\n")
    result = invoke("remove", "worker", "-p", str(project))
    assert result.exit_code == 0, result.output
    assert sorted(files_of(project / "worker")) == ["app/main.py"]
    assert "kept      worker/app/main.py (no longer generated, but you edited it)" in result.stdout
    assert "deleted   worker/ (3 generated files you hadn't edited)" in result.stdout
    assert "worker" not in (project / "docker-compose.yml").read_text()


def test_remove_unedited_service_leaves_no_folder(project: Path) -> None:
    update_project(project, edit=remove_service("worker"))
    assert not (project / "worker").exists()
    assert not (project / ".dockergen" / "base" / "worker").exists()


# ------------------------------------------------------------------ dockergen.yml's comments

COMMENTED = """\
# yaml-language-server: $schema=.dockergen/dockergen.schema.json
# Our team's stack. Ask Sam before changing ports.
project: demo
template: default

services:
# the public API
- name: api
  kind: web
  port: 8000   # fixed: the proxy expects it
# background jobs
- name: worker
  kind: web
  port: 8100
# end of services
"""


def _apply(edit: Any, text: str = COMMENTED) -> tuple[str, bool]:
    old = yaml.safe_load(text)
    new, renames = edit(old, None, Path("project"))
    return rewrite_layout(text, old, new, renames)


def test_rewrite_keeps_comments_of_untouched_entries() -> None:
    text, kept = _apply(set_values(["services.worker.port=8200"]))
    assert kept
    assert text == COMMENTED.replace("port: 8100", "port: 8200")


def test_rewrite_remove_drops_only_that_entry_and_its_comment() -> None:
    text, _ = _apply(remove_service("worker"))
    assert text == COMMENTED.replace(
        "# background jobs\n- name: worker\n  kind: web\n  port: 8100\n", ""
    )


def test_rewrite_add_appends_an_entry_in_the_same_style() -> None:
    old = yaml.safe_load(COMMENTED)
    new = {**old, "services": [*old["services"], {"name": "db", "kind": "postgres", "port": 5432}]}
    text, kept = rewrite_layout(COMMENTED, old, new, {})
    assert kept
    assert text == COMMENTED.replace(
        "  port: 8100\n", "  port: 8100\n- name: db\n  kind: postgres\n  port: 5432\n"
    )


def test_rewrite_changed_entry_loses_only_its_inline_comment() -> None:
    text, kept = _apply(set_values(["services.api.port=8001"]))
    assert not kept
    assert "# the public API\n- name: api\n  kind: web\n  port: 8001\n# background jobs" in text
    assert text.startswith(COMMENTED[: COMMENTED.index("services:")])


def test_rewrite_adds_options_before_services_and_keeps_indented_lists() -> None:
    indented = COMMENTED.replace("\n- ", "\n  - ").replace("\n  kind", "\n    kind")
    indented = indented.replace("\n  port", "\n    port")
    text, _ = _apply(set_values(["options.syntax_line=false", "services.worker.port=9"]), indented)
    assert yaml.safe_load(text)["options"] == {"syntax_line": False}
    assert "options:\n  syntax_line: false\nservices:" in text
    assert "  - name: worker\n    kind: web\n    port: 9\n" in text


def test_rewrite_keeps_crlf_line_endings() -> None:
    text, kept = _apply(set_values(["services.worker.port=8200"]), COMMENTED.replace("\n", "\r\n"))
    assert kept
    assert text == COMMENTED.replace("port: 8100", "port: 8200").replace("\n", "\r\n")


def test_rewrite_falls_back_to_a_dump_for_flow_style() -> None:
    text = "{project: demo, services: [{name: api, kind: web}]}\n"
    old = yaml.safe_load(text)
    new = {**old, "services": [{"name": "api", "kind": "web", "port": 1}]}
    out, kept = rewrite_layout(text, old, new, {})
    assert yaml.safe_load(out) == new
    assert kept  # there were no comments to lose


# ------------------------------------------------------------------ conflicts, dry run, restore


def _conflicting_edit(project: Path) -> None:
    dockerfile = project / "api" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("EXPOSE 8000", "EXPOSE 9999"))


def test_conflict_markers_listed_and_exit_1(project: Path) -> None:
    _conflicting_edit(project)
    result = invoke("update", "--project", str(project), "--set", "services.api.port=8001")
    assert result.exit_code == 1, result.output
    assert "CONFLICT  api/Dockerfile" in result.stdout
    assert result.stderr.strip() == "dockergen: 1 file(s) have conflicts: api/Dockerfile"
    text = (project / "api" / "Dockerfile").read_text()
    health = 'HEALTHCHECK CMD ["python", "-m", "app.health", "{}"]\n'
    assert (
        f"<<<<<<< yours\nEXPOSE 9999\n{health.format(8000)}"
        f"=======\nEXPOSE 8001\n{health.format(8001)}>>>>>>> template\n"
    ) in text
    # until the markers are gone, a later update refuses (tests/test_conflicts.py); resolved,
    # the pristine copy has moved on, so updating again is quiet
    with pytest.raises(ConflictError):
        update_project(project)
    resolved = re.sub(r"(?s)<<<<<<< yours\n(.*?)=======\n.*?>>>>>>> template\n", r"\1", text)
    (project / "api" / "Dockerfile").write_text(resolved)
    assert not update_project(project).changed


def test_dry_run_prints_the_diff_and_writes_nothing(project: Path) -> None:
    _conflicting_edit(project)
    before = files_of(project, internal=True)
    result = invoke("update", str(project), "--dry-run", "--set", "services.api.port=8001")
    assert result.exit_code == 1
    assert "--- a/docker-compose.yml\n+++ b/docker-compose.yml\n" in result.stdout
    assert '-      - "127.0.0.1:8000:8000"\n+      - "127.0.0.1:8001:8001"\n' in result.stdout
    assert "+<<<<<<< yours\n" in result.stdout
    assert "Would update demo" in result.stdout
    assert "would conflict: api/Dockerfile" in result.stderr
    assert files_of(project, internal=True) == before
    result = invoke("add", "postgres", "-p", str(project), "--dry-run")
    assert result.exit_code == 0
    assert "new secret secrets/postgres_admin_password (random; not shown)" in result.stdout
    assert files_of(project, internal=True) == before


def test_deleted_file_stays_deleted_unless_restore(
    project: Path, template: Path, sets: tuple[Path, Path]
) -> None:
    (project / "api" / "Dockerfile").unlink()
    use_set(template, sets[1])
    result = update_project(project)
    assert not (project / "api" / "Dockerfile").exists()
    assert (project / "worker" / "Dockerfile").is_file()
    assert ("api/Dockerfile", Outcome.STILL_DELETED) in _pairs(result)
    result = update_project(project, restore=True)
    assert (project / "api" / "Dockerfile").read_bytes() == (
        project / ".dockergen" / "base" / "api" / "Dockerfile"
    ).read_bytes()
    assert ("api/Dockerfile", Outcome.RESTORED) in _pairs(result)


def _pairs(result: Any) -> list[tuple[str, Outcome]]:
    return [(f.path, f.outcome) for f in result.files]


def test_binary_conflict_keeps_yours_and_writes_the_template_beside_it(
    tmp_path: Path, template: Path, sets: tuple[Path, Path]
) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    logo = template / "kinds" / "web" / "files" / "logo.png"  # no .jinja: copied as bytes
    logo.write_bytes(png + b"v1")
    project = create(tmp_path / "demo", base_layout(template))
    (project / "api" / "logo.png").write_bytes(png + b"mine")
    logo.write_bytes(png + b"v2")
    result = invoke("update", str(project))
    assert result.exit_code == 1
    assert (project / "api" / "logo.png").read_bytes() == png + b"mine"
    assert (project / "api" / "logo.png.dockergen-new").read_bytes() == png + b"v2"
    assert (project / "worker" / "logo.png").read_bytes() == png + b"v2"  # unedited: replaced
    assert "template's version is in api/logo.png.dockergen-new" in result.stdout
    assert "<<<<<<<" not in result.stdout
    assert result.stderr == "dockergen: 1 file(s) have conflicts: api/logo.png\n"


def test_user_file_where_the_template_adds_one(
    tmp_path: Path, project: Path, template: Path, sets: tuple[Path, Path]
) -> None:
    v3 = tmp_path / "v3"
    shutil.copytree(sets[0], v3)
    (v3 / "kinds" / "web" / "files" / "Makefile.jinja").write_text("build:\n\tdocker build .\n")
    (project / "api" / "Makefile").write_text("mine:\n\ttrue\n")
    use_set(template, v3)
    result = update_project(project)
    assert (project / "api" / "Makefile").read_text() == "mine:\n\ttrue\n"
    assert (project / "api" / "Makefile.dockergen-new").read_text().startswith("build:")
    assert (project / "worker" / "Makefile").is_file()
    assert result.conflicts == ["api/Makefile"]


def test_mode_of_the_users_copy_is_kept(
    project: Path, template: Path, sets: tuple[Path, Path]
) -> None:
    dockerfile = project / "api" / "Dockerfile"
    dockerfile.chmod(0o600)
    use_set(template, sets[1])
    update_project(project)
    assert "3.13" in dockerfile.read_text()
    assert dockerfile.stat().st_mode & 0o777 == 0o600


def test_a_file_in_the_way_of_a_new_folder_is_an_error_with_nothing_written(
    project: Path,
) -> None:
    (project / "db").write_text("not a folder\n")
    before = files_of(project, internal=True)
    result = invoke("add", "web", "--name", "db", "-p", str(project))
    assert result.exit_code == 2
    assert "is a file where a generated folder belongs" in result.stderr
    assert files_of(project, internal=True) == before


# ------------------------------------------------------------------ diff (CI drift check)


def test_diff_reports_pending_template_upgrade(
    project: Path, template: Path, sets: tuple[Path, Path]
) -> None:
    dockerfile = project / "api" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# mine\n")  # hand edits are not drift
    result = invoke("diff", str(project), "--exit-code")
    assert result.exit_code == 0, result.output
    assert "is up to date" in result.stdout
    use_set(template, sets[1])
    before = files_of(project, internal=True)
    result = invoke("diff", str(project), "--exit-code")
    assert result.exit_code == 1
    assert "template set default 1.0.0 -> 2.0.0" in result.stdout
    assert "  M api/Dockerfile" in result.stdout
    assert "-FROM python:3.12-slim AS build\n+FROM python:3.13-slim AS build\n" in result.stdout
    assert "update is pending" in result.stderr
    assert invoke("diff", str(project)).exit_code == 0  # without --exit-code: informational
    assert files_of(project, internal=True) == before


def test_diff_sees_a_hand_edited_layout(project: Path) -> None:
    layout_file = project / "dockergen.yml"
    layout_file.write_text(layout_file.read_text().replace("port: 8100", "port: 8101"))
    result = invoke("diff", "--exit-code", "--project", str(project))
    assert result.exit_code == 1
    assert "  M worker/Dockerfile" in result.stdout and "  M dockergen.yml" in result.stdout


def test_diff_and_update_name_the_project_not_its_folder(project: Path) -> None:
    moved = project.rename(project.parent / "checkout-of-demo")
    diff = invoke("diff", "--project", str(moved))
    update = invoke("update", str(moved))
    assert diff.exit_code == 0 and update.exit_code == 0, (diff.output, update.output)
    assert diff.stdout.startswith("demo is up to date")
    assert update.stdout.startswith("demo is up to date")
    assert "checkout-of-demo" not in diff.stdout + update.stdout


# ------------------------------------------------------------------ git, locking, --ask


def _git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_dirty_git_tree_is_a_warning_not_an_error(project: Path) -> None:
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (project / "notes.txt").write_text("not committed\n")
    result = invoke("update", str(project), "--set", "services.api.port=8001")
    assert result.exit_code == 0, result.output
    assert "dockergen: warning: the git tree has uncommitted changes" in result.stderr


def test_no_git_on_path_is_fine(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = update_project(project, edit=set_values(["services.api.port=8001"]))
    assert result.changed and not result.warnings


def test_a_second_dockergen_on_the_same_project_is_refused(project: Path) -> None:
    fd = os.open(project / ".dockergen", os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(StateError, match="another dockergen command"):
            update_project(project)
    finally:
        os.close(fd)


def test_ask_prefills_the_interview(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(tset: Any, name: str, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        seen["previous"], seen["name"] = previous, name
        return {**(previous or {}), "services": [{"name": "api", "kind": "web", "port": 8000}]}

    monkeypatch.setattr("scaffold.interview.interview", fake)
    monkeypatch.setattr("scaffold.cli._stdin_is_tty", lambda: True)
    result = invoke("update", str(project), "--ask")
    assert result.exit_code == 0, result.output
    assert [s["name"] for s in seen["previous"]["services"]] == ["api", "worker"]
    assert seen["name"] == "demo"
    assert not (project / "worker").exists()


def test_ask_without_a_terminal_is_a_usage_error(project: Path) -> None:
    result = invoke("update", str(project), "--ask")
    assert result.exit_code == 2 and "no terminal" in result.stderr


def test_update_in_the_current_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    result = invoke("update")
    assert result.exit_code == 0 and "demo is up to date" in result.stdout
    result = invoke("update", "elsewhere", "--project", str(project))
    assert result.exit_code == 2 and "give the project directory once" in result.stderr


# ------------------------------------------------------------------ set questions and trust


def test_a_new_required_question_is_answered_on_update(
    tmp_path: Path, project: Path, template: Path
) -> None:
    manifest = template / "set.yml"
    manifest.write_text(
        manifest.read_text() + "questions:\n  - name: replicas\n    type: int\n    help: how many\n"
    )
    before = files_of(project, internal=True)
    result = invoke("update", str(project))
    assert result.exit_code == 2
    assert "answers.replicas: template set 'default' needs an answer" in result.stderr
    assert files_of(project, internal=True) == before
    result = invoke("update", str(project), "--answer", "replicas=three")
    assert result.exit_code == 2 and "answers.replicas: expected a whole number" in result.stderr
    result = invoke("update", str(project), "--answer", "replicas=3")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((project / "dockergen.yml").read_text())["answers"] == {"replicas": 3}
    assert not update_project(project).changed


def test_a_set_that_runs_code_needs_trust_on_update(project: Path, template: Path) -> None:
    copier_yml = template / "copier.yml"
    copier_yml.write_text(copier_yml.read_text() + "_tasks:\n  - 'true'\n")
    result = invoke("update", str(project))
    assert result.exit_code == 2 and "--trust" in result.stderr
    result = invoke("update", str(project), "--trust")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ property: far edits survive


class Upgrade:
    """A v1 project whose set folder now holds v2, and the files a clean update gives."""

    FILES = ("api/Dockerfile", "docker-compose.yml", "README.md")

    def __init__(self, root: Path) -> None:
        v1, v2 = make_sets(root / "versions")
        template = root / "set"
        use_set(template, v1)
        self.start = create(root / "start" / "demo", base_layout(template))
        use_set(template, v2)
        clean = root / "clean" / "demo"
        shutil.copytree(self.start, clean)
        update_project(clean)
        self.base = {f: (self.start / f).read_text().splitlines(True) for f in self.FILES}
        self.theirs = {f: (clean / f).read_text().splitlines(True) for f in self.FILES}
        self.clean = files_of(clean)
        # base line -> the same line in the v2 render, for lines at least 2 away from a change
        self.far: dict[str, dict[int, int]] = {}
        for f in self.FILES:
            matcher = difflib.SequenceMatcher(a=self.base[f], b=self.theirs[f], autojunk=False)
            self.far[f] = {
                i: j1 + (i - i1)
                for tag, i1, i2, j1, _ in matcher.get_opcodes()
                if tag == "equal"
                for i in range(i1 + 2, i2 - 2)
            }


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Upgrade:
    return Upgrade(tmp_path_factory.mktemp("upgrade"))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_edits_far_from_template_changes_survive_an_update(
    upgrade: Upgrade, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    project = tmp_path_factory.mktemp("edited") / "demo"
    shutil.copytree(upgrade.start, project)
    expected = dict(upgrade.clean)
    for f in Upgrade.FILES:
        far = upgrade.far[f]
        picks = data.draw(st.lists(st.sampled_from(sorted(far)), max_size=4, unique=True), f)
        ours, theirs = list(upgrade.base[f]), list(upgrade.theirs[f])
        for n, i in enumerate(sorted(picks, reverse=True)):  # bottom up: indexes stay valid
            line = f"# {f} edit {n}: {data.draw(st.text('abcxyz =-', max_size=20))}\n"
            if data.draw(st.booleans(), "modify?"):
                ours[i] = theirs[far[i]] = line
            else:
                ours.insert(i, line)
                theirs.insert(far[i], line)
        (project / f).write_text("".join(ours))
        expected[f] = "".join(theirs).encode()
    result = update_project(project)
    assert result.conflicts == []
    assert files_of(project) == expected
