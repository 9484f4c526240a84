"""Runtime secrets: random values generated once into the project's git-ignored secrets/.

They never pass through copier, the pristine copy or a diff, and an existing file is never
overwritten, so regenerating a project can't rotate or leak a password.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scaffold.plan import Secret

SECRETS_DIR = "secrets"


def ensure_secrets(
    wanted: Iterable[Secret], project: Path, *, existing: Path | None = None
) -> list[str]:
    """Create the missing secret files; return the ones created (relative paths).

    `existing` is the real project when `project` is a staging copy: a secret already there is
    kept, never replaced.
    """
    created: list[str] = []
    directory = project / SECRETS_DIR
    for secret in wanted:
        path = project / secret.file
        if path.exists() or (existing is not None and (existing / secret.file).exists()):
            continue
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        # Bind-mounted into containers that run as their own uid: the file must be readable
        # there; the 0700 directory keeps other users of this machine out.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(24))
        created.append(secret.file)
    return created
