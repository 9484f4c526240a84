"""copier is used through its public API, except two private names in scaffold/copier_adapter.

Why they pay for themselves (medians of 9 interleaved runs, /tmp, 2 shared cores, copier 9.19.1):

    what                                   git probes   shortcut   saved
    render(), default layout (3 services)    0.289 s     0.166 s   42%  (31 git processes -> 0)
    render(), 20 services                    1.824 s     0.885 s   52%  (161 git processes -> 0)
    `dockergen new`, default layout          1.164 s     1.094 s    6%  (start-up dominates)
    `dockergen new`, 20 services             3.566 s     2.117 s   41%

These tests fail loudly when copier moves the names: they must exist, keep their signatures, be
called during a render, and leave that render with no git process at all.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from projects import generate, services

from scaffold import copier_adapter

ROOT = Path(__file__).resolve().parent.parent
ADAPTER = ROOT / "scaffold" / "copier_adapter.py"
LAYOUT = {"services": services("react", "fastapi", "postgres")}


def private_copier_uses(path: Path) -> list[str]:
    """Every place a file names a private copier module or member (imports and strings)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        for name in names:
            parts = name.split(".")
            if parts[0] == "copier" and any(part.startswith("_") for part in parts[1:]):
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} {name}")
    return found


def test_only_the_adapter_names_copier_internals() -> None:
    files = [*(ROOT / "scaffold").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    offenders = [use for f in files if f != ADAPTER for use in private_copier_uses(f)]
    assert offenders == [], "copier internals outside scaffold/copier_adapter.py"
    assert private_copier_uses(ADAPTER), "the scan sees the adapter's own private names"


@pytest.mark.parametrize(("module", "name", "stand_in"), copier_adapter.PROBES)
def test_patched_names_exist_with_the_signatures_we_stand_in_for(
    module: str, name: str, stand_in: Callable[..., Any]
) -> None:
    original = getattr(importlib.import_module(module), name, None)
    assert callable(original), f"copier no longer has {module}.{name}: update copier_adapter"
    ours = list(inspect.signature(stand_in).parameters)
    theirs = list(inspect.signature(original).parameters)
    assert ours == theirs, f"{module}.{name} now takes {theirs}: update copier_adapter"


def counting(calls: Counter[str]) -> tuple[tuple[str, str, Callable[..., Any]], ...]:
    """The adapter's stand-ins, each counting its calls under its qualified name."""

    def wrap(key: str, stand_in: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any) -> Any:
            calls[key] += 1
            return stand_in(*args)

        return spy

    return tuple((m, n, wrap(f"{m}.{n}", f)) for m, n, f in copier_adapter.PROBES)


def test_copier_calls_every_patched_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    monkeypatch.setattr(copier_adapter, "PROBES", counting(calls))
    generate(tmp_path / "p", LAYOUT)
    uncalled = [f"{m}.{n}" for m, n, _ in copier_adapter.PROBES if not calls[f"{m}.{n}"]]
    assert uncalled == [], f"copier no longer calls {uncalled}: the shortcut saves nothing"


def git_processes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record every git process started from now on (plumbum and subprocess both use Popen)."""
    started: list[list[str]] = []
    real_init = subprocess.Popen.__init__

    def init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        argv = [str(a) for a in args] if isinstance(args, list | tuple) else [str(args)]
        if argv and Path(argv[0]).name.startswith("git"):
            started.append(argv)
        real_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", init)
    return started


def test_a_render_starts_no_git_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = git_processes(monkeypatch)
    generate(tmp_path / "with", LAYOUT)
    assert started == []


def test_without_the_shortcut_copier_probes_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can see a probe: with no stand-ins, the same render runs git."""
    import shutil

    if shutil.which("git") is None:
        pytest.skip("no git on PATH: copier has nothing to probe")
    monkeypatch.setattr(copier_adapter, "PROBES", ())
    started = git_processes(monkeypatch)
    generate(tmp_path / "without", LAYOUT)
    assert len(started) >= 3, started


def test_the_originals_are_back_after_a_render(tmp_path: Path) -> None:
    before = {(m, n): getattr(importlib.import_module(m), n) for m, n, _ in copier_adapter.PROBES}
    generate(tmp_path / "p", LAYOUT)
    after = {(m, n): getattr(importlib.import_module(m), n) for m, n, _ in copier_adapter.PROBES}
    assert after == before
