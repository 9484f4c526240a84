"""Validation and normalisation of dockergen.yml (scaffold/layout.py).

Port and catalog rules are tested against a small in-memory template set, so they don't depend
on which kinds the default set has; catalog messages are checked against the real default set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from projects import default_set, staging_leftovers, tree

from scaffold import layout as layouts
from scaffold.api import new_project
from scaffold.errors import LayoutError
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import CategorySpec, Kind, SetManifest


def fake_set() -> TemplateSet:
    def kind(name: str, category: str, port: int, **extra: Any) -> Kind:
        return Kind(
            name=name,
            category=category,
            description=name,
            default_name=name,
            port=port,
            images={"runtime": f"{name}:1"},
            **extra,
        )

    kinds = {
        "web": kind("web", "frontend", 8080),
        "py": kind("py", "backend", 8000),
        "js": kind("js", "backend", 8000),
        "sql": kind("sql", "database", 5432, image="sql:1", publish=False),
    }
    categories = {
        "frontend": CategorySpec(proxies=["backend"]),
        "backend": CategorySpec(connects=["database"]),
        "database": CategorySpec(internal=True),
    }
    return TemplateSet(
        manifest=SetManifest(name="fake", version="0", categories=categories),
        root=Path("/nonexistent"),
        kinds=kinds,
        source="fake",
    )


def svc(name: str, kind: str, port: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "kind": kind}
    if port is not None:
        entry["port"] = port
    return entry


def normalise(*entries: dict[str, Any], project: str = "demo") -> layouts.Layout:
    return layouts.normalise(
        layouts.parse({"services": list(entries)}), fake_set(), project=project
    )


def ports(layout: layouts.Layout) -> dict[str, int | None]:
    return {s.name: s.port for s in layout.services}


def parse_error(data: object) -> str:
    with pytest.raises(LayoutError) as info:
        layouts.parse(data)
    return info.value.line()


# ------------------------------------------------------------------------------------ names

BAD_NAMES = {
    "slash": "a/b",
    "backslash": "a\\b",
    "dotdot": "..",
    "dotdot-path": "../evil",
    "dot": "a.b",
    "space": "my app",
    "newline": "api\nx",
    "trailing-newline": "api\n",
    "leading-dash": "-api",
    "trailing-dash": "api-",
    "uppercase": "Api",
    "underscore": "my_api",
    "leading-digit": "1api",
    "too-long": "a" * 64,
    "empty": "",
    "unicode": "café",
    "nul": "a\x00b",
}


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_invalid_service_name(name: str):
    line = parse_error({"services": [svc(name, "sql")]})
    assert line.startswith("dockergen.yml: services.0.name: invalid service name")
    assert "\n" not in line


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_invalid_project_name(name: str):
    line = parse_error({"project": name, "services": [svc("db", "sql")]})
    assert "invalid project name" in line


@pytest.mark.parametrize("name", ["a", "api", "a1", "my-api-2", "a" * 63, "x-y-z"])
def test_valid_names(name: str):
    layout = normalise(svc(name, "py"), project=name)
    assert layout.services[0].name == name
    assert layout.project == name


@pytest.mark.parametrize("value", [1, None, ["api"], {"a": 1}, True])
def test_name_must_be_a_string(value: object):
    assert "services.0.name" in parse_error({"services": [{"name": value, "kind": "sql"}]})


def test_duplicate_names():
    with pytest.raises(LayoutError, match="duplicate service name 'api'"):
        normalise(svc("api", "py"), svc("api", "js"))


def test_reserved_name():
    with pytest.raises(LayoutError, match="'secrets' is reserved"):
        normalise(svc("secrets", "sql"))


def test_unknown_kind_lists_valid_kinds():
    with pytest.raises(LayoutError) as info:
        normalise(svc("api", "rails"))
    assert info.value.line() == "service 'api': unknown kind 'rails'; valid kinds: js, py, sql, web"


def test_unknown_kind_in_default_set_lists_its_kinds():
    tset = default_set()
    with pytest.raises(LayoutError) as info:
        layouts.normalise(layouts.parse({"services": [svc("x", "cobol")]}), tset, project="p")
    assert info.value.line().endswith("valid kinds: " + ", ".join(sorted(tset.kinds)))


# ------------------------------------------------------------------------------------ ports


@pytest.mark.parametrize("port", [0, -1, 65536, 10**6])
def test_port_out_of_range(port: int):
    line = parse_error({"services": [svc("api", "py", port)]})
    assert line.startswith("dockergen.yml: services.api.port:")


@pytest.mark.parametrize("port", ["8000", "http", 80.5, True, False, [80], {"p": 1}])
def test_port_must_be_a_whole_number(port: object):
    line = parse_error({"services": [{"name": "api", "kind": "py", "port": port}]})
    assert line.startswith("dockergen.yml: services.api.port:")


@pytest.mark.parametrize("port", [1, 80, 65535])
def test_port_bounds_are_inclusive(port: int):
    assert ports(normalise(svc("api", "py", port)))["api"] == port


def test_defaults_fill_ports():
    layout = normalise(svc("web", "web"), svc("api", "py"), svc("db", "sql"))
    assert ports(layout) == {"web": 8080, "api": 8000, "db": 5432}


def test_defaulted_port_moves_to_next_free():
    layout = normalise(svc("a", "py"), svc("b", "js"), svc("c", "py"))
    assert ports(layout) == {"a": 8000, "b": 8001, "c": 8002}


def test_defaulted_port_avoids_explicit_ports_declared_later():
    layout = normalise(svc("a", "py"), svc("b", "js", 8000), svc("c", "py", 8001))
    assert ports(layout) == {"a": 8002, "b": 8000, "c": 8001}


def test_explicit_port_collision_is_an_error():
    with pytest.raises(LayoutError) as info:
        normalise(svc("a", "py", 9000), svc("b", "web", 9000))
    assert info.value.line() == (
        "port 9000 is used by both 'a' and 'b': give one of them another port"
    )


def test_database_ports_never_collide_with_published_ones():
    """A database isn't published: a backend may use the same number."""
    layout = normalise(svc("api", "py", 5432), svc("db", "sql"))
    assert ports(layout) == {"api": 5432, "db": 5432}


def test_database_with_a_port():
    with pytest.raises(LayoutError, match="is never published; remove 'port'"):
        normalise(svc("db", "sql", 5433))


def test_database_with_its_own_port_is_accepted():
    assert ports(normalise(svc("db", "sql", 5432)))["db"] == 5432


# ---------------------------------------------------------------------------------- publish


def hosts(layout: layouts.Layout) -> dict[str, int | None]:
    """Each service's host port (None: not published)."""
    kinds = fake_set().kinds
    return {s.name: layouts.host_port(s, kinds[s.kind].published) for s in layout.services}


@pytest.mark.parametrize("value", [0, -1, 65536, True, "8000", "no", 80.5, [80], {"p": 1}])
def test_publish_must_be_a_port_or_false(value: object):
    line = parse_error({"services": [{"name": "api", "kind": "py", "publish": value}]})
    assert line.startswith("dockergen.yml: services.api.publish: a port is 1 to 65535, or false")
    assert "Input should" not in line and "\n" not in line


@pytest.mark.parametrize("value", [0, 65536])
def test_port_messages_are_dockergens_own(value: int):
    line = parse_error({"services": [{"name": "api", "kind": "py", "port": value}]})
    assert line == (
        f"dockergen.yml: services.api.port: a port is a whole number from 1 to 65535, not {value}"
    )


def test_publish_defaults_to_the_port():
    """No `publish`: published on the same number as `port`, what `port` alone always meant."""
    layout = normalise(svc("w", "web"), svc("a", "py", 9000), svc("d", "sql"))
    assert hosts(layout) == {"w": 8080, "a": 9000, "d": None}
    assert [s.publish for s in layout.services] == [None, None, None]  # normal form: implicit
    assert ports(layout) == {"w": 8080, "a": 9000, "d": 5432}


def test_publish_keeps_the_port_inside():
    layout = normalise({**svc("a", "py"), "publish": 9000}, {**svc("b", "js", 3000), "publish": 1})
    assert ports(layout) == {"a": 8000, "b": 3000}
    assert hosts(layout) == {"a": 9000, "b": 1}


def test_publish_false_is_not_published_and_takes_no_host_port():
    """Two unpublished services may listen on the same port inside: only host ports collide."""
    layout = normalise({**svc("a", "py"), "publish": False}, svc("b", "py"), svc("c", "js"))
    assert ports(layout) == {"a": 8000, "b": 8000, "c": 8001}
    assert hosts(layout) == {"a": None, "b": 8000, "c": 8001}
    assert layout.services[0].publish is False


def test_own_publish_leaves_the_kinds_port_unmoved():
    """Only a port that is also the host port moves to the next free one."""
    layout = normalise(svc("a", "py"), {**svc("b", "py"), "publish": 9000})
    assert ports(layout) == {"a": 8000, "b": 8000}


def test_defaulted_port_avoids_an_explicit_publish():
    layout = normalise(svc("a", "py"), {**svc("b", "js", 3000), "publish": 8000})
    assert ports(layout) == {"a": 8001, "b": 3000}
    assert hosts(layout) == {"a": 8001, "b": 8000}


@pytest.mark.parametrize(
    "entries",
    [
        [{**svc("a", "py"), "publish": 9000}, {**svc("b", "web"), "publish": 9000}],
        [{**svc("a", "py"), "publish": 9000}, svc("b", "web", 9000)],
        [svc("a", "py", 9000), {**svc("b", "js", 3000), "publish": 9000}],
    ],
    ids=["publish-publish", "publish-port", "port-publish"],
)
def test_explicit_host_port_collision_is_an_error(entries: list[dict[str, Any]]):
    with pytest.raises(LayoutError) as info:
        normalise(*entries)
    assert info.value.line() == (
        "port 9000 is used by both 'a' and 'b': give one of them another port"
    )


def test_a_port_behind_publish_may_repeat_a_published_one():
    layout = normalise(svc("a", "py", 9000), {**svc("b", "js", 9000), "publish": 9001})
    assert ports(layout) == {"a": 9000, "b": 9000}
    assert hosts(layout) == {"a": 9000, "b": 9001}


def test_database_with_publish_is_an_error():
    with pytest.raises(LayoutError) as info:
        normalise({**svc("d", "sql"), "publish": 5432})
    assert info.value.line() == "service 'd': a database is never published; remove 'publish'"


def test_database_with_publish_false_is_accepted():
    layout = normalise({**svc("d", "sql"), "publish": False})
    assert hosts(layout) == {"d": None}
    assert "publish" not in layout.to_yaml()


def test_unpublished_kind_with_publish_is_an_error():
    """A set's kind with `publish: false` in kind.yml is never published either."""
    tset = fake_set()
    worker = tset.kinds["py"].model_copy(update={"name": "worker", "publish": False})
    tset.kinds["worker"] = worker
    data = {"services": [{"name": "w", "kind": "worker", "publish": 9000}]}
    with pytest.raises(LayoutError) as info:
        layouts.normalise(layouts.parse(data), tset, project="p")
    assert info.value.line() == "service 'w': kind 'worker' is never published; remove 'publish'"


def test_to_yaml_writes_publish_only_when_it_says_something():
    """A normalised layout leaves `publish` out when it equals `port` (or the kind is never
    published), so a dockergen.yml written before `publish` existed is written the same."""
    layout = normalise(
        svc("w", "web"),
        {**svc("a", "py"), "publish": 9000},
        {**svc("b", "js", 3000), "publish": False},
        {**svc("c", "js", 3001), "publish": 3001},
        svc("d", "sql"),
    )
    entries = yaml.safe_load(layout.to_yaml())["services"]
    assert entries == [
        {"name": "w", "kind": "web", "port": 8080},
        {"name": "a", "kind": "py", "port": 8000, "publish": 9000},
        {"name": "b", "kind": "js", "port": 3000, "publish": False},
        {"name": "c", "kind": "js", "port": 3001},
        {"name": "d", "kind": "sql", "port": 5432},
    ]
    again = layouts.normalise(layouts.parse(yaml.safe_load(layout.to_yaml())), fake_set())
    assert again == layout


@settings(max_examples=300, deadline=None)
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from(["web", "py", "js", "sql"]),
            st.one_of(st.none(), st.integers(8000, 8004)),  # port: a few numbers, to collide
            st.one_of(st.none(), st.just(False), st.integers(8000, 8004)),  # publish
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_ports_collide_with_one_clear_error_or_give_unique_host_ports(
    entries: list[tuple[str, int | None, int | bool | None]],
):
    """Whatever mix of port and publish: one line naming both services and the port, or
    unique host ports on every published service, and a normal form that is a fixed point."""
    data = []
    for i, (kind, port, publish) in enumerate(entries):
        entry: dict[str, Any] = {"name": f"s{i}", "kind": kind}
        if port is not None:
            entry["port"] = port
        if publish is not None:
            entry["publish"] = publish
        data.append(entry)
    try:
        layout = normalise(*data)
    except LayoutError as exc:
        line = exc.line()
        assert "\n" not in line
        assert re.fullmatch(
            r"port \d+ is used by both 's\d+' and 's\d+': give one of them another port"
            r"|service 's\d+': a (database keeps its engine's port 5432 and is never published; "
            r"remove 'port'|database is never published; remove 'publish')",
            line,
        ), line
        return
    published = [h for h in hosts(layout).values() if h is not None]
    assert len(published) == len(set(published))
    for entry, svc_ in zip(data, layout.services, strict=True):
        if "publish" in entry and entry["publish"] is not False and svc_.kind != "sql":
            assert hosts(layout)[svc_.name] == entry["publish"]
        if "port" in entry:
            assert svc_.port == entry["port"]
    again = layouts.normalise(layouts.parse(yaml.safe_load(layout.to_yaml())), fake_set())
    assert again == layout


def test_normalise_is_idempotent():
    once = normalise(svc("a", "py"), svc("b", "js"), svc("w", "web"), svc("d", "sql"))
    twice = layouts.normalise(once, fake_set(), project="other")
    assert twice == once


def test_to_yaml_round_trips(tmp_path: Path):
    layout = normalise(svc("a", "py"), svc("d", "sql"))
    path = tmp_path / "dockergen.yml"
    path.write_text(layout.to_yaml())
    assert layouts.load(path) == layout
    assert path.read_text().startswith("# yaml-language-server: $schema=")


# ------------------------------------------------------------------------------- structure


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"services": []}, "dockergen.yml: services: add at least one service"),
        ({}, "dockergen.yml: services: this field is required"),
        ({"services": None}, "dockergen.yml: services: must be a list of entries"),
        ({"services": "api"}, "dockergen.yml: services: must be a list of entries"),
        ({"services": {"api": {"kind": "py"}}}, "dockergen.yml: services: must be a list"),
        ({"services": ["api"]}, "dockergen.yml: services.0: must be a mapping"),
        ({"services": [svc("a", "py"), 3]}, "dockergen.yml: services.1: must be a mapping"),
        (
            {"services": [{"name": "api"}]},
            "dockergen.yml: services.api.kind: this field is required",
        ),
        ({"services": [{"kind": "py"}]}, "dockergen.yml: services.0.name: this field is required"),
        ({"services": [svc("a", "py")], "colour": 1}, "dockergen.yml: colour: unknown field"),
        (
            {"services": [{**svc("a", "py"), "image": "x"}]},
            "dockergen.yml: services.a.image: unknown field",
        ),
        (
            {"services": [svc("a", "py")], "options": {"bogus": 1}},
            "dockergen.yml: options.bogus: unknown field",
        ),
        (
            {"services": [svc("a", "py")], "options": []},
            "dockergen.yml: options: must be a mapping",
        ),
        ([], "dockergen.yml: expected a mapping with a 'services' list"),
        ("services", "dockergen.yml: expected a mapping with a 'services' list"),
        (None, "dockergen.yml: expected a mapping with a 'services' list"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_structure_errors(data: object, message: str):
    assert parse_error(data).startswith(message)


def test_syntax_line_must_be_a_bool():
    line = parse_error({"services": [svc("a", "py")], "options": {"syntax_line": "maybe"}})
    assert line.startswith("dockergen.yml: options.syntax_line:")


# ------------------------------------------------------------------------------------ files


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("services:\n  - name: api\n    kind: [py\n", "line 4, column 1"),
        ("services:\n  - name: api\n   kind: py\n", "line 3, column 4"),
        ("services: [\n", "line 2, column 1"),
        ("project: demo\n\tservices: []\n", "line 2, column 1"),
    ],
)
def test_malformed_yaml_names_line_and_column(tmp_path: Path, text: str, where: str):
    path = tmp_path / "layout.yml"
    path.write_text(text)
    with pytest.raises(LayoutError) as info:
        layouts.load(path)
    line = info.value.line()
    assert line.startswith(f"{path}: {where}: malformed YAML:"), line


def test_missing_file(tmp_path: Path):
    with pytest.raises(LayoutError, match="no such file"):
        layouts.load(tmp_path / "nope.yml")


def test_unreadable_file(tmp_path: Path):
    path = tmp_path / "bin.yml"
    path.write_bytes(b"\xff\xfe\x00services")
    with pytest.raises(LayoutError, match="can't read it"):
        layouts.load(path)


def test_directory_instead_of_file(tmp_path: Path):
    with pytest.raises(LayoutError, match="can't read it"):
        layouts.load(tmp_path)


def test_load_names_the_file(tmp_path: Path):
    path = tmp_path / "layout.yml"
    path.write_text("services: []\n")
    with pytest.raises(LayoutError) as info:
        layouts.load(path)
    assert info.value.line() == f"{path}: services: add at least one service"


# ----------------------------------------------------------------------------- project name


def db_layout(**extra: Any) -> layouts.Layout:
    return layouts.parse({"services": [svc("db", "postgres")], **extra})


def test_project_name_from_directory(tmp_path: Path):
    result = new_project(tmp_path / "shop-2", db_layout())
    assert result.layout.project == "shop-2"
    assert "project: shop-2\n" in (tmp_path / "shop-2" / "dockergen.yml").read_text()


def test_explicit_project_name_wins(tmp_path: Path):
    result = new_project(tmp_path / "dir", db_layout(project="named"))
    assert result.layout.project == "named"


@pytest.mark.parametrize("dirname", ["My App", "shop_2", "Shop", "2shop", "-x", "a" * 64, "café"])
def test_invalid_directory_name_is_refused(tmp_path: Path, dirname: str):
    with pytest.raises(LayoutError) as info:
        new_project(tmp_path / dirname, db_layout())
    assert "invalid project name" in info.value.line()
    assert tree(tmp_path) == set()
    assert staging_leftovers(tmp_path) == []


def test_invalid_directory_name_is_fine_with_explicit_project(tmp_path: Path):
    result = new_project(tmp_path / "My App", db_layout(project="my-app"))
    assert result.layout.project == "my-app"


def test_no_project_name_at_all():
    with pytest.raises(LayoutError, match="no project name"):
        layouts.normalise(db_layout(), default_set(), project=None)


def test_from_choices_numbers_repeated_kinds():
    data = layouts.from_choices(
        [("database", "postgres"), ("database", "postgres"), ("database", "redis:cache")],
        default_set(),
    )
    assert data == {
        "services": [
            {"name": "postgres", "kind": "postgres"},
            {"name": "postgres-2", "kind": "postgres"},
            {"name": "cache", "kind": "redis"},
        ]
    }


def test_unique_name_numbers_from_2():
    assert layouts.unique_name("api", set()) == "api"
    assert layouts.unique_name("api", {"api", "api-2", "api-4"}) == "api-3"


def test_from_choices_rejects_kind_of_wrong_category():
    with pytest.raises(LayoutError) as info:
        layouts.from_choices([("backend", "postgres")], default_set())
    assert info.value.line().startswith("unknown backend kind 'postgres'; valid backend kinds:")


def test_json_schema_matches_shipped_file():
    """The editor schema shipped in scaffold/schema is the model's schema, byte for byte (no
    drift); `python -m scaffold.layout` regenerates it."""
    import json

    from scaffold.state import schema_path

    assert json.loads(schema_path().read_text()) == layouts.json_schema()
    assert schema_path().read_text() == layouts.schema_text(), "run: python -m scaffold.layout"


def test_json_schema_describes_publish():
    """Editors offer `publish` next to `port`: a host port or false, with what it means."""
    import jsonschema

    schema = layouts.json_schema()
    publish = schema["$defs"]["Service"]["properties"]["publish"]
    assert "host port" in publish["description"] and "false" in publish["description"]
    validator = jsonschema.Draft7Validator(schema)
    for value in (8001, False, None):
        data = {"services": [{"name": "api", "kind": "py", "publish": value}]}
        assert not list(validator.iter_errors(data)), value
    for value in (0, 65536, True, "8001"):
        data = {"services": [{"name": "api", "kind": "py", "publish": value}]}
        assert list(validator.iter_errors(data)), value


# ---------------------------------------------------------------------------------- digests

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.mark.parametrize(
    ("digests", "message"),
    [
        ({"python:3.13": "sha256:abc"}, "digests: python:3.13: 'sha256:abc' is not a sha256:<64"),
        ({"python:3.13": D1.upper()}, "is not a sha256:<64 hex> digest"),
        ({"python": D1}, "digests: python: a digests key is image:tag, without a digest"),
        ({f"python:3.13@{D1}": D1}, "a digests key is image:tag, without a digest"),
        ({"python:3.13": 5}, "digests.python:3.13: must be text"),
        (
            {"python:3.13": D1, "docker.io/library/python:3.13": D2},
            "python:3.13 and docker.io/library/python:3.13 are the same image",
        ),
    ],
)
def test_digests_are_checked_with_one_line(digests: dict, message: str):
    line = parse_error({"services": [svc("a", "py")], "digests": digests})
    assert line.startswith("dockergen.yml: ") and message in line
    assert "\n" not in line


def test_digests_written_only_when_there_are_some(tmp_path: Path):
    layout = normalise(svc("a", "py"))
    assert "digests" not in layout.to_yaml()
    pinned = layouts.with_digests(layout, {"python:3.13": D1})
    path = tmp_path / "dockergen.yml"
    path.write_text(pinned.to_yaml())
    assert layouts.load(path).digests == {"python:3.13": D1}
    assert pinned.to_yaml().index("digests:") < pinned.to_yaml().index("services:")


def test_merged_pins_keep_the_spelling_and_place_of_the_same_image():
    current = {"python:3.13": D1, "redis:8": D1}
    pins = {"docker.io/library/python:3.13": D2, "postgres:17": D2}
    assert layouts.merge_digests(current, pins) == {
        "python:3.13": D2,
        "redis:8": D1,
        "postgres:17": D2,
    }


def test_with_digests_rejects_a_bad_pin_in_one_line():
    with pytest.raises(LayoutError) as info:
        layouts.with_digests(normalise(svc("a", "py")), {"python:3.13": "md5:abc"})
    assert info.value.line() == "digests: python:3.13: 'md5:abc' is not a sha256:<64 hex> digest"
