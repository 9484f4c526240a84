"""`dockergen check --format json`: the audit as one JSON document, for scripts.

The shape is documented in docs/check.md and versioned by `format`: a field may be added in a
compatible way, a change of meaning gets a new format number.

    {"format": 1, "tool": {"name", "version"}, "template": {"name", "version", "policy"},
     "fail_on": "low", "failed": bool,
     "summary": {"files", "findings", "suppressed", "skipped", "high", "medium", "low"},
     "files": [path...],
     "findings": [{"rule", "title", "concept", "severity", "path", "line", "end_line",
                   "message", "related"}...],
     "suppressed": [{...finding..., "reason", "source"}...],
     "skipped": [{"path", "reason"}...]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scaffold.check.model import Audit, Finding, Rule, Severity

FORMAT = 1


def finding_dict(finding: Finding, rules: Mapping[str, Rule]) -> dict[str, Any]:
    rule = rules.get(finding.rule)
    return {
        "rule": finding.rule,
        "title": rule.title if rule else None,
        "concept": rule.concept if rule else None,
        "severity": finding.severity.label,
        "path": finding.path,
        "line": finding.line,
        "end_line": finding.end_line,
        "message": finding.message,
        "related": list(finding.related),
    }


def document(
    audit: Audit,
    rules: Mapping[str, Rule],
    *,
    version: str,
    fail_on: Severity,
    template: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "tool": {"name": "dockergen", "version": version},
        "template": dict(template) if template is not None else None,
        "fail_on": fail_on.label,
        "failed": any(f.severity >= fail_on for f in audit.findings),
        "summary": {
            "files": len(audit.files),
            "findings": len(audit.findings),
            "suppressed": len(audit.suppressed),
            "skipped": len(audit.skipped),
            **{s.label: sum(f.severity == s for f in audit.findings) for s in Severity},
        },
        "files": list(audit.files),
        "findings": [finding_dict(f, rules) for f in audit.findings],
        "suppressed": [
            {**finding_dict(s.finding, rules), "reason": s.reason, "source": s.source}
            for s in audit.suppressed
        ],
        "skipped": [{"path": s.path, "reason": s.reason} for s in audit.skipped],
    }


def render(
    audit: Audit,
    rules: Mapping[str, Rule],
    *,
    version: str,
    fail_on: Severity,
    template: Mapping[str, Any] | None = None,
) -> str:
    doc = document(audit, rules, version=version, fail_on=fail_on, template=template)
    return json.dumps(doc, indent=2) + "\n"
