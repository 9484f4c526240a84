"""The library API behind the CLI: each function is one whole command, callable from tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaffold import __version__
from scaffold.layout import Layout, normalise, unique_name, with_digests
from scaffold.render import render
from scaffold.secretfiles import ensure_secrets
from scaffold.staging import check_new_target, place_new, staging_dir
from scaffold.state import State, tree_files, write_state
from scaffold.templatesets.loader import TemplateSet, load_template_set


@dataclass
class NewResult:
    target: Path
    layout: Layout
    files: list[str]
    secrets: list[str]
    context: dict[str, Any] = field(repr=False)


def prepare(layout: Layout, *, project: str | None, base: Path) -> tuple[Layout, TemplateSet]:
    """Load the layout's set (at `template_ref`) and validate the layout against its catalog.

    `base` is the project directory: a relative set folder in the layout is taken from it, and
    recorded as given. Otherwise the returned layout records the set's canonical source (an
    absolute path for a folder, the URL without `@ref` for git). It also records the ref and
    every answer to the set's questions.
    """
    from scaffold.templatesets.sources import relative_location

    tset = load_template_set(layout.template, layout.template_ref, base=base)
    layout = normalise(layout, tset, project=project)
    answers = tset.resolve_answers(layout.answers)
    template = relative_location(layout.template, base) or tset.source
    return layout.model_copy(
        update={"template": template, "template_ref": tset.ref, "answers": answers}
    ), tset


def new_project(
    target: Path,
    layout: Layout,
    *,
    force: bool = False,
    trust: bool = False,
    digests: Mapping[str, str] | None = None,
) -> NewResult:
    """Generate a project into `target`; nothing is written unless everything succeeded.

    `digests` (image:tag -> sha256:..., `--digests FILE`) are added to the layout's own pins and
    so recorded in dockergen.yml, where `update` and `diff` find them again.
    """
    target = target.absolute()
    if digests:
        layout = with_digests(layout, digests)
    layout, tset = prepare(layout, project=layout.project or target.name, base=target)
    check_new_target(target, force=force)
    with staging_dir(target) as tmp:
        out = tmp / "out"
        out.mkdir()
        context = render_pristine(layout, tset, out, trust=trust)
        files = sorted(tree_files(out))
        created = ensure_secrets(context, out, existing=target)
        place_new(out, target)
    return NewResult(target=target, layout=layout, files=files, secrets=created, context=context)


# --------------------------------------------------------------------- template set checks


@dataclass
class ValidateResult:
    """`templates validate`: findings (one line each) and the checkers that couldn't run."""

    tset: TemplateSet
    samples: list[str]
    findings: list[str]
    skipped: list[str]


def sample_layouts(tset: TemplateSet) -> list[tuple[str, dict[str, Any]]]:
    """Layouts covering every kind and the context each template branches on.

    All kinds at once (backends wired to every database); the built kinds without any database
    (no connections); the frontends alone (no upstream backend).
    """
    everything: list[dict[str, Any]] = []
    taken: set[str] = set()
    for category in ("frontend", "backend", "database"):
        for kind in sorted(tset.kinds_in(category), key=lambda k: k.name):  # type: ignore[arg-type]
            name = unique_name(kind.default_name, taken)
            taken.add(name)
            everything.append({"name": name, "kind": kind.name, "category": category})
    answers = {q.name: q.placeholder() for q in tset.questions}
    groups = [
        ("all-kinds", everything),
        ("no-databases", [s for s in everything if s["category"] != "database"]),
        ("frontends-only", [s for s in everything if s["category"] == "frontend"]),
    ]
    samples: list[tuple[str, dict[str, Any]]] = []
    seen: list[list[dict[str, Any]]] = []
    for name, services in groups:
        if not services or services in seen:
            continue
        seen.append(services)
        entries = [{"name": s["name"], "kind": s["kind"]} for s in services]
        samples.append((name, {"services": entries, "answers": answers}))
    return samples


def validate_template_set(
    source: str | None, ref: str | None = None, *, trust: bool = False
) -> ValidateResult:
    """Render sample layouts of a set and check them: policy, hadolint, `compose config -q`."""
    import tempfile

    from scaffold import checkers, policy
    from scaffold.errors import DockergenError
    from scaffold.layout import parse
    from scaffold.render import check_trust

    tset = load_template_set(source, ref)
    check_trust(tset, trust)
    tools = {name: checkers.find_tool(name) for name in ("hadolint", "docker-compose")}
    skipped = [
        f"{name} not found (next to {Path(__import__('sys').executable).parent} or on PATH): "
        f"{what} skipped"
        for name, what in (("hadolint", "Dockerfile lint"), ("docker-compose", "compose config"))
        if tools[name] is None
    ]
    findings: list[str] = []
    seen: set[str] = set()
    linted: set[str] = set()
    samples = sample_layouts(tset)

    def add(sample: str, lines: list[str]) -> None:
        for line in lines:
            if line not in seen:
                seen.add(line)
                findings.append(f"[{sample}] {line}")

    with tempfile.TemporaryDirectory(prefix="dockergen-validate-") as tmp:
        for name, data in samples:
            dst = Path(tmp) / name
            dst.mkdir()
            try:
                layout = normalise(parse(data, source=name), tset, project="sample")
                context = render(layout, tset, dst, trust=trust, enforce_policy=False)
            except DockergenError as exc:
                add(name, [exc.line()])
                continue
            ensure_secrets(context, dst)
            add(name, policy.check_output(dst, tset))
            hadolint = tools["hadolint"]
            for dockerfile in policy._dockerfiles(dst) if hadolint else []:
                key = checkers.file_digest(dockerfile)
                if key in linted:
                    continue
                linted.add(key)
                shown = dockerfile.relative_to(dst).as_posix()
                add(name, checkers.hadolint(hadolint, dockerfile, shown))
            compose = tools["docker-compose"]
            for file in policy.COMPOSE_FILES:
                if compose and (dst / file).is_file():
                    add(name, checkers.compose_config(compose, dst, file, file))
    return ValidateResult(tset, [n for n, _ in samples], findings, skipped)


def describe_template_set(tset: TemplateSet) -> list[str]:
    """`templates show`: origin, kinds with their images as rendered, questions, policy."""
    from scaffold.images import ImageResolver
    from scaffold.templatesets.manifest import CATEGORIES

    lines = [f"{tset.name} {tset.version}: {tset.manifest.description}".rstrip(": ")]
    where = "bundled" if tset.bundled else tset.source
    lines.append(f"source: {where}" + (f" @ {tset.ref}" if tset.ref else ""))
    if tset.commit:
        lines.append(f"commit: {tset.commit}")
    if len(tset.lineage) > 1:
        lines.append("extends: " + " <- ".join(o.describe() for o in reversed(tset.lineage)))
    lines.append(
        "runs code: "
        + (f"yes ({', '.join(tset.code)}; needs --trust)" if tset.needs_trust else "no")
    )
    image = ImageResolver(tset.policy, tset.digests)
    lines += ["", f"{'KIND':<12} {'CATEGORY':<9} {'PORT':>5}  IMAGES (as rendered)"]
    for category in CATEGORIES:
        for kind in sorted(tset.kinds_in(category), key=lambda k: k.name):
            refs = {**kind.images, **({"compose": kind.image} if kind.image else {})}
            images = ", ".join(f"{role}={image(ref)}" for role, ref in refs.items())
            lines.append(f"{kind.name:<12} {category:<9} {kind.port:>5}  {images}")
    lines += ["", "questions:" if tset.questions else "questions: none"]
    for q in tset.questions:
        detail = q.type + (f": {'|'.join(q.choices)}" if q.choices else "")
        default = "required" if q.default is None else f"default {q.default!r}"
        lines.append(f"  {q.name} ({detail}, {default})" + (f": {q.help}" if q.help else ""))
    policy = tset.policy
    lines += ["", "policy:" if policy.active or tset.digests else "policy: none"]
    if policy.allowed_registries is not None:
        allowed = ", ".join(policy.allowed_registries) or "none"
        lines.append(f"  allowed registries: {allowed} (scratch exempt)")
    if policy.mirror:
        lines.append(f"  mirror: {policy.mirror}")
    for key, value in policy.labels.items():
        lines.append(f"  label: {key}={value}")
    if tset.digests or policy.require_digests:
        required = "; every image must be pinned" if policy.require_digests else ""
        lines.append(f"  digests: {len(tset.digests)} pinned{required}")
    return lines


# --------------------------------------------------------------------- regenerating


def render_pristine(
    layout: Layout, tset: TemplateSet, dst: Path, *, trust: bool = False
) -> dict[str, Any]:
    """Render into the empty `dst` plus its `.dockergen/` (pristine copy and state.json): what
    `new_project` writes, and what `update` and `diff` compare projects against."""
    context = render(layout, tset, dst, trust=trust)
    state = State(
        template_source=layout.template,
        template_name=tset.name,
        template_version=tset.version,
        dockergen_version=__version__,
    )
    write_state(dst, dst, state)
    return context
