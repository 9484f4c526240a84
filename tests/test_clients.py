"""Database client parts (kinds/<database>/clients/<language>/): N backends + M databases.

A backend kind declares its `language`; each database kind ships the client parts for the
languages it supports; a backend includes the parts of the databases it is connected to, and
only those. The fixture set tests/fixtures/sets/extra-kinds adds a database kind (valkey) and a
backend kind (pyhttp) as folders only: their output passes every oracle, and the kind lists the
golden and e2e suites cover are read from the set, so both are picked up.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import oracles
import pytest
from projects import (
    FIXTURE_SETS,
    assert_no_findings,
    built_kinds,
    default_set,
    e2e_full_layout,
    generate,
    kind_names,
    services,
    uncovered_kinds,
)

from scaffold import layout as layouts
from scaffold.context import build_context, json_merge
from scaffold.errors import TemplateSetError
from scaffold.plan import build_plan
from scaffold.templatesets.loader import TemplateSet, load_template_set

EXTRA = FIXTURE_SETS / "extra-kinds"


def extra_set() -> TemplateSet:
    return load_template_set(str(EXTRA))


def render(tmp_path: Path, name: str, specs: list[dict[str, Any]], template: str = "default"):
    target = tmp_path / name
    generate(target, {"template": template, "services": specs})
    return target


def lock_problems(package_json: dict[str, Any], lock: dict[str, Any]) -> list[str]:
    """What `npm ci` would reject or install in vain: the lockfile's root dependencies differ
    from package.json's, a dependency resolves to no entry, or an entry nothing needs."""
    packages = lock["packages"]
    problems = []
    if lock.get("lockfileVersion") != 3:
        problems.append(f"lockfileVersion {lock.get('lockfileVersion')}")
    if packages[""].get("dependencies") != package_json["dependencies"]:
        problems.append(
            f"root {packages[''].get('dependencies')} != {package_json['dependencies']}"
        )

    def resolve(at: str, name: str) -> str | None:
        base = at
        while True:
            candidate = f"{base}/node_modules/{name}" if base else f"node_modules/{name}"
            if candidate in packages:
                return candidate
            if not base:
                return None
            cut = base.rfind("/node_modules/")
            base = base[:cut] if cut >= 0 else ""

    reached, todo = set(), [""]
    while todo:
        at = todo.pop()
        if at in reached:
            continue
        reached.add(at)
        entry = packages[at]
        needed = {**entry.get("dependencies", {}), **entry.get("optionalDependencies", {})}
        optional_peers = entry.get("peerDependenciesMeta", {})
        needed.update(
            (n, v)
            for n, v in entry.get("peerDependencies", {}).items()
            if not optional_peers.get(n, {}).get("optional")
        )
        for name in needed:
            found = resolve(at, name)
            if found is None:
                problems.append(f"{at or 'root'}: {name} resolves to no lockfile entry")
            else:
                todo.append(found)
    problems += [f"{key}: installed but nothing needs it" for key in set(packages) - reached]
    return problems


# ------------------------------------------------------------------------------ the catalog


def test_every_backend_kind_declares_its_language():
    for tset in (default_set(), extra_set()):
        for kind in tset.kinds_in("backend"):
            assert kind.language, f"{tset.name}: backend kind {kind.name} has no language"


def test_connections_name_the_client_folder_or_none():
    tset = default_set()
    layout = layouts.parse(
        {"services": services("fastapi", ("go", "worker"), "postgres", "mongodb")}
    )
    context = build_context(build_plan(layouts.normalise(layout, tset, project="demo"), tset))
    by_name = {s["name"]: s for s in context["backends"]}
    assert [(c["name"], c["client"]) for c in by_name["api"]["connections"]] == [
        ("postgres", "kinds/postgres/clients/python"),
        ("mongodb", "kinds/mongodb/clients/python"),
    ]
    # no Go client for mongodb in the set: the Go backend checks the port only
    assert [(c["name"], c["client"]) for c in by_name["worker"]["connections"]] == [
        ("postgres", "kinds/postgres/clients/go"),
        ("mongodb", None),
    ]
    for svc in context["backends"]:
        for conn in svc["connections"]:
            assert set(conn) == {"name", "kind", "env", "client"}
            if conn["client"]:
                assert (tset.root / conn["client"]).is_dir()


# ------------------------------------------------------------------- only what is connected


def test_a_backend_with_no_database_has_no_driver(tmp_path: Path):
    root = render(tmp_path, "alone", services("fastapi", ("express", "node"), ("go", "gosvc")))
    requirements = (root / "api" / "requirements.txt").read_text()
    assert not re.search(r"psycopg|pymysql|redis|pymongo", requirements), requirements
    assert (
        "CHECKS: dict[str, Callable[[Database], None]] = {}"
        in (root / "api" / "app" / "readiness.py").read_text()
    )
    package = json.loads((root / "node" / "package.json").read_text())
    assert package["dependencies"] == {"express": "5.3.0"}
    lock = json.loads((root / "node" / "package-lock.json").read_text())
    assert_no_findings(lock_problems(package, lock))
    assert not re.search(
        r"\basync (postgres|mysql|redis|mongodb)\(", (root / "node" / "readiness.js").read_text()
    )
    go = (root / "gosvc" / "readiness.go").read_text()
    assert re.findall(r'handshakes\["(\w+)"\]', go) == []
    assert '"encoding/binary"' not in go and '"bufio"' not in go


DATABASES = ["postgres", "mysql", "mongodb", "redis"]
DRIVERS = {"postgres": "pg", "mysql": "mysql2", "mongodb": "mongodb", "redis": "redis"}


@pytest.mark.parametrize(
    "dbs",
    [(), *((db,) for db in DATABASES), ("mysql", "redis"), tuple(DATABASES)],
    ids=lambda dbs: "+".join(dbs) or "none",
)
def test_express_installs_exactly_the_drivers_in_use(tmp_path: Path, dbs: tuple[str, ...]):
    root = render(tmp_path, "node", [*services("express"), *services(*dbs)])
    package = json.loads((root / "api" / "package.json").read_text())
    assert package["dependencies"] == {"express": "5.3.0"} | {
        DRIVERS[db]: package["dependencies"][DRIVERS[db]] for db in dbs
    }
    lock = json.loads((root / "api" / "package-lock.json").read_text())
    assert_no_findings(lock_problems(package, lock))
    checks = re.findall(r"^  async (\w+)\(db\)", (root / "api" / "readiness.js").read_text(), re.M)
    assert checks == list(dbs)


def test_fastapi_and_go_include_exactly_the_clients_in_use(tmp_path: Path):
    root = render(
        tmp_path, "mixed", [*services("fastapi", ("go", "gosvc")), *services("redis", "mysql")]
    )
    requirements = (root / "api" / "requirements.txt").read_text()
    assert "redis==" in requirements and "pymysql[rsa]==" in requirements
    assert "psycopg" not in requirements and "pymongo" not in requirements
    readiness = (root / "api" / "app" / "readiness.py").read_text()
    assert re.findall(r"^def _(\w+)\(db", readiness, re.M) == ["redis", "mysql", "tcp"]
    go = (root / "gosvc" / "readiness.go").read_text()
    assert re.findall(r'handshakes\["(\w+)"\]', go) == ["redis", "mysql"]
    assert "postgresStartup" not in go
    imports = re.search(r"import \(\n(.*?)\n\)", go, re.S).group(1).split()
    assert imports == sorted(imports) and len(imports) == len(set(imports))


def test_two_databases_of_one_kind_include_its_client_once(tmp_path: Path):
    root = render(
        tmp_path,
        "twice",
        [
            *services("fastapi", ("express", "node")),
            *services(("redis", "cache"), ("redis", "queue")),
        ],
    )
    assert (root / "api" / "requirements.txt").read_text().count("redis==") == 1
    assert (root / "node" / "readiness.js").read_text().count("async redis(db)") == 1


# ----------------------------------------------------------------------------- json_merge


def test_json_merge_adds_sorted_and_refuses_to_change():
    base = '{"name": "x", "dependencies": {"express": "5"}, "scripts": {"b": "1", "a": "2"}}'
    out = json_merge([base, '{"dependencies": {"pg": "8"}}', '{"dependencies": {"ab": "1"}}'])
    assert out == (
        '{\n  "name": "x",\n  "dependencies": {\n    "ab": "1",\n    "express": "5",\n'
        '    "pg": "8"\n  },\n  "scripts": {\n    "b": "1",\n    "a": "2"\n  }\n}\n'
    )
    assert json_merge([base, '{"dependencies": {"express": "5"}}']) == json_merge([base])
    with pytest.raises(TemplateSetError, match=r"dependencies\.express: \"5\" and \"6\" conflict"):
        json_merge([base, '{"dependencies": {"express": "6"}}'])
    with pytest.raises(TemplateSetError, match="document 2"):
        json_merge([base, "[1]"])


def test_the_merged_lockfile_does_not_depend_on_the_order_of_the_databases(tmp_path: Path):
    """json_merge sorts what fragments add, so the layout's order never changes the lockfile."""
    combos = list(itertools.permutations(DATABASES))[:3]
    outputs = set()
    for i, order in enumerate(combos):
        root = render(tmp_path, f"all{i}", [*services("express"), *services(*order)])
        outputs.add((root / "api" / "package-lock.json").read_bytes())
    assert len(outputs) == 1, "the merged lockfile depends on the order of the databases"


# ------------------------------------------------------------------- a set adds two folders


def test_the_fixture_set_adds_a_database_and_a_backend_kind_as_folders_only():
    tset = extra_set()
    assert {"valkey", "pyhttp"} <= set(tset.kinds)
    assert tset.kinds["valkey"].category == "database"
    assert tset.kinds["pyhttp"].language == "python"
    # folders only: every Python file of the fixture is a template of one of its kinds
    for path in EXTRA.rglob("*.py"):
        assert path.relative_to(EXTRA).parts[0] == "kinds", path


EXTRA_LAYOUTS: dict[str, list[dict[str, Any]]] = {
    "kind-pyhttp": [{"name": "web-api", "kind": "pyhttp"}],
    "kind-valkey": [{"name": "valkey", "kind": "valkey"}],
    "pyhttp-valkey-postgres": [
        {"name": "web-api", "kind": "pyhttp"},
        {"name": "valkey", "kind": "valkey"},
        {"name": "postgres", "kind": "postgres"},
    ],
    "every-backend-valkey": [
        {"name": "frontend", "kind": "react"},
        {"name": "api", "kind": "fastapi"},
        {"name": "node", "kind": "express"},
        {"name": "gosvc", "kind": "go"},
        {"name": "web-api", "kind": "pyhttp"},
        {"name": "valkey", "kind": "valkey"},
        {"name": "redis", "kind": "redis"},
        {"name": "mongodb", "kind": "mongodb"},
    ],
}


@pytest.fixture(scope="module")
def extra_project(tmp_path_factory: pytest.TempPathFactory):
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            target = tmp_path_factory.mktemp("extra") / name
            generate(target, {"template": str(EXTRA), "services": EXTRA_LAYOUTS[name]})
            cache[name] = target
        return cache[name]

    return get


@pytest.mark.parametrize("oracle", oracles.ORACLES)
@pytest.mark.parametrize("layout", list(EXTRA_LAYOUTS))
def test_fixture_set_output_passes_every_oracle(extra_project, layout: str, oracle: str):
    assert_no_findings(oracles.run_oracle(oracle, extra_project(layout)))


def test_new_kinds_get_their_client_parts(extra_project):
    root = extra_project("every-backend-valkey")
    requirements = (root / "web-api" / "requirements.txt").read_text()
    # valkey's client and redis's pin the same package: pip takes the identical line twice
    assert re.findall(r"^[a-z][^\s#]*", requirements, re.M) == [
        "redis==8.1.0",
        "redis==8.1.0",
        "dnspython==2.9.2",
        "pymongo==4.20.1",
    ]
    readiness = (root / "web-api" / "app" / "readiness.py").read_text()
    assert '"valkey": _valkey' in readiness and '"redis": _redis' in readiness
    assert '"mongodb": _mongodb' in readiness
    assert re.findall(
        r"^def _(\w+)\(db", (root / "api" / "app" / "readiness.py").read_text(), re.M
    ) == [
        "valkey",
        "redis",
        "mongodb",
        "tcp",
    ]
    # express: valkey's and redis's node parts are the same driver; the lockfile holds it once
    package = json.loads((root / "node" / "package.json").read_text())
    assert package["dependencies"] == {"express": "5.3.0", "mongodb": "7.9.0", "redis": "6.3.1"}
    assert_no_findings(
        lock_problems(package, json.loads((root / "node" / "package-lock.json").read_text()))
    )
    go = (root / "gosvc" / "readiness.go").read_text()
    assert re.findall(r'handshakes\["(\w+)"\]', go) == ["valkey", "redis"]  # mongodb: TCP
    compose = (root / "docker-compose.yml").read_text()
    assert "VALKEY_KIND: valkey" in compose or 'VALKEY_KIND: "valkey"' in compose


def test_assembled_code_parses(extra_project):
    """Fragments spliced into a backend's files still make valid Python and JavaScript."""
    root = extra_project("every-backend-valkey")
    for path in root.rglob("*.py"):
        ast.parse(path.read_text(), str(path))
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    for path in (root / "node").glob("*.js"):
        proc = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


# ----------------------------------------------------------------- kind lists from the set


def test_kind_lists_come_from_the_set():
    """The golden coverage check and the e2e lists read the set: a new kind is covered."""
    default = default_set()
    assert built_kinds(default) == sorted(k for k in default.kinds if default.builds(k))
    extra = extra_set()
    assert "pyhttp" in built_kinds(extra) and "pyhttp" not in built_kinds(default)
    # the golden suite's check names kinds no scenario uses: the fixture's two new ones
    assert uncovered_kinds(extra) == ["pyhttp", "valkey"]
    assert uncovered_kinds(default) == []
    # the e2e whole stack: every backend kind, and every database kind the lab can run
    full = e2e_full_layout(extra)
    kinds = {kind for kind, _name in full}
    assert {"pyhttp", "valkey", "fastapi", "express", "go", "postgres"} <= kinds
    assert "mongodb" not in kinds  # no look-alike image in the lab
    assert set(kind_names("backend")) <= {kind for kind, _ in e2e_full_layout(default)}
