"""`dockergen check`'s engine (scaffold/check): every rule of the catalogue fires on its fixture
and stays quiet on its near-miss, generated projects are clean, the naive twins get the findings
the brief predicts, and broken input is a finding or a skipped note, never a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from projects import default_set

from scaffold import layout as layouts
from scaffold.api import new_project
from scaffold.check import catalogue, suppress
from scaffold.check.audit import audit
from scaffold.check.discover import discover, kind_of
from scaffold.check.model import Audit, Severity
from scaffold.check.project import Interpolation, interpolate, read_env_file
from scaffold.check.rules import credential_name, credential_value
from scaffold.templatesets.loader import TemplateSet, load_template_set

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures" / "check"
GOLDEN = TESTS / "golden"
NAIVE = TESTS / "e2e" / "naive"
RULES = catalogue.load()


@pytest.fixture(scope="module")
def team_set() -> TemplateSet:
    return load_template_set(str(FIXTURES / "team-set"))


def run(root: Path, tset: TemplateSet | None = None, *, policy: bool = False) -> Audit:
    """The audit as `dockergen check` makes it: with the inline suppressions applied (the
    suppression rules DG901/DG902 come from that step)."""
    result = audit([root], root=root, tset=tset or default_set(), policy=policy)
    inline = suppress.read_inline(root, result.files, RULES)
    return suppress.apply(result, inline.directives, inline.problems)


def rules_of(result: Audit) -> set[str]:
    return {f.rule for f in result.findings}


# ---- the catalogue ------------------------------------------------------------------------------


def test_catalogue_is_ordered_complete_and_documented() -> None:
    assert list(RULES) == sorted(RULES)
    for rid, rule in RULES.items():
        assert rule.id == rid
        assert rule.concept in catalogue.CONCEPTS
        assert rule.title and rule.rationale and rule.fix
        assert isinstance(rule.severity, Severity)
    concepts = {r.concept for r in RULES.values()}
    assert concepts == set(catalogue.CONCEPTS)  # every concept of the issue has rules


def test_every_rule_has_a_firing_and_a_quiet_fixture() -> None:
    dirs = {p.name for p in FIXTURES.glob("DG*") if p.is_dir()}
    assert dirs == set(RULES), "a rule without fixtures, or fixtures of no rule"
    for rid in RULES:
        assert (FIXTURES / rid / "fires").is_dir() and (FIXTURES / rid / "quiet").is_dir()


@pytest.mark.parametrize("rid", sorted(RULES))
def test_rule_fires_on_its_fixture(rid: str, team_set: TemplateSet) -> None:
    policy = RULES[rid].concept == "policy"
    result = run(FIXTURES / rid / "fires", team_set if policy else None, policy=policy)
    hits = [f for f in result.findings if f.rule == rid]
    assert hits, f"{rid} did not fire: {[(f.rule, f.message) for f in result.findings]}"
    for hit in hits:
        assert hit.severity == RULES[rid].severity
        assert hit.message
        assert hit.path in result.files


@pytest.mark.parametrize("rid", sorted(RULES))
def test_rule_stays_quiet_on_its_near_miss(rid: str, team_set: TemplateSet) -> None:
    policy = RULES[rid].concept == "policy"
    result = run(FIXTURES / rid / "quiet", team_set if policy else None, policy=policy)
    assert rid not in rules_of(result), [f for f in result.findings if f.rule == rid]
    assert "DG000" not in rules_of(result)  # near-misses are valid files


def where(result: Audit, rid: str) -> list[tuple[str, int | None]]:
    return [(f.path, f.line) for f in result.findings if f.rule == rid]


def test_findings_point_at_the_offending_line() -> None:
    assert where(run(FIXTURES / "DG201" / "fires"), "DG201") == [("Dockerfile", 12)]
    assert where(run(FIXTURES / "DG202" / "fires"), "DG202") == [
        ("Dockerfile", 4),
        ("Dockerfile", 5),
    ]
    assert where(run(FIXTURES / "DG305" / "fires"), "DG305") == [("Dockerfile", 5)]
    assert where(run(FIXTURES / "DG402" / "fires"), "DG402") == [("compose.yaml", 32)]
    assert where(run(FIXTURES / "DG001" / "fires"), "DG001") == [("compose.yaml", 20)]


def dockerfile_findings(tmp_path: Path, text: str) -> set[tuple[str, int | None]]:
    (tmp_path / "Dockerfile").write_text(text)
    (tmp_path / ".dockerignore").write_text(".git\n")
    return {(f.rule, f.line) for f in run(tmp_path).findings}


def test_dockerfile_rules_follow_stages_and_the_preamble(tmp_path: Path) -> None:
    found = dockerfile_findings(
        tmp_path,
        "ARG NPM_TOKEN\n"  # a global ARG is a build argument like any other
        "FROM golang:1.25-trixie AS toolchain\n"
        "FROM toolchain AS app\n"  # the final stage inherits the SDK through its parent
        "ENV PIP_NO_CACHE_DIR=1\n"
        "RUN pip install -rrequirements.txt\n"  # no cache: the ENV says so
        "USER 10001\n",
    )
    assert ("DG202", 1) in found
    assert ("DG302", 3) in found
    (tmp_path / "Dockerfile").write_text("FROM python:3.13\nRUN pip install \\\n    -r req.txt\n")
    ends = {f.rule: (f.line, f.end_line) for f in run(tmp_path).findings}
    assert ends["DG303"] == (2, 3) and ends["DG501"] == (1, None)
    assert not {r for r, _ in found} & {"DG303", "DG501"}


def test_copy_then_delete_follows_workdir_and_the_context(tmp_path: Path) -> None:
    """The issue's example (`COPY .npmrc` then `RUN rm .npmrc`, relative to WORKDIR), and a
    whole-context copy whose .env a later RUN removes: flagged only for files the context has."""
    (tmp_path / ".npmrc").write_text("//registry.npmjs.org/:_authToken=x\n")
    (tmp_path / ".env").write_text("A=1\n")
    found = dockerfile_findings(
        tmp_path,
        "FROM node:24-trixie-slim\nWORKDIR /app\nCOPY .npmrc package.json ./\n"
        "RUN npm ci --omit=dev && rm -f .npmrc\nCOPY . .\nRUN rm -rf .env .cache\nUSER 1000\n",
    )
    assert {line for rule, line in found if rule == "DG201"} == {4, 6}
    quiet = dockerfile_findings(
        tmp_path,
        "FROM node:24-trixie-slim\nWORKDIR /app\nCOPY package.json ./\n"
        "RUN --mount=type=secret,id=npmrc,target=/app/.npmrc npm ci --omit=dev && rm -f .npmrc\n"
        "COPY . /src\nRUN rm -rf /app/.env\nUSER 1000\n",
    )
    assert "DG201" not in {rule for rule, _ in quiet}


def test_findings_are_sorted_by_path_line_rule() -> None:
    result = run(NAIVE)
    keys = [(f.path, f.line or 0, f.rule) for f in result.findings]
    assert keys == sorted(keys)


def test_secret_files_use_dockers_matching_not_the_patterns_text() -> None:
    """`*.pem` in .dockerignore matches only at the context's root (Docker anchors patterns
    there): certs/server.pem is still sent. `**/*.pem` catches it (the near-miss)."""
    result = run(FIXTURES / "DG203" / "fires")
    leaked = sorted(f.related[0] for f in result.findings if f.rule == "DG203")
    assert leaked == [".env", "certs/server.pem"]
    quiet = run(FIXTURES / "DG203" / "quiet")  # .env.example is a template, not a secret
    assert "DG203" not in rules_of(quiet)


def test_context_walk_matches_docker_py_exclude_paths(tmp_path: Path) -> None:
    """The files DG203 looks at are exactly those docker-py's exclude_paths (Docker's
    .dockerignore semantics) sends to the builder."""
    from docker.utils.build import PatternMatcher, exclude_paths

    from scaffold.check.rules import _context_files

    for rel in [
        "a.txt",
        "b.pem",
        "sub/c.pem",
        "sub/deep/d.pem",
        "keep/e.log",
        "keep/f.log",
        "build/g.o",
        "build/keep.o",
        ".env",
        ".env.example",
        "docs/x.md",
        "sp ace/y",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    patterns = [
        "*.pem",
        "**/deep",
        "keep/*.log",
        "!keep/f.log",
        "build",
        "!build/keep.o",
        ".env*",
        "!.env.example",
        "# comment",
        "docs/",
    ]
    patterns = [p for p in patterns if not p.startswith("#")]
    ours = set(_context_files(tmp_path, PatternMatcher(patterns)))
    theirs = {
        p
        for p in exclude_paths(str(tmp_path), list(patterns), dockerfile="no-such-Dockerfile")
        if (tmp_path / p).is_file()
    }
    assert ours == theirs
    assert "sub/c.pem" in ours and "b.pem" not in ours and "build/keep.o" in ours


# ---- generated projects, naive twins ------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_generated_projects_have_no_findings(scenario: str, tmp_path: Path) -> None:
    """Each golden scenario generated afresh (secrets/ and .gitignore included), with the
    default set's policy applied: 0 findings, and every file was parsed."""
    layout = layouts.load(GOLDEN / scenario / "layout.yml")
    project = tmp_path / scenario
    new_project(project, layout)
    result = run(project, policy=True)
    assert result.findings == [], "\n".join(
        f"{f.rule} {f.path}:{f.line} {f.message}" for f in result.findings
    )
    assert result.skipped == []
    assert "docker-compose.yml" in result.files
    assert any(f.endswith("Dockerfile") for f in result.files) or scenario == "databases-only"


@pytest.mark.parametrize(("healthcheck", "fires"), [("CMD true", True), ("NONE", False)])
def test_a_dependency_is_healthy_through_the_image_it_builds(
    tmp_path: Path, healthcheck: str, fires: bool
) -> None:
    """Across files: `db` has no compose healthcheck, but the Dockerfile it builds has one."""
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "Dockerfile").write_text(f"FROM postgres:17\nHEALTHCHECK {healthcheck}\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  api:\n    image: example/api:1\n    depends_on: [db]\n"
        "  db:\n    build: ./db\n"
    )
    assert ("DG401" in rules_of(run(tmp_path))) is fires


def test_the_set_decides_start_order_only_in_a_dockergen_project(tmp_path: Path) -> None:
    """The frontend waits only for its backends to start (set.yml: nginx resolves upstreams per
    request). Without the dockergen.yml that says which kind each service is, the same compose
    file is held to the general rule."""
    project = tmp_path / "p"
    new_project(project, layouts.load(GOLDEN / "full" / "layout.yml"))
    assert "DG401" not in rules_of(run(project))
    (project / "dockergen.yml").unlink()
    fired = [f for f in run(project).findings if f.rule == "DG401"]
    assert fired and all("frontend depends on" in f.message for f in fired)


NAIVE_EXPECTED = {
    # the brief's naive twins: single-stage, root, and (go) the modules fetched after the copy
    ("express.Dockerfile", "DG301"),
    ("express.Dockerfile", "DG501"),
    ("fastapi.Dockerfile", "DG301"),
    ("fastapi.Dockerfile", "DG501"),
    ("go.Dockerfile", "DG301"),
    ("go.Dockerfile", "DG501"),
    ("go.Dockerfile", "DG305"),
    ("react.Dockerfile", "DG301"),
    ("react.Dockerfile", "DG501"),
    ("react.Dockerfile", "DG304"),
    ("static.Dockerfile", "DG501"),
    # the layer counter-example: a copied-then-deleted token and a token build argument
    ("leaky.Dockerfile", "DG201"),
    ("leaky.Dockerfile", "DG202"),
    ("leaky.Dockerfile", "DG501"),
}


def test_naive_twins_get_the_expected_findings(tmp_path: Path) -> None:
    for path in NAIVE.glob("*.Dockerfile"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / ".dockerignore").write_text(".git\n.env*\n")
    found = {(f.path, f.rule) for f in run(tmp_path).findings}
    assert found == NAIVE_EXPECTED


# ---- broken input ------------------------------------------------------------------------------


HARDENED = (FIXTURES / "DG000" / "quiet" / "compose.yaml").read_text()


def test_bad_input_never_crashes_and_the_rest_is_still_audited(tmp_path: Path) -> None:
    files = {
        "bin/Dockerfile": b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)),
        "empty/Dockerfile": b"",
        "blank/Dockerfile": b"# only a comment\n\n",
        "latin1/Dockerfile": "FROM caf\xe9:1\n".encode("latin-1"),
        "syntax/Dockerfile": b"FROM python:3.13\nRUN <<EOF\necho never closed\n",
        "unknown/Dockerfile": b"FROM python:3.13\nFROBNICATE now\n",
        "early/Dockerfile": b"RUN echo before\nFROM python:3.13\n",
        "yaml/compose.yaml": b"services:\n  api:\n    image: [unclosed\n",
        "list/compose.yaml": b"- not\n- a mapping\n",
        "nothing/compose.yaml": b"",
        "interp/compose.yaml": b"services:\n  api:\n    image: ${IMAGE:?set IMAGE}\n"
        b"    command: ${BROKEN\n",
        "good/compose.yaml": HARDENED.replace('user: "10001:10001"', "user: root", 1).encode(),
    }
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "again").symlink_to(tmp_path / "loop")
    (tmp_path / "self").symlink_to("self")
    (tmp_path / "Dockerfile.dangling").symlink_to("nowhere")
    result = run(tmp_path)
    by_path = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append((f.rule, f.message))
    for rel in files:
        if rel.startswith("good/"):
            continue
        assert rel in by_path, f"{rel}: no finding"
        if not rel.startswith("interp/"):  # a file that did not parse has no other finding
            assert {r for r, _ in by_path[rel]} == {"DG000"}, by_path[rel]
    assert "binary" in by_path["bin/Dockerfile"][0][1]
    assert "empty" in by_path["empty/Dockerfile"][0][1]
    assert "empty" in by_path["blank/Dockerfile"][0][1]
    assert "syntax error" in by_path["syntax/Dockerfile"][0][1]
    assert "unknown instruction FROBNICATE" in by_path["unknown/Dockerfile"][0][1]
    assert "invalid YAML" in by_path["yaml/compose.yaml"][0][1]
    # an interpolation error leaves the value as written; the rest of the file is audited
    interp = sorted(f for f in by_path["interp/compose.yaml"] if f[0] == "DG001")
    assert len(interp) == 2
    assert any("IMAGE" in m for _, m in interp) and any("unclosed" in m for _, m in interp)
    # the valid file beside them is audited as usual
    assert ("DG502", "api runs as user root") in by_path["good/compose.yaml"]
    skipped = {s.path: s.reason for s in result.skipped}
    assert "symlink loop" in skipped["loop/again"]
    assert "Dockerfile.dangling" in skipped
    assert "self" not in result.files


def test_an_unreadable_file_is_skipped(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "Dockerfile").chmod(0)
    result = run(tmp_path)
    assert [s.path for s in result.skipped] == ["Dockerfile"]


# ---- discovery ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Dockerfile", "dockerfile"),
        ("Dockerfile.prod", "dockerfile"),
        ("api.Dockerfile", "dockerfile"),
        ("docker-compose.yml", "compose"),
        ("docker-compose.override.yaml", "compose"),
        ("compose.yaml", "compose"),
        ("compose.prod.yml", "compose"),
        (".dockerignore", "dockerignore"),
        ("Dockerfile.dockerignore", "dockerignore"),
        ("dockerfile", None),
        ("compose.json", None),
        ("README.md", None),
        ("mycompose.yml", None),
        ("Dockerfile.jinja", None),
        ("docker-compose.yml.orig", None),
    ],
)
def test_kind_of(name: str, kind: str | None) -> None:
    assert kind_of(Path(name)) == kind


def test_discover_skips_dependency_and_state_folders(tmp_path: Path) -> None:
    for rel in [
        "Dockerfile",
        "svc/api.Dockerfile",
        "svc/.dockerignore",
        "compose.yaml",
        "node_modules/pkg/Dockerfile",
        ".git/Dockerfile",
        ".venv/Dockerfile",
        ".dockergen/base/Dockerfile",
        "notes.txt",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("FROM scratch\n")
    files, skipped = discover([tmp_path], tmp_path)
    rels = [p.relative_to(tmp_path).as_posix() for p in files]
    assert rels == ["Dockerfile", "compose.yaml", "svc/.dockerignore", "svc/api.Dockerfile"]
    assert skipped == []
    files, skipped = discover([tmp_path / "notes.txt", tmp_path / "missing"], tmp_path)
    assert files == [] and [s.path for s in skipped] == ["missing", "notes.txt"]


# ---- interpolation, credential words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$$HOME", "$HOME"),
        ("${SET}", "v"),
        ("$SET/x", "v/x"),
        ("${UNSET}", ""),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET:-${SET}-x}", "v-x"),
        ("a $ b", "a $ b"),
    ],
)
def test_interpolation_follows_the_compose_spec(text: str, expected: str) -> None:
    assert interpolate(text, {"SET": "v", "EMPTY": ""}) == expected


@pytest.mark.parametrize("text", ["${UNSET?needed}", "${EMPTY:?needed}", "${OPEN", "${}", "${A!b}"])
def test_interpolation_errors(text: str) -> None:
    with pytest.raises(Interpolation):
        interpolate(text, {"EMPTY": ""})


def test_env_file_beside_the_compose_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('# c\nexport A=1\nB="two words"\nC=3 # note\nbad line\n')
    assert read_env_file(tmp_path / ".env") == {"A": "1", "B": "two words", "C": "3"}


@pytest.mark.parametrize(
    ("name", "is_credential"),
    [
        ("NPM_TOKEN", True),
        ("DB_PASSWORD", True),
        ("api-key", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("SECRET_KEY_BASE", True),
        ("POSTGRES_PASSWORD_FILE", False),
        ("PASSWORD_MIN_LENGTH", False),
        ("TOKEN_URL", False),
        ("POSTGRES_USER", False),
        ("PORT", False),
        ("KEYCLOAK_REALM", False),
    ],
)
def test_credential_names(name: str, is_credential: bool) -> None:
    assert credential_name(name, catalogue.knowledge()) is is_credential


def test_credential_values() -> None:
    know = catalogue.knowledge()
    assert credential_value("ghp_" + "a" * 36, know)
    assert credential_value("https://user:pa55@pypi.example.test/simple", know)
    assert not credential_value("https://pypi.org/simple", know)
    assert not credential_value("${NPM_TOKEN}", know)


def test_a_build_context_outside_the_audited_tree_is_not_walked(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / ".env").write_text("TOKEN=x\n")  # beside the repository, not in it
    (tmp_path / "Dockerfile").write_text("FROM python:3.13\n")
    (root / "compose.yaml").write_text("services:\n  api:\n    build: ..\n")
    result = audit([root, tmp_path / "Dockerfile"], root=root, tset=default_set(), policy=False)
    assert "../Dockerfile" in result.files and "DG501" in rules_of(result)
    assert "DG203" not in rules_of(result) and "DG205" not in rules_of(result)


def test_databases_are_recognised_from_the_sets_kinds_and_their_aliases(tmp_path: Path) -> None:
    """postgres (a kind of the set, behind a mirror), mariadb (the catalogue's alias of mysql):
    their data directories come from the set; an unknown image is no database."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  pg:\n    image: registry.example.test/mirror/library/postgres:17\n"
        "  maria:\n    image: mariadb:11\n    volumes: ['./db:/var/lib/mysql']\n"
        "  app:\n    image: example/postgres-exporter:1\n"
    )
    found = {(f.rule, f.message) for f in run(tmp_path).findings if f.rule.startswith("DG1")}
    assert found == {
        ("DG101", "postgres service pg keeps /var/lib/postgresql/data on no volume"),
        ("DG102", "mysql data directory /var/lib/mysql of maria is the bind mount ./db"),
    }


def test_compose_is_read_as_yaml_1_2_numbers(tmp_path: Path) -> None:
    """PyYAML reads an unquoted `8080:80` as the base-60 number 484880; compose reads text."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:1.30\n    ports: [8080:80, 3000]\n"
    )
    messages = {f.message for f in run(tmp_path).findings if f.rule == "DG516"}
    assert messages == {
        "web publishes 8080:80 on every interface",
        "web publishes 3000 on every interface",
    }


def test_the_rules_file_is_valid_yaml_with_the_schema() -> None:
    data = yaml.safe_load(catalogue.CATALOGUE.read_text())
    assert set(data) == {"rules", "knowledge"}


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(max_size=12),
    st.sampled_from(["ALL", "host", "/var/lib/postgresql/data", "db", "./x:/y", "127.0.0.1:1:2"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    [
        "image",
        "build",
        "user",
        "ports",
        "volumes",
        "tmpfs",
        "networks",
        "depends_on",
        "healthcheck",
        "environment",
        "deploy",
        "logging",
        "cap_drop",
        "cap_add",
        "security_opt",
        "read_only",
        "restart",
        "privileged",
        "network_mode",
        "pid",
        "mem_limit",
        "pids_limit",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    services=st.dictionaries(
        st.sampled_from(["db", "api", "web"]),
        st.one_of(st.none(), st.dictionaries(_KEYS, _VALUES, max_size=6)),
        max_size=3,
    ),
    top=st.dictionaries(st.sampled_from(["networks", "volumes", "version", "name"]), _VALUES),
)
def test_any_compose_shape_is_audited_without_an_exception(
    services: dict[str, object], top: dict[str, object], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Whatever a compose file holds (wrong types included), the audit returns findings."""
    root = tmp_path_factory.mktemp("shape")
    for name in ("db", "api"):
        (root / name).mkdir()
        (root / name / "Dockerfile").write_text("FROM python:3.13\nHEALTHCHECK CMD true\n")
    data = {**top, "services": services}
    (root / "compose.yaml").write_text(yaml.safe_dump(data))
    result = run(root)
    assert all(f.rule in RULES for f in result.findings)


@pytest.mark.parametrize(
    ("key", "value"), [("volumes", 1), ("tmpfs", 7), ("ports", "8080"), ("depends_on", 3)]
)
def test_a_service_key_of_the_wrong_type_is_a_finding_not_a_crash(
    tmp_path: Path, key: str, value: object
) -> None:
    """compose refuses `volumes: 1`; check says where, and still audits the rest."""
    data = {"services": {"db": {"image": "postgres:17", key: value}}}
    (tmp_path / "compose.yaml").write_text(yaml.safe_dump(data))
    result = run(tmp_path)
    shape = [f for f in result.findings if f.rule == "DG000"]
    assert [f.message for f in shape] == [
        f"services.db.{key} is not "
        + {"tmpfs": "a list or a string", "depends_on": "a list or a mapping"}.get(key, "a list")
        + ": compose refuses this file"
    ]
    assert shape[0].line == 1 + sorted(["image", key]).index(key) + 2
    assert any(f.rule != "DG000" for f in result.findings)


@pytest.mark.parametrize(
    "steps",
    [
        # uv: the dependencies from the lockfile, then the project itself after its source
        "COPY pyproject.toml uv.lock ./\nRUN uv sync --frozen --no-dev --no-install-project\n"
        "COPY . .\nRUN uv sync --frozen --no-dev\n",
        # pnpm: the store from the lockfile, then an offline install after the workspace
        "COPY pnpm-lock.yaml ./\nRUN pnpm fetch --prod\nCOPY . .\n"
        "RUN pnpm install --offline --frozen-lockfile --prod\n",
    ],
)
def test_a_second_install_after_a_cached_first_one_is_not_dg305(tmp_path: Path, steps: str) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.13-slim-trixie AS build\n{steps}")
    assert "DG305" not in rules_of(run(tmp_path))
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.13-slim-trixie AS build\nCOPY . .\n" + steps.split("COPY . .\n")[1]
    )
    assert "DG305" in rules_of(run(tmp_path))
