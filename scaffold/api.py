"""The library API behind the CLI: each function is one whole command, callable from tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import __version__
from scaffold.layout import Layout, normalise
from scaffold.render import render
from scaffold.secretfiles import ensure_secrets
from scaffold.staging import check_new_target, place_new, staging_dir
from scaffold.state import State, tree_files, write_state
from scaffold.templateset import TemplateSet, load_template_set


@dataclass
class NewResult:
    target: Path
    layout: Layout
    files: list[str]
    secrets: list[str]
    context: dict[str, Any] = field(repr=False)


def prepare(layout: Layout, *, project: str | None) -> tuple[Layout, TemplateSet]:
    """Load the layout's set and validate the layout against its catalog."""
    tset = load_template_set(layout.template)
    return normalise(layout, tset, project=project), tset


def new_project(
    target: Path, layout: Layout, *, force: bool = False, trust: bool = False
) -> NewResult:
    """Generate a project into `target`; nothing is written unless everything succeeded."""
    target = target.absolute()
    layout, tset = prepare(layout, project=layout.project or target.name)
    check_new_target(target, force=force)
    with staging_dir(target) as tmp:
        rendered = tmp / "render"
        rendered.mkdir()
        context = render(layout, tset, rendered, trust=trust)
        out = tmp / "out"

        shutil.copytree(rendered, out, symlinks=True)
        write_state(
            out,
            rendered,
            State(
                template_source=layout.template,
                template_name=tset.name,
                template_version=tset.version,
                dockergen_version=__version__,
            ),
        )
        files = sorted(tree_files(rendered))
        created = ensure_secrets(context, out)
        place_new(out, target)
    return NewResult(target=target, layout=layout, files=files, secrets=created, context=context)
