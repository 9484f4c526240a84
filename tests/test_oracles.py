"""Every generated project passes every independent checker (tests/oracles.py).

Layouts cover each kind of the default set on its own (read from the catalog, so a new kind is
covered without editing this file) plus a few whole projects. Each layout is generated once per
module; every oracle then runs on it. The negative tests prove each oracle can fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oracles
import pytest
import yaml
from projects import (
    assert_no_findings,
    default_set,
    generate,
    kind_names,
    missing_kinds,
    services,
)

WHOLE_LAYOUTS: dict[str, dict[str, Any]] = {
    "default": {"services": services("react", "fastapi", "postgres")},
    "everything": {
        "services": services(
            "react",
            ("fastapi", "api"),
            ("express", "node-api"),
            ("go", "go-api"),
            "postgres",
            "mysql",
            "mongodb",
            "redis",
        )
    },
    "static-go-redis": {"services": services("static", "go", "redis")},
    "databases-only": {"services": services("postgres", "mysql", "mongodb", "redis")},
    "backend-only": {"services": services(("fastapi", "api"), ("go", "worker"))},
    "no-syntax-line": {
        "options": {"syntax_line": False},
        "services": services("react", "fastapi", "postgres"),
    },
}
KIND_LAYOUTS = {f"kind-{k}": {"services": services(k)} for k in kind_names()}
LAYOUTS = {**KIND_LAYOUTS, **WHOLE_LAYOUTS}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """project(layout name) -> generated directory, generated at most once per module."""
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        data = LAYOUTS[name]
        missing = missing_kinds(data)
        if missing:
            pytest.skip(f"kinds not in templates/default yet: {', '.join(missing)}")
        if name not in cache:
            target = tmp_path_factory.mktemp("oracles") / name
            generate(target, copy.deepcopy(data))
            cache[name] = target
        return cache[name]

    return get


@pytest.mark.parametrize("oracle", oracles.ORACLES)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_generated_project_passes(project: Callable[[str], Path], layout: str, oracle: str):
    assert_no_findings(oracles.run_oracle(oracle, project(layout)))


def test_every_kind_is_covered():
    """The kind layouts come from the catalog: nothing in the set escapes the oracles."""
    assert set(kind_names()) == {k.removeprefix("kind-") for k in KIND_LAYOUTS}


@pytest.mark.parametrize("kind", kind_names())
def test_catalog_matches_output(project: Callable[[str], Path], kind: str):
    """`dockergen kinds` shows kind.images: those must be exactly the images the output uses,
    and a kind with a build role besides its runtime builds multistage."""
    tset = default_set()
    spec = tset.kinds[kind]
    root = project(f"kind-{kind}")
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    svc = compose["services"][spec.default_name]
    declared = set(spec.images.values())
    if not tset.builds(kind):
        assert svc["image"] == spec.image
        assert spec.image in declared
        return
    dockerfile = root / spec.default_name / "Dockerfile"
    assert (root / spec.default_name / ".dockerignore").is_file()
    parsed = oracles.stages(oracles.parse_dockerfile(dockerfile.read_text()))
    names = {s.name for s in parsed if s.name}
    used = {s.image for s in parsed if s.image.lower() not in names}
    assert used == declared, f"{dockerfile}: FROM uses {used}, kind.yml declares {declared}"
    if len(spec.images) > 1:
        assert len(parsed) >= 2, f"{dockerfile}: builder and runtime images but one stage"
        final = parsed[-1].instructions
        assert any(i.keyword == "COPY" and "--from=" in i.args for i in final), (
            f"{dockerfile}: final stage copies nothing from a builder stage"
        )


# ------------------------------------------------------------------------ negative: hadolint


def test_hadolint_finds_untagged_base_and_add(tmp_path: Path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM python\nADD . /app\nCMD python app.py\n")
    findings = "\n".join(oracles.hadolint(df))
    for code in ("DL3006", "DL3020", "DL3025"):
        assert code in findings


def test_hadolint_ignores_inline_pragmas(tmp_path: Path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM python\n# hadolint ignore=DL3020\nADD . /app\n")
    assert any("DL3020" in f for f in oracles.hadolint(df))


def test_hadolint_reports_unparseable_file(tmp_path: Path):
    df = tmp_path / "Dockerfile"
    df.write_text("FROM alpine:3.20 AS\nCOPY\n")
    assert oracles.hadolint(df)


# ------------------------------------------------------------------- negative: compose config

GOOD_COMPOSE = {
    "name": "t",
    "services": {
        "api": {
            "image": "busybox:1.36",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "restart": "unless-stopped",
            "user": "10001:10001",
            "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "64m", "pids": 64}}},
            "healthcheck": {"test": ["CMD", "true"]},
            "ports": ["127.0.0.1:8000:8000"],
            "networks": ["edge", "data"],
            "environment": {"DB_PASSWORD_FILE": "/run/secrets/db_password"},
            "secrets": ["db_password"],
            "depends_on": {"db": {"condition": "service_healthy"}},
            "logging": {"driver": "local", "options": {"max-size": "10m", "max-file": "3"}},
        },
        "db": {
            "image": "postgres:17-trixie",
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "restart": "unless-stopped",
            "user": "999:999",
            "deploy": {"resources": {"limits": {"cpus": "1", "memory": "512m", "pids": 128}}},
            "healthcheck": {"test": ["CMD", "pg_isready"]},
            "networks": ["data"],
            "volumes": ["db-data:/var/lib/postgresql/data"],
            "tmpfs": ["/tmp:size=64m,mode=1777"],
            "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
            "environment": {"POSTGRES_PASSWORD_FILE": "/run/secrets/db_password"},
            "secrets": ["db_password"],
        },
    },
    "networks": {"edge": {}, "data": {"internal": True}},
    "volumes": {"db-data": {}},
    "secrets": {"db_password": {"file": "./secrets/db_password"}},
}


def write_compose(root: Path, data: dict[str, Any] | str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    (root / "docker-compose.yml").write_text(text)
    (root / "secrets").mkdir(exist_ok=True)
    (root / "secrets" / "db_password").write_text("s3cr3t-value-0123456789\n")
    (root / ".gitignore").write_text("/secrets/\n")
    return root


def test_synthetic_good_compose_passes(tmp_path: Path):
    root = write_compose(tmp_path / "p", GOOD_COMPOSE)
    assert_no_findings(oracles.compose_config(root))
    assert_no_findings(oracles.compose_schema(root / "docker-compose.yml"))
    assert_no_findings(oracles.security(root))


@pytest.mark.parametrize(
    "text",
    [
        "services: {a: {image: 'busybox:1', ports: [{target: 'eighty'}]}}\n",
        "services: {a: {image: 'busybox:1', bogus_key: 1}}\n",
        "services: {a: {image: 'busybox:1', depends_on: [nowhere]}}\n",
        "services: [\n",
    ],
    ids=["bad-port", "unknown-key", "missing-dependency", "malformed-yaml"],
)
def test_compose_config_rejects_invalid_file(tmp_path: Path, text: str):
    findings = oracles.compose_config(write_compose(tmp_path / "p", text))
    assert findings and "compose config" in findings[0]


def test_compose_config_checks_normalised_ports_and_database_network(tmp_path: Path):
    data = copy.deepcopy(GOOD_COMPOSE)
    data["services"]["api"]["ports"] = ["8000:8000"]
    data["services"]["db"]["ports"] = ["127.0.0.1:5432:5432"]
    data["networks"]["data"] = {}
    findings = "\n".join(oracles.compose_config(write_compose(tmp_path / "p", data)))
    assert "not 127.0.0.1" in findings
    assert "database publishes ports" in findings
    assert "non-internal network data" in findings


# ------------------------------------------------------------------- negative: compose schema


def test_compose_schema_rejects_wrong_types_and_unknown_keys(tmp_path: Path):
    path = write_compose(tmp_path / "p", "services: {a: {image: 1, bogus: 2}}\n")
    findings = "\n".join(oracles.compose_schema(path / "docker-compose.yml"))
    assert "services/a/image" in findings
    assert "bogus" in findings


# -------------------------------------------------------------------- negative: dockerignore


def make_context(root: Path, ignore: str, dockerfile: str) -> Path:
    root.mkdir(parents=True)
    (root / ".dockerignore").write_text(ignore)
    (root / "Dockerfile").write_text(dockerfile)
    (root / "requirements.txt").write_text("fastapi==0.115.0\n")
    (root / "app").mkdir()
    (root / "app" / "main.py").write_text("print('hi')\n")
    return root


GOOD_IGNORE = """\
.git
**/.env*
secrets/
**/*.pem
**/*.key
**/node_modules
.venv
**/__pycache__
**/*.pyc
dist
build
coverage
.coverage
htmlcov
.pytest_cache
.envrc
**/secrets
**/Dockerfile*
**/*.Dockerfile
**/*.dockerignore
**/*compose*.y*ml
**/junit*.xml
test-results
.nyc_output
**/*.log
.vscode
.idea
"""
GOOD_DOCKERFILE = """\
FROM python:3.12-slim-bookworm AS build
COPY requirements.txt ./
RUN --mount=type=bind,source=requirements.txt,target=/tmp/r.txt pip install -r /tmp/r.txt
COPY app/ ./app/
FROM python:3.12-slim-bookworm
COPY --from=build /app /app
USER 10001:10001
HEALTHCHECK CMD ["python", "-c", "print(1)"]
CMD ["python", "-m", "app.main"]
"""


def test_dockerignore_synthetic_good_context_passes(tmp_path: Path):
    assert_no_findings(
        oracles.dockerignore(make_context(tmp_path / "c", GOOD_IGNORE, GOOD_DOCKERFILE))
    )


def test_dockerignore_finds_missing_git_exclude(tmp_path: Path):
    ignore = GOOD_IGNORE.replace(".git\n", "")
    findings = oracles.dockerignore(make_context(tmp_path / "c", ignore, GOOD_DOCKERFILE))
    assert any(".git/HEAD would enter" in f for f in findings)


def test_dockerignore_uses_docker_semantics_for_nested_paths(tmp_path: Path):
    """`__pycache__` only matches at the root in Docker's syntax; nested caches get in."""
    ignore = GOOD_IGNORE.replace("**/__pycache__", "__pycache__").replace("**/*.pyc", "*.pyc")
    findings = "\n".join(
        oracles.dockerignore(make_context(tmp_path / "c", ignore, GOOD_DOCKERFILE))
    )
    assert "app/__pycache__/mod.cpython-312.pyc would enter" in findings
    assert "app/stray.pyc would enter" in findings
    assert "would enter the build context: __pycache__" not in findings


def test_dockerignore_finds_excluded_copy_source(tmp_path: Path):
    ignore = GOOD_IGNORE + "requirements.txt\napp\n"
    findings = "\n".join(
        oracles.dockerignore(make_context(tmp_path / "c", ignore, GOOD_DOCKERFILE))
    )
    assert "COPY source 'requirements.txt'" in findings
    assert "RUN source 'requirements.txt'" in findings
    assert "COPY source 'app/'" in findings


def test_dockerignore_finds_copy_source_missing_from_context(tmp_path: Path):
    dockerfile = GOOD_DOCKERFILE.replace("COPY app/ ./app/", "COPY src/ app/ ./src/")
    findings = oracles.dockerignore(make_context(tmp_path / "c", GOOD_IGNORE, dockerfile))
    assert any("COPY source 'src/' is not in the build context" in f for f in findings)
    dockerfile = GOOD_DOCKERFILE.replace("COPY app/ ./app/", "COPY src/ ./src/")
    findings = oracles.dockerignore(make_context(tmp_path / "d", GOOD_IGNORE, dockerfile))
    assert any("no source is in the build context (['src/'])" in f for f in findings)


def test_dockerignore_optional_wildcard_source(tmp_path: Path):
    """`COPY requirements.txt constraints*.txt ./` builds while constraints are absent, but a
    COPY whose every source matches nothing fails the build."""
    ok = GOOD_DOCKERFILE.replace("COPY requirements.txt ./", "COPY requirements.txt c*.txt ./")
    assert_no_findings(oracles.dockerignore(make_context(tmp_path / "ok", GOOD_IGNORE, ok)))
    bad = GOOD_DOCKERFILE.replace("COPY requirements.txt ./", "COPY c*.txt ./")
    findings = oracles.dockerignore(make_context(tmp_path / "bad", GOOD_IGNORE, bad))
    assert any("no source is in the build context" in f for f in findings), findings


def test_dockerignore_exact_negation_is_a_reviewed_exception(tmp_path: Path):
    """`!.env.production` lets that one planted file in on purpose (react's Vite build reads it);
    a wildcard negation, or one file's negation letting in its neighbours, is still caught."""
    ok = GOOD_IGNORE + "!.env.production\n"
    assert_no_findings(oracles.dockerignore(make_context(tmp_path / "ok", ok, GOOD_DOCKERFILE)))
    wild = GOOD_IGNORE + "!.env.*\n"
    findings = "\n".join(oracles.dockerignore(make_context(tmp_path / "w", wild, GOOD_DOCKERFILE)))
    assert ".env.production would enter" in findings
    assert ".env.local would enter" in findings
    folder = GOOD_IGNORE + "!secrets\n"
    findings = "\n".join(
        oracles.dockerignore(make_context(tmp_path / "s", folder, GOOD_DOCKERFILE))
    )
    assert "secrets/db_password would enter" in findings


def test_dockerignore_finds_dockerfile_sidecars_and_test_output(tmp_path: Path):
    """A whole-context COPY sends these into the image unless .dockerignore names them."""
    ignore = GOOD_IGNORE.replace("**/Dockerfile*\n", "").replace("**/junit*.xml\n", "")
    findings = "\n".join(
        oracles.dockerignore(make_context(tmp_path / "c", ignore, GOOD_DOCKERFILE))
    )
    assert "Dockerfile.dev would enter" in findings
    assert "api.Dockerfile.dockerignore would enter" not in findings  # *.dockerignore still there
    assert "junit.xml would enter" in findings


def test_dockerignore_missing_file(tmp_path: Path):
    root = make_context(tmp_path / "c", "", GOOD_DOCKERFILE)
    (root / ".dockerignore").unlink()
    assert oracles.dockerignore(root) == [f"{root / '.dockerignore'}: missing"]


def test_compose_schema_skips_without_npm_but_fails_under_ci(tmp_path: Path, monkeypatch):
    path = write_compose(tmp_path / "p", GOOD_COMPOSE) / "docker-compose.yml"
    monkeypatch.setattr(oracles, "CACHE_DIR", tmp_path / "empty-cache")
    monkeypatch.setattr(oracles.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm is not installed"):
        oracles.compose_schema(path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unavailable under CI"):
        oracles.compose_schema(path)


# ------------------------------------------------------------------------ negative: security


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return apply


DELETE = object()
COMPOSE_MUTATIONS = {
    "version key": (_set("version", "3.8"), "'version:' is obsolete"),
    "no name": (_set("name", DELETE), "no top-level 'name:'"),
    "writable root": (_set("services.api.read_only", False), "not read_only"),
    "no cap_drop": (_set("services.api.cap_drop", DELETE), "no cap_drop"),
    "no no-new-privileges": (_set("services.api.security_opt", []), "no-new-privileges"),
    "no memory limit": (
        _set("services.api.deploy.resources.limits.memory", DELETE),
        "limits.memory",
    ),
    "no pids limit": (_set("services.db.deploy.resources.limits.pids", DELETE), "no pids limit"),
    "no restart": (_set("services.api.restart", "no"), "no restart policy"),
    "no healthcheck": (_set("services.api.healthcheck", DELETE), "no healthcheck"),
    "privileged": (_set("services.api.privileged", True), "privileged"),
    "host network": (_set("services.api.network_mode", "host"), "network_mode: host"),
    "host pid": (_set("services.api.pid", "host"), "pid: host"),
    "docker socket": (
        _set("services.api.volumes", ["/var/run/docker.sock:/var/run/docker.sock"]),
        "Docker socket",
    ),
    "host etc": (_set("services.api.volumes", ["/etc:/host-etc:ro"]), "host path /etc"),
    "root user": (_set("services.api.user", "root"), "user: root"),
    "uid 0": (_set("services.api.user", "0:0"), "user: 0:0"),
    "depends_on list": (_set("services.api.depends_on", ["db"]), "without condition"),
    "depends_on started": (
        _set("services.api.depends_on", {"db": {"condition": "service_started"}}),
        "not condition: service_healthy",
    ),
    "depends_on no condition": (
        _set("services.api.depends_on", {"db": {"required": True}}),
        "not condition: service_healthy",
    ),
    "password in env": (
        _set("services.api.environment", {"DB_PASSWORD": "hunter2"}),
        "DB_PASSWORD carries a credential",
    ),
    "token in env list": (
        _set("services.api.environment", ["API_TOKEN=abc"]),
        "API_TOKEN carries a credential",
    ),
    "url with password": (
        _set("services.api.environment", {"DATABASE_URL": "postgres://app:hunter2@db/app"}),
        "URL with a password",
    ),
    "_FILE not a secret path": (
        _set("services.api.environment", {"DB_PASSWORD_FILE": "/etc/passwd"}),
        "not a /run/secrets path",
    ),
    "port on all interfaces": (_set("services.api.ports", ["8000:8000"]), "not bound to 127.0.0.1"),
    "port long syntax": (
        _set("services.api.ports", [{"target": 8000, "published": 8000}]),
        "not bound to 127.0.0.1",
    ),
    "published database port": (
        _set("services.db.ports", ["127.0.0.1:5432:5432"]),
        "database publishes ports",
    ),
    "database on edge": (_set("services.db.networks", ["edge", "data"]), "edge is not internal"),
    "database default network": (_set("services.db.networks", DELETE), "default (non-internal)"),
    "no data volume": (_set("services.db.volumes", DELETE), "no named volume"),
    "bind-mounted data": (
        _set("services.db.volumes", ["./data:/var/lib/postgresql/data"]),
        "no named volume",
    ),
    "tmpfs data": (
        _set("services.db.tmpfs", ["/var/lib/postgresql/data"]),
        "tmpfs over the data directory",
    ),
    "unbounded tmpfs": (_set("services.db.tmpfs", ["/tmp"]), "tmpfs /tmp has no size="),
    "tmpfs without mode": (_set("services.db.tmpfs", ["/tmp:size=1m"]), "has no mode="),
    "long-syntax tmpfs without size": (
        _set("services.db.volumes", [{"type": "tmpfs", "target": "/run", "tmpfs": {"mode": 1777}}]),
        "tmpfs /run has no size",
    ),
    "no logging": (_set("services.api.logging", DELETE), "logging driver None"),
    "unrotated json-file": (
        _set("services.db.logging", {"driver": "json-file"}),
        "json-file logging without max-size and max-file",
    ),
    "untagged image": (_set("services.api.image", "busybox"), "has no explicit tag"),
    "latest image": (_set("services.db.image", "postgres:latest"), "'latest' tag"),
    "secret outside secrets": (
        _set("secrets.db_password", {"file": "./db_password.txt"}),
        "not under ./secrets/",
    ),
    "secret from environment": (
        _set("secrets.db_password", {"environment": "DB_PASSWORD"}),
        "no 'file:' source",
    ),
}


@pytest.mark.parametrize("mutation", list(COMPOSE_MUTATIONS))
def test_security_finds_compose_violation(tmp_path: Path, mutation: str):
    apply, expected = COMPOSE_MUTATIONS[mutation]
    data = copy.deepcopy(GOOD_COMPOSE)
    apply(data)
    findings = oracles.security(write_compose(tmp_path / "p", data))
    assert any(expected in f for f in findings), findings


def test_security_lets_a_stateless_dependency_be_waited_for_until_started(tmp_path: Path):
    """A proxy in front of `api` may start beside it (service_started); api holds no data."""
    data = copy.deepcopy(GOOD_COMPOSE)
    web = copy.deepcopy(data["services"]["api"])
    web.update(depends_on={"api": {"condition": "service_started"}}, ports=[], secrets=[])
    web.update(environment={}, networks=["edge"])
    data["services"]["web"] = web
    assert oracles.security(write_compose(tmp_path / "ok", data)) == []
    web["depends_on"] = {"api": {"condition": "service_completed_successfully"}}
    findings = oracles.security(write_compose(tmp_path / "bad", data))
    assert findings == [
        f"{tmp_path / 'bad' / 'docker-compose.yml'}: service web: depends_on api has no "
        "condition it can wait for"
    ]


def test_security_finds_secrets_not_gitignored(tmp_path: Path):
    root = write_compose(tmp_path / "p", GOOD_COMPOSE)
    (root / ".gitignore").write_text("node_modules/\n")
    assert any("does not ignore secrets/" in f for f in oracles.security(root))


def test_security_finds_leaked_secret_value(tmp_path: Path):
    root = write_compose(tmp_path / "p", GOOD_COMPOSE)
    (root / "README.md").write_text("the password is s3cr3t-value-0123456789\n")
    assert any("contains the value of secrets/db_password" in f for f in oracles.security(root))


def built_project(root: Path, dockerfile: str, *, syntax_line: bool = True) -> Path:
    data = copy.deepcopy(GOOD_COMPOSE)
    api = data["services"]["api"]
    del api["image"]
    del api["healthcheck"]  # the image's HEALTHCHECK counts
    api["build"] = {"context": "./api"}
    write_compose(root, data)
    (root / "api").mkdir()
    (root / "api" / "Dockerfile").write_text(dockerfile)
    layout = {"options": {"syntax_line": syntax_line}, "services": []}
    (root / "dockergen.yml").write_text(json.dumps(layout))
    return root


SYNTAX = "# syntax=docker/dockerfile:1\n"
DOCKERFILE_MUTATIONS = {
    "no USER": (lambda t: t.replace("USER 10001:10001\n", ""), "no USER"),
    "USER by name": (lambda t: t.replace("USER 10001:10001", "USER app"), "not numeric"),
    "USER root uid": (lambda t: t.replace("USER 10001:10001", "USER 0:0"), "is root"),
    "USER only in builder": (
        lambda t: t.replace("COPY app/", "USER 10001:10001\nCOPY app/").replace(
            "USER 10001:10001\nHEALTHCHECK", "HEALTHCHECK"
        ),
        "final stage has no USER",
    ),
    "no HEALTHCHECK": (
        lambda t: t.replace('HEALTHCHECK CMD ["python", "-c", "print(1)"]\n', ""),
        "no HEALTHCHECK",
    ),
    "HEALTHCHECK NONE": (
        lambda t: t.replace('HEALTHCHECK CMD ["python", "-c", "print(1)"]', "HEALTHCHECK NONE"),
        "no HEALTHCHECK",
    ),
    "shell CMD": (
        lambda t: t.replace('CMD ["python", "-m", "app.main"]', "CMD python -m app.main"),
        "CMD is not exec",
    ),
    "shell ENTRYPOINT": (lambda t: t + "ENTRYPOINT /bin/app\n", "ENTRYPOINT is not exec"),
    "untagged FROM": (
        lambda t: t.replace("FROM python:3.12-slim-bookworm AS", "FROM python AS"),
        "has no explicit tag",
    ),
    "latest FROM": (
        lambda t: t.replace("FROM python:3.12-slim-bookworm\n", "FROM python:latest\n"),
        "'latest' tag",
    ),
    "variable FROM": (
        lambda t: (
            "ARG BASE=python:3.12\n"
            + t.replace("FROM python:3.12-slim-bookworm\n", "FROM ${BASE}\n")
        ),
        "not a literal image",
    ),
    "ADD": (lambda t: t.replace("COPY app/ ./app/", "ADD app/ ./app/"), "ADD (use COPY)"),
    "ARG password": (
        lambda t: t.replace("COPY req", "ARG DB_PASSWORD\nCOPY req"),
        "ARG DB_PASSWORD",
    ),
    "ENV token": (lambda t: t.replace("COPY req", "ENV NPM_TOKEN=abc\nCOPY req"), "ENV NPM_TOKEN"),
    "legacy ENV secret": (lambda t: t.replace("COPY req", "ENV API_KEY abc\nCOPY req"), "API_KEY"),
    "COPY a secret": (
        lambda t: t.replace("COPY app/ ./app/", "COPY secrets/db_password ./"),
        "secret-looking",
    ),
    "duplicate stage": (
        lambda t: t.replace(
            "FROM python:3.12-slim-bookworm\n", "FROM python:3.12-slim-bookworm AS build\n"
        ),
        "duplicate stage name",
    ),
    "EXPOSE 22": (lambda t: t + "EXPOSE 22\n", "EXPOSE 22"),
    "npm install": (
        lambda t: t.replace("COPY app/ ./app/", "RUN npm install\nCOPY app/ ./app/"),
        "use npm ci",
    ),
    "pip trusted host": (
        lambda t: t.replace("pip install -r", "pip install --trusted-host pypi.org -r"),
        "disables TLS",
    ),
    "node TLS off": (
        lambda t: t.replace("COPY req", "ENV NODE_TLS_REJECT_UNAUTHORIZED=0\nCOPY req"),
        "disables TLS",
    ),
    "curl -k": (
        lambda t: t.replace("COPY app/", "RUN curl -fsSk https://x.example/a -o /a\nCOPY app/"),
        "disables TLS",
    ),
    "apt unauthenticated": (
        lambda t: t.replace(
            "COPY app/", "RUN apt-get install -y --allow-unauthenticated curl\nCOPY app/"
        ),
        "disables TLS",
    ),
}


def test_security_synthetic_good_dockerfile_passes(tmp_path: Path):
    root = built_project(tmp_path / "p", SYNTAX + GOOD_DOCKERFILE)
    assert_no_findings(oracles.security(root))
    root = built_project(tmp_path / "q", GOOD_DOCKERFILE, syntax_line=False)
    assert_no_findings(oracles.security(root))


@pytest.mark.parametrize("mutation", list(DOCKERFILE_MUTATIONS))
def test_security_finds_dockerfile_violation(tmp_path: Path, mutation: str):
    change, expected = DOCKERFILE_MUTATIONS[mutation]
    root = built_project(tmp_path / "p", SYNTAX + change(GOOD_DOCKERFILE))
    findings = oracles.security(root)
    assert any(expected in f for f in findings), findings


def test_security_checks_syntax_line_option(tmp_path: Path):
    off = oracles.security(
        built_project(tmp_path / "off", SYNTAX + GOOD_DOCKERFILE, syntax_line=False)
    )
    assert any("has a '# syntax=' line" in f for f in off)
    on = oracles.security(built_project(tmp_path / "on", GOOD_DOCKERFILE, syntax_line=True))
    assert any("no '# syntax=' line" in f for f in on)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace("COPY app/ ./app/", "COPY --link app/ ./app/"), "COPY --link"),
        (lambda t: t.replace("HEALTHCHECK CMD", "HEALTHCHECK --start-interval=1s CMD"), "start"),
        (lambda t: t.replace("COPY app/", "RUN --network=none true\nCOPY app/"), "--network"),
        (lambda t: t.replace("COPY app/", "RUN <<EOF\ntrue\nEOF\nCOPY app/"), "heredoc"),
        (
            lambda t: t.replace(
                "COPY app/", "RUN --mount=type=secret,id=t,env=TOKEN_FILE true\nCOPY app/"
            ),
            "env=",
        ),
    ],
    ids=["copy-link", "start-interval", "run-network", "heredoc", "secret-env"],
)
def test_security_builtin_frontend_features_without_syntax_line(tmp_path: Path, change, expected):
    off = oracles.security(
        built_project(tmp_path / "off", change(GOOD_DOCKERFILE), syntax_line=False)
    )
    assert any(expected in f and "needs the dockerfile:1 frontend" in f for f in off), off
    on = oracles.security(built_project(tmp_path / "on", SYNTAX + change(GOOD_DOCKERFILE)))
    assert not any("needs the dockerfile:1 frontend" in f for f in on), on


def test_security_needs_a_dockerfile_for_built_services(tmp_path: Path):
    root = built_project(tmp_path / "p", GOOD_DOCKERFILE)
    (root / "api" / "Dockerfile").unlink()
    assert any("does not exist" in f for f in oracles.security(root))


def test_parse_dockerfile_joins_continuations_and_skips_comments():
    text = (
        "# syntax=docker/dockerfile:1\nFROM a:1 AS b\nRUN x \\\n  # note\n  && y\n"
        'COPY --chown=1:1 ["a b", "c"]\n'
    )
    ins = oracles.parse_dockerfile(text)
    assert [(i.keyword, i.line) for i in ins] == [("FROM", 2), ("RUN", 3), ("COPY", 6)]
    assert ins[1].args == "x && y"
    assert oracles.copy_sources(ins[2]) == ["a b"]
    assert oracles.copy_sources(oracles.Instruction("COPY", "--from=b /x /y", 1)) == []
