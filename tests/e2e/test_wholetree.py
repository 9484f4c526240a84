"""A generated project keeps working as the user's source tree grows (issue 9, section 1).

Every kind of the default set that builds an image gets, in a generated project that was built
once already: a new source file in a new folder, imported or required from the entry point (and,
for react, root config files that `vite build` reads: postcss.config.js and .env.production).
After `docker compose up --build --wait` every service is healthy and answers with a value only
the new module holds.

The same working copies also hold what a developer's folder holds and no image may: .env files,
secrets/, node_modules/, a virtualenv, caches, test output, Dockerfile sidecars, each at the
context root and in every top-level folder, each carrying a unique marker. No image has one of
them, by name (the image's filesystem) or by content (every layer of `docker save`), while a
harmless file planted the same way does reach the images that ship their sources.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_layers import scan_saved_image

from scaffold.templatesets.loader import load_template_set

if TYPE_CHECKING:
    from conftest import Project, ProjectFactory

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:10]
JUNK = f"dge2e-junk-{RUN}"  # in every planted file that .dockerignore must keep out
KEPT = f"dge2e-kept-{RUN}"  # in a harmless file planted the same way (the control)
VITE_PRIVATE = f"dge2e-vite-private-{RUN}"  # a non-VITE_ value in .env.production

# What a working copy holds that no image may: planted at the context root and in every
# top-level folder of it. Names with JUNK in them are looked for by name too.
PLANTED = (
    ".env",
    ".env.local",
    ".env.production.local",
    ".envrc",
    f"secrets/{JUNK}",
    f"node_modules/{JUNK}/index.js",
    f".venv/{JUNK}",
    f"__pycache__/{JUNK}.cpython-313.pyc",
    f"{JUNK}.pyc",
    f".pytest_cache/{JUNK}",
    "junit.xml",
    f"{JUNK}.pem",
    f".git/{JUNK}",
    "Dockerfile.dev",
    f"{JUNK}.Dockerfile",
    # (not Dockerfile.dockerignore: beside the Dockerfile, BuildKit reads it instead of
    # .dockerignore, so it is a build file, not junk)
    f"{JUNK}.Dockerfile.dockerignore",
    "docker-compose.override.yml",
    f".vscode/{JUNK}.json",
    f"{JUNK}.log",
)
# Test output at the context root only (below it, `coverage/` may be a source folder).
PLANTED_AT_ROOT = (f"coverage/{JUNK}.info", f"test-results/{JUNK}.xml")
FIXED_NAMES = {Path(p).name for p in PLANTED if JUNK not in p}


def built_kinds() -> list[str]:
    """The default set's kinds that build an image (a files/Dockerfile.jinja), in set order."""
    tset = load_template_set("default")
    return [name for name in tset.kinds if tset.builds(name)]


# ------------------------------------------------------------------------ growing each kind


@dataclass
class Grown:
    path: str  # GET this path of the service, on its published port
    expect: list[str]  # ...and find these values in what it serves (assets followed for react)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected one {old!r} to edit"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def grow_express(ctx: Path, mark: str) -> Grown:
    """routes/items.js, required by server.js (today's fixed COPY list: MODULE_NOT_FOUND)."""
    _write(ctx / "routes" / "items.js", f"'use strict';\nexports.list = () => ['{mark}'];\n")
    _edit(
        ctx / "server.js",
        "app.disable('x-powered-by');\n",
        "app.disable('x-powered-by');\n"
        "const items = require('./routes/items');\n"
        "app.get('/items', (req, res) => res.json({ items: items.list() }));\n",
    )
    return Grown("/items", [mark])


def grow_fastapi(ctx: Path, mark: str) -> Grown:
    """worker/, a top-level package beside app/, imported by app/main.py."""
    _write(ctx / "worker" / "__init__.py", '"""Background jobs."""\n')
    _write(ctx / "worker" / "jobs.py", f'def pending() -> list[str]:\n    return ["{mark}"]\n')
    main = ctx / "app" / "main.py"
    main.write_text(
        main.read_text(encoding="utf-8") + "\n\nfrom worker import jobs  # noqa: E402\n\n\n"
        '@app.get("/items")\n'
        "async def items() -> dict[str, list[str]]:\n"
        '    return {"items": jobs.pending()}\n',
        encoding="utf-8",
    )
    return Grown("/items", [mark])


def grow_go(ctx: Path, mark: str) -> Grown:
    """internal/items, a package of the module imported by main.go."""
    module = re.search(r"^module\s+(\S+)", (ctx / "go.mod").read_text(), re.M)
    assert module, "go.mod has no module line"
    _write(
        ctx / "internal" / "items" / "items.go",
        "// Package items holds the items.\npackage items\n\n"
        f'// List returns them.\nfunc List() []string {{ return []string{{"{mark}"}} }}\n',
    )
    main = ctx / "main.go"
    _edit(main, "import (\n", f'import (\n\t"{module.group(1)}/internal/items"\n')
    _edit(
        main,
        "mux := http.NewServeMux()\n",
        "mux := http.NewServeMux()\n"
        '\tmux.HandleFunc("/items", func(w http.ResponseWriter, r *http.Request) {\n'
        '\t\twriteJSON(w, http.StatusOK, map[string]any{"items": items.List()})\n'
        "\t})\n",
    )
    return Grown("/items", [mark])


def grow_react(ctx: Path, mark: str) -> Grown:
    """src/lib/greeting.js, imported by src/main.jsx, reading a value from .env.production; and
    a postcss.config.js whose plugin adds a rule: both root files only a whole-tree copy sees."""
    greeting, css = f"{mark}-env", f"{mark}-postcss"
    _write(
        ctx / ".env.production",
        f"VITE_GREETING={greeting}\n"
        f"# not VITE_: never in the bundle\nPRIVATE_NOTE={VITE_PRIVATE}\n",
    )
    _write(
        ctx / "postcss.config.js",
        "export default {\n  plugins: [\n    {\n      postcssPlugin: 'dge2e-mark',\n"
        f"      Once(root) {{ root.append('.{css} {{ color: red }}') }},\n"
        "    },\n  ],\n}\n",
    )
    _write(
        ctx / "src" / "lib" / "greeting.js",
        "export const greeting = import.meta.env.VITE_GREETING ?? 'no .env.production'\n",
    )
    _edit(
        ctx / "src" / "main.jsx",
        "import './App.css'\n",
        "import './App.css'\nimport { greeting } from './lib/greeting.js'\n\n"
        "document.documentElement.dataset.greeting = greeting\n",
    )
    return Grown("/", [greeting, css])


def grow_static(ctx: Path, mark: str) -> Grown:
    """site/lib/greeting.js, a new folder referenced by index.html."""
    _write(ctx / "site" / "lib" / "greeting.js", f"window.dge2eGreeting = '{mark}'\n")
    _edit(
        ctx / "site" / "index.html",
        '<script src="/app.js" defer></script>\n',
        '<script src="/app.js" defer></script>\n'
        '    <script src="/lib/greeting.js" defer></script>\n',
    )
    return Grown("/", [mark])


GROW: dict[str, Callable[[Path, str], Grown]] = {
    "express": grow_express,
    "fastapi": grow_fastapi,
    "go": grow_go,
    "react": grow_react,
    "static": grow_static,
}
# Where the control file planted at the root and in every top-level folder of the context lands
# in the image: the app's folder for kinds that ship their sources, the web root for the
# frontends (from public/ for react, from site/ for static). go's image is its binary alone.
KEPT_IN_IMAGE: dict[str, str | None] = {
    "express": f"app/{KEPT}.txt",
    "fastapi": f"app/{KEPT}.txt",
    "go": None,
    "react": f"srv/www/{KEPT}.txt",
    "static": f"srv/www/{KEPT}.txt",
}


def plant(ctx: Path) -> None:
    """Junk and secrets at the context root and in every top-level folder, plus a control."""
    folders = [ctx, *sorted(p for p in ctx.iterdir() if p.is_dir())]
    for folder in folders:
        for rel in PLANTED:
            dest = folder / rel
            if not dest.exists():
                _write(dest, f"{JUNK} {rel}\n")
        _write(folder / f"{KEPT}.txt", f"{KEPT}\n")
    for rel in PLANTED_AT_ROOT:
        _write(ctx / rel, f"{JUNK} {rel}\n")


# ------------------------------------------------------------------------------ the stacks


@dataclass
class Service:
    kind: str
    name: str
    project: Project
    grown: Grown


@dataclass
class Stacks:
    services: dict[str, Service] = field(default_factory=dict)  # kind -> service
    failed_up: dict[str, str] = field(default_factory=dict)  # project name -> why `up` failed


@pytest.fixture(scope="module")
def grown(make_project: ProjectFactory) -> Iterator[Stacks]:
    """Every built kind in a project of its own (one kind's failure can't hide another's):
    generated, built, grown (a new module, junk planted), rebuilt and started."""
    tset = load_template_set("default")
    stacks = Stacks()
    for kind in built_kinds():
        name = tset.kinds[kind].default_name
        project = make_project(f"grow-{kind}", [(kind, name)])
        project.build()  # the project as generated, built once: the grow below is a rebuild
        ctx = project.path / name
        stacks.services[kind] = Service(kind, name, project, GROW[kind](ctx, f"dge2e-{kind}-{RUN}"))
        plant(ctx)
    try:
        for service in stacks.services.values():
            try:
                service.project.up(build=True)
            except AssertionError as exc:  # reported by the test of that kind
                stacks.failed_up[service.project.name] = str(exc)
        yield stacks
    finally:
        for service in stacks.services.values():
            service.project.down(volumes=True)


# ------------------------------------------------------------------------------------ tests


def test_every_built_kind_has_a_grow_recipe():
    """A new built kind in the default set must be grown here too."""
    assert sorted(GROW) == sorted(built_kinds())
    assert sorted(KEPT_IN_IMAGE) == sorted(built_kinds())


def fetch(service: Service) -> str:
    """What the service serves at its grown path, on its published port; for a page, with the
    scripts and styles it names."""
    project = service.project
    status, body = project.get(service.name, service.grown.path)
    assert status == 200, f"{service.kind}: HTTP {status}: {body[:500]}"
    for asset in re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css))"', body):
        status, text = project.get(service.name, asset)
        assert status == 200, f"{service.kind}: {asset}: HTTP {status}"
        body += "\n" + text
    return body


@pytest.mark.parametrize("kind", built_kinds())
def test_a_new_module_in_a_new_folder_is_built_and_served(lab, grown, kind):
    service = grown.services[kind]
    why = grown.failed_up.get(service.project.name, "")
    cid = service.project.compose("ps", "--all", "--quiet", service.name).stdout.split()
    assert cid, f"{kind}: no container\n{why}"
    state = lab.inspect(cid[0])[0]["State"]
    health = (state.get("Health") or {}).get("Status")
    assert health == "healthy", f"{kind}: {health or state['Status']}\n{why}"
    body = fetch(service)
    for value in service.grown.expect:
        assert value in body, f"{kind}: {value!r} not served:\n{body[:2000]}"


@pytest.mark.parametrize("kind", built_kinds())
def test_nothing_the_dockerignore_excludes_reaches_the_image(lab, grown, kind, tmp_path):
    service = grown.services[kind]
    image = service.project.image(service.name)
    names = lab.names_in_image(image)
    junk = sorted(n for n in names if JUNK in n)
    assert not junk, f"{kind}: excluded files in the image: {junk[:20]}"
    # The fixed names (.env, Dockerfile.dev, junit.xml ...) where the app's files are.
    homes = ("app/", "srv/www/")
    fixed = sorted(n for n in names if n.startswith(homes) and Path(n).name in FIXED_NAMES)
    assert not fixed, f"{kind}: excluded files in the image: {fixed}"
    # The control: a file .dockerignore doesn't name reaches the images that ship sources.
    kept = KEPT_IN_IMAGE[kind]
    if kept is not None:
        assert kept in names, f"{kind}: the control file {kept} is not in the image"
    # By content, in every layer and in the image config: no planted file, no private value of
    # react's .env.production (only VITE_* values are bundled).
    archive = tmp_path / "image.tar"
    lab.docker("save", "--output", archive, image, timeout=600)
    result = scan_saved_image(archive, {"planted junk": JUNK, ".env.production": VITE_PRIVATE})
    assert result.files > 0, result
    assert not result.leaks, "\n".join(f"{label} in {where}" for label, where in result.leaks)
