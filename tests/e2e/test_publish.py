"""`publish` on a real engine: the host port moves, the port inside and the images don't.

A static frontend and a fastapi backend, each published on a free host port that differs from
the port it listens on. The stack answers there (the frontend's nginx still reaches the backend
on its port inside); `update --set services.api.publish=...` moves the backend to another host
port without a rebuild; `publish=false` takes it off the host while the frontend still proxies
to it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import Lab, Project, free_ports, http_get, unique

from scaffold import layout as layouts
from scaffold.api import new_project
from scaffold.edits import set_values
from scaffold.update import update_project

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def published(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    name = unique("publish")
    site, api = free_ports(2)
    services = [
        {"name": "site", "kind": "static", "publish": site},
        {"name": "api", "kind": "fastapi", "publish": api},
    ]
    data = {"project": name, "options": {"syntax_line": False}, "services": services}
    target = tmp_path_factory.mktemp("publish") / name
    new_project(target, layouts.parse(data))
    project = Project(lab=lab, path=target, name=name, services=services)
    try:
        yield project
    finally:
        project.destroy()


def image_ids(project: Project) -> dict[str, str]:
    return {
        svc: project.lab.docker(
            "image", "inspect", "--format", "{{.Id}}", project.image(svc)
        ).stdout.strip()
        for svc in ("site", "api")
    }


def host(port: int, path: str) -> tuple[int, str]:
    return http_get(f"http://127.0.0.1:{port}{path}", timeout=10)


def test_publish_moves_the_host_port_only(published: Project) -> None:
    project = published
    site, api = (s["publish"] for s in project.services)
    project.up(build=True)
    assert host(site, "/healthz")[0] == 200
    assert host(api, "/healthz")[0] == 200
    assert host(site, "/api/healthz")[0] == 200  # nginx -> api:8000, the port inside
    ports = project.compose("port", "api", "8000", timeout=60).stdout.strip()
    assert ports == f"127.0.0.1:{api}"
    before = image_ids(project)

    moved = free_ports(1)[0]
    result = update_project(project.path, edit=set_values([f"services.api.publish={moved}"]))
    assert {f.path for f in result.files} == {"docker-compose.yml", "README.md", "dockergen.yml"}
    project.up()  # no --build: nothing an image is made from changed
    assert host(moved, "/healthz")[0] == 200
    assert host(site, "/api/healthz")[0] == 200
    assert project.compose("port", "api", "8000", timeout=60).stdout.strip() == (
        f"127.0.0.1:{moved}"
    )
    assert image_ids(project) == before

    update_project(project.path, edit=set_values(["services.api.publish=false"]))
    compose = (project.path / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"127.0.0.1:{api}:" not in compose and f"127.0.0.1:{moved}:" not in compose
    project.up()
    assert host(site, "/api/healthz")[0] == 200  # reached inside, through the frontend
    with pytest.raises(OSError):
        host(api, "/healthz")  # nothing listens on the old host port any more
    inspect = project.lab.docker(
        "inspect", "--format", "{{json .NetworkSettings.Ports}}", project.container("api")
    ).stdout
    assert "HostPort" not in inspect, inspect
    assert image_ids(project) == before
