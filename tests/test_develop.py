"""The development loop: `docker compose watch` rules in every generated compose file.

Each built service gets a `develop.watch` section from its kind's data (kind.yml `develop:`);
the real Compose binary and the compose-spec schema accept it, and the rules watch what must
rebuild (sources, lockfiles, the Dockerfile) while skipping what never reaches the running
service. The e2e test (tests/e2e/test_devloop.py) runs `docker compose watch` itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import oracles
import pytest
import yaml
from docker.utils.build import PatternMatcher
from projects import assert_no_findings, default_set, generate, kind_names, services

from scaffold import layout as layouts
from scaffold.api import new_project

REPO = Path(__file__).resolve().parent.parent
BUILT = [k for k in kind_names() if default_set().builds(k)]
# Files every built kind must rebuild on, besides its sources: the dependency manifests and
# lockfiles its Dockerfile installs from, and the Dockerfile itself.
MUST_REBUILD = {
    "fastapi": ["Dockerfile", "requirements.txt", "app/main.py"],
    "express": ["Dockerfile", "package.json", "package-lock.json", "server.js"],
    "go": ["Dockerfile", "go.mod", "main.go", "go.sum"],
    "react": ["Dockerfile", "package.json", "package-lock.json", "src/App.jsx", "index.html"],
    "static": ["Dockerfile", "nginx.conf", "site/index.html"],
}
# Files that never reach the running service: a change must not rebuild it.
NEVER_REBUILD = {
    "fastapi": ["tests/test_api.py", "app/test_main.py", "conftest.py", ".venv/bin/python"],
    "express": ["test/server.test.js", "routes/items.test.js", "node_modules/x/index.js"],
    "go": ["main_test.go", "internal/testdata/case.json"],
    "react": ["src/App.test.jsx", "node_modules/x/index.js", "dist/index.html"],
    "static": [".git/HEAD", "notes.swp~"],
}


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project with every built kind (and a database, which is not built)."""
    target = tmp_path_factory.mktemp("devloop") / "everything"
    specs = [(k, f"{k}-svc") for k in BUILT] + ["postgres"]
    generate(target, {"services": services(*specs)})
    return target


def compose_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "docker-compose.yml").read_text(encoding="utf-8"))


def test_every_kind_of_the_set_is_covered() -> None:
    assert set(BUILT) == set(MUST_REBUILD) == set(NEVER_REBUILD)


def test_every_built_service_has_watch_rules(everything: Path) -> None:
    compose = compose_of(everything)
    for name, svc in compose["services"].items():
        if "build" not in svc:
            assert "develop" not in svc, f"{name}: not built, nothing to rebuild"
            continue
        rules = svc["develop"]["watch"]
        assert rules, f"{name}: no watch rules"
        assert any(r["action"] == "rebuild" and r["path"] == f"./{name}" for r in rules), rules


def test_real_compose_and_the_schema_accept_the_rules(everything: Path) -> None:
    """`docker compose config` (the real binary) and the compose-spec schema; the normalised
    model keeps each rule, with the path resolved into the service's build context."""
    assert_no_findings(oracles.compose_config(everything))
    assert_no_findings(oracles.compose_schema(everything))
    proc = oracles._compose(everything.resolve(), "config", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    model = json.loads(proc.stdout)
    for name, svc in model["services"].items():
        if "build" not in svc:
            continue
        watch = svc["develop"]["watch"]
        assert {r["action"] for r in watch} == {"rebuild"}, f"{name}: {watch}"
        assert {r["path"] for r in watch} == {svc["build"]["context"]}


def _matches(patterns: list[str], rel: str) -> bool:
    """Docker's pattern matching as compose watch applies it (moby's MatchesOrParentMatches):
    the path or any of its parents matches, the last matching pattern deciding."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    matched = False
    for pattern in PatternMatcher(patterns).patterns:
        if any(pattern.match(p) for p in prefixes):
            matched = not pattern.exclusion
    return matched


def _triggers(context: Path, rule: dict[str, Any], rel: str) -> bool:
    """Would compose watch act on a change of `rel` (relative to the context)? Compose skips
    what the context's .dockerignore excludes and what the rule ignores (pkg/watch)."""
    rule_dir = (context.parent / rule["path"]).resolve()
    target = (context / rel).resolve()
    if not target.is_relative_to(rule_dir):
        return False
    if _matches(oracles.dockerignore_patterns(context), rel):
        return False
    return not _matches(rule.get("ignore", []), target.relative_to(rule_dir).as_posix())


@pytest.mark.parametrize("kind", BUILT)
def test_sources_lockfiles_and_dockerfile_rebuild_tests_do_not(everything: Path, kind: str) -> None:
    """A Dockerfile listed in .dockerignore would never trigger a rebuild (measured with
    Compose 2.40: the edit is silently skipped), so the Dockerfile stays in the context."""
    name = f"{kind}-svc"
    context = everything / name
    rules = compose_of(everything)["services"][name]["develop"]["watch"]
    for rel in MUST_REBUILD[kind]:
        if not (context / rel).exists() and rel != "go.sum":
            pytest.fail(f"{kind}: {rel} is not generated; update MUST_REBUILD")
        assert any(r["action"] == "rebuild" and _triggers(context, r, rel) for r in rules), (
            f"{kind}: a change of {rel} rebuilds nothing"
        )
    for rel in NEVER_REBUILD[kind]:
        assert not any(_triggers(context, r, rel) for r in rules), f"{kind}: {rel} rebuilds"


def test_production_images_hold_no_reloader(everything: Path) -> None:
    """The loop rebuilds; the images keep their production command (no --reload, no --watch)."""
    for kind in BUILT:
        text = (everything / f"{kind}-svc" / "Dockerfile").read_text(encoding="utf-8")
        final = oracles.stages(oracles.parse_dockerfile(text))[-1]
        for ins in final.instructions:
            if ins.keyword in ("CMD", "ENTRYPOINT"):
                assert "--reload" not in ins.args and "--watch" not in ins.args, ins.args
    requirements = (everything / "fastapi-svc" / "requirements.txt").read_text(encoding="utf-8")
    assert "watchfiles" not in requirements


def test_readme_develop_section(everything: Path) -> None:
    readme = (everything / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Develop", 1)[1].split("\n## ", 1)[0]
    assert "docker compose watch" in section
    for kind in BUILT:
        assert f"- `{kind}-svc` ({kind}) rebuilds its image" in section, kind
    # each runtime's own reloading server, run outside the image, on 127.0.0.1
    assert "uvicorn app.main:app --reload --host 127.0.0.1" in section
    assert "node --watch server.js" in section and "HOST=127.0.0.1" in section
    assert "npm run dev" in section and "/api/" in section
    assert "go run ." in section
    # behind the frontend, a backend holds no host port: nothing to stop, and the way to
    # publish it while developing is said instead
    assert "docker compose stop fastapi-svc" not in section
    assert "`fastapi-svc` is not published" in section
    assert "dockergen update --set services.fastapi-svc.publish=" in section
    assert "reports them unreachable" in section  # the layout has a database


def test_no_built_service_no_develop_section(tmp_path: Path) -> None:
    generate(tmp_path / "p", {"services": services("postgres")})
    assert "## Develop" not in (tmp_path / "p" / "README.md").read_text(encoding="utf-8")


def test_a_kind_without_develop_data_rebuilds_on_any_change(tmp_path: Path) -> None:
    """The example set's worker kind says nothing about develop: the default rule applies."""
    kind_file = REPO / "examples" / "acme-set" / "kinds" / "worker" / "kind.yml"
    assert "develop" not in yaml.safe_load(kind_file.read_text(encoding="utf-8"))
    layout = {
        "template": str(REPO / "examples" / "acme-set"),
        "services": [{"name": "worker", "kind": "worker"}],
    }
    new_project(tmp_path / "p", layouts.parse(layout))
    rules = compose_of(tmp_path / "p")["services"]["worker"]["develop"]["watch"]
    assert rules == [{"action": "rebuild", "path": "./worker"}]
