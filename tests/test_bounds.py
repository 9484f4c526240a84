"""Issue 11, parts 3 and 5 (static half): bounded logs and tmpfs as set data, the `# syntax=`
frontend image through a set's mirror, and the go runtime's CA bundle and zoneinfo.

The e2e half (ENOSPC instead of an OOM kill, a TLS handshake from the go runtime) is in
tests/e2e/test_bounded_runtime.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from oracles import compose_schema, security
from projects import default_set, generate, kind_names
from test_policy import MIRROR, new, ok, policy_set

from scaffold import layout as layouts
from scaffold.dockerfile import dockerfile_stages
from scaffold.plan import build_plan
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import SCRATCH_DEFAULT_MODE, SCRATCH_DEFAULT_SIZE, Kind


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKERGEN_CACHE_DIR", str(tmp_path / "cache"))


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", size.lower()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def every_kind_project(tmp_path: Path) -> Path:
    """One project with every kind of the default set (two frontends can't share a layout)."""
    kinds = [k for k in kind_names() if k != "static"]
    services = [{"name": f"s-{k}", "kind": k} for k in kinds]
    target = tmp_path / "every"
    generate(target, {"project": "every", "services": services})
    return target


def compose(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "docker-compose.yml").read_text())


# ------------------------------------------------------------------------------ logs and tmpfs


def test_every_service_gets_bounded_logs_and_sized_tmpfs(tmp_path: Path) -> None:
    project = every_kind_project(tmp_path)
    services = compose(project)["services"]
    tset = default_set()
    assert tset.manifest.logging is not None
    for name, svc in services.items():
        kind = tset.kinds[name.removeprefix("s-")]
        assert svc["logging"] == {
            "driver": tset.manifest.logging.driver,
            "options": tset.manifest.logging.options,
        }
        assert svc["logging"]["driver"] == "local"
        assert {"max-size", "max-file"} <= set(svc["logging"]["options"])
        expected = [f"{s.path}:{s.options}" for s in kind.tmpfs]
        assert svc["tmpfs"] == expected
        memory = _bytes(str(svc["deploy"]["resources"]["limits"]["memory"]).rstrip("Bb"))
        total = 0
        for entry in svc["tmpfs"]:
            options = dict(o.split("=", 1) for o in entry.split(":", 1)[1].split(","))
            assert re.fullmatch(r"[0-7]{3,4}", options["mode"]), entry
            total += _bytes(options["size"])
        # tmpfs pages are charged to the container's memory: all of them together must leave the
        # process most of its limit, or a full tmpfs is an OOM kill again.
        assert total <= memory // 2, f"{name}: tmpfs {total} of memory {memory}"
    # the oracles agree (their tmpfs/logging rule), and the compose-spec schema accepts it
    assert security(project) == []
    assert compose_schema(project / "docker-compose.yml") == []


def test_every_kind_of_the_default_set_sizes_its_scratch_itself() -> None:
    """Sizes are the kinds' data (not the plain-path default): each names size and mode."""
    for kind in default_set().kinds.values():
        assert kind.scratch, kind.name
        for tmp in kind.scratch:
            assert not isinstance(tmp, str), f"{kind.name}: {tmp} relies on the default size"
            assert "size" in tmp.model_fields_set and "mode" in tmp.model_fields_set, (
                f"{kind.name}: {tmp.path} relies on the default size"
            )


KIND = {
    "category": "backend",
    "description": "d",
    "default_name": "x",
    "port": 1,
    "images": {"runtime": "scratch"},
}


def test_plain_path_scratch_entries_stay_valid_with_the_default_size() -> None:
    kind = Kind.model_validate(
        {**KIND, "name": "x", "scratch": ["/tmp", {"path": "/run/x", "size": "1m", "uid": 7}]}
    )
    assert [(s.path, s.options) for s in kind.tmpfs] == [
        ("/tmp", f"size={SCRATCH_DEFAULT_SIZE},mode={SCRATCH_DEFAULT_MODE}"),
        ("/run/x", f"size=1m,mode={SCRATCH_DEFAULT_MODE},uid=7"),
    ]
    assert Kind.model_validate({**KIND, "name": "x"}).tmpfs[0].options == (
        f"size={SCRATCH_DEFAULT_SIZE},mode={SCRATCH_DEFAULT_MODE}"
    )


@pytest.mark.parametrize(
    "entry",
    [{"path": "/tmp", "size": "lots"}, {"path": "/tmp", "mode": "rwx"}, {"path": "tmp"}, "/a:b"],
)
def test_bad_scratch_entries_are_refused(entry: Any) -> None:
    with pytest.raises(ValueError):
        Kind.model_validate({**KIND, "name": "x", "scratch": [entry]})


def _with_kind_logging(tset: TemplateSet, kind: str, logging: dict[str, Any]) -> TemplateSet:
    kinds = dict(tset.kinds)
    kinds[kind] = kinds[kind].model_copy(update={"logging": logging})
    return TemplateSet(**{**tset.__dict__, "kinds": kinds})


def test_a_kind_logging_is_merged_over_the_sets() -> None:
    tset = _with_kind_logging(
        default_set(), "postgres", {"options": {"max-size": "50m", "max-file": None}}
    )
    layout = layouts.normalise(
        layouts.parse(
            {"services": [{"name": "api", "kind": "go"}, {"name": "db", "kind": "postgres"}]}
        ),
        tset,
        project="demo",
    )
    plan = build_plan(layout, tset)
    assert plan.service("db").logging == {"driver": "local", "options": {"max-size": "50m"}}
    assert plan.service("api").logging == {
        "driver": "local",
        "options": {"max-size": "10m", "max-file": "3"},
    }


def test_a_child_set_changes_the_log_bounds(tmp_path: Path) -> None:
    root = policy_set(
        tmp_path / "set",
        {},
        logging={"driver": "json-file", "options": {"max-size": "5m"}},
    )
    project = tmp_path / "shop"
    ok(new(tmp_path, root, "-b", "tiny", "-d", "redis"))
    for svc in compose(project)["services"].values():
        # deep-merged over default's: the driver and max-size replaced, max-file inherited
        assert svc["logging"] == {
            "driver": "json-file",
            "options": {"max-size": "5m", "max-file": "3"},
        }
    assert security(project) == []


# ------------------------------------------------------------------ the `# syntax=` frontend image


def first_line(dockerfile: Path) -> str:
    return dockerfile.read_text().splitlines()[0]


def test_the_mirror_rewrites_the_syntax_frontend_image(tmp_path: Path) -> None:
    root = policy_set(
        tmp_path / "set",
        {"mirror": MIRROR, "allowed_registries": [MIRROR.rstrip("/")]},
    )
    project = tmp_path / "shop"
    ok(new(tmp_path, root, "-b", "tiny", "-b", "go:gosvc"))
    for service in ("tiny", "gosvc"):
        dockerfile = project / service / "Dockerfile"
        assert first_line(dockerfile) == f"# syntax={MIRROR}docker/dockerfile:1"
        bases = [s.base for s in dockerfile_stages(dockerfile.read_text())]
        assert all(b.startswith(MIRROR) or b == "scratch" for b in bases), bases
    readme = (project / "README.md").read_text()
    assert f"`# syntax={MIRROR}docker/dockerfile:1`" in readme
    assert f"resolve image config for {MIRROR}docker/dockerfile:1" in readme


def test_digest_pins_apply_to_the_syntax_frontend_image(tmp_path: Path) -> None:
    digest = "sha256:" + "4" * 64
    root = policy_set(
        tmp_path / "set", {"mirror": MIRROR, "digests": {"docker/dockerfile:1": digest}}
    )
    ok(new(tmp_path, root, "-b", "tiny"))
    assert first_line(tmp_path / "shop" / "tiny" / "Dockerfile") == (
        f"# syntax={MIRROR}docker/dockerfile:1@{digest}"
    )


def test_without_a_mirror_the_syntax_line_is_docker_hubs(tmp_path: Path) -> None:
    project = tmp_path / "p"
    generate(project, {"project": "p", "services": [{"name": "api", "kind": "go"}]})
    assert first_line(project / "api" / "Dockerfile") == "# syntax=docker/dockerfile:1"


def test_the_acme_example_keeps_the_syntax_line_through_its_mirror(tmp_path: Path) -> None:
    acme = Path(__file__).resolve().parent.parent / "examples" / "acme-set"
    ok(new(tmp_path, acme, "-b", "fastapi"))
    line = first_line(tmp_path / "shop" / "api" / "Dockerfile")
    assert line == "# syntax=registry.acme.test/mirror/docker/dockerfile:1"


def test_a_bad_syntax_image_is_refused(tmp_path: Path) -> None:
    root = policy_set(tmp_path / "set", {}, syntax="Not An Image")
    result = new(tmp_path, root, "-b", "tiny")
    assert result.exit_code == 2, result.output
    assert "syntax" in result.stderr


# ----------------------------------------------------------------------------- the go runtime


def test_the_go_runtime_ships_the_ca_bundle_and_zoneinfo(tmp_path: Path) -> None:
    project = tmp_path / "p"
    generate(project, {"project": "p", "services": [{"name": "api", "kind": "go"}]})
    text = (project / "api" / "Dockerfile").read_text()
    runtime = dockerfile_stages(text)[-1]
    assert runtime.base == "scratch"
    copies = re.findall(r"(?m)^COPY --from=builder (\S+) (\S+)$", text)
    assert ("/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt") in copies
    assert ("/usr/share/zoneinfo", "/usr/share/zoneinfo") in copies
