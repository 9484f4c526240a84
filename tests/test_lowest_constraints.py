"""Every lower bound in pyproject.toml is the version .ci/run tests in its lowest-versions venv.

A bound raised or added in pyproject.toml without the constraints file (or the other way round)
would leave that venv testing something other than the lowest allowed install.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / ".ci" / "lowest-constraints.txt"


def runtime_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(line) for line in project["dependencies"]]
    return {canonicalize_name(req.name): req for req in reqs}


def pins() -> dict[str, Version]:
    out: dict[str, Version] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[canonicalize_name(name)] = Version(version)
    return out


def lower_bound(req: Requirement) -> Version | None:
    floors = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    return max(floors) if floors else None


def test_every_runtime_dependency_is_pinned_at_its_lower_bound() -> None:
    reqs, pinned = runtime_requirements(), pins()
    assert sorted(pinned) == sorted(reqs), "one pin per runtime dependency, no other"
    for name, req in reqs.items():
        floor = lower_bound(req)
        assert floor is not None, f"{req}: no lower bound to test"
        assert pinned[name] == floor, f"{req} but {CONSTRAINTS.name} pins {name}=={pinned[name]}"
        assert req.specifier.contains(pinned[name], prereleases=True), f"{req} excludes its pin"
