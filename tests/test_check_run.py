"""Where `dockergen check` roots its paths and which set it uses (scaffold/check/run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffold.check.model import Severity
from scaffold.check.run import audit_root, project_root, run_check, severity
from scaffold.errors import UsageError

DOCKERFILE = 'FROM python:3.13-slim-trixie\nRUN pip install flask\nCMD ["python"]\n'


def test_audit_root_is_the_project_then_cwd_then_the_common_folder(tmp_path):
    project, cwd, elsewhere = tmp_path / "p", tmp_path / "p" / "sub", tmp_path / "x"
    for folder in (cwd, elsewhere / "a", elsewhere / "b"):
        folder.mkdir(parents=True)
    assert audit_root([cwd], cwd, project) == project
    assert audit_root([cwd], cwd, None) == cwd
    assert audit_root([elsewhere / "a", elsewhere / "b"], cwd, None) == elsewhere
    assert audit_root([elsewhere / "a", cwd], cwd, project) == tmp_path


def test_project_root_finds_dockergen_yml_upward(tmp_path):
    (tmp_path / "repo" / "svc").mkdir(parents=True)
    assert project_root(tmp_path / "repo" / "svc") is None
    (tmp_path / "repo" / "dockergen.yml").write_text("services: [{name: api, kind: fastapi}]\n")
    assert project_root(tmp_path / "repo" / "svc") == tmp_path / "repo"
    (tmp_path / "repo" / "svc" / "Dockerfile").write_text(DOCKERFILE)
    assert project_root(tmp_path / "repo" / "svc" / "Dockerfile") == tmp_path / "repo"


def test_paths_outside_the_current_folder_are_relative_to_their_common_folder(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "repo" / name).mkdir(parents=True)
        (tmp_path / "repo" / name / "Dockerfile").write_text(DOCKERFILE)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    result = run_check([tmp_path / "repo" / "a", Path("../repo/b")], cwd=cwd)
    assert result.root == tmp_path / "repo"
    assert result.audit.files == ["a/Dockerfile", "b/Dockerfile"]
    assert result.project is None and result.policy is False
    assert result.template == "default"
    assert {f.path for f in result.audit.findings} == {"a/Dockerfile", "b/Dockerfile"}
    assert result.failing(Severity.LOW) == result.audit.findings


def test_a_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="nope: no such file or folder"):
        run_check([Path("nope")], cwd=tmp_path)


@pytest.mark.parametrize(("name", "level"), [("low", 1), ("MEDIUM", 2), ("high", 3)])
def test_severity_names(name, level):
    assert severity(name) == level


def test_an_unknown_severity_is_a_usage_error():
    with pytest.raises(UsageError, match="--fail-on critical: use one of low, medium, high"):
        severity("critical")
