"""Render a layout with copier into a fresh directory.

copier renders the set's `project/` tree once and each built service's `kinds/<kind>/files/`
tree once per service, all from the set root so templates can include shared partials. The
output folder holds exactly what the project should contain, minus secrets, which are never
rendered (they are generated once and then left alone).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scaffold.context import build_context
from scaffold.errors import PolicyError, TemplateSetError
from scaffold.layout import LAYOUT_FILE
from scaffold.plan import Project
from scaffold.policy import check_output
from scaffold.templatesets.loader import TemplateSet

# Never part of a project, whatever a set's folder holds: `pip install` byte-compiles a bundled
# set's Python starter files, and an editor or Python run in a set folder leaves litter. copier
# excludes these by default only without `_subdirectory`, which every set here uses.
NEVER_RENDERED = ("__pycache__", "*.py[cod]", ".DS_Store", ".git", ".svn", "~*")


@contextlib.contextmanager
def _without_git_probes() -> Iterator[None]:
    """Skip copier's git probes, which here can only cost time.

    Each run_copy asks git whether the template is a repository or a bundle (a `git init` and
    more) and, per rendered file, whether the destination's index needs an executable-bit fix.
    Our sources are always plain folders (bundled, or materialised without .git by
    templatesets.overlay) rendered into a fresh staging directory nobody has `git add`ed, so every
    answer is known: not a repository, nothing to sync. That is about a third of a render.
    If copier's internals move, the probes simply run again.
    """
    import copier._main as copier_main
    import copier._template as copier_template

    saved: list[tuple[Any, str, Any]] = []
    for module, name, stub in (
        (copier_main, "is_git_available", lambda: False),
        (copier_template, "is_git_available", lambda: False),
        (copier_template, "get_repo", lambda url: None),
    ):
        if hasattr(module, name):
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, stub)
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def _copy(tset: TemplateSet, subdir: str, dst: Path, data: dict[str, Any], trust: bool) -> None:
    from copier import Settings, run_copy  # heavy import: only when rendering
    from copier.errors import CopierError

    try:
        with _without_git_probes():
            run_copy(
                str(tset.root),
                str(dst),
                data={**data, "dg_subdir": subdir},
                defaults=True,
                quiet=True,
                overwrite=True,
                exclude=NEVER_RENDERED,
                unsafe=trust,
                settings=Settings(trust=set()),
            )
    except CopierError as exc:
        raise TemplateSetError(f"template set {tset.name!r} failed to render: {exc}") from None
    except Exception as exc:  # jinja errors from a set's template: name the set, not a traceback
        kind = type(exc).__name__
        raise TemplateSetError(
            f"template set {tset.name!r} failed to render {subdir}: {kind}: {exc}"
        ) from None


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
        _copy(tset, f"kinds/{svc.kind}/files", dst / svc.name, {**context, "svc": data}, trust)
    if enforce_policy:
        violations = check_output(dst, tset)
        if violations:
            raise PolicyError(violations)
    (dst / LAYOUT_FILE).write_text(plan.layout.to_yaml(), encoding="utf-8")


def template_record(tset: TemplateSet) -> str:
    """.dockergen/template.json: the set's resolved source (commit included) and lineage."""
    record = {**tset.identity(), "lineage": [origin.__dict__ for origin in tset.lineage]}
    return json.dumps(record, indent=2) + "\n"
