"""The human report of `dockergen check`: one rich table per file (line, rule, severity,
message), then the suppressed findings with their reasons, the files skipped, and a summary.

Colour only on a terminal: the caller says whether (`color`), so redirected output and CI logs
hold plain text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from itertools import groupby

from scaffold.check.model import Audit, Finding, Rule, Severity

_STYLE = {Severity.HIGH: "bold red", Severity.MEDIUM: "yellow", Severity.LOW: "cyan"}


def _line(finding: Finding) -> str:
    if finding.line is None:
        return "-"
    if finding.end_line and finding.end_line != finding.line:
        return f"{finding.line}-{finding.end_line}"
    return str(finding.line)


def summary(audit: Audit, fail_on: Severity) -> str:
    """One line: what was checked, what was found, and whether that fails the run."""
    counts = {s: sum(f.severity == s for f in audit.findings) for s in Severity}
    parts = [f"{counts[s]} {s.label}" for s in sorted(Severity, reverse=True) if counts[s]]
    found = f"{len(audit.findings)} finding(s)" + (f" ({', '.join(parts)})" if parts else "")
    failing = sum(f.severity >= fail_on for f in audit.findings)
    verdict = (
        f"{failing} at or above --fail-on {fail_on.label}"
        if failing
        else f"none at or above --fail-on {fail_on.label}"
    )
    extra = [f"{len(audit.suppressed)} suppressed"] if audit.suppressed else []
    extra += [f"{len(audit.skipped)} file(s) skipped"] if audit.skipped else []
    tail = f"; {', '.join(extra)}" if extra else ""
    return f"{len(audit.files)} file(s) checked: {found}, {verdict}{tail}"


def render(
    audit: Audit,
    rules: Mapping[str, Rule],
    *,
    fail_on: Severity = Severity.LOW,
    color: bool = False,
    width: int = 100,
) -> str:
    """The report as text (ANSI styles only when `color`)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system="standard" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )

    def table(title: str) -> Table:
        out = Table(title=title, title_justify="left", expand=False, show_lines=False)
        out.add_column("line", justify="right", no_wrap=True)
        out.add_column("rule", no_wrap=True)
        out.add_column("severity", no_wrap=True)
        out.add_column("message", overflow="fold")
        return out

    for path, group in groupby(audit.findings, key=lambda f: f.path):
        found = table(path)
        for finding in group:
            rule = rules.get(finding.rule)
            title = f"{rule.title}: " if rule is not None else ""
            related = f" (with {', '.join(finding.related)})" if finding.related else ""
            found.add_row(
                _line(finding),
                finding.rule,
                Text(finding.severity.label, style=_STYLE[finding.severity]),
                Text(f"{title}{finding.message}{related}"),
            )
        console.print(found)
    if audit.suppressed:
        quiet = Table(title="suppressed", title_justify="left")
        quiet.add_column("file:line", overflow="fold")
        quiet.add_column("rule", no_wrap=True)
        quiet.add_column("by", no_wrap=True)
        quiet.add_column("reason", overflow="fold")
        for item in audit.suppressed:
            where = item.finding.path + (f":{_line(item.finding)}" if item.finding.line else "")
            quiet.add_row(where, item.finding.rule, item.source, Text(item.reason))
        console.print(quiet)
    for skipped in audit.skipped:
        console.print(Text(f"skipped {skipped.path}: {skipped.reason}"), soft_wrap=True)
    console.print(Text(summary(audit, fail_on)), soft_wrap=True)
    # rich pads a table's title to the table's width: no trailing blanks in logs and diffs
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
