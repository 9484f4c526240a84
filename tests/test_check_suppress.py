"""Suppression (scaffold/check/suppress.py): inline comments and dockergen.yml `check.ignore`
move findings to `suppressed` with their reason; a broken suppression suppresses nothing and is
a finding of its own. Also the layout model of `check:` (scaffold/layout.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaffold import layout as layouts
from scaffold.check import catalogue
from scaffold.check.model import Audit, Finding, Severity, Suppressed
from scaffold.check.suppress import (
    INLINE,
    INVALID,
    LAYOUT,
    UNKNOWN,
    Ignore,
    apply,
    from_layout,
    parse_inline,
    path_matches,
    read_inline,
)
from scaffold.errors import LayoutError

RULES = catalogue.load()


def finding(rule: str, path: str, line: int | None, message: str = "m") -> Finding:
    return Finding(rule=rule, path=path, line=line, message=message, severity=RULES[rule].severity)


DOCKERFILE = """\
# dockergen: ignore DG301 -- a one-stage tool image, built in CI only
FROM python:3.13-slim
COPY .npmrc /root/.npmrc
# dockergen: ignore DG201 -- the token is a read-only one for the public mirror
RUN rm /root/.npmrc
USER root  # dockergen: ignore DG501, DG502 -- the entrypoint drops privileges itself
"""


def test_inline_directives_cover_their_line_and_the_next():
    parsed = parse_inline(DOCKERFILE, "Dockerfile", RULES)
    assert parsed.problems == []
    audit = Audit(
        findings=[
            finding("DG301", "Dockerfile", None),  # file-wide: the header comment covers it
            finding("DG201", "Dockerfile", 3),  # not covered: the directive is on line 4
            finding("DG201", "Dockerfile", 5),  # the line below the directive
            finding("DG501", "Dockerfile", 6),  # the directive's own line
            finding("DG201", "other/Dockerfile", 5),  # another file
            finding("DG518", "Dockerfile", 2),  # another rule
        ],
        files=["Dockerfile", "other/Dockerfile"],
    )
    out = apply(audit, parsed.directives, parsed.problems)
    assert [(f.rule, f.path, f.line) for f in out.findings] == [
        ("DG518", "Dockerfile", 2),
        ("DG201", "Dockerfile", 3),
        ("DG201", "other/Dockerfile", 5),
    ]
    assert [(s.finding.rule, s.finding.line, s.source, s.reason) for s in out.suppressed] == [
        ("DG301", None, INLINE, "a one-stage tool image, built in CI only"),
        ("DG201", 5, INLINE, "the token is a read-only one for the public mirror"),
        ("DG501", 6, INLINE, "the entrypoint drops privileges itself"),
    ]
    assert out.files == audit.files


def test_a_directive_after_the_first_instruction_does_not_cover_file_wide_findings():
    text = "FROM x\n# dockergen: ignore DG301 -- no\n"
    parsed = parse_inline(text, "Dockerfile", RULES)
    audit = Audit(findings=[finding("DG301", "Dockerfile", None)])
    assert apply(audit, parsed.directives, parsed.problems).findings == audit.findings


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("# dockergen: ignore DG201", "has no reason"),
        ("# dockergen: ignore DG201 --   ", "has no reason"),
        ("# dockergen: ignore -- because", "no valid rule ID"),
        ("# dockergen: ignore dg201 -- lower case", "dg201 is no rule ID"),
        ("# dockergen: ignore DG2O1 -- a letter O", "DG2O1 is no rule ID"),
    ],
)
def test_a_suppression_without_reason_or_id_is_a_finding_and_suppresses_nothing(line, why):
    parsed = parse_inline(f"{line}\nRUN rm .npmrc\n", "Dockerfile", RULES)
    assert parsed.directives == []
    [problem] = parsed.problems
    assert (problem.rule, problem.line, problem.severity) == (INVALID, 1, Severity.MEDIUM)
    assert why in problem.message
    out = apply(Audit(findings=[finding("DG201", "Dockerfile", 2)]), [], parsed.problems)
    assert [f.rule for f in out.findings] == [INVALID, "DG201"]  # the problem (line 1), and it
    assert out.suppressed == []


def test_an_unknown_rule_is_reported_and_the_known_ones_still_apply():
    text = "services:\n  db:  # dockergen: ignore DG999, DG402 -- a dev-only stack\n"
    parsed = parse_inline(text, "compose.yml", RULES)
    [problem] = parsed.problems
    assert (problem.rule, problem.path, problem.line) == (UNKNOWN, "compose.yml", 2)
    assert "DG999" in problem.message
    [directive] = parsed.directives
    assert directive.rules == {"DG402"}
    out = apply(Audit(findings=[finding("DG402", "compose.yml", 3)]), [directive], [problem])
    assert [f.rule for f in out.findings] == [UNKNOWN]
    assert [s.finding.rule for s in out.suppressed] == ["DG402"]


def test_a_broken_suppression_cannot_suppress_itself():
    text = "# dockergen: ignore DG901 -- hide the others\n# dockergen: ignore DG201\n"
    parsed = parse_inline(text, ".dockerignore", RULES)
    out = apply(Audit(), parsed.directives, parsed.problems)
    assert [(f.rule, f.line) for f in out.findings] == [(INVALID, 2)]


def test_read_inline_reads_the_audited_files_and_passes_over_unreadable_ones(tmp_path):
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / ".dockerignore").write_text("# dockergen: ignore DG203\n.env\n")
    (tmp_path / "compose.yml").write_bytes(b"\xff\xfe dockergen: ignore \x00")  # not UTF-8
    files = ["Dockerfile", ".dockerignore", "compose.yml", "gone/Dockerfile"]
    parsed = read_inline(tmp_path, files, RULES)
    assert len(parsed.directives) == 3
    assert [(p.rule, p.path) for p in parsed.problems] == [(INVALID, ".dockerignore")]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("legacy/", "legacy/api/Dockerfile", True),
        ("legacy/", "new/legacy/Dockerfile", False),
        ("**/Dockerfile", "Dockerfile", True),
        ("**/Dockerfile", "a/b/Dockerfile", True),
        ("*/Dockerfile", "a/Dockerfile", True),
        ("*/Dockerfile", "a/b/Dockerfile", False),
        ("tools/*.Dockerfile", "tools/ci.Dockerfile", True),
        ("docker-compose.yml", "docker-compose.yml", True),
        ("docker-compose.yml", "sub/docker-compose.yml", False),
        ("./api/Dockerfile", "api/Dockerfile", True),
        ("api/Dockerfile?", "api/Dockerfile2", True),
        ("a.b/x", "aXb/x", False),  # '.' is literal
    ],
)
def test_path_globs(pattern, path, matches):
    assert path_matches(pattern, path) is matches


def test_dockergen_yml_ignores_by_path_and_reports_unknown_rules():
    ignores = [
        Ignore(path="legacy/", rules=("DG301", "DG305"), reason="frozen until Q3", line=5),
        Ignore(path="**/Dockerfile", rules=("DG998",), reason="typo", line=9),
    ]
    parsed = from_layout(ignores, RULES)
    [problem] = parsed.problems
    assert (problem.rule, problem.path, problem.line) == (UNKNOWN, LAYOUT, 9)
    audit = Audit(
        findings=[
            finding("DG301", "legacy/api/Dockerfile", None),
            finding("DG305", "legacy/api/Dockerfile", 7),
            finding("DG301", "api/Dockerfile", None),
        ]
    )
    out = apply(audit, parsed.directives, parsed.problems)
    assert [(f.rule, f.path) for f in out.findings] == [
        ("DG301", "api/Dockerfile"),
        (UNKNOWN, LAYOUT),
    ]
    assert {(s.finding.path, s.source, s.reason) for s in out.suppressed} == {
        ("legacy/api/Dockerfile", LAYOUT, "frozen until Q3")
    }


def test_inline_reason_wins_over_the_layout_one():
    inline = parse_inline("# dockergen: ignore DG201 -- local reason\n", "Dockerfile", RULES)
    layout = from_layout([Ignore("Dockerfile", ("DG201",), "global reason")], RULES)
    out = apply(
        Audit(findings=[finding("DG201", "Dockerfile", 2)]),
        [*layout.directives, *inline.directives],
        [],
    )
    assert out.suppressed == [Suppressed(finding("DG201", "Dockerfile", 2), "local reason", INLINE)]


# ------------------------------------------------------------------- dockergen.yml `check:`

SERVICES = [{"name": "api", "kind": "fastapi"}]


def test_layout_check_section_round_trips_and_is_absent_by_default():
    plain = layouts.parse({"services": SERVICES})
    assert "check" not in plain.to_yaml()  # older dockergen.yml files stay byte-identical
    data = {
        "services": SERVICES,
        "check": {"ignore": [{"path": "legacy/", "rules": "DG301, DG305", "reason": "frozen"}]},
    }
    layout = layouts.parse(data)
    assert layout.check.ignore[0].rules == ["DG301", "DG305"]
    again = layouts.parse(__import__("yaml").safe_load(layout.to_yaml()))
    assert again == layout


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "x", "rules": ["DG301"]}, "check.ignore.0.reason: this field is required"),
        ({"path": "x", "rules": ["DG301"], "reason": "  "}, "must not be blank"),
        ({"path": "x", "rules": [], "reason": "r"}, "check.ignore.0.rules"),
        ({"path": "x", "rules": ["301"], "reason": "r"}, "not '301'"),
        ({"path": "x", "rules": ["DG301"], "reason": "r", "why": 1}, "unknown field"),
    ],
)
def test_layout_check_entries_are_validated(entry, message):
    with pytest.raises(LayoutError) as err:
        layouts.parse({"services": SERVICES, "check": {"ignore": [entry]}})
    assert message in err.value.line()


def test_the_shipped_schema_knows_the_check_section():
    import json

    from scaffold.state import schema_path

    schema = json.loads(Path(schema_path()).read_text())
    assert "check" in schema["properties"]
    assert "CheckIgnore" in schema["$defs"]
