"""A .dockerignore as Docker reads it: its patterns, and docker-py's PatternMatcher (Docker's
own matching, in Python) over them. Shared by `check` (which files a build context sends) and
`init` (whether the repository's own file keeps dockergen's secrets/ out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def patterns(path: Path) -> list[str]:
    """The patterns of a .dockerignore, as Docker reads them: comments and blank lines out. An
    unreadable or missing file has none."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def matcher(patterns: list[str]) -> Any:
    """Docker's matching of `patterns` (imported here, only when a command matches)."""
    from docker.utils.build import PatternMatcher  # type: ignore[import-untyped]

    return PatternMatcher(patterns)
