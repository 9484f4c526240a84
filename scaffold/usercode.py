"""Building around the user's own code: a service's folder, runtime version, package manager,
entry and probe, resolved against its kind's data (kind.yml `versions`, `user_code`).

`dockergen init` records these facts in dockergen.yml; here they meet the set. Every rule is
read from the kind: nothing branches on a kind's name.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from scaffold.errors import LayoutError
from scaffold.templatesets.manifest import Kind, PackageManager

# The files `init` stands beside (never over) when the repository has its own, and the name
# dockergen's copy takes. A Dockerfile-specific ignore file (`<Dockerfile>.dockerignore`, which
# BuildKit reads instead of `.dockerignore`) keeps the user's .dockerignore for their own builds.
BESIDE_SUFFIX = ".dockergen"
COMPOSE_ALIASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def _parts(version: str) -> tuple[int, ...] | None:
    head = version.strip().lstrip("v^~>=< ")
    numbers: list[int] = []
    for part in head.split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        numbers.append(int(digits))
        if digits != part:
            break
    return tuple(numbers) or None


def resolve_version(service: str, kind: Kind, version: str) -> tuple[str, str | None]:
    """The known version `version` names, and a note when it isn't that version exactly (a
    minimum met by a newer toolchain). LayoutError (one line, the known ones) otherwise."""
    known = kind.versions.images if kind.versions else {}
    listing = ", ".join(sorted(known, key=lambda v: _parts(v) or ())) or "none"
    wanted = _parts(version)
    if not known or wanted is None:
        raise LayoutError(
            f"service {service!r}: {kind.name} has no image for version {version!r}; "
            f"known versions: {listing}"
        )
    assert kind.versions is not None
    parsed = {key: _parts(key) or () for key in known}
    if kind.versions.match == "minimum":
        for key, p in sorted(parsed.items(), key=lambda kv: kv[1]):
            if p >= wanted[: len(p)]:
                exact = p == wanted[: len(p)]
                return key, None if exact else f"{service}: {kind.name} {version} builds with {key}"
    else:
        for key, p in sorted(parsed.items(), key=lambda kv: len(kv[1]), reverse=True):
            if wanted[: len(p)] == p:
                return key, None
    raise LayoutError(
        f"service {service!r}: {kind.name} has no image for version {version!r}; "
        f"known versions: {listing}"
    )


def package_manager(service: str, kind: Kind, name: str | None) -> tuple[str, PackageManager]:
    """The manager a service installs with (its own, else the kind's), with its data."""
    managers = kind.user_code.package_managers
    chosen = name or kind.user_code.package_manager
    if chosen is None or chosen not in managers:
        known = ", ".join(sorted(managers)) or "none"
        raise LayoutError(
            f"service {service!r}: {kind.name} has no package manager {chosen!r}; known: {known}"
        )
    return chosen, managers[chosen]


def folder(name: str, path: str | None) -> str:
    """A service's folder (its build context) relative to the project root: `.` or a/b."""
    return posixpath.normpath(path) if path else name


@dataclass(frozen=True)
class Beside:
    """The user's own files dockergen's versions stand beside (dockergen.yml `beside`)."""

    paths: frozenset[str]

    def dockerfile(self, where: str) -> str:
        """The name of dockergen's Dockerfile in the folder `where`."""
        own = posixpath.join(where, "Dockerfile") if where != "." else "Dockerfile"
        return "Dockerfile" + (BESIDE_SUFFIX if posixpath.normpath(own) in self.paths else "")

    def dockerignore(self, where: str) -> str:
        """The name of dockergen's ignore file in `where`: `.dockerignore`, or, beside the
        user's own or beside the user's Dockerfile, the one BuildKit reads for ours alone."""
        dockerfile = self.dockerfile(where)
        own = posixpath.normpath(posixpath.join(where, ".dockerignore"))
        if own in self.paths or dockerfile != "Dockerfile":
            return f"{dockerfile}.dockerignore"
        return ".dockerignore"

    def name(self, rel: str) -> str:
        """Where the rendered project file `rel` goes: itself, or its beside name."""
        if rel not in self.paths:
            return rel
        head, base = posixpath.split(rel)
        if base == "Dockerfile":
            return posixpath.join(head, base + BESIDE_SUFFIX)
        stem, dot, suffix = base.rpartition(".")
        renamed = f"{stem}{BESIDE_SUFFIX}.{suffix}" if dot and stem else base + BESIDE_SUFFIX
        return posixpath.join(head, renamed)

    @property
    def compose_file(self) -> str:
        return self.name("docker-compose.yml")


def beside_candidates(folders: Iterable[str]) -> list[str]:
    """The paths `init` checks for the user's own version: each build folder's Dockerfile and
    .dockerignore, the compose file and README.md."""
    out = ["README.md", "docker-compose.yml"]
    for where in folders:
        for name in ("Dockerfile", ".dockerignore"):
            out.append(posixpath.normpath(posixpath.join(where, name)))
    return out
