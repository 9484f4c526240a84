"""Shell completion as a shell runs it: the installed `dockergen` called with the variables
bash and zsh set (typer's protocol), and `--install-completion SHELL` in a temporary HOME."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from projects import default_set

REPO = Path(__file__).resolve().parent.parent
ACME = REPO / "examples" / "acme-set"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DOCKERGEN_"))}
    return {**env, "HOME": str(home), "SHELL": "/bin/bash", **extra}


def complete(venv_bin: Path, home: Path, cwd: Path, line: str) -> list[str]:
    """What bash is offered for `line` (the word being completed is its last, maybe empty)."""
    words = line.split(" ")
    run = subprocess.run(
        [str(venv_bin / "dockergen")],
        cwd=cwd,
        env=env_for(
            home,
            _DOCKERGEN_COMPLETE="complete_bash",
            COMP_WORDS=line,
            COMP_CWORD=str(len(words) - 1),
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    return run.stdout.split()


def make_project(venv_bin: Path, home: Path, cwd: Path) -> Path:
    run = subprocess.run(
        [str(venv_bin / "dockergen"), "new", "myapp", "--defaults"],
        cwd=cwd,
        env=env_for(home),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return cwd / "myapp"


def test_new_completes_the_kinds_of_each_category(venv_bin: Path, home: Path, tmp_path: Path):
    tset = default_set()
    for flag, category in (("-b", "backend"), ("--database", "database")):
        kinds = sorted(k.name for k in tset.kinds_in(category))
        assert complete(venv_bin, home, tmp_path, f"dockergen new {flag} ") == kinds
    databases = sorted(k.name for k in tset.kinds_in("database"))
    first = databases[0][0]
    assert complete(venv_bin, home, tmp_path, f"dockergen new -d {first}") == [
        k for k in databases if k.startswith(first)
    ]
    frontends = sorted(k.name for k in tset.kinds_in("frontend"))
    assert complete(venv_bin, home, tmp_path, "dockergen new --frontend ") == [*frontends, "none"]
    # --service: every kind; the set given with -t decides (acme adds its worker)
    acme = complete(venv_bin, home, tmp_path, f"dockergen new -t {ACME} --service ")
    assert set(tset.kinds) < set(acme)


def test_project_commands_complete_kinds_and_service_names(
    venv_bin: Path, home: Path, tmp_path: Path
):
    project = make_project(venv_bin, home, tmp_path)
    assert complete(venv_bin, home, project, "dockergen add ") == sorted(default_set().kinds)
    names = ["frontend", "api", "postgres"]
    assert complete(venv_bin, home, project, "dockergen remove ") == names
    assert complete(venv_bin, home, tmp_path, "dockergen remove -p myapp ") == names
    assert complete(venv_bin, home, project / "api", "dockergen remove a") == ["api"]
    assert complete(venv_bin, home, project, "dockergen update --set services.") == [
        f"services.{n}." for n in names
    ]
    assert complete(venv_bin, home, project, "dockergen update --set services.api.p") == [
        "services.api.port=",
        "services.api.publish=",
    ]
    assert "services." in complete(venv_bin, home, project, "dockergen update --set ")
    # outside any project: nothing to offer, and no error in the middle of the prompt
    assert complete(venv_bin, home, tmp_path, "dockergen remove ") == []


def test_template_options_complete_known_sets(venv_bin: Path, home: Path, tmp_path: Path):
    from scaffold.templatesets.sources import bundled_names

    offered = complete(venv_bin, home, tmp_path, "dockergen new -t ")
    assert offered == list(bundled_names())
    shown = subprocess.run(
        [str(venv_bin / "dockergen"), "kinds", "-t", str(ACME)],
        env=env_for(home),
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert str(ACME) in complete(venv_bin, home, tmp_path, "dockergen new -t ")
    assert str(ACME) in complete(venv_bin, home, tmp_path, "dockergen templates show ")


def test_zsh_gets_service_names_too(venv_bin: Path, home: Path, tmp_path: Path):
    project = make_project(venv_bin, home, tmp_path)
    run = subprocess.run(
        [str(venv_bin / "dockergen")],
        cwd=project,
        env=env_for(
            home, _DOCKERGEN_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="dockergen remove "
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert '"frontend"' in run.stdout and '"postgres"' in run.stdout


@pytest.mark.parametrize(
    ("shell", "written"),
    [
        ("zsh", {".zfunc/_dockergen", ".zshrc"}),
        ("bash", {".bash_completions/dockergen.sh", ".bashrc"}),
    ],
)
def test_install_completion_installs_the_shell_named(
    venv_bin: Path, home: Path, shell: str, written: set[str]
):
    run = subprocess.run(
        [str(venv_bin / "dockergen"), "--install-completion", shell],
        env=env_for(home),  # SHELL is bash: the shell named wins
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"{shell} completion installed" in run.stdout
    files = {p.relative_to(home).as_posix() for p in home.rglob("*") if p.is_file()}
    assert files == written
    script = (home / sorted(written)[0]).read_text()
    assert "_DOCKERGEN_COMPLETE" in script
    if shell == "zsh":
        assert "#compdef dockergen" in script
        assert "fpath+=~/.zfunc" in (home / ".zshrc").read_text()


def test_show_and_install_completion_check_the_shell(venv_bin: Path, home: Path):
    shown = subprocess.run(
        [str(venv_bin / "dockergen"), "--show-completion", "zsh"],
        env=env_for(home),
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "#compdef dockergen" in shown.stdout
    bad = subprocess.run(
        [str(venv_bin / "dockergen"), "--install-completion", "tcsh"],
        env=env_for(home),
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "dockergen: --install-completion tcsh: use one of bash, zsh, fish, powershell, pwsh"
    )
    assert not any(home.iterdir())
