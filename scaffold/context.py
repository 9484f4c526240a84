"""The render context: the plan (scaffold.plan) as the plain dicts templates see.

Templates see dicts, not dataclasses, so set authors write `svc.port` without knowing Python.
The context is produced from the plan and handed to copier; no Python code reads it back.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from typing import Any

from scaffold.errors import TemplateSetError
from scaffold.layout import TARGETS
from scaffold.plan import Connection, Project, Secret, Service, login, seconds, size_bytes

# The context's own names: a category's `group` (its list of services) can't take one of them.
RESERVED = frozenset(
    {
        "q",
        "dq",
        "size_bytes",
        "seconds",
        "target",
        "json_merge",
        "project",
        "options",
        "template_set",
        "answers",
        "dockergen",
        "policy",
        "syntax",
        "targets",
        "images",
        "compose_file",
        "starter",
        "cluster",
    }
    | {"services", "networks", "built", "secrets", "volumes", "svc"}
)


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


def _secret(secret: Secret) -> dict[str, Any]:
    return {
        "name": secret.name,
        "id": secret.id,
        "file": secret.file,
        "path": secret.path,
        "env": secret.env,
        "client": secret.client,
    }


def _connection(conn: Connection) -> dict[str, Any]:
    return {"name": conn.service, "kind": conn.kind, "env": dict(conn.env), "client": conn.client}


def _service(svc: Service) -> dict[str, Any]:
    return {
        "name": svc.name,
        "kind": svc.kind,
        "category": svc.category,
        "description": svc.description,
        "port": svc.port,
        "publish": svc.publish,
        "published": svc.published,
        "build": svc.build,
        "images": {image.role: image.ref for image in svc.images},
        "image": svc.image,
        "ref": svc.ref,
        "user": svc.user,
        "data_dir": svc.data_dir,
        "volume": svc.volume.name if svc.volume else None,
        "scratch": [
            {"path": t.path, "options": t.options, "size": t.size, "mode": t.mode, "uid": t.uid}
            for t in svc.scratch
        ],
        "cap_add": list(svc.cap_add),
        "environment": dict(svc.environment),
        "secrets": [_secret(s) for s in svc.secrets],
        "mounts": [_secret(s) for s in svc.mounts],
        "command": list(svc.command) if svc.command is not None else None,
        # a multi-line part (a shell script) is written as a YAML block, not one escaped line
        "command_script": any("\n" in part for part in svc.command or ()),
        "healthcheck": dict(svc.healthcheck) if svc.healthcheck else None,
        "client": dict(svc.client),
        "limits": dict(svc.limits),
        "logging": dict(svc.logging) if svc.logging else None,
        "env_prefix": svc.env_prefix,
        "labels": dict(svc.labels),
        "develop": dict(svc.develop) if svc.develop else None,
        "depends_on": dict(svc.depends_on),  # name -> condition; iterating gives the names
        "init": svc.init,
        # a file of the image an orchestrator mounts rendered for itself (`cluster` true)
        "config_file": {"template": svc.config_file.template, "path": svc.config_file.path}
        if svc.config_file
        else None,
        "clients": [{"name": c, "login": login(c)} for c in svc.clients],
        "connections": [_connection(c) for c in svc.connections],
        "client_secrets": [_secret(s) for s in svc.client_secrets],
        "networks": list(svc.networks),
        # the user's code (dockergen init): its folder, Docker file names, how it installs,
        # what starts it and what probes it; a starter service keeps the kind's own
        "folder": svc.folder,
        "context": "." if svc.context == "." else f"./{svc.context}",
        "member": svc.member,
        "dockerfile": svc.dockerfile,
        # the Dockerfile as compose names it, from the build context
        "dockerfile_path": posixpath.join(svc.member, svc.dockerfile)
        if svc.member
        else svc.dockerfile,
        "dockerignore": svc.dockerignore,
        "starter": svc.starter,
        "version": svc.version,
        "package_manager": svc.package_manager,
        "installs": dict(svc.installs) if svc.installs else None,
        "entry": svc.entry,
        "run": list(svc.run) if svc.run else None,
        "probe": list(svc.probe) if svc.probe else None,
        "health": svc.health,
    }


def build_context(plan: Project) -> dict[str, Any]:
    """Everything a template of the set may use, for the project and for each service."""
    services = [_service(svc) for svc in plan.services]
    by_name = {svc["name"]: svc for svc in services}
    for svc, planned in zip(services, plan.services, strict=True):
        svc["upstreams"] = [by_name[name] for name in planned.upstreams]
    for svc, planned in zip(services, plan.services, strict=True):
        # the services that proxy to it: the way in to a backend that isn't published
        svc["proxied_by"] = [
            s for s in services if planned.name in (u["name"] for u in s["upstreams"])
        ]
    groups = {group: [by_name[name] for name in names] for group, names in plan.groups.items()}
    clash = sorted(RESERVED & set(groups))
    if clash:
        raise TemplateSetError(
            f"template set {plan.template_set.name!r}: set.yml categories: the group "
            f"{clash[0]!r} is a name of the template context; give the category another `group`"
        )
    ref = plan.template_set
    return {
        "q": quote,
        "dq": dq,
        "json_merge": json_merge,
        "size_bytes": size_bytes,
        "seconds": seconds,
        "project": plan.name,
        "options": plan.layout.options.model_dump(),
        "template_set": {
            "name": ref.name,
            "version": ref.version,
            "source": ref.source,
            "ref": ref.ref,
            "commit": ref.commit,
        },
        "answers": dict(plan.answers),
        "dockergen": {"readme": dockergen_readme()},
        "policy": dict(plan.policy),
        "syntax": plan.syntax,
        "targets": list(plan.targets),
        # target.swarm...: templates/default/project/ names its deploy/ folders with these
        "target": {name: name in plan.targets for name in TARGETS},
        "images": plan.layout.images.model_dump(),
        "services": services,
        **groups,
        "networks": [
            {"name": n.name, "internal": n.internal, "owner": n.owner} for n in plan.networks
        ],
        "built": [svc for svc in services if svc["build"]],
        "secrets": [_secret(s) for s in plan.secrets],
        "volumes": [v.name for v in plan.volumes],
        "compose_file": plan.compose_file,
        "starter": plan.starter,
        # true only where an orchestrator renders a kind's `config_file` for itself (the
        # Kubernetes ConfigMap); every file dockergen writes as such sees false
        "cluster": False,
    }
