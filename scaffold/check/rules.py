"""The rules of the catalogue (scaffold/check/rules.yml), applied to a parsed Project.

Each check reads parsed structures (Dockerfile stages and instructions, compose data after
interpolation, build contexts with Docker's .dockerignore matching) and what the template set
and the catalogue's `knowledge` say; none greps text. Rules that span files (a compose service
and the Dockerfile it builds, a Dockerfile and its context) are why this is not a linter.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import itertools
import os
import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from scaffold import dockerignore
from scaffold.check.catalogue import Insecure, Install, Knowledge, knowledge
from scaffold.check.catalogue import load as load_rules
from scaffold.check.discover import PRUNED
from scaffold.check.model import Finding
from scaffold.check.project import (
    Build,
    Compose,
    Dockerfile,
    Instruction,
    Project,
    StackKind,
    Stage,
    compose_builds,
)
from scaffold.images import parse_image

Emit = Callable[..., None]


def apply(project: Project, *, policy: bool) -> list[Finding]:
    """Every finding of every rule (policy rules only with `policy`)."""
    rules = load_rules()
    know = knowledge()
    found: list[Finding] = []

    def emit(
        rule: str, path: str, line: int | None, message: str, *, related: Iterable[str] = ()
    ) -> None:
        found.append(Finding(rule, path, line, message, rules[rule].severity, None, tuple(related)))

    for parsed in project.dockerfiles.values():
        _dockerfile_rules(parsed, know, project, emit)
    for build in _unique_builds(project.builds):
        built = project.dockerfile(build.dockerfile)
        if built is not None:
            _context_rules(built, build, know, project, emit)
    for compose in project.composes:
        _compose_rules(compose, know, project, emit)
    if policy:
        from scaffold.check.policyrules import policy_findings

        found += policy_findings(project)
    return _with_end_lines(found, project)


def _with_end_lines(found: list[Finding], project: Project) -> list[Finding]:
    """A finding on a Dockerfile instruction that spans lines (a RUN continued with `\\`) gets
    its last line too, so a SARIF region covers the whole instruction."""
    spans: dict[str, dict[int, int]] = {}
    for parsed in project.dockerfiles.values():
        spans[parsed.rel] = {
            ins.line: ins.end_line
            for ins in [*parsed.preamble, *(i for s in parsed.stages for i in s.instructions)]
            if ins.end_line > ins.line
        }
    out = []
    for f in found:
        end = spans.get(f.path, {}).get(f.line or 0)
        out.append(dataclasses.replace(f, end_line=end) if end and f.end_line is None else f)
    return out


def _unique_builds(builds: Iterable[Build]) -> list[Build]:
    seen: dict[tuple[str, str], Build] = {}
    for build in builds:
        seen.setdefault((os.path.abspath(build.dockerfile), os.path.abspath(build.context)), build)
    return list(seen.values())


# ---- words: credential names and values, shell commands ---------------------------------------


def credential_name(name: str, know: Knowledge) -> bool:
    """A variable name that holds a credential (NPM_TOKEN, DB_PASSWORD, api-key), not one that
    points to it (POSTGRES_PASSWORD_FILE) or describes it (PASSWORD_LENGTH)."""
    words = [w for w in re.split(r"[_.\-]+", name.lower()) if w]
    if not words or words[-1] in know.reference_words:
        return False
    if any(w in know.credential_words for w in words):
        return True
    pairs = {f"{a}_{b}" for a, b in itertools.pairwise(words)}
    return bool(pairs & know.credential_names) or "_".join(words) in know.credential_names


def credential_value(value: str, know: Knowledge) -> bool:
    return bool(value) and know.value_patterns.search(value) is not None


_SEPARATORS = {"&&", "||", ";", "|", "&", "\n", "(", ")", "{", "}", ";;"}


@functools.lru_cache(maxsize=4096)
def commands(ins: Instruction) -> list[list[str]]:
    """The simple commands of a RUN: exec form as is; shell form split at && || ; | & with the
    shell's quoting, leading `sudo`/`env`/VAR=value words removed."""
    if ins.cmd != "RUN":
        return []
    if ins.json:
        return [list(ins.value)] if ins.value else []
    script = " ".join(ins.value)
    for doc in ins.heredocs:
        script += "\n" + str(getattr(doc, "content", doc))
    try:
        lexer = shlex.shlex(script.replace("\n", " ; "), posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: words as written
        tokens = script.split()
    out: list[list[str]] = []
    current: list[str] = []
    for token in tokens:
        if token in _SEPARATORS or set(token) <= set(";&|()"):
            if current:
                out.append(current)
            current = []
            continue
        if not current and (
            token in ("sudo", "env", "exec", "then", "do", "else")
            or re.fullmatch(r"[A-Za-z_]\w*=.*", token)
        ):
            continue
        current.append(token)
    if current:
        out.append(current)
    return out


# option words that select what a program does (`python -m pip`), kept when matching commands
_SELECTORS = frozenset({"-m"})


@functools.lru_cache(maxsize=8192)
def _head(argv: tuple[str, ...]) -> tuple[str, ...]:
    """A command's words without options (but `-m`), the program by its base name: what
    `knowledge` prefixes are matched against (`/usr/bin/pip -q install` -> pip install)."""
    words = [w for w in argv if not w.startswith("-") or w in _SELECTORS]
    return (posixpath.basename(words[0]), *words[1:]) if words else ()


def _starts(argv: list[str], prefix: tuple[str, ...]) -> bool:
    return _head(tuple(argv))[: len(prefix)] == tuple(prefix)


def _install(argv: list[str], know: Knowledge) -> Install | None:
    for spec in know.installs:
        if _starts(argv, spec.argv):
            return spec
    return None


def _has_flag(argv: list[str], flags: Iterable[str]) -> bool:
    for word in argv:
        for flag in flags:
            if word == flag or (flag.startswith("-") and word.startswith(flag + "=")):
                return True
            if "=" in flag and word == flag:
                return True
    # `--omit dev` as two words
    pairs = {f"{a}={b}" for a, b in itertools.pairwise(argv)}
    return any(flag in pairs for flag in flags)


def _insecure(argv: list[str], spec: Insecure) -> str | None:
    """The flag or words of `argv` that switch a check off, if `spec` matches it."""
    if not _starts(argv, spec.argv):
        return None
    rest = argv[1:]
    for flag in spec.flags:
        short = len(flag) == 2 and flag[0] == "-" and flag[1] != "-"
        for word in rest:
            if word == flag or word.startswith(flag + "="):
                return word
            if short and re.fullmatch(r"-[A-Za-z]+", word) and flag[1] in word:
                return word
    lowered = [w.lower() for w in rest]
    if spec.words and all(w.lower() in lowered for w in spec.words):
        return " ".join(spec.words)
    return None


def _insecure_env(name: str, value: str, know: Knowledge) -> bool:
    values = know.insecure_env.get(name)
    if values is None:
        return False
    return ("*" in values and bool(value)) or value.lower() in values


def _from_manifest(argv: list[str], spec: Install) -> bool:
    """Whether an install reads a manifest copied in (`pip install -r requirements.txt`, `.`),
    not packages named on its command line."""
    if spec.manifest:
        return True
    return _has_flag(argv, spec.manifest_flags) or any(
        word.startswith(flag) and len(flag) == 2 and flag[0] == "-" and flag[1] != "-"
        for word in argv
        for flag in spec.manifest_flags
    )


def _cache_mount(ins: Instruction) -> bool:
    return any(f.startswith("--mount=") and "type=cache" in f for f in ins.flags)


# ---- Dockerfile rules ----------------------------------------------------------------------------


def _dockerfile_rules(df: Dockerfile, know: Knowledge, project: Project, emit: Emit) -> None:
    rel = df.rel
    final = df.final
    chain = final.chain()
    stages = df.stages

    # DG202: credentials in ARG / ENV, any stage (ARG values reach the history of every stage
    # that uses them; a builder's ENV leaks through `docker history` of cached builds too)
    for ins in [*df.preamble, *(i for stage in stages for i in stage.instructions)]:
        if ins.cmd in ("ARG", "ENV"):
            if ins.cmd == "ARG":
                for word in ins.value:
                    name, sep, value = word.partition("=")
                    value = value.strip("\"'")
                    if credential_value(value, know):
                        emit(
                            "DG202",
                            rel,
                            ins.line,
                            f"ARG {name} has a credential as its default value",
                        )
                    elif credential_name(name, know):
                        how = "has a default value" if sep and value else "is passed at build time"
                        emit(
                            "DG202",
                            rel,
                            ins.line,
                            f"ARG {name} looks like a credential and {how}: "
                            "build arguments are kept in the image history",
                        )
            elif ins.cmd == "ENV":
                for name, value in _pairs(ins.value):
                    if credential_value(value, know):
                        emit("DG202", rel, ins.line, f"ENV {name} holds a credential")
                    elif credential_name(name, know) and value.strip():
                        emit(
                            "DG202",
                            rel,
                            ins.line,
                            f"ENV {name} looks like a credential: "
                            "its value ships in the image configuration",
                        )

    # DG522: TLS and signature checks switched off, in any stage (a builder's download ends up
    # in the artifacts it hands on)
    for stage in stages:
        for ins in stage.instructions:
            for argv in commands(ins):
                for insecure in know.insecure_commands:
                    flag = _insecure(argv, insecure)
                    if flag:
                        shown = " ".join(insecure.argv)
                        emit("DG522", rel, ins.line, f"`{shown}` with {flag} skips verification")
            if ins.cmd == "ENV":
                for name, value in _pairs(ins.value):
                    if _insecure_env(name, value, know):
                        emit(
                            "DG522", rel, ins.line, f"ENV {name}={value} switches verification off"
                        )

    # DG521 / DG523: how the final image starts, what it exposes
    last: dict[str, Instruction] = {}
    for stage in chain:
        for ins in stage.instructions:
            if ins.cmd in ("CMD", "ENTRYPOINT"):
                last[ins.cmd] = ins
            if ins.cmd == "EXPOSE" and any(p.split("/")[0] == "22" for p in ins.value):
                emit("DG523", rel, ins.line, "the image exposes port 22 (SSH)")
    for cmd, ins in sorted(last.items()):
        if not ins.json:
            emit("DG521", rel, ins.line, f"{cmd} is in shell form: /bin/sh -c is PID 1")

    # DG201: copied in, deleted later, in the layers the final image ships
    _copy_then_delete(df, chain, project, emit)

    # DG301 / DG302: where the build's toolchain ends up
    installs_or_builds = [
        ins
        for ins in final.instructions
        if any(_install(c, know) or any(_starts(c, b) for b in know.builds) for c in commands(ins))
    ]
    if len(stages) == 1 and installs_or_builds:
        emit(
            "DG301",
            rel,
            final.line,
            f"one stage, FROM {final.base}, installs or builds "
            f"(line {installs_or_builds[0].line}) and is also what runs",
        )
    elif len(stages) > 1 and _build_image(final.root_base, know, project):
        emit(
            "DG302",
            rel,
            final.line,
            f"the final stage is based on {final.root_base}, a build image",
        )

    # DG303 / DG304: caches and dev dependencies in the layers of the final image
    env: dict[str, str] = {}
    for stage in chain:
        for ins in stage.instructions:
            if ins.cmd == "ENV":
                env.update(dict(_pairs(ins.value)))
            for argv in commands(ins):
                spec = _install(argv, know)
                if (
                    spec is not None
                    and spec.cache_ok
                    and not _cache_mount(ins)
                    and not _has_flag(argv, spec.cache_ok)
                    and not _env_says_no_cache(env, spec)
                ):
                    emit(
                        "DG303",
                        rel,
                        ins.line,
                        f"`{' '.join(spec.argv)}` without "
                        f"{' or '.join(spec.cache_ok)} keeps its download cache in the layer",
                    )
                if spec is not None and spec.prod_ok is not None:
                    production = any(env.get(k) == v for k, v in know.production_env.items())
                    if not production and not _has_flag(argv, spec.prod_ok):
                        emit(
                            "DG304",
                            rel,
                            ins.line,
                            f"`{' '.join(spec.argv)}` in the final "
                            f"image installs dev dependencies too (add {spec.prod_ok[0]})",
                        )
            apt = [c for c in commands(ins) if any(_starts(c, a) for a in know.apt_installs)]
            if apt and not _cache_mount(ins):
                words = {w for c in commands(ins) for w in c}
                cleaned = any(w.rstrip("/*").startswith(p) for w in words for p in know.apt_cleanup)
                if not cleaned:
                    emit(
                        "DG303",
                        rel,
                        ins.line,
                        "apt package lists are not removed in the RUN "
                        "that installs (rm -rf /var/lib/apt/lists/*)",
                    )

    # DG305: dependencies installed after the whole context is copied, in the same stage
    for stage in stages:
        copied_all: int | None = None
        ran: list[list[str]] = []
        fetched = False  # an install from the manifests before the whole copy: the cached layer
        for ins in stage.instructions:
            whole = any(posixpath.normpath(src) == "." for src in ins.value[:-1])
            if ins.cmd in ("COPY", "ADD") and ins.flag("from") is None and whole:
                copied_all = ins.line
            for argv in commands(ins):
                spec = _install(argv, know)
                earlier = (
                    any(_starts(r, u) for r in ran for u in spec.implicit_unless) if spec else False
                )
                ran.append(argv)
                if spec is None or earlier:
                    continue
                if copied_all is None:
                    fetched = fetched or _from_manifest(argv, spec)
                elif not fetched and _from_manifest(argv, spec):
                    emit(
                        "DG305",
                        rel,
                        ins.line,
                        f"`{' '.join(spec.argv)}` runs after the "
                        f"whole context is copied (line {copied_all}): every source change "
                        "reinstalls the dependencies",
                    )

    # DG501: the user the final image runs as
    user = _final_user(final)
    if user is None or _is_root(user):
        how = f"USER {user}" if user else "no USER"
        emit(
            "DG501",
            rel,
            final.line,
            f"the final stage (FROM {final.base}) has {how}: it runs as root",
        )

    # DG518 / DG519: pinned bases, ADD
    for stage in stages:
        if stage.parent is None and stage.base.lower() != "scratch" and "$" not in stage.base:
            try:
                image = parse_image(stage.base)
            except ValueError:
                image = None
            if image is not None and not image.digest and image.tag in (None, "latest"):
                emit("DG518", rel, stage.line, f"FROM {stage.base} is not pinned to a version tag")
        for ins in stage.instructions:
            if ins.cmd == "ADD":
                srcs = ins.value[:-1]
                remote = [s for s in srcs if "://" in s or s.startswith("git@")]
                what = f"fetches {remote[0]}" if remote else "copies local files"
                emit("DG519", rel, ins.line, f"ADD {what}; COPY does only what it says")


def _pairs(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """ENV's (name, value) pairs, as the parser gives them (name, value, name, value...)."""
    out = []
    for i in range(0, len(values) - 1, 2):
        value = values[i + 1]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out.append((values[i], value))
    return out


def _env_says_no_cache(env: dict[str, str], spec: Install) -> bool:
    """An ENV that does what a cache_ok flag does (PIP_NO_CACHE_DIR)."""
    return any(env.get(name, "").strip() for name in spec.cache_env)


def _build_image(base: str, know: Knowledge, project: Project) -> bool:
    try:
        image = parse_image(base)
    except ValueError:
        return False
    repo = image.path.removeprefix("library/")
    for kind in project.tset.kinds.values():
        ref = kind.images.get("build")
        if not ref:
            continue
        try:
            build = parse_image(ref)
        except ValueError:
            continue
        if build.path == image.path:
            return True
    if any(fnmatch.fnmatchcase(repo, p) for p in know.build_repositories):
        return True
    return image.tag is not None and any(fnmatch.fnmatchcase(image.tag, p) for p in know.build_tags)


def _final_user(final: Stage) -> str | None:
    for stage in reversed(final.chain()):
        for ins in reversed(stage.instructions):
            if ins.cmd == "USER" and ins.value:
                return ins.value[0]
    return None


def _is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("root", "0", "")


def _workdir(current: str, arg: str) -> str:
    return posixpath.normpath(posixpath.join(current, arg))


def _copy_then_delete(df: Dockerfile, chain: list[Stage], project: Project, emit: Emit) -> None:
    """DG201: a COPY/ADD of the build context whose file a later RUN of the shipped stages
    removes. A whole-folder copy counts for the files the context actually holds."""
    copies: list[tuple[int, str, str | None]] = []  # (line, container path, context dir)
    workdir = "/"
    context = df.path.parent
    for stage in chain:
        for ins in stage.instructions:
            if ins.cmd == "WORKDIR" and ins.value:
                workdir = _workdir(workdir, ins.value[0])
            elif ins.cmd in ("COPY", "ADD") and ins.flag("from") is None and len(ins.value) >= 2:
                dest = ins.value[-1]
                srcs = ins.value[:-1]
                absdest = _workdir(workdir, dest)
                into_dir = dest.endswith("/") or len(srcs) > 1 or dest in (".", "./")
                for src in srcs:
                    if "://" in src:
                        continue
                    norm = posixpath.normpath(src)
                    if norm == "." or (context / norm).is_dir():
                        copies.append((ins.line, absdest, norm))
                    else:
                        target = (
                            posixpath.join(absdest, posixpath.basename(norm))
                            if into_dir
                            else absdest
                        )
                        copies.append((ins.line, target, None))
            elif ins.cmd == "RUN":
                for argv in commands(ins):
                    if not argv or posixpath.basename(argv[0]) not in ("rm", "shred", "unlink"):
                        continue
                    for word in argv[1:]:
                        if word.startswith("-"):
                            continue
                        gone = _workdir(workdir, word)
                        for line, target, folder in copies:
                            hit = _removed(gone, target, folder, context)
                            if hit:
                                emit(
                                    "DG201",
                                    df.rel,
                                    ins.line,
                                    f"{hit} is copied in at line "
                                    f"{line} and deleted here: the layer of line {line} still "
                                    "holds it",
                                )


def _removed(gone: str, target: str, folder: str | None, context: Path) -> str | None:
    """What of a copy a removal deletes (its container path), if anything."""
    if folder is None:
        if (
            fnmatch.fnmatchcase(target, gone)
            or target == gone
            or target.startswith(gone.rstrip("/") + "/")
        ):
            return target
        return None
    # a folder copied to `target`: the removal names a path in it; is that file in the context?
    if gone == target or not gone.startswith(target.rstrip("/") + "/"):
        return None
    inside = gone[len(target.rstrip("/")) + 1 :]
    if "*" in inside or "?" in inside:
        return None
    return gone if (context / folder / inside).exists() else None


# ---- build contexts: .dockerignore and the files it leaves in ------------------------------------


def _context_rules(
    df: Dockerfile, build: Build, know: Knowledge, project: Project, emit: Emit
) -> None:
    root = os.path.abspath(project.root)
    if os.path.commonpath([root, os.path.abspath(build.context)]) != root:
        return  # a context outside the audited tree (`build: /`) is not ours to walk
    own = build.dockerfile.parent / f"{build.dockerfile.name}.dockerignore"
    ignore = own if own.is_file() else build.context / ".dockerignore"
    if not build.context.is_dir():
        return
    if not ignore.is_file():
        emit(
            "DG205",
            df.rel,
            None,
            f"the build context {project.rel(build.context)}/ has no .dockerignore",
        )
        patterns: list[str] = []
    else:
        patterns = dockerignore.patterns(ignore)
    matcher = dockerignore.matcher(patterns)
    where = project.rel(ignore) if ignore.is_file() else df.rel
    for rel in _context_files(build.context, matcher, lambda rel: _secret_file(rel, know)):
        shown = project.rel(build.context / rel)
        why = "no .dockerignore pattern excludes it" if patterns else "nothing excludes it"
        emit(
            "DG203",
            where,
            None,
            f"{shown} is in the build context of {df.rel} and {why}",
            related=(shown, df.rel),
        )


def _secret_file(rel: str, know: Knowledge) -> bool:
    """A context path whose name (or a folder's name on its way) says it holds a secret."""
    parts = rel.split("/")
    if any(fnmatch.fnmatchcase(parts[-1], p) for p in know.not_secret_files):
        return False
    return any(
        fnmatch.fnmatchcase(part, p) for part in parts for p in know.secret_files if "/" not in p
    ) or any(fnmatch.fnmatchcase(rel, p) for p in know.secret_files if "/" in p)


def _context_files(
    context: Path, matcher: Any, wanted: Callable[[str], bool] = lambda rel: True
) -> Iterator[str]:
    """The `wanted` files of a context that the builder receives: docker-py's PatternMatcher
    decides, as `docker build` does; excluded folders are not entered unless an exception
    (`!`) may re-include something in them. Dependency and VCS folders are not entered."""
    exceptions = [p.cleaned_pattern for p in matcher.patterns if p.exclusion]
    for folder, dirs, files in os.walk(context):
        base = os.path.relpath(folder, context)
        base = "" if base == "." else base
        kept = []
        for d in sorted(dirs):
            rel = f"{base}/{d}" if base else d
            if d in PRUNED:
                continue  # never a place for the project's secrets, and large
            if matcher.matches(rel) and not any(e.startswith(rel) for e in exceptions):
                continue
            kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            rel = f"{base}/{name}" if base else name
            if wanted(rel) and not matcher.matches(rel):
                yield rel


# ---- compose rules ----------------------------------------------------------------------------


def _compose_rules(compose: Compose, know: Knowledge, project: Project, emit: Emit) -> None:
    rel = compose.rel
    services = compose.services
    data = compose.data
    if "version" in data:
        emit("DG517", rel, compose.line("version"), "top-level `version:` is obsolete")
    databases = {
        name: kind
        for name, svc in services.items()
        if (kind := project.stack_kind(svc.get("image"))) is not None and "build" not in svc
    }
    networks = data.get("networks") if isinstance(data.get("networks"), dict) else {}
    assert isinstance(networks, dict)
    healthy = {
        name: _has_healthcheck(compose, name, svc, project) for name, svc in services.items()
    }
    layout = _layout_kinds(compose, project)

    for name, svc in services.items():
        at = ("services", name)
        line = compose.line(*at)
        kind = databases.get(name)
        built = "build" in svc

        # persistence
        if kind is not None and kind.data_dir:
            _persistence(compose, name, svc, kind, emit)

        # layers: build args
        build = svc.get("build")
        if isinstance(build, dict):
            for key, value, where in _mapping(build.get("args")):
                why = _why_secret(key, "" if value is None else str(value), know)
                if why:
                    emit(
                        "DG204",
                        rel,
                        compose.line(*at, "build", "args", where),
                        f"{name} passes build arg {key} to its build, and {why}",
                    )

        # compose: depends_on, ports, networks
        for dep, cond, dline in _depends(compose, name, svc):
            if dep in services and healthy.get(dep) and cond != "service_healthy":
                if layout and _set_allows(layout, name, dep, cond, project):
                    continue
                emit(
                    "DG401",
                    rel,
                    dline,
                    f"{name} depends on {dep}, which has a healthcheck, "
                    f"with condition {cond}: it may start before {dep} is ready",
                )
        ports = svc.get("ports") if isinstance(svc.get("ports"), list) else []
        for i, port in enumerate(ports or []):
            pline = compose.line(*at, "ports", i)
            if kind is not None and kind.internal:
                emit("DG402", rel, pline, f"database {name} publishes port {_port_text(port)}")
            elif not _loopback(port):
                emit("DG516", rel, pline, f"{name} publishes {_port_text(port)} on every interface")
        if kind is not None and kind.internal and "network_mode" not in svc:
            nets = _service_networks(svc)
            if "default" in nets:
                others = sorted(
                    o
                    for o, s in services.items()
                    if o != name and "default" in _service_networks(s) and "network_mode" not in s
                )
                if others:
                    emit(
                        "DG403",
                        rel,
                        line,
                        f"database {name} is on the default network with {', '.join(others)}",
                    )
            for net in sorted(nets - {"default"}):
                spec = networks.get(net)
                if isinstance(spec, dict) and (
                    spec.get("external") or spec.get("internal") is True
                ):
                    continue
                if net in networks:
                    emit(
                        "DG404",
                        rel,
                        compose.line("networks", net),
                        f"network {net} of database {name} is not internal: true",
                    )

        # hardening
        _hardening(compose, name, svc, kind, built, healthy[name], know, project, emit)


def _mapping(value: Any) -> list[tuple[str, Any, str | int]]:
    """A compose mapping-or-list (`args`, `environment`) as (key, value, where) triples, `where`
    being the mapping key or the list index (for the line)."""
    if isinstance(value, dict):
        return [(str(k), v, str(k)) for k, v in value.items()]
    if isinstance(value, list):
        out: list[tuple[str, Any, str | int]] = []
        for i, item in enumerate(value):
            key, sep, val = str(item).partition("=")
            out.append((key, val if sep else None, i))
        return out
    return []


def _why_secret(key: str, value: str, know: Knowledge) -> str | None:
    """Why a variable looks like a secret: its value, or its name; None when it doesn't."""
    if credential_value(value, know):
        return "its value holds a credential"
    if credential_name(key, know):
        return "its name says it is a credential"
    return None


def _depends(compose: Compose, name: str, svc: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    deps = svc.get("depends_on")
    at = ("services", name, "depends_on")
    if isinstance(deps, list):
        return [(str(d), "service_started", compose.line(*at, i)) for i, d in enumerate(deps)]
    if isinstance(deps, dict):
        out = []
        for dep, spec in deps.items():
            cond = (
                spec.get("condition", "service_started")
                if isinstance(spec, dict)
                else "service_started"
            )
            out.append((str(dep), str(cond), compose.line(*at, dep)))
        return out
    return []


def _has_healthcheck(compose: Compose, name: str, svc: dict[str, Any], project: Project) -> bool:
    """A compose healthcheck, or the HEALTHCHECK of the image the service builds."""
    check = svc.get("healthcheck")
    if isinstance(check, dict):
        if check.get("disable") is True:
            return False
        test = check.get("test")
        if test is not None:
            return not (test == ["NONE"] or test == "NONE")
    build = project.service_build(compose, name)
    if build is None:
        return False
    parsed = project.dockerfile(build.dockerfile) or _read_dockerfile(build, project)
    if parsed is None:
        return False
    for stage in reversed(parsed.stage(build.target).chain()):
        for ins in reversed(stage.instructions):
            if ins.cmd == "HEALTHCHECK":
                return not (ins.value and ins.value[0].upper() == "NONE")
    return False


def _read_dockerfile(build: Build, project: Project) -> Dockerfile | None:
    """A Dockerfile a compose service builds that was not among the audited paths."""
    from scaffold.check.project import decode, parse_dockerfile

    try:
        text = decode(build.dockerfile.read_bytes())
    except OSError:
        return None
    if text is None:
        return None
    parsed, _ = parse_dockerfile(build.dockerfile, project.rel(build.dockerfile), text)
    return parsed


def _layout_kinds(compose: Compose, project: Project) -> dict[str, str]:
    """service -> kind from the dockergen.yml beside a compose file (a dockergen project)."""
    from scaffold.errors import DockergenError
    from scaffold.layout import LAYOUT_FILE, load

    path = compose.path.parent / LAYOUT_FILE
    if not path.is_file():
        return {}
    try:
        layout = load(path)
    except (DockergenError, OSError, ValueError):
        return {}
    return {svc.name: svc.kind for svc in layout.services}


def _set_allows(layout: dict[str, str], name: str, dep: str, cond: str, project: Project) -> bool:
    """Whether the set's categories choose `cond` for this edge (a frontend that starts beside
    the backends it proxies to: nginx resolves them per request)."""
    kinds = project.tset.kinds
    a, b = kinds.get(layout.get(name, "")), kinds.get(layout.get(dep, ""))
    if a is None or b is None:
        return False
    spec = project.tset.manifest.categories.get(a.category)
    if spec is None:
        return False
    for relation in ("proxies", "connects"):
        if b.category in getattr(spec, relation) and spec.condition(relation) == cond:
            return True
    return False


def _service_networks(svc: dict[str, Any]) -> set[str]:
    nets = svc.get("networks")
    if isinstance(nets, list):
        return {str(n) for n in nets}
    if isinstance(nets, dict):
        return {str(n) for n in nets}
    return {"default"}


def _port_text(port: Any) -> str:
    if isinstance(port, dict):
        host = port.get("host_ip")
        published = port.get("published")
        target = port.get("target")
        return ":".join(str(p) for p in (host, published, target) if p not in (None, ""))
    return str(port)


def _loopback(port: Any) -> bool:
    if isinstance(port, dict):
        host = str(port.get("host_ip") or "")
    else:
        text = str(port)
        if text.startswith("["):
            host = text[1 : text.find("]")]
        else:
            parts = text.split(":")
            host = parts[0] if len(parts) == 3 else ""
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def _mounts(svc: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    """(index, type, source, target) of each `volumes:` entry (short or long syntax)."""
    out = []
    for i, vol in enumerate(svc.get("volumes") or []):
        if isinstance(vol, dict):
            kind = str(vol.get("type") or "volume")
            out.append((i, kind, str(vol.get("source") or ""), str(vol.get("target") or "")))
        elif isinstance(vol, str):
            parts = vol.split(":")
            if len(parts) == 1:
                out.append((i, "volume", "", parts[0]))
            else:
                src, dst = parts[0], parts[1]
                kind = "bind" if src.startswith((".", "/", "~", "$")) else "volume"
                out.append((i, kind, src, dst))
    return out


def _tmpfs(svc: dict[str, Any]) -> list[tuple[tuple[Any, ...], str, bool]]:
    """(key path, target, sized) of each tmpfs: `tmpfs:` entries and tmpfs volumes."""
    out: list[tuple[tuple[Any, ...], str, bool]] = []
    tmp = svc.get("tmpfs")
    items = [tmp] if isinstance(tmp, str) else (tmp if isinstance(tmp, list) else [])
    for i, item in enumerate(items):
        target, _, options = str(item).partition(":")
        sized = any(o.startswith("size=") for o in options.split(","))
        out.append((("tmpfs", i) if isinstance(tmp, list) else ("tmpfs",), target, sized))
    for i, vol in enumerate(svc.get("volumes") or []):
        if isinstance(vol, dict) and vol.get("type") == "tmpfs":
            size = (
                (vol.get("tmpfs") or {}).get("size") if isinstance(vol.get("tmpfs"), dict) else None
            )
            out.append((("volumes", i), str(vol.get("target") or ""), size is not None))
    return out


def _under(path: str, folder: str) -> bool:
    path, folder = posixpath.normpath(path), posixpath.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _persistence(
    compose: Compose, name: str, svc: dict[str, Any], kind: StackKind, emit: Emit
) -> None:
    data_dir = kind.data_dir or ""
    at = ("services", name)
    covering = [m for m in _mounts(svc) if m[1] != "tmpfs" and m[3] and _under(data_dir, m[3])]
    for _, target, _sized in _tmpfs(svc):
        if target and (_under(data_dir, target) or _under(target, data_dir)):
            emit(
                "DG103",
                compose.rel,
                compose.line(*at, "tmpfs") or compose.line(*at, "volumes"),
                f"{kind.name} data directory {data_dir} of {name} is on tmpfs",
            )
    named = [m for m in covering if m[1] == "volume" and m[2]]
    binds = [m for m in covering if m[1] == "bind"]
    for i, _, src, _target in binds:
        emit(
            "DG102",
            compose.rel,
            compose.line(*at, "volumes", i),
            f"{kind.name} data directory {data_dir} of {name} is the bind mount {src}",
        )
    if not named and not binds:
        anon = [m for m in covering if m[1] == "volume"]
        why = (
            "an anonymous volume (not reused once the container is removed)"
            if anon
            else "no volume"
        )
        emit(
            "DG101",
            compose.rel,
            compose.line(*at, "volumes", anon[0][0]) if anon else compose.line(*at),
            f"{kind.name} service {name} keeps {data_dir} on {why}",
        )


def _hardening(
    compose: Compose,
    name: str,
    svc: dict[str, Any],
    kind: StackKind | None,
    built: bool,
    healthy: bool,
    know: Knowledge,
    project: Project,
    emit: Emit,
) -> None:
    rel = compose.rel
    at = ("services", name)
    line = compose.line(*at)

    user = svc.get("user")
    if user is not None and _is_root(str(user)):
        emit("DG502", rel, compose.line(*at, "user"), f"{name} runs as user {user}")
    elif user is None and not built:
        hint = (
            f" (the set's {kind.name} runs as {kind.user})"
            if kind is not None and kind.user
            else ""
        )
        emit(
            "DG502",
            rel,
            line,
            f"{name} has no `user:` and runs as its image's default user, often root{hint}",
        )
    if svc.get("read_only") is not True:
        emit(
            "DG503",
            rel,
            compose.line(*at, "read_only") or line,
            f"{name} has a writable root filesystem",
        )
    for keys, target, sized in _tmpfs(svc):
        if not sized:
            emit("DG504", rel, compose.line(*at, *keys), f"tmpfs {target} of {name} has no size")
    drops = {
        str(c).upper() for c in (svc.get("cap_drop") or []) if isinstance(svc.get("cap_drop"), list)
    }
    if "ALL" not in drops:
        emit(
            "DG505",
            rel,
            compose.line(*at, "cap_drop") or line,
            f"{name} does not drop all capabilities",
        )
    opts = svc.get("security_opt") if isinstance(svc.get("security_opt"), list) else []
    nnp = {str(o).replace("=", ":").replace(" ", "") for o in opts or []}
    if not nnp & {"no-new-privileges:true", "no-new-privileges"}:
        emit(
            "DG506",
            rel,
            compose.line(*at, "security_opt") or line,
            f"{name} lacks no-new-privileges:true",
        )
    limits = _limits(svc)
    missing = [k for k in ("memory", "cpus") if limits.get(k) in (None, "", 0, "0")]
    if missing:
        emit(
            "DG507",
            rel,
            compose.line(*at, "deploy") or line,
            f"{name} has no {' or '.join(missing)} limit",
        )
    if limits.get("pids") in (None, "", 0, -1):
        emit("DG508", rel, compose.line(*at, "deploy") or line, f"{name} has no pids limit")
    logging = svc.get("logging")
    driver = str(logging.get("driver") or "json-file") if isinstance(logging, dict) else "json-file"
    options = (
        logging.get("options")
        if isinstance(logging, dict) and isinstance(logging.get("options"), dict)
        else {}
    )
    if logging is None:
        emit(
            "DG509",
            rel,
            line,
            f"{name} has no `logging:`: the engine's default json-file keeps every line",
        )
    elif driver in know.unbounded_log_drivers and not all(
        o in (options or {}) for o in know.unbounded_log_drivers[driver]
    ):
        emit(
            "DG509",
            rel,
            compose.line(*at, "logging"),
            f"{name} logs with {driver} without {', '.join(know.unbounded_log_drivers[driver])}",
        )
    if not healthy:
        place = "in compose or in the image it builds" if built else "in compose"
        emit("DG510", rel, line, f"{name} has no healthcheck {place}")
    deploy = svc.get("deploy") if isinstance(svc.get("deploy"), dict) else {}
    if not svc.get("restart") and not (deploy or {}).get("restart_policy"):
        emit("DG511", rel, line, f"{name} has no restart policy")
    elif str(svc.get("restart")) == "no" and not (deploy or {}).get("restart_policy"):
        emit("DG511", rel, compose.line(*at, "restart"), f"{name} has restart: no")
    if svc.get("privileged") is True:
        emit("DG512", rel, compose.line(*at, "privileged"), f"{name} is privileged")
    for key in ("network_mode", "pid", "ipc", "uts", "userns_mode"):
        if str(svc.get(key, "")) == "host":
            emit(
                "DG513",
                rel,
                compose.line(*at, key),
                f"{name} shares the host's {key.split('_')[0]} namespace",
            )
    for i, mtype, src, _target in _mounts(svc):
        if mtype != "bind" or not src.startswith("/"):
            continue
        norm = posixpath.normpath(src)
        if norm in know.docker_socket:
            emit(
                "DG514",
                rel,
                compose.line(*at, "volumes", i),
                f"{name} mounts the Docker socket {src}",
            )
        elif norm in know.host_sensitive or any(_under(norm, t) for t in know.host_sensitive_trees):
            emit(
                "DG514", rel, compose.line(*at, "volumes", i), f"{name} mounts the host path {src}"
            )
    caps = svc.get("cap_add") if isinstance(svc.get("cap_add"), list) else []
    for i, cap in enumerate(caps or []):
        if str(cap).upper().removeprefix("CAP_") in know.broad_capabilities:
            emit("DG520", rel, compose.line(*at, "cap_add", i), f"{name} adds capability {cap}")
    for key, value, where in _mapping(svc.get("environment")):
        shown = "" if value is None else str(value)
        eline = compose.line(*at, "environment", where)
        if _insecure_env(key, shown, know):
            emit("DG522", rel, eline, f"{name} sets {key}={shown}, which switches verification off")
        why = _why_secret(key, shown, know)
        if why:
            emit("DG515", rel, eline, f"{name} gets {key} in its environment, and {why}")


def _limits(svc: dict[str, Any]) -> dict[str, Any]:
    deploy = svc.get("deploy") if isinstance(svc.get("deploy"), dict) else {}
    resources = (
        (deploy or {}).get("resources") if isinstance((deploy or {}).get("resources"), dict) else {}
    )
    limits = (
        (resources or {}).get("limits") if isinstance((resources or {}).get("limits"), dict) else {}
    )
    out = dict(limits or {})
    if svc.get("mem_limit") is not None:
        out.setdefault("memory", svc["mem_limit"])
    if svc.get("cpus") is not None:
        out.setdefault("cpus", svc["cpus"])
    if svc.get("pids_limit") is not None:
        out.setdefault("pids", svc["pids_limit"])
    return out


__all__ = ["apply", "commands", "compose_builds", "credential_name", "credential_value"]
