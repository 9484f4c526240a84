"""Loading a template set: the validated manifest and stack catalog, as one TemplateSet.

Loading is three steps, each in its own module, imported in this order:
  .sources   where it comes from: bundled name, local folder, or git URL at a ref;
  .overlay   what it is made of: the `extends` chain laid out as one plain folder;
  .manifest  what it says: set.yml and kinds/*/kind.yml, validated.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scaffold.errors import LayoutError, TemplateSetError
from scaffold.images import canonical_digests
from scaffold.templatesets import overlay, sources
from scaffold.templatesets.manifest import (
    CategorySpec,
    Kind,
    Policy,
    Question,
    SetManifest,
    _first_error,
    parse_manifest,
    read_yaml,
)
from scaffold.templatesets.overlay import Origin, read_copier_config

# copier.yml settings that make a render run code: only for trusted sets.
CODE_SETTINGS = ("_tasks", "_migrations", "_jinja_extensions")


@dataclass(frozen=True)
class TemplateSet:
    """A loaded set: its manifest, root folder and stack catalog, and where it came from."""

    manifest: SetManifest
    root: Path
    kinds: dict[str, Kind]
    source: str
    ref: str | None = None
    commit: str | None = None
    lineage: tuple[Origin, ...] = ()
    bundled: bool = False
    code: tuple[str, ...] = ()
    digests: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    def identity(self) -> dict[str, str | None]:
        """Where the set came from and which version: recorded in template.json and recent.json."""
        return {
            "source": self.source,
            "ref": self.ref,
            "commit": self.commit,
            "name": self.name,
            "version": self.version,
        }

    @property
    def policy(self) -> Policy:
        return self.manifest.policy

    @property
    def questions(self) -> list[Question]:
        return self.manifest.questions

    @property
    def needs_trust(self) -> bool:
        """Sets from a path or URL whose copier.yml (inherited or not) runs code."""
        return bool(self.code) and not self.bundled

    def kind(self, name: str) -> Kind:
        try:
            return self.kinds[name]
        except KeyError:
            raise TemplateSetError(
                f"unknown kind {name!r}; valid kinds: {', '.join(sorted(self.kinds))}"
            ) from None

    def builds(self, kind: str) -> bool:
        """A kind builds an image when its folder ships a files/ tree with a Dockerfile."""
        return (self.root / "kinds" / kind / "files" / "Dockerfile.jinja").is_file()

    def kinds_in(self, category: str) -> list[Kind]:
        return [k for k in self.kinds.values() if k.category == category]

    @property
    def categories(self) -> dict[str, CategorySpec]:
        """The set's roles in their declared order (set.yml `categories`)."""
        return self.manifest.categories

    def category(self, name: str) -> CategorySpec:
        return self.manifest.categories[name]

    def client_part(self, database: str, connector: str) -> str | None:
        """The template folder of `database`'s client part for the language of `connector`
        (`kinds/<database>/clients/<language>`), when the set ships one."""
        language = self.kinds[connector].language
        if language is None:
            return None
        folder = f"kinds/{database}/clients/{language}"
        return folder if (self.root / folder).is_dir() else None

    def with_digests(self, extra: Mapping[str, str]) -> TemplateSet:
        """The same set with more image digests (a project's `digests`); `extra` wins."""
        try:
            merged = {**self.digests, **canonical_digests(extra)}
        except ValueError as exc:
            raise TemplateSetError(f"digests: {exc}") from None
        return replace(self, digests=merged)

    def resolve_answers(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Every question's answer: given ones checked and typed, the rest from defaults."""
        given = dict(given or {})
        known = {q.name: q for q in self.questions}
        unknown = sorted(set(given) - set(known))
        if unknown:
            asks = ", ".join(known) if known else "no questions"
            raise LayoutError(
                f"answers: {unknown[0]!r} is not a question of template set {self.name!r} "
                f"(it asks: {asks})"
            )
        out: dict[str, Any] = {}
        for q in self.questions:
            if q.name in given:
                try:
                    out[q.name] = q.coerce(given[q.name])
                except ValueError as exc:
                    raise LayoutError(f"answers.{q.name}: {exc}") from None
            elif q.default is not None:
                out[q.name] = q.coerce(q.default)
            else:
                raise LayoutError(
                    f"answers.{q.name}: template set {self.name!r} needs an answer"
                    + (f" ({q.help})" if q.help else ""),
                    hint=f"pass --answer {q.name}=VALUE",
                )
        return out


@functools.cache
def _load_root(root: Path, display: str) -> tuple[SetManifest, dict[str, Kind], tuple[str, ...]]:
    """Manifest, catalog and code-running copier settings of one plain set folder.

    Cached per folder: bundled folders don't change while we run, and every other set is read
    from a folder named by the hash of its content (.overlay).
    """
    manifest = parse_manifest(read_yaml(root / "set.yml"), f"{display}/set.yml")
    kinds: dict[str, Kind] = {}
    for kind_file in sorted((root / "kinds").glob("*/kind.yml")):
        where = f"{display}/kinds/{kind_file.parent.name}/kind.yml"
        data = read_yaml(kind_file)
        if not isinstance(data, dict):
            raise TemplateSetError(f"{where}: expected a mapping")
        try:
            kinds[kind_file.parent.name] = Kind.model_validate(
                {**data, "name": kind_file.parent.name}
            )
        except ValidationError as exc:
            raise TemplateSetError(_first_error(exc, where)) from None
        config_file = kinds[kind_file.parent.name].config_file
        if config_file and not (kind_file.parent / "files" / config_file.template).is_file():
            raise TemplateSetError(
                f"{where}: config_file: no template files/{config_file.template} in the kind's "
                "folder"
            )
    if not kinds:
        raise TemplateSetError(f"{display}: the set declares no kinds (kinds/*/kind.yml)")
    kinds = _with_categories(manifest, kinds, display)
    config = read_copier_config(root, display)
    subdir = "".join(str(config.get("_subdirectory", "")).split())
    if subdir != "{{dg_subdir}}":
        raise TemplateSetError(
            f'{display}/copier.yml: _subdirectory must be "{{{{ dg_subdir }}}}" '
            "(dockergen renders project/ and kinds/<kind>/files/ through it)"
        )
    code = tuple(key for key in CODE_SETTINGS if config.get(key))
    return manifest, kinds, code


def _with_categories(
    manifest: SetManifest, kinds: dict[str, Kind], display: str
) -> dict[str, Kind]:
    """Each kind's category checked against set.yml's `categories`, and its `publish` filled
    from the category's default. (`defaults` is checked when used: a set that removes an
    inherited kind still loads, and only `new --defaults` says its defaults name it.)"""
    declared = manifest.categories
    problem = manifest.relation_error()
    if problem:
        raise TemplateSetError(f"{display}/set.yml: categories: {problem}")
    out: dict[str, Kind] = {}
    for name, kind in kinds.items():
        if kind.category not in declared:
            known = ", ".join(declared) or "none: add `categories:` to set.yml"
            raise TemplateSetError(
                f"{display}/kinds/{name}/kind.yml: category {kind.category!r} is not declared "
                f"in set.yml (categories: {known})"
            )
        publish = kind.publish
        if publish is None:
            publish = declared[kind.category].publishes
        out[name] = kind.model_copy(update={"publish": publish})
    return out


def load_template_set(
    source: str | None = None, ref: str | None = None, *, base: Path | None = None
) -> TemplateSet:
    """Load a set by bundled name, local path or git URL (default: the bundled `default`).

    `ref` (a tag, branch or commit) picks the version of a git source; `URL@REF` works too.
    A relative path is taken from `base` (the project, for dockergen.yml; default: cwd).
    A set that `extends` another is returned as one merged folder with its whole lineage.
    """
    src = sources.parse(source or "default", ref, base=base)
    resolved = overlay.resolve(src)
    top = resolved.lineage[0]
    display = top.source if src.kind != "bundled" else f"templates/{src.location}"
    manifest, kinds, code = _load_root(resolved.root, display)
    try:
        digests = canonical_digests(manifest.policy.digests)
    except ValueError as exc:  # pragma: no cover - the manifest validator checked them
        raise TemplateSetError(f"{display}/set.yml: policy.digests: {exc}") from None
    tset = TemplateSet(
        manifest=manifest,
        root=resolved.root,
        kinds=kinds,
        source=src.location,
        ref=src.ref,
        commit=top.commit,
        lineage=resolved.lineage,
        bundled=src.kind == "bundled",
        code=code,
        digests=digests,
    )
    if src.kind != "bundled":
        sources.remember(tset.identity())
    return tset
