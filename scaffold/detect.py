"""Detection for `dockergen init`: the services of an existing repository, as a Layout.

Everything a stack is recognised by is data in the template set (kind.yml `detect:`): the files
and dependency names that mark a folder as a kind, where its facts (runtime version, package
manager, entry, port, health route) are read, and what a database's users declare. This module
only walks the repository (once, bounded, never into node_modules, .venv, .git...) and reads
manifest formats (package.json, TOML: pyproject.toml and uv/poetry lockfiles, requirements*.txt,
go.mod), so a team's set adds detection for its own stack without Python.

How a folder becomes a service: folders are tried from the root down (at most SERVICE_DEPTH
levels, never test, docs or example folders); each kind whose `markers` the folder matches is a
candidate and the highest `priority` wins (set order breaks ties); a claimed folder's subfolders
are its own (an express app's public/index.html is not a site of its own). A folder whose marker
files are there but whose `contains` fails, with `missing` set, is bad input (a go.mod without a
main package). Databases come from what the services declare (`detect.dependencies`), from
.env.example values (`detect.env`) and from an existing compose file's images (`detect.images`).

Health: a backend whose code names an obvious health route (/healthz, /health...: the kind's
`facts.health`) is probed there; otherwise its kind's `detect.health` (`tcp` in the default set:
dockergen never edits the user's code to add a route). None keeps the kind's own probe, right
for kinds whose serving files are dockergen's own (the nginx of a frontend serves /healthz).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from scaffold.errors import LayoutError
from scaffold.layout import (
    RESERVED_NAMES,
    Layout,
    parse,
    published_by_default,
    suggest_name,
    unique_name,
)
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import Fact, Kind, Marker

# Never read: dependencies, virtualenvs, VCS data, build output and caches. Every hidden folder
# (.git, .venv, .next, .cache...) is skipped too.
PRUNE = frozenset(
    {
        "node_modules",
        "venv",
        "env",
        "dist",
        "build",
        "out",
        "target",
        "vendor",
        "coverage",
        "site-packages",
        "__pycache__",
        "bower_components",
    }
)
# Read for facts, but never a service of their own: what tests, docs and examples hold.
NOT_SERVICES = frozenset(
    {
        "test",
        "tests",
        "__tests__",
        "e2e",
        "testdata",
        "fixtures",
        "docs",
        "doc",
        "examples",
        "example",
        "scripts",
    }
)
SERVICE_DEPTH = 3  # root, backend/, apps/web/, services/api/v2/
WALK_DEPTH = 8  # files deeper than this are not read (facts live near a service's root)
MAX_FILES = 50_000  # a repository this big is walked this far, with a warning
MAX_READ = 256 * 1024  # a source file's first 256 KiB: enough for a port or a route
ENV_FILES = (".env.example", ".env.sample", ".env.template", ".env.dist")
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


@dataclass(frozen=True)
class Reason:
    """Why a service was detected, or a fact recorded: shown in the interview's review."""

    path: str  # the folder, relative POSIX, "." for the root
    text: str  # "backend/ is fastapi: pyproject.toml depends on fastapi"


@dataclass(frozen=True)
class Detection:
    """What `init` found: a layout (starter=False, each service's path and facts filled where
    the repository states them), why, and what the user should look at."""

    layout: Layout
    reasons: tuple[Reason, ...]
    warnings: tuple[str, ...]


# --------------------------------------------------------------------------------- the walk


@dataclass
class _Tree:
    """The repository's files, read once: folder -> file names, and every file in walk order."""

    root: Path
    dirs: dict[str, list[str]] = field(default_factory=dict)  # "." / "apps/web" -> names
    files: list[str] = field(default_factory=list)  # relative POSIX paths
    truncated: bool = False
    _text: dict[str, str | None] = field(default_factory=dict)

    def text(self, rel: str) -> str | None:
        """A file's text (its first MAX_READ bytes), None when it can't be read as text."""
        if rel not in self._text:
            try:
                with open(self.root / rel, "rb") as fh:
                    data = fh.read(MAX_READ)
                self._text[rel] = data.decode("utf-8", errors="replace")
            except OSError:
                self._text[rel] = None
        return self._text[rel]

    def under(self, folder: str) -> Iterator[str]:
        """Every file under `folder`, relative to it."""
        prefix = "" if folder == "." else folder + "/"
        for rel in self.files:
            if rel.startswith(prefix):
                yield rel[len(prefix) :]


def _walk(root: Path) -> _Tree:
    tree = _Tree(root)
    stack: list[tuple[str, int]] = [(".", 0)]
    while stack:
        rel, depth = stack.pop()
        try:
            entries = sorted(os.scandir(root / rel), key=lambda e: e.name)
        except OSError:
            continue
        names: list[str] = []
        subdirs: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if not entry.name.startswith(".") and entry.name not in PRUNE:
                    subdirs.append(entry.name)
            elif entry.is_file():
                names.append(entry.name)
        tree.dirs[rel] = names
        for name in names:
            tree.files.append(name if rel == "." else f"{rel}/{name}")
        if len(tree.files) > MAX_FILES:
            tree.truncated = True
            break
        if depth < WALK_DEPTH:
            for name in reversed(subdirs):
                stack.append((name if rel == "." else f"{rel}/{name}", depth + 1))
    # shallow first, then by name: the app module beats a test's copy of it
    tree.files.sort(key=lambda p: (p.count("/"), p))
    return tree


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    """A glob as a regex on relative POSIX paths: `*` and `?` stay in a path segment, `**/`
    is any number of folders, `{a,b}` either."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:[^/]+/)*", i + 3
            continue
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            out += "(?:" + "|".join(re.escape(a) for a in pattern[i + 1 : end].split(",")) + ")"
            i = end
        elif c == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            out += "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]"
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def _matching(tree: _Tree, folder: str, pattern: str) -> list[str]:
    """Files under `folder` (relative to it) that `pattern` matches; a pattern without '/'
    matches the folder's own files only."""
    rx = _glob(pattern)
    if "/" not in pattern:
        return [n for n in tree.dirs.get(folder, []) if rx.match(n)]
    # tests' and examples' copies of the app (a conftest's FastAPI(), a fixture's listen) are
    # not the app: they are skipped unless the pattern names such a folder itself
    named = set(pattern.split("/"))
    return [
        p
        for p in tree.under(folder)
        if rx.match(p) and not (NOT_SERVICES - named).intersection(p.split("/")[:-1])
    ]


def _join(folder: str, rel: str) -> str:
    return rel if folder == "." else f"{folder}/{rel}"


def _shown(folder: str) -> str:
    return "the root" if folder == "." else f"{folder}/"


# ------------------------------------------------------------------------ manifest readers


def normalise_dependency(name: str) -> str:
    """One spelling per dependency name: PEP 503 for Python (PyMySQL = pymysql, psycopg2_binary
    = psycopg2-binary); npm and Go names are lowercase already, and keep their @scope/ and /."""
    name = name.strip().lower()
    return name if "/" in name else re.sub(r"[-_.]+", "-", name)


_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _pep508_name(spec: str) -> str | None:
    match = _REQ_NAME.match(spec)
    return match.group(1) if match else None


def _parse_json(tree: _Tree, rel: str) -> Any:
    text = tree.text(rel)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LayoutError(
            f"{rel}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


def _parse_toml(tree: _Tree, rel: str, *, strict: bool = True) -> Any:
    text = tree.text(rel)
    if text is None:
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        if not strict:  # not every *.lock is TOML (yarn.lock, Gemfile.lock)
            return None
        raise LayoutError(f"{rel}: not valid TOML: {exc}") from None


def _parse_go_mod(tree: _Tree, rel: str) -> dict[str, Any]:
    """go.mod's directives: {"module": ..., "go": "1.25", "toolchain": ..., "require": [...]}."""
    text = tree.text(rel) or ""
    out: dict[str, Any] = {"require": []}
    block: str | None = None
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block:
            if line == ")":
                block = None
            elif block == "require":
                out["require"].append(line.split()[0])
            continue
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest == "(":
            block = word
        elif word == "require":
            out["require"].append(rest.split()[0])
        elif rest:
            out.setdefault(word, rest)
    return out


def _parse(tree: _Tree, rel: str) -> Any:
    """A structured file as data, by its format (for `key` facts)."""
    name = PurePosixPath(rel).name
    if name.endswith(".json"):
        return _parse_json(tree, rel)
    if name.endswith(".toml"):
        return _parse_toml(tree, rel)
    if name.endswith(".lock"):
        return _parse_toml(tree, rel, strict=False)
    if name == "go.mod":
        return _parse_go_mod(tree, rel)
    if name.endswith((".yaml", ".yml")):
        try:
            return yaml.safe_load(tree.text(rel) or "")
        except yaml.YAMLError:
            return None
    return None


def _table(value: Any) -> dict[str, Any]:
    """A TOML/JSON table, or {} for anything else: a manifest of an odd shape is read as far as
    it goes, never crashes."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _names(value: Any) -> list[str]:
    return [str(k) for k in value] if isinstance(value, dict) else []


def dependencies(tree: _Tree, rel: str) -> set[str]:
    """The dependency names a manifest declares, normalised, by the file's format."""
    name = PurePosixPath(rel).name
    found: list[str] = []
    if name == "package.json":
        data = _parse_json(tree, rel)
        if isinstance(data, dict):
            for key in ("dependencies", "devDependencies", "peerDependencies"):
                found += _names(data.get(key))
            found += _names(data.get("optionalDependencies"))
    elif name.endswith(".toml"):
        data = _table(_parse_toml(tree, rel))
        project = _table(data.get("project"))
        specs = _list(project.get("dependencies"))
        for extra in _table(project.get("optional-dependencies")).values():
            specs += _list(extra)
        for group in _table(data.get("dependency-groups")).values():
            specs += _list(group)
        found += [n for s in specs if isinstance(s, str) and (n := _pep508_name(s))]
        poetry = _table(_table(data.get("tool")).get("poetry"))
        found += [n for n in _names(poetry.get("dependencies")) if n.lower() != "python"]
        for group in _table(poetry.get("group")).values():
            found += _names(_table(group).get("dependencies"))
        found += _names(poetry.get("dev-dependencies"))
        found += _names(data.get("dependencies"))  # Cargo.toml and the like
    elif name.endswith(".lock"):
        data = _parse_toml(tree, rel, strict=False)
        if isinstance(data, dict):
            found += [
                str(p["name"])
                for p in data.get("package") or []
                if isinstance(p, dict) and "name" in p
            ]
    elif name == "go.mod":
        found += _parse_go_mod(tree, rel)["require"]
    elif name.endswith((".txt", ".in")):  # requirements*.txt, requirements.in
        for line in (tree.text(rel) or "").splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith(("#", "-")) and (dep := _pep508_name(line)):
                found.append(dep)
    return {normalise_dependency(n) for n in found}


# ------------------------------------------------------------------------------ markers


@dataclass(frozen=True)
class _Claim:
    kind: Kind
    why: str  # "pyproject.toml depends on fastapi"
    manifests: tuple[str, ...]  # the marker files found, relative to the folder


def _try_marker(
    tree: _Tree, folder: str, marker: Marker
) -> tuple[tuple[str, tuple[str, ...]] | None, str | None]:
    """((why, the marker files found), None) when the folder matches; (None, why it is bad
    input) when its files are there but `contains` fails and the marker says that is an
    error; (None, None) when it just isn't this kind."""
    present = sorted({f for pattern in marker.files for f in _matching(tree, folder, pattern)})
    if not present:
        return None, None
    for fact in marker.unless:
        if any(_read_fact(tree, folder, fact, rel) for rel in _matching(tree, folder, fact.file)):
            return None, None  # a workspace's root, say: its members are the services
    why = ", ".join(present)
    if marker.dependencies:
        wanted = [normalise_dependency(d) for d in marker.dependencies]
        declared: dict[str, str] = {}
        for rel in present:
            for dep in dependencies(tree, _join(folder, rel)):
                declared.setdefault(dep, rel)
        if not all(d in declared for d in wanted):
            return None, None
        files = sorted({declared[d] for d in wanted})
        why = f"{' and '.join(files)} {'depend' if len(files) > 1 else 'depends'} on "
        why += ", ".join(marker.dependencies)
    if marker.contains is not None:
        rx = re.compile(marker.contains.pattern, re.MULTILINE)
        hit = next(
            (
                rel
                for rel in _matching(tree, folder, marker.contains.files)
                if rx.search(tree.text(_join(folder, rel)) or "")
            ),
            None,
        )
        if hit is None:
            if marker.missing:
                return None, f"{_join(folder, present[0])}: {marker.missing}"
            return None, None
        why += f", and {hit} matches {marker.contains.pattern!r}"
    return (why, tuple(present)), None


def _claims(tree: _Tree, folder: str, tset: TemplateSet) -> tuple[list[_Claim], list[str]]:
    claims: list[_Claim] = []
    problems: list[str] = []
    for kind in tset.kinds.values():
        for marker in kind.detect.markers:
            claim, problem = _try_marker(tree, folder, marker)
            if claim is not None:
                claims.append(_Claim(kind=kind, why=claim[0], manifests=claim[1]))
                break
            if problem:
                problems.append(problem)
    order = list(tset.kinds)
    claims.sort(key=lambda c: (-c.kind.detect.priority, order.index(c.kind.name)))
    return claims, problems


def _candidates(tree: _Tree) -> list[str]:
    """Folders that may be a service, parents before children."""
    out = []
    for folder in sorted(tree.dirs, key=lambda f: (0 if f == "." else f.count("/") + 1, f)):
        parts = [] if folder == "." else folder.split("/")
        if len(parts) < SERVICE_DEPTH + 1 and not NOT_SERVICES.intersection(parts):
            out.append(folder)
    return out


# -------------------------------------------------------------------------------- facts


def _module(path: str, strip: Iterable[str]) -> str:
    parts = list(PurePosixPath(path).with_suffix("").parts)
    for prefix in strip:
        lead = [p for p in prefix.split("/") if p]
        if lead and parts[: len(lead)] == lead:
            parts = parts[len(lead) :]
            break
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


@dataclass(frozen=True)
class _Found:
    value: str
    file: str  # relative to the repository root
    dir: str  # the file's folder, relative to the service's folder ("." for its own)
    name: str  # that folder's name


def _read_fact(tree: _Tree, folder: str, fact: Fact, rel: str) -> _Found | None:
    """The fact's value from one file (relative to `folder`), or None."""
    full = _join(folder, rel)
    found: Any
    if fact.key is not None:
        found = _lookup(_parse(tree, full), fact.key)
        if found is None or isinstance(found, bool):
            return None
        if isinstance(found, dict | list):
            if fact.match is not None or fact.value is None:
                return None
            found = ""  # the key is there: `value` says what that means
        found = str(found)
    else:
        found = tree.text(full)
        if found is None:
            return None
    if fact.match is not None:
        match = re.search(fact.match, found, re.MULTILINE)
        if match is None:
            return None
        found = match.group(1) if match.re.groups else match.group(0)
    else:
        found = found.strip().splitlines()[0].strip() if found.strip() else found
    parent = str(PurePosixPath(rel).parent)
    name = PurePosixPath(parent).name if parent != "." else PurePosixPath(folder).name
    fields = {
        "path": rel,
        "dir": parent,
        "name": name,
        "module": _module(rel, fact.strip),
    }
    value = (fact.value or "{0}").format(found, **fields).strip()
    return _Found(value=value, file=full, dir=parent, name=name) if value else None


def _levels(folder: str) -> list[str]:
    """The folder and those above it up to the root, nearest first."""
    out = [folder]
    while folder != ".":
        folder = str(PurePosixPath(folder).parent)
        out.append(folder)
    return out


def _first(tree: _Tree, folder: str, facts: list[Fact]) -> _Found | None:
    """The first fact that gives a value, nearest folder first (`up` facts look above too)."""
    for level in _levels(folder):
        for fact in facts:
            if level != folder and not fact.up:
                continue
            for rel in _matching(tree, level, fact.file):
                found = _read_fact(tree, level, fact, rel)
                if found is not None:
                    return found
    return None


def _entries(tree: _Tree, folder: str, facts: list[Fact]) -> list[_Found]:
    """Entry facts: the first fact that gives any value; all of its files' distinct values
    when it has a `name` (each its own service: Go's cmd/<name>), else its first."""
    for fact in facts:
        seen: dict[str, _Found] = {}
        for rel in _matching(tree, folder, fact.file):
            found = _read_fact(tree, folder, fact, rel)
            if found is not None:
                if fact.name is None:
                    return [found]
                seen.setdefault(found.value, found)
        if seen and fact.name is not None:
            naming = fact.name
            return [
                _Found(f.value, f.file, f.dir, naming.format(name=f.name, dir=f.dir))
                for f in seen.values()
            ]
    return []


_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")


def normalise_version(text: str) -> str | None:
    """major(.minor) of what a repository says: `>=3.13` 3.13, `^20.11.1` 20.11, `v24` 24,
    `24.x` 24, `go1.25.3` 1.25; None when it names no number (`lts/iron`, `node`)."""
    match = _VERSION.search(text)
    if match is None:
        return None
    return match.group(1) + (f".{match.group(2)}" if match.group(2) else "")


# ------------------------------------------------------------------------------ detection


@dataclass
class _Service:
    name: str
    kind: Kind
    path: str
    why: str
    manifests: tuple[str, ...]
    scope: str = "."  # where its port and health are read (cmd/api for a Go command)
    entry: _Found | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    uses: list[str] = field(default_factory=list)
    stated_uses: bool = False
    port_file: str | None = None


def _database_kinds(tset: TemplateSet) -> list[Kind]:
    return [
        k for k in tset.kinds.values() if k.detect.dependencies or k.detect.env or k.detect.images
    ]


def _env_values(tree: _Tree, folder: str) -> list[tuple[str, str, str]]:
    """(file, variable, value) of the folder's .env.example-style files."""
    out = []
    for name in ENV_FILES:
        if name in tree.dirs.get(folder, []):
            rel = _join(folder, name)
            for line in (tree.text(rel) or "").splitlines():
                key, sep, value = line.strip().removeprefix("export ").partition("=")
                if sep and not key.startswith("#"):
                    out.append((rel, key.strip(), value.strip().strip("'\"")))
    return out


def _image_repo(image: str) -> str:
    """`docker.io/library/redis:7-alpine@sha256:...` -> redis; `bitnami/postgresql:17` keeps
    its path."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)
    if ":" in last[-1]:
        ref = ref[: ref.rindex(":")]
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if parts[0] == "library" and len(parts) > 1:
        parts = parts[1:]
    return "/".join(parts).lower()


def _compose_images(tree: _Tree, warnings: list[str]) -> list[tuple[str, str, str]]:
    """(file, compose service, image) of an existing compose file at the root."""
    out = []
    for name in COMPOSE_FILES:
        if name not in tree.dirs.get(".", []):
            continue
        try:
            data = yaml.safe_load(tree.text(name) or "")
        except yaml.YAMLError:
            warnings.append(f"{name}: not valid YAML; its images were not read")
            continue
        services = data.get("services") if isinstance(data, dict) else None
        for svc_name, spec in (services or {}).items() if isinstance(services, dict) else ():
            built = isinstance(spec, dict) and "build" in spec  # the user's own app
            if isinstance(spec, dict) and isinstance(spec.get("image"), str) and not built:
                out.append((name, str(svc_name), spec["image"]))
    return out


def detect(root: Path, tset: TemplateSet) -> Detection:
    """The services of the repository at `root`, by `tset`'s `detect:` data.

    Raises LayoutError (one line; exit 2 at the CLI) for a folder that is missing or empty,
    nothing detectable, a manifest that can't be parsed (named, with the position), a marker
    whose `missing` applies (a go.mod without a main package), or two services claiming the
    same host port.
    """
    if not root.is_dir():
        raise LayoutError(f"{root}: no such folder")
    tree = _walk(root)
    if not tree.files:
        raise LayoutError(
            f"{root} is empty: there is no code to detect (`dockergen new` starts a project)"
        )
    run = _Run(tree, tset)
    if tree.truncated:
        run.warnings.append(f"more than {MAX_FILES} files: only the first were looked at")
    services = run.entries(run.claim_folders(root))
    for svc in services:
        run.describe(svc)
    databases = run.databases(services)

    # The layout, in the set's category order; then the port check normalise can't word.
    order = list(tset.categories)
    every = sorted(
        [*services, *databases],
        key=lambda s: order.index(s.kind.category) if s.kind.category in order else len(order),
    )
    data: dict[str, Any] = {
        "project": suggest_name(root.resolve().name),
        "starter": False,
        "services": [_entry(svc) for svc in every],
    }
    if not tset.bundled:
        data["template"] = tset.source
        if tset.ref:
            data["template_ref"] = tset.ref
    layout = parse(data, source="the detected layout")
    _check_ports(layout, tset, {s.name: s for s in every})
    return Detection(layout=layout, reasons=tuple(run.reasons), warnings=tuple(run.warnings))


@dataclass
class _Run:
    """One detection: the tree, the set, and the reasons and warnings gathered on the way."""

    tree: _Tree
    tset: TemplateSet
    reasons: list[Reason] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # service names given so far, and those dockergen.yml reserves (a `secrets/` folder)
    taken: set[str] = field(default_factory=lambda: set(RESERVED_NAMES))

    def claim_folders(self, root: Path) -> list[_Service]:
        """Folders claimed by kinds, parents first; a claimed folder's subfolders are its own."""
        services: list[_Service] = []
        problems: list[str] = []
        claimed: list[str] = []
        for folder in _candidates(self.tree):
            if any(c == "." or folder.startswith(c + "/") for c in claimed):
                continue
            claims, folder_problems = _claims(self.tree, folder, self.tset)
            if not claims:
                problems += folder_problems
                continue
            claimed.append(folder)
            best = claims[0]
            for other in claims[1:]:
                if other.kind.detect.priority < best.kind.detect.priority:
                    continue  # what `priority` is for: a Vite app's index.html is no site
                self.warnings.append(
                    f"{_shown(folder)} also looks like {other.kind.name} ({other.why}); taken "
                    f"as {best.kind.name}, the set's first (give kind.yml `detect.priority`)"
                )
            services.append(_Service("", best.kind, folder, best.why, best.manifests))
        if problems:
            raise LayoutError(problems[0])
        if not services:
            markers = sorted(
                {f for k in self.tset.kinds.values() for m in k.detect.markers for f in m.files}
            )
            raise LayoutError(
                f"found nothing to run in {root}: no folder has what a kind of template set "
                f"{self.tset.name!r} is detected by ({', '.join(markers)})"
            )
        return services

    def entries(self, services: list[_Service]) -> list[_Service]:
        """Each service's entry; a folder with several (cmd/api, cmd/admin) is several."""
        out: list[_Service] = []
        for svc in services:
            found = _entries(self.tree, svc.path, svc.kind.detect.facts.entry)
            if len(found) <= 1:
                svc.entry = found[0] if found else None
                out.append(svc)
                continue
            for entry in found:
                why = f"{', '.join(svc.manifests)}, and {entry.file} is one of its entries"
                out.append(
                    _Service(entry.name, svc.kind, svc.path, why, svc.manifests, entry.dir, entry)
                )
        return out

    def describe(self, svc: _Service) -> None:
        """The service's name (its folder's, its entry's, or its kind's at the root), why it
        is one, and its facts."""
        base = svc.name or (
            svc.kind.default_name if svc.path == "." else suggest_name(PurePosixPath(svc.path).name)
        )
        svc.name = unique_name(base, self.taken)
        self.taken.add(svc.name)
        subject = _shown(svc.path)
        if svc.scope != ".":
            subject += f" ({svc.scope})"
        self.reasons.append(
            Reason(svc.path, f"{subject} is {svc.kind.name} (service {svc.name}): {svc.why}")
        )
        _facts(self.tree, svc, self.reasons, self.warnings)

    def databases(self, services: list[_Service]) -> list[_Service]:
        """Databases from what the services declare (recorded in their `uses`), from the
        root's .env.example and from an existing compose file's images (used by every
        service that connects to them)."""
        found: dict[str, _Service] = {}

        def database(kind: Kind, why: str) -> str:
            if kind.name not in found:
                name = unique_name(kind.default_name, self.taken)
                self.taken.add(name)
                found[kind.name] = _Service(name, kind, ".", why, ())
                self.reasons.append(Reason(".", f"database {name} is {kind.name}: {why}"))
            return found[kind.name].name

        kinds = _database_kinds(self.tset)
        for svc in services:
            connects = self.tset.category(svc.kind.category).connects
            for kind, why in self._declared(svc, kinds):
                if kind.category not in connects:
                    self.warnings.append(
                        f"{svc.name}: {why}, but a {svc.kind.category} connects to no "
                        f"{kind.category}"
                    )
                    continue
                name = database(kind, why)
                if name not in svc.uses:
                    svc.uses.append(name)
                    svc.stated_uses = True
        root_env = _env_values(self.tree, ".")
        for kind in kinds:
            env = _env_match(kind, root_env)
            if env:
                database(kind, env)
        for file, svc_name, image in _compose_images(self.tree, self.warnings):
            repo = _image_repo(image)
            match = next((k for k in kinds if repo in (i.lower() for i in k.detect.images)), None)
            if match is not None:
                database(match, f"{file} runs {image} (its service {svc_name})")
            else:
                self.warnings.append(
                    f"{file}: service {svc_name!r} runs {image}, which no kind of template set "
                    f"{self.tset.name!r} detects: it is not carried over"
                )
        return list(found.values())

    def _declared(self, svc: _Service, kinds: list[Kind]) -> list[tuple[Kind, str]]:
        """The database kinds a service's own manifests or .env.example name, and where."""
        declared: dict[str, str] = {}
        for rel in svc.manifests:
            for dep in dependencies(self.tree, _join(svc.path, rel)):
                declared.setdefault(dep, rel)
        own_env = _env_values(self.tree, svc.path) if svc.path != "." else []
        out: list[tuple[Kind, str]] = []
        for kind in kinds:
            deps = [d for d in kind.detect.dependencies if normalise_dependency(d) in declared]
            if deps:
                file = _join(svc.path, declared[normalise_dependency(deps[0])])
                out.append((kind, f"{file} depends on {deps[0]}"))
            elif env := _env_match(kind, own_env):
                out.append((kind, env))
        return out


def _env_match(kind: Kind, values: list[tuple[str, str, str]]) -> str | None:
    for file, key, value in values:
        for pattern in kind.detect.env:
            if re.search(pattern, value):
                scheme = value.split("://", 1)[0] + "://" if "://" in value else value
                return f"{file} sets {key}={scheme}..."
    return None


def _facts(tree: _Tree, svc: _Service, reasons: list[Reason], warnings: list[str]) -> None:
    """The service's version, package manager, entry, port and health, each with its reason."""
    facts = svc.kind.detect.facts
    where = _shown(svc.path)
    scope = svc.path if svc.scope == "." else _join(svc.path, svc.scope)

    def say(what: str, value: object, found: _Found) -> None:
        reasons.append(Reason(svc.path, f"{svc.name}: {what} {value} ({found.file})"))

    found = _first(tree, svc.path, facts.version)
    if found is not None:
        version = normalise_version(found.value)
        if version is None:
            warnings.append(
                f"{found.file} says {found.value!r}, not a version: {svc.name} gets "
                f"{svc.kind.name}'s default runtime"
            )
        else:
            svc.facts["version"] = version
            say("runtime version", version, found)
    found = _first(tree, svc.path, facts.package_manager)
    if found is not None:
        svc.facts["package_manager"] = found.value
        say("package manager", found.value, found)
        if not found.file.startswith("" if svc.path == "." else svc.path + "/"):
            warnings.append(
                f"{svc.name}: its lockfile is {found.file}, outside {where} (a workspace): "
                "the build needs the workspace root"
            )
    if svc.entry is not None:
        svc.facts["entry"] = svc.entry.value
        say("entry", svc.entry.value, svc.entry)
    found = _first(tree, scope, facts.port)
    if found is not None:
        port = int(found.value) if found.value.isdigit() else 0
        if 1 <= port <= 65535:
            svc.facts["port"] = port
            svc.port_file = found.file
            say("port", port, found)
        else:
            warnings.append(f"{found.file}: {found.value!r} is not a port; the kind's is used")
    found = _first(tree, scope, facts.health)
    if found is not None and found.value.startswith("/"):
        svc.facts["health"] = found.value
        say("health check GET", found.value, found)
    elif svc.kind.detect.health is not None:
        svc.facts["health"] = svc.kind.detect.health
        reasons.append(
            Reason(
                svc.path,
                f"{svc.name}: health check {svc.kind.detect.health}: the code names no "
                "health route (dockergen doesn't add one)",
            )
        )


def _entry(svc: _Service) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": svc.name, "kind": svc.kind.name}
    if svc.kind.detect.markers:  # a service of the user's code, in its folder
        entry["path"] = svc.path
    for key in ("port", "version", "package_manager", "entry", "health"):
        if key in svc.facts:
            entry[key] = svc.facts[key]
    if svc.stated_uses:
        entry["uses"] = list(svc.uses)
    return entry


def _check_ports(layout: Layout, tset: TemplateSet, services: dict[str, _Service]) -> None:
    """Two services whose code says the same port, both published on it: bad input."""
    taken: dict[int, str] = {}
    for svc in layout.services:
        if svc.port is None or not published_by_default(svc, layout, tset):
            continue
        if svc.port in taken:
            first = taken[svc.port]
            raise LayoutError(
                f"two apps claim port {svc.port}: {first!r} ({services[first].port_file}) and "
                f"{svc.name!r} ({services[svc.name].port_file}); change one of them, or give "
                "`dockergen init --layout` a layout with `publish:`"
            )
        taken[svc.port] = svc.name
