"""Every built kind: its image builds, and its container, run hardened, becomes healthy.

Hardened = what the generated compose file does, as plain `docker run` flags: a read-only root
filesystem with only the kind's scratch paths (kind.yml `scratch`) as tmpfs, every capability
dropped, no-new-privileges, the image's own (non-root) user. The runtime image holds no compiler
and no package-manager cache; react's holds no Node.js and no node_modules. No runtime image holds
a shell, a package manager (apt, dpkg, pip, npm, npx, corepack, yarn), perl or a setuid/setgid
file (issue 11): seen in the `docker export` listing, since there is no shell to look with.
"""

from __future__ import annotations

import re
import tarfile
import time
from typing import Any

import pytest
from projects import built_kinds

from scaffold.templatesets.loader import load_template_set

pytestmark = pytest.mark.e2e

KINDS = built_kinds(load_template_set("default"))
HARDENED = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]

# A C toolchain, a linker/assembler, Go, Rust: binaries that have no business at run time.
# (Matches x86_64-linux-gnu-gcc-14 and the like too.)
TOOLCHAIN = re.compile(
    r"(^|/)(s?bin|libexec)/([\w.]+-linux-gnu-)?"
    r"(gcc|cc|c\+\+|g\+\+|cpp|clang|clang\+\+|tcc|ld|ld\.bfd|ld\.gold|as|go|gofmt|rustc|cargo)(-[\d.]+)?$"
    r"|(^|/)usr/lib/gcc/[^/]+/[^/]+/cc1(plus)?$"
    r"|(^|/)usr/local/go/bin/go$|(^|/)usr/lib/go[^/]*/bin/go$"
)
# Package-manager caches: pip's, npm's (~/.npm/_cacache), yarn's, Go's build and module caches,
# apt's downloaded packages.
CACHES = re.compile(
    r"(^|/)\.cache/pip(/|$)|(^|/)\.npm/_cacache(/|$)|(^|/)\.cache/yarn(/|$)|(^|/)\.yarn-cache(/|$)"
    r"|(^|/)\.cache/go-build(/|$)|(^|/)go/pkg/mod(/|$)|^var/cache/apt/archives/[^/]+\.deb$"
)
# Shells, by their usual names (a symlink to one counts: exec follows it).
SHELLS = re.compile(r"(^|/)s?bin/(sh|bash|rbash|dash|ash|zsh|ksh|mksh|busybox)$")
# Package managers and what they need to run: apt and dpkg (and dpkg's database), pip (its
# console scripts, its package, and the copy ensurepip bundles), npm, npx, corepack, yarn, pnpm.
PACKAGE_MANAGERS = re.compile(
    r"(^|/)s?bin/(apt|apt-get|apt-cache|aptitude|dpkg|dpkg-deb|dpkg-query)$|^var/lib/dpkg(/|$)"
    r"|(^|/)bin/(pip|pip3(\.\d+)?|npm|npx|corepack|yarn|yarnpkg|pnpm)$"
    r"|(^|/)(site|dist)-packages/pip(/|$)|(^|/)ensurepip(/|$)"
    r"|(^|/)lib/node_modules/(npm|corepack|yarn|pnpm)(/|$)"
)
# An interpreter none of the runtimes needs (Debian images carry it for their maintainer scripts).
PERL = re.compile(r"(^|/)bin/perl[\d.]*$")


def test_every_built_kind_of_the_set_has_an_image(kind_images):
    """KINDS is read from the set, and the session's projects build an image of each."""
    assert KINDS and sorted(kind_images) == KINDS


@pytest.fixture(scope="module")
def running(lab, kind_images) -> Any:
    """kind -> container name: every kind's image started at once, hardened, port published."""
    tset = load_template_set("default")
    started: dict[str, str] = {}
    try:
        for kind in KINDS:
            project, service = kind_images[kind]
            name = f"{project.name}-{kind}-hardened"
            tmpfs = [
                arg
                for tmp in tset.kinds[kind].tmpfs
                for arg in ("--tmpfs", f"{tmp.path}:{tmp.options}")
            ]
            lab.docker(
                "run",
                "--detach",
                "--name",
                name,
                "--label",
                "org.dockergen.e2e=kinds",
                *HARDENED,
                *tmpfs,
                "--publish",
                f"127.0.0.1::{project.port(service)}",
                project.image(service),
                timeout=120,
            )
            started[kind] = name
        yield started
    finally:
        for name in started.values():
            lab.docker("rm", "--force", "--volumes", name, check=False, timeout=60)


def wait_healthy(lab, name: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = lab.inspect(name)[0]["State"]
        status = (state.get("Health") or {}).get("Status")
        if status == "healthy" or not state.get("Running") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if status != "healthy":
        logs = lab.docker("logs", "--tail", "40", name, check=False)
        pytest.fail(
            f"{name}: {status or state.get('Status')} after {timeout:.0f} s\n"
            f"health log: {(state.get('Health') or {}).get('Log')}\n{logs.stdout}{logs.stderr}"
        )
    return state


_listings: dict[str, dict[str, tarfile.TarInfo]] = {}


def listing(lab, image: str) -> dict[str, tarfile.TarInfo]:
    if image not in _listings:
        _listings[image] = lab.names_in_image(image)
    return _listings[image]


@pytest.mark.parametrize("kind", KINDS)
def test_builds_and_becomes_healthy_hardened(lab, kind_images, running, kind):
    project, service = kind_images[kind]
    wait_healthy(lab, running[kind])
    host = lab.inspect(running[kind])[0]["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert any(opt.startswith("no-new-privileges") for opt in host["SecurityOpt"])
    # The healthcheck is not the only witness: the service answers on its published port.
    published = lab.docker("port", running[kind], f"{project.port(service)}/tcp").stdout.split()[0]
    status, body = _get(f"http://{published}/healthz")
    assert status == 200, body


def _get(url: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


@pytest.mark.parametrize("kind", KINDS)
def test_runs_as_a_non_root_user(lab, kind_images, running, kind):
    project, service = kind_images[kind]
    user = lab.inspect(project.image(service), kind="image")[0]["Config"]["User"]
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", user), (
        f"image USER is {user!r}: not a numeric non-root uid"
    )
    wait_healthy(lab, running[kind])
    # What really runs: every process of the container, seen from the host (works on scratch too).
    top = lab.docker("top", running[kind], "-eo", "pid,uid,gid,comm").stdout.splitlines()[1:]
    assert top, "no process in the container"
    for row in top:
        _pid, uid, gid, comm = row.split(None, 3)
        assert uid != "0" and gid != "0", f"{comm} runs as {uid}:{gid}"


@pytest.mark.parametrize("kind", KINDS)
def test_runtime_image_has_no_toolchain_and_no_package_caches(lab, kind_images, kind):
    project, service = kind_images[kind]
    names = listing(lab, project.image(service))
    tools = sorted(n for n, m in names.items() if TOOLCHAIN.search(n) and not m.isdir())
    caches = sorted({CACHES.search(n).group(0).strip("/") for n in names if CACHES.search(n)})
    assert not tools, f"compilers/toolchains in the runtime image: {tools}"
    assert not caches, f"package-manager caches in the runtime image: {caches}"
    # No go toolchain anywhere, and the go runtime image is the binary, the CA bundle and the
    # time zone database (tests/e2e/test_bounded_runtime.py shows Go's standard library reads them).
    if kind == "go":
        files = sorted(
            n for n, m in names.items() if m.isfile() and not n.startswith("usr/share/zoneinfo/")
        )
        assert files == ["app/server", "etc/ssl/certs/ca-certificates.crt"], files


@pytest.mark.parametrize("kind", KINDS)
def test_runtime_image_has_no_shell_no_package_manager_and_no_setuid_file(lab, kind_images, kind):
    project, service = kind_images[kind]
    names = listing(lab, project.image(service))
    shells = sorted(n for n, m in names.items() if SHELLS.search(n) and not m.isdir())
    managers = sorted(
        {
            PACKAGE_MANAGERS.search(n).group(0).strip("/")
            for n in names
            if PACKAGE_MANAGERS.search(n)
        }
    )
    perl = sorted(n for n in names if PERL.search(n))
    privileged = sorted(n for n, m in names.items() if m.isfile() and m.mode & 0o6000)
    assert not shells, f"shells in the runtime image: {shells}"
    assert not managers, f"package managers in the runtime image: {managers}"
    assert not perl, f"perl in the runtime image: {perl}"
    assert not privileged, f"setuid/setgid files in the runtime image: {privileged}"


@pytest.mark.parametrize("kind", KINDS)
def test_root_filesystem_is_read_only(lab, kind_images, running, kind):
    project, service = kind_images[kind]
    wait_healthy(lab, running[kind])
    assert lab.inspect(running[kind])[0]["HostConfig"]["ReadonlyRootfs"] is True
    image = project.image(service)
    if writer(lab, image) is None:
        # scratch (go): no program but the server to write with; the engine enforces it.
        assert kind == "go"
        return
    denied = write_probe(lab, image, running[kind], "/probe")
    # (python says "Read-only file system", node "EROFS: read-only file system")
    assert denied.returncode != 0 and "read-only file system" in denied.stderr.lower(), denied
    ok = write_probe(lab, image, running[kind], "/tmp/probe")
    assert ok.returncode == 0, f"/tmp should be a writable tmpfs: {ok.stderr}"


def writer(lab, image: str) -> str | None:
    """A program in the image that can create a file: a shell, else the app's interpreter
    (python, node), else curl (nginx on scratch)."""
    names = set(listing(lab, image))
    if {"bin/sh", "usr/bin/sh"} & names:
        return "sh"
    for program in ("opt/venv/bin/python", "usr/local/bin/node", "usr/bin/curl"):
        if program in names:
            return "/" + program
    return None


def write_probe(lab, image: str, container: str, path: str):
    """Create (and, except with curl, remove) `path` as the container's runtime user."""
    program = writer(lab, image)
    if program == "sh":
        command = ["sh", "-c", f"touch {path} && rm {path}"]
    elif program and program.endswith("/python"):
        command = [program, "-c", f"import os; open({path!r}, 'w').close(); os.remove({path!r})"]
    elif program and program.endswith("/node"):
        script = (
            f"const fs = require('fs'); fs.writeFileSync({path!r}, ''); fs.unlinkSync({path!r})"
        )
        command = [program, "-e", script]
    else:
        # curl copies a file it can read (itself) to `path`; no -s, so the error is explained.
        command = ["/usr/bin/curl", "-o", path, "file:///usr/bin/curl"]
    return lab.docker("exec", container, *command, check=False)


# (go's scratch image has no program to write with)
@pytest.mark.parametrize(
    "kind",
    [k for k in KINDS if k != "go"],
)
def test_every_scratch_path_is_writable_by_the_runtime_user(lab, kind_images, running, kind):
    project, service = kind_images[kind]
    wait_healthy(lab, running[kind])
    for entry in load_template_set("default").kinds[kind].tmpfs:
        path = entry.path
        ok = write_probe(lab, project.image(service), running[kind], f"{path}/probe")
        assert ok.returncode == 0, (
            f"scratch {path} is not writable by the runtime user: {ok.stderr}"
        )


def test_express_runtime_has_node_but_no_package_managers(lab, kind_images):
    project, service = kind_images["express"]
    names = listing(lab, project.image(service))
    assert "usr/local/bin/node" in names
    tools = sorted(
        n
        for n in names
        if re.search(r"(^|/)(bin/(npm|npx|corepack|yarn|yarnpkg)|lib/node_modules)$", n)
    )
    assert not tools, tools
    assert "app/node_modules/express/package.json" in names


def test_fastapi_runtime_has_the_interpreter_its_venv_points_at(lab, kind_images):
    """The venv's bin/python is a chain of symlinks that must end on a file of the image, beside
    the standard library and the venv's pyvenv.cfg `home`, with no pip anywhere."""
    project, service = kind_images["fastapi"]
    names = listing(lab, project.image(service))
    path, seen = "opt/venv/bin/python", []
    while names[path].issym():
        seen.append(path)
        target = names[path].linkname
        path = (
            target.lstrip("/") if target.startswith("/") else f"{path.rsplit('/', 1)[0]}/{target}"
        )
        assert path in names and len(seen) < 10, f"the link chain {seen} ends outside the image"
    assert names[path].isfile() and names[path].mode & 0o111, path
    assert re.search(r"/python3\.\d+$", path), path
    assert any(re.search(r"(^|/)lib/python3\.\d+/os\.py$", n) for n in names)
    assert any(n.startswith("opt/venv/lib/python3.") and n.endswith("/uvicorn") for n in names)
    assert "etc/passwd" in names and "etc/ssl/certs/ca-certificates.crt" in names


def test_react_runtime_has_no_node_and_no_node_modules(lab, kind_images):
    project, service = kind_images["react"]
    names = listing(lab, project.image(service))
    node = sorted(n for n in names if re.search(r"(^|/)bin/(node|nodejs|npm|npx)$", n))
    modules = sorted(n for n in names if n.endswith("node_modules"))
    assert not node, node
    assert not modules, modules
    assert "srv/www/index.html" in names
