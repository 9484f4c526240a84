"""Build failures verify explains with their fix (scaffold/hints.py).

The outputs below are real: `docker compose build` on the engine lab (Docker 20.10's BuildKit,
Compose v2.40, no registry reachable), with `--progress` left to compose (plain, not a TTY).
"""

from __future__ import annotations

import subprocess

from scaffold.hints import SYNTAX_FIX, build_failure_line, syntax_frontend_failure

# `# syntax=docker/dockerfile:1` and no registry
SYNTAX_PULL = """\
#0 building with "default" instance using docker driver

#1 [a internal] load build definition from Dockerfile
#1 transferring dockerfile: 99B 0.0s done
#1 DONE 0.0s

#2 [a internal] load .dockerignore
#2 transferring context: 2B 0.0s done
#2 DONE 0.0s

#3 [a] resolve image config for docker.io/docker/dockerfile:1
#3 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/docker/dockerfile/manifests/1": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
------
 > [a] resolve image config for docker.io/docker/dockerfile:1:
------
failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: failed to do request: Head "https://registry-1.docker.io/v2/docker/dockerfile/manifests/1": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
"""  # noqa: E501

# a base image that isn't there: not the syntax line's fault
BASE_PULL = """\
#3 [a internal] load metadata for docker.io/nosuch/image:1
#3 ERROR: failed to do request: Head "https://registry-1.docker.io/v2/nosuch/image/manifests/1": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
------
 > [a internal] load metadata for docker.io/nosuch/image:1:
------
failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to do request: Head "https://registry-1.docker.io/v2/nosuch/image/manifests/1": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host
"""  # noqa: E501

# the frontend was pulled (a machine with a registry), then a RUN failed
LATER_FAILURE = """\
#3 [a] resolve image config for docker.io/docker/dockerfile:1
#3 DONE 0.6s
#5 [a 2/2] RUN false
#5 ERROR: executor failed running [/bin/sh -c false]: exit code: 1
failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: rpc error: code = Unknown desc = executor failed running [/bin/sh -c false]: exit code: 1
"""  # noqa: E501

# buildx (a newer client) says it in its summary
BUILDX = (
    "ERROR: failed to build: failed to solve: docker/dockerfile:1: failed to resolve source "
    "metadata for docker.io/docker/dockerfile:1: failed to do request: Head "
    '"https://registry-1.docker.io/v2/docker/dockerfile/manifests/1": dial tcp: lookup '
    "registry-1.docker.io: no such host\n"
)


def test_the_unpullable_syntax_frontend_gets_one_line_with_the_fix() -> None:
    for output in (SYNTAX_PULL, BUILDX):
        line = syntax_frontend_failure(output)
        assert line is not None
        assert "\n" not in line
        assert "'# syntax='" in line and "docker.io/docker/dockerfile:1" in line
        assert line.endswith(f"run `{SYNTAX_FIX}`")
        assert SYNTAX_FIX == "dockergen update --set options.syntax_line=false"


def test_other_build_failures_get_no_hint() -> None:
    assert syntax_frontend_failure(BASE_PULL) is None
    assert syntax_frontend_failure(LATER_FAILURE) is None
    assert syntax_frontend_failure("") is None


def test_the_line_verify_shows() -> None:
    failed = subprocess.CompletedProcess(["docker"], 1, stdout=SYNTAX_PULL, stderr="")
    assert build_failure_line(failed) == syntax_frontend_failure(SYNTAX_PULL)
    other = subprocess.CompletedProcess(["docker"], 1, stdout="", stderr=LATER_FAILURE)
    assert build_failure_line(other) == ("build failed: " + LATER_FAILURE.strip().splitlines()[-1])
