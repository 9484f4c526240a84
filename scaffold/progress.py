"""Progress of long work: library code says what it is doing (`task`), the CLI decides whether it
is shown (`shown_on_terminal`: with rich, on stderr, and only when stdout and stderr are both a
terminal, so output piped or redirected stays as it was).

Nothing is shown unless a caller installed a reporter, so the library and the tests that call
it stay silent.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

# A bar for counted work only from this many items: a small update finishes before it'd be read.
MIN_COUNTED = 20


class _Rich:
    """One rich Progress, started with the first task and stopped (cleared) with the last."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.active = 0

    def start(self, description: str, total: int | None) -> Any:
        task = self.progress.add_task(description, total=total)
        if self.active == 0:
            self.progress.start()  # drawn at once, with the task (quick work is still seen)
        self.active += 1
        return task

    def advance(self, task: Any) -> None:
        self.progress.advance(task)

    def stop(self, task: Any) -> None:
        self.progress.remove_task(task)
        self.active -= 1
        if self.active == 0:
            self.progress.stop()


_reporter: ContextVar[_Rich | None] = ContextVar("dockergen_progress", default=None)


@contextlib.contextmanager
def task(description: str, total: int | None = None) -> Iterator[Callable[[], None]]:
    """Work under way: shown (with a bar when `total` items are counted) while the block runs;
    the block calls the function it gets after each item."""
    reporter = _reporter.get()
    if reporter is None or (total is not None and total < MIN_COUNTED):
        yield lambda: None
        return
    handle = reporter.start(description, total)
    try:
        yield lambda: reporter.advance(handle)
    finally:
        reporter.stop(handle)


def each(items: Sequence[T], description: str) -> Iterator[T]:
    """`items`, one by one, counted on a bar while the loop runs (when there are many)."""
    with task(description, total=len(items)) as advance:
        for item in items:
            yield item
            advance()


def is_live() -> bool:
    """Both stdout and stderr are a terminal (rich's test: TTY_COMPATIBLE=1/0 forces it)."""
    # rich's answer without importing rich (20-40 ms): with neither variable set it is the
    # streams' isatty(), and a stream that isn't one is never a terminal to rich either.
    forced = "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ
    if not forced and not (_isatty(sys.stdout) and _isatty(sys.stderr)):
        return False
    from rich.console import Console

    return Console().is_terminal and Console(stderr=True).is_terminal


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no such method, or a closed stream: as rich says
        return False


@contextlib.contextmanager
def shown_on_terminal() -> Iterator[None]:
    """Show the tasks started inside the block, when `is_live`."""
    if not is_live():
        yield
        return
    token = _reporter.set(_Rich())
    try:
        yield
    finally:
        _reporter.reset(token)
