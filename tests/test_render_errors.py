"""What a render may fail with: a set's template error or a full disk is one line, a bug is not.

render.py catches exactly what a set's template can raise (jinja2's TemplateError family,
copier's errors, YAML errors) and the disk's OSError; anything else propagates with its
traceback, because it is a bug in dockergen rather than in the set or the machine.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from projects import generate, services, tree
from typer.testing import CliRunner

from scaffold.cli import app
from scaffold.errors import TargetError, TemplateSetError
from scaffold.templatesets.sources import bundled_root

LAYOUT = {"services": services("fastapi", "postgres")}


def broken_set(root: Path, line: str, file: str = "project/docker-compose.yml.jinja") -> Path:
    """A copy of the bundled default set with `line` appended to one template."""
    tset = root / "broken-set"
    shutil.copytree(bundled_root() / "default", tset)
    template = tset / file
    template.write_text(template.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    return tset


def test_undefined_variable_in_a_set_template_names_the_set(tmp_path: Path) -> None:
    tset = broken_set(tmp_path, "{{ no_such_variable.port }}")
    before = tree(tmp_path)
    with pytest.raises(TemplateSetError) as caught:
        generate(tmp_path / "p", {**LAYOUT, "template": str(tset)})
    line = caught.value.line()
    assert "template set 'default' failed to render project: UndefinedError" in line
    assert "no_such_variable" in line
    assert tree(tmp_path) == before


def test_undefined_variable_in_a_kind_template_names_the_folder(tmp_path: Path) -> None:
    tset = broken_set(tmp_path, "{{ svc.nope.deeper }}", "kinds/fastapi/files/Dockerfile.jinja")
    with pytest.raises(TemplateSetError, match=r"failed to render kinds/fastapi/files: Undefined"):
        generate(tmp_path / "p", {**LAYOUT, "template": str(tset)})


def fail_on_write(
    monkeypatch: pytest.MonkeyPatch, name: str, error: Callable[[Path], BaseException]
) -> list[Path]:
    """Make every write of a file called `name` raise `error(path)`; returns the paths tried."""
    tried: list[Path] = []
    for method in ("write_bytes", "write_text"):
        real = getattr(Path, method)

        def write(self: Path, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if self.name == name:
                tried.append(self)
                raise error(self)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Path, method, write)
    return tried


def disk_full(path: Path) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


# docker-compose.yml is written by copier, dockergen.yml by render() itself after copier.
@pytest.mark.parametrize("name", ["docker-compose.yml", "dockergen.yml"])
def test_disk_full_is_one_target_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    tried = fail_on_write(monkeypatch, name, disk_full)
    with pytest.raises(TargetError) as caught:
        generate(tmp_path / "p", LAYOUT)
    assert tried, f"nothing wrote {name}: the injection missed"
    assert caught.value.line() == f"no space left on device while writing {tried[0]}"
    assert not (tmp_path / "p").exists()


def test_disk_full_on_the_command_line_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tried = fail_on_write(monkeypatch, "docker-compose.yml", disk_full)
    result = CliRunner().invoke(app, ["new", "p", "-d", "postgres"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"dockergen: no space left on device while writing {tried[0]}"
    ]
    assert "failed to render" not in result.output


def test_a_bug_during_a_render_is_not_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a template's error nor the disk's: it keeps its type and traceback."""
    fail_on_write(monkeypatch, "docker-compose.yml", lambda path: RuntimeError(f"bug at {path}"))
    with pytest.raises(RuntimeError, match="bug at"):
        generate(tmp_path / "p", LAYOUT)
