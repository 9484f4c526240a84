"""What a template set says: the pydantic models of set.yml and kinds/*/kind.yml.

A set is a folder with `set.yml` (name, version, description, questions, policy, and optionally
the set it `extends`), `copier.yml` (the copier settings shared by every render), `project/`
(files rendered once per project), `partials/` and `kinds/<kind>/` (one folder per stack:
`kind.yml` data plus a `files/` tree rendered once per service of that kind). Everything a stack
needs is data or a template in its folder, so adding a stack never touches Python.

This module only validates: where a set comes from is scaffold.templatesets.sources, how an
`extends` chain becomes one folder is .overlay, and loading it all into a TemplateSet is .loader.
"""

from __future__ import annotations

import posixpath
import re
import string
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scaffold.errors import TemplateSetError
from scaffold.images import canonical

# libyaml's parser when PyYAML has it (the same safe constructor, several times faster than the
# pure-Python one: YAML parsing was about 6% of a 5-service `dockergen new`).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
_LABEL_KEY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"


class HealthCheck(_Strict):
    """A kind's healthcheck: compose `healthcheck:` when it has a `test`; a built kind without
    one probes with its Dockerfile's HEALTHCHECK command, whose flags the timings here fill in.

    Engine 20.10 (API 1.41) runs the first probe one full `interval` after the start and has no
    `start_interval` (Compose refuses that key below engine 25, and 20.10's builder the
    Dockerfile's --start-interval), so `interval` alone sets how soon a service is seen healthy
    and what its probes cost at rest: each one is an exec in the container (about 15 ms of CPU
    for the exec alone on the lab) plus the probe's own work. 3 s keeps a 20 ms probe under 1%
    of a core; a kind whose probe costs more sets a longer one (benchmarks/bench_stack.py
    --probe-cost measures them). Engines 25+ probe every `start_interval` while a container
    is starting; without one, 28.5.2 probes first at 5 s (its default) and 26.1.5 at `interval`
    (measured, README "Time to healthy")."""

    test: list[str] | None = Field(
        default=None,
        description="compose healthcheck test; none: the image's HEALTHCHECK command (built kinds)",
    )
    interval: str = Field(default="3s", pattern=_DURATION)
    timeout: str = Field(default="3s", pattern=_DURATION)
    retries: int = Field(default=5, ge=1)
    start_period: str = Field(
        default="20s",
        pattern=_DURATION,
        description="the kind's start budget: failed probes don't count until it has passed; "
        "e2e checks every service is healthy within it",
    )
    start_interval: str | None = Field(
        default="1s",
        pattern=_DURATION,
        description="engines 25+: the probe pace while the service starts (within start_period; "
        "`interval` after). Written only into a Dockerfile HEALTHCHECK under the `# syntax=` "
        "line: 20.10's builtin frontend rejects the flag, and Compose refuses the key below "
        "engine 25, so a compose healthcheck never carries it. null: none",
    )


class SecretSpec(_Strict):
    """A random secret generated once into `secrets/<service>_<name>` and mounted as a file."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    env: str | None = Field(default=None, description="variable that receives the file path")
    client: bool = Field(default=False, description="backends get this secret to connect")
    per_client: bool = Field(
        default=False,
        description="one per service that connects (secrets/<service>_<client>_<name>): that "
        "client mounts its own only, as it would a `client` secret; the service itself mounts "
        "them all, to create each client's login (see `clients` in command)",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> SecretSpec:
        if self.client and self.per_client:
            raise ValueError("a secret is shared by every client (client) or one per client")
        return self


# A kind.yml `scratch:` entry written as a plain path gets these: a bounded tmpfs, world-writable
# with the sticky bit (as /tmp is), so any runtime user can write its own files.
SCRATCH_DEFAULT_SIZE = "64m"
SCRATCH_DEFAULT_MODE = "1777"
_SIZE = r"^[0-9]+[kmg]?$"


class Scratch(_Strict):
    """One tmpfs path. Bounded, because tmpfs pages count against the container's memory limit:
    without `size` filling it gets the container OOM-killed instead of failing with ENOSPC."""

    path: str = Field(pattern=r"^/[^\s:,]*$")
    size: str = Field(
        default=SCRATCH_DEFAULT_SIZE,
        pattern=_SIZE,
        description="tmpfs size (bytes, or with k/m/g); keep it well below limits.memory",
    )
    mode: str = Field(
        default=SCRATCH_DEFAULT_MODE, pattern=r"^[0-7]{3,4}$", description="octal permissions"
    )
    uid: int | None = Field(default=None, ge=0, description="owner, when mode keeps others out")
    gid: int | None = Field(default=None, ge=0)

    @property
    def options(self) -> str:
        """The compose short-syntax options: `size=16m,mode=1777[,uid=N][,gid=N]`."""
        parts = [f"size={self.size}", f"mode={self.mode}"]
        parts += [
            f"{key}={value}" for key in ("uid", "gid") if (value := getattr(self, key)) is not None
        ]
        return ",".join(parts)


def _default_scratch() -> list[Scratch | str]:
    return [Scratch(path="/tmp")]


class ConfigFile(_Strict):
    """A configuration file the kind's image has, which an orchestrator mounts from its own
    object (a Kubernetes ConfigMap) rendered for that orchestrator: the same template with
    `cluster` true. The compose and Swarm files keep the image's copy."""

    template: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*\.jinja$",
        description="the template under the kind's files/, e.g. nginx.conf.jinja",
    )
    path: str = Field(
        pattern=r"^/[^\s:,]*[^/\s:,]$",
        description="where the image has the file, e.g. /etc/nginx/nginx.conf",
    )

    @field_validator("template")
    @classmethod
    def _inside(cls, value: str) -> str:
        if ".." in value.split("/"):
            raise ValueError("the template is a path under the kind's files/, without '..'")
        return value


class Logging(_Strict):
    """A compose `logging:` block: the driver and its options (rotation bounds)."""

    driver: str = Field(default="local", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    options: dict[str, str] = Field(
        default_factory=dict, description="driver options, e.g. max-size: 10m, max-file: '3'"
    )


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


# The relations a category has to others (CategorySpec.connects, .proxies), and the depends_on
# conditions an edge of either may wait for.
Relation = Literal["connects", "proxies"]
Condition = Literal["service_started", "service_healthy"]


class CategorySpec(_Strict):
    """A role a kind plays (frontend, backend, database, a broker, a worker...) and how its
    services relate to the others: set.yml `categories`, so a new role is data, not Python."""

    connects: list[str] = Field(
        default_factory=list,
        description="categories whose services this one connects to: it gets their connection "
        "environment, client secrets, client parts, depends_on, and the internal network of "
        "internal ones; a service's `uses` narrows this to the services it names",
    )
    proxies: list[str] = Field(
        default_factory=list,
        description="categories whose services this one proxies to (svc.upstreams, depends_on)",
    )
    depends_on: dict[Relation, Condition] = Field(
        default_factory=dict,
        description="the compose depends_on condition of each relation's edges (connects, "
        "proxies); default service_healthy. service_started: the dependant copes with the other "
        "not being ready yet (nginx resolving its upstreams per request), so it starts beside it",
    )
    internal: bool = Field(
        default=False,
        description="lives on an internal network only, never on the edge network: no route to "
        "outside networks (the host's own listeners stay reachable through the bridge gateway)",
    )
    published: bool | Literal["unless-proxied"] | None = Field(
        default=None,
        description="whether its kinds are published on 127.0.0.1 by default; unless-proxied: "
        "only when no service of the layout proxies to its category (a frontend in front of a "
        "backend is then the one way in); a service's `publish` always wins; default: not "
        "internal",
    )
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="variables every service of the category gets, before its connections' and "
        "its kind's; may use {{ service }}, {{ port }} and {{ uses }} (the names it connects to)",
    )
    group: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="the template variable listing the category's services; default: name + s",
    )
    ask: Literal["one", "repeat", "pick"] = Field(
        default="pick",
        description="the interview: one (a single kind or none), repeat (add services one by "
        "one, each named), pick (tick kinds, named by default)",
    )
    flag: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="`dockergen new --FLAG KIND[:NAME]` picks a kind of this category, when the "
        "command line has that option; default: the category's name",
    )

    def condition(self, relation: Relation) -> Condition:
        """The depends_on condition of this category's `relation` edges."""
        return self.depends_on.get(relation, "service_healthy")

    @property
    def publishes(self) -> bool | Literal["unless-proxied"]:
        """The kinds' default: published, not, or only while nothing proxies to them."""
        return self.published if self.published is not None else not self.internal


class Workspace(_Strict):
    """A package manager's workspace (pnpm's): one lockfile at the workspace root for the
    packages below it. A member is built from the root (its build context), installing only
    itself and what it depends on. May use {{ member }}: the member's folder, from the root."""

    lockfiles: list[str] = Field(min_length=1, description="at the workspace root")
    install: str = Field(
        description="before the source: what the lockfile alone allows (pnpm fetch)"
    )
    project: str = Field(description="after the source: installs the member's dependencies")
    build: str | None = Field(default=None, description="builds the member (a frontend)")


class PackageManager(_Strict):
    """How one package manager installs a built kind's dependencies from its lockfile, in the
    Dockerfile's dependency stage (before the source is copied, so a source change reuses it)."""

    lockfiles: list[str] = Field(
        min_length=1,
        description="the manifest and lockfile(s) copied before the install (a trailing `*` "
        "makes one optional, as in `go.sum*`)",
    )
    setup: str | None = Field(
        default=None,
        description="a RUN that installs the manager itself in the build stage (pinned), when "
        "the build image lacks it",
    )
    install: str = Field(description="the RUN that installs the dependencies, without dev ones")
    project: str | None = Field(
        default=None,
        description="after the whole source is copied: installs the project itself (a src/ "
        "package) into the environment the runtime takes",
    )
    build: str | None = Field(
        default=None, description="after the whole source is copied: builds it (a frontend)"
    )
    workspace: Workspace | None = Field(
        default=None,
        description="how a member of a workspace installs (dockergen.yml `workspace`)",
    )


class Versions(_Strict):
    """The runtime versions a kind has images for (dockergen.yml `version`)."""

    match: Literal["exact", "minimum"] = Field(
        default="exact",
        description="exact: the version's leading parts name a known one (3.12.4 -> 3.12); "
        "minimum: the oldest known one at or above it (a go.mod `go` line is a minimum)",
    )
    images: dict[str, dict[str, str]] = Field(
        description="version -> role -> image, over the kind's `images`"
    )

    @field_validator("images")
    @classmethod
    def _numeric(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for key in value:
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", key):
                raise ValueError(f"version {key!r}: use numbers separated by dots (3.12, 20)")
        return value


class Probes(_Strict):
    """A healthcheck that needs nothing from the app (dockergen.yml `health`), run with what the
    runtime image already has. May use {{ port }} and {{ path }}."""

    http: list[str] = Field(min_length=1, description="exit 0 when GET {{ path }} answers < 400")
    tcp: list[str] = Field(min_length=1, description="exit 0 when the port accepts a connection")


class UserCode(_Strict):
    """How a kind builds around the user's own code (`dockergen init`, `starter: false`)."""

    starter_files: list[str] = Field(
        default_factory=list,
        description="the starter app's paths as rendered (`/requirements.txt`, not "
        "`requirements.txt.jinja`; gitignore-style patterns as copier excludes them, so a "
        "leading / anchors one to the files/ root), not "
        "written when the layout's `starter` is false; the rest are the Docker files",
    )
    package_manager: str | None = Field(
        default=None, description="the manager a service without `package_manager` gets"
    )
    package_managers: dict[str, PackageManager] = Field(default_factory=dict)
    entry: str | None = Field(
        default=None, description="the entry a service without `entry` gets (starter: false)"
    )
    command: list[str] | None = Field(
        default=None,
        description="what starts the user's app; may use {{ entry }} and {{ port }}",
    )
    health: str | None = Field(
        default=None,
        description="the probe a service without `health` gets when the starter app (and its "
        "/healthz) isn't there: an HTTP path or 'tcp'; none: the kind's own probe still works",
    )
    probes: Probes | None = None


_GLOB = r"^[^/\s][^\s]*$"  # relative; `_inside` also refuses `..`: it stays inside the folder


def _inside(value: str) -> str:
    if ".." in value.split("/"):
        raise ValueError(f"{value!r} must stay inside the folder (no '..')")
    return value


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


class Contains(_Strict):
    """Some file under the folder whose text matches a regular expression."""

    files: str = Field(pattern=_GLOB, description="glob under the folder, e.g. **/*.go")
    pattern: str = Field(description="regular expression (Python re, MULTILINE)")

    _pattern = field_validator("pattern")(_check_regex)
    _files = field_validator("files")(_inside)


_FACT_FIELDS = frozenset({"0", "path", "dir", "name", "module"})


class Fact(_Strict):
    """Where a fact about the user's code is read: a file (glob), optionally a key of its
    parsed content (JSON, TOML, go.mod directives) and a regular expression whose first group is
    the value. `value` shapes it; the first fact of a list that gives a value wins."""

    file: str = Field(pattern=_GLOB, description="glob under the service's folder")
    key: str | None = Field(
        default=None, description="dotted key into the parsed file: engines.node, go"
    )
    match: str | None = Field(
        default=None,
        description="regular expression (MULTILINE) on the text or the key's value; its first "
        "group (else the whole match) is {0}",
    )
    value: str | None = Field(
        default=None,
        description="the fact, from {0} (what matched), {path} (the file), {dir}, {name} (the "
        "file's folder and that folder's name), {module} (the file as a dotted module, less "
        "`strip`); default {0}",
    )
    strip: list[str] = Field(
        default_factory=list, description="leading folders {module} leaves out: src/"
    )
    name: str | None = Field(
        default=None,
        description="entry facts only: when several files give one, each is a service of its "
        "own named by this ({name}: cmd/<name>)",
    )
    up: bool = Field(
        default=False,
        description="also look in the folders above, up to the repository's root (a workspace's "
        "lockfile)",
    )

    _match = field_validator("match")(_check_regex)
    _file = field_validator("file")(_inside)

    @field_validator("value", "name")
    @classmethod
    def _placeholders(cls, value: str | None) -> str | None:
        """Only the placeholders detection fills: a typo fails when the set loads."""
        for _, name, _, _ in string.Formatter().parse(value or ""):
            if name is not None and name not in _FACT_FIELDS:
                raise ValueError(
                    f"unknown placeholder {{{name}}} in {value!r}; "
                    "use {0}, {path}, {dir}, {name}, {module}"
                )
        return value


class Facts(_Strict):
    """What `init` records of a detected service, each the first fact that gives a value."""

    version: list[Fact] = Field(
        default_factory=list, description="runtime version, normalised to major(.minor)"
    )
    package_manager: list[Fact] = Field(default_factory=list)
    entry: list[Fact] = Field(default_factory=list)
    port: list[Fact] = Field(default_factory=list, description="a whole number 1-65535")
    health: list[Fact] = Field(default_factory=list, description="an HTTP path starting with /")


class Marker(_Strict):
    """One way a folder is recognised as a service of the kind (`dockergen init`)."""

    files: list[str] = Field(
        min_length=1,
        description="file names (globs) in the folder, any one of which must be there: "
        "package.json, requirements*.txt",
    )
    dependencies: list[str] = Field(
        default_factory=list,
        description="dependency names those files must all declare (read by the file's format: "
        "package.json, pyproject.toml, requirements*.txt, uv.lock/poetry.lock, go.mod)",
    )
    contains: Contains | None = Field(
        default=None, description="and a file under the folder must match this"
    )
    missing: str | None = Field(
        default=None,
        description="the files are there but `contains` matches nothing: bad input, and this "
        "says why (`init` exits 2 naming the file); default: the folder is simply not this kind",
    )
    unless: list[Fact] = Field(
        default_factory=list,
        description="facts that, when any gives a value, mean the folder is not this kind after "
        "all: a workspace's root (pnpm-workspace.yaml; package.json `workspaces`)",
    )


class Detect(_Strict):
    """How `dockergen init` finds the kind in an existing repository: a built kind's folder
    by its `markers`, a database by what its users declare (`dependencies`, `env`, `images`)."""

    markers: list[Marker] = Field(
        default_factory=list, description="a folder matching any one is a service of the kind"
    )
    priority: int = Field(
        default=0,
        description="when a folder matches several kinds, the highest wins (a plain index.html "
        "site is less specific than a Vite app, which has one too)",
    )
    facts: Facts = Field(default_factory=Facts)
    health: str | None = Field(
        default=None,
        description="the probe when the code names no health route: tcp (the port accepts "
        "connections); none: the kind's own probe (which dockergen's own files serve)",
        pattern=r"^(tcp|/.*)$",
    )
    dependencies: list[str] = Field(
        default_factory=list,
        description="a service declaring any of these dependencies uses a service of this kind",
    )
    env: list[str] = Field(
        default_factory=list,
        description="regular expressions on the values of .env.example (DATABASE_URL=postgres://)"
        " that mean a service of this kind",
    )
    images: list[str] = Field(
        default_factory=list,
        description="images (without tag) of an existing compose file that are this kind",
    )

    @field_validator("env")
    @classmethod
    def _env(cls, value: list[str]) -> list[str]:
        for item in value:
            _check_regex(item)
        return value


class Kind(_Strict):
    """One stack, as declared by `kinds/<kind>/kind.yml`."""

    name: str
    category: str = Field(description="one of the set's `categories`")
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="the language of a built kind's code: the client part of a database it "
        "connects to is kinds/<database kind>/clients/<language>/, when the set has one",
    )
    description: str
    default_name: str = Field(pattern=NAME_PATTERN)
    port: int = Field(ge=1, le=65535)
    publish: bool | Literal["unless-proxied"] | None = Field(
        default=None, description="default: the category's `published` (not for databases)"
    )
    images: dict[str, str] = Field(description="role -> image reference the set emits")
    image: str | None = Field(default=None, description="compose image for non-built kinds")
    user: str | None = Field(default=None, description="numeric uid:gid for non-built kinds")
    data_dir: str | None = None
    scratch: list[Scratch | Annotated[str, Field(pattern=r"^/[^\s:,]*$")]] = Field(
        default_factory=_default_scratch,
        description="writable tmpfs paths: `{path, size, mode, uid, gid}`, or a plain path "
        f"(size {SCRATCH_DEFAULT_SIZE}, mode {SCRATCH_DEFAULT_MODE})",
    )
    logging: dict[str, Any] | None = Field(
        default=None,
        description="over the set's `logging` (deep-merged): e.g. a larger max-size",
    )
    config_file: ConfigFile | None = Field(
        default=None,
        description="a file of the image an orchestrator mounts rendered for itself: "
        "`{template, path}` (templates see `cluster` true there)",
    )
    cap_add: list[str] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: list[SecretSpec] = Field(default_factory=list)
    command: list[str] | None = Field(
        default=None,
        description="may use {{ service }}, {{ port }}, {{ secrets.<name> }} and {{ clients }}: "
        "per connecting service {name, login, secrets: {<per_client name>: path}}",
    )
    init: bool = Field(
        default=False,
        description="run an init process as PID 1 (compose `init: true`) that reaps children: "
        "for a command that starts a helper in the background (a login setup) beside the server",
    )
    healthcheck: HealthCheck | None = None
    client: dict[str, str] = Field(
        default_factory=dict,
        description="what a connecting service is told (<SERVICE>_<KEY>); may use {{ login }}: "
        "the connecting service's name as an SQL-safe identifier (api-v2 -> api_v2)",
    )
    limits: Limits = Field(default_factory=Limits)
    develop: Develop = Field(
        default_factory=Develop,
        description="`docker compose watch` rules and the dev server (built kinds only)",
    )
    versions: Versions | None = Field(
        default=None, description="runtime versions with their images (dockergen.yml `version`)"
    )
    user_code: UserCode = Field(
        default_factory=UserCode,
        description="building around the user's code (`dockergen init`): package managers, "
        "entry, probes, and which files/ are the starter app",
    )
    detect: Detect = Field(
        default_factory=Detect,
        description="how `dockergen init` recognises the kind in an existing repository",
    )

    @property
    def tmpfs(self) -> list[Scratch]:
        """`scratch` with a plain path (the older form) as a Scratch of the default size and
        mode."""
        return [s if isinstance(s, Scratch) else Scratch(path=s) for s in self.scratch]

    @property
    def published(self) -> bool:
        """Whether the kind can be published at all; the loader fills `publish` from its
        category. See `unless_proxied` for whether it is by default."""
        return self.publish is not False

    @property
    def unless_proxied(self) -> bool:
        """Not published by default when a service of the layout proxies to it."""
        return self.publish == "unless-proxied"


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
        samples: dict[str, bool | int | str] = {
            "bool": False,
            "int": 1,
            "choice": self.choices[0] if self.choices else "",
        }
        return samples.get(self.type, "example")


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
    def _digests(cls, value: dict[str, str]) -> dict[str, str]:
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
    categories: dict[str, CategorySpec] = Field(
        default_factory=dict,
        description="the roles kinds play and how they relate, in the order services are "
        "listed; inherited and merged by name by a set that extends this one",
    )
    defaults: list[str] = Field(
        default_factory=list,
        description="the services of `dockergen new --defaults`: KIND or KIND:NAME each",
    )
    logging: Logging | None = Field(
        default=None,
        description="every service's compose `logging:` (bounded rotation); a kind.yml "
        "`logging` is merged over it",
    )
    syntax: str | None = Field(
        default=None,
        description="the Dockerfile frontend image of the `# syntax=` line, e.g. "
        "docker/dockerfile:1; the policy's mirror and digest pins apply to it",
    )

    @field_validator("syntax")
    @classmethod
    def _syntax(cls, value: str | None) -> str | None:
        if value is not None:
            canonical(value)  # raises ValueError for a malformed reference
        return value

    @field_validator("categories")
    @classmethod
    def _category_names(cls, value: dict[str, CategorySpec]) -> dict[str, CategorySpec]:
        for name in value:
            if not re.fullmatch(r"^[a-z][a-z0-9_-]*$", name):
                raise ValueError(f"category {name!r}: use lowercase letters, digits, '-' and '_'")
        return value

    def relation_error(self) -> str | None:
        """What is wrong with the categories' relations, once merged with a parent set's (a
        child set may name its parent's categories): None when nothing is."""
        value = self.categories
        for name, spec in value.items():
            for relation, verb in (("connects", "connect"), ("proxies", "proxy")):
                for other in getattr(spec, relation):
                    if other not in value:
                        return (
                            f"{name}.{relation}: {other!r} is not a category of the set "
                            f"(its categories: {', '.join(value)})"
                        )
                    if other == name:
                        return f"{name}.{relation}: a category can't {verb} to itself"
        return None

    @field_validator("questions")
    @classmethod
    def _unique(cls, value: list[Question]) -> list[Question]:
        names = [q.name for q in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate question {dupes[0]!r}")
        return value


def read_yaml(path: Path, where: str | None = None) -> object:
    """A set's YAML file; `where` is how messages name it (default: its path)."""
    where = where or str(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
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
