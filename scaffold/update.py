"""Regenerate an existing project without losing a hand edit: `update`, `add`, `remove`, `diff`.

One run: recover an interrupted update → read the state and dockergen.yml → apply the command's
layout edit (scaffold.edits) → render into a temp dir → merge each file three ways against the
pristine copy in `.dockergen/base/` (scaffold.merge) → commit every change at once
(scaffold.journal) → the result, which scaffold.report puts in words. Neither the project nor the
template set needs git: the last render kept in the project is the merge base, whatever the
template's source.
"""

from __future__ import annotations

import contextlib
import difflib
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaffold import journal, progress
from scaffold.conflicts import raise_if_unresolved, unresolved
from scaffold.edits import LayoutEdit, rewrite_layout
from scaffold.errors import ConflictError, TargetError
from scaffold.layout import LAYOUT_FILE, Layout, load, parse
from scaffold.merge import SIDECAR_SUFFIX, FileMerge, Outcome, merge_file
from scaffold.pipeline import load_set, prepare, render_pristine
from scaffold.plan import Project, Secret
from scaffold.secretfiles import SECRETS_DIR, ensure_secrets
from scaffold.state import BASE_DIR, STATE_DIR, STATE_FILE, State, read_state, tree_files
from scaffold.templatesets import sources
from scaffold.templatesets.loader import TemplateSet

# ------------------------------------------------------------------------- render and plan


@dataclass(frozen=True)
class FileResult:
    path: str
    outcome: Outcome
    moved_from: str | None = None


@dataclass(frozen=True)
class Unpublished:
    """A service the last render published on 127.0.0.1 and this one doesn't."""

    service: str
    port: int  # the host port it had
    via: tuple[str, ...]  # the services that proxy to it: its way in now


@dataclass
class UpdateResult:
    """What an update did (or, with dry_run, would do)."""

    project: Path
    layout: Layout
    old_version: str
    new_version: str
    template: str
    files: list[FileResult]
    secrets: list[str]
    changes: list[journal.Change] = field(repr=False)
    diff: str = ""
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)  # for stderr: recovery, git, comments
    unused_secrets: list[str] = field(default_factory=list)
    removed_folders: list[str] = field(default_factory=list)  # of removed or renamed services
    kept_volumes: list[str] = field(default_factory=list)  # engine names no longer declared
    unpublished: list[Unpublished] = field(default_factory=list)
    available: str | None = None  # a newer release of a git set pinned to a tag

    @property
    def conflicts(self) -> list[str]:
        return [f.path for f in self.files if f.outcome.conflicted]

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def raise_for_conflicts(self) -> None:
        """Conflicts are an outcome, not an error, for the API; the CLI turns them into exit 1."""
        if self.conflicts:
            would = "would conflict" if self.dry_run else "have conflicts"
            raise ConflictError(
                f"{len(self.conflicts)} file(s) {would}: {', '.join(self.conflicts)}"
            )


@dataclass(frozen=True)
class _Render:
    """A finished render in a temp dir: project files and the `.dockergen/` they'd leave."""

    root: Path
    plan: Project

    def files(self) -> dict[str, bytes]:
        """The project's generated files (without `.dockergen/`), as the pristine copy has them."""
        return {rel: p.read_bytes() for rel, p in tree_files(self.root).items()}


def _render(layout: Layout, tset: TemplateSet, tmp: Path, trust: bool) -> _Render:
    root = tmp / "render"
    root.mkdir()
    return _Render(root=root, plan=render_pristine(layout, tset, root, trust=trust))


def _is_secret(rel: str) -> bool:
    """A random value in secrets/: named by its id, which has no dot. A set may also render a
    file there (deploy/kubernetes reads the values through secrets/kustomization.yaml, as
    kustomize reads files below a kustomization only); that one is merged like any other."""
    folder, _, name = rel.partition("/")
    return folder == SECRETS_DIR and "." not in name


def _read(project: Path, rel: str) -> bytes | None:
    path = project / rel
    if path.is_file():
        return path.read_bytes()
    if path.exists():
        raise TargetError(f"{path} is a directory where a generated file belongs; move it away")
    return None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _check_room(project: Path, rel: str) -> None:
    for parent in reversed(Path(rel).parents[:-1]):
        if (project / parent).exists() and not (project / parent).is_dir():
            raise TargetError(
                f"{project / parent} is a file where a generated folder belongs; move it away"
            )


def _moves(
    old: dict[str, bytes], new: dict[str, bytes], renames: dict[str, str], project: Path
) -> dict[str, str]:
    """For a renamed service: new path -> old path whose edits carry over."""
    moves: dict[str, str] = {}
    for was, now in renames.items():
        for rel in new:
            if rel.startswith(f"{now}/") and rel not in old:
                src = was + rel[len(now) :]
                if src in old and not (project / rel).exists():
                    moves[rel] = src
    return moves


def _plan_files(
    project: Path,
    old: dict[str, bytes],
    new: dict[str, bytes],
    rendered: Path,
    *,
    layout_text: bytes | None,
    renames: dict[str, str],
    restore: bool,
) -> tuple[list[FileResult], list[journal.Change]]:
    """Merge every generated path; `rendered` is the folder `new` was read from (for modes)."""
    moves = _moves(old, new, renames, project)
    moved = set(moves.values())
    results: list[FileResult] = []
    changes: list[journal.Change] = []
    for rel in progress.each(sorted(set(old) | set(new)), "merging files"):
        if rel in moved or _is_secret(rel):
            continue
        src = moves.get(rel, rel)
        ours = _read(project, src)
        if rel == LAYOUT_FILE:  # the input itself: never merged; only our own edit writes it
            fm = FileMerge(Outcome.UNCHANGED, ours)
            if layout_text is not None and layout_text != ours:
                fm = FileMerge(Outcome.UPDATED, layout_text)
        else:
            fm = merge_file(old.get(src), ours, new.get(rel), restore=restore)
        if src != rel and ours is not None:
            changes.append(journal.Change(src, None))
        if fm.data is not None and (fm.data != ours or src != rel):
            _check_room(project, rel)
            mode = _mode(project / src) if ours is not None else _mode(rendered / rel)
            changes.append(journal.Change(rel, fm.data, mode))
        elif fm.data is None and ours is not None and src == rel:
            changes.append(journal.Change(rel, None))
        if fm.sidecar is not None:
            _check_room(project, rel)
            changes.append(journal.Change(rel + SIDECAR_SUFFIX, fm.sidecar))
        if fm.outcome not in (Outcome.UNCHANGED, Outcome.KEPT) or src != rel:
            results.append(FileResult(rel, fm.outcome, src if src != rel else None))
    return results, changes


def _plan_state(
    project: Path, old: dict[str, bytes], new: dict[str, bytes], rendered: Path
) -> list[journal.Change]:
    """Bring `.dockergen/` to the render's: the pristine copy (which is `new`), then the rest
    (schema, set record) and state.json last."""
    base = f"{STATE_DIR}/{BASE_DIR}"
    changes = [journal.Change(f"{base}/{rel}", None) for rel in sorted(old) if rel not in new]
    changes += [
        journal.Change(f"{base}/{rel}", data)
        for rel, data in sorted(new.items())
        if old.get(rel) != data
    ]
    others = tree_files(rendered / STATE_DIR, skip=(BASE_DIR,))
    for rel, path in sorted(others.items(), key=lambda kv: kv[0] == STATE_FILE):
        data, current = path.read_bytes(), project / STATE_DIR / rel
        if not current.is_file() or current.read_bytes() != data:
            changes.append(journal.Change(f"{STATE_DIR}/{rel}", data))
    return changes


def _plan_secrets(
    project: Path, wanted: tuple[Secret, ...], tmp: Path
) -> tuple[list[str], list[journal.Change], dict[str, int]]:
    """New random secrets for services that need one; an existing secret is never replaced."""
    missing = [s for s in wanted if not (project / s.file).exists()]
    if not missing:
        return [], [], {}
    (tmp / "secrets-root").mkdir()
    created = ensure_secrets(missing, tmp / "secrets-root")
    changes = [
        journal.Change(rel, (tmp / "secrets-root" / rel).read_bytes(), 0o644, keep_existing=True)
        for rel in created
    ]
    dirs = {} if (project / SECRETS_DIR).is_dir() else {SECRETS_DIR: 0o700}
    return created, changes, dirs


def _folders(files: dict[str, bytes]) -> set[str]:
    return {rel.split("/", 1)[0] for rel in files if "/" in rel}


def _unused_secrets(project: Path, old: dict[str, bytes], plan: Project) -> list[str]:
    """Secret files of services that are gone: kept (the data they guard may still exist)."""
    before = yaml.safe_load(old.get(LAYOUT_FILE, b"")) or {}
    gone = {s["name"] for s in before.get("services", [])} - {s.name for s in plan.services}
    used = {s.file for s in plan.secrets}
    directory = project / SECRETS_DIR
    if not gone or not directory.is_dir():
        return []
    return sorted(
        f"{SECRETS_DIR}/{p.name}"
        for p in directory.iterdir()
        if f"{SECRETS_DIR}/{p.name}" not in used and p.name.split("_", 1)[0] in gone
    )


def _volumes(data: bytes | None, project: str) -> dict[str, str]:
    """Compose volume key -> the name the engine gives it (`name:`, else `<project>_<key>`), for
    the volumes a compose file declares; external ones aren't ours to mention."""
    try:
        doc = yaml.safe_load(data or b"") or {}
    except yaml.YAMLError:
        return {}
    volumes = doc.get("volumes") if isinstance(doc, dict) else None
    if not isinstance(volumes, dict):
        return {}
    prefix = doc.get("name") or project
    out: dict[str, str] = {}
    for key, spec in volumes.items():
        spec = spec if isinstance(spec, dict) else {}
        if not spec.get("external"):
            out[str(key)] = str(spec.get("name") or f"{prefix}_{key}")
    return out


def _kept_volumes(old: dict[str, bytes], new: dict[str, bytes], project: str) -> list[str]:
    """Volumes the last render declared and this one doesn't (a removed or renamed database):
    `down -v` no longer finds them, so the report names them and how to delete them."""
    from scaffold.policy import COMPOSE_FILES

    kept: set[str] = set()
    for name in COMPOSE_FILES:
        if name in old:
            before = _volumes(old[name], project)
            after = set(_volumes(new.get(name), project).values())
            kept |= {v for v in before.values() if v not in after}
    return sorted(kept)


def _host_ports(data: bytes | None) -> dict[str, int]:
    """Compose service -> the first host port it publishes (`127.0.0.1:HOST:PORT`)."""
    try:
        doc = yaml.safe_load(data or b"") or {}
    except yaml.YAMLError:
        return {}
    services = doc.get("services") if isinstance(doc, dict) else None
    out: dict[str, int] = {}
    for name, spec in (services or {}).items() if isinstance(services, dict) else ():
        ports = spec.get("ports") if isinstance(spec, dict) else None
        if isinstance(ports, list) and ports and isinstance(ports[0], str):
            parts = ports[0].split(":")
            if len(parts) >= 2 and parts[-2].isdigit():
                out[str(name)] = int(parts[-2])
    return out


def _unpublished(old: dict[str, bytes], plan: Project) -> list[Unpublished]:
    """For each service the last render published and this one doesn't
    (a frontend now in front of a backend, or `publish: false`): a port a client may have used
    closes, so the report says so and how to keep it."""
    from scaffold.policy import COMPOSE_FILES

    before: dict[str, int] = {}
    for name in COMPOSE_FILES:
        if name in old:
            before.update(_host_ports(old[name]))
    return [
        Unpublished(
            svc.name,
            before[svc.name],
            tuple(s.name for s in plan.services if svc.name in s.upstreams),
        )
        for svc in plan.services
        if not svc.published and svc.name in before
    ]


def _git_dirty(project: Path) -> bool:
    git = shutil.which("git")
    if git is None:
        return False
    try:
        run = subprocess.run(
            [git, "-C", str(project), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return run.returncode == 0 and bool(run.stdout.strip())


def _unified(path: str, before: bytes | None, after: bytes | None) -> str:
    if _is_secret(path):
        return f"new secret {path} (random; not shown)\n"
    try:
        a = (before or b"").decode("utf-8").splitlines(True)
        b = (after or b"").decode("utf-8").splitlines(True)
    except UnicodeDecodeError:
        return f"Binary files a/{path} and b/{path} differ\n"
    lines = difflib.unified_diff(
        a,
        b,
        "/dev/null" if before is None else f"a/{path}",
        "/dev/null" if after is None else f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


@contextlib.contextmanager
def _one_line_os_errors() -> Iterator[None]:
    """A file we can't read (permissions, a vanished folder) is one line and exit 2."""
    try:
        yield
    except OSError as exc:
        raise TargetError(f"{exc.filename or 'the project'}: {exc.strerror or exc}") from None


def _load_project(project: Path) -> tuple[State, str, dict[str, Any], dict[str, bytes]]:
    """State, dockergen.yml text and data, and the pristine files; errors are one line, exit 2."""
    state = read_state(project)
    path = project / LAYOUT_FILE
    load(path)  # one clear line for a missing, malformed or invalid file
    text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    base = project / STATE_DIR / BASE_DIR
    old = {rel: (base / rel).read_bytes() for rel in state.files}
    return state, text, raw, old


def _names_set(raw: dict[str, Any]) -> tuple[Any, Any]:
    return raw.get("template"), raw.get("template_ref")


def update_project(
    project: Path,
    *,
    edit: LayoutEdit | None = None,
    dry_run: bool = False,
    restore: bool = False,
    trust: bool = False,
) -> UpdateResult:
    """Re-render from dockergen.yml (after `edit`, if any) and merge into the project.

    Conflicts don't raise: the result lists them and the caller decides the exit code. Those an
    earlier update left unresolved do: ConflictError (exit 1), and nothing is written.
    """
    project = project.absolute()
    with _one_line_os_errors(), journal.locked(project):
        recovered = journal.recover(project)
        state, text, raw, old = _load_project(project)
        raise_if_unresolved(project, state.files)
        renames: dict[str, str] = {}
        layout_text: bytes | None = None
        comments_kept = True
        tset = load_set(parse(raw), project)  # once: the edit and the render share it
        if edit is not None:
            new_raw, renames = edit(raw, tset, project)
            if new_raw != raw:
                new_text, comments_kept = rewrite_layout(text, raw, new_raw, renames)
                layout_text = new_text.encode("utf-8")
            if _names_set(new_raw) != _names_set(raw):  # the edit switched sets
                tset = load_set(parse(new_raw), project)
            raw = new_raw
        layout, tset = prepare(parse(raw), project=project.name, base=project, tset=tset)
        with tempfile.TemporaryDirectory(prefix="dockergen-update-") as tmp:
            with progress.task(f"rendering from template set {tset.name}"):
                rendered = _render(layout, tset, Path(tmp), trust)
            new = rendered.files()
            files, changes = _plan_files(
                project,
                old,
                new,
                rendered.root,
                layout_text=layout_text,
                renames=renames,
                restore=restore,
            )
            secrets, secret_changes, dirs = _plan_secrets(project, rendered.plan.secrets, Path(tmp))
            visible = changes + secret_changes
            changes = visible + _plan_state(project, old, new, rendered.root)
        result = UpdateResult(
            project=project,
            layout=layout,
            available=available_release(tset),
            old_version=state.template_version,
            new_version=tset.version,
            template=tset.name,
            files=files,
            secrets=secrets,
            changes=changes,
            dry_run=dry_run,
            warnings=[recovered] if recovered else [],
            unused_secrets=_unused_secrets(project, old, rendered.plan),
            removed_folders=sorted(_folders(old) - _folders(new)),
            kept_volumes=_kept_volumes(old, new, layout.project or project.name),
            unpublished=_unpublished(old, rendered.plan),
        )
        if not comments_kept:
            result.warnings.append(
                f"warning: {LAYOUT_FILE}: comments inside the entries that changed were not kept"
            )
        if dry_run:
            result.diff = "".join(_unified(c.path, _read(project, c.path), c.data) for c in visible)
            return result
        if changes and _git_dirty(project):
            result.warnings.append(
                "warning: the git tree has uncommitted changes; the update is merged into them"
            )
        journal.apply(project, changes, dirs=dirs)
    return result


@dataclass
class DriftResult:
    """Whether the project's last render differs from what dockergen.yml and the set give now."""

    project: Path
    old_version: str
    new_version: str
    template: str
    status: list[tuple[str, str]]  # (A|M|D, path)
    diff: str
    name: str = ""  # the project's name (dockergen.yml), as `update` names it; not the folder's
    warnings: list[str] = field(default_factory=list)  # for stderr: a recovery
    conflicts: list[str] = field(default_factory=list)  # unresolved from an earlier update
    kept_deleted: list[str] = field(default_factory=list)  # generated, deleted by the user
    available: str | None = None  # a newer release of a git set pinned to a tag

    @property
    def pending(self) -> bool:
        return bool(self.status) or self.old_version != self.new_version


def available_release(tset: TemplateSet) -> str | None:
    """`acme 1.0.0 -> 1.1.0 available: dockergen update --template-ref v1.1.0`, or None."""
    if tset.bundled or not sources.is_git_url(tset.source):
        return None
    found = sources.newer_release(tset.source, tset.ref)
    if found is None:
        return None
    tag, version = found
    return (
        f"{tset.name} {tset.version} -> {version} available: dockergen update --template-ref {tag}"
    )


def project_diff(project: Path, *, trust: bool = False) -> DriftResult:
    """Render into a temp dir and compare with the pristine copy (the user's edits don't count)."""
    project = project.absolute()
    with _one_line_os_errors(), journal.locked(project):
        recovered = journal.recover(project)
        state, _text, raw, old = _load_project(project)
        layout, tset = prepare(parse(raw), project=project.name, base=project)
        with tempfile.TemporaryDirectory(prefix="dockergen-diff-") as tmp:
            new = _render(layout, tset, Path(tmp), trust).files()
    status: list[tuple[str, str]] = []
    diff: list[str] = []
    for rel in sorted(set(old) | set(new)):
        before, after = old.get(rel), new.get(rel)
        if before != after:
            status.append(("A" if before is None else "D" if after is None else "M", rel))
            diff.append(_unified(rel, before, after))
    return DriftResult(
        project=project,
        name=layout.project or project.name,
        available=available_release(tset),
        old_version=state.template_version,
        new_version=tset.version,
        template=tset.name,
        status=status,
        diff="".join(diff),
        warnings=[recovered] if recovered else [],
        conflicts=unresolved(project, state.files),
        kept_deleted=[
            rel
            for rel in sorted(state.files)
            if rel in new and not _is_secret(rel) and not (project / rel).exists()
        ],
    )
