"""Render a layout with copier into a fresh directory.

copier renders the set's `project/` tree once and each built service's `kinds/<kind>/files/`
tree once per service, all from the set root so templates can include shared partials. The
output folder holds exactly what the project should contain, minus secrets, which are never
rendered (they are generated once and then left alone).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateError

from scaffold.context import build_context
from scaffold.copier_adapter import copy_folder
from scaffold.errors import DockergenError, PolicyError, TargetError, TemplateSetError
from scaffold.layout import LAYOUT_FILE
from scaffold.plan import Project
from scaffold.policy import check_output
from scaffold.templatesets.loader import TemplateSet

# Never part of a project, whatever a set's folder holds: `pip install` byte-compiles a bundled
# set's Python starter files, and an editor or Python run in a set folder leaves litter. copier
# excludes these by default only without `_subdirectory`, which every set here uses.
NEVER_RENDERED = ("__pycache__", "*.py[cod]", ".DS_Store", ".git", ".svn", "~*")


def _failure(tset: TemplateSet, subdir: str, dst: Path, exc: Exception) -> DockergenError:
    """The one line for what a set's template (or the disk under it) can raise while rendering.

    Anything else (a TypeError in our own code, say) is a bug: it is not caught, so its
    traceback shows.
    """
    from copier.errors import CopierError  # already imported: the render ran

    if isinstance(exc, OSError):
        return TargetError(write_error(exc, dst))
    if isinstance(exc, CopierError):
        return TemplateSetError(f"template set {tset.name!r} failed to render {subdir}: {exc}")
    return TemplateSetError(
        f"template set {tset.name!r} failed to render {subdir}: {type(exc).__name__}: {exc}"
    )


def write_error(exc: OSError, dst: Path) -> str:
    """`no space left on device while writing PATH`: the disk's words and the file, one line."""
    reason = (exc.strerror or type(exc).__name__).lower()
    path = Path(exc.filename) if exc.filename else dst
    doing = "writing" if path.is_relative_to(dst) or not path.is_absolute() else "reading"
    return f"{reason} while {doing} {path}"


def _copy(
    tset: TemplateSet,
    subdir: str,
    dst: Path,
    data: dict[str, Any],
    trust: bool,
    exclude: tuple[str, ...] = (),
) -> None:
    from copier.errors import CopierError  # heavy import: only when rendering

    try:
        copy_folder(
            tset.root,
            dst,
            {**data, "dg_subdir": subdir},
            exclude=NEVER_RENDERED + exclude,
            unsafe=trust,
        )
    except (CopierError, TemplateError, yaml.YAMLError, OSError) as exc:
        raise _failure(tset, subdir, dst, exc) from None


def check_trust(tset: TemplateSet, trust: bool) -> None:
    """A set from a path or URL may not run code (copier tasks, migrations, extensions) unasked."""
    if tset.needs_trust and not trust:
        settings = ", ".join(tset.code)
        raise TemplateSetError(
            f"template set {tset.name!r} from {tset.source} runs code ({settings} in its "
            "copier.yml); review the set, then pass --trust to allow it"
        )


def render(
    plan: Project,
    tset: TemplateSet,
    dst: Path,
    *,
    trust: bool = False,
    enforce_policy: bool = True,
) -> None:
    """Write every generated file of the planned project into `dst` (which must be empty).

    The set's policy is checked on the rendered files (PolicyError lists every violation);
    `enforce_policy=False` leaves that to the caller (`templates validate` collects findings).
    """
    check_trust(tset, trust)
    trust = trust or tset.bundled
    if plan.layout.digests:  # the project's pins (dockergen.yml) over the set's policy.digests
        tset = tset.with_digests(plan.layout.digests)
    context = build_context(plan)
    _copy(tset, "project", dst, context, trust)
    for svc, data in zip(plan.built, context["built"], strict=True):
        # without the starter app (dockergen init) only the kind's Docker files are written
        skip = () if svc.starter else tuple(tset.kinds[svc.kind].user_code.starter_files)
        where = dst / svc.folder
        _copy(tset, f"kinds/{svc.kind}/files", where, {**context, "svc": data}, trust, skip)
        # its own names (beside the user's, or one of several in the folder), before the next
        # service of the folder renders its own
        for name, ours in (("Dockerfile", svc.dockerfile), (".dockerignore", svc.dockerignore)):
            if name != ours and (where / name).is_file():
                _rename(where / name, where / ours, dst)
    if enforce_policy:
        violations = check_output(dst, tset)
        if violations:
            raise PolicyError(violations)
    _stand_beside(plan, dst)
    try:
        (dst / LAYOUT_FILE).write_text(plan.layout.to_yaml(), encoding="utf-8")
    except OSError as exc:
        raise TargetError(write_error(exc, dst)) from None


def _rename(src: Path, dst_path: Path, dst: Path) -> None:
    try:
        src.rename(dst_path)
    except OSError as exc:
        raise TargetError(write_error(exc, dst)) from None


def _stand_beside(plan: Project, dst: Path) -> None:
    """Give the project's files that stand beside the user's own (dockergen.yml `beside`)
    their names: the README and compose file (a service's Docker files have theirs already)."""
    for rel in sorted(plan.beside.paths):
        ours = plan.beside.name(rel)
        if ours != rel and (dst / rel).is_file():
            _rename(dst / rel, dst / ours, dst)


def template_record(tset: TemplateSet) -> str:
    """.dockergen/template.json: the set's resolved source (commit included) and lineage."""
    record = {**tset.identity(), "lineage": [origin.__dict__ for origin in tset.lineage]}
    return json.dumps(record, indent=2) + "\n"
