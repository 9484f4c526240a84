"""The plan: one normalised layout joined with its template set, as typed, frozen data.

Built once per command, after normalising. Everything Python needs later (secrets to create,
what `new` reports, what `update` keeps) is read from here; the template context
(scaffold.context) is produced from the plan and never read back, so renaming a key for the
templates can't silently break Python.

How services relate comes from the set's `categories` (set.yml): a service connects to the
services of the categories its category `connects` to (narrowed by its `uses`), proxies to those
of the categories it `proxies` to, and lives on the internal network when its category is
`internal`. Nothing here branches on a particular category or kind.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from scaffold.errors import TemplateSetError
from scaffold.images import ImageResolver
from scaffold.layout import Layout, host_port, published_by_default
from scaffold.layout import Service as LayoutService
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import CategorySpec, Kind, Relation
from scaffold.usercode import Beside, folder, package_manager, resolve_version

NOTHING_BESIDE = Beside(frozenset())
EDGE_NETWORK = "edge"  # services that may reach, and be reached from, outside
DATA_NETWORK_SUFFIX = "-net"  # each service of an `internal` category gets one of its own


def data_network(service: str) -> str:
    """The internal network of one database (`db-net`): it and the services that use it only,
    so a backend can't even reach a database it doesn't use."""
    return f"{service}{DATA_NETWORK_SUFFIX}"


@dataclass(frozen=True)
class Network:
    """A network the compose file declares: `edge`, or one internal network per database."""

    name: str
    internal: bool
    owner: str | None = None  # the internal service it was made for


_strings = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
_labels = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@dataclass(frozen=True)
class Secret:
    """A random value generated once into `file` and mounted at `path` (secretfiles)."""

    service: str
    name: str
    env: str | None
    client: bool  # services connecting to its service get it too
    owner: str | None = None  # a per-client secret: the one connecting service that gets it

    @property
    def id(self) -> str:
        if self.owner:
            return f"{self.service}_{self.owner}_{self.name}"
        return f"{self.service}_{self.name}"

    @property
    def file(self) -> str:
        return f"secrets/{self.id}"

    @property
    def path(self) -> str:
        return f"/run/secrets/{self.id}"


@dataclass(frozen=True)
class Volume:
    """A named volume holding one service's data."""

    name: str
    service: str
    path: str


@dataclass(frozen=True)
class Connection:
    """One edge of the plan: a service connecting to another (a backend to a database)."""

    service: str  # the service connected to
    kind: str
    env: Mapping[str, str]  # what the connecting service is told about it
    secrets: tuple[Secret, ...]  # its client secrets, mounted into the connecting service
    client: str | None  # template folder of its client part for the connector's language


@dataclass(frozen=True)
class Image:
    """An image reference as rendered (mirror and digest applied), per role."""

    role: str
    ref: str


@dataclass(frozen=True)
class Tmpfs:
    """A scratch path: a tmpfs bounded in size (kind.yml `scratch`)."""

    path: str
    options: str  # size=...,mode=...[,uid=...,gid=...]
    size: int = 0  # bytes (an orchestrator's tmpfs or emptyDir sizeLimit)
    mode: str = "1777"  # octal, as kind.yml writes it
    uid: int | None = None  # owner: compose sets it; an orchestrator uses fsGroup or mode


@dataclass(frozen=True)
class ConfigFile:
    """A file of the image an orchestrator mounts rendered for itself (kind.yml `config_file`):
    the template under kinds/<kind>/files/ and the path in the container."""

    template: str
    path: str


@dataclass(frozen=True)
class Service:
    name: str
    kind: str
    category: str
    description: str
    port: int
    publish: int | None  # host port on 127.0.0.1; None: not published
    build: bool  # built from its folder (a Dockerfile), else run from `image`
    images: tuple[Image, ...]
    image: str | None  # the image it runs when it isn't built (mirror and digest applied)
    ref: str  # the image every target runs: built, dockergen.yml `images` names it; else `image`
    user: str | None
    data_dir: str | None
    volume: Volume | None
    scratch: tuple[Tmpfs, ...]
    cap_add: tuple[str, ...]
    environment: Mapping[str, str]  # category's, connections', kind's, its secrets' *_FILE
    secrets: tuple[Secret, ...]  # the files it owns (generated into secrets/)
    mounts: tuple[Secret, ...]  # the files its container mounts: least privilege, per container
    command: tuple[str, ...] | None
    healthcheck: Mapping[str, Any] | None
    client: Mapping[str, str]
    limits: Mapping[str, Any]
    logging: Mapping[str, Any] | None  # compose `logging:` (driver, options)
    env_prefix: str
    labels: Mapping[str, str]
    develop: Mapping[str, Any] | None
    connections: tuple[Connection, ...]
    upstreams: tuple[str, ...]  # services it proxies to
    depends_on: Mapping[str, str]  # service it waits for -> compose condition
    networks: tuple[str, ...]
    init: bool = False  # an init process as PID 1 (kind.yml `init`)
    clients: tuple[str, ...] = ()  # the services that connect to it (their logins, if per-client)
    # Building around the user's code (dockergen.yml path, version, package_manager, entry,
    # health; scaffold.usercode). The defaults are a starter project's.
    folder: str = ""  # its folder, project-relative ('.' for the root); "" = its name
    context: str = ""  # its build context: its folder, or the workspace root it belongs to
    member: str | None = None  # its folder from the workspace root (dockergen.yml `workspace`)
    dockerfile: str = "Dockerfile"  # `Dockerfile.dockergen` beside the user's own
    dockerignore: str = ".dockerignore"
    starter: bool = True  # its starter app is written
    version: str | None = None  # the known runtime version its images are for
    package_manager: str | None = None  # None: the starter's own install steps
    installs: Mapping[str, Any] | None = None  # that manager's kind.yml data
    entry: str | None = None
    run: tuple[str, ...] | None = None  # what starts the user's app (kind.yml user_code.command)
    probe: tuple[str, ...] | None = None  # the HEALTHCHECK command; None: the kind's own
    health: str | None = None  # what `probe` checks: 'tcp' or an HTTP path
    notes: tuple[str, ...] = ()  # for the report: a version met by a newer toolchain
    config_file: ConfigFile | None = None  # kind.yml `config_file`

    @property
    def published(self) -> bool:
        return self.publish is not None

    @property
    def client_secrets(self) -> tuple[Secret, ...]:
        return tuple(s for c in self.connections for s in c.secrets)


@dataclass(frozen=True)
class TemplateSetRef:
    name: str
    version: str
    source: str
    ref: str | None
    commit: str | None


@dataclass(frozen=True)
class Project:
    """The whole plan of one project."""

    name: str
    layout: Layout
    template_set: TemplateSetRef
    answers: Mapping[str, Any]
    services: tuple[Service, ...]
    groups: Mapping[str, tuple[str, ...]]  # template variable (`databases`) -> service names
    networks: tuple[Network, ...]  # declared networks, edge first
    policy: Mapping[str, Any]  # the set's policy as templates see it (digests left out)
    syntax: str | None  # the `# syntax=` frontend image, mirror and digest applied
    targets: tuple[str, ...] = ("compose",)  # where it is deployed (dockergen.yml `targets`)
    beside: Beside = NOTHING_BESIDE  # the user's files dockergen's stand beside
    starter: bool = True

    @property
    def compose_file(self) -> str:
        return self.beside.compose_file

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return tuple(s for svc in self.services for s in svc.secrets)

    @property
    def volumes(self) -> tuple[Volume, ...]:
        return tuple(svc.volume for svc in self.services if svc.volume)

    @property
    def built(self) -> tuple[Service, ...]:
        return tuple(svc for svc in self.services if svc.build)

    def service(self, name: str) -> Service:
        return next(svc for svc in self.services if svc.name == name)


_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SIZE_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kmg]?)b?$", re.IGNORECASE)


def size_bytes(size: str | int) -> int:
    """A Docker size (`64m`, `1G`, `512M`, bytes) in bytes: Docker's k/m/g are powers of 1024,
    which Kubernetes spells Ki/Mi/Gi (its `m` is milli), so orchestrator files get bytes."""
    match = _SIZE_RE.fullmatch(str(size).strip())
    if not match:
        raise TemplateSetError(f"size {size!r}: use bytes or a number with k, m or g")
    return int(float(match[1]) * _UNITS[match[2].lower()])


_DURATION_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}


def seconds(duration: str) -> int:
    """A compose duration (`10s`, `1m30s`) in whole seconds, at least 1 (a probe's period)."""
    text = str(duration).strip()
    parts = _DURATION_RE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise TemplateSetError(f"duration {duration!r}: use e.g. 10s, 1m30s")
    return max(1, round(sum(float(n) * _SECONDS[u] for n, u in parts)))


def env_prefix(name: str) -> str:
    return name.upper().replace("-", "_")


def login(name: str) -> str:
    """A service's name as a login (role, user, database) every database accepts unquoted."""
    return name.replace("-", "_")


def _expand(value: str, variables: Mapping[str, Any]) -> str:
    """kind.yml strings may say `{{ service }}`, `{{ port }}` or `{{ secrets.password }}`."""
    if "{" not in value:
        return value
    return _strings.from_string(value).render(**variables)


def _policy_labels(
    tset: TemplateSet, variables: dict[str, Any], project: str | None
) -> dict[str, str]:
    """The set's required labels for one service, their values rendered."""
    out = {}
    for key, template in tset.policy.labels.items():
        try:
            out[key] = _labels.from_string(template).render(project=project, **variables)
        except TemplateError as exc:
            raise TemplateSetError(
                f"template set {tset.name!r}: policy.labels.{key}: {exc}"
            ) from None
    return out


def _develop(
    svc: LayoutService, kind: Kind, variables: Mapping[str, Any], *, starter: bool = True
) -> dict[str, Any]:
    """A built service's `develop` data: watch rules with project-relative paths (compose
    resolves them from the compose file's folder), and its dev server with variables expanded."""
    rules = []
    where = folder(svc.name, svc.path)
    for rule in kind.develop.watch:
        path = where if rule.path == "." else posixpath.normpath(posixpath.join(where, rule.path))
        rules.append({**rule.model_dump(), "path": "." if path == "." else f"./{path}"})
    # the kind's dev server runs its starter app: the user's own code has its own way
    server = kind.develop.dev_server if starter else None
    return {
        "watch": rules,
        "actions": sorted({r["action"] for r in rules}),
        "note": kind.develop.note,
        "dev_server": {
            "setup": _expand(server.setup, variables) if server.setup else None,
            "run": _expand(server.run, variables),
            "note": _expand(server.note, variables),
        }
        if server
        else None,
    }


def _connection_env(
    name: str, kind: Kind, port: int, secrets: tuple[Secret, ...], connector: str
) -> dict[str, str]:
    """What a connecting service is told about one service: kind, host, port, client fields
    (its own login where the kind has one per client), the secret files it gets."""
    p = env_prefix(name)
    env = {f"{p}_KIND": kind.name, f"{p}_HOST": name, f"{p}_PORT": str(port)}
    for key, value in kind.client.items():
        env[f"{p}_{key.upper()}"] = _expand(value, {"login": login(connector)})
    for secret in secrets:
        env[f"{p}_{secret.name.upper()}_FILE"] = secret.path
    return env


def _secrets(name: str, kind: Kind, clients: list[str]) -> tuple[Secret, ...]:
    """The secret files a service owns: its own, and one per client of each `per_client`."""
    out = []
    for spec in kind.secrets:
        owners: list[str | None] = list(clients) if spec.per_client else [None]
        out += [Secret(name, spec.name, spec.env, spec.client, owner) for owner in owners]
    return tuple(out)


def _edges(layout: Layout, tset: TemplateSet) -> dict[str, tuple[list[str], list[str]]]:
    """service -> (services it connects to, services it proxies to), from the set's categories
    and each service's `uses` (validated by layout.normalise)."""
    category = {s.name: tset.kinds[s.kind].category for s in layout.services}
    out: dict[str, tuple[list[str], list[str]]] = {}
    for svc in layout.services:
        spec = tset.category(category[svc.name])
        names = [s.name for s in layout.services]
        connects = [n for n in names if category[n] in spec.connects]
        if svc.uses is not None:
            chosen = set(svc.uses)
            connects = [n for n in connects if n in chosen]
        proxies = [n for n in names if category[n] in spec.proxies]
        out[svc.name] = (connects, proxies)
    return out


def _depends_on(spec: CategorySpec, connects: list[str], proxies: list[str]) -> dict[str, str]:
    """Each service waited for -> its condition, from the category's `depends_on` per relation
    (set.yml). Proxied services first, as before; a service both proxied and connected to gets
    the stricter condition."""
    out: dict[str, str] = {}
    edges: tuple[tuple[Relation, list[str]], ...] = (("proxies", proxies), ("connects", connects))
    for relation, names in edges:
        condition = spec.condition(relation)
        for name in names:
            if out.get(name) != "service_healthy":
                out[name] = condition
    return out


def build_plan(layout: Layout, tset: TemplateSet) -> Project:
    """The plan of a normalised layout (every port filled in) rendered with `tset`."""
    if layout.project is None:  # pragma: no cover - normalise always names the project
        raise ValueError("build_plan needs a normalised layout")
    if layout.digests:  # the project's pins (dockergen.yml) over the set's policy.digests
        tset = tset.with_digests(layout.digests)
    answers = tset.resolve_answers(layout.answers)
    image = ImageResolver(tset.policy, tset.digests)
    edges = _edges(layout, tset)
    kinds = {s.name: tset.kinds[s.kind] for s in layout.services}
    clients = {s.name: [c for c in edges if s.name in edges[c][0]] for s in layout.services}
    secrets = {s.name: _secrets(s.name, kinds[s.name], clients[s.name]) for s in layout.services}
    internal = {s.name: tset.category(kinds[s.name].category).internal for s in layout.services}
    beside = Beside(frozenset(layout.beside))
    # folders more than one built service is built from (Go's cmd/ layout): a Dockerfile each
    built_in = [folder(s.name, s.path) for s in layout.services if tset.builds(s.kind)]
    shared = frozenset(f for f in built_in if built_in.count(f) > 1)
    services: list[Service] = []
    for svc in layout.services:
        kind = kinds[svc.name]
        spec = tset.category(kind.category)
        connects, proxies = edges[svc.name]
        assert svc.port is not None  # normalised
        published_on = host_port(svc, published_by_default(svc, layout, tset))
        variables: dict[str, Any] = {
            "service": svc.name,
            "port": svc.port,
            # where a process on the host should listen in its place (a dev server): the
            # published port, which the frontend's dev proxy targets; the container's if unpublished
            "host_port": svc.port if published_on is None else published_on,
            "secrets": {s.name: s.path for s in secrets[svc.name] if not s.owner},
            "uses": connects,
            # who connects to it: each one's login and its own (per_client) secret files
            "clients": [
                {
                    "name": c,
                    "login": login(c),
                    "secrets": {s.name: s.path for s in secrets[svc.name] if s.owner == c},
                }
                for c in clients[svc.name]
            ],
        }
        connections = []
        for name in connects:
            given = tuple(s for s in secrets[name] if s.client or s.owner == svc.name)
            connections.append(
                Connection(
                    service=name,
                    kind=kinds[name].name,
                    env=_connection_env(name, kinds[name], _port(layout, name), given, svc.name),
                    secrets=given,
                    client=tset.client_part(kinds[name].name, svc.kind),
                )
            )
        environment = {k: _expand(v, variables) for k, v in spec.environment.items()}
        for conn in connections:
            environment.update(conn.env)
        environment.update({k: _expand(v, variables) for k, v in kind.environment.items()})
        environment.update({s.env: s.path for s in secrets[svc.name] if s.env and not s.owner})
        mounts = secrets[svc.name] + tuple(s for c in connections for s in c.secrets)
        health = kind.healthcheck.model_dump() if kind.healthcheck else None
        if health and health["test"] is not None:
            health["test"] = [_expand(t, variables) for t in health["test"]]
        labels = {
            "org.opencontainers.image.title": f"{layout.project}-{svc.name}",
            "org.opencontainers.image.description": kind.description,
            **_policy_labels(
                tset, {"service": svc.name, "kind": svc.kind, "answers": answers}, layout.project
            ),
        }
        build = tset.builds(svc.kind)
        starter = layout.starter if svc.starter is None else svc.starter
        code = _user_code(svc, kind, variables, starter=starter, beside=beside, shared=shared)
        images_of = code.pop("images")
        if internal[svc.name]:
            networks = [data_network(svc.name)]
        else:
            networks = [EDGE_NETWORK] + [data_network(n) for n in connects if internal[n]]
        services.append(
            Service(
                name=svc.name,
                kind=svc.kind,
                category=kind.category,
                description=kind.description,
                port=svc.port,
                publish=published_on,
                build=build,
                images=tuple(Image(role, image(ref) or ref) for role, ref in images_of.items()),
                image=image(kind.image),
                ref=layout.images.ref(layout.project, svc.name) if build else _run(image, kind),
                user=kind.user,
                data_dir=kind.data_dir,
                volume=Volume(f"{svc.name}-data", svc.name, kind.data_dir)
                if kind.data_dir
                else None,
                scratch=tuple(
                    Tmpfs(s.path, s.options, size_bytes(s.size), s.mode, s.uid) for s in kind.tmpfs
                ),
                cap_add=tuple(kind.cap_add),
                environment=environment,
                secrets=secrets[svc.name],
                mounts=mounts,
                init=kind.init,
                config_file=ConfigFile(kind.config_file.template, kind.config_file.path)
                if kind.config_file
                else None,
                command=tuple(_expand(c, variables) for c in kind.command)
                if kind.command
                else None,
                healthcheck=health,
                clients=tuple(clients[svc.name]),
                client=dict(kind.client),
                limits=kind.limits.model_dump(),
                logging=_logging(tset, kind),
                env_prefix=env_prefix(svc.name),
                labels=labels,
                develop=_develop(svc, kind, variables, starter=starter) if build else None,
                connections=tuple(connections),
                upstreams=tuple(proxies),
                depends_on=_depends_on(spec, connects, proxies),
                networks=tuple(networks),
                **code,
            )
        )
    groups = {
        spec.group or f"{name}s": tuple(s.name for s in services if s.category == name)
        for name, spec in tset.categories.items()
    }
    declared = [Network(EDGE_NETWORK, internal=False)] if not all(internal.values()) else []
    declared += [
        Network(data_network(s.name), internal=True, owner=s.name)
        for s in services
        if internal[s.name]
    ]
    return Project(
        name=layout.project,
        layout=layout,
        template_set=TemplateSetRef(tset.name, tset.version, tset.source, tset.ref, tset.commit),
        answers=answers,
        services=tuple(services),
        groups=groups,
        networks=tuple(declared),
        policy=tset.policy.model_dump(exclude={"digests"}),
        syntax=image(tset.manifest.syntax),
        targets=tuple(layout.targets),
        beside=beside,
        starter=layout.starter,
    )


def _user_code(
    svc: LayoutService,
    kind: Kind,
    variables: Mapping[str, Any],
    *,
    starter: bool,
    beside: Beside,
    shared: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The plan's user's-code fields of one service, and its images for its `version`.

    Only what the layout says differs from a starter project: a starter service without these
    fields renders exactly as before. Without the starter app (`starter: false`) the kind's
    `user_code` defaults apply (its package manager, entry and probe: the app has no /healthz).
    """
    code = kind.user_code
    where = folder(svc.name, svc.path)
    images = dict(kind.images)
    notes: list[str] = []
    version = None
    if svc.version is not None:
        version, note = resolve_version(svc.name, kind, svc.version)
        assert kind.versions is not None
        images.update(kind.versions.images[version])
        notes += [note] if note else []
    manager, installs = None, None
    context, member = where, None
    if svc.package_manager is not None or (not starter and code.package_managers):
        manager, spec = package_manager(svc.name, kind, svc.package_manager)
        installs = {
            k: _expand(v, variables) if isinstance(v, str) else v
            for k, v in spec.model_dump(exclude={"workspace"}).items()
        }
        if svc.workspace is not None and spec.workspace is not None:
            # built from the workspace root, installing the member alone from its lockfile
            context = posixpath.normpath(svc.workspace)
            member = where if context == "." else posixpath.relpath(where, context)
            ws = {**variables, "member": member}
            installs.update(
                lockfiles=list(spec.workspace.lockfiles),
                install=_expand(spec.workspace.install, ws),
                project=_expand(spec.workspace.project, ws),
                build=_expand(spec.workspace.build, ws) if spec.workspace.build else None,
            )
    entry = svc.entry or (None if starter else code.entry)
    run = None
    if entry is not None and code.command:
        run = tuple(_expand(part, {**variables, "entry": entry}) for part in code.command)
    dockerfile = f"{svc.name}.Dockerfile" if where in shared else beside.dockerfile(where)
    health = svc.health or (None if starter else code.health)
    probe = None
    if health is not None and code.probes is not None:
        kind_of = "tcp" if health == "tcp" else "http"
        template = code.probes.tcp if kind_of == "tcp" else code.probes.http
        probe = tuple(_expand(p, {**variables, "path": health}) for p in template)
    return {
        "images": images,
        "folder": where,
        "context": context,
        "member": member,
        # one of several services of its folder: `<name>.Dockerfile` and its own ignore file
        "dockerfile": dockerfile,
        "dockerignore": f"{dockerfile}.dockerignore"
        if where in shared or member is not None
        else beside.dockerignore(where),
        "starter": starter,
        "version": version,
        "package_manager": manager,
        "installs": installs,
        "entry": entry,
        "run": run,
        "probe": probe,
        "health": health if probe else None,
        "notes": tuple(notes),
    }


def _run(image: ImageResolver, kind: Kind) -> str:
    """The image a service that isn't built runs: its kind's `image`."""
    ref = image(kind.image)
    if ref is None:
        raise TemplateSetError(f"kind {kind.name!r} is neither built nor given an image")
    return ref


def _logging(tset: TemplateSet, kind: Kind) -> dict[str, Any] | None:
    """The set's `logging` with the kind's over it: the driver replaced, options merged (a
    null option removes the set's)."""
    base = tset.manifest.logging.model_dump() if tset.manifest.logging else {}
    over = kind.logging or {}
    if not base and not over:
        return None
    options = {**base.get("options", {}), **(over.get("options") or {})}
    return {
        "driver": over.get("driver") or base.get("driver", "local"),
        "options": {k: str(v) for k, v in options.items() if v is not None},
    }


def _port(layout: Layout, name: str) -> int:
    port = next(s.port for s in layout.services if s.name == name)
    assert port is not None  # normalised
    return port
