"""Shared fixtures for the dockergen test suite (tests/e2e has its own); helpers: projects.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from projects import generate, skip_unless_kinds

# tests/golden/*/expected/ holds generated projects (starter apps may ship test_*.py files):
# they are data for test_golden.py, never tests of this suite.
collect_ignore_glob = ["golden/*"]

VENV_BIN = Path(sys.prefix) / "bin"


def pytest_configure(config: pytest.Config) -> None:
    """Keep the suite's template-set cache and recently-used list out of the user's own."""
    if "DOCKERGEN_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["DOCKERGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="dockergen-test-cache-")


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The venv's bin directory: dockergen, hadolint, docker-compose live there."""
    return VENV_BIN


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """make_project({"services": [...]}, name="demo") -> generated project directory."""

    def make(data: dict[str, Any], name: str = "demo", **kwargs: Any) -> Path:
        skip_unless_kinds(data)
        target = tmp_path / name
        generate(target, data, **kwargs)
        return target

    return make


# Hypothesis: repeatable examples by default (CI and local runs agree); HYPOTHESIS_PROFILE=explore
# searches with fresh random examples and keeps failures in .hypothesis/ (git-ignored).
settings.register_profile("dockergen", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dockergen"))
