"""A template set's policy, checked on the rendered files.

Images are rewritten before rendering (digest pins, the mirror: scaffold.images). After
rendering, `check_output` reads what was actually written (every Dockerfile's `# syntax=`,
`FROM`, `COPY --from` and `RUN --mount=from=` images, every compose `image:`, every `image:` of
a deploy target's files except the project's own built images) and reports each
violation as one line: an image outside `allowed_registries`, one bypassing the mirror, one
without a digest under `require_digests`, a digest that contradicts the set's digests map, and a
Dockerfile whose final stage lacks a required label. So a child set that overrides a Dockerfile
can't slip past the policy by not using the catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from scaffold.dockerfile import Stage, dockerfile_stages, syntax_image
from scaffold.images import _HUB_ALIASES, DOCKER_HUB, Image, parse_image, unmirrored
from scaffold.state import STATE_DIR

# libyaml's parser when PyYAML has it (the same safe constructor, several times faster than the
# pure-Python one: YAML parsing was about 6% of a 5-service `dockergen new`).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

if TYPE_CHECKING:
    from scaffold.templatesets.loader import TemplateSet

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


@dataclass(frozen=True)
class Reference:
    file: str  # relative to the project
    line: int | None
    ref: str
    where: str  # FROM, COPY --from, service api


def _dockerfiles(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == STATE_DIR or not path.is_file():
            continue
        name = path.name
        if name.endswith(".dockerignore"):
            continue  # Dockerfile.dockergen.dockerignore: that Dockerfile's ignore file
        if name == "Dockerfile" or name.endswith(".Dockerfile") or name.startswith("Dockerfile."):
            found.append(path)
    return found


def _compose_images(path: Path) -> list[tuple[int | None, str, str]]:
    """(line, image, service) for each compose service that pulls an image: one with `build:`
    names the image it builds (dockergen.yml `images`), which no registry rule applies to."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    out = []
    for key, value in node.value:
        if key.value != "services" or not isinstance(value, yaml.MappingNode):
            continue
        for svc_key, svc in value.value:
            if not isinstance(svc, yaml.MappingNode):
                continue
            if any(k.value == "build" for k, _ in svc.value):
                continue
            for k, v in svc.value:
                if k.value == "image" and isinstance(v, yaml.ScalarNode):
                    out.append((v.start_mark.line + 1, str(v.value), str(svc_key.value)))
    return out


def references(root: Path) -> tuple[list[Reference], dict[str, list[Stage]]]:
    """Every image the rendered project pulls, and each Dockerfile's stages."""
    refs: list[Reference] = []
    stages: dict[str, list[Stage]] = {}
    for path in _dockerfiles(root):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        parsed = dockerfile_stages(text)
        stages[rel] = parsed
        syntax = syntax_image(text)
        if syntax:  # the frontend image is pulled like any base: the same rules apply
            refs.append(Reference(rel, syntax[0], syntax[1], "# syntax"))
        for stage in parsed:
            refs += [Reference(rel, line, ref, where) for line, ref, where in stage.images]
    compose = [root / name for name in COMPOSE_FILES if (root / name).is_file()]
    for path in compose:
        for line, ref, svc in _compose_images(path):
            refs.append(Reference(path.name, line, ref, f"service {svc}"))
    own = {ref for path in compose for ref in _built_images(path)}
    for path in sorted(root.rglob("*.y*ml")):
        where = path.relative_to(root)
        if where.parts[0] == STATE_DIR or path in compose or path.suffix not in (".yml", ".yaml"):
            continue
        for line, ref in _deploy_images(path):
            if ref not in own:
                refs.append(Reference(where.as_posix(), line, ref, "image"))
    return refs, stages


def _built_images(path: Path) -> list[str]:
    """The `image:` of each compose service with `build:`: the project's own images, which every
    deploy target runs (dockergen.yml `images`) and no registry rule applies to."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError):
        return []
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        return []
    return [
        str(svc["image"])
        for svc in services.values()
        if isinstance(svc, dict) and "build" in svc and "image" in svc
    ]


def _deploy_images(path: Path) -> list[tuple[int, str]]:
    """(line, image) for every `image:` scalar of a deploy file (a swarm stack's services, a
    Kubernetes manifest's containers), at any depth, in every document."""
    try:
        documents = list(yaml.compose_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError):
        return []
    out: list[tuple[int, str]] = []
    stack: list[yaml.Node] = [d for d in documents if d is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == "image" and isinstance(value, yaml.ScalarNode):
                    out.append((value.start_mark.line + 1, str(value.value)))
                else:
                    stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(out)


def _allowed(image: Image, allowed: Iterable[str]) -> bool:
    for entry in allowed:
        host, _, prefix = entry.partition("/")
        host = DOCKER_HUB if host.lower() in _HUB_ALIASES else host.lower()
        if image.registry != host:
            continue
        if not prefix or image.path == prefix or image.path.startswith(prefix.rstrip("/") + "/"):
            return True
    return False


@dataclass(frozen=True)
class Violation:
    """One policy violation: the policy key it breaks (allowed_registries, mirror,
    require_digests, digests, labels) at a file and line."""

    file: str
    line: int | None
    rule: str
    message: str

    def text(self) -> str:
        at = f"{self.file}:{self.line}" if self.line else self.file
        return f"{at}: policy.{self.rule}: {self.message}"


def check_output(root: Path, tset: TemplateSet) -> list[str]:
    """Every policy violation in a rendered project, one line each (empty: compliant)."""
    if not tset.policy.active and not tset.digests:
        return []
    refs, stages = references(root)
    return [v.text() for v in violations(refs, stages, tset)]


def violations(
    refs: Iterable[Reference], stages: Mapping[str, list[Stage]], tset: TemplateSet
) -> list[Violation]:
    """The policy's verdict on images pulled (`refs`) and Dockerfiles' stages (`stages`, by
    file): shared by generation (check_output) and `dockergen check --template`."""
    policy = tset.policy
    digests = dict(tset.digests)
    problems: list[Violation] = []

    def report(ref: Reference, rule: str, message: str) -> None:
        problems.append(Violation(ref.file, ref.line, rule, message))

    checks_images = (
        policy.allowed_registries is not None
        or policy.mirror
        or digests
        or (policy.require_digests)
    )
    for ref in refs if checks_images else []:
        if ref.ref == "scratch":
            continue
        try:
            image = parse_image(ref.ref)
        except ValueError:
            rule = "allowed_registries" if policy.allowed_registries is not None else "images"
            report(ref, rule, f"{ref.where} {ref.ref!r} is not a literal image reference")
            continue
        if policy.allowed_registries is not None and not _allowed(image, policy.allowed_registries):
            report(
                ref,
                "allowed_registries",
                f"{ref.where} {ref.ref} is from {image.registry}, which is not allowed "
                f"(allowed: {', '.join(policy.allowed_registries) or 'none'})",
            )
        if policy.mirror and not ref.ref.startswith(policy.mirror):
            report(ref, "mirror", f"{ref.where} {ref.ref} is not pulled through {policy.mirror}")
        if policy.require_digests and not image.digest:
            report(ref, "require_digests", f"{ref.where} {ref.ref} is not pinned by digest")
        if image.digest and digests:
            try:
                upstream = parse_image(unmirrored(ref.ref, policy.mirror))
            except ValueError:
                upstream = image
            want = digests.get(upstream.canonical)
            if want and want != image.digest:
                report(
                    ref,
                    "digests",
                    f"{ref.where} {ref.ref} contradicts the digests map ({want})",
                )
    for rel, parsed in stages.items() if policy.labels else ():
        if not parsed:
            continue
        final = parsed[-1]
        for key in policy.labels:
            if not final.labels.get(key, "").strip():
                state = "an empty" if key in final.labels else "no"
                problems.append(
                    Violation(rel, final.line, "labels", f"the final stage has {state} {key} label")
                )
    return problems
