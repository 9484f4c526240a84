"""Template set policy: image rewriting before rendering (scaffold/images.py), and the checks on
what was rendered (scaffold/dockerfile.py, policy.py): allowed registries, the mirror, required
labels, digest pins.

Each violation is one line on stderr and exit 2, and nothing is written. Sets are built in
tmp_path and extend the bundled default with a small built kind (`tiny`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from scaffold import images
from scaffold.cli import app
from scaffold.dockerfile import dockerfile_stages, syntax_image
from scaffold.images import canonical, mirrored, parse_image, unmirrored
from scaffold.policy import check_output
from scaffold.templatesets.loader import load_template_set

runner = CliRunner()
MIRROR = "registry.example.test/mirror/"
PY = "python:3.13-slim-trixie"
SYNTAX = "docker/dockerfile:1"  # default's `# syntax=` frontend
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64

TINY_KIND = {
    "category": "backend",
    "description": "A tiny Python service for tests",
    "default_name": "tiny",
    "port": 7000,
    "images": {"build": PY, "runtime": PY},
    "user": "10001:10001",
}
TINY_DOCKERFILE = """\
{% include "partials/header.jinja" %}
FROM {{ svc.images.build }} AS build
WORKDIR /src
COPY app.py ./

FROM {{ svc.images.runtime }} AS runtime
{% include "partials/labels.jinja" %}
WORKDIR /app
COPY --from=build /src /app
USER 10001:10001
HEALTHCHECK CMD ["python", "-c", "print('ok')"]
CMD ["python", "/app/app.py"]
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKERGEN_CACHE_DIR", str(tmp_path / "cache"))


def policy_set(
    root: Path, policy_: dict[str, Any], dockerfile: str = TINY_DOCKERFILE, **manifest: Any
) -> Path:
    """A set extending default with `policy_` and the tiny kind (its Dockerfile given)."""
    files = {
        "kinds/tiny/kind.yml": yaml.safe_dump(TINY_KIND),
        "kinds/tiny/files/Dockerfile.jinja": dockerfile,
        "kinds/tiny/files/app.py": "print('hello')\n",
    }
    root.mkdir(parents=True)
    data = {"name": "team", "version": "1.0.0", "extends": "default", "policy": policy_, **manifest}
    (root / "set.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def new(tmp_path: Path, root: Path, *args: str, name: str = "shop") -> Result:
    return runner.invoke(app, ["new", str(tmp_path / name), "--template", str(root), *args])


def violations(result: Result, count: int = 1) -> list[str]:
    """Exit 2, `count` lines on stderr, each a `dockergen: ... policy.` line."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == count, result.stderr
    assert all(line.startswith("dockergen: ") and "policy." in line for line in lines), lines
    return lines


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def froms(dockerfile: Path) -> list[str]:
    return [s.base for s in dockerfile_stages(dockerfile.read_text())]


def compose_images(project: Path) -> dict[str, str]:
    """The images compose pulls: a built service's `image:` names what it builds."""
    services = yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
    return {
        name: svc["image"]
        for name, svc in services.items()
        if "image" in svc and "build" not in svc
    }


# -------------------------------------------------------------------------- image references


@pytest.mark.parametrize(
    ("ref", "registry", "path", "tag"),
    [
        ("python:3.13", "docker.io", "library/python", "3.13"),
        ("docker.io/python:3.13", "docker.io", "library/python", "3.13"),
        ("index.docker.io/library/python:3.13", "docker.io", "library/python", "3.13"),
        ("bitnami/redis:8", "docker.io", "bitnami/redis", "8"),
        ("ghcr.io/acme/tool:1.2", "ghcr.io", "acme/tool", "1.2"),
        ("localhost:5000/app:dev", "localhost:5000", "app", "dev"),
        ("registry.example.test:8443/a/b/c", "registry.example.test:8443", "a/b/c", None),
    ],
)
def test_parse_image(ref: str, registry: str, path: str, tag: str | None) -> None:
    image = parse_image(ref)
    assert (image.registry, image.path, image.tag) == (registry, path, tag)


@pytest.mark.parametrize("ref", ["", "Python:3", "a b", "${BASE}", "https://x/y", "x@sha256:12"])
def test_not_image_references(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_image(ref)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (PY, MIRROR + "library/" + PY),
        ("bitnami/redis:8", MIRROR + "bitnami/redis:8"),
        ("ghcr.io/acme/tool:1", MIRROR + "ghcr.io/acme/tool:1"),
        (f"{PY}@{D1}", f"{MIRROR}library/{PY}@{D1}"),
        ("scratch", "scratch"),
        (MIRROR + "library/" + PY, MIRROR + "library/" + PY),
    ],
)
def test_mirror_rule(ref: str, expected: str) -> None:
    assert mirrored(ref, MIRROR) == expected
    if ref != "scratch" and not ref.startswith(MIRROR):
        assert canonical(unmirrored(expected, MIRROR).split("@")[0]) == canonical(ref.split("@")[0])


def test_dockerfile_stages() -> None:
    text = """\
# syntax=docker/dockerfile:1
ARG BASE=python:3.13
FROM --platform=$BUILDPLATFORM ${BASE} AS build
LABEL a=1
RUN --mount=type=cache,target=/c --mount=type=bind,from=ghcr.io/x/y:1,target=/y true
FROM build AS runtime
COPY --from=build /a /a
COPY --from=docker.io/library/busybox:1 \\
     /bin/sh /bin/sh
LABEL "b"="two words" c="x\\$y"
LABEL legacy value here
"""
    stages = dockerfile_stages(text)
    assert [(s.base, s.name, s.from_stage) for s in stages] == [
        ("python:3.13", "build", False),
        ("build", "runtime", True),
    ]
    assert [ref for s in stages for _, ref, _ in s.images] == [
        "python:3.13",
        "ghcr.io/x/y:1",
        "docker.io/library/busybox:1",
    ]
    assert stages[1].labels == {"a": "1", "b": "two words", "c": "x$y", "legacy": "value here"}


@pytest.mark.parametrize(
    ("text", "bases"),
    [
        ("ARG A=x:1\nFROM $A\n", ["x:1"]),
        ("ARG B\nFROM ${B:-py:3}\n", ["py:3"]),
        ("ARG B=q:1\nFROM ${B:-py:3}\n", ["q:1"]),
        ("FROM ${UNKNOWN}\n", ["${UNKNOWN}"]),
    ],
)
def test_from_variables_resolve_like_docker(text: str, bases: list[str]) -> None:
    assert [s.base for s in dockerfile_stages(text)] == bases


def test_an_unresolvable_from_is_a_violation(tmp_path: Path) -> None:
    variable = TINY_DOCKERFILE.replace(
        "FROM {{ svc.images.build }} AS build", "FROM ${BASE} AS build"
    )
    root = policy_set(tmp_path / "set", {"allowed_registries": ["docker.io"]}, variable)
    [line] = violations(new(tmp_path, root, "-b", "tiny"))
    assert "FROM '${BASE}' is not a literal image reference" in line


# ---------------------------------------------------------------------- allowed registries


def test_disallowed_registry_is_one_line_exit_2(tmp_path: Path) -> None:
    root = policy_set(tmp_path / "set", {"allowed_registries": ["registry.example.test"]})
    [line] = violations(new(tmp_path, root, "-d", "postgres"))
    assert line.startswith("dockergen: docker-compose.yml:")
    assert line.endswith(
        ": policy.allowed_registries: service postgres postgres:17-trixie is from docker.io, "
        "which is not allowed (allowed: registry.example.test)"
    )
    assert not (tmp_path / "shop").exists()


def test_every_violation_gets_its_own_line(tmp_path: Path) -> None:
    root = policy_set(tmp_path / "set", {"allowed_registries": ["ghcr.io"]})
    lines = violations(new(tmp_path, root, "-b", "tiny", "-d", "postgres"), count=4)
    # the syntax frontend, the build and the runtime FROM
    assert sum("tiny/Dockerfile:" in line for line in lines) == 3
    assert sum("docker-compose.yml:" in line for line in lines) == 1


def test_docker_hub_counts_as_docker_io_and_scratch_is_exempt(tmp_path: Path) -> None:
    scratch = TINY_DOCKERFILE.replace(
        "FROM {{ svc.images.runtime }} AS runtime", "FROM scratch AS runtime"
    )
    root = policy_set(tmp_path / "set", {"allowed_registries": ["docker.io"]}, scratch)
    ok(new(tmp_path, root, "-b", "tiny", "-d", "postgres"))


def test_registry_path_prefixes(tmp_path: Path) -> None:
    allowed = ["docker.io/library", "docker.io/docker/dockerfile"]  # bases, the syntax frontend
    root = policy_set(tmp_path / "set", {"allowed_registries": allowed})
    ok(new(tmp_path, root, "-b", "tiny", "-d", "postgres"))
    other = policy_set(tmp_path / "other", {"allowed_registries": ["docker.io/acme"]})
    violations(new(tmp_path, other, "-d", "postgres", name="shop2"))


def test_a_hardcoded_image_in_an_override_is_caught(tmp_path: Path) -> None:
    sneaky = TINY_DOCKERFILE.replace(
        "FROM {{ svc.images.build }} AS build", "FROM quay.io/evil/python:3.13 AS build"
    )
    sneaky = sneaky.replace(
        "COPY --from=build /src /app",
        "COPY --from=build /src /app\nCOPY --from=ghcr.io/evil/tools:1 /x /x",
    )
    root = policy_set(
        tmp_path / "set",
        {"mirror": MIRROR, "allowed_registries": ["registry.example.test"]},
        sneaky,
    )
    lines = violations(new(tmp_path, root, "-b", "tiny"), count=4)
    text = "\n".join(lines)
    assert "tiny/Dockerfile:4: policy.allowed_registries: FROM quay.io/evil/python:3.13" in text
    assert "tiny/Dockerfile:4: policy.mirror: FROM quay.io/evil/python:3.13 is not pulled" in text
    assert "COPY --from ghcr.io/evil/tools:1 is from ghcr.io" in text


# --------------------------------------------------------------------------------- mirror


def test_mirror_rewrites_dockerfiles_and_compose(tmp_path: Path) -> None:
    root = policy_set(
        tmp_path / "set",
        {
            "mirror": "registry.example.test/mirror",
            "allowed_registries": ["registry.example.test/mirror"],
        },
    )
    project = tmp_path / "shop"
    ok(new(tmp_path, root, "-b", "tiny", "-d", "postgres", "-d", "redis"))
    assert froms(project / "tiny" / "Dockerfile") == [f"{MIRROR}library/{PY}"] * 2
    assert compose_images(project) == {
        "postgres": f"{MIRROR}library/postgres:17-trixie",
        "redis": f"{MIRROR}library/redis:8.6-trixie",
    }


# --------------------------------------------------------------------------------- labels


def test_required_labels_are_rendered_with_answers(tmp_path: Path) -> None:
    root = policy_set(
        tmp_path / "set",
        {
            "labels": {
                "org.opencontainers.image.vendor": 'ACME "Corp" $HOME',
                "com.example.team": "{{ answers.team }}-{{ service }}",
            }
        },
        questions=[{"name": "team", "default": "core"}],
    )
    project = tmp_path / "shop"
    ok(new(tmp_path, root, "-b", "tiny", "-a", "team=web"))
    final = dockerfile_stages((project / "tiny" / "Dockerfile").read_text())[-1]
    assert final.labels["org.opencontainers.image.vendor"] == 'ACME "Corp" $HOME'
    assert final.labels["com.example.team"] == "web-tiny"
    assert final.labels["org.opencontainers.image.title"] == "shop-tiny"


def test_missing_label_in_a_child_dockerfile_override(tmp_path: Path) -> None:
    unlabelled = TINY_DOCKERFILE.replace('{% include "partials/labels.jinja" %}\n', "")
    root = policy_set(
        tmp_path / "set", {"labels": {"org.opencontainers.image.vendor": "ACME"}}, unlabelled
    )
    [line] = violations(new(tmp_path, root, "-b", "tiny", "-d", "postgres"))
    assert line == (
        "dockergen: tiny/Dockerfile:8: policy.labels: the final stage has no "
        "org.opencontainers.image.vendor label"
    )
    assert not (tmp_path / "shop").exists()


def test_labels_in_an_earlier_stage_are_inherited_only_through_from(tmp_path: Path) -> None:
    inherited = TINY_DOCKERFILE.replace(
        'FROM {{ svc.images.runtime }} AS runtime\n{% include "partials/labels.jinja" %}\n',
        'FROM {{ svc.images.runtime }} AS base\n{% include "partials/labels.jinja" %}\n'
        "FROM base AS runtime\n",
    )
    root = policy_set(tmp_path / "set", {"labels": {"com.example.team": "x"}}, inherited)
    ok(new(tmp_path, root, "-b", "tiny"))


def test_empty_label_value_is_a_violation(tmp_path: Path) -> None:
    root = policy_set(
        tmp_path / "set",
        {"labels": {"com.example.team": "{{ answers.team }}"}},
        questions=[{"name": "team", "default": ""}],
    )
    [line] = violations(new(tmp_path, root, "-b", "tiny"))
    assert "the final stage has an empty com.example.team label" in line


def test_label_template_errors_are_one_line(tmp_path: Path) -> None:
    root = policy_set(tmp_path / "set", {"labels": {"com.example.team": "{{ answers.nope }}"}})
    result = new(tmp_path, root, "-b", "tiny")
    assert result.exit_code == 2
    assert "policy.labels.com.example.team" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# -------------------------------------------------------------------------------- digests


def test_digests_are_rendered_as_tag_at_digest(tmp_path: Path) -> None:
    root = policy_set(tmp_path / "set", {"digests": {PY: D1, "postgres:17-trixie": D2}})
    project = tmp_path / "shop"
    ok(new(tmp_path, root, "-b", "tiny", "-d", "postgres", "-d", "redis"))
    assert froms(project / "tiny" / "Dockerfile") == [f"{PY}@{D1}"] * 2
    assert compose_images(project) == {
        "postgres": f"postgres:17-trixie@{D2}",
        "redis": "redis:8.6-trixie",  # no digest known, none required
    }


def test_digests_file_adds_and_overrides(tmp_path: Path) -> None:
    root = policy_set(
        tmp_path / "set",
        {"digests": {PY: D1, SYNTAX: D1}, "mirror": MIRROR, "require_digests": True},
    )
    digests = tmp_path / "digests.yml"
    digests.write_text(
        yaml.safe_dump({"docker.io/library/python:3.13-slim-trixie": D3, "postgres:17-trixie": D2})
    )
    project = tmp_path / "shop"
    ok(new(tmp_path, root, "-b", "tiny", "-d", "postgres", "--digests", str(digests)))
    assert froms(project / "tiny" / "Dockerfile") == [f"{MIRROR}library/{PY}@{D3}"] * 2
    assert compose_images(project) == {"postgres": f"{MIRROR}library/postgres:17-trixie@{D2}"}


def test_missing_digest_with_require_digests(tmp_path: Path) -> None:
    root = policy_set(tmp_path / "set", {"require_digests": True, "digests": {PY: D1, SYNTAX: D1}})
    [line] = violations(new(tmp_path, root, "-b", "tiny", "-d", "postgres"))
    assert "docker-compose.yml:" in line
    assert "policy.require_digests: service postgres postgres:17-trixie is not pinned" in line
    assert not (tmp_path / "shop").exists()


def test_a_digest_contradicting_the_map(tmp_path: Path) -> None:
    stale = TINY_DOCKERFILE.replace(
        "FROM {{ svc.images.build }} AS build", f"FROM {PY}@{D2} AS build"
    )
    root = policy_set(tmp_path / "set", {"digests": {PY: D1}}, stale)
    [line] = violations(new(tmp_path, root, "-b", "tiny"))
    assert f"policy.digests: FROM {PY}@{D2} contradicts the digests map ({D1})" in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2]", "expected a mapping"),
        ("python: sha256:1234", "a digests key is image:tag"),
        ("'python:3': md5:abc", "is not a sha256:<64 hex> digest"),
        ("a: [", "invalid YAML"),
    ],
)
def test_bad_digests_file(tmp_path: Path, content: str, expected: str) -> None:
    root = policy_set(tmp_path / "set", {})
    (tmp_path / "d.yml").write_text(content)
    result = new(tmp_path, root, "-b", "tiny", "--digests", str(tmp_path / "d.yml"))
    assert result.exit_code == 2 and expected in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("policy_", "expected"),
    [
        ({"digests": {PY: "sha256:short"}}, "not a sha256:<64 hex> digest"),
        ({"labels": {"Vendor": "x"}}, "use lowercase reverse-DNS keys"),
        ({"allowed_registries": ["https://registry.example.test"]}, "not a registry host"),
        ({"require_digests": "sometimes"}, "require_digests"),
    ],
)
def test_bad_policies(tmp_path: Path, policy_: dict, expected: str) -> None:
    root = policy_set(tmp_path / "set", policy_)
    result = runner.invoke(app, ["templates", "show", str(root)])
    assert result.exit_code == 2 and expected in result.stderr, result.stderr


# ---------------------------------------------------------------------- the library checks


def test_check_output_reads_the_rendered_files_only(tmp_path: Path) -> None:
    """Inputs can be right while the output is wrong: the check is on what was written."""
    root = policy_set(tmp_path / "set", {"allowed_registries": ["docker.io"]})
    tset = load_template_set(str(root))
    project = tmp_path / "out"
    (project / "svc").mkdir(parents=True)
    (project / "svc" / "Dockerfile").write_text("FROM ghcr.io/a/b:1\nFROM scratch\n")
    (project / "docker-compose.yml").write_text("services:\n  db:\n    image: quay.io/x/y:2\n")
    (project / ".dockergen").mkdir()
    (project / ".dockergen" / "Dockerfile").write_text("FROM ghcr.io/ignored:1\n")
    assert [line.split(": policy.")[0] for line in check_output(project, tset)] == [
        "svc/Dockerfile:1",
        "docker-compose.yml:3",
    ]


def test_no_policy_no_findings(tmp_path: Path) -> None:
    tset = load_template_set("default")
    (tmp_path / "Dockerfile").write_text("FROM ghcr.io/a/b\n")
    assert check_output(tmp_path, tset) == []
    assert images.ImageResolver(tset.policy, {})(PY) == PY


# ------------------------------------------------------------------------- the syntax line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# syntax=docker/dockerfile:1\nFROM a\n", (1, "docker/dockerfile:1")),
        ("#escape=`\n#  SYNTAX = ghcr.io/x/y:1\nFROM a\n", (2, "ghcr.io/x/y:1")),
        ("# a comment\n# syntax=docker/dockerfile:1\nFROM a\n", None),  # not a directive now
        ("\n# syntax=docker/dockerfile:1\nFROM a\n", None),  # after a blank line
        ("FROM a\n# syntax=docker/dockerfile:1\n", None),
    ],
)
def test_syntax_directive_is_read_as_buildkit_does(
    text: str, expected: tuple[int, str] | None
) -> None:
    assert syntax_image(text) == expected


def test_the_syntax_line_goes_through_the_mirror_and_is_checked(tmp_path: Path) -> None:
    policy_ = {"mirror": MIRROR, "allowed_registries": ["registry.example.test"]}
    root = policy_set(tmp_path / "set", policy_)
    ok(new(tmp_path, root, "-b", "tiny"))
    first = (tmp_path / "shop" / "tiny" / "Dockerfile").read_text().splitlines()[0]
    assert first == f"# syntax={MIRROR}docker/dockerfile:1"
    # a Dockerfile that writes its own syntax line can't bypass the registries or the mirror
    sneaky = "# syntax=docker/dockerfile:1.7\n" + TINY_DOCKERFILE.replace(
        '{% include "partials/header.jinja" %}\n', ""
    )
    root = policy_set(tmp_path / "sneaky", policy_, sneaky)
    lines = violations(new(tmp_path, root, "-b", "tiny", name="other"), count=2)
    assert (
        "tiny/Dockerfile:1: policy.allowed_registries: # syntax docker/dockerfile:1.7" in (lines[0])
    )
    assert "policy.mirror: # syntax docker/dockerfile:1.7 is not pulled through" in lines[1]


# ------------------------------------------------------------------------ deploy targets


def test_the_policy_applies_to_every_deploy_target(tmp_path: Path) -> None:
    """The stack file and the manifests pull the mirrored images compose pulls; an image added
    by hand to either is checked like a compose one; the project's own built images are not."""
    from scaffold.policy import check_output
    from scaffold.templatesets.loader import load_template_set

    root = policy_set(
        tmp_path / "set",
        {"mirror": MIRROR, "allowed_registries": ["registry.example.test/mirror"]},
    )
    project = tmp_path / "shop"
    ok(
        new(
            tmp_path,
            root,
            "-b",
            "tiny",
            "-d",
            "postgres",
            "--target",
            "swarm",
            "--target",
            "kubernetes",
        )
    )
    stack_file = project / "deploy" / "swarm" / "stack.yml"
    workloads = project / "deploy" / "kubernetes" / "workloads.yaml"
    stack = yaml.safe_load(stack_file.read_text())["services"]
    assert stack["postgres"]["image"] == f"{MIRROR}library/postgres:17-trixie"
    assert stack["tiny"]["image"] == "shop-tiny:latest"
    images = [
        c["image"]
        for d in yaml.safe_load_all(workloads.read_text())
        if d and d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert images == ["shop-tiny:latest", f"{MIRROR}library/postgres:17-trixie"]
    tset = load_template_set(str(root))
    assert check_output(project, tset) == []
    stack_file.write_text(stack_file.read_text().replace(f"{MIRROR}library/postgres", "postgres"))
    workloads.write_text(workloads.read_text().replace(f"{MIRROR}library/postgres", "quay.io/x/pg"))
    found = check_output(project, tset)
    assert any(
        line.startswith("deploy/swarm/stack.yml:") and "policy.mirror: image postgres:17" in line
        for line in found
    ), found
    assert any(
        line.startswith("deploy/kubernetes/workloads.yaml:")
        and "policy.allowed_registries: image quay.io/x/pg:17-trixie" in line
        for line in found
    ), found
