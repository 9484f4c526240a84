"""Docker Swarm, for real (issue 12), with every database kind the lab has a look-alike of: the
all-databases layout (fastapi, express and go backends; postgres, mysql and redis) deployed from
deploy/swarm/stack.yml on the lab's engine switched to swarm mode (tests/e2e/test_swarm.py's
fixtures and checks, on this layout; a module of its own so that its stack is removed before
the default layout's is deployed).

Checked: every service at its replica count, healthy, every backend ready through the frontend;
a marker written to each database survives `docker service update --force` of that database and
`docker stack rm` + a new deploy; a rolling update of the fastapi backend (whose /readyz asks all
three databases) while a bounded request loop goes through the frontend fails no request; no
database's credentials in the frontend's tasks, and each backend holds its own logins only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import FULL, Lab, ProjectFactory
from tests.e2e.test_swarm import (
    BACKEND,
    FRONTEND,
    Stack,
    backends,
    check_credentials,
    check_markers_survive,
    check_rolling_update,
    deployed,
    swarm,
)

pytestmark = pytest.mark.e2e

__all__ = ["swarm"]  # the fixture, imported for this module


@pytest.fixture(scope="module")
def full(swarm: Lab, make_project: ProjectFactory) -> Iterator[Stack]:
    with deployed(swarm, make_project, "swarmfull", FULL) as deployed_stack:
        yield deployed_stack


def test_every_kind_the_lab_runs_deploys_healthy(full: Stack) -> None:
    """Each service at its replica count, healthy, and every backend ready (its databases
    answer) through the frontend."""
    replicas = full.replicas()
    assert len(replicas) == len(full.project.services), replicas
    for count in replicas.values():
        running, _, wanted = count.split(" ")[0].partition("/")
        assert running == wanted != "0", replicas
    for i, name in enumerate(backends(full)):
        path = "/api/readyz" if i == 0 else f"/api/{name}/readyz"
        status, body = full.project.get_json(FRONTEND, path)
        assert status == 200, (name, body)


def test_every_database_keeps_its_marker(full: Stack) -> None:
    check_markers_survive(full)


def test_rolling_update_with_every_database_fails_no_request(full: Stack) -> None:
    check_rolling_update(full, BACKEND, "/api/readyz")


def test_no_database_credentials_in_the_frontend(full: Stack, tmp_path: Path) -> None:
    check_credentials(full, tmp_path)
