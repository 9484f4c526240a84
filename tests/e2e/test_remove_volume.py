"""`dockergen remove` of a database on the lab: its volume outlives `down -v` (compose no longer
knows it), and the report names it with the commands that delete it, which work as printed."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

LINE = re.compile(
    r"^  volume    (?P<name>\S+) \(kept with its data; once its container is gone, e\.g\. after "
    r"`(?P<orphans>[^`]+)`, `(?P<rm>[^`]+)` deletes it\)$",
    re.M,
)


def test_remove_names_the_volume_down_v_leaves_and_its_rm_command(lab, make_project):
    project = make_project("rmvol", [("go", "api"), ("redis", "cache")])
    project.up("cache")
    volume = f"{project.name}_cache-data"
    assert volume in project.volumes()
    proc = subprocess.run(
        [sys.executable, "-m", "scaffold", "remove", "cache"],
        cwd=project.path / "api",  # from a subfolder, as a user would
        env=lab.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    match = LINE.search(proc.stdout)
    assert match, proc.stdout
    assert match["name"] == volume
    # the stack moves to the new layout (the removed service's container goes); then `down -v`,
    # which deleted the data before, no longer finds this volume
    orphans = shlex.split(match["orphans"])
    assert orphans[:2] == ["docker", "compose"]
    project.compose(*orphans[2:], "--wait", "--wait-timeout", "240", "--build", timeout=1200)
    assert project.compose("ps", "--all", "--quiet", "cache", check=False).stdout.strip() == ""
    # as the user runs it, from the project (its name from the compose file); an explicit
    # `--project-name` would make compose delete every volume labelled with the project
    lab.docker("compose", "--project-directory", project.path, "down", "--volumes", "-t", "5")
    assert lab.docker("volume", "inspect", volume, check=False).returncode == 0
    rm = shlex.split(match["rm"])
    assert rm == ["docker", "volume", "rm", volume]
    lab.docker(*rm[1:])
    assert lab.docker("volume", "inspect", volume, check=False).returncode != 0
