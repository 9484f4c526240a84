"""Client parts on a real engine: kinds added as folders only, logging in through their clients.

The fixture set tests/fixtures/sets/extra-kinds adds a database kind (valkey, on the redis image
the lab has) and a backend kind (pyhttp, Python's standard library) to the default set, with no
Python change. One stack joins them with the default set's backends: every backend's /readyz
logs in to valkey and postgres through the client parts it includes (Go's through its
standard-library handshakes), and express's image holds the drivers it uses and no other.
"""

from __future__ import annotations

import pytest
from projects import FIXTURE_SETS

pytestmark = pytest.mark.e2e

EXTRA = str(FIXTURE_SETS / "extra-kinds")
SPECS = [
    ("pyhttp", "web-api"),
    ("fastapi", "api"),
    ("express", "node"),
    ("go", "gosvc"),
    ("valkey", "valkey"),
    ("postgres", "postgres"),
]
BACKENDS = ["web-api", "api", "node", "gosvc"]


@pytest.fixture(scope="module")
def extra_stack(make_project):
    project = make_project("clients", SPECS, template=EXTRA)
    try:
        project.up(build=True)
        yield project
    finally:
        project.down(volumes=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_logs_in_to_the_new_database_kind(extra_stack, backend):
    status, body = extra_stack.get_json(backend, "/readyz")
    assert (status, body) == (
        200,
        {"status": "ready", "databases": {"valkey": "ok", "postgres": "ok"}},
    )


def test_a_wrong_password_is_noticed_by_the_new_clients(extra_stack):
    """The readiness check really logs in: with valkey's password changed, it fails."""
    extra_stack.exec(
        "valkey",
        'REDISCLI_AUTH="$(cat /run/secrets/valkey_password)" '
        "redis-cli CONFIG SET requirepass other",
    )
    try:
        for backend in BACKENDS:
            status, body = extra_stack.get_json(backend, "/readyz")
            assert status == 503, (backend, body)
            assert body["databases"]["postgres"] == "ok"
            assert body["databases"]["valkey"] != "ok"
    finally:
        extra_stack.exec(
            "valkey",
            "REDISCLI_AUTH=other redis-cli CONFIG SET requirepass "
            '"$(cat /run/secrets/valkey_password)"',
        )


def test_express_installs_only_the_drivers_it_uses(extra_stack):
    names = extra_stack.lab.names_in_image(extra_stack.image("node"))
    modules = {
        n.split("/")[2] for n in names if n.startswith("app/node_modules/") and n.count("/") >= 2
    }
    assert {"express", "pg", "redis"} <= modules
    assert not {"mysql2", "mongodb"} & modules, sorted(modules)
