"""The library API behind the CLI: each function is one whole command, callable from tests."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaffold.layout import TARGETS, Layout, normalise, unique_name
from scaffold.pipeline import NewResult, find_root, new_project, prepare, render_pristine
from scaffold.render import render
from scaffold.secretfiles import ensure_secrets
from scaffold.templatesets.loader import TemplateSet, load_template_set

if TYPE_CHECKING:
    from scaffold.adopt import InitResult
    from scaffold.check.run import CheckResult
    from scaffold.edits import LayoutEdit as LayoutEdit  # for the CLI's type hints
    from scaffold.update import DriftResult, UpdateResult
    from scaffold.verify import VerifyResult

__all__ = [
    "Layout",
    "NewRequest",
    "NewResult",
    "find_root",
    "new_project",
    "prepare",
    "render_pristine",
]


# --------------------------------------------------------------------- new


@dataclass(frozen=True)
class NewRequest:
    """What `dockergen new` was asked: a directory and one way to describe the services."""

    name: str | None
    layout_file: Path | None = None
    defaults: bool = False
    choices: tuple[tuple[str | None, str], ...] = ()  # (category flag or None, KIND[:NAME])
    template: str | None = None
    template_ref: str | None = None
    answers: tuple[str, ...] = ()  # KEY=VALUE
    syntax_line: bool = True
    digests_file: Path | None = None
    interactive: bool = False  # a terminal to ask the interview on
    targets: tuple[str, ...] = ()  # --target: besides compose (and a layout file's own)


def _relocate_template(data: dict[str, Any], layout_file: Path, target: Path) -> None:
    """A layout file's `template:` folder is relative to that file, as in dockergen.yml: record
    it as `target`'s dockergen.yml will see it (and a URL's @REF as `template_ref`)."""
    from scaffold.templatesets.sources import recorded_location

    if "template" in data:
        data["template"], ref = recorded_location(
            data["template"], layout_file.absolute().parent, target
        )
        if ref and "template_ref" not in data:
            data["template_ref"] = ref


def _project_name(
    name: str | None, project: str | None, layout_file: Path
) -> tuple[str, str | None]:
    """`new [NAME] --layout FILE`: the directory, and where its project name came from when the
    report should say (the layout named another, or named it alone).

    NAME wins, as its help says: two folders made from one layout must not share compose
    containers. Without NAME the layout's `project:` names the directory and the project.
    """
    from scaffold.errors import UsageError

    if name is None:
        if project is None:
            raise UsageError(
                f"{layout_file} has no 'project:' to name the project",
                hint="give a NAME: dockergen new NAME --layout FILE",
            )
        return project, "project name from the layout's 'project:'"
    chosen = Path(name).absolute().name
    if project is not None and project != chosen:
        return name, f"project name from the command line; the layout said {project!r}"
    return name, None


def _interactive_target(target: Path, *, force: bool) -> tuple[Path, str]:
    """Before the first question: a valid project name (one is suggested, a folder not yet made
    takes it too) and a folder `new` may write to, so no answer is given in vain."""
    from scaffold.interview import ask_project_name
    from scaffold.layout import check_name
    from scaffold.staging import check_new_target

    project = target.name
    try:
        check_name(project, "project")
    except ValueError:
        project = ask_project_name(project)
        if not target.exists():
            target = target.parent / project
    check_new_target(target, force=force)
    return target, project


def create_project(request: NewRequest, *, force: bool = False, trust: bool = False) -> NewResult:
    """`dockergen new`: the layout from a file, the set's defaults, per-category choices or the
    interview; then the one pipeline (scaffold.pipeline). The set is loaded once."""
    from scaffold import layout as layouts
    from scaffold.errors import UsageError
    from scaffold.templatesets.sources import recorded_location

    if request.name is None and request.layout_file is None:
        raise UsageError(
            "give the project's directory (dockergen new NAME)",
            hint="only with --layout FILE may NAME be left out: the layout's 'project:' names it",
        )
    answers: dict[str, str] = {}
    for item in request.answers:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--answer {item!r}: use KEY=VALUE")
        answers[key.strip()] = value
    flags = bool(request.choices)
    if sum([request.defaults, request.layout_file is not None, flags]) > 1:
        raise UsageError("use only one of --defaults, --layout, or --frontend/--backend/--database")
    name, origin = request.name, None
    tset: TemplateSet | None = None
    data: dict[str, Any]
    if request.layout_file is not None:
        layout = layouts.load(request.layout_file)
        data = layout.model_dump(exclude_unset=True)
        name, origin = _project_name(name, layout.project, request.layout_file)
        data.pop("project", None)  # the directory's name is the project's, as without --layout
    assert name is not None  # checked above: only --layout may leave it out
    target = Path(name).absolute()
    if request.layout_file is not None:
        _relocate_template(data, request.layout_file, target)
    else:
        tset = load_template_set(request.template, request.template_ref)
        if request.defaults:
            data = layouts.defaults_layout(tset)
        elif flags:
            data = layouts.from_choices(request.choices, tset)
        elif request.interactive:
            from scaffold.interview import interview

            target, project = _interactive_target(target, force=force)
            data = interview(tset, project, answers=answers)
            if project != target.name:
                data["project"] = project
        else:
            raise UsageError(
                "no terminal to ask questions on",
                hint="pass --defaults, --layout FILE, or --frontend/--backend/--database",
            )
    if request.template is not None:
        data["template"], ref = recorded_location(request.template, Path.cwd(), target)
        if ref and request.template_ref is None:
            data["template_ref"] = ref
    if request.template_ref is not None:
        data["template_ref"] = request.template_ref
    if answers:
        data["answers"] = {**data.get("answers", {}), **answers}
    if not request.syntax_line:
        data["options"] = {**data.get("options", {}), "syntax_line": False}
    if request.targets:  # added to a layout file's targets; layout.check_targets orders them
        data["targets"] = [*data.get("targets", []), *request.targets]
    digests = None
    if request.digests_file is not None:
        from scaffold.images import load_digests_file

        digests = load_digests_file(request.digests_file)
    return new_project(
        target,
        layouts.parse(data),
        force=force,
        trust=trust,
        digests=digests,
        tset=tset,
        origin=origin,
    )


def new_report(result: NewResult) -> str:
    from scaffold.report import new_report as report

    return report(result)


# --------------------------------------------------------------------- init


@dataclass(frozen=True)
class InitRequest:
    """What `dockergen init` was asked: a repository, and how to settle its layout."""

    directory: Path = Path(".")
    layout_file: Path | None = None  # skips detection
    template: str | None = None
    template_ref: str | None = None
    yes: bool = False  # accept detection without the review
    interactive: bool = False  # a terminal to review on
    replace: bool = False  # write over the repository's Docker files (originals kept)
    syntax_line: bool = True


def init_project(request: InitRequest, *, trust: bool = False, echo: Any = print) -> InitResult:
    """`dockergen init`: detect (or read) the layout, show why, review it (a terminal, without
    --yes), then generate around the code (scaffold.adopt). `echo` shows the detection before
    the review."""
    from scaffold import adopt
    from scaffold import layout as layouts
    from scaffold.errors import UsageError
    from scaffold.templatesets.sources import recorded_location

    root = request.directory.absolute()
    adopt.check_root(root)
    found = adopt.Found()
    if request.layout_file is not None:
        data = layouts.load(request.layout_file).model_dump(exclude_unset=True)
        _relocate_template(data, request.layout_file, root)
    else:
        if not request.yes and not request.interactive:
            raise UsageError(
                "no terminal to review what init detects on",
                hint="pass --yes to accept it, or --layout FILE",
            )
        data = {}
    if request.template is not None:
        data["template"], ref = recorded_location(request.template, Path.cwd(), root)
        if ref and request.template_ref is None:
            data["template_ref"] = ref
    if request.template_ref is not None:
        data["template_ref"] = request.template_ref
    tset = load_template_set(data.get("template"), data.get("template_ref"), base=root)
    if request.layout_file is None:
        detected, found = adopt.detect_layout(root, tset)
        data = {**detected, **{k: v for k, v in data.items() if k in ("template", "template_ref")}}
    project = adopt.project_name(root, data)
    if request.interactive and not request.yes and request.layout_file is None:
        from scaffold.interview import review_only
        from scaffold.report import detection_lines

        echo("\n".join(detection_lines(found)))
        data = review_only(tset, project, data, action="init {project}", echo=echo)
    data["project"] = project
    if not request.syntax_line:
        data["options"] = {**data.get("options", {}), "syntax_line": False}
    return adopt.init_repository(
        root, data, tset, replace=request.replace, trust=trust, found=found
    )


def init_report(result: InitResult) -> str:
    from scaffold.report import init_report as report

    return report(result)


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

    All kinds at once (every service connected to everything its category connects to); the
    kinds of categories that aren't internal (no connections to internal services); the kinds
    of categories that proxy to another, alone (a frontend with no upstream). Each with every
    deploy target, so that the policy is checked on every target's files.
    """
    everything: list[dict[str, Any]] = []
    taken: set[str] = set()
    for category in tset.categories:
        for kind in sorted(tset.kinds_in(category), key=lambda k: k.name):
            name = unique_name(kind.default_name, taken)
            taken.add(name)
            everything.append({"name": name, "kind": kind.name, "category": category})
    answers = {q.name: q.placeholder() for q in tset.questions}
    spec = tset.categories
    groups = [
        ("all-kinds", everything),
        ("no-databases", [s for s in everything if not spec[s["category"]].internal]),
        ("frontends-only", [s for s in everything if spec[s["category"]].proxies]),
    ]
    samples: list[tuple[str, dict[str, Any]]] = []
    seen: list[list[dict[str, Any]]] = []
    code = _user_code_sample(tset)
    for name, services in groups:
        if not services or services in seen:
            continue
        seen.append(services)
        entries = [{"name": s["name"], "kind": s["kind"]} for s in services]
        # every deploy target, so that each target's files meet the policy too
        samples.append((name, {"services": entries, "answers": answers, "targets": list(TARGETS)}))
    if code:  # building around a repository's code (dockergen init): each manager, a probe
        data = {"services": code, "answers": answers, "targets": list(TARGETS), "starter": False}
        samples.append(("user-code", data))
    return samples


def _user_code_sample(tset: TemplateSet) -> list[dict[str, Any]]:
    """One service per built kind and package manager, each in its own folder, probed by an
    HTTP path where the kind has probes: what `dockergen init` renders."""
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    for category in tset.categories:
        for kind in sorted(tset.kinds_in(category), key=lambda k: k.name):
            if not tset.builds(kind.name):
                continue
            managers: list[str | None] = [*sorted(kind.user_code.package_managers)] or [None]
            for manager in managers:
                name = unique_name(f"{kind.name}-{manager}" if manager else kind.name, taken)
                taken.add(name)
                svc: dict[str, Any] = {"name": name, "kind": kind.name}
                if manager:
                    svc["package_manager"] = manager
                if kind.user_code.probes is not None:
                    svc["health"] = "/health"
                out.append(svc)
    return out


def validate_template_set(
    source: str | None, ref: str | None = None, *, trust: bool = False
) -> ValidateResult:
    """Render sample layouts of a set and check them: policy, hadolint, `compose config -q`."""
    import tempfile

    from scaffold import checkers, policy
    from scaffold.errors import DockergenError
    from scaffold.layout import parse
    from scaffold.plan import build_plan
    from scaffold.render import check_trust

    tset = load_template_set(source, ref)
    check_trust(tset, trust)
    tools = {"hadolint": checkers.find_tool("hadolint"), "docker-compose": checkers.find_compose()}
    where = f"next to {Path(__import__('sys').executable).parent} or on PATH"
    skipped = [
        f"{name} not found ({where}{extra}): {what} skipped"
        for name, what, extra in (
            ("hadolint", "Dockerfile lint", ""),
            ("docker-compose", "compose config", ", nor the docker compose plugin"),
        )
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
                plan = build_plan(layout, tset)
                render(plan, tset, dst, trust=trust, enforce_policy=False)
            except DockergenError as exc:
                add(name, [exc.line()])
                continue
            ensure_secrets(plan.secrets, dst)
            add(name, policy.check_output(dst, tset))
            hadolint = tools["hadolint"]
            dockerfiles = policy._dockerfiles(dst) if hadolint is not None else []
            for dockerfile in dockerfiles:
                key = checkers.file_digest(dockerfile)
                if hadolint is None or key in linted:
                    continue
                linted.add(key)
                shown = dockerfile.relative_to(dst).as_posix()
                add(name, checkers.hadolint(hadolint, dockerfile, shown))
            compose = tools["docker-compose"]
            for file in policy.COMPOSE_FILES:
                if compose and (dst / file).is_file():
                    add(name, checkers.compose_config(compose, dst, file, file))
    return ValidateResult(tset, [n for n, _ in samples], findings, skipped)


def _kind_rows(tset: TemplateSet, *, width: int, title: str) -> list[str]:
    """A header, then one line per kind in the set's category order, with its images as the
    project will reference them: the policy's mirror and digest pins applied."""
    from scaffold.images import ImageResolver

    image = ImageResolver(tset.policy, tset.digests)
    lines = [f"{'KIND':<{width}} {'CATEGORY':<9} {'PORT':>5}  {title}"]
    for category in tset.categories:
        for kind in sorted(tset.kinds_in(category), key=lambda k: k.name):
            refs = {**kind.images, **({"compose": kind.image} if kind.image else {})}
            images = ", ".join(f"{role}={image(ref) or ref}" for role, ref in refs.items())
            lines.append(f"{kind.name:<{width}} {category:<9} {kind.port:>5}  {images}")
    return lines


def describe_template_set(tset: TemplateSet) -> list[str]:
    """`templates show`: origin, kinds with their images as rendered, questions, policy."""
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
    lines += ["", *_kind_rows(tset, width=12, title="IMAGES (as rendered)")]
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


def kinds_table(source: str | None) -> list[str]:
    """`dockergen kinds`: one line per kind, in the set's category order."""
    return _kind_rows(load_template_set(source), width=10, title="IMAGES")


def show_template_set(source: str, ref: str | None = None) -> list[str]:
    """`templates show`."""
    return describe_template_set(load_template_set(source, ref))


def list_template_sets() -> list[str]:
    """`templates list`: the bundled sets and the sets used lately (from the cache)."""
    from scaffold.templatesets.sources import bundled_names, is_git_url, recent

    lines = ["bundled:"]
    for set_name in bundled_names():
        tset = load_template_set(set_name)
        lines.append(f"  {set_name:<16} {tset.version:<10} {tset.manifest.description}")
    entries = recent()
    if not entries:
        lines.append("recently used: none (dockergen new --template FOLDER|GIT-URL)")
        return lines
    lines.append("recently used:")
    for entry in entries:
        at = f" @ {entry['ref']}" if entry.get("ref") else ""
        commit = f" ({str(entry['commit'])[:12]})" if entry.get("commit") else ""
        source = entry["source"]
        # a folder moved or deleted since: still listed, so its name isn't a mystery, but marked
        gone = not is_git_url(source) and not Path(source).is_dir()
        lines.append(
            f"  {entry.get('name', '?'):<16} {entry.get('version', '?'):<10} "
            f"{source}{at}{commit}" + ("  (folder no longer exists)" if gone else "")
        )
    return lines


# --------------------------------------------------------------------- existing projects


def layout_edit(
    *,
    assignments: list[str],
    answers: list[str],
    ask: bool = False,
    digests_file: Path | None = None,
) -> LayoutEdit | None:
    """The change to dockergen.yml that `update --set/--answer/--ask/--digests` asks for."""
    from scaffold import edits

    edit = None
    if ask:
        edit = edits.ask()
    elif assignments or answers:
        edit = edits.set_values(assignments, answers=answers)
    if digests_file is not None:
        from scaffold.images import load_digests_file

        edit = edits.chain(edit, edits.pin_digests(load_digests_file(digests_file)))
    return edit


def add_service_edit(kind: str, name: str | None, port: int | None) -> LayoutEdit:
    from scaffold.edits import add_service

    return add_service(kind, name, port)


def remove_service_edit(name: str) -> LayoutEdit:
    from scaffold.edits import remove_service

    return remove_service(name)


def update_project(project: Path, edit: LayoutEdit | None = None, **options: Any) -> UpdateResult:
    """`update`, `add`, `remove`: re-render and merge (scaffold.update)."""
    from scaffold.update import update_project as run

    return run(project, edit=edit, **options)


def update_report(result: UpdateResult) -> str:
    from scaffold.report import update_report as report

    return report(result)


def project_diff(project: Path, *, trust: bool = False) -> DriftResult:
    from scaffold.update import project_diff as run

    return run(project, trust=trust)


def drift_report(result: DriftResult) -> str:
    from scaffold.report import drift_report as report

    return report(result)


def conflict_line(paths: list[str]) -> str:
    from scaffold.conflicts import conflict_line as line

    return line(paths)


def verify_project(project: Path, **options: Any) -> VerifyResult:
    from scaffold.verify import verify_project as run

    return run(project, **options)


# --------------------------------------------------------------------- check


def check_repository(
    paths: list[Path], *, template: str | None = None, cwd: Path | None = None
) -> CheckResult:
    """`dockergen check`: audit the Dockerfiles, compose files and .dockerignore files under
    `paths` (default: the current folder), suppressions applied (scaffold.check.run)."""
    from scaffold.check.run import run_check

    return run_check(paths, cwd=cwd or Path.cwd(), template=template)


def check_report(
    result: CheckResult, fmt: str, *, fail_on: str, color: bool = False, width: int = 100
) -> str:
    """The check's report as `--format` names it: human, json or sarif."""
    from scaffold.check.run import report, severity

    return report(result, fmt, fail_on=severity(fail_on), color=color, width=width)


def check_failure(result: CheckResult, fail_on: str) -> str | None:
    """The one line saying why the check fails at `--fail-on`, or None when it passes."""
    from scaffold.check.run import severity

    level = severity(fail_on)
    failing = result.failing(level)
    if not failing:
        return None
    return f"{len(failing)} finding(s) at or above --fail-on {level.label}"


def check_summary(result: CheckResult, fail_on: str) -> str:
    from scaffold.check.report_human import summary
    from scaffold.check.run import severity

    return summary(result.audit, severity(fail_on))


# --------------------------------------------------------------------- shell completion


def completion_shells() -> tuple[str, ...]:
    from scaffold.completion import SHELLS

    return SHELLS


def complete_template_sets() -> list[str]:
    from scaffold.completion import template_sets

    return template_sets()


def complete_kinds(template: str | None, flag: str | None) -> list[str]:
    from scaffold.completion import kinds

    return kinds(template, flag)


def complete_project_kinds(project: Path | None) -> list[str]:
    from scaffold.completion import project_kinds

    return project_kinds(project)


def complete_services(project: Path | None) -> list[str]:
    from scaffold.completion import services

    return services(project)


def complete_set_keys(project: Path | None, incomplete: str) -> list[str]:
    from scaffold.completion import set_keys

    return set_keys(project, incomplete)


# --------------------------------------------------------------------- progress


def progress_shown() -> contextlib.AbstractContextManager[None]:
    """Show long work's progress (rich, on stderr) when stdout and stderr are terminals."""
    from scaffold.progress import shown_on_terminal

    return shown_on_terminal()


def progress_is_live() -> bool:
    from scaffold.progress import is_live

    return is_live()
