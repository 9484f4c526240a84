"""The command line: a thin typer layer over scaffold.api.

Heavy imports (copier, pydantic models) happen inside commands so `--help` stays fast. Every
DockergenError becomes one line on stderr and its exit code; nothing else reaches the user as a
traceback.
"""

from __future__ import annotations

import enum
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from scaffold.api import LayoutEdit

from scaffold import __version__

P = ParamSpec("P")
R = TypeVar("R")

# ------------------------------------------------------------ completion (scaffold.completion)


def _starting(candidates: list[str], incomplete: str) -> list[str]:
    return [c for c in candidates if c.startswith(incomplete)]


def _path_param(ctx: typer.Context, *names: str) -> Path | None:
    for name in names:
        value = ctx.params.get(name)
        if value:
            return Path(value)
    return None


def _complete_sets(incomplete: str) -> list[str]:
    from scaffold.api import complete_template_sets

    return _starting(complete_template_sets(), incomplete)


def _complete_kinds(flag: str | None, extra: tuple[str, ...] = ()) -> Callable[..., list[str]]:
    """KIND (or KIND:NAME, completing the KIND) of a `new` flag's category, from the -t set."""

    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        from scaffold.api import complete_kinds

        if ":" in incomplete:
            return []
        return _starting([*complete_kinds(ctx.params.get("template"), flag), *extra], incomplete)

    return complete


def _complete_project_kinds(ctx: typer.Context, incomplete: str) -> list[str]:
    from scaffold.api import complete_project_kinds

    return _starting(complete_project_kinds(_path_param(ctx, "project")), incomplete)


def _complete_services(ctx: typer.Context, incomplete: str) -> list[str]:
    from scaffold.api import complete_services

    return _starting(complete_services(_path_param(ctx, "project")), incomplete)


def _complete_set_keys(ctx: typer.Context, incomplete: str) -> list[str]:
    from scaffold.api import complete_set_keys

    project = _path_param(ctx, "directory", "project")
    return _starting(complete_set_keys(project, incomplete), incomplete)


def _completion_option(install: bool) -> Callable[[typer.Context, str | None], None]:
    """`--install-completion [SHELL]`, `--show-completion [SHELL]`: typer's own, but taking the
    shell named (typer's flags detect the running shell only, so zsh users got bash's)."""

    def callback(ctx: typer.Context, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        from typer import completion

        from scaffold.api import completion_shells
        from scaffold.errors import UsageError

        shells = completion_shells()
        if value and value not in shells:
            option = "--install-completion" if install else "--show-completion"
            _fail(UsageError(f"{option} {value}: use one of {', '.join(shells)}").line(), 2)
        completion.get_completion_inspect_parameters()  # registers typer's shell classes
        run = completion.install_callback if install else completion.show_callback
        run(ctx, None, value or True)  # type: ignore[arg-type]

    return callback


app = typer.Typer(
    name="dockergen",
    add_completion=False,  # its own --install-completion/--show-completion, taking a shell
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
    install_completion: Annotated[
        str | None,
        typer.Option(
            "--install-completion",
            metavar="[SHELL]",
            callback=_completion_option(install=True),
            is_eager=True,
            expose_value=False,
            help="Install completion for SHELL (bash, zsh, fish, powershell; default: the "
            "current shell).",
        ),
    ] = None,
    show_completion: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="[SHELL]",
            callback=_completion_option(install=False),
            is_eager=True,
            expose_value=False,
            help="Show the completion script for SHELL (default: the current shell).",
        ),
    ] = None,
) -> None:
    """Scaffold secure multi-service Docker projects and keep them up to date."""


def _fail(line: str, code: int) -> NoReturn:
    typer.echo(f"dockergen: {line}", err=True)
    raise typer.Exit(code)


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors and Ctrl-C into one line and an exit code, inside click's context."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from scaffold.api import progress_shown
        from scaffold.errors import DockergenError

        try:
            with progress_shown():  # long work (a git fetch, a merge) on a terminal only
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


# the options `new` and `init` share
SetOption = Annotated[
    str | None,
    typer.Option(
        "--template",
        "-t",
        help="Template set: a bundled name, a folder, or a git URL (URL@REF picks a version).",
        autocompletion=_complete_sets,
    ),
]

SetRefOption = Annotated[
    str | None,
    typer.Option("--template-ref", help="Tag, branch or commit of a git template set."),
]

TrustOption = Annotated[
    bool,
    typer.Option("--trust", help="Let a template set from a path or URL run code (copier tasks)."),
]

NoSyntaxLineOption = Annotated[
    bool,
    typer.Option("--no-syntax-line", help="Omit '# syntax=' from Dockerfiles (air-gapped builds)."),
]


DigestsOption = Annotated[
    Path | None,
    typer.Option(
        "--digests",
        help="YAML map image:tag -> sha256:... to pin images by digest (kept in dockergen.yml).",
    ),
]


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
        bool,
        typer.Option(
            "--defaults", help="Don't ask: the set's defaults (react, fastapi, postgres)."
        ),
    ] = False,
    layout_file: Annotated[
        Path | None,
        typer.Option("--layout", "-l", help="Read the layout from a dockergen.yml-shaped file."),
    ] = None,
    frontend: Annotated[
        str | None,
        typer.Option(
            "--frontend",
            help="Frontend kind (react, static or none).",
            autocompletion=_complete_kinds("frontend", ("none",)),
        ),
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            "--backend",
            "-b",
            help="Backend KIND or KIND:NAME; repeatable.",
            autocompletion=_complete_kinds("backend"),
        ),
    ] = None,
    database: Annotated[
        list[str] | None,
        typer.Option(
            "--database",
            "-d",
            help="Database KIND or KIND:NAME; repeatable.",
            autocompletion=_complete_kinds("database"),
        ),
    ] = None,
    service: Annotated[
        list[str] | None,
        typer.Option(
            "--service",
            "-s",
            help="A KIND or KIND:NAME of any category of the set (a broker, a worker...); "
            "repeatable.",
            autocompletion=_complete_kinds(None),
        ),
    ] = None,
    template: SetOption = None,
    template_ref: SetRefOption = None,
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
    trust: TrustOption = False,
    no_syntax_line: NoSyntaxLineOption = False,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="Also deploy to swarm (deploy/swarm/stack.yml) or kubernetes "
            "(deploy/kubernetes/); repeatable. compose is always included.",
            metavar="TARGET",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into an existing non-empty directory.")
    ] = False,
) -> None:
    """Create a new project: ask about its services, or take them from flags or a layout file."""
    from scaffold.api import NewRequest, create_project, new_report

    choices: list[tuple[str | None, str]] = []
    if frontend is not None and frontend != "none":
        choices.append(("frontend", frontend))
    choices += [("backend", spec) for spec in backend or []]
    choices += [("database", spec) for spec in database or []]
    choices += [(None, spec) for spec in service or []]
    request = NewRequest(
        name=name,
        layout_file=layout_file,
        defaults=defaults,
        choices=tuple(choices),
        template=template,
        template_ref=template_ref,
        answers=tuple(answer or []),
        syntax_line=not no_syntax_line,
        digests_file=digests_file,
        interactive=_stdin_is_tty(),
        targets=tuple(target or []),
    )
    result = create_project(request, force=force, trust=trust)
    typer.echo(new_report(result))


@app.command()
@handled
def init(
    directory: Annotated[
        Path,
        typer.Argument(help="The repository to bring under dockergen (default: here)."),
    ] = Path("."),
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Accept what detection finds, without the review."),
    ] = False,
    layout_file: Annotated[
        Path | None,
        typer.Option("--layout", "-l", help="Take the layout from a file; no detection."),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Write dockergen's Dockerfile, .dockerignore, compose file and README over "
            "the repository's own (kept under .dockergen/replaced/); default: beside them.",
        ),
    ] = False,
    template: SetOption = None,
    template_ref: SetRefOption = None,
    trust: TrustOption = False,
    no_syntax_line: NoSyntaxLineOption = False,
) -> None:
    """Bring an existing repository under dockergen: detect its services, review them, and
    write the Docker files around its code (never over a file of yours)."""
    from scaffold.api import InitRequest, init_project, init_report

    request = InitRequest(
        directory=directory,
        layout_file=layout_file,
        template=template,
        template_ref=template_ref,
        yes=yes,
        interactive=_stdin_is_tty(),
        replace=replace,
        syntax_line=not no_syntax_line,
    )
    result = init_project(request, trust=trust)
    typer.echo(init_report(result))


@app.command()
@handled
def kinds(
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Template set (bundled name or path).",
            autocompletion=_complete_sets,
        ),
    ] = None,
) -> None:
    """List the stacks a template set offers, with category, default port and images."""
    from scaffold.api import kinds_table

    typer.echo("\n".join(kinds_table(template)))


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

    from scaffold.api import verify_project
    from scaffold.errors import CheckFailed, UsageError

    if clean and keep:
        raise UsageError("--clean and --keep contradict each other")
    from scaffold.api import progress_is_live

    # Progress only on a terminal, and without rich's source location (`cli.py:264`).
    console = Console(stderr=True, log_path=False)
    live = progress_is_live()  # stdout too: `verify > report.txt` shows no spinner
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
    from scaffold.api import find_root
    from scaffold.errors import UsageError

    if argument is not None and option is not None and argument != option:
        raise UsageError("give the project directory once, as an argument or with --project")
    return argument or option or find_root(Path.cwd()) or Path.cwd()


def _run_update(project: Path, edit: LayoutEdit | None, **options: Any) -> None:
    """The shared end of update, add and remove: apply, warn, report, exit 1 on conflicts."""
    from scaffold.api import update_project, update_report

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
            "(rename), services.NAME.uses=DB,DB (the databases a backend uses; empty: all), "
            "options.syntax_line=false, answers.NAME=V, template=PATH; an empty "
            "VALUE means the default. Repeatable.",
            metavar="KEY=VALUE",
            autocompletion=_complete_set_keys,
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
        typer.Option(
            "--template",
            "-t",
            help="Switch template set (same as --set template=).",
            autocompletion=_complete_sets,
        ),
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
    from scaffold.api import layout_edit
    from scaffold.errors import UsageError

    root = _project(directory, project)
    assignments = list(assignments or [])
    assignments += [f"template={template}"] if template is not None else []
    assignments += [f"template_ref={template_ref}"] if template_ref is not None else []
    if ask:
        if assignments or answer:
            raise UsageError("use --ask, or --set/--answer/--template, not both")
        if not _stdin_is_tty():
            raise UsageError("no terminal to ask questions on", hint="use --set KEY=VALUE")
    edit = layout_edit(
        assignments=assignments, answers=answer or [], ask=ask, digests_file=digests_file
    )
    _run_update(root, edit, dry_run=dry_run, restore=restore, trust=trust)


@app.command()
@handled
def add(
    kind: Annotated[
        str,
        typer.Argument(
            help="A kind of the project's template set.", autocompletion=_complete_project_kinds
        ),
    ],
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
            help="Port it listens on inside its container, also published on 127.0.0.1 unless "
            "a frontend proxies to it (default: the kind's; `update --set "
            "services.NAME.publish=` sets the host port).",
        ),
    ] = None,
    project: ProjectOption = None,
    dry_run: DryRunOption = False,
    trust: UpdateTrustOption = False,
) -> None:
    """Add a service to dockergen.yml and update (a database is wired to every backend
    without a `uses` list)."""
    from scaffold.api import add_service_edit

    edit = add_service_edit(kind, name, port)
    _run_update(_project(None, project), edit, dry_run=dry_run, trust=trust)


@app.command()
@handled
def remove(
    name: Annotated[
        str, typer.Argument(help="The service to remove.", autocompletion=_complete_services)
    ],
    project: ProjectOption = None,
    dry_run: DryRunOption = False,
    trust: UpdateTrustOption = False,
) -> None:
    """Remove a service from dockergen.yml and update; files you edited are kept."""
    from scaffold.api import remove_service_edit

    edit = remove_service_edit(name)
    _run_update(_project(None, project), edit, dry_run=dry_run, trust=trust)


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
    from scaffold.api import conflict_line, drift_report, project_diff
    from scaffold.errors import CheckFailed, ConflictError

    result = project_diff(_project(directory, project), trust=trust)
    _warn(result.warnings)
    typer.echo(drift_report(result))
    if exit_code and result.conflicts:
        raise ConflictError(conflict_line(result.conflicts))
    if exit_code and result.pending:
        raise CheckFailed(f"an update is pending ({len(result.status)} file(s) would change)")


class CheckFormat(enum.StrEnum):
    human = "human"
    json = "json"
    sarif = "sarif"


class FailOn(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


@app.command()
@handled
def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders to check (default: the current folder).", show_default=False
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help="Also apply this template set's policy (allowed registries, mirror, labels, "
            "digest pins). Default: in a dockergen project its own set and policy; elsewhere "
            "the bundled set, without a policy.",
            autocompletion=_complete_sets,
        ),
    ] = None,
    fmt: Annotated[
        CheckFormat,
        typer.Option(
            "--format", "-f", help="human (a table per file), json or sarif (SARIF 2.1.0)."
        ),
    ] = CheckFormat.human,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding at or above this severity remains (not suppressed).",
        ),
    ] = FailOn.low,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the report to this file (the summary still shows)."
        ),
    ] = None,
) -> None:
    """Audit Dockerfiles, compose files and .dockerignore files against dockergen's rules
    (docs/rules.md), in any repository.

    Exit 1 when a finding at or above --fail-on remains, 0 otherwise, 2 for bad usage.
    Accept a finding with `# dockergen: ignore DG201 -- reason` or dockergen.yml's check.ignore.
    """
    import shutil

    from scaffold.api import check_failure, check_report, check_repository, check_summary
    from scaffold.errors import CheckFailed, UsageError

    result = check_repository(list(paths or []), template=template)
    if output is not None:
        text = check_report(result, fmt.value, fail_on=fail_on.value)
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--output {output}: can't write it ({exc.strerror or exc})") from None
        typer.echo(f"{check_summary(result, fail_on.value)}; report written to {output}")
    else:
        tty = sys.stdout.isatty()
        color = tty and not os.environ.get("NO_COLOR")  # https://no-color.org
        width = shutil.get_terminal_size((100, 24)).columns  # $COLUMNS, the terminal, or 100
        typer.echo(
            check_report(result, fmt.value, fail_on=fail_on.value, color=color, width=width),
            nl=False,
        )
    failure = check_failure(result, fail_on.value)
    if failure is not None:
        raise CheckFailed(failure)


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
    from scaffold.api import list_template_sets

    typer.echo("\n".join(list_template_sets()))


@templates_app.command("show")
@handled
def templates_show(
    source: Annotated[
        str,
        typer.Argument(
            help="Bundled name, folder or git URL[@REF].", autocompletion=_complete_sets
        ),
    ],
    template_ref: TemplateRefOption = None,
) -> None:
    """A set's origin, kinds (images as rendered), questions and policy."""
    from scaffold.api import show_template_set

    typer.echo("\n".join(show_template_set(source, template_ref)))


@templates_app.command("validate")
@handled
def templates_validate(
    source: Annotated[
        str,
        typer.Argument(
            help="Bundled name, folder or git URL[@REF].", autocompletion=_complete_sets
        ),
    ],
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
    `exit_code`), not by import path: typer (0.26 and later, our range) vendors click as a
    private module, which is no API to import from."""
    return callable(getattr(exc, "format_message", None)) and isinstance(
        getattr(exc, "exit_code", None), int
    )


def _shell_optional(args: list[str]) -> list[str]:
    """`--install-completion`/`--show-completion` without a SHELL mean the current shell (as
    typer's own flags did): given an empty value here, as click has no optional values."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg in ("--install-completion", "--show-completion") and (
            i + 1 == len(args) or args[i + 1].startswith("-")
        ):
            out.append("")
    return out


def main() -> None:
    """Console entry point."""
    # dockergen's pydantic models are its own: no pydantic plugin (an observability hook found
    # through the entry points of every installed distribution) has anything to see in them, and
    # that scan, on the first model, cost 30-100 ms of every command but --help. typer does the
    # same for the adapters it builds. A value the user set is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ.get("_DOCKERGEN_COMPLETE"):  # a shell asks for completions
        from typer import completion

        # registers typer's shell classes, the protocol of the scripts it installs
        completion.get_completion_inspect_parameters()
    try:
        code = app(args=_shell_optional(sys.argv[1:]), standalone_mode=False)
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
