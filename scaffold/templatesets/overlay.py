"""Set inheritance: a set that `extends` another is laid out as one plain folder.

`resolve` walks the `extends` chain (a bundled name, a folder, or a git URL with an optional
`@ref`), reads each set into memory and lays each child over its parent:

- a child's file replaces the parent's file at the same path (templates, partials, starter apps);
- `kinds/<kind>/kind.yml` is deep-merged: mappings merge key by key, lists and scalars replace,
  and `null` removes the inherited key, so a child changes one image without repeating the kind;
- `set.yml`: name and version are the child's, the description falls back to the parent's,
  questions merge by name (same name replaces, new ones are appended), `policy`, `categories`
  and `logging` deep-merge like a kind.yml, `defaults` and `syntax` are the child's or else the
  parent's, and `extends`/`remove` are consumed;
- `copier.yml` deep-merges too; copier's list settings (`_exclude`, `_skip_if_exists`,
  `_tasks`, `_migrations`, `_jinja_extensions`, `_secret_questions`) are concatenated, so a
  parent's tasks are inherited (and need `--trust` like the child's own);
- `remove: [kinds/mysql, project/README.md.jinja]` in a child's set.yml drops inherited paths.

The merged tree is written once to `<cache>/overlays/<hash of its content>/` and reused. Sets
from a folder or git are always rendered from such a copy: no `.git` for copier to pick another
revision from, and no symlink pointing outside the set (a set could otherwise copy any file of
the user's into a generated project). Only a bundled set without `extends` is used in place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from scaffold.errors import TemplateSetError
from scaffold.templatesets.manifest import parse_manifest, read_yaml
from scaffold.templatesets.sources import Fetched, Source, cache_dir, fetch, parse

# libyaml's parser when PyYAML has it (the same safe constructor, several times faster than the
# pure-Python one: YAML parsing was about 6% of a 5-service `dockergen new`).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Files = dict[str, tuple[bytes, int]]  # relative POSIX path -> (content, mode)

COPIER_FILES = ("copier.yml", "copier.yaml")
COPIER_LISTS = (
    "_exclude",
    "_skip_if_exists",
    "_tasks",
    "_migrations",
    "_jinja_extensions",
    "_secret_questions",
)
MAX_DEPTH = 8
MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Origin:
    """One level of a set's `extends` chain, as resolved."""

    name: str
    version: str
    source: str
    kind: str  # bundled | path | git
    ref: str | None = None
    commit: str | None = None

    def describe(self) -> str:
        where = self.source if self.kind != "bundled" else "bundled"
        at = f" @ {self.ref}" if self.ref else ""
        commit = f" ({self.commit[:12]})" if self.commit else ""
        return f"{self.name} {self.version} [{where}{at}{commit}]"


@dataclass(frozen=True)
class Resolved:
    root: Path
    lineage: tuple[Origin, ...]  # the set itself first, then its parent, grandparent...


def resolve(source: Source) -> Resolved:
    """The folder to render `source` from, and the chain of sets it was built from."""
    fetched = fetch(source)
    if source.kind == "bundled":
        raw = _manifest_raw(fetched.root / "set.yml", f"templates/{source.location}/set.yml")
        if not raw.get("extends"):
            manifest = parse_manifest(raw, f"templates/{source.location}/set.yml")
            origin = Origin(manifest.name, manifest.version, source.location, "bundled")
            return Resolved(fetched.root, (origin,))
    files, lineage = _tree(source, fetched, chain=())
    return Resolved(materialise(files), lineage)


def _identity(source: Source, fetched: Fetched) -> str:
    if source.kind == "git":
        return f"{source.location}#{fetched.commit}"
    return f"{source.kind}:{fetched.root.resolve()}"


def _tree(
    source: Source, fetched: Fetched, chain: tuple[tuple[str, str], ...]
) -> tuple[Files, tuple[Origin, ...]]:
    here = _display(source)
    key = _identity(source, fetched)
    if key in (k for k, _ in chain):
        names = [shown for _, shown in chain] + [here]
        raise TemplateSetError(f"template sets extend each other in a cycle: {' -> '.join(names)}")
    if len(chain) >= MAX_DEPTH:
        raise TemplateSetError(f"{here}: more than {MAX_DEPTH} levels of extends")
    raw = _manifest_raw(fetched.root / "set.yml", f"{here}/set.yml")
    manifest = parse_manifest(raw, f"{here}/set.yml")
    origin = Origin(
        manifest.name, manifest.version, source.location, source.kind, source.ref, fetched.commit
    )
    files = collect(fetched.root, here, trusted=source.kind == "bundled")
    if not manifest.extends:
        if manifest.remove:
            raise TemplateSetError(f"{here}/set.yml: remove: only a set that extends another")
        return files, (origin,)
    parent = _parent_source(manifest.extends, source, fetched, here)
    parent_files, parent_lineage = _tree(parent, fetch(parent), (*chain, (key, here)))
    merged = overlay(parent_files, files, here)
    return merged, (origin, *parent_lineage)


def _display(source: Source) -> str:
    if source.kind == "bundled":
        return f"templates/{source.location}"
    return str(source)


def _parent_source(text: str, child: Source, fetched: Fetched, here: str) -> Source:
    """`extends:` of a child; a set from git may only reach bundled sets, git URLs or its repo."""
    try:
        parent = parse(text, base=fetched.root)
    except TemplateSetError as exc:
        raise TemplateSetError(f"{here}/set.yml: extends: {exc.message}") from None
    if child.kind == "git" and parent.kind == "path":
        inside = Path(parent.location).resolve().is_relative_to(fetched.root.resolve())
        if not inside:
            raise TemplateSetError(
                f"{here}/set.yml: extends: a set from git may extend a bundled set, a git URL "
                f"or a folder of its own repository, not {text!r}"
            )
    if child.kind == "bundled" and parent.kind != "bundled":
        raise TemplateSetError(f"{here}/set.yml: extends: a bundled set extends bundled sets only")
    return parent


def _manifest_raw(path: Path, where: str) -> dict[str, Any]:
    raw = read_yaml(path, where)
    if not isinstance(raw, dict):
        raise TemplateSetError(f"{where}: expected a mapping with name and version")
    return raw


def collect(root: Path, here: str, *, trusted: bool = False) -> Files:
    """Every file of a set folder, in memory; `.git` is skipped, symlinks must stay inside."""
    files: Files = {}
    real_root = root.resolve()
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)) and not trusted:
                rel = Path(dirpath, d).relative_to(root).as_posix()
                raise TemplateSetError(f"{here}: {rel} is a symlinked folder; copy it instead")
        for name in sorted(filenames):
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root) and not trusted:
                    raise TemplateSetError(f"{here}: {rel} is a symlink pointing outside the set")
                path = target
            if not path.is_file():
                continue
            data = path.read_bytes()
            total += len(data)
            if total > MAX_BYTES:
                raise TemplateSetError(f"{here}: larger than {MAX_BYTES // 2**20} MB")
            files[rel] = (data, 0o755 if os.access(path, os.X_OK) else 0o644)
    return files


# --------------------------------------------------------------------------------- merging


def deep_merge(base: Any, over: Any) -> Any:
    """Mappings merge key by key (None removes a key); anything else is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = value
        return out
    return over


def _yaml(data: bytes, where: str) -> Any:
    try:
        return yaml.load(data.decode("utf-8"), Loader=_SAFE_LOADER)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise TemplateSetError(f"{where}{at}: invalid YAML") from None


def _dump(data: Any) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


def _is_kind_file(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return len(parts) == 3 and parts[0] == "kinds" and parts[2] == "kind.yml"


def merge_questions(parent: list[Any], child: list[Any]) -> list[Any]:
    out = [q for q in parent if isinstance(q, dict)]
    index = {q.get("name"): i for i, q in enumerate(out)}
    for q in child:
        if isinstance(q, dict) and q.get("name") in index:
            out[index[q["name"]]] = q
        else:
            out.append(q)
    return out


Manifest = dict[str, Any]


def _inherited(parent: Manifest, child: Manifest, key: str) -> Any:
    return child[key] if key in child else parent.get(key)


def _questions(parent: Manifest, child: Manifest, key: str) -> Any:
    return merge_questions(parent.get(key) or [], child.get(key) or [])


def _mapping(parent: Manifest, child: Manifest, key: str) -> Any:
    return deep_merge(parent.get(key) or {}, child.get(key) or {})


# How each set.yml key of a child combines with its parent's, in the order the merged file
# lists them: one table, so a new key is added once, not also to a list of keys to skip.
_MANIFEST_MERGE = {
    "description": _inherited,
    "questions": _questions,
    "policy": _mapping,
    "categories": _mapping,
    "defaults": _inherited,
    "logging": _mapping,
    "syntax": _inherited,
}


def merge_manifest(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": child.get("name"), "version": child.get("version")}
    for key, merge in _MANIFEST_MERGE.items():
        value = merge(parent, child, key)
        if value:
            out[key] = value
    for key, value in child.items():  # anything else: let validation name it
        if key not in out and key not in _MANIFEST_MERGE and key not in ("extends", "remove"):
            out[key] = value
    return out


def copier_config(data: bytes, where: str) -> dict[str, Any]:
    """copier.yml as copier reads it: several documents merged, list settings concatenated."""
    try:
        docs = list(yaml.safe_load_all(data.decode("utf-8")))
    except UnicodeDecodeError:
        raise TemplateSetError(f"{where}: not UTF-8 text") from None
    except yaml.constructor.ConstructorError as exc:
        if "!include" in str(exc):
            raise TemplateSetError(
                f"{where}: !include isn't supported in template sets; write the settings "
                "in copier.yml"
            ) from None
        raise TemplateSetError(f"{where}: invalid YAML ({exc.problem})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise TemplateSetError(f"{where}{at}: invalid YAML") from None
    flat: list[dict[str, Any]] = []
    for doc in docs:
        for item in doc if isinstance(doc, list) else [doc]:
            if item is None:
                continue
            if not isinstance(item, dict):
                raise TemplateSetError(f"{where}: expected a mapping of copier settings")
            flat.append(item)
    out: dict[str, Any] = {}
    for item in flat:
        for key, value in item.items():
            if key in COPIER_LISTS and isinstance(out.get(key), list) and isinstance(value, list):
                out[key] = [*out[key], *value]
            else:
                out[key] = value
    return out


def merge_copier(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(parent)
    for key, value in child.items():
        if key in COPIER_LISTS and isinstance(out.get(key), list) and isinstance(value, list):
            out[key] = [*out[key], *value]
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = deep_merge(out.get(key), value)
    return out


def read_copier_config(root: Path, display: str) -> dict[str, Any]:
    """The copier settings of a plain set folder (copier.yml or copier.yaml)."""
    found = [name for name in COPIER_FILES if (root / name).is_file()]
    if not found:
        raise TemplateSetError(f"{display}: no copier.yml")
    if len(found) > 1:
        raise TemplateSetError(f"{display}: has both copier.yml and copier.yaml; keep one")
    return copier_config((root / found[0]).read_bytes(), f"{display}/{found[0]}")


def _copier_of(files: Files, here: str) -> dict[str, Any] | None:
    found = [name for name in COPIER_FILES if name in files]
    if len(found) > 1:
        raise TemplateSetError(f"{here}: has both copier.yml and copier.yaml; keep one")
    return copier_config(files[found[0]][0], f"{here}/{found[0]}") if found else None


def _remove(merged: Files, paths: list[str], here: str) -> None:
    for entry in paths:
        rel = PurePosixPath(entry.strip().strip("/"))
        if not rel.parts or ".." in rel.parts or rel.is_absolute():
            raise TemplateSetError(f"{here}/set.yml: remove: {entry!r} is not a path in the set")
        text = rel.as_posix()
        if text in ("set.yml", *COPIER_FILES):
            raise TemplateSetError(f"{here}/set.yml: remove: {entry!r} can't be removed")
        gone = [k for k in merged if k == text or k.startswith(text + "/")]
        if not gone:
            raise TemplateSetError(f"{here}/set.yml: remove: {entry!r} matches no inherited file")
        for key in gone:
            del merged[key]


def overlay(parent: Files, child: Files, here: str) -> Files:
    """The child's tree laid over its parent's (see the module docstring for the rules)."""
    child_manifest = _yaml(child["set.yml"][0], f"{here}/set.yml")
    parent_manifest = _yaml(parent["set.yml"][0], "the parent's set.yml")
    merged = dict(parent)
    _remove(merged, list(child_manifest.get("remove") or []), here)
    for rel, (data, mode) in child.items():
        if rel == "set.yml" or rel in COPIER_FILES:
            continue
        if _is_kind_file(rel) and rel in merged:
            base = _yaml(merged[rel][0], f"{rel} (inherited)")
            over = _yaml(data, f"{here}/{rel}")
            if over is not None and not isinstance(over, dict):
                raise TemplateSetError(f"{here}/{rel}: expected a mapping")
            merged[rel] = (_dump(deep_merge(base or {}, over or {})), mode)
        else:
            merged[rel] = (data, mode)
    parent_copier = _copier_of(parent, "the parent set") or {}
    child_copier = _copier_of(child, here)
    for name in COPIER_FILES:
        merged.pop(name, None)
    config = merge_copier(parent_copier, child_copier) if child_copier else parent_copier
    merged["copier.yml"] = (_dump(config), 0o644)
    merged["set.yml"] = (_dump(merge_manifest(parent_manifest, child_manifest)), 0o644)
    return merged


def content_hash(files: Files) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        data, mode = files[rel]
        digest.update(f"{rel}\0{mode:o}\0".encode())
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def materialise(files: Files) -> Path:
    """Write a merged tree to the overlay cache (once per distinct content) and return it."""
    final = cache_dir() / "overlays" / content_hash(files)[:32]
    if (final / "set.yml").is_file():
        return final
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for rel, (data, mode) in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if (final / "set.yml").is_file():  # another dockergen wrote it first
            return final
        raise TemplateSetError(f"can't write the template cache {final.parent}: {exc}") from None
    return final
