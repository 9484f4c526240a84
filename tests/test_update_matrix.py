"""The update matrix: user edit x layout change x template version, 72 scenarios, exact outcomes.

Every scenario starts from one generated project (api + worker built from the test set's `web`
kind, a redis `cache`), applies one kind of hand edit to api/Dockerfile, one layout change and
optionally a newer set, runs the update, and compares the whole project, `.dockergen/`
included, with what `dockergen new` writes for the final layout, adjusted by exactly what the
edit should leave behind. Secrets are checked apart (they are random).

The newer set is applied by pointing `template:` at a second folder (a team bumping its set);
test_update.py covers the in-place upgrade of one folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from projects import create, files_of, make_sets, use_set, without_secrets

from scaffold.edits import LayoutEdit, add_service, remove_service, set_values
from scaffold.errors import ConflictError
from scaffold.merge import Outcome
from scaffold.state import read_state
from scaffold.update import update_project

EDITS = ["none", "non-overlapping", "overlapping", "deleted", "crlf", "user-added"]
LAYOUTS = ["none", "add-db", "remove-edited", "remove-unedited", "change-port", "rename"]
TEMPLATES = ["same", "newer"]

TARGET = "api/Dockerfile"
INSERT_AFTER, INSERTED = "COPY app/ ./app/\n", "ENV TZ=UTC\n"
USER_FROM = "FROM python:3.12-slim-bookworm AS build\n"
V1_FROM, V2_FROM = "FROM python:3.12-slim AS build\n", "FROM python:3.13-slim AS build\n"
ADDED = {"api/notes.txt": b"my notes\n", "Makefile": b"up:\n\tdocker compose up\n"}


def layout_data(template: Path, change: str) -> dict[str, Any]:
    """The raw layout after `change`: what `new` is given for the expected tree."""
    services = [
        {"name": "api", "kind": "web", "port": 8000},
        {"name": "worker", "kind": "web", "port": 8100},
        {"name": "cache", "kind": "redis", "port": 6379},
    ]
    if change == "add-db":
        services.append({"name": "db", "kind": "postgres", "port": 5432})
    elif change == "remove-edited":
        services.pop(0)
    elif change == "remove-unedited":
        services.pop(1)
    elif change == "change-port":
        services[0]["port"] = 8050
    elif change == "rename":
        services[0]["name"] = "backend"
    return {"project": "demo", "template": str(template), "services": services}


class World:
    """Session-wide: the two sets, the starting project, and expected trees by (layout, set)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        v1, v2 = make_sets(root / "versions")
        self.sets = {"same": root / "set-1", "newer": root / "set-2"}
        use_set(self.sets["same"], v1)
        use_set(self.sets["newer"], v2)
        self.start = create(root / "start" / "demo", layout_data(self.sets["same"], "none"))
        self.base = files_of(self.start / ".dockergen" / "base")
        self._expected: dict[tuple[str, str], dict[str, bytes]] = {}

    def expected(self, change: str, version: str) -> dict[str, bytes]:
        key = (change, version)
        if key not in self._expected:
            target = self.root / "expected" / f"{change}-{version}" / "demo"
            create(target, layout_data(self.sets[version], change))
            self._expected[key] = without_secrets(files_of(target, internal=True))
        return self._expected[key]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("matrix"))


# ---------------------------------------------------------------- the user's edits


def _rewrite(path: Path, change: Callable[[str], str]) -> None:
    path.write_bytes(change(path.read_bytes().decode()).encode())


def apply_edit(project: Path, edit: str) -> None:
    target = project / TARGET
    if edit == "non-overlapping":
        _rewrite(target, lambda t: t.replace(INSERT_AFTER, INSERT_AFTER + INSERTED))
    elif edit == "overlapping":
        _rewrite(target, lambda t: t.replace(V1_FROM, USER_FROM))
    elif edit == "deleted":
        target.unlink()
    elif edit == "crlf":
        _rewrite(target, lambda t: t.replace("\n", "\r\n"))
    elif edit == "user-added":
        for rel, data in ADDED.items():
            (project / rel).write_bytes(data)


def layout_edit(project: Path, change: str) -> LayoutEdit | None:
    """Hand edits to dockergen.yml happen here; add/remove/rename go through the commands."""
    if change == "change-port":
        _rewrite(project / "dockergen.yml", lambda t: t.replace("port: 8000", "port: 8050"))
    return {
        "add-db": add_service("postgres", "db"),
        "remove-edited": remove_service("api"),
        "remove-unedited": remove_service("worker"),
        "rename": set_values(["services.api.name=backend"]),
    }.get(change)


# ---------------------------------------------------------------- what must come out


def expected_project(
    world: World, edit: str, change: str, version: str, edited: bytes | None
) -> tuple[dict[str, bytes], list[str]]:
    """The exact project files (`.dockergen/` included, secrets not) and the conflicts."""
    files = dict(world.expected(change, version))
    target = "backend/Dockerfile" if change == "rename" else TARGET
    if change == "remove-edited":
        if edit in ("non-overlapping", "overlapping"):
            files[TARGET] = edited  # type: ignore[assignment]  # edited: kept
    else:
        text = files[target].decode()
        if edit == "non-overlapping":
            files[target] = text.replace(INSERT_AFTER, INSERT_AFTER + INSERTED).encode()
        elif edit == "overlapping":
            if version == "newer":
                block = f"<<<<<<< yours\n{USER_FROM}=======\n{V2_FROM}>>>>>>> template\n"
                files[target] = text.replace(V2_FROM, block).encode()
                return _with_added(files, edit), [target]
            files[target] = text.replace(V1_FROM, USER_FROM).encode()
        elif edit == "deleted":
            del files[target]
        elif edit == "crlf":
            files[target] = text.replace("\n", "\r\n").encode()
    return _with_added(files, edit), []


def _with_added(files: dict[str, bytes], edit: str) -> dict[str, bytes]:
    return {**files, **ADDED} if edit == "user-added" else files


def expected_outcome(world: World, edit: str, change: str, version: str) -> Outcome | None:
    """How the report names the edited file (None: not listed)."""
    if change == "remove-edited":
        return {
            "non-overlapping": Outcome.ORPHANED,
            "overlapping": Outcome.ORPHANED,
            "deleted": None,
        }.get(edit, Outcome.DELETED)
    target = "backend/Dockerfile" if change == "rename" else TARGET
    template_changed = world.expected(change, version)[target] != world.base[TARGET]
    if edit == "overlapping" and version == "newer":
        return Outcome.CONFLICT
    if edit == "deleted":  # said every time, whether or not the template changed it
        return Outcome.STILL_DELETED
    if not template_changed:
        return Outcome.UNCHANGED if change == "rename" else None  # a rename still moves it
    return {
        "non-overlapping": Outcome.MERGED,
        "overlapping": Outcome.MERGED,
        "deleted": Outcome.STILL_DELETED,
    }.get(edit, Outcome.UPDATED)


SCENARIOS = [
    pytest.param(edit, change, version, id=f"{edit}|{change}|{version}")
    for edit in EDITS
    for change in LAYOUTS
    for version in TEMPLATES
]


@pytest.mark.parametrize(("edit", "change", "version"), SCENARIOS)
def test_update_matrix(world: World, tmp_path: Path, edit: str, change: str, version: str) -> None:
    project = tmp_path / "demo"
    shutil.copytree(world.start, project)
    secrets_before = files_of(project / "secrets")
    apply_edit(project, edit)
    edited = (project / TARGET).read_bytes() if (project / TARGET).exists() else None
    if version == "newer":
        old, new = str(world.sets["same"]), str(world.sets["newer"])
        _rewrite(project / "dockergen.yml", lambda t: t.replace(old, new))

    result = update_project(project, edit=layout_edit(project, change))

    files, conflicts = expected_project(world, edit, change, version, edited)
    assert without_secrets(files_of(project, internal=True)) == files
    assert result.conflicts == conflicts
    if conflicts:
        with pytest.raises(ConflictError):  # the CLI's exit 1
            result.raise_for_conflicts()
    target = "backend/Dockerfile" if change == "rename" else TARGET
    reported = {f.path: f for f in result.files}
    outcome = expected_outcome(world, edit, change, version)
    assert (reported[target].outcome if target in reported else None) == outcome
    if change == "rename" and edit != "deleted":
        assert reported[target].moved_from == TARGET

    # secrets: the existing ones untouched; a new database gets its own, and a renamed backend
    # is a new client of redis, with a login (and password) of its own
    secrets_after = files_of(project / "secrets")
    assert {k: secrets_after[k] for k in secrets_before} == secrets_before
    new_secrets = sorted(set(secrets_after) - set(secrets_before))
    added = {
        "add-db": ["db_admin_password", "db_api_password", "db_worker_password"],
        "rename": ["cache_backend_password"],
    }
    assert new_secrets == added.get(change, [])
    assert result.secrets == [f"secrets/{s}" for s in new_secrets]

    # consistent state, nothing left over, and a second update has nothing to do
    state = read_state(project)
    assert state.template_version == ("2.0.0" if version == "newer" else "1.0.0")
    assert sorted(p.name for p in (project / ".dockergen").iterdir()) == [
        "base",
        "dockergen.schema.json",
        "state.json",
        "template.json",
    ]
    if conflicts:  # until they are resolved, the next update refuses
        with pytest.raises(ConflictError):
            update_project(project)
        return
    assert not update_project(project).changed


def test_matrix_is_big_enough() -> None:
    assert len(SCENARIOS) >= 30
