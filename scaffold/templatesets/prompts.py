"""Asking a set's questions in a terminal (questionary, imported only when asking).

The interview asks them through its own asker (so Escape goes back to the previous question);
any object with the `Ask` methods will do, and without one they are asked with questionary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from scaffold.errors import Aborted
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import Question

Validate = Callable[[str], bool | str]


class Ask(Protocol):
    def text(self, message: str, default: str = "", validate: Validate | None = None) -> str: ...

    def select(self, message: str, choices: list[str], default: str | None = None) -> str: ...

    def confirm(self, message: str, default: bool = True) -> bool: ...


class _Questionary:
    """`Ask` with plain questionary prompts; Ctrl-C is Aborted."""

    @staticmethod
    def _ask(prompt: Any) -> Any:
        try:
            return prompt.unsafe_ask()
        except KeyboardInterrupt:
            raise Aborted("interrupted; nothing was written") from None

    def text(self, message: str, default: str = "", validate: Validate | None = None) -> str:
        import questionary

        return str(self._ask(questionary.text(message, default=default, validate=validate)))

    def select(self, message: str, choices: list[str], default: str | None = None) -> str:
        import questionary

        return str(self._ask(questionary.select(message, choices=choices, default=default)))

    def confirm(self, message: str, default: bool = True) -> bool:
        import questionary

        return bool(self._ask(questionary.confirm(message, default=default)))


def ask_answers(
    tset: TemplateSet,
    given: Mapping[str, Any],
    *,
    ask: Ask | None = None,
    again: bool = False,
    fit: Callable[[str], str] = str,
) -> dict[str, Any]:
    """Ask (in a terminal) the set's questions that `given` doesn't answer yet; with `again`,
    every question, `given` offered as the defaults. `fit` shapes a validation message for the
    terminal."""
    asker = ask or _Questionary()
    answers = dict(given)
    for q in tset.questions:
        if q.name in given and not again:
            continue
        label = f"{q.help or q.name}:"
        default = answers.get(q.name, q.default)
        value: Any
        if q.type == "bool":
            value = asker.confirm(label, bool(default))
        elif q.type == "choice":
            choice = None if default is None else str(default)  # checked against choices at load
            value = asker.select(label, list(q.choices), choice)
        else:

            def valid(text: str, q: Question = q) -> bool | str:
                try:
                    q.coerce(text)
                except ValueError as exc:
                    return fit(str(exc))
                return True

            value = asker.text(label, "" if default is None else str(default), valid)
        answers[q.name] = q.coerce(value)
    return answers
