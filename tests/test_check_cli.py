"""`dockergen check` from the command line (typer's CliRunner): the naive single-stage twins
fail with findings, a generated project passes with none, the SARIF validates, suppressions
are listed, exit codes follow --fail-on, usage errors are one line and exit 2."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pexpect
import pytest
import yaml
from projects import generate
from typer.testing import CliRunner, Result

from scaffold.cli import app

NAIVE = Path(__file__).resolve().parent / "e2e" / "naive"
SCHEMAS = Path(__file__).resolve().parent / "fixtures" / "sarif"
runner = CliRunner()
SEVERITIES = ("low", "medium", "high")


def check(*args: str) -> Result:
    result = runner.invoke(app, ["check", *args])
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def as_json(*args: str, code: int | None = None) -> dict:
    result = check(*args, "--format", "json")
    if code is not None:
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def sarif_errors(document: dict) -> list[str]:
    errors = []
    for name in ("sarif-schema-2.1.0.json", "sarif-schema-2.1.0-rtm.5.json"):
        schema = json.loads((SCHEMAS / name).read_text())
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors += [f"{name}: {list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
    return errors


@pytest.fixture
def naive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The naive twins in a repository dockergen did not generate, checked from its root."""
    repo = tmp_path / "repo"
    shutil.copytree(NAIVE, repo)
    monkeypatch.chdir(repo)
    return repo


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated project with every built kind and the databases the lab runs."""
    target = tmp_path_factory.mktemp("check") / "shop"
    services = [
        {"name": "web", "kind": "react"},
        {"name": "api", "kind": "fastapi"},
        {"name": "node-api", "kind": "express"},
        {"name": "go-api", "kind": "go"},
        {"name": "postgres", "kind": "postgres"},
        {"name": "redis", "kind": "redis"},
    ]
    generate(target, {"services": services})
    return target


# ------------------------------------------------------------------- the naive twins


def test_naive_twins_give_the_expected_findings_and_exit_1(naive):
    result = check()
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("dockergen: ") and "at or above --fail-on low" in result.stderr
    doc = as_json(code=1)
    dockerfiles = sorted(p.name for p in naive.glob("*.Dockerfile"))
    assert doc["files"] == dockerfiles
    found: dict[str, set[str]] = {}
    for item in doc["findings"]:
        found.setdefault(item["path"], set()).add(item["rule"])
    # the brief's naive project: single stage, root user, dependencies after the source copy
    for name in dockerfiles:
        assert "DG501" in found[name], (name, found[name])  # runs as root
        assert "DG205" in found[name], (name, found[name])  # no .dockerignore beside them
    for name in ("express", "fastapi", "go", "react"):  # the twins of the built kinds
        assert "DG301" in found[f"{name}.Dockerfile"], (name, found[f"{name}.Dockerfile"])
    assert "DG305" in found["go.Dockerfile"]  # `go build` fetches modules after COPY . .
    assert "DG304" in found["react.Dockerfile"]  # `npm ci` with dev dependencies, in the image
    assert {"DG201", "DG202"} <= found["leaky.Dockerfile"]  # copy-then-delete, a secret ARG
    assert "DG301" not in found["static.Dockerfile"]  # nothing installed or built: no near-miss
    # the human report names each file and line
    for name in dockerfiles:
        assert name in result.stdout


def test_fail_on_decides_the_exit_code(naive):
    doc = as_json()
    worst = max(SEVERITIES.index(f["severity"]) for f in doc["findings"])
    for i, level in enumerate(SEVERITIES):
        result = check("--fail-on", level)
        assert result.exit_code == (1 if i <= worst else 0), (level, result.stdout)
        again = as_json("--fail-on", level)
        assert again["failed"] is (i <= worst) and again["fail_on"] == level


def test_naive_sarif_validates_and_names_files_relative_to_the_root(naive):
    result = check("--format", "sarif")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert not sarif_errors(document)
    results = document["runs"][0]["results"]
    assert results
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris <= {p.name for p in naive.glob("*.Dockerfile")}


def test_inline_suppression_is_listed_and_a_reasonless_one_is_a_finding(naive):
    leaky = naive / "leaky.Dockerfile"
    lines = leaky.read_text().splitlines()
    rm = next(i for i, line in enumerate(lines) if line.startswith("RUN rm"))
    before = {(f["rule"], f["line"]) for f in as_json("leaky.Dockerfile")["findings"]}
    dg201 = [line for rule, line in before if rule == "DG201"]
    assert dg201, before
    lines.insert(rm, "# dockergen: ignore DG201 -- test fixture, the token is fake")
    leaky.write_text("\n".join(lines) + "\n")
    doc = as_json("leaky.Dockerfile")
    assert "DG201" not in {f["rule"] for f in doc["findings"]}
    [quiet] = [s for s in doc["suppressed"] if s["rule"] == "DG201"]
    assert quiet["reason"] == "test fixture, the token is fake" and quiet["source"] == "inline"
    human = check("leaky.Dockerfile").stdout
    assert "suppressed" in human and "test fixture, the token is fake" in human

    lines[rm] = "# dockergen: ignore DG201"
    leaky.write_text("\n".join(lines) + "\n")
    doc = as_json("leaky.Dockerfile")
    rules = {f["rule"] for f in doc["findings"]}
    assert {"DG201", "DG901"} <= rules and doc["suppressed"] == []


# ------------------------------------------------------------------- a generated project


def test_generated_project_has_no_findings_and_exits_0(project, monkeypatch):
    monkeypatch.chdir(project)
    result = check()
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "0 finding(s)" in result.stdout
    doc = as_json(code=0)
    assert doc["findings"] == [] and doc["suppressed"] == [], doc["findings"]
    assert doc["template"] == {
        "name": "default",
        "version": doc["template"]["version"],
        "policy": True,
    }
    assert "docker-compose.yml" in doc["files"] and "api/Dockerfile" in doc["files"]
    assert not any(path.startswith(".dockergen/") for path in doc["files"])
    sarif = json.loads(check("--format", "sarif").stdout)
    assert not sarif_errors(sarif)
    assert sarif["runs"][0]["results"] == []


def test_from_a_subfolder_paths_stay_relative_to_the_project(project, monkeypatch):
    monkeypatch.chdir(project / "api")
    doc = as_json(code=0)
    assert doc["files"] and all(path.startswith("api/") for path in doc["files"])


def test_dockergen_yml_ignores_by_path(project, tmp_path, monkeypatch):
    copy = tmp_path / "shop"
    shutil.copytree(project, copy)
    (copy / "legacy").mkdir()
    shutil.copy(NAIVE / "go.Dockerfile", copy / "legacy" / "Dockerfile")
    monkeypatch.chdir(copy)
    found = {f["rule"] for f in as_json(code=1)["findings"]}
    assert found
    layout = yaml.safe_load((copy / "dockergen.yml").read_text())
    layout["check"] = {
        "ignore": [
            {"path": "legacy/", "rules": sorted(found), "reason": "the old image, replaced in Q3"},
            {"path": "**/Dockerfile", "rules": ["DG999"], "reason": "a typo"},
        ]
    }
    (copy / "dockergen.yml").write_text(yaml.safe_dump(layout, sort_keys=False))
    doc = as_json()
    assert [(f["rule"], f["path"]) for f in doc["findings"]] == [("DG902", "dockergen.yml")]
    text = (copy / "dockergen.yml").read_text().splitlines()
    assert text[doc["findings"][0]["line"] - 1].strip() == "- path: '**/Dockerfile'"
    assert {s["rule"] for s in doc["suppressed"]} == found
    assert {(s["source"], s["reason"]) for s in doc["suppressed"]} == {
        ("dockergen.yml", "the old image, replaced in Q3")
    }
    sarif = json.loads(check("--format", "sarif").stdout)
    assert not sarif_errors(sarif)
    kinds = {s["kind"] for r in sarif["runs"][0]["results"] for s in r.get("suppressions", [])}
    assert kinds == {"external"}


# ------------------------------------------------------------------- --template and policy


def test_template_adds_the_sets_policy(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKERGEN_CACHE_DIR", str(tmp_path / "cache"))
    team = tmp_path / "team"
    team.mkdir()
    policy = {"allowed_registries": ["registry.example.test"]}
    data = {"name": "team", "version": "1.0.0", "extends": "default", "policy": policy}
    (team / "set.yml").write_text(yaml.safe_dump(data))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Dockerfile").write_text("FROM quay.io/evil/python:3.13\nUSER 10001\n")
    monkeypatch.chdir(repo)
    without = {f["rule"] for f in as_json()["findings"]}
    assert "DG601" not in without
    doc = as_json("--template", str(team))
    assert doc["template"]["name"] == "team" and doc["template"]["policy"] is True
    assert "DG601" in {f["rule"] for f in doc["findings"]}


# ------------------------------------------------------------------- usage and bad input


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--format", "xml"], "'xml' is not one of"),
        (["--fail-on", "critical"], "'critical' is not one of"),
        (["no/such/folder"], "no/such/folder: no such file or folder"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(naive, args, says, monkeypatch, capsys):
    """Through the console entry point (scaffold.cli.main), as the installed script runs."""
    from scaffold.cli import main

    monkeypatch.setattr("sys.argv", ["dockergen", "check", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dockergen: ") and says in lines[0], lines
    assert "Traceback" not in out.err and out.out == ""


def test_output_file(naive, tmp_path):
    out = tmp_path / "report.sarif"
    result = check("--format", "sarif", "--output", str(out))
    assert result.exit_code == 1
    assert f"report written to {out}" in result.stdout
    assert not sarif_errors(json.loads(out.read_text()))


def test_a_broken_file_is_a_finding_and_the_others_are_still_checked(naive):
    (naive / "broken.Dockerfile").write_bytes(b"\x00\x01\x02\xff binary")
    (naive / "compose.yml").write_text("services: [unclosed\n")
    doc = as_json(code=1)
    named = {f["path"] for f in doc["findings"]} | {s["path"] for s in doc["skipped"]}
    assert {"broken.Dockerfile", "compose.yml", "leaky.Dockerfile"} <= named


def test_an_invalid_dockergen_yml_is_a_usage_error(project, tmp_path, monkeypatch, capsys):
    from scaffold.cli import main

    copy = tmp_path / "shop"
    shutil.copytree(project, copy)
    layout = yaml.safe_load((copy / "dockergen.yml").read_text())
    layout["check"] = {"ignore": [{"path": "legacy/", "rules": ["DG301"]}]}  # no reason
    (copy / "dockergen.yml").write_text(yaml.safe_dump(layout))
    monkeypatch.chdir(copy)
    monkeypatch.setattr("sys.argv", ["dockergen", "check"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert (
        err
        == f"dockergen: {copy / 'dockergen.yml'}: check.ignore.0.reason: this field is required\n"
    )
    (copy / "dockergen.yml").write_text("services: [\n")
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("dockergen: ") and "malformed YAML" in line


# ------------------------------------------------------------------- a terminal, or not


def _environment(**extra: str) -> dict[str, str]:
    """This process's environment without NO_COLOR (the suite may set it), plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, **extra}


def _run_on_terminal(cwd: Path, **extra: str) -> tuple[str, int]:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "scaffold", "check", "leaky.Dockerfile"],
        cwd=str(cwd),
        env=_environment(**extra),
        encoding="utf-8",
        timeout=120,
        dimensions=(40, 132),
    )
    child.expect(pexpect.EOF)
    child.close()
    return child.before or "", child.exitstatus or 0


def test_colour_on_a_terminal_only(naive):
    shown, code = _run_on_terminal(naive)
    assert code == 1 and "\x1b[" in shown and "DG201" in shown
    plain, code = _run_on_terminal(naive, NO_COLOR="1")
    assert code == 1 and "\x1b[" not in plain and "DG201" in plain
    piped = subprocess.run(
        [sys.executable, "-m", "scaffold", "check", "leaky.Dockerfile"],
        cwd=naive,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 1 and "\x1b[" not in piped.stdout and "DG201" in piped.stdout


def test_the_options_choices_are_the_librarys():
    from scaffold.check.run import DEFAULT_FAIL_ON, FAIL_ON, FORMATS
    from scaffold.cli import CheckFormat, FailOn, check

    assert [f.value for f in CheckFormat] == list(FORMATS)
    assert [f.value for f in FailOn] == list(FAIL_ON)
    default = inspect.signature(check).parameters["fail_on"].default
    assert default == FailOn(DEFAULT_FAIL_ON)


def test_an_update_keeps_the_check_section(project, tmp_path):
    copy = tmp_path / "shop"
    shutil.copytree(project, copy)
    entry = {"path": "legacy/", "rules": ["DG301"], "reason": "the old image, replaced in Q3"}
    with (copy / "dockergen.yml").open("a") as fh:
        fh.write(yaml.safe_dump({"check": {"ignore": [entry]}}, sort_keys=False))
    result = runner.invoke(
        app, ["update", "--project", str(copy), "--set", "services.api.publish=8123"]
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    layout = yaml.safe_load((copy / "dockergen.yml").read_text())
    assert layout["check"] == {"ignore": [entry]}
    assert layout["services"][1]["publish"] == 8123


COMPOSE = """\
services:
  db:
    image: postgres:17-trixie
    ports:
      - "5432:5432"
"""


def test_a_suppression_in_a_compose_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    [line] = [f["line"] for f in as_json(code=1)["findings"] if f["rule"] == "DG402"]
    lines = COMPOSE.splitlines()
    lines.insert(line - 1, "    # dockergen: ignore DG402 -- a throwaway dev database")
    (tmp_path / "compose.yaml").write_text("\n".join(lines) + "\n")
    doc = as_json()
    assert "DG402" not in {f["rule"] for f in doc["findings"]}
    [quiet] = doc["suppressed"]
    assert (quiet["rule"], quiet["line"], quiet["source"]) == ("DG402", line + 1, "inline")
    assert not sarif_errors(json.loads(check("--format", "sarif").stdout))
