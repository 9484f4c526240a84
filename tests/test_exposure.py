"""Issue 11 section 4: a backend behind a frontend is reached through it, not published beside it.

The rule is set data (set.yml: the backend category is published `unless-proxied`), so these
tests go through the bundled set as a user does: the layout, the plan, docker-compose.yml (and
`docker compose config`), the generated README and vite.config.js, and the update report for a
project whose backend was published before.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import oracles
import pytest
import yaml
from projects import assert_no_findings, default_set, generate

from scaffold import layout as layouts
from scaffold.edits import set_values
from scaffold.report import update_report
from scaffold.state import digest
from scaffold.templatesets.manifest import CategorySpec
from scaffold.update import Unpublished, update_project


def layout(*services: dict[str, Any], project: str = "demo") -> dict[str, Any]:
    return {"project": project, "options": {"syntax_line": False}, "services": list(services)}


def ports(root: Path) -> dict[str, list[str]]:
    """Compose service -> its `ports:` entries."""
    doc = yaml.safe_load((root / "docker-compose.yml").read_text(encoding="utf-8"))
    return {name: spec.get("ports", []) for name, spec in doc["services"].items()}


def host_ports(data: dict[str, Any]) -> dict[str, int | None]:
    tset = default_set()
    normal = layouts.normalise(layouts.parse(data), tset)
    return {
        s.name: layouts.host_port(s, layouts.published_by_default(s, normal, tset))
        for s in normal.services
    }


# ------------------------------------------------------------------ the rule is set data


def test_the_backend_category_says_unless_proxied_and_its_kinds_inherit_it() -> None:
    tset = default_set()
    assert tset.category("backend").published == "unless-proxied"
    assert tset.category("frontend").publishes is True
    assert tset.category("database").publishes is False
    for name, kind in tset.kinds.items():
        assert kind.unless_proxied == (kind.category == "backend"), name
        assert kind.published == (kind.category != "database"), name


def test_an_unknown_published_value_is_refused() -> None:
    with pytest.raises(ValueError, match="unless-proxied"):
        CategorySpec.model_validate({"published": "sometimes"})


def test_a_kind_may_override_its_category() -> None:
    """`publish: true` in a kind.yml keeps that kind published even behind a frontend."""
    base = default_set()
    always = base.kinds["fastapi"].model_copy(update={"publish": True})
    tset = dataclasses.replace(base, kinds={**base.kinds, "fastapi": always})
    data = layout({"name": "web", "kind": "static"}, {"name": "api", "kind": "fastapi"})
    normal = layouts.normalise(layouts.parse(data), tset)
    api = normal.services[1]
    assert layouts.host_port(api, layouts.published_by_default(api, normal, tset)) == 8000


# ------------------------------------------------------------------ layout and host ports


def test_with_a_frontend_backends_are_not_published() -> None:
    data = layout(
        {"name": "web", "kind": "react"},
        {"name": "api", "kind": "fastapi"},
        {"name": "svc", "kind": "express"},
        {"name": "db", "kind": "postgres"},
    )
    assert host_ports(data) == {"web": 8080, "api": None, "svc": None, "db": None}
    text = layouts.normalise(layouts.parse(data), default_set()).to_yaml()
    assert "publish" not in text  # the default, so nothing recorded


def test_without_a_frontend_backends_are_published_as_before() -> None:
    data = layout({"name": "api", "kind": "fastapi"}, {"name": "svc", "kind": "fastapi"})
    assert host_ports(data) == {"api": 8000, "svc": 8001}


def test_backends_behind_a_frontend_keep_distinct_ports_for_their_dev_servers() -> None:
    """Their dev servers listen on the host on `port`: two of the same kind must not collide."""
    data = layout(
        {"name": "web", "kind": "static"},
        {"name": "a", "kind": "fastapi"},
        {"name": "b", "kind": "fastapi"},
    )
    normal = layouts.normalise(layouts.parse(data), default_set())
    assert [s.port for s in normal.services] == [8080, 8000, 8001]


@pytest.mark.parametrize("publish", [8000, 9001])
def test_explicit_publish_wins_and_is_recorded(publish: int) -> None:
    """Even on the same number as `port`: it is not the default any more, so it is kept."""
    data = layout(
        {"name": "web", "kind": "static"}, {"name": "api", "kind": "fastapi", "publish": publish}
    )
    assert host_ports(data)["api"] == publish
    normal = layouts.normalise(layouts.parse(data), default_set())
    assert normal.services[1].publish == publish
    again = layouts.normalise(layouts.parse(yaml.safe_load(normal.to_yaml())), default_set())
    assert again == normal  # the normal form is stable


def test_publish_false_behind_a_frontend_is_the_default() -> None:
    data = layout(
        {"name": "web", "kind": "static"}, {"name": "api", "kind": "fastapi", "publish": False}
    )
    normal = layouts.normalise(layouts.parse(data), default_set())
    assert normal.services[1].publish is None
    assert "publish" not in normal.to_yaml()


def test_an_explicit_publish_still_collides_with_another_host_port() -> None:
    data = layout(
        {"name": "web", "kind": "static", "publish": 9000},
        {"name": "api", "kind": "fastapi", "publish": 9000},
    )
    with pytest.raises(layouts.LayoutError, match="port 9000 is used by both"):
        host_ports(data)


# ------------------------------------------------------------------ generated files


def test_compose_publishes_the_frontend_only(tmp_path: Path) -> None:
    generate(
        tmp_path / "p",
        layout(
            {"name": "web", "kind": "react"},
            {"name": "api", "kind": "fastapi"},
            {"name": "db", "kind": "postgres"},
        ),
    )
    assert ports(tmp_path / "p") == {"web": ["127.0.0.1:8080:8080"], "api": [], "db": []}
    assert_no_findings(oracles.compose_config(tmp_path / "p"))


def test_compose_publishes_backends_without_a_frontend(tmp_path: Path) -> None:
    generate(tmp_path / "p", layout({"name": "api", "kind": "go"}, {"name": "db", "kind": "redis"}))
    assert ports(tmp_path / "p") == {"api": ["127.0.0.1:8080:8080"], "db": []}
    assert_no_findings(oracles.compose_config(tmp_path / "p"))


def test_compose_publishes_an_explicit_backend(tmp_path: Path) -> None:
    generate(
        tmp_path / "p",
        layout(
            {"name": "web", "kind": "static"},
            {"name": "api", "kind": "fastapi", "publish": 8000},
            {"name": "svc", "kind": "express"},
        ),
    )
    got = ports(tmp_path / "p")
    assert got == {"web": ["127.0.0.1:8080:8080"], "api": ["127.0.0.1:8000:8000"], "svc": []}
    assert_no_findings(oracles.compose_config(tmp_path / "p"))


def test_vite_proxies_to_published_ports_and_to_dev_servers(tmp_path: Path) -> None:
    """The dev server sends /api/api/ to api's host port and /api/svc/ to svc's own dev server
    (on its `port`, 127.0.0.1): both are where a request from the host can land."""
    generate(
        tmp_path / "p",
        layout(
            {"name": "web", "kind": "react"},
            {"name": "api", "kind": "fastapi", "port": 8000, "publish": 9100},
            {"name": "svc", "kind": "express"},
        ),
    )
    vite = (tmp_path / "p" / "web" / "vite.config.js").read_text(encoding="utf-8")
    # the comment above it ends its line: a statement glued to a comment is no statement
    assert "\nexport default defineConfig({\n" in vite
    assert "'/api/api/': {\n        target: 'http://127.0.0.1:9100'" in vite
    assert "'/api/svc/': {\n        target: 'http://127.0.0.1:3000'" in vite
    assert "'/api/': {\n        target: 'http://127.0.0.1:9100'" in vite
    dev = (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
    assert "HOST=127.0.0.1 PORT=3000 node --watch server.js" in dev  # svc's dev server there


def test_generated_readme_says_where_each_backend_is_and_how_to_publish_it(
    tmp_path: Path,
) -> None:
    generate(
        tmp_path / "p",
        layout(
            {"name": "web", "kind": "react"},
            {"name": "api", "kind": "fastapi"},
            {"name": "db", "kind": "postgres"},
        ),
    )
    readme = (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
    assert (
        "| `api` | fastapi | http://127.0.0.1:8080/api/api/ (not published; port 8000 inside) |"
        in readme
    )
    assert "`api` is reached through `web` only" in readme
    assert "dockergen update --set services.api.publish=8000" in readme
    develop = readme.split("## Develop", 1)[1]
    assert "`api` is not published (`web` is its way in)" in develop
    assert "127.0.0.1:8000 to itself, where the dev server of `web` sends `/api/api/`" in develop
    assert "docker compose stop api" not in develop  # nothing of its holds the host port


def test_generated_readme_without_a_frontend_has_no_proxy_words(tmp_path: Path) -> None:
    generate(tmp_path / "p", layout({"name": "api", "kind": "fastapi"}))
    readme = (tmp_path / "p" / "README.md").read_text(encoding="utf-8")
    assert "| `api` | fastapi | http://127.0.0.1:8000 |" in readme
    assert "is not published" not in readme and " only, so every request" not in readme
    assert "docker compose stop api    # frees 127.0.0.1:8000" in readme


def test_new_report_names_the_way_in(tmp_path: Path) -> None:
    from scaffold.report import new_report

    result = generate(
        tmp_path / "p", layout({"name": "web", "kind": "static"}, {"name": "api", "kind": "go"})
    )
    report = new_report(result)
    assert "api              go        through web only" in report


# ------------------------------------------------------------------ update of an older project


def test_update_reports_each_port_it_closes_and_how_to_keep_it(tmp_path: Path) -> None:
    """An older project's compose file published its backend; the update that stops doing so
    (here the edit that returns to the default) says so, once, with the command that keeps it."""
    root = tmp_path / "p"
    generate(
        root,
        layout(
            {"name": "web", "kind": "static"}, {"name": "api", "kind": "fastapi", "publish": 8000}
        ),
    )
    assert ports(root)["api"] == ["127.0.0.1:8000:8000"]
    result = update_project(root, edit=set_values(["services.api.publish=false"]))
    assert result.unpublished == [Unpublished("api", 8000, ("web",))]
    assert ports(root)["api"] == []
    line = (
        "  port      api is no longer published on 127.0.0.1:8000 (reach it through web; "
        "to keep it published: dockergen update --set services.api.publish=8000)"
    )
    assert line in update_report(result).splitlines()

    again = update_project(root, edit=set_values(["services.api.publish=8000"]))
    assert again.unpublished == [] and ports(root)["api"] == ["127.0.0.1:8000:8000"]
    assert "no longer published" not in update_report(again)


def test_update_of_a_project_rendered_with_the_old_rule(tmp_path: Path) -> None:
    """A project generated before the rule: its compose file published the backend beside the
    frontend and its dockergen.yml has no `publish`. `update` applies the new default and
    names the closed port (the pristine copy stands for the old render)."""
    root = tmp_path / "p"
    generate(root, layout({"name": "web", "kind": "static"}, {"name": "api", "kind": "fastapi"}))
    old_rule = '    ports:\n      - "127.0.0.1:8000:8000"\n'
    for compose in (
        root / "docker-compose.yml",
        root / ".dockergen" / "base" / "docker-compose.yml",
    ):
        if not compose.is_file():
            pytest.fail(f"{compose} missing: the pristine copy moved, update this test")
        text = compose.read_text(encoding="utf-8")
        head, rest = text.split("  api:\n", 1)
        block, tail = rest.split("\n    networks:", 1)
        compose.write_text(
            f"{head}  api:\n{block}\n{old_rule.rstrip(chr(10))}\n    networks:{tail}"
        )
    state_file = root / ".dockergen" / "state.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    state["files"]["docker-compose.yml"] = digest((root / "docker-compose.yml").read_bytes())
    state_file.write_text(json.dumps(state), encoding="utf-8")
    assert ports(root)["api"] == ["127.0.0.1:8000:8000"]
    result = update_project(root)
    assert result.unpublished == [Unpublished("api", 8000, ("web",))]
    assert ports(root)["api"] == []
    assert "dockergen update --set services.api.publish=8000" in update_report(result)
