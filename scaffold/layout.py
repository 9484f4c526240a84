"""The declarative layout (dockergen.yml): parsing, validation and normalisation.

Every way of describing a project (a file, flags, the interview, --defaults) ends here, so there
is one place that decides what a valid project is. A normalised layout has every port and host
port filled in and no collisions; it is what gets written back to dockergen.yml.

`port` is what a service listens on inside its container (it goes into Dockerfiles and proxy
configs); `publish` is the host port on 127.0.0.1, or false. An absent `publish` means the
kind's default (`published_by_default`): "on the same number as `port`", except for a kind whose
category is published `unless-proxied` (set.yml: a backend) when a service of the layout proxies
to it (a frontend): then it is reached through that service only, and publishing it is a
`publish:` away.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scaffold.errors import LayoutError
from scaffold.state import SCHEMA_FILE, STATE_DIR, schema_path
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import NAME_PATTERN

# libyaml's parser when PyYAML has it (the same safe constructor, several times faster than the
# pure-Python one: YAML parsing was about 6% of a 5-service `dockergen new`).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LAYOUT_FILE = "dockergen.yml"
RESERVED_NAMES = frozenset({"secrets"})
_NAME_RE = re.compile(NAME_PATTERN)
_NAME_RULE = "use lowercase letters, digits and '-', start with a letter, at most 63 characters"
NAME_RULE_SHORT = "is lowercase letters, digits and '-', starting with a letter (at most 63)"
PORT_RULE = "a port is a whole number from 1 to 65535"
PUBLISH_RULE = "a port is 1 to 65535, or false"
# Where a project is deployed: compose always (it also builds and pushes the images), plus an
# orchestrator's files rendered by the set (deploy/swarm/, deploy/kubernetes/).
TARGETS = ("compose", "swarm", "kubernetes")
Target = Literal["compose", "swarm", "kubernetes"]
_REGISTRY_RE = re.compile(r"^([a-z0-9]([a-z0-9._:-]*[a-z0-9])?/)([a-z0-9]+([._-][a-z0-9]+)*/)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def check_name(value: str, what: str) -> str:
    """A name becomes a compose service, a DNS label and a directory: keep it to that grammar."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise ValueError(f"invalid {what} name {value!r}: {_NAME_RULE}")
    return value


def suggest_name(text: str) -> str:
    """A valid name close to `text`: accents stripped, lowercase, runs of anything else one '-'
    (`Shop_3` -> `shop-3`, `Café Été` -> `cafe-ete`)."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^a-z0-9]+", "-", plain.lower()).lstrip("-0123456789")[:63].rstrip("-")
    return name or "project"


def unique_name(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`... : the first one not in `taken` (how services are named
    when a kind's default name repeats)."""
    taken = set(taken)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def check_digests(digests: Mapping[str, str]) -> dict[str, str]:
    """A project's digest pins: each key image:tag without a digest, each value sha256:<64 hex>,
    and one digest per image however it is spelled; ValueError names the entry at fault."""
    from scaffold.images import canonical_digests

    seen: dict[str, str] = {}
    for ref, digest in digests.items():
        key = next(iter(canonical_digests({ref: digest})))  # the image's full name
        if key in seen and digests[seen[key]] != digest:
            raise ValueError(f"{seen[key]} and {ref} are the same image with different digests")
        seen.setdefault(key, ref)
    return dict(digests)


def merge_digests(current: Mapping[str, str], pins: Mapping[str, str]) -> dict[str, str]:
    """`current` with `pins` over it. A pin for an image already there, however spelled
    (python:3.13 is docker.io/library/python:3.13), takes that entry's place and spelling."""
    from scaffold.images import canonical

    incoming = {canonical(ref): (ref, digest) for ref, digest in pins.items()}
    merged: dict[str, str] = {}
    for ref, digest in current.items():
        key = canonical(ref)
        merged[ref] = incoming[key][1] if key in incoming else digest
    known = {canonical(ref) for ref in current}
    merged.update(pair for key, pair in incoming.items() if key not in known)
    return merged


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


class Service(_Model):
    name: str = Field(description="compose service name and directory name", pattern=NAME_PATTERN)
    kind: str = Field(description="a stack of the template set, see `dockergen kinds`")
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="port the service listens on inside its container (goes into its Dockerfile "
        "and proxy configs; rarely changed); default from the kind",
    )
    publish: int | Literal[False] | None = Field(
        default=None,
        description="host port on 127.0.0.1 the service is published on, or false for not "
        "published; default: the same number as `port`, except a backend a frontend proxies "
        "to (reached through it) and a database (never published)",
        json_schema_extra={  # for editors; _publish says the same in words
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"const": False},
                {"type": "null"},
            ]
        },
    )

    uses: list[str] | None = Field(
        default=None,
        description="the services this one connects to (its databases, for a backend); "
        "default: every service of the categories its category connects to",
    )
    # The user's own code (`dockergen init`): where it is and the facts it states. Each is None
    # for a service dockergen started, whose starter app the kind's defaults describe.
    path: str | None = Field(
        default=None,
        description="the service's folder (its build context), relative to the project root, "
        "'.' for the root; default: the service's name",
    )
    workspace: str | None = Field(
        default=None,
        description="the workspace root the service's folder is a member of (where its "
        "lockfile is; pnpm): the build context, from which it installs itself alone; default: "
        "none, the folder is the context",
    )
    version: str | None = Field(
        default=None,
        description="runtime version (node 20, python 3.12, go 1.22); one the kind has an "
        "image for; default: the kind's",
    )
    package_manager: str | None = Field(
        default=None,
        description="how dependencies install, from their lockfile (npm, pnpm, yarn; pip, uv, "
        "poetry; go); one the kind knows; default: the kind's",
    )
    entry: str | None = Field(
        default=None,
        description="what starts the app: a package.json script or main file, a module:app "
        "(pkg.main:app), a Go package (./cmd/api); default: the kind's starter app",
    )
    health: str | None = Field(
        default=None,
        description="what the healthcheck probes: an HTTP path ('/status') or 'tcp' (the port "
        "accepts connections); default: the kind's own probe",
    )
    starter: bool | None = Field(
        default=None,
        description="write this service's starter app (a service `dockergen add` put into a "
        "repository `dockergen init` brought in, whose folder had no code); default: the "
        "layout's `starter`",
    )

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return check_name(value, "service")

    @field_validator("uses", mode="before")
    @classmethod
    def _uses(cls, value: Any) -> Any:
        if isinstance(value, str):  # `uses: db` or `--set services.api.uses=db,cache`
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for item in value:
                check_name(item, "service")
        return value

    @field_validator("path", "workspace", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = value.replace("\\", "/").split("/")
            if value.startswith("/") or ".." in parts or not value.strip():
                raise ValueError(
                    f"a folder inside the project ('.', backend, apps/api), not {value!r}"
                )
            value = posixpath.normpath(value)
        return value

    @field_validator("health", mode="before")
    @classmethod
    def _health(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "tcp" and not value.startswith("/"):
            raise ValueError(f"an HTTP path starting with '/', or 'tcp', not {value!r}")
        return value

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> Any:
        if value is not None and not _is_port(value):
            raise ValueError(f"{PORT_RULE}, not {value!r}")
        return value

    @field_validator("publish", mode="before")
    @classmethod
    def _publish(cls, value: Any) -> Any:
        if value is not None and value is not False and not _is_port(value):
            raise ValueError(f"{PUBLISH_RULE}, not {value!r}")
        return value


class Options(_Model):
    syntax_line: bool = Field(
        default=True,
        description="start Dockerfiles with '# syntax=docker/dockerfile:1' "
        "(off for air-gapped builds)",
    )


def check_targets(value: Any) -> Any:
    """`targets: [swarm]`, `--set targets=swarm,kubernetes`: compose always included, each target
    once, in the order of TARGETS (so the file and the output never depend on how it was typed)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        return value  # pydantic says what is wrong
    for item in value:
        if item not in TARGETS:
            raise ValueError(f"unknown target {item!r}; targets: {', '.join(TARGETS)}")
    return [t for t in TARGETS if t == "compose" or t in value]


class Images(_Model):
    """The name every target gives a built service's image: REGISTRY + PROJECT-SERVICE:TAG."""

    registry: str = Field(
        default="",
        description="prefix of every built image, a registry and path ending in '/' "
        "(registry.example.com/team/); empty: local images, as `docker compose build` names them",
    )
    tag: str = Field(default="latest", description="tag of every built image")

    @field_validator("registry", mode="before")
    @classmethod
    def _registry(cls, value: Any) -> Any:
        if isinstance(value, str) and value and not _REGISTRY_RE.fullmatch(value):
            raise ValueError(
                f"invalid registry {value!r}: lowercase HOST[:PORT]/[PATH/], ending in '/'"
            )
        return value

    @field_validator("tag", mode="before")
    @classmethod
    def _tag(cls, value: Any) -> Any:
        if isinstance(value, str) and not _TAG_RE.fullmatch(value):
            raise ValueError(f"invalid tag {value!r}: letters, digits, '_', '.', '-', at most 128")
        return value

    def ref(self, project: str, service: str) -> str:
        return f"{self.registry}{project}-{service}:{self.tag}"


RULE_ID_PATTERN = r"^DG[0-9]{3}$"


class CheckIgnore(_Model):
    """One `check.ignore` entry: findings of these rules in files matching `path` are listed as
    suppressed, with the reason, instead of failing `dockergen check`."""

    path: str = Field(
        min_length=1,
        description="files it covers, relative to the project root: a glob ('*' within a "
        "folder, '**' across folders, 'legacy/' for everything under a folder)",
    )
    rules: list[str] = Field(
        min_length=1,
        description="rule IDs of docs/rules.md (DG101); unknown ones are reported",
        json_schema_extra={"items": {"type": "string", "pattern": RULE_ID_PATTERN}},
    )
    reason: str = Field(
        min_length=1, description="why it is accepted here: shown beside every suppressed finding"
    )

    @field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        if isinstance(value, str):  # `rules: DG101` or `rules: DG101, DG102`
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for item in value:
                if not isinstance(item, str) or not re.fullmatch(RULE_ID_PATTERN, item):
                    raise ValueError(f"a rule ID is DG and three digits (DG101), not {item!r}")
        return value

    @field_validator("reason", "path")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class Check(_Model):
    """`dockergen check`'s settings for this project."""

    ignore: list[CheckIgnore] = Field(
        default_factory=list,
        description="findings accepted by path, each with its reason (listed, never hidden)",
    )


class Layout(_Model):
    """The whole of dockergen.yml."""

    project: str | None = Field(
        default=None, description="compose project name; default: the directory name"
    )
    template: str = Field(
        default="default", description="template set: a bundled name, a folder or a git URL"
    )
    template_ref: str | None = Field(
        default=None, description="tag, branch or commit of a git template set"
    )
    answers: dict[str, bool | int | str] = Field(
        default_factory=dict, description="answers to the template set's own questions"
    )
    options: Options = Field(default_factory=Options)
    targets: list[Target] = Field(
        default_factory=lambda: list[Target](["compose"]),
        description="where the project is deployed: compose (always), swarm "
        "(deploy/swarm/stack.yml), kubernetes (deploy/kubernetes/)",
    )
    images: Images = Field(
        default_factory=Images,
        description="the name of every built image, the same in compose, the stack file and "
        "the manifests: REGISTRY + PROJECT-SERVICE:TAG",
    )
    digests: dict[str, str] = Field(
        default_factory=dict,
        description="image:tag -> sha256:... pins over the template set's own (`new --digests "
        "FILE`, `update --digests FILE`); a known image is rendered as image:tag@sha256:...",
        json_schema_extra={  # for editors; check_digests says the same in words
            "additionalProperties": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}
        },
    )
    starter: bool = Field(
        default=True,
        description="write each kind's starter app; false for a repository `dockergen init` "
        "brought in, whose code is the user's and is never written over",
    )
    beside: list[str] = Field(
        default_factory=list,
        description="files of the repository's own (a Dockerfile, .dockerignore, "
        "docker-compose.yml, README.md; project-relative) that dockergen's versions stand "
        "beside instead of replacing: Dockerfile.dockergen, Dockerfile.dockergen.dockerignore, "
        "docker-compose.dockergen.yml, README.dockergen.md (`dockergen init`)",
    )
    check: Check = Field(
        default_factory=Check,
        description="`dockergen check`: findings accepted in this project, by path and rule",
    )
    services: list[Service] = Field(min_length=1, description="the services, in start order")

    @field_validator("project", mode="before")
    @classmethod
    def _project(cls, value: Any) -> Any:
        return value if value is None else check_name(value, "project")

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        return check_targets(value)

    @field_validator("digests")
    @classmethod
    def _digests(cls, value: dict[str, str]) -> dict[str, str]:
        return check_digests(value)

    def to_yaml(self) -> str:
        """dockergen.yml as `new` writes it. A normalised service has no `publish` when it says
        nothing `port` doesn't (the same number, or a kind that is never published), so projects
        from before `publish` existed keep a byte-identical dockergen.yml."""
        data = self.model_dump(exclude_defaults=False)
        for entry in data["services"]:
            if entry["publish"] is None:
                entry.pop("publish")
            if entry["uses"] is None:  # recorded only when given: older files stay byte-stable
                entry.pop("uses")
            for key in (
                "path",
                "workspace",
                "version",
                "package_manager",
                "entry",
                "health",
                "starter",
            ):
                if entry[key] is None:
                    entry.pop(key)
        if self.options == Options():
            data.pop("options")
        if self.targets == ["compose"]:  # the default: older files stay byte-stable
            data.pop("targets")
        if self.images == Images():
            data.pop("images")
        if self.starter:
            data.pop("starter")
        if not self.beside:
            data.pop("beside")
        if self.template_ref is None:
            data.pop("template_ref")
        if not self.answers:
            data.pop("answers")
        if not self.digests:
            data.pop("digests")
        if self.check == Check():  # absent unless used: older files stay byte-stable
            data.pop("check")
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
        return f"# yaml-language-server: $schema={STATE_DIR}/{SCHEMA_FILE}\n{text}"


def json_schema() -> dict[str, Any]:
    """The JSON Schema shipped for editors (scaffold/schema/dockergen.schema.json)."""
    schema = Layout.model_json_schema()
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "dockergen.yml"
    return schema


def schema_text() -> str:
    """The shipped schema file's text: the model's schema, as `write_schema` writes it."""
    import json

    return json.dumps(json_schema(), indent=2) + "\n"


def write_schema() -> Path:
    """Regenerate scaffold/schema/dockergen.schema.json (tests fail while it is stale)."""
    path = schema_path()
    path.write_text(schema_text(), encoding="utf-8")
    return path


def with_digests(layout: Layout, pins: Mapping[str, str]) -> Layout:
    """The layout with `pins` recorded over its own `digests` (`new --digests FILE`)."""
    try:
        digests = check_digests(merge_digests(layout.digests, pins))
    except ValueError as exc:
        raise LayoutError(f"digests: {exc}") from None
    return layout.model_copy(update={"digests": digests})


def _where(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """A field's place as `--set` spells it: services.api.port, not services.0.port (the index
    stays when the entry has no valid name to show)."""
    parts = [str(p) for p in loc]
    if len(loc) > 2 and loc[0] == "services" and isinstance(loc[1], int):
        entry = data["services"][loc[1]]
        name = entry.get("name")
        if isinstance(name, str) and _NAME_RE.fullmatch(name):
            parts[1] = name
    return ".".join(parts)


def _message(exc: ValidationError, data: dict[str, Any]) -> tuple[str, str]:
    """(where, what): the field as `--set` spells it, and what is wrong with it."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        msg = "this field is required"
    elif err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "too_short" and loc == "services":
        msg = "add at least one service"
    elif err["type"] == "list_type" and loc == "services":
        msg = "must be a list of entries with 'name' and 'kind'"
    elif err["type"] in ("model_type", "dict_type"):
        msg = "must be a mapping"
    elif err["type"] in ("bool_parsing", "bool_type"):
        msg = f"must be true or false, not {err.get('input')!r}"
    elif err["type"] in ("int_parsing", "int_type", "int_from_float"):
        msg = f"must be a whole number, not {err.get('input')!r}"
    elif err["type"] in ("string_type", "list_type"):
        msg = "must be text" if err["type"] == "string_type" else "must be a list"
    return (_where(err["loc"], data) if loc else ""), msg


def parse(data: object, *, source: str = LAYOUT_FILE) -> Layout:
    """Structural validation of raw data; the message names the field at fault."""
    if not isinstance(data, dict):
        raise LayoutError(f"{source}: expected a mapping with a 'services' list")
    if "services" in data and isinstance(data["services"], list):
        for i, entry in enumerate(data["services"]):
            if not isinstance(entry, dict):
                raise LayoutError(
                    f"{source}: services.{i}: must be a mapping with 'name' and 'kind'"
                )
    try:
        return Layout.model_validate(data)
    except ValidationError as exc:
        where, what = _message(exc, data)
        raise LayoutError(
            f"{source}: {where}: {what}" if where else f"{source}: {what}",
            loc=tuple(exc.errors()[0]["loc"]),
            detail=what,
        ) from None


def load(path: Path) -> Layout:
    """Read and structurally validate a dockergen.yml-shaped file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LayoutError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"{path}: can't read it ({exc})") from None
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LayoutError(f"{path}:{where}: malformed YAML: {problem}") from None
    return parse(data, source=str(path))


def host_port(svc: Service, by_default: bool) -> int | None:
    """A service's host port on 127.0.0.1: its `publish`, else its `port` when it is published
    by default (see `published_by_default`); None when it isn't published. Before normalising,
    None also means the layout leaves the host port to dockergen.
    """
    if svc.publish is False:
        return None
    if svc.publish is None:
        return svc.port if by_default else None
    return svc.publish


def proxied_categories(layout: Layout, tset: TemplateSet) -> frozenset[str]:
    """The categories some service of the layout proxies to (a frontend's backends)."""
    return frozenset(
        target
        for svc in layout.services
        if svc.kind in tset.kinds
        for target in tset.category(tset.kinds[svc.kind].category).proxies
    )


def published_by_default(svc: Service, layout: Layout, tset: TemplateSet) -> bool:
    """Whether a service without `publish` is published: its kind's default, which for an
    `unless-proxied` kind (set.yml: a backend) depends on whether anything proxies to it."""
    kind = tset.kinds[svc.kind]
    if not kind.published:
        return False
    return not (kind.unless_proxied and kind.category in proxied_categories(layout, tset))


def normalise(layout: Layout, tset: TemplateSet, *, project: str | None = None) -> Layout:
    """Check the layout against the set's catalog; fill defaults and resolve port collisions.

    The result has every `port` filled in; its `publish` is None where it says what the default
    says (`published_by_default`: the host port is `port`, or the service isn't published),
    else the host port or False (see `host_port`).

    Only host ports can collide (every container has its own network). Host ports given in so
    many words (`publish`, or `port` without `publish`) that collide are an error; a defaulted
    port that is also the host port moves up to the next free one, as it always has. A service
    with its own `publish` (or `publish: false`) keeps its kind's port inside.
    """
    names: set[str] = set()
    for svc in layout.services:
        if svc.name in names:
            raise LayoutError(f"duplicate service name {svc.name!r}: every name must be unique")
        if svc.name in RESERVED_NAMES:
            raise LayoutError(f"service name {svc.name!r} is reserved for the project's own files")
        names.add(svc.name)
        if svc.kind not in tset.kinds:
            raise LayoutError(
                f"service {svc.name!r}: unknown kind {svc.kind!r}; "
                f"valid kinds: {', '.join(sorted(tset.kinds))}"
            )
        kind = tset.kinds[svc.kind]
        if svc.port is not None and not kind.published and svc.port != kind.port:
            raise LayoutError(
                f"service {svc.name!r}: a {kind.category} keeps its engine's port {kind.port} "
                "and is never published; remove 'port'"
            )
        if svc.publish not in (None, False) and not kind.published:
            category_published = tset.category(kind.category).publishes is not False
            what = f"kind {svc.kind!r}" if category_published else f"a {kind.category}"
            raise LayoutError(f"service {svc.name!r}: {what} is never published; remove 'publish'")
    _check_uses(layout, tset)
    _check_user_code(layout, tset)

    by_default = {s.name: published_by_default(s, layout, tset) for s in layout.services}
    taken: dict[int, str] = {}
    for svc in layout.services:
        host = host_port(svc, by_default[svc.name])
        if host is not None:
            if host in taken:
                raise LayoutError(
                    f"port {host} is used by both {taken[host]!r} and {svc.name!r}: "
                    "give one of them another port"
                )
            taken[host] = svc.name

    services: list[Service] = []
    for svc in layout.services:
        kind = tset.kinds[svc.kind]
        port, publish = svc.port, svc.publish
        if port is None:
            port = kind.port
            # the port is the host port, or would be without the proxy in front (and is where
            # its dev server listens on the host): keep it free
            if kind.published and publish is None:
                while port in taken:
                    port += 1
                taken[port] = svc.name
        if by_default[svc.name] and publish == port:
            publish = None  # the normal form leaves out what `port` and the kind already say
        elif not by_default[svc.name] and publish is False:
            publish = None  # not published is already the default
        if not kind.published:
            publish = None
        services.append(svc.model_copy(update={"port": port, "publish": publish}))
    final_project = layout.project or project
    if final_project is None:
        raise LayoutError("the layout has no project name and none could be derived")
    check = _project_or_error(final_project)
    return layout.model_copy(update={"services": services, "project": check})


def _check_user_code(layout: Layout, tset: TemplateSet) -> None:
    """The user's-code fields name what the set has: a version with an image, a package
    manager it knows. (Services may share a folder: Go's cmd/ layout builds two binaries from
    one module; each gets a Dockerfile of its own, `<name>.Dockerfile`.)"""
    from scaffold.usercode import package_manager, resolve_version

    for svc in layout.services:
        kind = tset.kinds[svc.kind]
        if svc.version is not None:
            resolve_version(svc.name, kind, svc.version)
        if svc.package_manager is not None or (
            not (layout.starter if svc.starter is None else svc.starter)
            and kind.user_code.package_managers
        ):
            name, spec = package_manager(svc.name, kind, svc.package_manager)
            if svc.workspace is not None and spec.workspace is None:
                raise LayoutError(f"service {svc.name!r}: {name} has no workspaces in this set")
        if svc.workspace is not None:
            where = svc.path or svc.name
            inside = svc.workspace == "." or (where + "/").startswith(svc.workspace + "/")
            if not inside:
                raise LayoutError(
                    f"service {svc.name!r}: its folder {where!r} is not inside its workspace "
                    f"{svc.workspace!r}"
                )


def _check_uses(layout: Layout, tset: TemplateSet) -> None:
    """Each `uses` names other services of the categories its service's category connects to."""
    category = {s.name: tset.kinds[s.kind].category for s in layout.services}
    for svc in layout.services:
        if svc.uses is None:
            continue
        connects = tset.category(category[svc.name]).connects
        where = f"services.{svc.name}.uses"
        if not connects:
            raise LayoutError(
                f"{where}: a {category[svc.name]} connects to no other service; remove 'uses'"
            )
        seen: set[str] = set()
        for name in svc.uses:
            if name == svc.name:
                raise LayoutError(f"{where}: a service can't use itself")
            if name not in category:
                raise LayoutError(
                    f"{where}: no service named {name!r}; the services are: " + ", ".join(category)
                )
            if category[name] not in connects:
                raise LayoutError(
                    f"{where}: {name!r} is a {category[name]}; a {category[svc.name]} uses "
                    f"only services of: {', '.join(connects)}"
                )
            if name in seen:
                raise LayoutError(f"{where}: {name!r} is named twice")
            seen.add(name)


def _project_or_error(name: str) -> str:
    try:
        return check_name(name, "project")
    except ValueError as exc:
        raise LayoutError(str(exc)) from None


def from_choices(specs: Iterable[tuple[str | None, str]], tset: TemplateSet) -> dict[str, Any]:
    """Build raw layout data from (flag, KIND[:NAME]) choices such as ("backend", "fastapi:api").

    A flag names a category of the set (its `flag`, else its name); None takes a kind of any
    category (`--service`). Services are listed in the set's category order, each category's in
    the order given. Unnamed services take their kind's default name, numbered when it repeats.
    """
    by_flag = {(spec.flag or name): name for name, spec in tset.categories.items()}
    chosen: dict[str, list[tuple[str, str]]] = {name: [] for name in tset.categories}
    for flag, spec in specs:
        kind_name, _, name = spec.partition(":")
        kind_name = kind_name.strip()
        if flag is None:
            if kind_name not in tset.kinds:
                raise LayoutError(
                    f"unknown kind {kind_name!r}; valid kinds: {', '.join(sorted(tset.kinds))}"
                )
            category = tset.kinds[kind_name].category
        else:
            if flag not in by_flag:
                raise LayoutError(
                    f"--{flag}: template set {tset.name!r} has no {flag} category "
                    f"(its categories: {', '.join(tset.categories)}); use --service KIND"
                )
            category = by_flag[flag]
            valid = sorted(k.name for k in tset.kinds_in(category))
            if kind_name not in valid:
                raise LayoutError(
                    f"unknown {category} kind {kind_name!r}; "
                    f"valid {category} kinds: {', '.join(valid)}"
                )
        if name:
            try:
                check_name(name, "service")
            except ValueError as exc:
                option = f"--{flag}" if flag else "--service"
                raise LayoutError(f"{option} {spec}: {exc}") from None
        chosen[category].append((kind_name, name))
    entries: list[dict[str, Any]] = []
    used: set[str] = set()
    for picks in chosen.values():
        for kind_name, name in picks:
            if not name:
                name = unique_name(tset.kinds[kind_name].default_name, used)
            used.add(name)
            entries.append({"name": name, "kind": kind_name})
    return {"services": entries}


def defaults_layout(tset: TemplateSet) -> dict[str, Any]:
    """The layout of `new --defaults`: the set's `defaults`, in its category order."""
    if not tset.manifest.defaults:
        raise LayoutError(f"template set {tset.name!r} declares no defaults (set.yml `defaults:`)")
    try:
        return from_choices([(None, spec) for spec in tset.manifest.defaults], tset)
    except LayoutError as exc:
        raise LayoutError(f"template set {tset.name!r}: set.yml defaults: {exc.message}") from None


if __name__ == "__main__":  # python -m scaffold.layout: regenerate the dockergen.yml schema
    print(write_schema())
