"""The command line: a thin typer layer over scaffold.api.

Heavy imports (copier, pydantic models) happen inside commands so `--help` stays fast. Every
DockergenError becomes one line on stderr and its exit code; nothing else reaches the user as a
traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from scaffold.edits import LayoutEdit

from scaffold import __version__

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="dockergen",
    help="Scaffold secure multi-service Docker projects and keep them up to date.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dockergen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Scaffold secure multi-service Docker projects and keep them up to date."""


def _fail(line: str, code: int) -> NoReturn:
    typer.echo(f"dockergen: {line}", err=True)
    raise typer.Exit(code)


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors and Ctrl-C into one line and an exit code, inside click's context."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from scaffold.errors import DockergenError

        try:
            return func(*args, **kwargs)
        except DockergenError as exc:
            _fail(exc.line(), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was written", 130)

    return wrapper


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


DigestsOption = Annotated[
    Path | None,
    typer.Option(
        "--digests",
        help="YAML map image:tag -> sha256:... to pin images by digest (kept in dockergen.yml).",
    ),
]


def _new_name(name: str | None, project: str | None, layout_file: Path) -> tuple[str, str | None]:
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


@app.command()
@handled
def new(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Directory to create; its name is the project name (over a layout's "
            "'project:'). With --layout it may be left out: the layout's 'project:' names both.",
            show_default=False,
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Don't ask: react + fastapi + postgres.")
    ] = False,
    layout_file: Annotated[
        Path | None,
        typer.Option("--layout", "-l", help="Read the layout from a dockergen.yml-shaped file."),
    ] = None,
    frontend: Annotated[
        str | None, typer.Option("--frontend", help="Frontend kind (react, static or none).")
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option("--backend", "-b", help="Backend KIND or KIND:NAME; repeatable."),
    ] = None,
    database: Annotated[
        list[str] | None,
        typer.Option("--database", "-d", help="Database KIND or KIND:NAME; repeatable."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Template set: a bundled name, a folder, or a git URL (URL@REF picks a version).",
        ),
    ] = None,
    template_ref: Annotated[
        str | None,
        typer.Option("--template-ref", help="Tag, branch or commit of a git template set."),
    ] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--answer",
            "-a",
            help="Answer one of the template set's own questions; repeatable.",
            metavar="KEY=VALUE",
        ),
    ] = None,
    digests_file: DigestsOption = None,
    trust: Annotated[
        bool,
        typer.Option(
            "--trust", help="Let a template set from a path or URL run code (copier tasks)."
        ),
    ] = False,
    no_syntax_line: Annotated[
        bool,
        typer.Option(
            "--no-syntax-line", help="Omit '# syntax=' from Dockerfiles (air-gapped builds)."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into an existing non-empty directory.")
    ] = False,
) -> None:
    """Create a new project: ask about its services, or take them from flags or a layout file."""
    from scaffold import layout as layouts
    from scaffold.api import new_project
    from scaffold.errors import UsageError
    from scaffold.report import new_report
    from scaffold.templatesets.loader import load_template_set
    from scaffold.templatesets.sources import rebase

    if name is None and layout_file is None:
        raise UsageError(
            "give the project's directory (dockergen new NAME)",
            hint="only with --layout FILE may NAME be left out: the layout's 'project:' names it",
        )
    answers: dict[str, str] = {}
    for item in answer or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--answer {item!r}: use KEY=VALUE")
        answers[key.strip()] = value
    flags = frontend is not None or bool(backend) or bool(database)
    if sum([defaults, layout_file is not None, flags]) > 1:
        raise UsageError("use only one of --defaults, --layout, or --frontend/--backend/--database")
    origin = None
    if layout_file is not None:
        layout = layouts.load(layout_file)
        data = layout.model_dump(exclude_unset=True)
        name, origin = _new_name(name, layout.project, layout_file)
        data.pop("project", None)  # the directory's name is the project's, as without --layout
    assert name is not None  # checked above: only --layout may leave it out
    target = Path(name)
    if layout_file is not None:
        if "template" in data:  # a set folder relative to the layout file, as in dockergen.yml
            data["template"] = rebase(
                data["template"], layout_file.absolute().parent, target.absolute()
            )
    else:
        tset = load_template_set(template, template_ref)
        if defaults:
            data = layouts.from_choices(
                frontend="react", backends=["fastapi"], databases=["postgres"], tset=tset
            )
        elif flags:
            data = layouts.from_choices(
                frontend=None if frontend in (None, "none") else frontend,
                backends=backend or [],
                databases=database or [],
                tset=tset,
            )
        elif _stdin_is_tty():
            from scaffold.interview import interview

            data = interview(tset, target.absolute().name)
            if tset.questions:
                from scaffold.templatesets.prompts import ask_answers

                answers = ask_answers(tset, answers)
        else:
            raise UsageError(
                "no terminal to ask questions on",
                hint="pass --defaults, --layout FILE, or --frontend/--backend/--database",
            )
    if template is not None:
        data["template"] = rebase(template, Path.cwd(), target.absolute())
    if template_ref is not None:
        data["template_ref"] = template_ref
    if answers:
        data["answers"] = {**data.get("answers", {}), **answers}
    if no_syntax_line:
        data["options"] = {**data.get("options", {}), "syntax_line": False}
    digests = None
    if digests_file is not None:
        from scaffold.images import load_digests_file

        digests = load_digests_file(digests_file)
    result = new_project(target, layouts.parse(data), force=force, trust=trust, digests=digests)
    typer.echo(new_report(result, origin=origin))


@app.command()
@handled
def kinds(
    template: Annotated[
        str | None, typer.Option("--template", "-t", help="Template set (bundled name or path).")
    ] = None,
) -> None:
    """List the stacks a template set offers, with category, default port and images."""
    from scaffold.templatesets.loader import load_template_set
    from scaffold.templatesets.manifest import CATEGORIES

    tset = load_template_set(template)
    typer.echo(f"{'KIND':<10} {'CATEGORY':<9} {'PORT':>5}  IMAGES")
    for category in CATEGORIES:
        for kind in sorted(tset.kinds_in(category), key=lambda k: k.name):
            images = ", ".join(f"{role}={ref}" for role, ref in kind.images.items())
            typer.echo(f"{kind.name:<10} {category:<9} {kind.port:>5}  {images}")


@app.command()
@handled
def verify(
    project: Annotated[
        Path | None,
        typer.Argument(help="Project directory (default: the one the current folder is in)."),
    ] = None,
    clean: Annotated[
        bool,
        typer.Option("--clean", hidden=True, help="No effect: verify always removes its volumes."),
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="Leave verify's stack running (it says how to stop it).")
    ] = False,
    wait_timeout: Annotated[
        int, typer.Option("--wait-timeout", help="Seconds to wait for healthchecks.")
    ] = 300,
) -> None:
    """Build and start a copy of the stack under its own name (no host ports, its own volumes),
    wait for healthchecks, print a table, remove the copy. Your running stack is not touched."""
    import contextlib

    from rich.console import Console
    from rich.table import Table

    from scaffold.errors import CheckFailed, UsageError
    from scaffold.verify import verify_project

    if clean and keep:
        raise UsageError("--clean and --keep contradict each other")
    # Progress only on a terminal, and without rich's source location (`cli.py:264`).
    console = Console(stderr=True, log_path=False)
    live = console.is_terminal
    with console.status("verifying") if live else contextlib.nullcontext() as status:

        def step(msg: str) -> None:
            if status is not None:
                status.update(msg)
                console.log(msg)

        def warn(msg: str) -> None:
            console.print(
                f"dockergen: warning: {msg}", markup=False, highlight=False, soft_wrap=True
            )

        result = verify_project(
            _project(project, None), keep=keep, wait_timeout=wait_timeout, step=step, warn=warn
        )
    table = Table("service", "image", "size", "user", "health")
    for svc in result.services:
        style = "green" if svc.healthy else "red"
        table.add_row(
            svc.service, svc.image, f"{svc.size_mb:.0f} MB", svc.user, f"[{style}]{svc.health}"
        )
    Console().print(table)
    for svc in result.services:
        if not svc.healthy and svc.logs:
            typer.echo(f"--- {svc.service} ({svc.health}): last {len(svc.logs)} log lines")
            typer.echo("\n".join(svc.logs))
        elif not svc.healthy:
            typer.echo(f"--- {svc.service} ({svc.health}): no log output")
    typer.echo(f"verify stack {result.torn_down}")
    if not result.ok:
        bad = [s.service for s in result.services if not s.healthy]
        raise CheckFailed(result.error or f"not healthy: {', '.join(bad) or 'no services ran'}")
    typer.echo(f"all {len(result.services)} services healthy")


ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project", "-p", help="The project directory (default: the one the current folder is in)."
    ),
]
ProjectArgument = Annotated[
    Path | None,
    typer.Argument(help="The project directory (default: the one the current folder is in)."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print the diff and the conflicts; write nothing.")
]
UpdateTrustOption = Annotated[
    bool, typer.Option("--trust", help="Let a template set from a path or URL run code.")
]


def _warn(lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"dockergen: {line}", err=True)


def _project(argument: Path | None, option: Path | None) -> Path:
    """The project directory from an argument or --project (not two different ones); without
    either, the project the current folder is in (looking upward, as git does)."""
    from scaffold.errors import UsageError
    from scaffold.state import find_root

    if argument is not None and option is not None and argument != option:
        raise UsageError("give the project directory once, as an argument or with --project")
    return argument or option or find_root(Path.cwd()) or Path.cwd()


def _run_update(project: Path, edit: LayoutEdit | None, **options: Any) -> None:
    """The shared end of update, add and remove: apply, warn, report, exit 1 on conflicts."""
    from scaffold.report import update_report
    from scaffold.update import update_project

    result = update_project(project, edit=edit, **options)
    _warn(result.warnings)
    typer.echo(update_report(result))
    result.raise_for_conflicts()


@app.command()
@handled
def update(
    directory: ProjectArgument = None,
    project: ProjectOption = None,
    ask: Annotated[
        bool, typer.Option("--ask", help="Ask about the services again, answers prefilled.")
    ] = False,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change dockergen.yml: services.NAME.publish=8001 (the host port on "
            "127.0.0.1, or false: docker-compose.yml changes, no Dockerfile does), "
            "services.NAME.port=8001 (the port inside the container: its Dockerfile changes "
            "too), services.NAME.name=NEW "
            "(rename), options.syntax_line=false, answers.NAME=V, template=PATH; an empty "
            "VALUE means the default. Repeatable.",
            metavar="KEY=VALUE",
        ),
    ] = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--answer", "-a", help="Answer a template set question; repeatable.", metavar="K=V"
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", "-t", help="Switch template set (same as --set template=)."),
    ] = None,
    template_ref: Annotated[
        str | None,
        typer.Option("--template-ref", help="Move a git template set to this tag or commit."),
    ] = None,
    digests_file: DigestsOption = None,
    dry_run: DryRunOption = False,
    restore: Annotated[
        bool, typer.Option("--restore", help="Bring back generated files you deleted.")
    ] = False,
    trust: UpdateTrustOption = False,
) -> None:
    """Regenerate from dockergen.yml (and a newer template set), keeping your edits.

    Exit 1 when a file has conflicts (they are marked in the file and listed).
    """
    from scaffold.edits import ask as ask_edit
    from scaffold.edits import chain, pin_digests, set_values
    from scaffold.errors import UsageError

    root = _project(directory, project)
    assignments = list(assignments or [])
    assignments += [f"template={template}"] if template is not None else []
    assignments += [f"template_ref={template_ref}"] if template_ref is not None else []
    edit = None
    if ask:
        if assignments or answer:
            raise UsageError("use --ask, or --set/--answer/--template, not both")
        if not _stdin_is_tty():
            raise UsageError("no terminal to ask questions on", hint="use --set KEY=VALUE")
        edit = ask_edit()
    elif assignments or answer:
        edit = set_values(assignments, answers=answer or [])
    if digests_file is not None:
        from scaffold.images import load_digests_file

        edit = chain(edit, pin_digests(load_digests_file(digests_file)))
    _run_update(root, edit, dry_run=dry_run, restore=restore, trust=trust)


@app.command()
@handled
def add(
    kind: Annotated[str, typer.Argument(help="A kind of the project's template set.")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Service name (default: the kind's default name, numbered when a service "
            "already has it: api, then api-2, api-3...).",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            help="Port it listens on inside its container, also published on 127.0.0.1 "
            "(default: the kind's; `update --set services.NAME.publish=` moves the host port).",
        ),
    ] = None,
    project: ProjectOption = None,
    dry_run: DryRunOption = False,
    trust: UpdateTrustOption = False,
) -> None:
    """Add a service to dockergen.yml and update (a database is wired to every backend)."""
    from scaffold.edits import add_service

    edit = add_service(kind, name, port)
    _run_update(_project(None, project), edit, dry_run=dry_run, trust=trust)


@app.command()
@handled
def remove(
    name: Annotated[str, typer.Argument(help="The service to remove.")],
    project: ProjectOption = None,
    dry_run: DryRunOption = False,
    trust: UpdateTrustOption = False,
) -> None:
    """Remove a service from dockergen.yml and update; files you edited are kept."""
    from scaffold.edits import remove_service

    _run_update(_project(None, project), remove_service(name), dry_run=dry_run, trust=trust)


@app.command()
@handled
def diff(
    directory: ProjectArgument = None,
    project: ProjectOption = None,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code",
            help="Exit 1 when an update is pending or a conflict is unresolved (for CI).",
        ),
    ] = False,
    trust: UpdateTrustOption = False,
) -> None:
    """Show what `dockergen update` would regenerate: dockergen.yml or the set changed since."""
    from scaffold.conflicts import conflict_line
    from scaffold.errors import CheckFailed, ConflictError
    from scaffold.report import drift_report
    from scaffold.update import project_diff

    result = project_diff(_project(directory, project), trust=trust)
    _warn(result.warnings)
    typer.echo(drift_report(result))
    if exit_code and result.conflicts:
        raise ConflictError(conflict_line(result.conflicts))
    if exit_code and result.pending:
        raise CheckFailed(f"an update is pending ({len(result.status)} file(s) would change)")


templates_app = typer.Typer(
    name="templates",
    help="Template sets: list the known ones, show one, validate one.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(templates_app, name="templates")

TemplateRefOption = Annotated[
    str | None,
    typer.Option("--template-ref", "--ref", help="Tag, branch or commit of a git template set."),
]


@templates_app.command("list")
@handled
def templates_list() -> None:
    """The bundled sets and the sets used lately (from the cache), with their versions."""
    from scaffold.templatesets.loader import load_template_set
    from scaffold.templatesets.sources import bundled_names, recent

    typer.echo("bundled:")
    for set_name in bundled_names():
        tset = load_template_set(set_name)
        typer.echo(f"  {set_name:<16} {tset.version:<10} {tset.manifest.description}")
    entries = recent()
    if not entries:
        typer.echo("recently used: none (dockergen new --template FOLDER|GIT-URL)")
        return
    typer.echo("recently used:")
    for entry in entries:
        at = f" @ {entry['ref']}" if entry.get("ref") else ""
        commit = f" ({str(entry['commit'])[:12]})" if entry.get("commit") else ""
        typer.echo(
            f"  {entry.get('name', '?'):<16} {entry.get('version', '?'):<10} "
            f"{entry['source']}{at}{commit}"
        )


@templates_app.command("show")
@handled
def templates_show(
    source: Annotated[str, typer.Argument(help="Bundled name, folder or git URL[@REF].")],
    template_ref: TemplateRefOption = None,
) -> None:
    """A set's origin, kinds (images as rendered), questions and policy."""
    from scaffold.api import describe_template_set
    from scaffold.templatesets.loader import load_template_set

    typer.echo("\n".join(describe_template_set(load_template_set(source, template_ref))))


@templates_app.command("validate")
@handled
def templates_validate(
    source: Annotated[str, typer.Argument(help="Bundled name, folder or git URL[@REF].")],
    template_ref: TemplateRefOption = None,
    trust: Annotated[
        bool, typer.Option("--trust", help="Let the set run code (copier tasks) while rendering.")
    ] = False,
) -> None:
    """Render layouts covering every kind and check them (policy, hadolint, compose config).

    Exit 1 with one finding per line; a checker that isn't installed is skipped, with a note.
    """
    from scaffold.api import validate_template_set
    from scaffold.errors import CheckFailed

    result = validate_template_set(source, template_ref, trust=trust)
    for note in result.skipped:
        typer.echo(f"dockergen: {note}", err=True)
    for finding in result.findings:
        typer.echo(finding)
    what = f"template set {result.tset.name} {result.tset.version}"
    samples = f"{len(result.samples)} sample layout(s)"
    if result.findings:
        raise CheckFailed(f"{what}: {len(result.findings)} finding(s) in {samples}")
    typer.echo(f"{what}: {samples} rendered, no findings")


def _is_click_error(exc: Exception) -> bool:
    """Click's ClickException, recognised by its documented interface (`format_message`,
    `exit_code`), not by import path: typer vendors click in recent releases (as a private
    module) and depends on the click package in older ones, and both are in our range."""
    return callable(getattr(exc, "format_message", None)) and isinstance(
        getattr(exc, "exit_code", None), int
    )


def main() -> None:
    """Console entry point."""
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("dockergen: aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C outside a command (e.g. during --help paging)
        typer.echo("dockergen: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if not _is_click_error(exc):
            raise
        exit_code = getattr(exc, "exit_code", 2)
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `dockergen`: the help, as click
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exit_code)
        # usage errors: one line, like every other error
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
        typer.echo(f"dockergen: {message}{hint}", err=True)
        sys.exit(exit_code)
    sys.exit(code if isinstance(code, int) else 0)
