"""docs/rules.md is generated from the catalogue and must match it; the pre-commit hook file
names the files `dockergen check` audits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from scaffold.check import catalogue
from scaffold.check.discover import kind_of
from scaffold.check.docs import DOCS_FILE, rules_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_docs_rules_md_matches_the_catalogue():
    assert DOCS_FILE == ROOT / "docs" / "rules.md"
    assert DOCS_FILE.read_text(encoding="utf-8") == rules_markdown(catalogue.load()), (
        "docs/rules.md is stale: run python -m scaffold.check.docs"
    )


def test_every_rule_has_its_section_and_index_row():
    text = rules_markdown(catalogue.load())
    for rule in catalogue.load().values():
        assert f"### {rule.id}: {rule.title}\n" in text
        assert f"| [{rule.id}](#{rule.id.lower()}) | {rule.title} |" in text
        assert rule.rationale in text and rule.fix in text


def test_a_changed_rule_changes_the_page():
    rules = catalogue.load()
    first = next(iter(rules))
    changed = {**rules, first: rules[first].__class__(**{**vars(rules[first]), "fix": "other"})}
    assert rules_markdown(changed) != rules_markdown(rules)


HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def test_pre_commit_hook():
    [hook] = HOOKS
    assert hook["id"] == "dockergen-check"
    assert hook["entry"] == "dockergen check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True


@pytest.mark.parametrize(
    "path",
    [
        "Dockerfile",
        "api/Dockerfile",
        "api/Dockerfile.dev",
        "tools/ci.Dockerfile",
        "docker-compose.yml",
        "deploy/docker-compose.prod.yaml",
        "compose.yaml",
        "compose.override.yml",
        ".dockerignore",
        "web/.dockerignore",
        "api/Dockerfile.dockerignore",
        "api/app.Dockerfile.dockerignore",
        "README.md",
        "src/compose.py",
        "dockerfiles.txt",
        "app/mycompose.yml",
        "templates/api/Dockerfile.jinja",
        "docker-compose.yml.orig",
        "compose.yaml~",
    ],
)
def test_pre_commit_files_regex_agrees_with_discovery(path):
    """pre-commit passes a file when `files` matches it (re.search); check audits it when its
    name is of a kind. The two must agree, or the hook would hand check files it skips."""
    matched = (
        re.search(HOOKS[0]["files"], path) is not None
        and re.search(HOOKS[0]["exclude"], path) is None
    )
    assert matched is (kind_of(Path(path)) is not None), path
