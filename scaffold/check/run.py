"""One `dockergen check` run: where the repository's root is, which template set and policy
apply, the audit (scaffold.check.audit), then the team's suppressions (scaffold.check.suppress).

In a dockergen project (dockergen.yml at or above the first path) the project's own set and its
policy apply, and its `check.ignore` entries; `--template SET` names the set (and turns its
policy on) anywhere; elsewhere the bundled default set supplies what the rules know of stacks
(database kinds, build images), with no policy.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold.check.model import Audit, Finding, Rule, Severity
from scaffold.errors import UsageError

FORMATS = ("human", "json", "sarif")
FAIL_ON = ("low", "medium", "high")
DEFAULT_FAIL_ON = "low"  # any finding fails: accept one with a suppression, not by looking away
# (the CLI spells these as its options' choices; tests/test_check_cli.py keeps them equal)


@dataclass
class CheckResult:
    """An audit with suppressions applied, and what produced it."""

    root: Path
    audit: Audit
    rules: dict[str, Rule]
    template: str  # the set's name
    template_version: str
    policy: bool  # the set's policy was applied
    project: Path | None  # the dockergen project the paths are in

    def failing(self, fail_on: Severity) -> list[Finding]:
        """The findings at or above the threshold: any makes the run fail (exit 1)."""
        return [f for f in self.audit.findings if f.severity >= fail_on]

    def template_info(self) -> dict[str, Any]:
        return {"name": self.template, "version": self.template_version, "policy": self.policy}


def severity(name: str) -> Severity:
    """`--fail-on NAME` as a Severity (UsageError for anything else)."""
    try:
        return Severity[name.upper()]
    except KeyError:
        raise UsageError(f"--fail-on {name}: use one of {', '.join(FAIL_ON)}") from None


def project_root(start: Path) -> Path | None:
    """The dockergen project a path is in: the nearest folder at or above it with a
    dockergen.yml (with .dockergen/, as every project command finds it; or without, as a
    repository's own layout file)."""
    from scaffold.layout import LAYOUT_FILE
    from scaffold.pipeline import find_root

    folder = start if start.is_dir() else start.parent
    root = find_root(folder)
    if root is not None:
        return root
    for candidate in (folder, *folder.parents):
        if (candidate / LAYOUT_FILE).is_file():
            return candidate
    return None


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def audit_root(paths: Sequence[Path], cwd: Path, project: Path | None) -> Path:
    """What finding paths are relative to: the project, else the current folder, when every
    path is inside it; else the folder the paths have in common."""
    for folder in (project, cwd):
        if folder is not None and all(_under(p, folder) for p in paths):
            return folder
    common = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in paths]))
    return common


def _yaml_loader() -> Any:
    """libyaml's loader when PyYAML has it: a 200-service dockergen.yml reads in a few ms."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def layout_ignores(project: Path) -> tuple[list[Any], Any]:
    """The project's layout and its `check.ignore` entries, each with its line in
    dockergen.yml."""
    import yaml

    from scaffold import layout as layouts
    from scaffold.check.suppress import Ignore

    path = project / layouts.LAYOUT_FILE
    try:
        text = path.read_text(encoding="utf-8")
        layout = layouts.parse(yaml.load(text, Loader=_yaml_loader()), source=str(path))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        layout = layouts.load(path)  # raises the one-line LayoutError naming what is wrong
        text = ""
    lines: list[int | None] = [None] * len(layout.check.ignore)
    if layout.check.ignore:  # the line each entry starts on, for findings about it
        node = yaml.compose(text, Loader=_yaml_loader())
        ignore = _child(_child(node, "check"), "ignore")
        if isinstance(ignore, yaml.SequenceNode):
            for i, item in enumerate(ignore.value[: len(lines)]):
                lines[i] = item.start_mark.line + 1
    ignores = [
        Ignore(path=e.path, rules=tuple(e.rules), reason=e.reason, line=line)
        for e, line in zip(layout.check.ignore, lines, strict=True)
    ]
    return ignores, layout


def _child(node: Any, key: str) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def run_check(paths: Sequence[Path], *, cwd: Path, template: str | None = None) -> CheckResult:
    """Audit `paths` (default: `cwd`) and apply the suppressions: the whole of `dockergen
    check` but its output."""
    cwd = cwd.absolute()
    given = [Path(os.path.normpath(cwd / p)) for p in paths] or [cwd]
    missing = [str(p) for p, abs_ in zip(paths, given, strict=False) if not abs_.exists()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file or folder")

    from scaffold.check import catalogue, suppress
    from scaffold.check.audit import audit
    from scaffold.pipeline import load_set
    from scaffold.templatesets.loader import load_template_set

    project = project_root(given[0])
    root = audit_root(given, cwd, project)
    if project is not None and root != project:
        project = None  # its globs are relative to it: not for paths outside it
    ignores: list[Any] = []
    layout = None
    if project is not None:
        ignores, layout = layout_ignores(project)
    if template is not None:
        tset = load_template_set(template, base=cwd)
    elif layout is not None and project is not None:
        tset = load_set(layout, project)
    else:
        tset = load_template_set(None)
    policy = template is not None or layout is not None
    rules = catalogue.load()
    result = audit(given, root=root, tset=tset, policy=policy)
    inline = suppress.read_inline(root, result.files, rules)
    configured = suppress.from_layout(ignores, rules)
    audited = suppress.apply(
        result,
        [*inline.directives, *configured.directives],
        [*inline.problems, *configured.problems],
    )
    return CheckResult(
        root=root,
        audit=audited,
        rules=rules,
        template=tset.name,
        template_version=tset.version,
        policy=policy,
        project=project,
    )


def report(result: CheckResult, fmt: str, *, fail_on: Severity, color: bool, width: int) -> str:
    """The run in one of FORMATS."""
    from scaffold import __version__

    if fmt == "json":
        from scaffold.check import report_json

        return report_json.render(
            result.audit,
            result.rules,
            version=__version__,
            fail_on=fail_on,
            template=result.template_info(),
        )
    if fmt == "sarif":
        from scaffold.check import report_sarif

        return report_sarif.render(result.audit, result.rules, version=__version__)
    if fmt == "human":
        from scaffold.check import report_human

        return report_human.render(
            result.audit, result.rules, fail_on=fail_on, color=color, width=width
        )
    raise UsageError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
