"""The audited files, read once and parsed: Dockerfiles by BuildKit's own parser (the PyPI
`dockerfile` package wraps moby/buildkit's Go parser), compose files after interpolation with
each value's line, build contexts and their .dockerignore patterns, and what the template set
says about the stacks it knows. The rules (scaffold.check.rules) only read this.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dockerfile as buildkit  # type: ignore[import-not-found]
import yaml

from scaffold.check.catalogue import knowledge
from scaffold.check.catalogue import load as load_rules
from scaffold.check.discover import kind_of
from scaffold.check.model import Finding, Skipped
from scaffold.dockerfile import _substitute
from scaffold.images import parse_image

if TYPE_CHECKING:
    from scaffold.templatesets.loader import TemplateSet

# Docker's instruction set: a word outside it is a syntax error the builder reports.
INSTRUCTIONS = frozenset(
    [
        *("FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY"),
        *("ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL"),
        *("HEALTHCHECK", "SHELL"),
    ]
)
_SNIFF = 8192
# libyaml's parser when PyYAML has it (about 10x faster: a 200-service file in well under 1 s)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Instruction:
    cmd: str  # upper case
    line: int
    end_line: int
    flags: tuple[str, ...]
    value: tuple[str, ...]
    json: bool
    heredocs: tuple[str, ...] = ()

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` (or "" for a bare `--name`), None when absent."""
        for item in self.flags:
            key, sep, value = item.partition("=")
            if key == f"--{name}":
                return value if sep else ""
        return None


@dataclass
class Stage:
    index: int
    line: int
    base: str  # the FROM image with the global ARGs' defaults substituted
    name: str | None
    parent: Stage | None  # FROM another stage of this file
    instructions: list[Instruction] = field(default_factory=list)

    def chain(self) -> list[Stage]:
        """This stage and the stages it is built FROM, oldest first: the layers it ships."""
        out: list[Stage] = []
        stage: Stage | None = self
        while stage is not None and stage not in out:
            out.append(stage)
            stage = stage.parent
        return out[::-1]

    @property
    def root_base(self) -> str:
        return self.chain()[0].base


@dataclass
class Dockerfile:
    path: Path
    rel: str
    text: str
    stages: list[Stage]
    preamble: list[Instruction] = field(default_factory=list)  # the ARGs before the first FROM

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, target: str | None) -> Stage:
        """The stage a build targets (compose `build.target`), the last one by default."""
        if target:
            for stage in self.stages:
                if stage.name == target.lower():
                    return stage
        return self.final


@dataclass
class Compose:
    path: Path
    rel: str
    data: dict[str, Any]
    lines: dict[tuple[Any, ...], int]
    builds: dict[str, Build] | None = None  # service -> its build, filled on first use

    def line(self, *keys: Any) -> int | None:
        """The line of the value at `keys`, or of its closest parent that has one."""
        for end in range(len(keys), 0, -1):
            found = self.lines.get(tuple(keys[:end]))
            if found is not None:
                return found
        return None

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        raw = self.data.get("services")
        if not isinstance(raw, dict):
            return {}
        return {str(k): v for k, v in raw.items() if isinstance(v, dict)}


@dataclass(frozen=True)
class Build:
    """One image build: a Dockerfile in a build context, from compose or a lone Dockerfile."""

    dockerfile: Path
    context: Path
    target: str | None = None


@dataclass(frozen=True)
class StackKind:
    """What the template set knows of a stack whose image a compose service may run."""

    name: str
    repository: str  # the image's last path component: postgres, mongo
    data_dir: str | None
    user: str | None
    internal: bool  # its category keeps it off the edge network and unpublished


class Interpolation(ValueError):
    pass


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose-spec interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e},
    ${VAR?e}, ${VAR:+a}, ${VAR+a}, nested in defaults. Interpolation on an error."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            value, i = _braced(text, i + 2, env)
            out.append(value)
        else:
            match = _NAME.match(text, i + 1)
            if match is None:
                out.append("$")  # a lone $ is kept, as compose does
                i += 1
            else:
                out.append(env.get(match.group(0), ""))
                i = match.end()
    return "".join(out)


def _braced(text: str, start: int, env: Mapping[str, str]) -> tuple[str, int]:
    match = _NAME.match(text, start)
    if match is None:
        raise Interpolation(f"invalid interpolation format in {text!r}")
    name, i = match.group(0), match.end()
    if i >= len(text):
        raise Interpolation(f"invalid interpolation format: unclosed ${{ in {text!r}")
    if text[i] == "}":
        return env.get(name, ""), i + 1
    op = text[i : i + 2] if text[i] == ":" else text[i]
    if op not in (":-", ":?", ":+", "-", "?", "+"):
        raise Interpolation(f"invalid interpolation format for {name} in {text!r}")
    # the word runs to the matching brace (defaults may nest ${...})
    depth, j = 1, i + len(op)
    while j < len(text):
        if text.startswith("${", j):
            depth += 1
            j += 2
            continue
        if text[j] == "}":
            depth -= 1
            if depth == 0:
                break
        j += 1
    if depth:
        raise Interpolation(f"invalid interpolation format: unclosed ${{ in {text!r}")
    word = text[i + len(op) : j]
    value = env.get(name)
    empty_counts = op.startswith(":")
    unset = value is None or (empty_counts and value == "")
    if op.endswith("-"):
        return (interpolate(word, env) if unset else value or ""), j + 1
    if op.endswith("+"):
        return ("" if unset else interpolate(word, env)), j + 1
    if unset:
        detail = interpolate(word, env) or "is not set"
        raise Interpolation(f"required variable {name} is missing a value: {detail}")
    return value or "", j + 1


def read_env_file(path: Path) -> dict[str, str]:
    """A compose `.env` file: KEY=VALUE lines, `export` allowed, quotes removed."""
    env: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return env
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not _NAME.fullmatch(key.strip()):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        env[key.strip()] = value
    return env


class _Builder:
    """Compose YAML nodes -> plain data with each value's line, interpolating strings."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.lines: dict[tuple[Any, ...], int] = {}
        self.constructor = yaml.SafeLoader("")
        self.errors: list[tuple[int, str]] = []

    def build(self, node: yaml.Node, path: tuple[Any, ...], depth: int = 0) -> Any:
        if depth > 100:
            return None
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key, value in node.value:
                if key.tag == "tag:yaml.org,2002:merge":
                    merged = value.value if isinstance(value, yaml.SequenceNode) else [value]
                    for item in merged:
                        base = self.build(item, path, depth + 1)
                        if isinstance(base, dict):
                            for k, v in base.items():
                                out.setdefault(k, v)
                    continue
                name = str(key.value)
                self.lines[(*path, name)] = key.start_mark.line + 1
                out[name] = self.build(value, (*path, name), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, n), depth + 1) for n, item in enumerate(node.value)]
        value = self.constructor.construct_object(node)
        if _yaml11_only(node, value):
            value = str(node.value)  # compose reads YAML 1.2: `8080:80`, `yes` are strings
        if isinstance(value, str) and "$" in value:
            try:
                return interpolate(value, self.env)
            except Interpolation as exc:
                self.errors.append((node.start_mark.line + 1, str(exc)))
                return value
        return value


def _yaml11_only(node: yaml.Node, value: object) -> bool:
    """A plain scalar PyYAML (YAML 1.1) reads as a number but compose's YAML 1.2 parser keeps
    as text: base-60 numbers (`8080:80` is 484880 to PyYAML) and `_` digit groups."""
    if not isinstance(node, yaml.ScalarNode) or node.style not in (None, ""):
        return False
    text = str(node.value)
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (":" in text or "_" in text)
    )


def parse_compose(path: Path, rel: str, text: str) -> tuple[Compose | None, list[Finding]]:
    """A compose file as data after interpolation, or the DG000/DG001 findings saying why not."""
    rules = load_rules()

    def problem(rule: str, line: int | None, message: str) -> Finding:
        return Finding(rule, rel, line, message, rules[rule].severity)

    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [problem("DG000", line, f"invalid YAML: {what}")]
    if node is None:
        return None, [problem("DG000", None, "empty compose file: no services")]
    if not isinstance(node, yaml.MappingNode):
        return None, [problem("DG000", 1, "not a compose file: the top level is not a mapping")]
    env = read_env_file(path.parent / ".env")
    env.update(os.environ)  # the shell wins over .env, as in compose
    builder = _Builder(env)
    try:
        data = builder.build(node, ())
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        return None, [problem("DG000", None, f"invalid YAML value: {exc}")]
    found = [problem("DG001", line, message) for line, message in builder.errors]
    services = data.get("services")
    if services is not None and not isinstance(services, dict):
        found.append(
            problem("DG000", builder.lines.get(("services",)), "`services` is not a mapping")
        )
        data = {k: v for k, v in data.items() if k != "services"}
    elif isinstance(services, dict):
        for name, svc in services.items():
            if not isinstance(svc, dict):
                continue
            for key in [k for k in svc if k in _SHAPES]:
                if not isinstance(svc[key], _SHAPES[key]):
                    want = " or ".join(_WORDS[t] for t in _SHAPES[key])
                    found.append(
                        problem(
                            "DG000",
                            builder.lines.get(("services", name, key)),
                            f"services.{name}.{key} is not {want}: compose refuses this file",
                        )
                    )
                    del svc[key]  # the rules read only well-shaped values
    return Compose(path, rel, data, builder.lines), found


# The compose-spec types of the service keys the rules read: a value of another type is a
# finding, and is dropped so that no rule meets it.
_SHAPES: dict[str, tuple[type, ...]] = {
    "volumes": (list,),
    "ports": (list,),
    "cap_add": (list,),
    "cap_drop": (list,),
    "security_opt": (list,),
    "secrets": (list,),
    "tmpfs": (list, str),
    "networks": (list, dict),
    "depends_on": (list, dict),
    "environment": (list, dict),
    "build": (dict, str),
    "healthcheck": (dict,),
    "logging": (dict,),
    "deploy": (dict,),
}
_WORDS: dict[type, str] = {list: "a list", dict: "a mapping", str: "a string"}


def parse_dockerfile(path: Path, rel: str, text: str) -> tuple[Dockerfile | None, list[Finding]]:
    """A Dockerfile's stages and instructions, or the DG000 finding saying why not."""
    rules = load_rules()

    def problem(line: int | None, message: str) -> list[Finding]:
        return [Finding("DG000", rel, line, message, rules["DG000"].severity)]

    try:
        commands = buildkit.parse_string(text)
    except buildkit.GoParseError as exc:
        message = str(exc)
        if "no instructions" in message:
            return None, problem(None, "empty Dockerfile: no instructions")
        return None, problem(_line_of(message), f"Dockerfile syntax error: {message}")
    args: dict[str, str] = {}
    stages: list[Stage] = []
    preamble: list[Instruction] = []
    for cmd in commands:
        name = cmd.cmd.upper()
        if name not in INSTRUCTIONS:
            return None, problem(cmd.start_line, f"unknown instruction {cmd.cmd}")
        ins = Instruction(
            name,
            cmd.start_line,
            cmd.end_line,
            tuple(cmd.flags),
            tuple(cmd.value),
            bool(cmd.json),
            tuple(getattr(cmd, "heredocs", ()) or ()),
        )
        if name == "FROM":
            words = list(cmd.value)
            if not words:
                return None, problem(cmd.start_line, "FROM without an image")
            base = _substitute(words[0], args)
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            parent = next((s for s in reversed(stages) if s.name == base.lower()), None)
            stages.append(Stage(len(stages), cmd.start_line, base, alias, parent, [ins]))
            continue
        if not stages:
            if name == "ARG":
                preamble.append(ins)
                for word in cmd.value:
                    key, sep, value = word.partition("=")
                    if sep:
                        args[key] = value.strip("\"'")
                continue
            return None, problem(cmd.start_line, f"{name} before the first FROM")
        stages[-1].instructions.append(ins)
    if not stages:
        return None, problem(None, "no FROM: the Dockerfile has no build stage")
    return Dockerfile(path, rel, text, stages, preamble), []


def _line_of(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def decode(data: bytes) -> str | None:
    """The text of a file, or None for binary content (a NUL byte, or not UTF-8)."""
    if b"\0" in data[:_SNIFF]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


@dataclass
class Project:
    """Everything the rules read, parsed once."""

    root: Path
    tset: TemplateSet
    dockerfiles: dict[Path, Dockerfile] = field(default_factory=dict)
    composes: list[Compose] = field(default_factory=list)
    builds: list[Build] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    stack_kinds: list[StackKind] = field(default_factory=list)

    @classmethod
    def read(cls, files: list[Path], root: Path, tset: TemplateSet) -> Project:
        project = cls(root, tset)
        project.stack_kinds = _stack_kinds(tset)
        rules = load_rules()
        for path in files:
            rel = Path(os.path.relpath(path, root)).as_posix()
            kind = kind_of(path)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                project.skipped.append(Skipped(rel, f"could not be read: {exc.strerror or exc}"))
                continue
            project.files.append(rel)
            text = decode(raw)
            if text is None:
                if kind != "dockerignore":
                    message = "binary content (not UTF-8 text): not a Dockerfile or compose file"
                    project.problems.append(
                        Finding("DG000", rel, None, message, rules["DG000"].severity)
                    )
                continue
            if kind == "dockerfile":
                parsed, found = parse_dockerfile(path, rel, text)
                project.problems += found
                if parsed is not None:
                    project.dockerfiles[_key(path)] = parsed
            elif kind == "compose":
                compose, found = parse_compose(path, rel, text)
                project.problems += found
                if compose is not None:
                    project.composes.append(compose)
        project.builds = project._builds()
        return project

    def rel(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.root)).as_posix()

    def dockerfile(self, path: Path) -> Dockerfile | None:
        return self.dockerfiles.get(_key(path))

    def _builds(self) -> list[Build]:
        """Each compose service's build (a local context with a Dockerfile), and every audited
        Dockerfile no compose file builds, in its own folder as the context."""
        out: list[Build] = []
        for compose in self.composes:
            for _, build in compose_builds(compose):
                out.append(build)
        used = {_key(b.dockerfile) for b in out}
        for key, parsed in self.dockerfiles.items():
            if key not in used:
                out.append(Build(parsed.path, parsed.path.parent))
        return out

    def service_build(self, compose: Compose, name: str) -> Build | None:
        if compose.builds is None:
            compose.builds = dict(compose_builds(compose))
        return compose.builds.get(name)

    def stack_kind(self, image: object) -> StackKind | None:
        """The set's stack whose image a compose `image:` runs, by repository name (a mirror
        or another registry in front of it doesn't matter)."""
        if not isinstance(image, str):
            return None
        try:
            path = parse_image(image).path
        except ValueError:
            return None
        aliases = knowledge().image_aliases
        repo = aliases.get(path.removeprefix("library/")) or path.rsplit("/", 1)[-1]
        repo = aliases.get(repo, repo)
        return next((k for k in self.stack_kinds if k.repository == repo), None)


def compose_builds(compose: Compose) -> Iterator[tuple[str, Build]]:
    for name, svc in compose.services.items():
        spec = svc.get("build")
        if spec is None:
            continue
        if isinstance(spec, str):
            spec = {"context": spec}
        if not isinstance(spec, dict):
            continue
        context = str(spec.get("context") or ".")
        if "://" in context or context.startswith("git@") or "dockerfile_inline" in spec:
            continue  # a remote context or an inline Dockerfile: no files here to read
        ctx = Path(posixpath.normpath(str(compose.path.parent / context)))
        dockerfile = ctx / str(spec.get("dockerfile") or "Dockerfile")
        target = spec.get("target")
        yield name, Build(dockerfile, ctx, str(target) if target else None)


def _key(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _stack_kinds(tset: TemplateSet) -> list[StackKind]:
    categories = tset.manifest.categories
    out: list[StackKind] = []
    for name, kind in tset.kinds.items():
        if not kind.image:
            continue
        try:
            repo = parse_image(kind.image).path.rsplit("/", 1)[-1]
        except ValueError:
            continue
        spec = categories.get(kind.category)
        internal = bool(spec and spec.internal) or kind.publish is False
        out.append(StackKind(name, repo, kind.data_dir, kind.user, internal))
    return out
