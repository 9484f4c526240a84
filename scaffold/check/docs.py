"""docs/rules.md, generated from the rule catalogue (scaffold/check/rules.yml) so the two never
drift: `python -m scaffold.check.docs` rewrites it, and tests/test_check_docs.py fails while the
committed file differs from `rules_markdown()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from pathlib import Path

from scaffold.check.model import Rule

DOCS_FILE = Path(__file__).resolve().parents[2] / "docs" / "rules.md"

# What each concept of the catalogue protects, as the page's section headings say it.
CONCEPT_HEADINGS = {
    "input": "Input: files the audit could not read, and broken suppressions",
    "persistence": "Persistence (brief I): data in named volumes",
    "layers": "Layers (brief II): no secret in any layer",
    "multistage": "Multistage (brief III): small final images, cached installs",
    "compose": "Compose (brief IV): healthy start order, databases out of reach",
    "hardening": "Hardening: the security rules of a generated project",
    "policy": "Policy: the template set's rules (with --template, or in a dockergen project)",
}


def _anchor(rule: Rule) -> str:
    return rule.id.lower()


def rules_markdown(rules: Mapping[str, Rule]) -> str:
    """The whole page: an index, then one section per rule, grouped by concept."""
    order = list(CONCEPT_HEADINGS)
    ranked = sorted(
        rules.values(),
        key=lambda r: (order.index(r.concept) if r.concept in order else len(order), r.id),
    )
    lines = [
        "# dockergen check: the rules",
        "",
        "<!-- Generated from scaffold/check/rules.yml by `python -m scaffold.check.docs`; "
        "do not edit by hand. -->",
        "",
        f"`dockergen check` applies {len(rules)} rules. Each has a stable ID, never reused for "
        "another meaning. `--fail-on low|medium|high` (default `low`) sets which severities "
        "make the command exit 1. How to run it, suppress a finding and upload the SARIF "
        "report: [check.md](check.md).",
        "",
        "| ID | title | concept | severity |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| [{r.id}](#{_anchor(r)}) | {r.title} | {r.concept} | {r.severity.label} |"
        for r in ranked
    ]
    for concept, group in groupby(ranked, key=lambda r: r.concept):
        lines += ["", f"## {CONCEPT_HEADINGS.get(concept, concept)}"]
        for rule in group:
            lines += [
                "",
                f'<a id="{_anchor(rule)}"></a>',
                f"### {rule.id}: {rule.title}",
                "",
                f"Severity **{rule.severity.label}**, concept *{rule.concept}*.",
                "",
                rule.rationale,
                "",
                f"**Fix:** {rule.fix}",
            ]
    return "\n".join(lines) + "\n"


def write_docs(path: Path = DOCS_FILE) -> Path:
    from scaffold.check.catalogue import load

    path.write_text(rules_markdown(load()), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m scaffold.check.docs: regenerate docs/rules.md
    print(write_docs())
