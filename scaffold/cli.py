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
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer

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


@app.command()
@handled
def new(
    name: Annotated[str, typer.Argument(help="Directory to create; its name is the project name.")],
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
        str | None, typer.Option("--template", "-t", help="Template set (bundled name or path).")
    ] = None,
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
    from scaffold.templateset import load_template_set

    target = Path(name)
    flags = frontend is not None or bool(backend) or bool(database)
    if sum([defaults, layout_file is not None, flags]) > 1:
        raise UsageError("use only one of --defaults, --layout, or --frontend/--backend/--database")
    if layout_file is not None:
        layout = layouts.load(layout_file)
        data = layout.model_dump(exclude_unset=True)
    else:
        tset = load_template_set(template)
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
        else:
            raise UsageError(
                "no terminal to ask questions on",
                hint="pass --defaults, --layout FILE, or --frontend/--backend/--database",
            )
    if template is not None:
        data["template"] = template
    if no_syntax_line:
        data["options"] = {**data.get("options", {}), "syntax_line": False}
    result = new_project(target, layouts.parse(data), force=force)
    typer.echo(new_report(result))


@app.command()
@handled
def kinds(
    template: Annotated[
        str | None, typer.Option("--template", "-t", help="Template set (bundled name or path).")
    ] = None,
) -> None:
    """List the stacks a template set offers, with category, default port and images."""
    from scaffold.templateset import CATEGORIES, load_template_set

    tset = load_template_set(template)
    typer.echo(f"{'KIND':<10} {'CATEGORY':<9} {'PORT':>5}  IMAGES")
    for category in CATEGORIES:
        for kind in sorted(tset.kinds_in(category), key=lambda k: k.name):
            images = ", ".join(f"{role}={ref}" for role, ref in kind.images.items())
            typer.echo(f"{kind.name:<10} {category:<9} {kind.port:>5}  {images}")


@app.command()
@handled
def verify(
    project: Annotated[Path, typer.Argument(help="Project directory.")] = Path("."),
    clean: Annotated[
        bool, typer.Option("--clean", help="Also remove the volumes (data) afterwards.")
    ] = False,
    keep: Annotated[bool, typer.Option("--keep", help="Leave the stack running.")] = False,
    wait_timeout: Annotated[
        int, typer.Option("--wait-timeout", help="Seconds to wait for healthchecks.")
    ] = 300,
) -> None:
    """Build every image, start the stack, wait for healthchecks, print a table, tear down."""
    from rich.console import Console
    from rich.table import Table

    from scaffold.errors import CheckFailed, UsageError
    from scaffold.verify import verify_project

    if clean and keep:
        raise UsageError("--clean and --keep contradict each other")
    console = Console(stderr=True)
    with console.status("verifying") as status:
        result = verify_project(
            project,
            clean=clean,
            keep=keep,
            wait_timeout=wait_timeout,
            step=lambda msg: (status.update(msg), console.log(msg)),
        )
    table = Table("service", "image", "size", "user", "health")
    for svc in result.services:
        style = "green" if svc.healthy else "red"
        table.add_row(
            svc.service, svc.image, f"{svc.size_mb:.0f} MB", svc.user, f"[{style}]{svc.health}"
        )
    Console().print(table)
    typer.echo(f"stack {result.torn_down}")
    if not result.ok:
        bad = [s.service for s in result.services if not s.healthy]
        raise CheckFailed(result.error or f"not healthy: {', '.join(bad) or 'no services ran'}")
    typer.echo(f"all {len(result.services)} services healthy")


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C outside a command (e.g. during --help paging)
        typer.echo("dockergen: interrupted", err=True)
        sys.exit(130)
