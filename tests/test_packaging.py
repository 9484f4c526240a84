"""No generated project holds Python bytecode, however dockergen was installed.

`pip install` byte-compiles every .py file of a wheel, the bundled set's starter apps included
(scaffold/templates/default/kinds/fastapi/files/app/__pycache__/); those must never reach a
project or its pristine copy in .dockergen/base/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from projects import bundled_root

from scaffold.api import new_project
from scaffold.layout import parse

REPO = Path(__file__).resolve().parent.parent


def bytecode(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.name == "__pycache__" or p.suffix in (".pyc", ".pyo")
    )


def test_a_set_folder_with_bytecode_renders_none(tmp_path: Path) -> None:
    tset = tmp_path / "set"
    shutil.copytree(bundled_root() / "default", tset)
    app = tset / "kinds" / "fastapi" / "files" / "app"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(app)], check=True)
    (app / "stray.pyc").write_bytes(b"\0")
    (tset / "project" / "__pycache__").mkdir()
    (tset / "project" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert bytecode(tset)  # the precondition: the set folder has some
    data = {"template": str(tset), "services": [{"name": "api", "kind": "fastapi"}]}
    project = tmp_path / "demo"
    new_project(project, parse(data))
    assert (project / "api" / "app" / "main.py").is_file()
    assert bytecode(project) == []


@pytest.mark.slow
def test_new_from_an_installed_wheel_writes_no_bytecode(tmp_path: Path) -> None:
    """Build the wheel, pip-install it into a fresh venv (pip byte-compiles), run `new`."""
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("dockergen-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # the wheel alone (no index needed); its dependencies come from this test environment,
    # appended to the fresh venv's path after its own site-packages, so its scaffold wins
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--compile", str(wheel)],
        check=True,
    )
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = Path(purelib) / "scaffold"
    assert bytecode(installed / "templates"), "pip should have byte-compiled the starter apps"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run(
        [python, "-c", "import scaffold; print(scaffold.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(where).parent == installed  # not this checkout's editable install
    run = subprocess.run(
        [venv / "bin" / "dockergen", "new", "shop", "-b", "fastapi", "-b", "express"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    project = tmp_path / "shop"
    assert any(p.parent.name == "app" for p in project.rglob("main.py"))  # the fastapi starter
    assert bytecode(project) == []
