"""Detection for `dockergen init` (scaffold/detect.py): the fixture corpus against its goldens,
each manifest reader and rule, bad input, and a property test over random repositories.

The corpus is tests/fixtures/repos/<name>/ (small real repositories, lockfiles made by the real
tools); the expected detection of each is tests/fixtures/repos-expected/<name>.yml: the
dockergen.yml it gives (normalised, as `init` writes it) and, as comments, why. Refresh after an
intended change, then review the diff:

    DOCKERGEN_REFRESH_GOLDEN=1 .venv/bin/pytest tests/test_detect.py
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projects import default_set

from scaffold import detect as det
from scaffold import layout as layouts
from scaffold.detect import Detection, detect
from scaffold.errors import DockergenError, LayoutError, TemplateSetError
from scaffold.templatesets.loader import load_template_set
from scaffold.templatesets.manifest import NAME_PATTERN, Fact, Kind

HERE = Path(__file__).resolve().parent
REPOS = HERE / "fixtures" / "repos"
EXPECTED = HERE / "fixtures" / "repos-expected"
ACME = HERE.parent / "examples" / "acme-set"
REFRESH = os.environ.get("DOCKERGEN_REFRESH_GOLDEN") == "1"
FIXTURES = sorted(p.name for p in REPOS.iterdir() if p.is_dir())
NAME = re.compile(NAME_PATTERN)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def pkg(deps: dict[str, str] | None = None, **extra: Any) -> str:
    return json.dumps({"name": "x", "version": "1.0.0", "dependencies": deps or {}, **extra})


def services(d: Detection) -> dict[str, dict[str, Any]]:
    return {s.name: s.model_dump(exclude_none=True) for s in d.layout.services}


def golden_text(d: Detection) -> str:
    """What a fixture's golden holds: dockergen.yml as init writes it, then why, as comments."""
    normal = layouts.normalise(d.layout, default_set())
    lines = [normal.to_yaml().rstrip("\n"), "# detected:"]
    lines += [f"# - {r.path}: {r.text}" for r in d.reasons]
    if d.warnings:
        lines += ["# warnings:", *(f"# - {w}" for w in d.warnings)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the corpus


def test_the_corpus_covers_what_issue_14_asks_for() -> None:
    assert len(FIXTURES) >= 8
    found = {name: detect(REPOS / name, default_set()) for name in FIXTURES}
    kinds = {name: [s.kind for s in d.layout.services] for name, d in found.items()}
    managers = {s.package_manager for d in found.values() for s in d.layout.services}
    assert {"npm", "pnpm", "yarn", "pip", "uv", "poetry", "go"} <= managers
    # a monorepo with two backends and a frontend
    assert sorted(kinds["monorepo"]) == ["express", "fastapi", "react"]
    # a pnpm workspace, a uv project with src/ layout, Go's cmd/ layout, its own Dockerfile
    assert (REPOS / "pnpm-workspace" / "pnpm-workspace.yaml").is_file()
    assert (REPOS / "uv-src" / "src").is_dir() and (REPOS / "uv-src" / "uv.lock").is_file()
    assert [s.entry for s in found["go-cmd"].layout.services] == ["./cmd/admin", "./cmd/api"]
    assert (REPOS / "own-dockerfile" / "Dockerfile").is_file()
    # a plain site, and databases from dependencies, from .env.example and from compose
    assert kinds["static-site"] == ["static"]
    assert "postgres" in kinds["poetry-fastapi"] and "redis" in kinds["own-dockerfile"]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_detection_matches_its_golden(name: str) -> None:
    d = detect(REPOS / name, default_set())
    assert d.layout.starter is False
    text = golden_text(d)
    golden = EXPECTED / f"{name}.yml"
    if REFRESH:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"no golden: DOCKERGEN_REFRESH_GOLDEN=1 pytest {__file__}"
    assert text == golden.read_text(encoding="utf-8")
    # the golden is itself a valid dockergen.yml of the set, already normal
    loaded = layouts.load(golden)
    assert layouts.normalise(loaded, default_set()) == loaded


def test_reasons_say_why_in_words() -> None:
    d = detect(REPOS / "frontend-backend", default_set())
    texts = [r.text for r in d.reasons]
    assert "backend/ is fastapi (service backend): requirements.txt depends on fastapi" in texts
    assert any(r.path == "frontend" and "depends on vite, react" in r.text for r in d.reasons)
    assert "database redis is redis: backend/requirements.txt depends on redis" in texts


# ------------------------------------------------------------------------------ readers


def test_package_json_dependencies_of_every_section(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": json.dumps(
                {
                    "dependencies": {"Express": "^5"},
                    "devDependencies": {"@vitejs/plugin-react": "4"},
                    "peerDependencies": {"react": "19"},
                    "optionalDependencies": {"pg-native": "3"},
                }
            )
        },
    )
    tree = det._walk(tmp_path)
    assert det.dependencies(tree, "package.json") == {
        "express",
        "@vitejs/plugin-react",
        "react",
        "pg-native",
    }


def test_pyproject_pep621_groups_and_poetry(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": """
[project]
dependencies = ["FastAPI[standard]>=0.115", "psycopg[binary] ; python_version>'3'"]
[project.optional-dependencies]
cache = ["redis>=5"]
[dependency-groups]
dev = ["pytest", {include-group = "lint"}]
[tool.poetry.dependencies]
python = "^3.13"
PyMySQL = "^1"
[tool.poetry.group.test.dependencies]
motor = "*"
"""
        },
    )
    assert det.dependencies(det._walk(tmp_path), "pyproject.toml") == {
        "fastapi",
        "psycopg",
        "redis",
        "pytest",
        "pymysql",
        "motor",
    }


def test_requirements_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "requirements-dev.txt": "# pinned\n-r base.txt\n--hash=sha256:00\n"
            "uvicorn[standard]==0.34.0  # server\nasyncpg>=0.30; python_version>='3.9'\n"
            "psycopg2_binary==2.9\n\n"
        },
    )
    assert det.dependencies(det._walk(tmp_path), "requirements-dev.txt") == {
        "uvicorn",
        "asyncpg",
        "psycopg2-binary",
    }


def test_toml_lockfiles_and_go_mod(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "uv.lock": 'version = 1\n[[package]]\nname = "fastapi"\n[[package]]\nname = "Redis"\n',
            "yarn.lock": "# yarn lockfile v1\nexpress@^5:\n  version 5\n",
            "go.mod": "module example.com/x // the module\n\ngo 1.25.3\n\ntoolchain go1.25.4\n\n"
            "require github.com/lib/pq v1.10.9\nrequire (\n\tgithub.com/redis/go-redis/v9 v9.7.0"
            " // indirect\n)\n",
        },
    )
    tree = det._walk(tmp_path)
    assert det.dependencies(tree, "uv.lock") == {"fastapi", "redis"}
    assert det.dependencies(tree, "yarn.lock") == set()  # not TOML: read as no dependencies
    assert det.dependencies(tree, "go.mod") == {"github.com/lib/pq", "github.com/redis/go-redis/v9"}
    mod = det._parse_go_mod(tree, "go.mod")
    assert (mod["module"], mod["go"], mod["toolchain"]) == ("example.com/x", "1.25.3", "go1.25.4")


@pytest.mark.parametrize(
    ("said", "version"),
    [
        (">=3.13", "3.13"),
        ("^20.11.1", "20.11"),
        ("v24", "24"),
        ("24.x", "24"),
        ("1.25.3", "1.25"),
        (">=18 <21", "18"),
        ("lts/iron", None),
        ("node", None),
    ],
)
def test_versions_are_normalised_to_major_minor(said: str, version: str | None) -> None:
    assert det.normalise_version(said) == version


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("requirements*.txt", "requirements-dev.txt", True),
        ("requirements*.txt", "sub/requirements.txt", False),
        ("**/*.py", "main.py", True),
        ("**/*.py", "a/b/c.py", True),
        ("**/*.{js,mjs}", "src/server.mjs", True),
        ("**/*.{js,mjs}", "src/server.ts", False),
        ("cmd/*/*.go", "cmd/api/main.go", True),
        ("cmd/*/*.go", "cmd/api/x/main.go", False),
        ("[!.]*.html", "index.html", True),
    ],
)
def test_globs(pattern: str, path: str, hit: bool) -> None:
    assert bool(det._glob(pattern).match(path)) is hit


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        ("redis:7-alpine", "redis"),
        ("docker.io/library/postgres:17@sha256:" + "0" * 64, "postgres"),
        ("registry.example.test:5000/bitnami/postgresql:17", "bitnami/postgresql"),
        ("Mongo", "mongo"),
        ("localhost/mysql", "mysql"),
    ],
)
def test_compose_images_to_repositories(image: str, repo: str) -> None:
    assert det._image_repo(image) == repo


@pytest.mark.parametrize(
    ("path", "strip", "module"),
    [
        ("src/shop_api/main.py", ["src"], "shop_api.main"),
        ("app/main.py", ["src"], "app.main"),
        ("main.py", [], "main"),
        ("pkg/__init__.py", [], "pkg"),
        ("src/lib/app.py", ["src/lib"], "app"),
    ],
)
def test_modules_of_python_files(path: str, strip: list[str], module: str) -> None:
    assert det._module(path, strip) == module


def test_a_fact_value_names_only_known_placeholders() -> None:
    assert Fact(file="go.mod", value="./{dir} {name} {module} {path} {0}").value
    with pytest.raises(ValueError, match="unknown placeholder"):
        Fact(file="go.mod", value="{folder}")
    with pytest.raises(ValueError, match="inside the folder"):
        Fact(file="../go.mod")
    with pytest.raises(ValueError, match="bad regular expression"):
        Fact(file="go.mod", match="(")


# -------------------------------------------------------------------------------- rules


def test_one_app_at_the_root_is_named_by_its_kind(tmp_path: Path) -> None:
    write(
        tmp_path / "shop",
        {
            "package.json": pkg(
                {"express": "^5", "ioredis": "5"},
                main="index.js",
                scripts={"start": "node --enable-source-maps lib/server.js"},
            ),
            "lib/server.js": "const port = process.env.PORT ?? '8088';\n",
            ".nvmrc": "v22.11.0\n",
        },
    )
    d = detect(tmp_path / "shop", default_set())
    assert d.layout.project == "shop"
    assert services(d) == {
        "api": {
            "name": "api",
            "kind": "express",
            "port": 8088,
            "path": ".",
            "version": "22.11",
            "entry": "lib/server.js",
            "health": "tcp",
            "uses": ["redis"],
        },
        "redis": {"name": "redis", "kind": "redis"},
    }


def test_a_vite_app_outranks_the_static_site_its_index_html_also_is(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "web/package.json": pkg({"react": "19", "vite": "6"}),
            "web/index.html": "<!doctype html>",
            "site/index.html": "<!doctype html>",
        },
    )
    d = detect(tmp_path, default_set())
    assert {s.name: s.kind for s in d.layout.services} == {"web": "react", "site": "static"}
    assert d.warnings == ()  # priority settles it: nothing to warn about


def test_a_folder_two_kinds_of_one_priority_claim_is_the_sets_first_with_a_warning(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"package.json": pkg({"express": "5"}), "requirements.txt": "fastapi\n"})
    d = detect(tmp_path, default_set())
    assert [s.kind for s in d.layout.services] == ["express"]
    assert d.warnings == (
        "the root also looks like fastapi (requirements.txt depends on fastapi); taken as "
        "express, the set's first (give kind.yml `detect.priority`)",
    )


def test_a_claimed_folder_owns_its_subfolders_and_tests_docs_are_no_services(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "package.json": pkg({"express": "5"}),
            "public/index.html": "<h1>x</h1>",  # the express app's static files
            "docs/index.html": "<h1>docs</h1>",
            "tests/fixtures/app/package.json": pkg({"express": "5"}),
        },
    )
    d = detect(tmp_path, default_set())
    assert [(s.name, s.kind, s.path) for s in d.layout.services] == [("api", "express", ".")]


def test_pruned_folders_are_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path,
        {
            "api/package.json": pkg({"express": "5"}),
            "api/node_modules/pg/package.json": pkg({"express": "5"}),
            ".venv/lib/fastapi/pyproject.toml": "[project]\ndependencies=['fastapi']\n",
            "build/index.html": "x",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
    )
    opened: list[str] = []
    real = det._Tree.text

    def spy(self: det._Tree, rel: str) -> str | None:
        opened.append(rel)
        return real(self, rel)

    monkeypatch.setattr(det._Tree, "text", spy)
    d = detect(tmp_path, default_set())
    assert [s.name for s in d.layout.services] == ["api"]
    assert opened and not [p for p in opened if re.search(r"node_modules|\.venv|\.git|build", p)]


def test_apps_and_services_monorepo_with_clashing_folder_names(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "apps/api/package.json": pkg({"express": "5"}),
            "services/api/requirements.txt": "fastapi==0.115.0\n",
            "services/Billing_V2/requirements.txt": "fastapi\nmysqlclient\n",
        },
    )
    d = detect(tmp_path, default_set())
    got = {s.name: (s.kind, s.path, s.uses) for s in d.layout.services}
    assert got == {
        "api": ("express", "apps/api", None),
        "api-2": ("fastapi", "services/api", None),
        "billing-v2": ("fastapi", "services/Billing_V2", ["mysql"]),
        "mysql": ("mysql", None, None),
    }


def test_a_workspace_lockfile_and_nvmrc_are_found_above(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pnpm-workspace.yaml": "packages: [packages/*]\n",
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
            ".nvmrc": "20\n",
            "packages/site/package.json": pkg({"vite": "6", "react": "19"}),
        },
    )
    d = detect(tmp_path, default_set())
    (web,) = d.layout.services
    assert (web.package_manager, web.version) == ("pnpm", "20")
    assert any("outside packages/site/" in w for w in d.warnings)


def test_databases_from_env_example_and_compose_without_stating_uses(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "backend/go.mod": "module x\n\ngo 1.24\n",
            "backend/main.go": 'package main\n\nfunc main() { serve(":9090") }\n',
            ".env.example": "export DATABASE_URL='postgresql+psycopg://u:p@db/app'\n#X=mysql://\n",
            "compose.yaml": "services:\n  cache: {image: 'docker.io/library/redis:8'}\n"
            "  mq: {image: rabbitmq:4}\n  app: {build: .}\n",
        },
    )
    d = detect(tmp_path, default_set())
    got = {s.name: (s.kind, s.uses) for s in d.layout.services}
    assert got == {
        "backend": ("go", None),
        "postgres": ("postgres", None),
        "redis": ("redis", None),
    }
    assert any("'mq' runs rabbitmq:4, which no kind" in w for w in d.warnings)
    texts = [r.text for r in d.reasons]
    assert (
        "database postgres is postgres: .env.example sets DATABASE_URL=postgresql+psycopg://..."
        in texts
    )
    assert texts[-1] == (
        "database redis is redis: compose.yaml runs docker.io/library/redis:8 (its service cache)"
    )


def test_a_frontend_declaring_a_driver_uses_no_database(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": pkg({"vite": "6", "react": "19", "pg": "8"})})
    d = detect(tmp_path, default_set())
    assert [s.kind for s in d.layout.services] == ["react"]
    assert any("a frontend connects to no database" in w for w in d.warnings)


def test_a_version_that_names_no_number_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": pkg({"express": "5"}), ".nvmrc": "lts/iron\n"})
    d = detect(tmp_path, default_set())
    assert d.layout.services[0].version is None
    assert d.warnings == (
        ".nvmrc says 'lts/iron', not a version: api gets express's default runtime",
    )


def test_a_team_set_detects_its_own_stack_without_python(tmp_path: Path) -> None:
    """examples/acme-set's worker kind declares its detection in kind.yml only."""
    write(
        tmp_path,
        {
            "jobs/requirements.txt": "redis==8.1.0\n",
            "jobs/sweeper/__main__.py": 'INTERVAL = os.environ.get("WORKER_INTERVAL", "5")\n'
            'if self.path == "/healthz":\n',
            "jobs/.python-version": "3.13.1\n",
            "api/requirements.txt": "fastapi\n",
        },
    )
    acme = load_template_set(str(ACME))
    d = detect(tmp_path, acme)
    assert d.layout.template == str(ACME)
    got = {s.name: s.model_dump(exclude_none=True) for s in d.layout.services}
    assert got["jobs"] == {
        "name": "jobs",
        "kind": "worker",
        "path": "jobs",
        "version": "3.13",
        "entry": "sweeper",
        "health": "/healthz",
        "uses": ["redis"],
    }
    assert got["api"]["kind"] == "fastapi"
    # and the bundled set, which has no worker kind, doesn't see it
    assert [s.name for s in detect(tmp_path, default_set()).layout.services] == ["api"]


def test_a_kind_with_a_malformed_detect_fails_when_the_set_loads() -> None:
    base = {"category": "backend", "description": "x", "default_name": "x", "port": 1}
    with pytest.raises(ValueError, match="placeholder"):
        Kind.model_validate(
            {
                **base,
                "name": "x",
                "images": {},
                "detect": {"facts": {"entry": [{"file": "a", "value": "{x}"}]}},
            }
        )
    with pytest.raises(ValueError):
        Kind.model_validate(
            {**base, "name": "x", "images": {}, "detect": {"markers": [{"files": []}]}}
        )


# ---------------------------------------------------------------------------- bad input


def one_line(exc: DockergenError) -> str:
    line = exc.line()
    assert "\n" not in line and exc.exit_code == 2
    return line


def test_an_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="is empty: there is no code to detect") as exc:
        detect(tmp_path, default_set())
    one_line(exc.value)
    with pytest.raises(LayoutError, match="no such folder"):
        detect(tmp_path / "nope", default_set())


def test_nothing_detectable_names_what_was_looked_for(tmp_path: Path) -> None:
    write(tmp_path, {"README.md": "# notes\n", "package.json": pkg({"lodash": "4"})})
    with pytest.raises(LayoutError) as exc:
        detect(tmp_path, default_set())
    line = one_line(exc.value)
    assert line.startswith("found nothing to run in ")
    assert "package.json" in line and "go.mod" in line and "index.html" in line


def test_a_package_json_that_is_not_json(tmp_path: Path) -> None:
    write(tmp_path, {"web/package.json": '{\n  "name": "web",\n  "dependencies": {,}\n}\n'})
    with pytest.raises(LayoutError) as exc:
        detect(tmp_path, default_set())
    assert one_line(exc.value) == (
        "web/package.json: not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3, column 20"
    )


def test_a_pyproject_that_is_not_toml(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project\n"})
    with pytest.raises(LayoutError, match=r"^pyproject.toml: not valid TOML: .*line 1"):
        detect(tmp_path, default_set())


def test_a_go_mod_without_a_main_package(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"lib/go.mod": "module example.com/lib\n\ngo 1.25\n", "lib/lib.go": "package lib\n"},
    )
    with pytest.raises(LayoutError) as exc:
        detect(tmp_path, default_set())
    assert one_line(exc.value) == (
        "lib/go.mod: no .go file under it is `package main`: a library module, not a service to run"
    )


def test_two_apps_claiming_the_same_port_are_both_named(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "orders/package.json": pkg({"express": "5"}),
            "orders/index.js": "app.listen(3000)\n",
            "users/package.json": pkg({"express": "5"}),
            "users/src/main.js": "const port = process.env.PORT || 3000\n",
        },
    )
    with pytest.raises(LayoutError) as exc:
        detect(tmp_path, default_set())
    assert one_line(exc.value).startswith(
        "two apps claim port 3000: 'orders' (orders/index.js) and 'users' (users/src/main.js)"
    )


def test_the_same_port_behind_a_frontend_is_no_clash(tmp_path: Path) -> None:
    """Backends a frontend proxies to aren't published: each has its own container network."""
    write(
        tmp_path,
        {
            "orders/package.json": pkg({"express": "5"}),
            "orders/index.js": "app.listen(3000)\n",
            "users/package.json": pkg({"express": "5"}),
            "users/index.js": "app.listen(3000)\n",
            "web/index.html": "<!doctype html>",
        },
    )
    d = detect(tmp_path, default_set())
    assert [s.port for s in d.layout.services] == [None, 3000, 3000]
    layouts.normalise(d.layout, default_set())


# ------------------------------------------------------------------------ property test

folder_names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\\\x00"), min_size=1, max_size=20
).filter(lambda n: n not in (".", "..") and not n.startswith(".") and n.strip() == n)
dep_names = st.sampled_from(
    ["express", "react", "vite", "pg", "mysql2", "mongodb", "ioredis", "lodash", "@x/y", "redis"]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    apps=st.lists(
        st.tuples(folder_names, st.lists(dep_names, max_size=5), st.none() | st.integers(0, 70000)),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0].lower(),
    )
)
def test_random_repositories_never_crash_and_give_valid_names(
    tmp_path_factory: pytest.TempPathFactory, apps: list[tuple[str, list[str], int | None]]
) -> None:
    root = tmp_path_factory.mktemp("repo")
    for folder, deps, port in apps:
        try:
            (root / folder).mkdir()
        except OSError:  # a name this filesystem refuses
            continue
        (root / folder / "package.json").write_text(pkg(dict.fromkeys(deps, "1")), "utf-8")
        if port is not None:
            (root / folder / "server.js").write_text(f"app.listen({port})\n", "utf-8")
    try:
        d = detect(root, default_set())
    except (LayoutError, TemplateSetError) as exc:
        assert "\n" not in exc.line()
        return
    names = [s.name for s in d.layout.services]
    assert len(names) == len(set(names))
    assert all(NAME.fullmatch(n) for n in names)
    assert all(s.port is None or 1 <= s.port <= 65535 for s in d.layout.services)
    layouts.normalise(d.layout, default_set())
    yaml.safe_load(d.layout.to_yaml())


def test_a_workspace_root_is_not_an_app_its_packages_are(tmp_path: Path) -> None:
    """An npm workspace's root package.json declares vite and react for its tooling."""
    write(
        tmp_path,
        {
            "package.json": pkg({"vite": "6", "react": "19"}, workspaces=["packages/*"]),
            "packages/shop/package.json": pkg({"vite": "6", "react": "19"}),
            "packages/api/package.json": pkg({"express": "5"}),
        },
    )
    d = detect(tmp_path, default_set())
    assert [(s.name, s.kind) for s in d.layout.services] == [("shop", "react"), ("api", "express")]


def test_the_detection_examples_of_the_authoring_guide_are_valid() -> None:
    """docs/template-sets.md's `detect:` blocks are what a set may say."""
    from scaffold.templatesets.manifest import Detect

    text = (HERE.parent / "docs" / "template-sets.md").read_text(encoding="utf-8")
    section = text[text.index("### Detection") : text.index("## 5.")]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        Detect.model_validate(yaml.safe_load(block)["detect"])


def test_a_tests_copy_of_the_app_is_not_the_entry_and_reserved_names_are_avoided(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "secrets/requirements.txt": "fastapi\n",
            "secrets/tests/conftest.py": "app = FastAPI()\n",
            "secrets/src/vault/api/app.py": "api: FastAPI = FastAPI(title='vault')\n",
        },
    )
    d = detect(tmp_path, default_set())
    (svc,) = d.layout.services
    assert (svc.name, svc.path, svc.entry) == ("secrets-2", "secrets", "vault.api.app:api")
