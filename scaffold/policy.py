"""A template set's policy: image rewriting before rendering, checks on the rendered files.

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

After rendering, `check_output` reads what was actually written (every Dockerfile's `FROM`,
`COPY --from` and `RUN --mount=from=` images, every compose `image:`) and reports each
violation as one line: an image outside `allowed_registries`, one bypassing the mirror, one
without a digest under `require_digests`, a digest that contradicts the set's digests map, and a
Dockerfile whose final stage lacks a required label. So a child set that overrides a Dockerfile
can't slip past the policy by not using the catalog.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from scaffold.templateset import Policy, TemplateSet

DOCKER_HUB = "docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::?([-+])([^}]*))?\}|([A-Za-z_]\w*))")
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
STATE_DIR = ".dockergen"


# -------------------------------------------------------------------------- image references


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
    from scaffold.errors import UsageError

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


class ImageResolver:
    """Rewrites catalog images: digest pin first (by upstream name), then the mirror."""

    def __init__(self, policy: Policy, digests: Mapping[str, str]) -> None:
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


# ----------------------------------------------------------------------- Dockerfile parsing


@dataclass
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    line: int
    base: str  # as written, variables resolved
    name: str | None
    from_stage: bool
    labels: dict[str, str] = field(default_factory=dict)
    images: list[tuple[int, str, str]] = field(default_factory=list)  # (line, ref, where)


def parse_dockerfile(text: str) -> list[Instruction]:
    """Logical instructions with their first line (continuations joined, comments dropped)."""
    out: list[Instruction] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continuation are removed by Docker
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1])
            continue
        buf.append(stripped)
        text_line = " ".join(part.strip() for part in buf if part.strip())
        buf = []
        keyword, _, args = text_line.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    if buf:
        text_line = " ".join(part.strip() for part in buf if part.strip())
        keyword, _, args = text_line.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


def _words(args: str) -> list[str]:
    """Split like Docker's shell-word lexer (LABEL, ARG): quotes and backslash escapes."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    quote: str | None = None
    i = 0
    while i < len(args):
        c = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if quote == "'":
            if c == "'":
                quote = None
            else:
                cur.append(c)
        elif quote == '"':
            if c == '"':
                quote = None
            elif c == "\\" and nxt is not None and nxt in '"$\\':
                cur.append(nxt)
                i += 1
            else:
                cur.append(c)
        elif c.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            in_word = True
            if c in "'\"":
                quote = c
            elif c == "\\" and nxt is not None:
                cur.append(nxt)
                i += 1
            else:
                cur.append(c)
        i += 1
    if in_word:
        words.append("".join(cur))
    return words


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, op, word = match.group(1) or match.group(4), match.group(2), match.group(3)
        current = variables.get(name)
        if op == "-":
            return current if current else word
        if op == "+":
            return word if current else ""
        return current if current is not None else match.group(0)

    return _VAR.sub(value, text)


def _label_pairs(args: str) -> dict[str, str]:
    words = _words(args)
    if len(words) >= 2 and "=" not in words[0]:  # legacy `LABEL key value`
        return {words[0]: " ".join(words[1:])}
    pairs: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def dockerfile_stages(text: str) -> list[Stage]:
    """Stages with their base image, labels and the external images each one pulls."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    names: set[str] = set()
    for ins in parse_dockerfile(text):
        if ins.keyword == "ARG" and not stages:
            for word in _words(ins.args):
                key, sep, value = word.partition("=")
                if sep:
                    args[key] = value
            continue
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            base = _substitute(words[0], args) if words else ""
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            from_stage = base.lower() in names
            stage = Stage(ins.line, base, name, from_stage)
            if from_stage:
                parent = next(s for s in reversed(stages) if s.name == base.lower())
                stage.labels = dict(parent.labels)
            elif base:
                stage.images.append((ins.line, base, "FROM"))
            stages.append(stage)
            if name:
                names.add(name)
            continue
        if not stages:
            continue
        stage = stages[-1]
        if ins.keyword == "LABEL":
            stage.labels.update(_label_pairs(ins.args))
        elif ins.keyword in ("COPY", "ADD", "RUN"):
            for word in ins.args.split():
                if not word.startswith("--"):
                    break
                ref = None
                if word.startswith("--from="):
                    ref = word.removeprefix("--from=")
                elif word.startswith("--mount="):
                    for part in word.removeprefix("--mount=").split(","):
                        if part.startswith("from="):
                            ref = part.removeprefix("from=")
                if ref is None:
                    continue
                ref = _substitute(ref.strip("\"'"), args)
                if ref.lower() in names or ref.isdigit():
                    continue
                stage.images.append((ins.line, ref, f"{ins.keyword} --from"))
    return stages


# ----------------------------------------------------------------------------- the checks


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
        if name == "Dockerfile" or name.endswith(".Dockerfile") or name.startswith("Dockerfile."):
            found.append(path)
    return found


def _compose_images(path: Path) -> list[tuple[int | None, str, str]]:
    """(line, image, service) for each compose service with an image."""
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
        parsed = dockerfile_stages(path.read_text(encoding="utf-8", errors="replace"))
        stages[rel] = parsed
        for stage in parsed:
            refs += [Reference(rel, line, ref, where) for line, ref, where in stage.images]
    for name in COMPOSE_FILES:
        path = root / name
        if path.is_file():
            for line, ref, svc in _compose_images(path):
                refs.append(Reference(name, line, ref, f"service {svc}"))
    return refs, stages


def _allowed(image: Image, allowed: Iterable[str]) -> bool:
    for entry in allowed:
        host, _, prefix = entry.partition("/")
        host = DOCKER_HUB if host.lower() in _HUB_ALIASES else host.lower()
        if image.registry != host:
            continue
        if not prefix or image.path == prefix or image.path.startswith(prefix.rstrip("/") + "/"):
            return True
    return False


def check_output(root: Path, tset: TemplateSet) -> list[str]:
    """Every policy violation in a rendered project, one line each (empty: compliant)."""
    policy = tset.policy
    digests = dict(tset.digests)
    if not policy.active and not digests:
        return []
    refs, stages = references(root)
    problems: list[str] = []

    def report(ref: Reference, rule: str, message: str) -> None:
        at = f"{ref.file}:{ref.line}" if ref.line else ref.file
        problems.append(f"{at}: policy.{rule}: {message}")

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
                    f"{rel}:{final.line}: policy.labels: the final stage has {state} {key} label"
                )
    return problems


# ------------------------------------------------------------------------- external checkers


def find_tool(name: str) -> str | None:
    """A checker binary: next to this Python (a venv's bin), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    return shutil.which(name)


def hadolint(tool: str, path: Path, shown: str) -> list[str]:
    """hadolint with its default rules; every result is a finding."""
    with tempfile.TemporaryDirectory(prefix="dockergen-hadolint-") as tmp:
        config = Path(tmp) / "hadolint.yaml"
        config.write_text("{}\n", encoding="utf-8")
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp, "NO_COLOR": "1"}
        try:
            proc = subprocess.run(
                [tool, "--config", str(config), "--no-fail", "-f", "json", str(path.resolve())],
                capture_output=True,
                text=True,
                cwd=tmp,
                env=env,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"{shown}: hadolint failed: {exc}"]
    try:
        results = json.loads(proc.stdout)
    except ValueError:
        text = " ".join((proc.stdout + proc.stderr).split())
        return [f"{shown}: hadolint failed (exit {proc.returncode}): {text}"]
    return [
        f"{shown}:{r.get('line')}: {r.get('code')} ({r.get('level')}): {r.get('message')}"
        for r in results
    ]


def compose_config(tool: str, project: Path, file: str, shown: str) -> list[str]:
    """`docker compose config -q` without a daemon or the user's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    with tempfile.TemporaryDirectory(prefix="dockergen-compose-") as cfg:
        env["DOCKER_CONFIG"] = cfg
        try:
            proc = subprocess.run(
                [
                    tool,
                    "--project-directory",
                    str(project),
                    "-f",
                    str(project / file),
                    "config",
                    "-q",
                ],
                capture_output=True,
                text=True,
                cwd=project,
                env=env,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"{shown}: compose config failed: {exc}"]
    if proc.returncode != 0:
        text = " ".join(proc.stderr.split()) or f"exit {proc.returncode}"
        return [f"{shown}: compose config: {text}"]
    return []


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
