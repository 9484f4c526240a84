"""`dockergen init --yes` on every fixture repository, then `dockergen verify` on the lab engine:
each builds from the repository's own code and lockfile, and every service turns healthy on the
probe dockergen chose without touching the code.

Run as a user runs them (python -m scaffold in a subprocess). The lab has no registry: the
set's version images (python:3.12-slim-trixie, node:20-trixie-slim, golang:1.24-trixie...)
are its look-alikes under more names (`lab aliases`, a lab-only stand-in), and a database kind
the lab has no look-alike of (MongoDB) is removed with `dockergen remove` before verify (its
users' probes don't need it). The builds share the engine's cache with the other e2e tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from labutil import LAB_SCRIPT
from projects import default_set, lab_runs

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "repos"
REPOS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def dockergen(lab, cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scaffold", *args],
        cwd=cwd,
        env=dict(lab.env, COLUMNS="200", NO_COLOR="1", TERM="dumb"),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def aliases(lab) -> None:
    """The version images, as the lab's look-alikes (tagging is idempotent and cheap)."""
    subprocess.run(
        [sys.executable, str(LAB_SCRIPT), "aliases"],
        env=lab.env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_the_corpus_is_there():
    assert len(REPOS) >= 8, REPOS


@pytest.mark.parametrize("name", REPOS)
def test_init_then_verify_every_service_healthy(lab, aliases, tmp_path: Path, name: str):
    repo = tmp_path / name
    shutil.copytree(FIXTURES / name, repo, symlinks=True)
    before = {p.relative_to(repo): p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    done = dockergen(lab, repo, "init", "--yes", "--no-syntax-line")
    assert done.returncode == 0, done.stderr
    for rel, data in before.items():  # the repository's own files, untouched
        assert (repo / rel).read_bytes() == data, rel
    layout = yaml.safe_load((repo / "dockergen.yml").read_text(encoding="utf-8"))
    kinds = default_set().kinds
    for svc in layout["services"]:
        kind = kinds[svc["kind"]]
        if kind.image and not lab_runs(kind.image):
            gone = dockergen(lab, repo, "remove", svc["name"])
            assert gone.returncode == 0, gone.stderr
    run = dockergen(lab, repo, "verify")
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert "services healthy" in run.stdout
    assert "unhealthy" not in run.stdout


def test_dockergens_ignore_file_is_the_one_the_build_reads(lab, aliases, tmp_path: Path):
    """Beside the repository's own .dockerignore (which lets `.env` in), dockergen's
    Dockerfile.dockergen.dockerignore is what BuildKit reads for Dockerfile.dockergen: the
    image has the app and not the planted secrets."""
    import uuid

    repo = tmp_path / "own"
    shutil.copytree(FIXTURES / "own-dockerfile", repo, symlinks=True)
    (repo / ".env").write_text("API_TOKEN=planted\n", encoding="utf-8")
    (repo / "tls.key").write_text("planted\n", encoding="utf-8")
    assert ".env" not in (repo / ".dockerignore").read_text(encoding="utf-8")
    tag = f"e2e-{uuid.uuid4().hex[:8]}"
    done = dockergen(lab, repo, "init", "--yes", "--no-syntax-line")
    assert done.returncode == 0, done.stderr
    assert (repo / "Dockerfile.dockergen.dockerignore").is_file()
    dockergen(lab, repo, "update", "--set", f"images.tag={tag}")
    image = f"own-api:{tag}"
    try:
        compose = ["docker", "compose", "-f", "docker-compose.dockergen.yml", "-p", f"own-{tag}"]
        built = subprocess.run(
            [*compose, "build", "api"],
            cwd=repo,
            env=lab.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert built.returncode == 0, built.stderr
        names = lab.names_in_image(image)
        assert "app/server.js" in names and "app/node_modules" in names
        assert "app/.env" not in names and "app/tls.key" not in names
    finally:
        lab.rm_images(image)
