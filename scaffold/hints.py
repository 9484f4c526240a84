"""Build failures a user can fix with one dockergen command, recognised from the build output.

A Dockerfile's `# syntax=docker/dockerfile:1` line makes BuildKit pull that frontend image
before it reads anything else; with no registry reachable (an air-gapped or proxied machine) the
build fails at once, with a message about a registry lookup that doesn't name the line. The
engine's built-in frontend builds every Dockerfile dockergen writes, so the fix is to drop the
line: `options.syntax_line: false`.
"""

from __future__ import annotations

import re
import subprocess

SYNTAX_FIX = "dockergen update --set options.syntax_line=false"

# BuildKit resolving the frontend named by `# syntax=`: a build step of its own in plain progress
# output ("#3 [api] resolve image config for docker.io/docker/dockerfile:1", then "#3 ERROR: ..."
# with Docker 20.10's BuildKit), or buildx's summary ("failed to resolve source metadata for
# docker.io/docker/dockerfile:1"). A set may point the line at a mirror: any image whose last path
# part is `dockerfile` or `dockerfile-upstream` counts. A frontend that was pulled and a build
# that failed later (a RUN) is not this failure.
_REF = r"(?P<ref>[\w.\-/:@]*/dockerfile(?:-upstream)?(?::[\w.\-]+)?(?:@sha256:[0-9a-f]+)?)"
_STEP = re.compile(rf"(?m)^#(?P<step>\d+) (?:\[[^\]]*\] )?resolve image config for {_REF}")
_BUILDX = re.compile(rf"failed to resolve source metadata for {_REF}")


def syntax_frontend_failure(output: str) -> str | None:
    """One line naming the cause and the fix when a build failed because the `# syntax=`
    frontend image couldn't be pulled; None for any other failure."""
    ref = None
    for match in _STEP.finditer(output):
        if re.search(rf"(?m)^#{match['step']} ERROR\b", output):
            ref = match["ref"]
            break
    if ref is None and (buildx := _BUILDX.search(output)) is not None:
        ref = buildx["ref"]
    if ref is None:
        return None
    return (
        f"build failed: the Dockerfiles' '# syntax=' line needs the frontend image {ref}, which "
        f"could not be pulled (no registry reachable?); the engine's built-in frontend builds "
        f"them without it: run `{SYNTAX_FIX}`"
    )


def build_failure_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The line `verify` shows for a failed `docker compose build`: the fix when one is known,
    else the build's last line."""
    from scaffold.engine import last_line

    output = f"{proc.stdout or ''}\n{proc.stderr or ''}"
    return syntax_frontend_failure(output) or f"build failed: {last_line(proc)}"
