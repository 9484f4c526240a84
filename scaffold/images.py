"""Image references: parsing, canonical names, digest pins and registry mirrors.

Before rendering, `ImageResolver` rewrites every image reference of the catalog (kind.yml
`images` and `image`) so templates emit the final reference:

1. digest: if the set's `policy.digests` or the project's `digests` (dockergen.yml, where
   `new/update --digests FILE` record them; they win) knows `name:tag`, the reference becomes
   `name:tag@sha256:...` (the tag stays, so Renovate still sees it);
2. mirror: with `policy.mirror: registry.example.test/mirror/`, Docker Hub images keep their
   repository path, official ones under `library/`
   (`python:3.13-slim-trixie` -> `registry.example.test/mirror/library/python:3.13-slim-trixie`,
   `bitnami/redis:8` -> `registry.example.test/mirror/bitnami/redis:8`), and images of any
   other registry keep their registry host as the first path segment
   (`ghcr.io/acme/tool:1` -> `registry.example.test/mirror/ghcr.io/acme/tool:1`). This is the
   layout of Harbor/Artifactory/Nexus style proxies. `scratch` and references already under the
   mirror are left alone.

The set's policy checks the rendered files against the same rules (scaffold.policy).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import yaml

from scaffold.errors import UsageError

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Image:
    registry: str  # docker.io for Docker Hub
    path: str  # library/python for official images
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def canonical(self) -> str:
        """`docker.io/library/python:3.13`: the key of a digests map."""
        return f"{self.name}:{self.tag}" if self.tag else self.name


def parse_image(ref: str) -> Image:
    """An image reference split as Docker does; ValueError if it isn't one."""
    ref = ref.strip()
    if not ref or any(c.isspace() for c in ref) or "$" in ref or "://" in ref:
        raise ValueError(f"{ref!r} is not an image reference")
    name, _, digest = ref.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise ValueError(f"{ref!r}: the digest is not sha256:<64 hex>")
    slash, colon = name.rfind("/"), name.rfind(":")
    repo, tag = (name[:colon], name[colon + 1 :]) if colon > slash else (name, None)
    if not repo or (tag is not None and not re.fullmatch(r"[\w][\w.-]{0,127}", tag)):
        raise ValueError(f"{ref!r} is not an image reference")
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), rest
    else:
        registry, path = DOCKER_HUB, repo
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    if not re.fullmatch(r"[a-z0-9]+([._-]+[a-z0-9]+|/[a-z0-9]+)*", path):
        raise ValueError(f"{ref!r}: repository names are lowercase letters, digits, . _ - and /")
    return Image(registry, path, tag, digest or None)


def canonical(ref: str) -> str:
    return parse_image(ref).canonical


def canonical_digests(digests: Mapping[str, str]) -> dict[str, str]:
    """A digests map keyed by canonical `registry/path:tag`; ValueError on a bad entry."""
    out: dict[str, str] = {}
    for ref, digest in digests.items():
        image = parse_image(str(ref))
        if image.tag is None or image.digest:
            raise ValueError(f"{ref}: a digests key is image:tag, without a digest")
        if not _DIGEST.fullmatch(str(digest)):
            raise ValueError(f"{ref}: {digest!r} is not a sha256:<64 hex> digest")
        out[image.canonical] = str(digest)
    return out


def load_digests_file(path: Path) -> dict[str, str]:
    """`--digests FILE`: a YAML/JSON mapping image:tag -> sha256:..., or {digests: {...}}.

    The images keep the file's spelling (dockergen.yml records them so); they are matched on the
    canonical name when rendering.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--digests {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise UsageError(f"--digests {path}: invalid YAML") from None
    if isinstance(data, dict) and isinstance(data.get("digests"), dict) and len(data) == 1:
        data = data["digests"]
    if not isinstance(data, dict):
        raise UsageError(f"--digests {path}: expected a mapping of image:tag to sha256:...")
    try:
        canonical_digests(data)
    except ValueError as exc:
        raise UsageError(f"--digests {path}: {exc}") from None
    return {str(ref): str(digest) for ref, digest in data.items()}


def mirrored(ref: str, mirror: str) -> str:
    """`ref` pulled through `mirror` (see the module docstring for the rule)."""
    if ref == "scratch" or ref.startswith(mirror):
        return ref
    image = parse_image(ref)
    path = image.path if image.registry == DOCKER_HUB else f"{image.registry}/{image.path}"
    out = mirror + path
    if image.tag:
        out += f":{image.tag}"
    if image.digest:
        out += f"@{image.digest}"
    return out


def unmirrored(ref: str, mirror: str | None) -> str:
    """The upstream reference behind a mirrored one (for digest lookups)."""
    if not mirror or not ref.startswith(mirror):
        return ref
    rest = ref[len(mirror) :]
    first = rest.split("/", 1)[0]
    if "." in first or ":" in first or first == "localhost":
        return rest
    return f"{DOCKER_HUB}/{rest}"


class MirrorPolicy(Protocol):
    """What ImageResolver reads of a set's policy (scaffold.templatesets.manifest.Policy)."""

    @property
    def mirror(self) -> str | None: ...


class ImageResolver:
    """Rewrites catalog images: digest pin first (by upstream name), then the mirror."""

    def __init__(self, policy: MirrorPolicy, digests: Mapping[str, str]) -> None:
        self.policy = policy
        self.digests = dict(digests)

    def digest_for(self, ref: str) -> str | None:
        try:
            image = parse_image(unmirrored(ref, self.policy.mirror))
        except ValueError:
            return None
        return self.digests.get(image.canonical)

    def __call__(self, ref: str | None) -> str | None:
        if ref is None or ref == "scratch" or not (self.digests or self.policy.mirror):
            return ref
        try:
            image = parse_image(ref)
        except ValueError:
            return ref  # left for check_output to report in context
        out = ref
        if not image.digest:
            digest = self.digest_for(ref)
            if digest:
                out = f"{ref}@{digest}"
        if self.policy.mirror:
            out = mirrored(out, self.policy.mirror)
        return out
