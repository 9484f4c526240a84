"""The auditor's vocabulary, shared by the rules that find problems and the reports that show
them: a rule of the catalogue, a finding, a file the audit could not read.

Kept free of parsing and output so both sides depend on it and on nothing of each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """Ordered, so `--fail-on medium` is `severity >= Severity.MEDIUM`."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Rule:
    """One entry of the catalogue (scaffold/check/rules.yml), documented in docs/rules.md."""

    id: str  # stable: DG101; never reused for another meaning
    title: str
    concept: str  # what it protects: the brief's claim (persistence, layers, multistage, compose),
    # hardening, or policy
    severity: Severity
    rationale: str
    fix: str


@dataclass(frozen=True)
class Finding:
    """A rule that fired at a place. `path` is relative to the audited root, POSIX separators;
    `line` is 1-based, None when the problem is the file as a whole."""

    rule: str
    path: str
    line: int | None
    message: str
    severity: Severity
    end_line: int | None = None
    # files that took part in a cross-file finding (the .dockerignore beside a Dockerfile)
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suppressed:
    """A finding an inline `# dockergen: ignore ID -- reason` or a dockergen.yml `check.ignore`
    entry silenced: listed in every output format, never dropped silently."""

    finding: Finding
    reason: str
    source: str  # "inline" or "dockergen.yml"


@dataclass(frozen=True)
class Skipped:
    """A file found but not audited (binary, a symlink loop): a note in the output."""

    path: str
    reason: str


@dataclass
class Audit:
    """Everything one `dockergen check` run found, in a stable order."""

    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file audited, relative POSIX paths
