"""The one path every generating command takes: load the set once, normalise, plan, render.

`new`, `update` (with `add` and `remove`) and `diff` all come here with a layout and, when they
already hold it, the set it names: `prepare` loads the set only if needed and normalises the
layout against it; `render_pristine` builds the plan (scaffold.plan), renders it (scaffold.render)
and writes the `.dockergen/` state the next update merges against (scaffold.state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scaffold import __version__
from scaffold.layout import LAYOUT_FILE, Layout, normalise, with_digests
from scaffold.plan import Project, build_plan
from scaffold.render import render, template_record
from scaffold.secretfiles import ensure_secrets
from scaffold.staging import check_collisions, check_new_target, place_new, staging_dir
from scaffold.state import STATE_DIR, State, tree_files, write_state
from scaffold.templatesets.loader import TemplateSet, load_template_set
from scaffold.templatesets.sources import recorded_location


@dataclass(frozen=True)
class NewResult:
    target: Path
    layout: Layout
    files: list[str]
    secrets: list[str]
    plan: Project
    origin: str | None = None  # where the project's name came from, when that isn't plain


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding `.dockergen/` and dockergen.yml, as git
    finds its work tree: a project command works from any of the project's subfolders."""
    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / STATE_DIR).is_dir() and (folder / LAYOUT_FILE).is_file():
            return folder
    return None


def load_set(layout: Layout, base: Path) -> TemplateSet:
    """The set a layout names (at its `template_ref`); a relative folder is taken from `base`."""
    return load_template_set(layout.template, layout.template_ref, base=base)


def prepare(
    layout: Layout, *, project: str | None, base: Path, tset: TemplateSet | None = None
) -> tuple[Layout, TemplateSet]:
    """Validate the layout against its set's catalog (loaded here unless given) and normalise it.

    `base` is the project directory: a relative set folder in the layout is taken from it, and
    recorded as given. Otherwise the returned layout records the set's canonical source (an
    absolute path for a folder, the URL without `@ref` for git). It also records the ref and
    every answer to the set's questions.
    """
    if tset is None:
        tset = load_set(layout, base)
    layout = normalise(layout, tset, project=project)
    answers = tset.resolve_answers(layout.answers)
    template, _ = recorded_location(layout.template, base, base)
    return layout.model_copy(
        update={"template": template, "template_ref": tset.ref, "answers": answers}
    ), tset


def render_pristine(
    layout: Layout, tset: TemplateSet, dst: Path, *, trust: bool = False
) -> Project:
    """Plan the normalised layout and render it into the empty `dst` plus its `.dockergen/`
    (pristine copy and state): what `new` writes, and what `update` and `diff` compare against."""
    plan = build_plan(layout, tset)
    render(plan, tset, dst, trust=trust)
    state = State(
        template_source=layout.template,
        template_name=tset.name,
        template_version=tset.version,
        dockergen_version=__version__,
    )
    record = None if tset.bundled else template_record(tset)
    write_state(dst, dst, state, template_record=record)
    return plan


def new_project(
    target: Path,
    layout: Layout,
    *,
    force: bool = False,
    trust: bool = False,
    digests: Mapping[str, str] | None = None,
    tset: TemplateSet | None = None,
    origin: str | None = None,
) -> NewResult:
    """Generate a project into `target`; nothing is written unless everything succeeded.

    `digests` (image:tag -> sha256:..., `--digests FILE`) are added to the layout's own pins and
    so recorded in dockergen.yml, where `update` and `diff` find them again. `tset` is the set
    the layout names when the caller has loaded it already (it is not loaded twice).
    """
    target = target.absolute()
    if digests:
        layout = with_digests(layout, digests)
    layout, tset = prepare(layout, project=layout.project or target.name, base=target, tset=tset)
    check_new_target(target, force=force)
    with staging_dir(target) as tmp:
        out = tmp / "out"
        out.mkdir()
        plan = render_pristine(layout, tset, out, trust=trust)
        files = sorted(tree_files(out))
        check_collisions(target, files, force=force)
        created = ensure_secrets(plan.secrets, out, existing=target)
        place_new(out, target)
    return NewResult(target, layout, files, created, plan, origin)
