"""Helpers shared by the test modules: layouts, generation, tree snapshots.

Kept out of conftest.py so test modules can import them by a name no other conftest shadows.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from scaffold import layout as layouts
from scaffold.api import NewResult, new_project
from scaffold.templatesets.loader import TemplateSet, load_template_set
from scaffold.templatesets.sources import bundled_root


def default_set() -> TemplateSet:
    return load_template_set("default")


def kind_names(category: str | None = None) -> list[str]:
    """Kinds of the bundled default set (all, or one category), sorted."""
    tset = default_set()
    return sorted(k.name for k in tset.kinds.values() if category in (None, k.category))


FIXTURE_SETS = Path(__file__).resolve().parent / "fixtures" / "sets"
GOLDEN = Path(__file__).resolve().parent / "golden"
LOOKALIKES = Path(__file__).resolve().parent / "e2e" / "lookalikes"
# `dockergen new --defaults`: the e2e whole stacks start from it (its services keep their names).
E2E_DEFAULT = [("react", "frontend"), ("fastapi", "api"), ("postgres", "postgres")]


def built_kinds(tset: TemplateSet) -> list[str]:
    """Kinds of a set that build an image (frontends, backends), sorted: the e2e kind list."""
    return sorted(k for k in tset.kinds if tset.builds(k))


def uncovered_kinds(tset: TemplateSet) -> list[str]:
    """Kinds of a set that no golden scenario (tests/golden/*/layout.yml) uses, sorted."""
    used = {s.kind for p in GOLDEN.glob("*/layout.yml") for s in layouts.load(p).services}
    return sorted(set(tset.kinds) - used)


def lab_runs(image: str | None) -> bool:
    """The engine lab has a look-alike of this image (tests/e2e/lookalikes/<repository>/)."""
    if not image:
        return False
    repository = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    return (LOOKALIKES / repository).is_dir()


def e2e_full_layout(
    tset: TemplateSet, start: list[tuple[str, str]] = E2E_DEFAULT
) -> list[tuple[str, str]]:
    """The e2e whole stack, (kind, name) pairs: the default layout, then every other backend
    kind of the set and every database kind whose image the lab can run, each named by kind."""
    have = {kind for kind, _ in start}
    rest = [
        (k.name, k.name)
        for category in ("backend", "database")
        for k in sorted(tset.kinds_in(category), key=lambda k: k.name)  # type: ignore[arg-type]
        if k.name not in have and (category == "backend" or lab_runs(k.image))
    ]
    order = {"frontend": 0, "backend": 1, "database": 2}
    return sorted([*start, *rest], key=lambda pair: order[tset.kinds[pair[0]].category])


def missing_kinds(data: dict[str, Any]) -> list[str]:
    """Kinds a raw layout uses that the default set doesn't (yet) have."""
    have = set(default_set().kinds)
    return sorted({s["kind"] for s in data.get("services", []) if s["kind"] not in have})


def skip_unless_kinds(data: dict[str, Any]) -> None:
    """Skip (with the reason) when a layout needs kinds the set doesn't have yet."""
    missing = missing_kinds(data)
    if missing:
        pytest.skip(f"kinds not in templates/default yet: {', '.join(missing)}")


def services(*specs: str | tuple[str, str] | tuple[str, str, int]) -> list[dict[str, Any]]:
    """services("postgres", ("fastapi", "api"), ("react", "web", 3001)) -> layout entries.

    A bare kind takes the kind's default name.
    """
    tset = default_set()
    out: list[dict[str, Any]] = []
    for spec in specs:
        if isinstance(spec, str):
            name = tset.kinds[spec].default_name if spec in tset.kinds else spec
            out.append({"name": name, "kind": spec})
        elif len(spec) == 2:
            out.append({"name": spec[1], "kind": spec[0]})
        else:
            out.append({"name": spec[1], "kind": spec[0], "port": spec[2]})
    return out


def generate(target: Path, data: dict[str, Any], *, force: bool = False) -> NewResult:
    """Validate raw layout data and generate it into `target` through the library API."""
    return new_project(target, layouts.parse(data), force=force)


def tree(root: Path) -> set[str]:
    """Every path (files and directories) below root, relative, POSIX: for 'nothing written'."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def staging_leftovers(parent: Path) -> list[str]:
    """Temporary directories the atomic writer must always remove."""
    return sorted(p.name for p in parent.iterdir() if ".dockergen-" in p.name)


def assert_no_findings(findings: Iterable[str]) -> None:
    findings = list(findings)
    assert not findings, f"{len(findings)} finding(s):\n" + "\n".join(findings)


# ------------------------------------------------- update tests: a small set in two versions
#
# test_update.py, test_update_matrix.py and test_atomic.py use a copy of the bundled set with
# its own `web` backend kind, so their expected lines don't move when the bundled kinds change.

WEB_DOCKERFILE = """\
{% include "partials/header.jinja" %}

FROM {{ svc.images.build }} AS build
WORKDIR /src
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

FROM {{ svc.images.runtime }} AS runtime
{% include "partials/labels.jinja" %}
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY app/ ./app/
USER 10001:10001

EXPOSE {{ svc.port }}
HEALTHCHECK CMD ["python", "-m", "app.health", "{{ svc.port }}"]
CMD ["python", "-m", "app.main"]
"""
WEB_KIND = """\
category: backend
description: a small Python web service (test kind)
default_name: web
port: 8000
images:
  build: python:3.12-slim
  runtime: python:3.12-slim
environment:
  APP_MODE: production
"""
WEB_FILES = {
    "Dockerfile.jinja": WEB_DOCKERFILE,
    "requirements.txt.jinja": "requests==2.32.3\n",
    ".dockerignore.jinja": ".git\n.env*\nsecrets/\n__pycache__/\n",
    "app/main.py.jinja": '"""{{ svc.name }}."""\nPORT = {{ svc.port }}\n',
}
V2_IMAGES = ("python:3.12-slim", "python:3.13-slim")  # v2 moves the web kind to 3.13
V2_COMPOSE_LINE = "# Reviewed for template set 2.0.0.\n"


def make_sets(root: Path) -> tuple[Path, Path]:
    """A test set v1 and a newer v2 (the web kind's images and the compose template changed).

    The web Dockerfile takes its FROM images from the kind's `images`, as a set's should, so
    digest pins and mirrors apply to it."""
    bundled = bundled_root() / "default"
    v1 = root / "v1"
    shutil.copytree(bundled, v1, ignore=shutil.ignore_patterns("kinds"))
    for kind in ("postgres", "redis"):
        shutil.copytree(bundled / "kinds" / kind, v1 / "kinds" / kind)
    web = v1 / "kinds" / "web"
    (web / "files" / "app").mkdir(parents=True)
    (web / "kind.yml").write_text(WEB_KIND)
    for rel, text in WEB_FILES.items():
        (web / "files" / rel).write_text(text)
    v2 = root / "v2"
    shutil.copytree(v1, v2)
    manifest = v2 / "set.yml"
    manifest.write_text(re.sub(r"(?m)^version: .*$", "version: 2.0.0", manifest.read_text()))
    kind = v2 / "kinds" / "web" / "kind.yml"
    kind.write_text(kind.read_text().replace(*V2_IMAGES))
    compose = v2 / "project" / "docker-compose.yml.jinja"
    compose.write_text(compose.read_text() + V2_COMPOSE_LINE)
    return v1, v2


def use_set(template: Path, version: Path) -> None:
    """Put a set version at the project's template path: an upgrade in place."""
    shutil.rmtree(template, ignore_errors=True)
    shutil.copytree(version, template)


def base_layout(template: Path) -> dict[str, Any]:
    return {
        "template": str(template),
        "services": [
            {"name": "api", "kind": "web", "port": 8000},
            {"name": "worker", "kind": "web", "port": 8100},
        ],
    }


def create(target: Path, data: dict[str, Any]) -> Path:
    new_project(target, layouts.parse(data))
    return target


def files_of(root: Path, *, internal: bool = False) -> dict[str, bytes]:
    """Every file below root (relative POSIX path -> bytes); `.dockergen/` only if asked."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and (internal or not rel.startswith(".dockergen/")):
            out[rel] = path.read_bytes()
    return out


def without_secrets(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if not k.startswith("secrets/")}
