"""Property tests (hypothesis): any valid layout yields output that passes every oracle, and
any invalid name is refused before anything is written.

Examples are derandomized (see conftest.py) so runs are repeatable; set
HYPOTHESIS_PROFILE=explore to search with fresh random examples.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import oracles
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from projects import assert_no_findings, default_set, generate, tree

from scaffold import layout as layouts
from scaffold.api import new_project
from scaffold.errors import LayoutError
from scaffold.templatesets.manifest import NAME_PATTERN

KINDS = default_set().kinds
NAME = re.compile(NAME_PATTERN)

names = st.one_of(
    st.from_regex(r"[a-z]([a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{61}[a-z0-9]", fullmatch=True),  # the longest allowed
).filter(lambda n: n not in layouts.RESERVED_NAMES)


@st.composite
def valid_layouts(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=6))
    service_names = draw(st.lists(names, min_size=len(kinds), max_size=len(kinds), unique=True))
    taken: set[int] = set()
    services = []
    for kind, name in zip(kinds, service_names, strict=True):
        entry: dict[str, Any] = {"name": name, "kind": kind}
        spec = KINDS[kind]
        if draw(st.booleans()):
            if spec.published:
                port = draw(st.integers(1, 65535).filter(lambda p: p not in taken))
                entry["port"] = port
            else:
                entry["port"] = spec.port  # a database may restate its own port
        publish = draw(st.sampled_from(["default", "port", "false"])) if spec.published else None
        if publish == "port":
            entry["publish"] = draw(st.integers(1, 65535).filter(lambda p: p not in taken))
            taken.add(entry["publish"])
        elif publish == "false":
            entry["publish"] = False
        elif "port" in entry and spec.published:
            taken.add(entry["port"])
        services.append(entry)
    data: dict[str, Any] = {"services": services}
    if draw(st.booleans()):
        data["options"] = {"syntax_line": draw(st.booleans())}
    if draw(st.booleans()):
        data["project"] = draw(names)
    return data


# No shrinking: each example costs subprocesses (hadolint, compose) and the failing layout is
# printed as found; the per-kind tests in test_oracles.py already point at the culprit.
@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=valid_layouts())
def test_any_valid_layout_passes_every_oracle(data: dict[str, Any]):
    with tempfile.TemporaryDirectory(prefix="dockergen-prop-") as tmp:
        project = Path(tmp) / "prop"
        result = generate(project, data)
        assert [s.name for s in result.layout.services] == [s["name"] for s in data["services"]]
        normal, tset = result.layout, default_set()
        hosts = [
            layouts.host_port(s, layouts.published_by_default(s, normal, tset))
            for s in normal.services
        ]
        published = [h for h in hosts if h is not None]
        assert len(published) == len(set(published)), "published ports collide"
        compose = yaml.safe_load((project / "docker-compose.yml").read_text())["services"]
        for svc, host in zip(result.layout.services, hosts, strict=True):
            expected = [f"127.0.0.1:{host}:{svc.port}"] if host is not None else []
            assert compose[svc.name].get("ports", []) == expected
        assert_no_findings(oracles.run_all(project))


bad_names = st.text(max_size=70).filter(lambda s: NAME.fullmatch(s) is None)


@settings(max_examples=200, deadline=None)
@given(name=bad_names)
def test_invalid_service_name_is_rejected(name: str):
    with pytest.raises(LayoutError):
        layouts.parse({"services": [{"name": name, "kind": "postgres"}]})


@settings(max_examples=200, deadline=None)
@given(name=bad_names)
def test_invalid_project_name_is_rejected(name: str):
    with pytest.raises(LayoutError):
        layouts.parse({"project": name, "services": [{"name": "db", "kind": "postgres"}]})


@settings(max_examples=100, deadline=None)
@given(name=bad_names.filter(lambda s: s not in ("", ".", "..") and not set(s) & {"/", "\0"}))
def test_invalid_directory_name_writes_nothing(name: str):
    layout = layouts.parse({"services": [{"name": "db", "kind": "postgres"}]})
    with tempfile.TemporaryDirectory(prefix="dockergen-prop-") as tmp:
        with pytest.raises(LayoutError):
            new_project(Path(tmp) / name, layout)
        assert tree(Path(tmp)) == set()
