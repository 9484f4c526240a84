"""Golden snapshots: each scenario's whole generated tree, byte for byte.

Refresh after an intended change to templates or code, then review the diff like code:

    DOCKERGEN_REFRESH_GOLDEN=1 .venv/bin/pytest tests/test_golden.py
    git diff --stat tests/golden/

A scenario is a folder tests/golden/<scenario>/ with
- layout.yml: the input (dockergen.yml-shaped; the project name defaults to the folder name),
- expected/: the generated tree except secrets/ (random values are never snapshotted) and
  .dockergen/base/ (the pristine copy: checked to equal the generated files instead of being
  stored twice; its digests are in the snapshotted .dockergen/state.json),
- secrets.txt: the names of the files expected in secrets/ (each must exist and be non-empty).

Files git treats specially (.gitignore, .gitattributes) are stored with a `.golden` suffix so
they don't change what git tracks inside tests/golden/.
"""

from __future__ import annotations

import difflib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from projects import default_set, missing_kinds, uncovered_kinds

from scaffold import layout as layouts
from scaffold.api import new_project

GOLDEN = Path(__file__).resolve().parent / "golden"
REFRESH = os.environ.get("DOCKERGEN_REFRESH_GOLDEN") == "1"
REFRESH_HINT = "DOCKERGEN_REFRESH_GOLDEN=1 .venv/bin/pytest tests/test_golden.py"
ESCAPED = {".gitignore", ".gitattributes"}
SUFFIX = ".golden"
SHOWN_DIFFS = 3
PRISTINE = ".dockergen/base/"
SCENARIOS = sorted(p.parent.name for p in GOLDEN.glob("*/layout.yml"))


def escape(rel: str) -> str:
    head, _, name = rel.rpartition("/")
    return f"{head}/{name}{SUFFIX}".lstrip("/") if name in ESCAPED else rel


def unescape(rel: str) -> str:
    head, _, name = rel.rpartition("/")
    if name.endswith(SUFFIX) and name.removesuffix(SUFFIX) in ESCAPED:
        return f"{head}/{name.removesuffix(SUFFIX)}".lstrip("/")
    return rel


def files_below(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


def generate(scenario: str, tmp_path: Path) -> tuple[Path, dict[str, Path], list[str]]:
    """Generate a scenario; return (project, files except secrets/, secret file names)."""
    layout_file = GOLDEN / scenario / "layout.yml"
    layout = layouts.load(layout_file)
    missing = missing_kinds(layout.model_dump())
    if missing:
        pytest.skip(f"kinds not in templates/default yet: {', '.join(missing)}")
    project = tmp_path / scenario
    new_project(project, layout)
    files = files_below(project)
    # a random value is named by its id (no dot); a file the set renders there is snapshotted
    values = {rel for rel in files if rel.startswith("secrets/") and "." not in rel}
    secrets = sorted(rel.removeprefix("secrets/") for rel in values)
    files = {
        rel: p for rel, p in files.items() if rel not in values and not rel.startswith(PRISTINE)
    }
    return project, files, secrets


def refresh(scenario: str, files: dict[str, Path], secrets: list[str]) -> None:
    expected = GOLDEN / scenario / "expected"
    if expected.exists():
        shutil.rmtree(expected)
    for rel, src in files.items():
        dst = expected / escape(rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o755 if executable(src) else 0o644)
    (GOLDEN / scenario / "secrets.txt").write_text("".join(f"{s}\n" for s in secrets))


def mismatch_report(expected: dict[str, Path], actual: dict[str, Path]) -> str:
    lines: list[str] = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        lines.append(f"not generated any more ({len(missing)}): {', '.join(missing)}")
    if extra:
        lines.append(f"generated but not in the snapshot ({len(extra)}): {', '.join(extra)}")
    changed = sorted(
        (
            rel
            for rel in set(expected) & set(actual)
            if expected[rel].read_bytes() != actual[rel].read_bytes()
        ),
        key=lambda rel: (rel.startswith(".dockergen/"), rel),  # the pristine copies last
    )
    modes = [
        rel
        for rel in sorted(set(expected) & set(actual))
        if executable(expected[rel]) != executable(actual[rel])
    ]
    if modes:
        lines.append(f"executable bit differs: {', '.join(modes)}")
    if changed:
        lines.append(f"content differs ({len(changed)}): {', '.join(changed)}")
    for rel in changed[:SHOWN_DIFFS]:
        old = expected[rel].read_text(encoding="utf-8", errors="replace").splitlines(True)
        new = actual[rel].read_text(encoding="utf-8", errors="replace").splitlines(True)
        diff = difflib.unified_diff(old, new, f"expected/{rel}", f"generated/{rel}")
        lines.append("".join(diff).rstrip("\n"))
    if lines:
        lines.append(f"if the change is intended: {REFRESH_HINT}")
    return "\n".join(lines)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_golden(scenario: str, tmp_path: Path):
    project, files, secrets = generate(scenario, tmp_path)
    for name in secrets:
        assert (project / "secrets" / name).stat().st_size > 0, f"secrets/{name} is empty"
    pristine = files_below(project / PRISTINE)
    rendered = {rel: p for rel, p in files.items() if not rel.startswith(".dockergen/")}
    assert set(pristine) == set(rendered), "the pristine copy lists other files than the project"
    for rel, path in rendered.items():
        assert pristine[rel].read_bytes() == path.read_bytes(), f"{PRISTINE}{rel} differs"
    if REFRESH:
        refresh(scenario, files, secrets)
        return
    expected_dir = GOLDEN / scenario / "expected"
    if not expected_dir.is_dir():
        pytest.fail(f"no snapshot for {scenario!r}: run {REFRESH_HINT}", pytrace=False)
    expected = {unescape(rel): p for rel, p in files_below(expected_dir).items()}
    report = mismatch_report(expected, files)
    assert not report, f"{scenario}: generated tree differs from tests/golden/{scenario}/\n{report}"
    listed = (GOLDEN / scenario / "secrets.txt").read_text().split()
    assert secrets == listed, f"secrets/ holds {secrets}, the snapshot lists {listed}"


def test_there_are_enough_scenarios():
    assert len(SCENARIOS) >= 5


def test_every_kind_is_in_a_scenario():
    """A kind added to the set must get a golden scenario (add it to one or create one)."""
    assert uncovered_kinds(default_set()) == [], "kinds without a golden scenario"


def test_escaping_round_trips():
    for rel in (".gitignore", "api/.gitignore", "a/.gitattributes", "x.golden", "Dockerfile"):
        assert unescape(escape(rel)) == rel
    assert escape("api/.gitignore") == "api/.gitignore.golden"


def test_snapshots_are_not_git_ignored():
    """A snapshot file that git ignores would be missing from a fresh clone."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    top = subprocess.run(
        [git, "rev-parse", "--show-toplevel"], cwd=GOLDEN, capture_output=True, text=True
    )
    if top.returncode != 0:
        pytest.skip("tests/golden is not inside a git work tree")
    paths = [p.as_posix() for p in GOLDEN.rglob("*") if p.is_file()]
    proc = subprocess.run(
        [git, "check-ignore", "--no-index", "--verbose", "--stdin"],
        cwd=GOLDEN,
        input="\n".join(paths),
        capture_output=True,
        text=True,
    )
    assert proc.stdout == "", f"git would ignore these snapshot files:\n{proc.stdout}"
