"""`dockergen init` with --layout, on repositories made here: generation around the user's code.

What detection finds is tested with detection (scaffold.detect); here the layout is given, so
each property of the generated files is pinned to a dockergen.yml: the build folder, the runtime
version's images, the package manager's lockfile install, the entry, the probe, no starter app,
and never a user's file written over. Every oracle the generated projects pass must pass here
too; afterwards the repository is a normal project (update, add, remove, diff).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import oracles
import pytest
import yaml
from projects import assert_no_findings, tree
from typer.testing import CliRunner

from scaffold.api import InitRequest, init_project, project_diff, update_project
from scaffold.cli import app
from scaffold.edits import add_service, remove_service
from scaffold.errors import DockergenError, LayoutError, TargetError, UsageError

runner = CliRunner()

# ----------------------------------------------------------------------- repositories

PACKAGE_JSON = {"name": "shop", "version": "1.0.0", "main": "index.js"}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def node_files(manager: str, extra: dict[str, Any] | None = None) -> dict[str, str]:
    lock = {
        "npm": ("package-lock.json", json.dumps({"name": "shop", "lockfileVersion": 3})),
        "pnpm": ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        "yarn": ("yarn.lock", "# yarn lockfile v1\n"),
    }[manager]
    return {"package.json": json.dumps({**PACKAGE_JSON, **(extra or {})}), lock[0]: lock[1]}


# (kind, package manager) -> the files of a small app of that stack, in its folder
STACKS: dict[tuple[str, str | None], dict[str, str]] = {
    ("fastapi", "pip"): {
        "requirements.txt": "fastapi==0.115.0\nuvicorn==0.30.0\n",
        "shop/__init__.py": "",
        "shop/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    },
    ("fastapi", "uv"): {
        "pyproject.toml": '[project]\nname = "shop"\nversion = "1.0"\n',
        "uv.lock": "version = 1\n",
        "src/shop/__init__.py": "",
        "src/shop/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    },
    ("fastapi", "poetry"): {
        "pyproject.toml": '[tool.poetry]\nname = "shop"\nversion = "1.0"\n',
        "poetry.lock": "# poetry\n",
        "shop/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    },
    **{
        ("express", m): {**node_files(m), "index.js": "require('express')().listen(3000)\n"}
        for m in ("npm", "pnpm", "yarn")
    },
    **{
        ("react", m): {
            **node_files(m, {"scripts": {"build": "vite build"}}),
            "index.html": "<div id=root></div>\n",
            "src/main.jsx": "console.log(1)\n",
        }
        for m in ("npm", "pnpm", "yarn")
    },
    ("go", "go"): {
        "go.mod": "module example.com/shop\n\ngo 1.22\n",
        "cmd/api/main.go": "package main\n\nfunc main() {}\n",
    },
    ("static", None): {"index.html": "<h1>shop</h1>\n", "style.css": "h1 {}\n"},
}


def repo(tmp_path: Path, stacks: dict[str, tuple[str, str | None]], **extra: str) -> Path:
    """A repository with one app per folder (folder -> stack), plus `extra` files."""
    root = tmp_path / "repo"
    root.mkdir()
    for where, stack in stacks.items():
        write(root / where, STACKS[stack])
    write(root, extra)
    return root


def init(root: Path, data: dict[str, Any], **options: Any) -> Any:
    layout = root.parent / "layout.yml"
    layout.write_text(yaml.safe_dump(data), encoding="utf-8")
    return init_project(InitRequest(directory=root, layout_file=layout, **options))


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def compose(root: Path, name: str = "docker-compose.yml") -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / name).read_text(encoding="utf-8"))
    return data


SHOP = {
    "services": [
        {"name": "web", "kind": "static", "path": "web"},
        {
            "name": "api",
            "kind": "fastapi",
            "path": "api",
            "version": "3.12",
            "package_manager": "uv",
            "entry": "shop.main:app",
            "health": "/status",
        },
        {"name": "db", "kind": "postgres"},
    ]
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A frontend and a backend with a Dockerfile, README and .gitignore of their own."""
    return repo(
        tmp_path,
        {"web": ("static", None), "api": ("fastapi", "uv")},
        **{
            "api/Dockerfile": "FROM python:3.12\nCOPY . .\n",
            "README.md": "# shop\n",
            ".gitignore": "node_modules/\n",
        },
    )


# ----------------------------------------------------------------------- around the code


def test_init_writes_beside_the_users_files_and_never_over_them(shop: Path):
    before = snapshot(shop)
    result = init(shop, SHOP)
    after = snapshot(shop)
    assert {rel: after[rel] for rel in before} == before  # every file of the user's, unchanged
    assert ("api/Dockerfile", "api/Dockerfile.dockergen") in result.beside
    assert {"api/Dockerfile.dockergen", "api/Dockerfile.dockergen.dockerignore"} <= set(after)
    assert {"README.dockergen.md", ".gitignore.dockergen", "secrets/.gitignore"} <= set(after)
    assert "web/Dockerfile" in after and "web/.dockerignore" in after  # nothing of the user's
    layout = yaml.safe_load((shop / "dockergen.yml").read_text())
    assert layout["starter"] is False
    assert layout["beside"] == [".gitignore", "README.md", "api/Dockerfile"]
    build = compose(shop)["services"]["api"]["build"]
    assert build == {"context": "./api", "dockerfile": "Dockerfile.dockergen"}
    assert "--- a/api/Dockerfile\n+++ b/api/Dockerfile.dockergen" in result.diff
    # no starter app: neither the kind's app/ nor its requirements.txt
    assert not (shop / "api" / "app").exists() and not (shop / "api/requirements.txt").exists()
    assert not (shop / "web" / "site").exists()


def test_init_renders_from_the_users_facts(shop: Path):
    init(shop, SHOP)
    dockerfile = (shop / "api/Dockerfile.dockergen").read_text()
    assert "FROM python:3.12-slim-trixie AS builder" in dockerfile  # version 3.12's image
    assert "pip install --no-cache-dir uv==" in dockerfile
    install = dockerfile.index("uv sync --frozen --no-dev --no-install-project")
    assert dockerfile.index("COPY pyproject.toml uv.lock ./") < install  # lockfile first
    assert install < dockerfile.index("COPY . .")  # dependencies before the source
    assert (
        'CMD ["python", "-m", "uvicorn", "shop.main:app", "--host", "0.0.0.0", "--port", "8000"]'
        in dockerfile
    )
    assert "GET /status HTTP/1.0" in dockerfile  # health: the user's path, on its port
    assert "('127.0.0.1', 8000)" in dockerfile
    assert "/healthz" not in dockerfile.split("AS runtime")[1]
    assert "USER 10001:10001" in dockerfile.split("AS runtime")[1]
    site = (shop / "web/Dockerfile").read_text()
    assert "COPY ./ /srv/www/" in site and "COPY site/" not in site


@pytest.mark.parametrize("oracle", oracles.ORACLES)
def test_init_output_passes_every_oracle(shop: Path, oracle: str):
    init(shop, SHOP)
    assert_no_findings(oracles.run_oracle(oracle, shop))


def test_replace_writes_over_and_keeps_the_originals(shop: Path):
    before = snapshot(shop)
    result = init(shop, SHOP, replace=True)
    assert result.replaced == [".gitignore", "README.md", "api/Dockerfile"]
    for rel in result.replaced:
        assert (shop / ".dockergen/replaced" / rel).read_bytes() == before[rel]
    assert (shop / "api/Dockerfile").read_text().startswith("# syntax=")
    assert not (shop / "api/Dockerfile.dockergen").exists()
    assert "beside" not in yaml.safe_load((shop / "dockergen.yml").read_text())
    assert compose(shop)["services"]["api"]["build"] == {"context": "./api"}
    assert_no_findings(oracles.run_all(shop))
    assert project_diff(shop).status == []


def test_a_compose_file_of_the_users_gets_dockergens_beside_it(tmp_path: Path):
    root = repo(tmp_path, {".": ("express", "npm")}, **{"compose.yaml": "services: {}\n"})
    data = {"services": [{"name": "api", "kind": "express", "path": ".", "entry": "index.js"}]}
    result = init(root, data)
    assert ("compose.yaml", "docker-compose.dockergen.yml") in result.beside
    assert "--- a/compose.yaml" in result.diff
    assert (root / "compose.yaml").read_text() == "services: {}\n"
    assert not (root / "docker-compose.yml").exists()
    assert compose(root, "docker-compose.dockergen.yml")["services"]["api"]["build"] == {
        "context": "."
    }
    assert "export COMPOSE_FILE=docker-compose.dockergen.yml" in (root / "README.md").read_text()
    assert_no_findings(oracles.run_all(root))
    from scaffold.verify import compose_file

    assert compose_file(root) == "docker-compose.dockergen.yml"


# every kind with each of its package managers, with both probes: hadolint and the build context
CASES = [
    (kind, manager, health)
    for (kind, manager) in STACKS
    for health in (("tcp", "/ping") if kind in ("fastapi", "express", "go") else (None,))
]


@pytest.mark.parametrize(("kind", "manager", "health"), CASES)
def test_each_package_manager_and_probe(tmp_path: Path, kind: str, manager: str, health: str):
    root = repo(tmp_path, {"app": (kind, manager)})
    svc: dict[str, Any] = {"name": "app", "kind": kind, "path": "app"}
    if manager:
        svc["package_manager"] = manager
    if health:
        svc["health"] = health
    if kind == "go":
        svc["entry"] = "./cmd/api"
        svc["version"] = "1.22"  # a minimum: built with the oldest image at or above it
    result = init(root, {"services": [svc]})
    dockerfile = (root / "app/Dockerfile").read_text()
    tset = result.plan.service("app")
    if tset.installs:
        for lockfile in tset.installs["lockfiles"]:
            assert lockfile in dockerfile
        assert tset.installs["install"] in dockerfile
    if kind == "go":
        assert "FROM golang:1.24-trixie AS builder" in dockerfile
        assert "-o /out/server ./cmd/api" in dockerfile
        assert (root / "app/_dockergen/healthcheck/main.go").is_file()
        assert result.notes == ["app: go 1.22 builds with 1.24"]
    if health:  # the kind's probe of that sort, in the image's HEALTHCHECK
        assert tset.health == health and tset.probe
        assert f"CMD {json.dumps(list(tset.probe))}" in dockerfile.split("HEALTHCHECK")[1]
        assert ("/ping" in " ".join(tset.probe)) == (health == "/ping")
    for oracle in ("hadolint", "dockerignore", "security"):
        assert_no_findings(oracles.run_oracle(oracle, root))


def test_two_services_of_one_folder_get_a_dockerfile_each(tmp_path: Path):
    """Go's cmd/ layout: two binaries of one module, both built from the root."""
    root = repo(tmp_path, {".": ("go", "go")}, **{"cmd/admin/main.go": "package main\n"})
    data = {
        "services": [
            {"name": "admin", "kind": "go", "path": ".", "entry": "./cmd/admin", "port": 8081},
            {"name": "api", "kind": "go", "path": ".", "entry": "./cmd/api", "health": "/healthz"},
        ]
    }
    init(root, data)
    services = compose(root)["services"]
    assert services["admin"]["build"] == {"context": ".", "dockerfile": "admin.Dockerfile"}
    assert services["api"]["build"] == {"context": ".", "dockerfile": "api.Dockerfile"}
    assert "-o /out/server ./cmd/admin" in (root / "admin.Dockerfile").read_text()
    assert "-o /out/server ./cmd/api" in (root / "api.Dockerfile").read_text()
    assert (root / "api.Dockerfile.dockerignore").is_file()
    assert not (root / "Dockerfile").exists() and not (root / ".dockerignore").exists()
    assert_no_findings(oracles.run_all(root))
    assert update_project(root).changes == []


def test_a_workspace_member_is_built_from_the_workspace_root(tmp_path: Path):
    """pnpm's monorepo: one lockfile at the root; each member builds from there, alone."""
    root = tmp_path / "repo"
    write(
        root,
        {
            "package.json": json.dumps({"name": "shop", "private": True}),
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
            "pnpm-workspace.yaml": "packages: ['apps/*']\n",
            "apps/api/package.json": json.dumps(PACKAGE_JSON),
            "apps/api/index.js": "\n",
        },
    )
    data = {"services": [{"name": "api", "kind": "express", "path": "apps/api"}]}
    data["services"][0]["package_manager"] = "pnpm"
    result = init(root, data)
    assert result.layout.services[0].workspace == "."
    build = compose(root)["services"]["api"]["build"]
    assert build == {"context": ".", "dockerfile": "apps/api/Dockerfile"}
    dockerfile = (root / "apps/api/Dockerfile").read_text()
    assert "pnpm fetch --prod" in dockerfile
    assert (
        'pnpm install --offline --frozen-lockfile --prod --ignore-scripts --filter "./apps/api"'
        in dockerfile
    )
    assert "WORKDIR /app/apps/api" in dockerfile
    assert (root / "apps/api/Dockerfile.dockerignore").is_file()
    assert_no_findings(oracles.run_all(root))
    assert update_project(root).changes == []


# ----------------------------------------------------------------------- a normal project after


def test_update_add_remove_and_diff_after_init(shop: Path):
    init(shop, SHOP)
    user = snapshot(shop)
    assert project_diff(shop).status == []
    assert update_project(shop).changes == []
    update_project(shop, add_service("redis", None, None))
    assert "redis" in compose(shop)["services"]
    assert "REDIS_HOST" in compose(shop)["services"]["api"]["environment"]
    assert_no_findings(oracles.run_all(shop))
    update_project(shop, remove_service("redis"))
    assert "redis" not in compose(shop)["services"]
    after = snapshot(shop)
    for rel in ("api/Dockerfile", "README.md", ".gitignore", "api/pyproject.toml"):
        assert after[rel] == user[rel]
    assert not (shop / "api/app").exists()  # still no starter app


def test_an_edit_of_dockergens_file_survives_an_update(shop: Path):
    init(shop, SHOP)
    path = shop / "api/Dockerfile.dockergen"
    path.write_text(path.read_text() + "# my note\n")
    update_project(shop, None)
    from scaffold.edits import set_values

    update_project(shop, set_values(["services.api.health=tcp"], answers=[]))
    text = path.read_text()
    assert text.endswith("# my note\n") and "s.connect(('127.0.0.1', 8000)); s.close()" in text


def test_a_team_set_works_on_an_init_repository(tmp_path: Path, shop: Path):
    team = tmp_path / "team-set"
    write(
        team,
        {
            "set.yml": "name: team\nversion: 1.0.0\nextends: default\n"
            "policy:\n  labels:\n    com.example.team: platform\n",
        },
    )
    init(shop, SHOP, template=str(team))
    assert 'com.example.team="platform"' in (shop / "api/Dockerfile.dockergen").read_text()
    assert update_project(shop).changes == []


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"version": "3.9"}, LayoutError, "known versions: 3.11, 3.12, 3.13, 3.14"),
        ({"package_manager": "pipenv"}, LayoutError, "known: pip, poetry, uv"),
        ({"path": "../api"}, LayoutError, "a folder inside the project"),
    ],
)
def test_bad_layout_is_one_line_and_nothing_written(
    shop: Path, change: dict[str, Any], error: type[DockergenError], words: str
):
    before, paths = snapshot(shop), tree(shop)
    data = json.loads(json.dumps(SHOP))
    data["services"][1].update(change)
    with pytest.raises(error) as caught:
        init(shop, data)
    assert words in caught.value.line() and "\n" not in caught.value.line()
    assert snapshot(shop) == before and tree(shop) == paths


def test_a_file_in_the_way_is_refused_unless_replace(shop: Path):
    write(shop, {"web/nginx.conf": "# the user's own\n"})
    before, paths = snapshot(shop), tree(shop)
    with pytest.raises(TargetError) as caught:
        init(shop, SHOP)
    assert "web/nginx.conf is in the way" in caught.value.line()
    assert "--replace" in caught.value.line()
    assert snapshot(shop) == before and tree(shop) == paths
    result = init(shop, SHOP, replace=True)
    assert "web/nginx.conf" in result.replaced
    assert (shop / ".dockergen/replaced/web/nginx.conf").read_text() == "# the user's own\n"


def test_init_twice_is_refused(shop: Path):
    init(shop, SHOP)
    with pytest.raises(UsageError, match="already a dockergen project"):
        init(shop, SHOP)


def test_cli_without_a_terminal_needs_yes(shop: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(shop)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert "no terminal" in result.stderr and "--yes" in result.stderr
    assert not (shop / ".dockergen").exists()


def test_cli_with_a_layout_file(shop: Path):
    (shop.parent / "layout.yml").write_text(yaml.safe_dump(SHOP), encoding="utf-8")
    result = runner.invoke(app, ["init", str(shop), "--layout", str(shop.parent / "layout.yml")])
    assert result.exit_code == 0, result.output
    assert "api/Dockerfile.dockergen" in result.stdout and "beside api/Dockerfile" in result.stdout
    bad = runner.invoke(app, ["init", str(shop), "--layout", str(shop.parent / "layout.yml")])
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------- in a terminal


def test_init_in_a_terminal_shows_why_and_reviews(venv_bin: Path, tmp_path: Path):
    """The installed `dockergen init` in a pseudo-terminal: what detection found and why, then
    `new`'s review; editing a service's health there is recorded in dockergen.yml."""
    import os
    import shutil
    import time

    pexpect = pytest.importorskip("pexpect", reason="pexpect is a test extra")
    fixture = Path(__file__).resolve().parent / "fixtures" / "repos" / "frontend-backend"
    root = tmp_path / "shop"
    shutil.copytree(fixture, root)
    env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", "NO_COLOR": "1"}
    child = pexpect.spawn(
        str(venv_bin / "dockergen"),
        ["init"],
        cwd=str(root),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )

    def answer(question: str, keys: str) -> None:
        child.expect_exact(question)
        time.sleep(0.15)
        child.send(keys)

    try:
        child.expect_exact("Detected:")
        child.expect_exact("backend/ is fastapi")
        answer("Review:", "\x1b[B\r")  # edit a service
        answer("Edit which service?", "\x1b[B\r")  # backend (after frontend)
        child.expect_exact("Change what of backend?")
        time.sleep(0.15)
        child.send("\x1b[A\x1b[A\r")  # health: the last field before "back"
        answer("health of backend", "\x15/livez\r")
        answer("Review:", "\r")  # init shop
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    layout = yaml.safe_load((root / "dockergen.yml").read_text())
    backend = next(s for s in layout["services"] if s["name"] == "backend")
    assert backend["health"] == "/livez"
    dockerfile = (root / "backend/Dockerfile").read_text()
    assert "GET /livez HTTP/1.0" in dockerfile and "'127.0.0.1', 8000" in dockerfile


def test_kubernetes_probes_are_the_health_too(shop: Path):
    """Readiness and liveness of the repository's app: its `health`, never a /readyz it lacks."""
    data = json.loads(json.dumps(SHOP))
    data["targets"] = ["compose", "kubernetes"]
    data["services"].append({"name": "worker", "kind": "go", "path": "worker", "health": "tcp"})
    write(shop / "worker", STACKS[("go", "go")])
    init(shop, data)
    docs = list(yaml.safe_load_all((shop / "deploy/kubernetes/workloads.yaml").read_text()))
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in docs
        if d and d["kind"] in ("Deployment", "StatefulSet")
    }
    api = pods["api"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert api[probe]["httpGet"] == {"path": "/status", "port": 8000}
    worker = pods["worker"]["containers"][0]
    assert set(worker["readinessProbe"]["tcpSocket"]) == {"port"}
    web = pods["web"]["containers"][0]  # dockergen's nginx keeps its own /healthz
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({}, "is empty"),
        ({"x/package.json": "{bad"}, "x/package.json: not valid JSON"),
    ],
)
def test_cli_yes_on_bad_input_is_one_line_and_nothing_written(
    tmp_path: Path, files: dict[str, str], words: str
):
    root = tmp_path / "repo"
    root.mkdir()
    write(root, files)
    before = tree(root)
    result = runner.invoke(app, ["init", str(root), "--yes"])
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert tree(root) == before


@pytest.mark.parametrize(("ignore", "noted"), [("node_modules\n", True), ("secrets/\n", False)])
def test_a_kept_root_dockerignore_that_lets_secrets_in_is_noted(
    tmp_path: Path, ignore: str, noted: bool
) -> None:
    """dockergen writes secrets/ at the root; the user's kept .dockerignore is theirs to fix, so
    init says so (by Docker's matching) rather than editing it."""
    root = repo(tmp_path, {".": ("express", "npm")}, **{".dockerignore": ignore})
    result = init(
        root,
        {
            "services": [
                {"name": "api", "kind": "express", "path": "."},
                {"name": "db", "kind": "postgres"},
            ]
        },
    )
    assert (root / ".dockerignore").read_text() == ignore
    said = [n for n in result.notes if "does not exclude secrets/" in n]
    assert bool(said) is noted


FIXTURE_REPOS = Path(__file__).parent / "fixtures" / "repos"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURE_REPOS.iterdir()))
def test_what_init_writes_passes_dockergen_check(tmp_path: Path, name: str) -> None:
    """Generated output is clean for `check` too, around the user's code: dockergen's own
    files give no finding (the repository's own Dockerfile or compose file may)."""
    from scaffold.api import check_repository

    root = tmp_path / name
    shutil.copytree(FIXTURE_REPOS / name, root)
    result = init_project(InitRequest(directory=root, yes=True), echo=lambda *a, **k: None)
    ours = [root / rel for rel in result.files if Path(rel).name not in ("dockergen.yml",)]
    audited = check_repository([p for p in ours if p.is_file()], cwd=root)
    assert [(f.path, f.line, f.rule, f.message) for f in audited.audit.findings] == []
    assert audited.audit.files


def test_add_in_an_init_repository_writes_a_starter_app_only_into_an_empty_folder(
    tmp_path: Path,
) -> None:
    """A service added after init has no code of the user's yet: it gets the kind's starter app
    (`starter: true` on that service alone), so it builds; a folder with code stays the user's."""
    root = tmp_path / "shop"
    shutil.copytree(FIXTURE_REPOS / "express-root", root)
    init_project(InitRequest(directory=root, yes=True), echo=lambda *a, **k: None)
    before = (root / "package.json").read_bytes()
    update_project(root, add_service("fastapi", "worker"))
    write(root, {"mine/requirements.txt": "fastapi\nuvicorn\n", "mine/app/main.py": "app = 1\n"})
    update_project(root, add_service("fastapi", "mine"))
    layout = yaml.safe_load((root / "dockergen.yml").read_text())
    by_name = {s["name"]: s for s in layout["services"]}
    assert layout["starter"] is False and by_name["worker"]["starter"] is True
    assert "starter" not in by_name["mine"] and "starter" not in by_name["api"]
    assert (root / "worker/requirements.txt").is_file() and (root / "worker/app/main.py").is_file()
    assert sorted(p.name for p in (root / "mine").iterdir()) == [
        ".dockerignore",
        "Dockerfile",
        "app",
        "requirements.txt",
    ]
    assert (root / "mine/app/main.py").read_text() == "app = 1\n"
    assert (root / "package.json").read_bytes() == before  # the user's app is untouched
    assert_no_findings(oracles.run_all(root))
