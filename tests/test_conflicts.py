"""Unresolved conflicts block every later command (scaffold/conflicts.py).

After an update leaves `<<<<<<< yours` blocks (or a `.dockergen-new` copy), `diff --exit-code`,
`update`, `add`, `remove` and `verify` exit 1 with one line naming the files, and write nothing,
until the user resolves them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import base_layout, create, files_of, make_sets, use_set
from typer.testing import CliRunner, Result

from scaffold.cli import app
from scaffold.conflicts import has_markers, unresolved

runner = CliRunner()

LINE = (
    "dockergen: 1 file(s) have unresolved conflicts: api/Dockerfile (resolve the "
    "<<<<<<< yours / >>>>>>> template blocks; where a .dockergen-new copy sits beside a file, "
    "merge it by hand and delete it)"
)


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_sets(tmp_path_factory.mktemp("sets"))


@pytest.fixture
def conflicted(tmp_path: Path, sets: tuple[Path, Path]) -> Path:
    """A project whose last update left conflict markers in api/Dockerfile."""
    use_set(tmp_path / "set", sets[0])
    project = create(tmp_path / "demo", base_layout(tmp_path / "set"))
    dockerfile = project / "api" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("EXPOSE 8000", "EXPOSE 9999"))
    result = invoke("update", str(project), "--set", "services.api.port=8001")
    assert result.exit_code == 1, result.output
    assert "<<<<<<< yours\n" in dockerfile.read_text()
    return project


def _resolve(project: Path) -> None:
    path = project / "api" / "Dockerfile"
    lines = path.read_text().splitlines(True)
    start, middle, end = (
        lines.index(m) for m in ("<<<<<<< yours\n", "=======\n", ">>>>>>> template\n")
    )
    path.write_text("".join(lines[:start] + lines[start + 1 : middle] + lines[end + 1 :]))


def test_diff_exit_code_fails_and_names_the_conflicted_files(conflicted: Path) -> None:
    result = invoke("diff", str(conflicted), "--exit-code")
    assert result.exit_code == 1, result.output
    assert result.stderr == LINE + "\n"
    assert "  C api/Dockerfile" in result.stdout
    plain = invoke("diff", str(conflicted))  # without --exit-code: said, not failed
    assert plain.exit_code == 0 and "  C api/Dockerfile" in plain.stdout
    _resolve(conflicted)
    result = invoke("diff", str(conflicted), "--exit-code")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout and "C api/Dockerfile" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["update"],
        ["update", "--dry-run"],
        ["update", "--set", "services.api.port=8002"],
        ["add", "redis", "--project"],
        ["remove", "worker", "--project"],
    ],
    ids=["update", "dry-run", "update-set", "add", "remove"],
)
def test_update_add_remove_refuse_and_write_nothing(conflicted: Path, args: list[str]) -> None:
    before = files_of(conflicted, internal=True)
    result = invoke(*args, str(conflicted))
    assert result.exit_code == 1, result.output
    assert result.stderr == LINE + "\n"
    assert result.stdout == ""
    assert files_of(conflicted, internal=True) == before


def test_update_proceeds_once_resolved(conflicted: Path) -> None:
    _resolve(conflicted)
    result = invoke("update", str(conflicted), "--set", "services.worker.port=8101")
    assert result.exit_code == 0, result.output
    assert "updated   worker/Dockerfile" in result.stdout
    assert "EXPOSE 9999" in (conflicted / "api" / "Dockerfile").read_text()  # the user's edit


def test_verify_refuses_before_touching_the_engine(
    conflicted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engine() -> None:
        raise AssertionError("verify reached the engine")

    monkeypatch.setattr("scaffold.verify.find_engine", no_engine)
    result = invoke("verify", str(conflicted))
    assert result.exit_code == 1, result.output
    assert result.stderr == LINE + "\n"


def test_a_sidecar_left_beside_a_file_is_an_unresolved_conflict(
    tmp_path: Path, sets: tuple[Path, Path]
) -> None:
    use_set(tmp_path / "set", sets[0])
    project = create(tmp_path / "demo", base_layout(tmp_path / "set"))
    logo = tmp_path / "set" / "kinds" / "web" / "files" / "logo.png"
    logo.write_bytes(b"\x89PNG\xffv1")
    assert invoke("update", str(project)).exit_code == 0
    (project / "api" / "logo.png").write_bytes(b"\x89PNG\xffmine")
    logo.write_bytes(b"\x89PNG\xffv2")
    assert invoke("update", str(project)).exit_code == 1  # leaves api/logo.png.dockergen-new
    result = invoke("update", str(project))
    assert result.exit_code == 1
    assert "1 file(s) have unresolved conflicts: api/logo.png (" in result.stderr
    (project / "api" / "logo.png.dockergen-new").unlink()  # merged by hand
    assert invoke("update", str(project)).exit_code == 0


def test_only_generated_files_and_whole_blocks_count(tmp_path: Path) -> None:
    block = b"a\n<<<<<<< yours\nX\n=======\nY\n>>>>>>> template\nb\n"
    assert has_markers(block)
    assert has_markers(block.replace(b"\n", b"\r\n"))
    assert not has_markers(b"Title\n=======\n\ntext\n")  # a Markdown heading
    assert not has_markers(b"<<<<<<< yours\nonly a start\n")
    assert not has_markers(b">>>>>>> template\n=======\n<<<<<<< yours\n")  # out of order
    assert not has_markers(b"say `<<<<<<< yours` then\n=======\n>>>>>>> template\n")
    (tmp_path / "gen.txt").write_bytes(block)
    (tmp_path / "mine.txt").write_bytes(block)  # the user's own file: not ours to judge
    (tmp_path / "README.md").write_bytes(b"Title\n=======\n")
    assert unresolved(tmp_path, ["gen.txt", "README.md", "missing.txt"]) == ["gen.txt"]
