"""Readiness checks: log in to every database named in $DATABASES.

docker-compose.yml describes each database `<name>` with variables prefixed by the name in
upper case ('-' becomes '_'): <P>_KIND, <P>_HOST, <P>_PORT, <P>_USER, <P>_DATABASE and
<P>_PASSWORD_FILE (a mounted secret file; the password itself is never in the environment).
Drivers are imported only for the kinds in use: requirements.txt lists only those.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

# Each check gives up after this many seconds (connect and each read/write).
TIMEOUT = 2.0


@dataclass(frozen=True)
class Database:
    name: str
    kind: str
    host: str
    port: int
    user: str | None
    database: str | None
    password_file: str | None

    def password(self) -> str | None:
        # Read at every check, so a rotated secret is picked up without a restart. Only a
        # trailing newline is stripped: it is never part of a password, spaces may be.
        if not self.password_file:
            return None
        with open(self.password_file, encoding="utf-8") as fh:
            return fh.read().rstrip("\r\n")


def configured() -> list[Database]:
    """The databases listed in $DATABASES (comma-separated service names), in that order."""
    result = []
    for name in filter(None, (n.strip() for n in os.environ.get("DATABASES", "").split(","))):
        prefix = name.upper().replace("-", "_") + "_"

        def env(key: str, prefix: str = prefix) -> str | None:
            return os.environ.get(prefix + key) or None

        result.append(
            Database(
                name=name,
                kind=env("KIND") or "tcp",
                host=env("HOST") or name,
                port=int(env("PORT") or 0),
                user=env("USER"),
                database=env("DATABASE"),
                password_file=env("PASSWORD_FILE"),
            )
        )
    return result


def _postgres(db: Database) -> None:
    import psycopg

    with psycopg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password(),
        dbname=db.database,
        connect_timeout=int(TIMEOUT),
    ) as conn:
        conn.execute("SELECT 1")


def _tcp(db: Database) -> None:
    """Unknown kinds: the port accepts connections."""
    socket.create_connection((db.host, db.port), timeout=TIMEOUT).close()


CHECKS: dict[str, Callable[[Database], None]] = {
    "postgres": _postgres,
}


def check(db: Database) -> None:
    """Raise if `db` is not reachable with its credentials (blocking: run it in a thread)."""
    CHECKS.get(db.kind, _tcp)(db)
