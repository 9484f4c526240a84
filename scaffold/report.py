"""What the user reads after a command: short, plain and in the order they'll need it."""

from __future__ import annotations

import os
from pathlib import Path

from scaffold.api import NewResult


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except (ValueError, OSError):  # another drive; or the working directory is gone
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def new_report(result: NewResult) -> str:
    layout = result.layout
    lines = [f"Created {layout.project} in {_shown(result.target)} ({len(result.files)} files):"]
    for svc in result.context["services"]:
        where = f"127.0.0.1:{svc['port']}" if svc["published"] else "internal network only"
        built = "Dockerfile, .dockerignore, starter app" if svc["build"] else svc["image"]
        lines.append(f"  {svc['name']:<16} {svc['kind']:<9} {where:<22} {built}")
    if result.secrets:
        lines.append(
            f"Random secrets written to secrets/ ({len(result.secrets)} files, git-ignored)."
        )
    lines += [
        "Next:",
        f"  cd {_shown(result.target)} && docker compose up --build --wait",
        "  edit dockergen.yml, then `dockergen update` to regenerate without losing your edits",
    ]
    return "\n".join(lines)
