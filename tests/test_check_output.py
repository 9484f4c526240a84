"""The reports of `dockergen check` (scaffold/check/report_*.py) on a constructed audit: the
human table, the JSON document, and SARIF 2.1.0 validated against the official schemas
(tests/fixtures/sarif, see SOURCE.md there)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from scaffold.check import catalogue, report_human, report_json, report_sarif
from scaffold.check.model import Audit, Finding, Severity, Skipped, Suppressed

RULES = catalogue.load()
SCHEMAS = Path(__file__).parent / "fixtures" / "sarif"


def finding(rule: str, path: str, line: int | None, message: str, **kw) -> Finding:
    return Finding(rule, path, line, message, RULES[rule].severity, **kw)


AUDIT = Audit(
    findings=[
        finding("DG301", "api/Dockerfile", None, "one stage installs dependencies"),
        finding(
            "DG201",
            "api/Dockerfile",
            4,
            ".npmrc is copied in line 3 and deleted here",
            end_line=6,
        ),
        finding(
            "DG203", "api/Dockerfile", 7, "COPY . . sends .env", related=("api/.dockerignore",)
        ),
        finding("DG402", "docker-compose.yml", 12, "db publishes 5432"),
        finding("DG509", "docker-compose.yml", 20, "api's logs are not rotated"),
    ],
    suppressed=[
        Suppressed(
            finding("DG501", "api/Dockerfile", 9, "the final stage runs as root"),
            "the entrypoint drops privileges",
            "inline",
        ),
        Suppressed(
            finding("DG305", "legacy/Dockerfile", 5, "install after the source copy"),
            "frozen until Q3",
            "dockergen.yml",
        ),
    ],
    skipped=[Skipped("bin/Dockerfile.bin", "binary file")],
    files=["api/.dockerignore", "api/Dockerfile", "docker-compose.yml", "legacy/Dockerfile"],
)


@pytest.fixture(scope="module")
def sarif() -> dict:
    return json.loads(report_sarif.render(AUDIT, RULES, version="0.1.0"))


@pytest.mark.parametrize("schema", ["sarif-schema-2.1.0.json", "sarif-schema-2.1.0-rtm.5.json"])
def test_sarif_validates_against_the_official_schema(sarif, schema):
    document = json.loads((SCHEMAS / schema).read_text())
    validator = jsonschema.validators.validator_for(document)
    validator.check_schema(document)
    errors = sorted(validator(document).iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_the_schema_check_can_fail(sarif):
    """The same validation rejects a broken log: the schema is really applied."""
    document = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    broken = json.loads(json.dumps(sarif))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    del broken["runs"][0]["tool"]["driver"]["name"]
    validator = jsonschema.validators.validator_for(document)(document)
    assert len(list(validator.iter_errors(broken))) >= 2


def test_sarif_rules_carry_the_catalogue_and_github_metadata(sarif):
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0"
    driver = run["tool"]["driver"]
    assert driver["name"] == "dockergen"
    assert [r["id"] for r in driver["rules"]] == sorted(RULES)
    by_id = {r["id"]: r for r in driver["rules"]}
    dg201 = by_id["DG201"]
    rule = RULES["DG201"]
    assert dg201["shortDescription"]["text"] == rule.title
    assert dg201["fullDescription"]["text"] == rule.rationale
    assert rule.fix in dg201["help"]["text"]
    assert dg201["name"] == "FileCopiedInAndDeletedInALaterLayer"
    assert dg201["defaultConfiguration"]["level"] == "error"
    assert dg201["properties"]["security-severity"] == "8.0"
    assert {"security", "layers", "high"} <= set(dg201["properties"]["tags"])
    assert by_id["DG509"]["defaultConfiguration"]["level"] == "note"
    assert by_id["DG301"]["defaultConfiguration"]["level"] == "warning"


def test_sarif_results_point_at_files_and_lines(sarif):
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(AUDIT.findings) + len(AUDIT.suppressed)
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        artifact = res["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert not artifact["uri"].startswith("/")
    dg201 = next(r for r in results if r["ruleId"] == "DG201")
    assert dg201["locations"][0]["physicalLocation"]["region"] == {"startLine": 4, "endLine": 6}
    assert dg201["level"] == "error"
    assert dg201["message"]["text"] == ".npmrc is copied in line 3 and deleted here"
    file_wide = next(r for r in results if r["ruleId"] == "DG301")
    # GitHub places an alert only with a line: a file-wide finding points at line 1
    assert file_wide["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    for res in results:
        assert res["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    dg203 = next(r for r in results if r["ruleId"] == "DG203")
    related = dg203["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert related == "api/.dockerignore"


def test_sarif_lists_suppressed_results_with_their_justification(sarif):
    results = sarif["runs"][0]["results"]
    quiet = {r["ruleId"]: r["suppressions"] for r in results if "suppressions" in r}
    assert quiet == {
        "DG501": [
            {
                "kind": "inSource",
                "status": "accepted",
                "justification": "the entrypoint drops privileges",
            }
        ],
        "DG305": [{"kind": "external", "status": "accepted", "justification": "frozen until Q3"}],
    }
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "skipped: binary file"


def test_sarif_of_a_clean_audit_is_valid_and_empty():
    doc = json.loads(report_sarif.render(Audit(files=["Dockerfile"]), RULES, version="0.1.0"))
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(doc)
    assert doc["runs"][0]["results"] == []


def test_json_document_shape():
    doc = json.loads(
        report_json.render(
            AUDIT,
            RULES,
            version="0.1.0",
            fail_on=Severity.HIGH,
            template={"name": "default", "version": "1", "policy": False},
        )
    )
    assert set(doc) == {
        "format",
        "tool",
        "template",
        "fail_on",
        "failed",
        "summary",
        "files",
        "findings",
        "suppressed",
        "skipped",
    }
    assert doc["format"] == 1 and doc["fail_on"] == "high" and doc["failed"] is True
    assert doc["summary"] == {
        "files": 4,
        "findings": 5,
        "suppressed": 2,
        "skipped": 1,
        "low": 1,
        "medium": 1,
        "high": 3,
    }
    first = doc["findings"][1]
    assert first == {
        "rule": "DG201",
        "title": RULES["DG201"].title,
        "concept": "layers",
        "severity": "high",
        "path": "api/Dockerfile",
        "line": 4,
        "end_line": 6,
        "message": ".npmrc is copied in line 3 and deleted here",
        "related": [],
    }
    assert doc["suppressed"][1]["reason"] == "frozen until Q3"
    assert doc["suppressed"][1]["source"] == "dockergen.yml"
    assert doc["skipped"] == [{"path": "bin/Dockerfile.bin", "reason": "binary file"}]


def test_json_passes_below_the_threshold():
    low_only = Audit(findings=[finding("DG509", "compose.yml", 3, "logs")], files=["compose.yml"])
    doc = report_json.document(low_only, RULES, version="0", fail_on=Severity.MEDIUM)
    assert doc["failed"] is False


def test_human_report_groups_by_file_with_lines_and_lists_suppressed_and_skipped():
    text = report_human.render(AUDIT, RULES, fail_on=Severity.LOW, width=120)
    assert "\x1b[" not in text  # no colour unless asked
    api, compose = text.index("api/Dockerfile"), text.index("docker-compose.yml")
    assert api < compose
    api_table = text[api:compose]
    assert "4-6" in api_table and "DG201" in api_table and "high" in api_table
    assert "│    - │ DG301" in api_table  # a finding about the whole file has no line
    assert all(line == line.rstrip() for line in text.splitlines())
    assert "(with api/.dockerignore)" in api_table
    assert "12" in text[compose:] and "DG402" in text[compose:]
    assert "suppressed" in text and "the entrypoint drops privileges" in text
    assert "legacy/Dockerfile:5" in text and "dockergen.yml" in text
    assert "skipped bin/Dockerfile.bin: binary file" in text
    assert text.rstrip().endswith(
        "4 file(s) checked: 5 finding(s) (3 high, 1 medium, 1 low), 5 at or above --fail-on "
        "low; 2 suppressed, 1 file(s) skipped"
    )


def test_human_report_in_colour_on_a_terminal():
    text = report_human.render(AUDIT, RULES, color=True)
    assert "\x1b[" in text


def test_human_report_of_a_clean_audit():
    text = report_human.render(Audit(files=["Dockerfile"]), RULES, fail_on=Severity.HIGH)
    assert text == "1 file(s) checked: 0 finding(s), none at or above --fail-on high\n"
