"""Deploy targets (issue 12): `targets:` and `images:` in dockergen.yml, `new --target`,
`update --set targets=...`, and the one image name every target runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scaffold import layout as layouts
from scaffold.cli import app
from scaffold.errors import LayoutError
from tests.projects import generate, services

runner = CliRunner()
DEFAULT = {"services": services("react", ("fastapi", "api"), "postgres")}


def test_targets_default_to_compose_and_stay_out_of_the_file() -> None:
    layout = layouts.parse(DEFAULT)
    assert layout.targets == ["compose"]
    assert layout.images == layouts.Images()
    text = layout.to_yaml()
    assert "targets" not in text and "images" not in text


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (["kubernetes"], ["compose", "kubernetes"]),
        (["kubernetes", "swarm", "swarm"], ["compose", "swarm", "kubernetes"]),
        ("swarm, compose", ["compose", "swarm"]),
        ([], ["compose"]),
    ],
)
def test_targets_always_include_compose_in_a_fixed_order(given: object, want: list[str]) -> None:
    layout = layouts.parse({**DEFAULT, "targets": given})
    assert layout.targets == want
    assert yaml.safe_load(layout.to_yaml()).get("targets", ["compose"]) == want


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"targets": ["nomad"]}, "targets: unknown target 'nomad'; targets: compose, swarm"),
        ({"images": {"registry": "Registry.example/"}}, "images.registry: invalid registry"),
        ({"images": {"registry": "registry.example.test"}}, "images.registry: invalid registry"),
        ({"images": {"tag": "v 2"}}, "images.tag: invalid tag 'v 2'"),
        ({"images": {"digest": "x"}}, "images.digest: unknown field"),
    ],
)
def test_bad_targets_and_images_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(LayoutError) as exc:
        layouts.parse({**DEFAULT, **data})
    assert message in exc.value.message


def test_schema_lists_targets_and_images() -> None:
    schema = layouts.json_schema()
    assert schema["properties"]["targets"]["items"]["enum"] == list(layouts.TARGETS)
    assert set(schema["$defs"]["Images"]["properties"]) == {"registry", "tag"}


def test_one_image_name_per_built_service_in_compose(tmp_path: Path) -> None:
    data = {**DEFAULT, "images": {"registry": "registry.example.test:5000/team/", "tag": "1.2"}}
    result = generate(tmp_path / "shop", data)
    compose = yaml.safe_load((tmp_path / "shop" / "docker-compose.yml").read_text())["services"]
    assert compose["frontend"]["image"] == "registry.example.test:5000/team/shop-frontend:1.2"
    assert compose["api"]["image"] == "registry.example.test:5000/team/shop-api:1.2"
    assert "build" in compose["api"] and "build" not in compose["postgres"]
    assert {s.name: s.ref for s in result.plan.services}["api"] == compose["api"]["image"]
    assert result.plan.service("postgres").ref == compose["postgres"]["image"]


def test_new_target_flags_and_update_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    got = runner.invoke(app, ["new", "shop", "--defaults", "--target", "kubernetes"])
    assert got.exit_code == 0, got.output
    assert layouts.load(tmp_path / "shop" / "dockergen.yml").targets == ["compose", "kubernetes"]
    assert (tmp_path / "shop" / "deploy" / "kubernetes" / "kustomization.yaml").is_file()
    assert not (tmp_path / "shop" / "deploy" / "swarm").exists()

    monkeypatch.chdir(tmp_path / "shop")
    got = runner.invoke(app, ["update", "--set", "targets=compose,swarm", "--set", "images.tag=v2"])
    assert got.exit_code == 0, got.output
    layout = layouts.load(tmp_path / "shop" / "dockergen.yml")
    assert layout.targets == ["compose", "swarm"]
    assert layout.images.tag == "v2"
    assert (tmp_path / "shop" / "deploy" / "swarm" / "stack.yml").is_file()
    assert not (tmp_path / "shop" / "deploy" / "kubernetes").exists()
    assert "shop-api:v2" in (tmp_path / "shop" / "docker-compose.yml").read_text()

    got = runner.invoke(app, ["update", "--set", "targets=compose,fleet"])
    assert got.exit_code == 2
    assert "unknown target 'fleet'" in got.output


def test_compose_only_projects_have_no_deploy_folder(tmp_path: Path) -> None:
    generate(tmp_path / "shop", DEFAULT)
    assert not (tmp_path / "shop" / "deploy").exists()


def test_add_and_remove_update_every_target_keeping_hand_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`add redis` / `remove redis` in a project with all three targets: each target's files
    change, and a hand edit in each survives both (the 3-way merge of any generated file)."""
    data = {**DEFAULT, "targets": ["swarm", "kubernetes"]}
    project = tmp_path / "shop"
    generate(project, data)
    stack = project / "deploy" / "swarm" / "stack.yml"
    workloads = project / "deploy" / "kubernetes" / "workloads.yaml"
    compose = project / "docker-compose.yml"
    policies = project / "deploy" / "kubernetes" / "network-policies.yaml"
    generator_file = project / "secrets" / "kustomization.yaml"
    edits = {
        stack: ("      replicas: 2\n", "      replicas: 3  # ours\n"),
        workloads: ("  replicas: 2\n", "  replicas: 4  # ours\n"),
        compose: ("    restart: unless-stopped\n", "    restart: always  # ours\n"),
        # the files that gain and lose redis's parts: its policy, its secrets' generators
        policies: ("  name: allow-dns\n", "  name: allow-dns\n  annotations: {team: ours}\n"),
        generator_file: (
            "secretGenerator:\n",
            "generatorOptions:\n  labels: {team: ours}\nsecretGenerator:\n",
        ),
    }
    for path, (old, new) in edits.items():
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))

    monkeypatch.chdir(project)
    got = runner.invoke(app, ["add", "redis"])
    assert got.exit_code == 0, got.output
    assert "CONFLICT" not in got.output
    for path, (_, new) in edits.items():
        assert new in path.read_text(), path
    assert "redis" in yaml.safe_load(stack.read_text())["services"]
    manifests = list(yaml.safe_load_all(workloads.read_text()))
    assert ("StatefulSet", "redis") in {(d["kind"], d["metadata"]["name"]) for d in manifests if d}
    assert "redis" in {d["metadata"]["name"] for d in yaml.safe_load_all(policies.read_text()) if d}
    generator = yaml.safe_load(generator_file.read_text())
    assert generator["generatorOptions"] == {"labels": {"team": "ours"}}
    redis_files = sorted(p.name for p in (project / "secrets").glob("redis_*"))
    assert redis_files  # the new database's secrets, each one read by the generator
    names = {g["name"]: g["files"] for g in generator["secretGenerator"]}
    for file in redis_files:
        assert names[file.replace("_", "-")] == [f"value={file}"]

    got = runner.invoke(app, ["remove", "redis"])
    assert got.exit_code == 0, got.output
    for path, (_, new) in edits.items():
        assert new in path.read_text(), path
    assert "redis" not in yaml.safe_load(stack.read_text())["services"]
    assert "redis" not in workloads.read_text()
    assert "redis" not in policies.read_text()
    assert "redis" not in generator_file.read_text()
    for file in redis_files:  # kept: the data they guard may still exist
        assert (project / "secrets" / file).is_file()


def test_the_secrets_kustomization_is_committed_and_the_values_are_not(tmp_path: Path) -> None:
    """.gitignore keeps every secret value out of git, but not the generator that reads them."""
    import subprocess

    project = tmp_path / "shop"
    generate(project, {**DEFAULT, "targets": ["kubernetes"]})
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    listed = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "secrets"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == ["secrets/kustomization.yaml"]
