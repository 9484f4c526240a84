"""`dockergen check --format sarif`: SARIF 2.1.0, the format GitHub code scanning uploads
(github/codeql-action/upload-sarif).

One run; `tool.driver.rules` is the whole catalogue (a result names its rule by `ruleId` and its
index), each with the texts docs/rules.md shows, a default level from its severity and
GitHub's `security-severity`. Paths are relative to the audited root (`uriBaseId: %SRCROOT%`),
so a report made in a checkout lines up with the repository. Suppressed findings are results
with a `suppressions` entry (inSource for an inline comment, external for dockergen.yml) and
the reason as its justification; skipped files are notifications of the invocation.

Validated against the SARIF 2.1.0 JSON schema in tests/test_check_output.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from scaffold.check.model import Audit, Finding, Rule, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
VERSION = "2.1.0"
SRCROOT = "%SRCROOT%"
LEVEL = {Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}
# GitHub ranks alerts by this score (0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0+ critical)
SECURITY_SEVERITY = {Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0"}
SUPPRESSION_KIND = {"inline": "inSource", "dockergen.yml": "external"}


def rule_name(rule: Rule) -> str:
    """A SARIF rule name is an identifier-like string: the title in PascalCase."""
    words = re.findall(r"[A-Za-z0-9]+", rule.title)
    return "".join(w[:1].upper() + w[1:] for w in words) or rule.id


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule_name(rule),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": f"{rule.rationale}\n\nFix: {rule.fix}",
            "markdown": f"**{rule.title}** ({rule.id})\n\n{rule.rationale}\n\n**Fix:** {rule.fix}",
        },
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", rule.concept, rule.severity.label],
            "concept": rule.concept,
            "severity": rule.severity.label,
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": "high",
        },
    }


def _location(
    path: str, line: int | None, end_line: int | None, *, region: bool = True
) -> dict[str, Any]:
    """A file and its lines. GitHub places an alert only with a `region.startLine` (the SARIF
    Multitool's GH1003), so a finding about the whole file points at its first line."""
    physical: dict[str, Any] = {"artifactLocation": {"uri": path, "uriBaseId": SRCROOT}}
    if region:
        start = line or 1
        lines: dict[str, Any] = {"startLine": start}
        if end_line is not None and end_line > start:
            lines["endLine"] = end_line
        physical["region"] = lines
    return {"physicalLocation": physical}


def result(finding: Finding, index: Mapping[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(finding.path, finding.line, finding.end_line)],
    }
    if finding.rule in index:
        out["ruleIndex"] = index[finding.rule]
    if finding.related:
        out["relatedLocations"] = [
            {**_location(path, None, None), "id": i, "message": {"text": f"related: {path}"}}
            for i, path in enumerate(finding.related, start=1)
        ]
    return out


def document(audit: Audit, rules: Mapping[str, Rule], *, version: str) -> dict[str, Any]:
    ordered = sorted(rules.values(), key=lambda r: r.id)
    index = {rule.id: i for i, rule in enumerate(ordered)}
    results = [result(f, index) for f in audit.findings]
    for item in audit.suppressed:
        entry = result(item.finding, index)
        entry["suppressions"] = [
            {
                "kind": SUPPRESSION_KIND.get(item.source, "external"),
                "status": "accepted",
                "justification": item.reason,
            }
        ]
        results.append(entry)
    notifications = [
        {
            "level": "note",
            "message": {"text": f"skipped: {s.reason}"},
            "locations": [_location(s.path, None, None, region=False)],
        }
        for s in audit.skipped
    ]
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA,
        "version": VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dockergen",
                        "version": version,
                        "semanticVersion": version,
                        "rules": [rule_descriptor(rule) for rule in ordered],
                    }
                },
                "invocations": [invocation],
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "the root of the audited repository"}}
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def render(audit: Audit, rules: Mapping[str, Rule], *, version: str) -> str:
    return json.dumps(document(audit, rules, version=version), indent=2) + "\n"
