"""`audit()`: read every discovered file once, parse it (Dockerfiles with BuildKit's own
parser, compose files after interpolation, .dockerignore with Docker's matching), apply the
catalogue's rules across them, and return the findings in a stable order.

A file that can't be read or parsed is a DG000/DG001 finding or a Skipped note, never an
exception: the other files are still audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from scaffold.check import rules
from scaffold.check.discover import discover
from scaffold.check.model import Audit, Finding
from scaffold.check.project import Project

if TYPE_CHECKING:
    from scaffold.templatesets.loader import TemplateSet


def audit(paths: Sequence[Path], *, root: Path, tset: TemplateSet, policy: bool) -> Audit:
    """Audit the Dockerfiles, compose files and .dockerignore files under `paths`.

    `root` is what finding paths are relative to (the repository). `tset` supplies what the
    rules know about stacks (its database kinds, their data directories and users, its build
    images, its categories' start order); `policy` also applies the set's policy (allowed
    registries, mirror, required labels, digest pins)."""
    root = root.absolute()
    files, skipped = discover(paths, root)
    project = Project.read(files, root, tset)
    findings: list[Finding] = list(project.problems)
    findings += rules.apply(project, policy=policy)
    unique = {(f.path, f.line or 0, f.rule, f.message): f for f in findings}
    ordered = [unique[k] for k in sorted(unique)]
    return Audit(
        findings=ordered,
        skipped=skipped + project.skipped,
        files=sorted(project.files),
    )
