"""The typed plan, `uses` edges and categories as set data (issue 10, items 1-3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from projects import default_set
from typer.testing import CliRunner

from scaffold import layout as layouts
from scaffold.api import NewRequest, create_project, new_project
from scaffold.cli import app
from scaffold.errors import LayoutError, TemplateSetError
from scaffold.plan import EDGE_NETWORK, Network, build_plan, data_network
from scaffold.templatesets import overlay
from scaffold.templatesets.loader import TemplateSet, load_template_set

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKERGEN_CACHE_DIR", str(tmp_path / "cache"))


def plan_of(services: list[dict[str, Any]], tset: TemplateSet | None = None):
    tset = tset or default_set()
    layout = layouts.normalise(layouts.parse({"services": services}), tset, project="demo")
    return build_plan(layout, tset)


TWO_DBS = [
    {"name": "web", "kind": "react"},
    {"name": "api", "kind": "fastapi", "uses": ["db"]},
    {"name": "node", "kind": "express"},
    {"name": "db", "kind": "postgres"},
    {"name": "cache", "kind": "redis"},
]


def compose_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "docker-compose.yml").read_text())


# ---------------------------------------------------------------------------------- the plan


def test_plan_of_the_default_layout() -> None:
    plan = plan_of(
        [
            {"name": "web", "kind": "react"},
            {"name": "api", "kind": "fastapi"},
            {"name": "db", "kind": "postgres"},
        ]
    )
    web, api, db = plan.services
    assert (web.upstreams, web.connections) == (("api",), ())
    # set.yml: a frontend starts beside the backends it proxies to (nginx resolves them per
    # request); a backend waits until its databases are healthy
    assert web.depends_on == {"api": "service_started"}
    assert [c.service for c in api.connections] == ["db"]
    assert api.depends_on == {"db": "service_healthy"}
    assert api.environment["DATABASES"] == "db" and api.environment["PORT"] == "8000"
    # its own login, database and password: not the administrator's
    assert api.environment["DB_USER"] == "api" and api.environment["DB_DATABASE"] == "api"
    assert api.environment["DB_PASSWORD_FILE"] == "/run/secrets/db_api_password"
    assert [s.id for s in api.client_secrets] == ["db_api_password"]
    assert [s.id for s in api.mounts] == ["db_api_password"]
    # the administrator's password: the database only, which also creates each client's login
    assert [s.id for s in db.mounts] == ["db_admin_password", "db_api_password"]
    assert db.init and not api.init  # the login setup runs beside the server: PID 1 reaps it
    assert "\\set login api" in db.command[-1] and "db_api_password" in db.command[-1]
    assert (web.networks, api.networks, db.networks) == (
        (EDGE_NETWORK,),
        (EDGE_NETWORK, "db-net"),
        ("db-net",),
    )
    assert plan.networks == (Network(EDGE_NETWORK, False), Network("db-net", True, "db"))
    assert db.publish is None and web.publish == web.port
    assert [s.file for s in plan.secrets] == [
        "secrets/db_admin_password",
        "secrets/db_api_password",
    ]
    assert [v.name for v in plan.volumes] == ["db-data"]
    assert dict(plan.groups) == {"frontends": ("web",), "backends": ("api",), "databases": ("db",)}
    with pytest.raises(AttributeError):
        api.port = 1  # type: ignore[misc]  # frozen


def test_a_backend_gets_only_the_databases_it_uses() -> None:
    plan = plan_of(TWO_DBS)
    api, node = plan.service("api"), plan.service("node")
    assert [c.service for c in api.connections] == ["db"]
    assert api.depends_on == {"db": "service_healthy"}
    assert api.environment["DATABASES"] == "db"
    assert not any(key.startswith("CACHE_") for key in api.environment)
    assert [s.id for s in api.client_secrets] == ["db_api_password"]
    # each client mounts its own password only; the database creates both logins
    assert [s.id for s in node.client_secrets if s.service == "db"] == ["db_node_password"]
    assert [s.id for s in plan.service("db").mounts] == [
        "db_admin_password",
        "db_api_password",
        "db_node_password",
    ]
    # and only its network: it can't even reach `cache`
    assert api.networks == (EDGE_NETWORK, data_network("db"))
    # no `uses`: every database, as before
    assert [c.service for c in node.connections] == ["db", "cache"]
    assert node.networks == (EDGE_NETWORK, "db-net", "cache-net")
    assert node.environment["DATABASES"] == "db,cache"


def test_a_login_is_the_service_name_as_an_identifier() -> None:
    plan = plan_of([{"name": "node-api", "kind": "express"}, {"name": "db", "kind": "postgres"}])
    env = plan.service("node-api").environment
    assert (env["DB_USER"], env["DB_DATABASE"]) == ("node_api", "node_api")
    assert env["DB_PASSWORD_FILE"] == "/run/secrets/db_node-api_password"
    assert "\\set login node_api" in plan.service("db").command[-1]


def test_a_secret_is_shared_or_per_client_not_both(tmp_path: Path) -> None:
    root = tmp_path / "team"
    (root / "kinds" / "kv").mkdir(parents=True)
    (root / "set.yml").write_text("name: team\nversion: 1.0.0\nextends: default\n")
    (root / "kinds" / "kv" / "kind.yml").write_text(
        "category: database\ndescription: kv\ndefault_name: kv\nport: 1\n"
        "images: {runtime: 'kv:1'}\nimage: 'kv:1'\n"
        "secrets: [{name: password, client: true, per_client: true}]\n"
    )
    with pytest.raises(TemplateSetError) as info:
        load_template_set(str(root))
    assert "a secret is shared by every client (client) or one per client" in info.value.line()


def test_a_backend_that_uses_nothing_stays_off_the_data_network() -> None:
    plan = plan_of(
        [{"name": "api", "kind": "fastapi", "uses": []}, {"name": "db", "kind": "postgres"}]
    )
    api = plan.service("api")
    assert api.connections == () and api.depends_on == {} and api.networks == (EDGE_NETWORK,)
    assert api.environment["DATABASES"] == ""


def test_connections_name_their_client_part_when_the_set_has_one(tmp_path: Path) -> None:
    root = tmp_path / "team"
    (root / "kinds" / "postgres" / "clients" / "python").mkdir(parents=True)
    (root / "kinds" / "postgres" / "clients" / "python" / "requirements.txt").write_text(
        "psycopg\n"
    )
    (root / "set.yml").write_text("name: team\nversion: 1.0.0\nextends: default\n")
    tset = load_template_set(str(root))
    plan = plan_of(TWO_DBS, tset)
    clients = {c.service: c.client for c in plan.service("node").connections}
    # express is node: default's own node parts, inherited
    assert clients == {"db": "kinds/postgres/clients/node", "cache": "kinds/redis/clients/node"}
    assert [c.client for c in plan.service("api").connections] == ["kinds/postgres/clients/python"]


# ------------------------------------------------------------------------------------- uses


@pytest.mark.parametrize(
    ("uses", "message"),
    [
        (["nope"], "services.api.uses: no service named 'nope'; the services are: web, api, db"),
        (
            ["web"],
            "services.api.uses: 'web' is a frontend; a backend uses only services of: database",
        ),
        (["api"], "services.api.uses: a service can't use itself"),
        (["db", "db"], "services.api.uses: 'db' is named twice"),
    ],
)
def test_uses_is_validated_in_one_line(uses: list[str], message: str) -> None:
    with pytest.raises(LayoutError) as info:
        plan_of(
            [
                {"name": "web", "kind": "react"},
                {"name": "api", "kind": "fastapi", "uses": uses},
                {"name": "db", "kind": "postgres"},
            ]
        )
    assert info.value.line() == message


def test_uses_on_a_category_that_connects_to_nothing() -> None:
    with pytest.raises(LayoutError) as info:
        plan_of([{"name": "db", "kind": "postgres", "uses": []}])
    assert (
        info.value.line()
        == "services.db.uses: a database connects to no other service; remove 'uses'"
    )


def test_uses_is_recorded_only_when_given() -> None:
    tset = default_set()
    plain = layouts.normalise(layouts.parse({"services": TWO_DBS[2:]}), tset, project="p")
    assert "uses" not in plain.to_yaml()
    given = layouts.normalise(layouts.parse({"services": TWO_DBS}), tset, project="p")
    assert yaml.safe_load(given.to_yaml())["services"][1]["uses"] == ["db"]


def test_uses_narrows_the_rendered_compose_file(tmp_path: Path) -> None:
    new_project(tmp_path / "shop", layouts.parse({"services": TWO_DBS}))
    services = compose_of(tmp_path / "shop")["services"]
    api, node = services["api"], services["node"]
    assert list(api["depends_on"]) == ["db"]
    assert list(node["depends_on"])[:2] == ["db", "cache"]
    assert api["secrets"] == ["db_api_password"]
    assert node["secrets"][0] == "db_node_password"
    assert not any(s.startswith("cache") for s in api["secrets"])
    assert "CACHE_HOST" not in api["environment"] and "CACHE_HOST" in node["environment"]
    assert api["networks"] == ["edge", "db-net"]  # it can't reach cache at all
    assert node["networks"] == ["edge", "db-net", "cache-net"]
    networks = compose_of(tmp_path / "shop")["networks"]
    assert networks["db-net"]["internal"] is True and networks["cache-net"]["internal"] is True


def test_update_set_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "shop"
    new_project(project, layouts.parse({"services": TWO_DBS[1:]}))
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["update", "--set", "services.node.uses=cache"])
    assert result.exit_code == 0, result.output
    entry = yaml.safe_load((project / "dockergen.yml").read_text())["services"][1]
    assert entry["uses"] == ["cache"]
    assert list(compose_of(project)["services"]["node"]["depends_on"])[:1] == ["cache"]
    result = runner.invoke(app, ["update", "--set", "services.node.uses="])  # back to all
    assert result.exit_code == 0, result.output
    assert "uses" not in yaml.safe_load((project / "dockergen.yml").read_text())["services"][1]
    assert list(compose_of(project)["services"]["node"]["depends_on"])[:2] == ["db", "cache"]
    result = runner.invoke(app, ["update", "--set", "services.node.uses=api"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "dockergen: services.node.uses: 'api' is a backend; a backend uses only services of: "
        "database"
    )


def test_renaming_a_database_follows_into_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "shop"
    new_project(project, layouts.parse({"services": TWO_DBS[1:]}))
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["update", "--set", "services.db.name=main"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((project / "dockergen.yml").read_text())["services"][0]["uses"] == [
        "main"
    ]


# ------------------------------------------------------------------------ categories as data


BROKER_SET = """\
name: team
version: 1.0.0
extends: default
categories:
  backend:
    connects: [database, broker]
  broker:
    internal: true
defaults: [fastapi, mq]
"""
MQ_KIND = """\
category: broker
description: A message broker (the redis image) for tests
default_name: mq
port: 6379
image: redis:8.6-trixie
images:
  runtime: redis:8.6-trixie
user: "999:999"
scratch: [/tmp]
healthcheck:
  test: [CMD, redis-cli, -h, 127.0.0.1, ping]
"""


@pytest.fixture
def broker_set(tmp_path: Path) -> Path:
    root = tmp_path / "sets" / "team"
    (root / "kinds" / "mq").mkdir(parents=True)
    (root / "set.yml").write_text(BROKER_SET)
    (root / "kinds" / "mq" / "kind.yml").write_text(MQ_KIND)
    return root


def test_a_set_adds_a_category_with_no_python_change(broker_set: Path, tmp_path: Path) -> None:
    tset = load_template_set(str(broker_set))
    assert list(tset.categories) == ["frontend", "backend", "database", "broker"]
    assert tset.kinds["mq"].published is False  # internal: not published by default
    data = layouts.defaults_layout(tset)
    assert data == {"services": [{"name": "api", "kind": "fastapi"}, {"name": "mq", "kind": "mq"}]}
    layout = layouts.parse({**data, "template": str(broker_set)})
    new_project(tmp_path / "shop", layout)
    services = compose_of(tmp_path / "shop")["services"]
    assert list(services["api"]["depends_on"]) == ["mq"]
    assert services["api"]["environment"]["MQ_HOST"] == "mq"
    assert services["api"]["environment"]["DATABASES"] == "mq"
    assert services["mq"]["networks"] == ["mq-net"] and "ports" not in services["mq"]
    assert services["api"]["networks"] == ["edge", "mq-net"]


def test_the_service_flag_takes_a_kind_of_any_category(broker_set: Path, tmp_path: Path) -> None:
    target = tmp_path / "shop"
    result = runner.invoke(
        app,
        ["new", str(target), "-t", str(broker_set), "--backend", "fastapi", "--service", "mq"],
    )
    assert result.exit_code == 0, result.output
    names = [s["name"] for s in yaml.safe_load((target / "dockergen.yml").read_text())["services"]]
    assert names == ["api", "mq"]


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        (
            "categories: {backend: {connects: [queue]}}",
            "categories: backend.connects: 'queue' is not a category of the set "
            "(its categories: frontend, backend, database)",
        ),
        (
            "categories: {backend: {proxies: [backend]}}",
            "categories: backend.proxies: a category can't proxy to itself",
        ),
    ],
)
def test_a_bad_relation_is_one_line(tmp_path: Path, categories: str, message: str) -> None:
    root = tmp_path / "team"
    root.mkdir()
    (root / "set.yml").write_text(f"name: team\nversion: 1.0.0\nextends: default\n{categories}\n")
    with pytest.raises(TemplateSetError) as info:
        load_template_set(str(root))
    line = info.value.line()
    assert "\n" not in line and line.endswith(message), line


def test_a_kind_of_an_undeclared_category(tmp_path: Path) -> None:
    root = tmp_path / "team"
    (root / "kinds" / "mq").mkdir(parents=True)
    (root / "set.yml").write_text("name: team\nversion: 1.0.0\nextends: default\n")
    (root / "kinds" / "mq" / "kind.yml").write_text(MQ_KIND)
    with pytest.raises(TemplateSetError) as info:
        load_template_set(str(root))
    assert info.value.line().endswith(
        "kinds/mq/kind.yml: category 'broker' is not declared in set.yml "
        "(categories: frontend, backend, database)"
    )


def test_a_config_file_names_a_template_of_the_kind(tmp_path: Path) -> None:
    root = tmp_path / "team"
    (root / "kinds" / "static").mkdir(parents=True)
    (root / "set.yml").write_text("name: team\nversion: 1.0.0\nextends: default\n")
    (root / "kinds" / "static" / "kind.yml").write_text(
        "config_file: {template: missing.conf.jinja, path: /etc/nginx/nginx.conf}\n"
    )
    with pytest.raises(TemplateSetError) as info:
        load_template_set(str(root))
    assert info.value.line().endswith(
        "kinds/static/kind.yml: config_file: no template files/missing.conf.jinja in the "
        "kind's folder"
    )
    assert default_set().kinds["static"].config_file is not None


def test_defaults_come_from_the_set() -> None:
    data = layouts.defaults_layout(default_set())
    assert [s["kind"] for s in data["services"]] == ["react", "fastapi", "postgres"]


# ----------------------------------------------------------------------- one load per command


@pytest.fixture
def resolves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time a set is laid out (fetched, for git) during the test."""
    calls: list[str] = []
    real = overlay.resolve

    def counting(source: Any) -> Any:
        calls.append(source.location)
        return real(source)

    monkeypatch.setattr(overlay, "resolve", counting)
    return calls


def test_new_loads_the_set_once(broker_set: Path, tmp_path: Path, resolves: list[str]) -> None:
    request = NewRequest(name=str(tmp_path / "shop"), defaults=True, template=str(broker_set))
    create_project(request)
    assert resolves == [str(broker_set.resolve())]


def test_update_with_an_edit_loads_the_set_once(
    broker_set: Path, tmp_path: Path, resolves: list[str]
) -> None:
    from scaffold.api import layout_edit, update_project

    project = tmp_path / "shop"
    create_project(NewRequest(name=str(project), defaults=True, template=str(broker_set)))
    resolves.clear()
    edit = layout_edit(assignments=["services.api.uses=mq"], answers=[])
    result = update_project(project, edit)
    assert not result.conflicts
    assert resolves == [str(broker_set.resolve())]


def test_a_group_may_not_take_a_name_of_the_context(tmp_path: Path) -> None:
    root = tmp_path / "team"
    root.mkdir()
    (root / "set.yml").write_text(
        "name: team\nversion: 1.0.0\nextends: default\ncategories: {database: {group: secrets}}\n"
    )
    with pytest.raises(TemplateSetError) as info:
        new_project(
            tmp_path / "shop",
            layouts.parse(
                {"services": [{"name": "db", "kind": "postgres"}], "template": str(root)}
            ),
        )
    assert info.value.line() == (
        "template set 'team': set.yml categories: the group 'secrets' is a name of the template "
        "context; give the category another `group`"
    )


# ------------------------------------------------------- depends_on conditions and healthchecks


def test_each_relation_has_its_depends_on_condition_from_set_data(
    broker_set: Path, tmp_path: Path
) -> None:
    """set.yml's categories say per relation what an edge waits for: the default set starts a
    frontend beside its backends and a backend once its databases are healthy; a team set
    changes it for its own categories with no Python change."""
    default = plan_of(TWO_DBS)
    assert default.service("web").depends_on == {
        "api": "service_started",
        "node": "service_started",
    }
    assert default.service("node").depends_on == {
        "db": "service_healthy",
        "cache": "service_healthy",
    }
    new_project(tmp_path / "shop", layouts.parse({"services": TWO_DBS}))
    services = compose_of(tmp_path / "shop")["services"]
    assert services["web"]["depends_on"] == {
        "api": {"condition": "service_started"},
        "node": {"condition": "service_started"},
    }
    assert services["api"]["depends_on"] == {"db": {"condition": "service_healthy"}}

    (broker_set / "set.yml").write_text(
        BROKER_SET.replace(
            "    connects: [database, broker]\n",
            "    connects: [database, broker]\n    depends_on: {connects: service_started}\n",
        )
    )
    tset = load_template_set(str(broker_set))
    assert tset.category("backend").condition("connects") == "service_started"
    assert tset.category("frontend").condition("proxies") == "service_started"  # inherited
    plan = plan_of([{"name": "api", "kind": "fastapi"}, {"name": "mq", "kind": "mq"}], tset)
    assert plan.service("api").depends_on == {"mq": "service_started"}


def test_a_service_both_proxied_and_connected_to_waits_for_health(tmp_path: Path) -> None:
    root = tmp_path / "sets" / "team"
    root.mkdir(parents=True)
    (root / "set.yml").write_text(
        "name: team\nversion: 1.0.0\nextends: default\n"
        "categories:\n  frontend:\n    connects: [backend]\n"
    )
    plan = plan_of(TWO_DBS[:2] + TWO_DBS[3:], load_template_set(str(root)))
    assert plan.service("web").depends_on == {"api": "service_healthy"}


@pytest.mark.parametrize(
    "entry",
    [
        "depends_on: {proxies: service_completed_successfully}",
        "depends_on: {uses: service_started}",
    ],
)
def test_a_depends_on_condition_outside_the_schema_is_refused(tmp_path: Path, entry: str) -> None:
    root = tmp_path / "sets" / "team"
    root.mkdir(parents=True)
    (root / "set.yml").write_text(
        f"name: team\nversion: 1.0.0\nextends: default\ncategories:\n  frontend:\n    {entry}\n"
    )
    with pytest.raises(TemplateSetError) as info:
        load_template_set(str(root))
    assert "depends_on" in str(info.value) and "\n" not in info.value.line()


def _healthcheck_flags(dockerfile: Path) -> dict[str, str]:
    line = next(x for x in dockerfile.read_text().splitlines() if x.startswith("HEALTHCHECK "))
    return dict(flag[2:].split("=", 1) for flag in line.split() if flag.startswith("--"))


def test_rendered_healthchecks_carry_each_kinds_timings(tmp_path: Path) -> None:
    """A database's compose healthcheck and a built kind's Dockerfile HEALTHCHECK flags are its
    kind.yml timings (over the model's defaults); a built kind gets no compose healthcheck, so
    its image's probe runs."""
    tset = default_set()
    project = tmp_path / "shop"
    new_project(project, layouts.parse({"services": TWO_DBS}))
    services = compose_of(project)["services"]
    for name, kind in (("db", "postgres"), ("cache", "redis")):
        health = tset.kinds[kind].healthcheck
        assert health is not None
        assert services[name]["healthcheck"]["interval"] == health.interval
        assert {k: services[name]["healthcheck"][k] for k in ("timeout", "retries")} == {
            "timeout": health.timeout,
            "retries": health.retries,
        }
        assert services[name]["healthcheck"]["start_period"] == health.start_period
    assert services["db"]["healthcheck"]["start_period"] == "30s"
    # postgres's own 2 s (its probe is cheap), redis the model's default 3 s (issue 16)
    assert services["db"]["healthcheck"]["interval"] == "2s"
    assert services["cache"]["healthcheck"]["interval"] == "3s"
    for name, kind in (("web", "react"), ("api", "fastapi"), ("node", "express")):
        health = tset.kinds[kind].healthcheck
        assert health is not None and health.test is None
        assert "healthcheck" not in services[name]
        assert _healthcheck_flags(project / name / "Dockerfile") == {
            "interval": health.interval,
            "timeout": health.timeout,
            "start-period": health.start_period,
            "start-interval": health.start_interval,  # under the syntax line (the default)
            "retries": str(health.retries),
        }
    # node: its probe is the compiled healthcheck, not a node process (40-60 ms)
    assert _healthcheck_flags(project / "node" / "Dockerfile")["interval"] == "3s"
    assert _healthcheck_flags(project / "api" / "Dockerfile") == {
        "interval": "3s",
        "timeout": "3s",
        "start-period": "10s",
        "start-interval": "1s",
        "retries": "5",
    }


def test_without_the_syntax_line_no_healthcheck_has_a_start_interval(tmp_path: Path) -> None:
    """The engine's builtin frontend then parses the Dockerfiles, and 20.10's rejects
    --start-interval: it is left out, and a compose healthcheck never has one."""
    project = tmp_path / "shop"
    data = {"options": {"syntax_line": False}, "services": TWO_DBS}
    new_project(project, layouts.parse(data))
    for name in ("web", "api", "node"):
        dockerfile = project / name / "Dockerfile"
        assert not dockerfile.read_text().startswith("# syntax=")
        assert "start-interval" not in _healthcheck_flags(dockerfile)
    assert "start_interval" not in (project / "docker-compose.yml").read_text()


def test_a_team_set_retimes_a_kinds_healthcheck(tmp_path: Path) -> None:
    root = tmp_path / "sets" / "team"
    (root / "kinds" / "fastapi").mkdir(parents=True)
    (root / "set.yml").write_text("name: team\nversion: 1.0.0\nextends: default\n")
    kind = (Path(default_set().root) / "kinds" / "fastapi" / "kind.yml").read_text()
    kind = kind.replace("healthcheck:\n  start_period: 10s\n", "healthcheck:\n  interval: 30s\n")
    (root / "kinds" / "fastapi" / "kind.yml").write_text(kind)
    project = tmp_path / "shop"
    services = [{"name": "api", "kind": "fastapi"}]
    new_project(project, layouts.parse({"template": str(root), "services": services}))
    assert _healthcheck_flags(project / "api" / "Dockerfile")["interval"] == "30s"
    # the rest is the default kind's (a kind.yml of an extending set is merged over it)
    assert _healthcheck_flags(project / "api" / "Dockerfile")["start-period"] == "10s"
