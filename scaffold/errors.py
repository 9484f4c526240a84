"""One small error hierarchy; the CLI edge turns each into an exit code and one line.

Library code raises these and never prints or exits, so tests can call the API directly.
"""

from __future__ import annotations


class DockergenError(Exception):
    """Base of every error the user should see as one line (exit 2: bad usage or input)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The single line shown to the user."""
        text = " ".join(self.message.split())
        return f"{text} ({self.hint})" if self.hint else text


class UsageError(DockergenError):
    """Options that don't fit together, or answers missing where nobody can be asked."""


class LayoutError(DockergenError):
    """dockergen.yml (or the answers) is malformed or invalid.

    `loc` is the field at fault (("services", 1, "name")) and `detail` the message without its
    place, so a command whose input was a flag, not the file, can name the flag instead."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        loc: tuple[str | int, ...] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.loc = loc
        self.detail = detail


class TemplateSetError(DockergenError):
    """A template set can't be found, loaded or trusted, or it broke while rendering."""


class TargetError(DockergenError):
    """The target directory isn't a place we may write to."""


class StateError(DockergenError):
    """The project's .dockergen/ state is missing or corrupt."""


class EngineError(DockergenError):
    """No usable Docker engine."""


class Aborted(DockergenError):
    """The user interrupted (Ctrl-C); nothing was written."""

    exit_code = 130


class ConflictError(DockergenError):
    """An update finished but left conflict markers for the user to resolve."""

    exit_code = 1


class CheckFailed(DockergenError):
    """A check (verify, diff --exit-code, validate) found problems."""

    exit_code = 1


class PolicyError(DockergenError):
    """The rendered output breaks the template set's policy: one line per violation (exit 2)."""

    def __init__(self, violations: list[str]) -> None:
        super().__init__(violations[0] if violations else "policy violation")
        self.violations = list(violations) or [self.message]

    def line(self) -> str:
        # The CLI prints "dockergen: <line>"; every further violation gets the same prefix.
        return "\ndockergen: ".join(" ".join(v.split()) for v in self.violations)
