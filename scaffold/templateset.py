"""Template sets: where a set lives and what its manifest says.

A set is a folder with `set.yml` (name, version, description, questions, policy, and optionally
the set it `extends`), `copier.yml` (the copier settings shared by every render), `project/`
(files rendered once per project), `partials/` and `kinds/<kind>/` (one folder per stack:
`kind.yml` data plus a `files/` tree rendered once per service of that kind). Everything a stack
needs is data or a template in its folder, so adding a stack never touches Python.

Loading a set is three steps, each in its own module:
  scaffold.sources  where it comes from: bundled name, local folder, or git URL at a ref;
  scaffold.extend   what it is made of: the `extends` chain laid out as one plain folder;
  this module       what it says: the validated manifest and stack catalog (a TemplateSet).
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scaffold.errors import LayoutError, TemplateSetError

Category = Literal["frontend", "backend", "database"]
CATEGORIES: tuple[Category, ...] = ("frontend", "backend", "database")
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
SET_SCHEMA_FILE = "set.schema.json"
# copier.yml settings that make a render run code: only for trusted sets.
CODE_SETTINGS = ("_tasks", "_migrations", "_jinja_extensions")
_LABEL_KEY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthCheck(_Strict):
    test: list[str]
    interval: str = "10s"
    timeout: str = "5s"
    retries: int = 6
    start_period: str = "20s"


class SecretSpec(_Strict):
    """A random secret generated once into `secrets/<service>_<name>` and mounted as a file."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    env: str | None = Field(default=None, description="variable that receives the file path")
    client: bool = Field(default=False, description="backends get this secret to connect")


class Limits(_Strict):
    memory: str = "256m"
    cpus: str = "0.50"
    pids: int = 128


WatchAction = Literal["rebuild", "sync", "sync+restart", "restart"]


class WatchRule(_Strict):
    """One `develop.watch` rule of compose: what a change under `path` does to the service.

    Paths are relative to the service's folder (its build context), so a rule can't watch, or
    sync from, anything outside it. Compose also skips whatever the context's .dockerignore
    excludes.
    """

    action: WatchAction = Field(
        description="rebuild: build the image and recreate the container; sync: copy changed "
        "files to `target` in the running container (the engine refuses this on a read-only "
        "root filesystem); sync+restart: sync, then restart; restart: restart only"
    )
    path: str = Field(default=".", description="relative to the service's folder")
    target: str | None = Field(default=None, description="container path, for sync actions")
    ignore: list[str] = Field(
        default_factory=list, description=".dockerignore-style patterns, relative to path"
    )
    include: list[str] = Field(
        default_factory=list, description="only these patterns, relative to path (default: all)"
    )

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        norm = posixpath.normpath(value.strip() or ".")
        if norm.startswith("/") or norm == ".." or norm.startswith("../"):
            raise ValueError(f"path {value!r} must stay inside the service's folder")
        return norm

    @model_validator(mode="after")
    def _target(self) -> WatchRule:
        syncs = self.action.startswith("sync")
        if syncs and not (self.target and self.target.startswith("/")):
            raise ValueError(f"action {self.action} needs an absolute container path in target")
        if not syncs and self.target is not None:
            raise ValueError(f"action {self.action} takes no target")
        return self


class DevServer(_Strict):
    """The runtime's own reloading server, run outside the production image (README)."""

    setup: str | None = Field(
        default=None, description="one-time command in the service's folder, e.g. npm ci"
    )
    run: str = Field(description="the command; may use {{ service }} and {{ port }}")
    note: str = Field(default="", description="one sentence the README adds after it")


def _default_watch() -> list[WatchRule]:
    return [WatchRule(action="rebuild")]


class Develop(_Strict):
    """`docker compose watch` for a built kind, and how to run its own dev server."""

    watch: list[WatchRule] = Field(
        default_factory=_default_watch,
        description="compose develop.watch rules; default: rebuild on any change in the "
        "service's folder",
    )
    note: str = Field(
        default="", description="why these actions, one sentence for the generated README"
    )
    dev_server: DevServer | None = None


class Kind(_Strict):
    """One stack, as declared by `kinds/<kind>/kind.yml`."""

    name: str
    category: Category
    description: str
    default_name: str = Field(pattern=NAME_PATTERN)
    port: int = Field(ge=1, le=65535)
    publish: bool | None = Field(default=None, description="default: not for databases")
    images: dict[str, str] = Field(description="role -> image reference the set emits")
    image: str | None = Field(default=None, description="compose image for non-built kinds")
    user: str | None = Field(default=None, description="numeric uid:gid for non-built kinds")
    data_dir: str | None = None
    scratch: list[str] = Field(default_factory=lambda: ["/tmp"])
    cap_add: list[str] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: list[SecretSpec] = Field(default_factory=list)
    command: list[str] | None = None
    healthcheck: HealthCheck | None = None
    client: dict[str, str] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    develop: Develop = Field(
        default_factory=Develop,
        description="`docker compose watch` rules and the dev server (built kinds only)",
    )

    @property
    def published(self) -> bool:
        return self.publish if self.publish is not None else self.category != "database"


class Question(_Strict):
    """An extra question a set asks; the answer reaches templates as `answers.<name>`."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="answers.<name> in templates")
    type: Literal["str", "int", "bool", "choice"] = "str"
    help: str = Field(default="", description="shown when asking and by `templates show`")
    default: bool | int | str | None = Field(
        default=None, description="without a default the answer is required"
    )
    choices: list[str] = Field(default_factory=list, description="the options of a choice")
    pattern: str | None = Field(default=None, description="regular expression a str must match")

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"question {self.name!r}: a choice needs 'choices'")
        if self.type != "choice" and self.choices:
            raise ValueError(f"question {self.name!r}: 'choices' is only for type choice")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"question {self.name!r}: bad pattern: {exc}") from None
        if self.default is not None:
            self.coerce(self.default)
        return self

    def coerce(self, value: Any) -> bool | int | str:
        """An answer (YAML value or `--answer` text) as this question's type, or ValueError."""
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "y", "on", "1"):
                return True
            if text in ("false", "no", "n", "off", "0"):
                return False
            raise ValueError(f"expected yes or no, not {value!r}")
        if self.type == "int":
            if isinstance(value, bool):
                raise ValueError(f"expected a whole number, not {value!r}")
            try:
                return int(str(value).strip())
            except ValueError:
                raise ValueError(f"expected a whole number, not {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"expected text, not {value!r}")
        text = str(value)
        if self.type == "choice" and text not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, not {text!r}")
        if self.pattern is not None and not re.fullmatch(self.pattern, text):
            raise ValueError(f"{text!r} doesn't match {self.pattern}")
        return text

    def placeholder(self) -> bool | int | str:
        """A valid answer for sample renders (`templates validate`)."""
        if self.default is not None:
            return self.coerce(self.default)
        return {"bool": False, "int": 1, "choice": self.choices[0] if self.choices else ""}.get(
            self.type, "example"
        )


class Policy(_Strict):
    """Rules every project rendered from the set must follow; checked on the rendered files."""

    allowed_registries: list[str] | None = Field(
        default=None,
        description="registries (or registry/path prefixes) every image must come from; "
        "Docker Hub is docker.io; scratch is exempt; unset: any",
    )
    mirror: str | None = Field(
        default=None,
        description="registry prefix every image is pulled through, e.g. "
        "registry.example.test/mirror/ (Docker Hub images keep their library/ path, "
        "others are prefixed with their registry host)",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="OCI labels every built image must carry in its final stage; values may "
        "use {{ project }}, {{ service }}, {{ kind }}, {{ answers.<name> }}",
    )
    digests: dict[str, str] = Field(
        default_factory=dict,
        description="image:tag -> sha256:... ; known images are rendered as image:tag@sha256:...",
    )
    require_digests: bool = Field(default=False, description="every image must be pinned by digest")

    @field_validator("allowed_registries")
    @classmethod
    def _registries(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        out = []
        for entry in value:
            entry = entry.strip().rstrip("/")
            if not entry or "://" in entry or "@" in entry or ":" in entry.split("/", 1)[-1]:
                raise ValueError(f"{entry!r} is not a registry host or host/path prefix")
            out.append(entry)
        return out

    @field_validator("mirror")
    @classmethod
    def _mirror(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        host = value.split("/", 1)[0]
        if "://" in value or not ("." in host or ":" in host or host == "localhost"):
            raise ValueError(
                f"{value!r} must start with a registry host, e.g. registry.example.test/mirror/"
            )
        return value if value.endswith("/") else value + "/"

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _LABEL_KEY.fullmatch(key):
                raise ValueError(f"label {key!r}: use lowercase reverse-DNS keys")
        return value

    @field_validator("digests")
    @classmethod
    def _digests(cls, value: dict[str, str]) -> dict[str, str]:
        from scaffold.policy import canonical

        for ref, digest in value.items():
            if not _DIGEST.fullmatch(str(digest)):
                raise ValueError(f"{ref}: {digest!r} is not a sha256:<64 hex> digest")
            canonical(ref)  # raises ValueError for a malformed reference
        return value

    @property
    def active(self) -> bool:
        return bool(
            self.allowed_registries is not None
            or self.mirror
            or self.labels
            or self.require_digests
        )


class SetManifest(_Strict):
    """The whole of set.yml."""

    name: str = Field(pattern=NAME_PATTERN)
    version: str = Field(description="the set's version; publish it as a git tag too")
    description: str = ""
    extends: str | None = Field(
        default=None,
        description="parent set: a bundled name, a folder (relative to this set), "
        "or a git URL with an optional @ref",
    )
    remove: list[str] = Field(
        default_factory=list, description="inherited files or folders to drop, e.g. kinds/mysql"
    )
    questions: list[Question] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)

    @field_validator("questions")
    @classmethod
    def _unique(cls, value: list[Question]) -> list[Question]:
        names = [q.name for q in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate question {dupes[0]!r}")
        return value


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

    def kinds_in(self, category: Category) -> list[Kind]:
        return [k for k in self.kinds.values() if k.category == category]

    def with_digests(self, extra: Mapping[str, str]) -> TemplateSet:
        """The same set with more image digests (a project's `digests`); `extra` wins."""
        from scaffold.policy import canonical_digests

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


def bundled_root() -> Path:
    """Bundled sets: inside the wheel as scaffold/templates, or ../templates in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise TemplateSetError("the bundled template sets are missing from this installation")


def bundled_names() -> list[str]:
    return sorted(p.name for p in bundled_root().iterdir() if (p / "set.yml").is_file())


def read_yaml(path: Path, where: str | None = None) -> object:
    """A set's YAML file; `where` is how messages name it (default: its path)."""
    where = where or str(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateSetError(f"can't read {where}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise TemplateSetError(f"{where}{at}: invalid YAML") from None


def _first_error(exc: ValidationError, path: Path | str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    return f"{path}: {loc}: {msg}" if loc else f"{path}: {msg}"


def parse_manifest(raw: object, where: Path | str) -> SetManifest:
    if not isinstance(raw, dict):
        raise TemplateSetError(f"{where}: expected a mapping with name and version")
    try:
        return SetManifest.model_validate(raw)
    except ValidationError as exc:
        raise TemplateSetError(_first_error(exc, where)) from None


def resolve_source(source: str | None) -> Path:
    """Turn a set name or a local path into the folder it names (no git, no `extends`)."""
    from scaffold import sources

    src = sources.parse(source or "default")
    if src.kind == "git":
        raise TemplateSetError(f"{source}: a git source has no local folder; load it instead")
    return Path(src.location) if src.kind == "path" else bundled_root() / src.location


@functools.cache
def _load_root(root: Path, display: str) -> tuple[SetManifest, dict[str, Kind], tuple[str, ...]]:
    """Manifest, catalog and code-running copier settings of one plain set folder.

    Cached per folder: bundled folders don't change while we run, and every other set is read
    from a folder named by the hash of its content (scaffold.extend).
    """
    from scaffold.extend import read_copier_config

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
    if not kinds:
        raise TemplateSetError(f"{display}: the set declares no kinds (kinds/*/kind.yml)")
    config = read_copier_config(root, display)
    subdir = "".join(str(config.get("_subdirectory", "")).split())
    if subdir != "{{dg_subdir}}":
        raise TemplateSetError(
            f'{display}/copier.yml: _subdirectory must be "{{{{ dg_subdir }}}}" '
            "(dockergen renders project/ and kinds/<kind>/files/ through it)"
        )
    code = tuple(key for key in CODE_SETTINGS if config.get(key))
    return manifest, kinds, code


def load_template_set(
    source: str | None = None, ref: str | None = None, *, base: Path | None = None
) -> TemplateSet:
    """Load a set by bundled name, local path or git URL (default: the bundled `default`).

    `ref` (a tag, branch or commit) picks the version of a git source; `URL@REF` works too.
    A relative path is taken from `base` (the project, for dockergen.yml; default: cwd).
    A set that `extends` another is returned as one merged folder with its whole lineage.
    """
    from scaffold import extend, sources
    from scaffold.policy import canonical_digests

    src = sources.parse(source or "default", ref, base=base)
    resolved = extend.resolve(src)
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
        sources.remember(tset)
    return tset


def ask_answers(tset: TemplateSet, given: Mapping[str, Any]) -> dict[str, Any]:
    """Ask (in a terminal) the set's questions that `given` doesn't answer yet."""
    import questionary

    from scaffold.errors import Aborted

    answers = dict(given)
    for q in tset.questions:
        if q.name in answers:
            continue
        label = f"{q.help or q.name}:"
        default = q.default
        if q.type == "bool":
            prompt = questionary.confirm(label, default=bool(default))
        elif q.type == "choice":
            prompt = questionary.select(label, choices=q.choices, default=default)
        else:

            def valid(text: str, q: Question = q) -> bool | str:
                try:
                    q.coerce(text)
                except ValueError as exc:
                    return str(exc)
                return True

            prompt = questionary.text(
                label, default="" if default is None else str(default), validate=valid
            )
        try:
            answers[q.name] = q.coerce(prompt.unsafe_ask())
        except KeyboardInterrupt:
            raise Aborted("interrupted; nothing was written") from None
    return answers


# ----------------------------------------------------------------------------- JSON Schema


def _partial(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A copy of an object schema for deep-merged files: no field is required in mappings.

    Mappings merge key by key, so a child set's kind.yml may give any subset of fields; list
    items are replaced whole, so they keep their required fields (referenced, not copied).
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _partial(defs[name], defs)
    out = dict(schema)
    out.pop("required", None)
    if "properties" in out:
        out["properties"] = {k: _partial(v, defs) for k, v in out["properties"].items()}
    if "anyOf" in out:
        out["anyOf"] = [_partial(v, defs) for v in out["anyOf"]]
    return out


def set_json_schema() -> dict[str, Any]:
    """JSON Schema for set.yml and kinds/*/kind.yml (scaffold/schema/set.schema.json).

    The root matches either file; `$defs.SetManifest` and `$defs.KindFile` name each one. A
    kind.yml needs all its required fields once merged with the parent set's (checked at load).
    """
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [(SetManifest, "validation"), (Kind, "validation")], ref_template="#/$defs/{model}"
    )
    defs: dict[str, Any] = top["$defs"]
    kind_file = _partial(defs["Kind"], defs)
    kind_file["properties"].pop("name")
    kind_file["title"] = "kind.yml"
    kind_file["description"] = (
        "One stack (kinds/<kind>/kind.yml); the folder name is the kind's name. Required in a "
        "set's own kinds: category, description, default_name, port, images."
    )
    defs["KindFile"] = kind_file
    defs.pop("Kind")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "dockergen template set (set.yml, kinds/*/kind.yml)",
        "anyOf": [{"$ref": "#/$defs/SetManifest"}, {"$ref": "#/$defs/KindFile"}],
        "$defs": dict(sorted(defs.items())),
    }


def set_schema_path() -> Path:
    return Path(__file__).resolve().parent / "schema" / SET_SCHEMA_FILE


def set_schema_text() -> str:
    return json.dumps(set_json_schema(), indent=2) + "\n"


def write_set_schema() -> Path:
    """Regenerate scaffold/schema/set.schema.json (tests fail while it is stale)."""
    path = set_schema_path()
    path.write_text(set_schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m scaffold.templateset: regenerate the set schema
    print(write_set_schema())
