"""Regenerate an existing project without losing a hand edit: `update`, `add`, `remove`, `diff`.

One run: recover an interrupted update → read the state and dockergen.yml → apply the command's
layout edit → render into a temp dir → merge each file three ways against the pristine copy in
`.dockergen/base/` (scaffold.merge) → commit every change at once (scaffold.journal) → report.
Neither the project nor the template set needs git: the last render kept in the project is the
merge base, whatever the template's source.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scaffold import journal, sources
from scaffold.api import prepare, render_pristine
from scaffold.errors import ConflictError, LayoutError, TargetError, UsageError
from scaffold.interview import _unique as unique  # the interview's naming rule: api, api-2
from scaffold.layout import LAYOUT_FILE, Layout, load, normalise, parse
from scaffold.merge import SIDECAR_SUFFIX, FileMerge, Outcome, merge_file
from scaffold.secretfiles import SECRETS_DIR, ensure_secrets
from scaffold.state import BASE_DIR, STATE_DIR, STATE_FILE, State, read_state, tree_files
from scaffold.templateset import TemplateSet, load_template_set

# An edit of the raw dockergen.yml data: returns the new data and services renamed (old -> new).
LayoutEdit = Callable[[dict[str, Any], TemplateSet], tuple[dict[str, Any], dict[str, str]]]

# ---------------------------------------------------------------- layout edits (add, remove, --set)


def _services(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return raw["services"]


def _find(raw: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in _services(raw):
        if entry["name"] == name:
            return entry
    names = ", ".join(s["name"] for s in _services(raw))
    raise UsageError(f"no service named {name!r}; the services are: {names}")


_SECTIONS = ("options", "answers")  # mappings whose keys --set addresses as SECTION.KEY
_SCALARS = ("project", "template", "template_ref")


def _value(item: str, text: str, *, verbatim: bool) -> Any:
    """A --set VALUE: None when empty, the text itself for names and sources, else YAML."""
    if not text.strip():
        return None
    if verbatim:
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise UsageError(f"--set {item!r}: the value is not a valid YAML scalar") from None


def set_values(assignments: list[str], *, answers: list[str] | None = None) -> LayoutEdit:
    """`--set KEY=VALUE`: services.NAME.FIELD, options.FIELD, answers.NAME or a top-level
    project / template / template_ref.

    VALUE is a YAML scalar (8001, false) except for names and sources, taken verbatim (a ref
    `1.0` stays text); an empty VALUE removes the key, back to its default. Setting
    services.NAME.name renames the service and carries its files' edits over. `answers` are
    `--answer NAME=VALUE`, typed by the set's question as `new --answer` does.
    """
    forms = "services.NAME.FIELD, options.FIELD, answers.NAME, " + ", ".join(_SCALARS)

    def edit(raw: dict[str, Any], tset: TemplateSet) -> tuple[dict[str, Any], dict[str, str]]:
        new = copy.deepcopy(raw)
        renames: dict[str, str] = {}
        for item in assignments:
            key, sep, text = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--set {item!r}: use KEY=VALUE, e.g. services.api.port=8001")
            path = key.split(".")
            if path[0] == "services" and len(path) == 3:
                target, name = _find(new, path[1]), path[2]
                value = _value(item, text, verbatim=name in ("name", "kind"))
                if name == "name" and value is not None:
                    origin = next((o for o, n in renames.items() if n == path[1]), path[1])
                    renames[origin] = value
            elif path[0] in _SECTIONS and len(path) == 2:
                target, name = new.setdefault(path[0], {}), path[1]
                value = _value(item, text, verbatim=False)
            elif len(path) == 1 and path[0] in _SCALARS:
                target, name = new, path[0]
                value = _value(item, text, verbatim=True)
                if name == "template" and value is not None:  # recorded as `new` records it
                    source = sources.parse(value)
                    value = source.location
                    if source.ref:
                        new["template_ref"] = source.ref
            else:
                raise UsageError(f"--set {key!r}: use {forms}")
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
        questions = {q.name: q for q in tset.questions} if answers else {}
        for item in answers or []:
            key, sep, text = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--answer {item!r}: use NAME=VALUE")
            try:
                value = questions[key].coerce(text) if key in questions else text
            except ValueError as exc:
                raise LayoutError(f"answers.{key}: {exc}") from None
            new.setdefault("answers", {})[key] = value
        for section in _SECTIONS:
            if new.get(section) == {}:
                new.pop(section)
        return new, {o: n for o, n in renames.items() if o != n}

    return edit


def add_service(kind: str, name: str | None = None, port: int | None = None) -> LayoutEdit:
    """`add KIND`: append a service; its port is written down so later additions can't move it."""

    def edit(raw: dict[str, Any], tset: TemplateSet) -> tuple[dict[str, Any], dict[str, str]]:
        spec = tset.kind(kind)
        taken = {s["name"] for s in _services(raw)}
        if name is not None and name in taken:
            raise UsageError(f"a service named {name!r} already exists; pass another --name")
        entry: dict[str, Any] = {"name": name or unique(spec.default_name, taken), "kind": kind}
        if port is not None:
            entry["port"] = port
        new = copy.deepcopy(raw)
        _services(new).append(entry)
        if port is None:  # the port normalise would pick (the project name doesn't matter here)
            layout = normalise(parse(new), tset, project=new.get("project") or "project")
            entry["port"] = layout.services[-1].port
        return new, {}

    return edit


def remove_service(name: str) -> LayoutEdit:
    """`remove NAME`: drop the service; the update then deletes its unedited files."""

    def edit(raw: dict[str, Any], tset: TemplateSet) -> tuple[dict[str, Any], dict[str, str]]:
        _find(raw, name)
        new = copy.deepcopy(raw)
        new["services"] = [s for s in _services(new) if s["name"] != name]
        if not new["services"]:
            raise UsageError(f"{name!r} is the only service; a project needs at least one")
        return new, {}

    return edit


def ask(project_name: str) -> LayoutEdit:
    """`update --ask`: the interview, with the current answers prefilled."""

    def edit(raw: dict[str, Any], tset: TemplateSet) -> tuple[dict[str, Any], dict[str, str]]:
        from scaffold.interview import interview

        return interview(tset, raw.get("project") or project_name, previous=raw), {}

    return edit


# ---------------------------------------------- writing dockergen.yml back, keeping its comments
#
# Choice: round-trip textually, block by block. A top-level key whose value didn't change keeps
# its lines verbatim; `services` is edited entry by entry (an untouched entry keeps its lines and
# the comments above it). A changed entry or key is re-dumped, losing comments inside it only.
# The result is re-parsed and must equal the intended data, else the whole file is re-dumped.

_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_ITEM = re.compile(r"^(\s*)-(\s|$)")


def _filler(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def _dump(value: Any, indent: str = "") -> list[str]:
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False)
    return [indent + line for line in text.splitlines(True)]


def _top_blocks(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Top-level key -> (first line, end); trailing blank and comment lines stay outside."""
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _TOP_KEY.match(line))]
    blocks: dict[str, tuple[int, int]] = {}
    for j, (i, key) in enumerate(starts):
        end = starts[j + 1][0] if j + 1 < len(starts) else len(lines)
        while end > i + 1 and _filler(lines[end - 1]):
            end -= 1
        blocks[key] = (i, end)
    return blocks


def _has_comment(lines: list[str]) -> bool:
    return any("#" in line for line in lines)


def _edit_items(
    body: list[str], old: list[dict[str, Any]], new: list[dict[str, Any]], renames: dict[str, str]
) -> tuple[list[str], bool] | None:
    """The lines under `services:` with only changed entries rewritten, and whether a comment
    inside a rewritten entry was lost (None: not a plain block list in the same order)."""
    starts = [i for i, line in enumerate(body) if _ITEM.match(line)]
    if len(starts) != len(old) or not starts:
        return None
    indent = body[starts[0]][: body[starts[0]].index("-")]
    if any(not body[i].startswith(indent + "-") for i in starts):
        return None
    # (comment lines above an entry, the entry's own lines); fillers between entries go below
    entries: list[tuple[list[str], list[str]]] = []
    above_from = 0
    for k, start in enumerate(starts):
        own_end = starts[k + 1] if k + 1 < len(starts) else len(body)
        while k + 1 < len(starts) and own_end > start + 1 and _filler(body[own_end - 1]):
            own_end -= 1
        entries.append((body[above_from:start], body[start:own_end]))
        above_from = own_end
    origin = {now: was for was, now in renames.items()}
    index = {entry["name"]: k for k, entry in enumerate(old)}
    out = list(entries[0][0])  # comments before the first entry are about the whole list
    lost, last = False, -1
    for item in new:
        k = index.get(origin.get(item["name"], item["name"]))
        if k is None:
            out += _dump([item], indent)
            continue
        if k < last:
            return None  # reordered: the caller re-dumps the whole list
        last = k
        above, lines = entries[k]
        out += above if k else []
        if old[k] == item:
            out += lines
        else:
            out += _dump([item], indent)
            lost = lost or _has_comment(lines)
    return out, lost


def _edit_blocks(
    lines: list[str], old: dict[str, Any], new: dict[str, Any], renames: dict[str, str]
) -> tuple[str, bool] | None:
    blocks = _top_blocks(lines)
    if not set(old) <= set(blocks):
        return None
    replace: dict[int, tuple[int, list[str]]] = {}
    lost = False
    for key, (start, end) in blocks.items():
        if key not in old or old[key] == new.get(key):
            continue
        repl: list[str] = []
        if key in new:
            edited = None
            if key == "services" and lines[start].rstrip().endswith(":"):
                edited = _edit_items(lines[start + 1 : end], old[key], new[key], renames)
            if edited is not None:
                repl, lost = [lines[start], *edited[0]], lost or edited[1]
            else:
                repl, lost = _dump({key: new[key]}), lost or _has_comment(lines[start:end])
        else:
            lost = lost or _has_comment(lines[start:end])
        replace[start] = (end, repl)
    added = [line for key in new if key not in old for line in _dump({key: new[key]})]
    out: list[str] = []
    i = 0
    while i < len(lines):
        if added and i == blocks.get("services", (len(lines),))[0]:
            out, added = out + added, []  # new keys go above services, like `new` writes them
        if i in replace:
            out += replace[i][1]
            i = replace[i][0]
        else:
            out.append(lines[i])
            i += 1
    return "".join(out + added), lost


def rewrite_layout(
    text: str, old: dict[str, Any], new: dict[str, Any], renames: dict[str, str]
) -> tuple[str, bool]:
    """dockergen.yml text for `new`, keeping `text`'s comments where nothing changed.

    Returns the text and whether every comment survived. CRLF files stay CRLF.
    """
    crlf = "\r\n" in text
    lines = text.replace("\r\n", "\n").splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    edited = _edit_blocks(lines, old, new, renames)
    result: tuple[str, bool] | None = None
    if edited is not None:
        with contextlib.suppress(yaml.YAMLError):
            if yaml.safe_load(edited[0]) == new:
                result = edited[0], not edited[1]
    if result is None:
        header = [line for line in lines[:1] if line.startswith("# yaml-language-server")]
        result = "".join(header + _dump(new)), not _has_comment(lines[len(header) :])
    return (result[0].replace("\n", "\r\n") if crlf else result[0]), result[1]


# ------------------------------------------------------------------------- render and plan


@dataclass(frozen=True)
class FileResult:
    path: str
    outcome: Outcome
    moved_from: str | None = None


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
    context: dict[str, Any]

    def files(self) -> dict[str, bytes]:
        """The project's generated files (without `.dockergen/`), as the pristine copy has them."""
        return {rel: p.read_bytes() for rel, p in tree_files(self.root).items()}


def _render(layout: Layout, tset: TemplateSet, tmp: Path, trust: bool) -> _Render:
    root = tmp / "render"
    root.mkdir()
    return _Render(root=root, context=render_pristine(layout, tset, root, trust=trust))


def _is_secret(rel: str) -> bool:
    return rel.split("/", 1)[0] == SECRETS_DIR


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
    for rel in sorted(set(old) | set(new)):
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
    project: Path, context: dict[str, Any], tmp: Path
) -> tuple[list[str], list[journal.Change], dict[str, int]]:
    """New random secrets for services that need one; an existing secret is never replaced."""
    missing = [s for s in context["secrets"] if not (project / s["file"]).exists()]
    if not missing:
        return [], [], {}
    (tmp / "secrets-root").mkdir()
    created = ensure_secrets({"secrets": missing}, tmp / "secrets-root")
    changes = [
        journal.Change(rel, (tmp / "secrets-root" / rel).read_bytes(), 0o644, keep_existing=True)
        for rel in created
    ]
    dirs = {} if (project / SECRETS_DIR).is_dir() else {SECRETS_DIR: 0o700}
    return created, changes, dirs


def _folders(files: dict[str, bytes]) -> set[str]:
    return {rel.split("/", 1)[0] for rel in files if "/" in rel}


def _unused_secrets(project: Path, old: dict[str, bytes], context: dict[str, Any]) -> list[str]:
    """Secret files of services that are gone: kept (the data they guard may still exist)."""
    before = yaml.safe_load(old.get(LAYOUT_FILE, b"")) or {}
    gone = {s["name"] for s in before.get("services", [])} - {
        s["name"] for s in context["services"]
    }
    used = {s["file"] for s in context["secrets"]}
    directory = project / SECRETS_DIR
    if not gone or not directory.is_dir():
        return []
    return sorted(
        f"{SECRETS_DIR}/{p.name}"
        for p in directory.iterdir()
        if f"{SECRETS_DIR}/{p.name}" not in used and p.name.split("_", 1)[0] in gone
    )


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


def update_project(
    project: Path,
    *,
    edit: LayoutEdit | None = None,
    dry_run: bool = False,
    restore: bool = False,
    trust: bool = False,
) -> UpdateResult:
    """Re-render from dockergen.yml (after `edit`, if any) and merge into the project.

    Conflicts don't raise: the result lists them and the caller decides the exit code.
    """
    project = project.absolute()
    with _one_line_os_errors(), journal.locked(project):
        recovered = journal.recover(project)
        state, text, raw, old = _load_project(project)
        renames: dict[str, str] = {}
        layout_text: bytes | None = None
        comments_kept = True
        if edit is not None:
            current = load_template_set(raw.get("template"), raw.get("template_ref"))
            new_raw, renames = edit(raw, current)
            if new_raw != raw:
                new_text, comments_kept = rewrite_layout(text, raw, new_raw, renames)
                layout_text = new_text.encode("utf-8")
            raw = new_raw
        layout, tset = prepare(parse(raw), project=project.name)
        with tempfile.TemporaryDirectory(prefix="dockergen-update-") as tmp:
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
            secrets, secret_changes, dirs = _plan_secrets(project, rendered.context, Path(tmp))
            visible = changes + secret_changes
            changes = visible + _plan_state(project, old, new, rendered.root)
        result = UpdateResult(
            project=project,
            layout=layout,
            old_version=state.template_version,
            new_version=tset.version,
            template=tset.name,
            files=files,
            secrets=secrets,
            changes=changes,
            dry_run=dry_run,
            warnings=[recovered] if recovered else [],
            unused_secrets=_unused_secrets(project, old, rendered.context),
            removed_folders=sorted(_folders(old) - _folders(new)),
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
    warnings: list[str] = field(default_factory=list)  # for stderr: a recovery

    @property
    def pending(self) -> bool:
        return bool(self.status) or self.old_version != self.new_version


def project_diff(project: Path, *, trust: bool = False) -> DriftResult:
    """Render into a temp dir and compare with the pristine copy (the user's edits don't count)."""
    project = project.absolute()
    with _one_line_os_errors(), journal.locked(project):
        recovered = journal.recover(project)
        state, _text, raw, old = _load_project(project)
        layout, tset = prepare(parse(raw), project=project.name)
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
        old_version=state.template_version,
        new_version=tset.version,
        template=tset.name,
        status=status,
        diff="".join(diff),
        warnings=[recovered] if recovered else [],
    )


# ------------------------------------------------------------------------------- reports

_LABELS: dict[Outcome, tuple[str, str]] = {
    Outcome.CREATED: ("created", ""),
    Outcome.UPDATED: ("updated", ""),
    Outcome.MERGED: ("merged", "your edits kept"),
    Outcome.CONFLICT: ("CONFLICT", "resolve the <<<<<<< yours / >>>>>>> template blocks"),
    Outcome.SIDECAR: (
        "CONFLICT",
        "yours kept; the template's version is in {path}" + SIDECAR_SUFFIX,
    ),
    Outcome.DELETED: ("deleted", "no longer generated"),
    Outcome.ORPHANED: ("kept", "no longer generated, but you edited it"),
    Outcome.STILL_DELETED: ("skipped", "you deleted it; --restore brings it back"),
    Outcome.RESTORED: ("restored", ""),
    Outcome.KEPT: ("kept", ""),
    Outcome.UNCHANGED: ("unchanged", ""),
}


def _version_note(template: str, old: str, new: str) -> str:
    return (
        f"template set {template} {old} -> {new}"
        if old != new
        else f"template set {template} {new}"
    )


def update_report(result: UpdateResult) -> str:
    """The lines a user reads after `update`, `add` or `remove` (warnings go apart)."""
    lines: list[str] = []
    if not result.changed:
        lines.append(
            f"{result.layout.project} is up to date "
            f"({_version_note(result.template, result.old_version, result.new_version)})."
        )
        return "\n".join(lines)
    if result.dry_run and result.diff:
        lines.append(result.diff.rstrip("\n"))
    verb = "Would update" if result.dry_run else "Updated"
    note = _version_note(result.template, result.old_version, result.new_version)
    lines.append(f"{verb} {result.layout.project} ({note}):")
    gone = {folder: 0 for folder in result.removed_folders}  # one line per removed service
    for f in result.files:
        folder = f.path.split("/", 1)[0]
        if f.outcome is Outcome.DELETED and folder in gone:
            gone[folder] += 1
    for folder, count in gone.items():
        if count:
            lines.append(f"  {'deleted':<9} {folder}/ ({count} generated files you hadn't edited)")
    for f in result.files:
        if f.outcome is Outcome.DELETED and f.path.split("/", 1)[0] in gone:
            continue
        label, detail = _LABELS[f.outcome]
        detail = detail.format(path=f.path)
        if f.moved_from:
            label = "moved" if f.outcome in (Outcome.UNCHANGED, Outcome.KEPT) else label
            detail = ", ".join(x for x in (f"from {f.moved_from}", detail) if x)
        lines.append(f"  {label:<9} {f.path}" + (f" ({detail})" if detail else ""))
    lines += [f"  {'secret':<9} {s} (new, random)" for s in result.secrets]
    lines += [f"  {'unused':<9} {s} (its service is gone; kept)" for s in result.unused_secrets]
    if not result.files and not result.secrets:
        lines.append("  only dockergen's own state in .dockergen/ changed")
    return "\n".join(lines)


def drift_report(result: DriftResult) -> str:
    """`diff`: a summary, then the unified diff of the pristine copy against a fresh render."""
    lines: list[str] = []
    name = result.project.name
    note = _version_note(result.template, result.old_version, result.new_version)
    if not result.pending:
        lines.append(f"{name} is up to date ({note}).")
        return "\n".join(lines)
    lines.append(f"Update pending for {name} ({note}); `dockergen update` applies it:")
    lines += [f"  {code} {path}" for code, path in result.status]
    if result.diff:
        lines.append(result.diff.rstrip("\n"))
    return "\n".join(lines)
