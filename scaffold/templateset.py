"""Template sets: where a set lives and what its manifest says.

A set is a folder with `set.yml` (name, version, description), `copier.yml` (the copier
settings shared by every render), `project/` (files rendered once per project) and
`kinds/<kind>/` (one folder per stack: `kind.yml` data plus a `files/` tree rendered once per
service of that kind). Everything a stack needs is data or a template in its folder, so adding a
stack never touches Python.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scaffold.errors import TemplateSetError

Category = Literal["frontend", "backend", "database"]
CATEGORIES: tuple[Category, ...] = ("frontend", "backend", "database")
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"


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

    @property
    def published(self) -> bool:
        return self.publish if self.publish is not None else self.category != "database"


class SetManifest(_Strict):
    name: str
    version: str
    description: str = ""


@dataclass(frozen=True)
class TemplateSet:
    """A loaded set: its manifest, root folder and stack catalog."""

    manifest: SetManifest
    root: Path
    kinds: dict[str, Kind]
    source: str

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

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


def bundled_root() -> Path:
    """Bundled sets: inside the wheel as scaffold/templates, or ../templates in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise TemplateSetError("the bundled template sets are missing from this installation")


def bundled_names() -> list[str]:
    return sorted(p.name for p in bundled_root().iterdir() if (p / "set.yml").is_file())


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateSetError(f"can't read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise TemplateSetError(f"{path}{where}: invalid YAML") from None


def _first_error(exc: ValidationError, path: Path) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{path}: {loc}: {err['msg']}" if loc else f"{path}: {err['msg']}"


def resolve_source(source: str | None) -> Path:
    """Turn a set name or a local path into the set's root folder."""
    source = source or "default"
    path = Path(source).expanduser()
    if "/" in source or source.startswith(".") or (path.is_dir() and (path / "set.yml").exists()):
        if not (path / "set.yml").is_file():
            raise TemplateSetError(f"{source}: not a template set (no set.yml)")
        return path.resolve()
    root = bundled_root() / source
    if not (root / "set.yml").is_file():
        raise TemplateSetError(
            f"unknown template set {source!r}; bundled sets: {', '.join(bundled_names())}"
        )
    return root


@functools.cache
def _load(root: Path, source: str) -> TemplateSet:
    raw = _read_yaml(root / "set.yml")
    try:
        manifest = SetManifest.model_validate(raw)
    except ValidationError as exc:
        raise TemplateSetError(_first_error(exc, root / "set.yml")) from None
    kinds: dict[str, Kind] = {}
    kinds_dir = root / "kinds"
    for kind_file in sorted(kinds_dir.glob("*/kind.yml")):
        data = _read_yaml(kind_file)
        if not isinstance(data, dict):
            raise TemplateSetError(f"{kind_file}: expected a mapping")
        try:
            kinds[kind_file.parent.name] = Kind.model_validate(
                {**data, "name": kind_file.parent.name}
            )
        except ValidationError as exc:
            raise TemplateSetError(_first_error(exc, kind_file)) from None
    if not kinds:
        raise TemplateSetError(f"{root}: the set declares no kinds (kinds/*/kind.yml)")
    return TemplateSet(manifest=manifest, root=root, kinds=kinds, source=source)


def load_template_set(source: str | None = None) -> TemplateSet:
    """Load a set by bundled name or local path (default: the bundled `default`)."""
    root = resolve_source(source)
    return _load(root, source or "default")
