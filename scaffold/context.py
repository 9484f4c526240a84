"""The render context: a normalised layout joined with its set's stack catalog.

Templates see plain dicts, not models, so set authors write `svc.port` without knowing Python.
Category rules (frontends proxy to backends, backends connect to databases) live here once;
nothing here branches on a particular kind.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from typing import Any

from jinja2 import StrictUndefined
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from scaffold.errors import TemplateSetError
from scaffold.images import ImageResolver
from scaffold.layout import Layout, Service, host_port
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import Kind

_strings = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
_labels = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def quote(value: Any) -> str:
    """A value as a JSON scalar or flow collection, which is also valid YAML (`q` in templates)."""
    return json.dumps(value, ensure_ascii=False)


def dq(value: Any) -> str:
    """A value as a double-quoted Dockerfile word (LABEL/ENV): no expansion, no line break."""
    text = " ".join(str(value).splitlines())
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def json_merge(documents: Sequence[str]) -> str:
    """JSON object documents merged into one, written as npm writes package.json and
    package-lock.json (2-space indent, final newline) (`json_merge` in templates).

    Why: a backend's manifest and lockfile are its own base plus one fragment per database
    client it includes. Objects merge key by key, recursively; an object that gains keys from a
    later document is re-sorted, as npm keeps dependencies and lockfile packages; a key that two
    documents give different values is an error, so a fragment can add but never change.
    """
    merged: dict[str, Any] = {}
    for index, text in enumerate(documents):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateSetError(f"json_merge: document {index + 1}: {exc}") from None
        if not isinstance(document, dict):
            raise TemplateSetError(f"json_merge: document {index + 1} is not a JSON object")
        merged = _merge_objects(merged, document, "")
    return json.dumps(merged, indent=2, ensure_ascii=False) + "\n"


def _merge_objects(base: dict[str, Any], extra: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        path = f"{where}.{key}" if where else key
        if key not in out:
            out[key] = value
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge_objects(out[key], value, path)
        elif out[key] != value:
            raise TemplateSetError(
                f"json_merge: {path}: {json.dumps(out[key])} and {json.dumps(value)} conflict"
            )
    if base and any(key not in base for key in extra):
        out = dict(sorted(out.items()))
    return out


def env_prefix(name: str) -> str:
    return name.upper().replace("-", "_")


def _expand(value: str, variables: dict[str, Any]) -> str:
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


def develop_context(svc: Service, kind: Kind, variables: dict[str, Any]) -> dict[str, Any]:
    """A built service's `develop` data: watch rules with project-relative paths (compose
    resolves them from the compose file's folder), and its dev server with variables expanded."""
    rules = []
    for rule in kind.develop.watch:
        path = svc.name if rule.path == "." else posixpath.join(svc.name, rule.path)
        rules.append({**rule.model_dump(), "path": f"./{path}"})
    server = kind.develop.dev_server
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


def service_context(
    svc: Service,
    tset: TemplateSet,
    *,
    project: str | None = None,
    answers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    kind = tset.kind(svc.kind)
    image = ImageResolver(tset.policy, tset.digests)
    secrets = [
        {
            "name": s.name,
            "id": f"{svc.name}_{s.name}",
            "file": f"secrets/{svc.name}_{s.name}",
            "path": f"/run/secrets/{svc.name}_{s.name}",
            "env": s.env,
            "client": s.client,
        }
        for s in kind.secrets
    ]
    published_on = host_port(svc, kind.published)
    variables = {
        "service": svc.name,
        "port": svc.port,
        # where a process on the host should listen in its place (a dev server): the published
        # port, which the frontend's dev proxy targets; the container's port if unpublished
        "host_port": svc.port if published_on is None else published_on,
        "secrets": {s["name"]: s["path"] for s in secrets},
    }
    health = kind.healthcheck.model_dump() if kind.healthcheck else None
    if health:
        health["test"] = [_expand(t, variables) for t in health["test"]]
    labels = {
        "org.opencontainers.image.title": f"{project}-{svc.name}",
        "org.opencontainers.image.description": kind.description,
        **_policy_labels(
            tset, {"service": svc.name, "kind": svc.kind, "answers": answers or {}}, project
        ),
    }
    build = tset.builds(svc.kind)
    return {
        "name": svc.name,
        "kind": svc.kind,
        "category": kind.category,
        "description": kind.description,
        "port": svc.port,
        "publish": published_on,
        "published": published_on is not None,
        "build": build,
        "images": {role: image(ref) for role, ref in kind.images.items()},
        "image": image(kind.image),
        "user": kind.user,
        "data_dir": kind.data_dir,
        "volume": f"{svc.name}-data" if kind.data_dir else None,
        "scratch": list(kind.scratch),
        "cap_add": list(kind.cap_add),
        "environment": {k: _expand(v, variables) for k, v in kind.environment.items()},
        "secrets": secrets,
        "command": [_expand(c, variables) for c in kind.command] if kind.command else None,
        "healthcheck": health,
        "client": dict(kind.client),
        "limits": kind.limits.model_dump(),
        "env_prefix": env_prefix(svc.name),
        "labels": labels,
        "develop": develop_context(svc, kind, variables) if build else None,
    }


def connection_env(db: dict[str, Any]) -> dict[str, str]:
    """What a backend is told about one database: kind, host, port, client fields, secret files."""
    p = db["env_prefix"]
    env = {f"{p}_KIND": db["kind"], f"{p}_HOST": db["name"], f"{p}_PORT": str(db["port"])}
    for key, value in db["client"].items():
        env[f"{p}_{key.upper()}"] = value
    for secret in db["secrets"]:
        if secret["client"]:
            env[f"{p}_{secret['name'].upper()}_FILE"] = secret["path"]
    return env


def client_dir(tset: TemplateSet, db_kind: str, language: str | None) -> str | None:
    """The set-relative folder of a database kind's client parts for a backend's language
    (`kinds/<db>/clients/<language>`), which the backend's templates include; None when the
    set ships none (the backend then only checks that the port accepts connections)."""
    if language is None:
        return None
    folder = f"kinds/{db_kind}/clients/{language}"
    return folder if (tset.root / folder).is_dir() else None


def dockergen_readme() -> str | None:
    """Where dockergen's own README is read online, from the installed package's metadata (its
    `[project.urls]`), for the generated README to link to; None when none is declared. Never a
    guessed address: PyPI's `dockergen` is an unrelated package."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        entries = metadata("dockergen").get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    urls = {}
    for entry in entries:
        label, _, url = (part.strip() for part in entry.partition(","))
        urls[label.lower()] = url
    for label in ("documentation", "homepage", "repository", "source"):
        if urls.get(label, "").startswith("https://"):
            url = urls[label]
            return url if label == "documentation" or "#" in url else f"{url}#readme"
    return None


def build_context(layout: Layout, tset: TemplateSet) -> dict[str, Any]:
    """Everything a template of the set may use, for the project and for each service."""
    answers = tset.resolve_answers(layout.answers)
    services = [
        service_context(s, tset, project=layout.project, answers=answers) for s in layout.services
    ]
    frontends = [s for s in services if s["category"] == "frontend"]
    backends = [s for s in services if s["category"] == "backend"]
    databases = [s for s in services if s["category"] == "database"]
    for backend in backends:
        backend["depends_on"] = [d["name"] for d in databases]
        backend["connections"] = [
            {
                "name": d["name"],
                "kind": d["kind"],
                "env": connection_env(d),
                "client": client_dir(tset, d["kind"], tset.kind(backend["kind"]).language),
            }
            for d in databases
        ]
        backend["client_secrets"] = [s for d in databases for s in d["secrets"] if s["client"]]
        env = {"PORT": str(backend["port"]), "DATABASES": ",".join(d["name"] for d in databases)}
        for conn in backend["connections"]:
            env.update(conn["env"])
        backend["environment"] = {**env, **backend["environment"]}
    for frontend in frontends:
        frontend["depends_on"] = [b["name"] for b in backends]
        frontend["upstreams"] = backends
    for db in databases:
        db.setdefault("depends_on", [])
    return {
        "q": quote,
        "dq": dq,
        "json_merge": json_merge,
        "project": layout.project,
        "options": layout.options.model_dump(),
        "template_set": {
            "name": tset.name,
            "version": tset.version,
            "source": tset.source,
            "ref": tset.ref,
            "commit": tset.commit,
        },
        "answers": answers,
        "dockergen": {"readme": dockergen_readme()},
        "policy": tset.policy.model_dump(exclude={"digests"}),
        "services": services,
        "frontends": frontends,
        "backends": backends,
        "databases": databases,
        "built": [s for s in services if s["build"]],
        "secrets": [s for svc in services for s in svc["secrets"]],
        "volumes": [s["volume"] for s in services if s["volume"]],
    }
