"""Suppression: findings a team accepted, each with its reason, moved from `findings` to
`suppressed` (listed in every output, never dropped).

Two sources:
  - inline, in the audited file: `# dockergen: ignore DG101 -- reason` (several IDs: `DG101,
    DG203`). It covers findings that start on its own line or on the line below it; one in the
    file's leading comment block (before any other line) also covers findings about the whole
    file (no line). Dockerfiles, compose files and .dockerignore all take `#` comments.
  - dockergen.yml, `check: {ignore: [{path: GLOB, rules: [DG101], reason: ...}]}`.

A suppression without a reason, or without a valid rule ID, suppresses nothing and is a finding
of its own (INVALID); one naming a rule the catalogue doesn't know is one too (UNKNOWN), so a typo
never silences a rule by accident or hides that it silences nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from scaffold.check.model import Audit, Finding, Rule, Suppressed

INVALID = "DG901"  # a suppression without a reason or a rule ID: it suppresses nothing
UNKNOWN = "DG902"  # a suppression names a rule the catalogue doesn't have
META_RULES = (INVALID, UNKNOWN)

INLINE = "inline"
LAYOUT = "dockergen.yml"

_DIRECTIVE = re.compile(r"#\s*dockergen\s*:\s*ignore\b(?P<body>.*)$", re.IGNORECASE)
_RULE_ID = re.compile(r"^DG[0-9]{3}$")
# a file without it has no directive: not decoded and read line by line
_MARKER = re.compile(rb"dockergen\s*:\s*ignore", re.IGNORECASE)


@dataclass(frozen=True)
class Directive:
    """One suppression: which rules, why, and where it applies."""

    rules: frozenset[str]
    reason: str
    source: str  # INLINE or LAYOUT
    path: str  # the file it is in (inline) or its glob (dockergen.yml)
    line: int | None = None  # inline: the comment's line
    header: bool = False  # inline, in the leading comment block: covers file-wide findings

    def covers(self, finding: Finding) -> bool:
        if finding.rule not in self.rules:
            return False
        if self.source == LAYOUT:
            return path_matches(self.path, finding.path)
        if finding.path != self.path:
            return False
        if finding.line is None:
            return self.header
        return self.line is not None and finding.line in (self.line, self.line + 1)


@dataclass
class Parsed:
    """The directives of one source, and the problems found in them (as findings)."""

    directives: list[Directive] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)


def _problem(
    rules: Mapping[str, Rule], rule: str, path: str, line: int | None, msg: str
) -> Finding:
    return Finding(rule=rule, path=path, line=line, message=msg, severity=rules[rule].severity)


def _check_ids(
    ids: Sequence[str], rules: Mapping[str, Rule], path: str, line: int | None
) -> tuple[frozenset[str], list[Finding]]:
    """The known IDs, and a finding for each unknown one."""
    problems = [
        _problem(
            rules,
            UNKNOWN,
            path,
            line,
            f"suppression names {rule_id}, which is no rule of the catalogue (docs/rules.md)",
        )
        for rule_id in ids
        if rule_id not in rules
    ]
    return frozenset(i for i in ids if i in rules), problems


def parse_inline(text: str, path: str, rules: Mapping[str, Rule]) -> Parsed:
    """Every `# dockergen: ignore` comment of one file's text."""
    out = Parsed()
    header = True
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#") and stripped != "---":
            header = False
        match = _DIRECTIVE.search(raw)
        if match is None:
            continue
        body = match.group("body")
        ids_text, sep, reason = body.partition("--")
        ids = [part for part in re.split(r"[\s,]+", ids_text.strip()) if part]
        bad = [part for part in ids if not _RULE_ID.fullmatch(part)]
        problem = None
        if not ids or bad:
            named = f" ({', '.join(bad)} is no rule ID)" if bad else ""
            problem = (
                f"suppression names no valid rule ID{named}: "
                "use '# dockergen: ignore DG101 -- reason'"
            )
        elif not sep or not reason.strip():
            problem = (
                f"suppression of {', '.join(ids)} has no reason: it suppresses nothing; "
                "write '-- why this is acceptable' after the rule IDs"
            )
        if problem is not None:
            out.problems.append(_problem(rules, INVALID, path, number, problem))
            continue
        known, unknown = _check_ids(ids, rules, path, number)
        out.problems += unknown
        if known:
            out.directives.append(
                Directive(
                    rules=known,
                    reason=" ".join(reason.split()),
                    source=INLINE,
                    path=path,
                    line=number,
                    header=header,
                )
            )
    return out


def read_inline(root: Path, files: Iterable[str], rules: Mapping[str, Rule]) -> Parsed:
    """The inline directives of every audited file. A file that can't be read or decoded has
    no directives (the audit itself reports it)."""
    out = Parsed()
    for rel in files:
        try:
            data = (root / rel).read_bytes()
        except OSError:
            continue
        if _MARKER.search(data) is None:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        parsed = parse_inline(text, rel, rules)
        out.directives += parsed.directives
        out.problems += parsed.problems
    return out


@dataclass(frozen=True)
class Ignore:
    """A dockergen.yml `check.ignore` entry as the layout holds it (scaffold.layout.CheckIgnore),
    with the line of dockergen.yml it starts on when known (for the findings about it)."""

    path: str
    rules: tuple[str, ...]
    reason: str
    line: int | None = None


def from_layout(ignores: Sequence[Ignore], rules: Mapping[str, Rule]) -> Parsed:
    """dockergen.yml's ignores as directives; an unknown rule ID is a finding on dockergen.yml.
    (The layout model already requires a path, a reason and well-formed IDs.)"""
    out = Parsed()
    for entry in ignores:
        known, unknown = _check_ids(entry.rules, rules, LAYOUT, entry.line)
        out.problems += unknown
        if known:
            out.directives.append(
                Directive(
                    rules=known,
                    reason=" ".join(entry.reason.split()),
                    source=LAYOUT,
                    path=entry.path,
                )
            )
    return out


def apply(audit: Audit, directives: Sequence[Directive], problems: Sequence[Finding]) -> Audit:
    """The audit with every covered finding moved to `suppressed` (inline first: the reason
    closest to the code wins), the problems added as findings, everything in a stable order."""
    inline = [d for d in directives if d.source == INLINE]
    layout = [d for d in directives if d.source == LAYOUT]
    kept: list[Finding] = []
    suppressed = list(audit.suppressed)
    for finding in [*audit.findings, *problems]:
        by = next((d for d in (*inline, *layout) if d.covers(finding)), None)
        if by is None or finding.rule in META_RULES:  # a broken suppression can't hide itself
            kept.append(finding)
        else:
            suppressed.append(Suppressed(finding=finding, reason=by.reason, source=by.source))
    return replace(
        audit,
        findings=sorted(set(kept), key=finding_order),
        suppressed=sorted(set(suppressed), key=lambda s: finding_order(s.finding)),
    )


def finding_order(finding: Finding) -> tuple[str, int, str, str]:
    """By file, then line (file-wide first), then rule: the order of every output."""
    return (finding.path, finding.line or 0, finding.rule, finding.message)


# ------------------------------------------------------------------------- path globs


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as a regular expression: `*` and `?` within one folder name, `**` any number
    of folders (`**/x` also x at the root), a trailing `/` everything under that folder."""
    pattern = pattern.strip().removeprefix("./")
    if pattern.endswith("/"):
        pattern += "**"
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def path_matches(pattern: str, path: str) -> bool:
    """Whether a relative POSIX path matches a dockergen.yml `check.ignore` glob."""
    return _glob_regex(pattern).fullmatch(path) is not None
