"""Asking a set's questions in a terminal (questionary, imported only when asking)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scaffold.errors import Aborted
from scaffold.templatesets.loader import TemplateSet
from scaffold.templatesets.manifest import Question


def ask_answers(tset: TemplateSet, given: Mapping[str, Any]) -> dict[str, Any]:
    """Ask (in a terminal) the set's questions that `given` doesn't answer yet."""
    import questionary

    answers = dict(given)
    for q in tset.questions:
        if q.name in answers:
            continue
        label = f"{q.help or q.name}:"
        default = q.default
        if q.type == "bool":
            prompt = questionary.confirm(label, default=bool(default))
        elif q.type == "choice":
            choice = None if default is None else str(default)  # checked against choices at load
            prompt = questionary.select(label, choices=q.choices, default=choice)
        else:

            def valid(text: str, q: Question = q) -> bool | str:
                try:
                    q.coerce(text)
                except ValueError as exc:
                    return str(exc)
                return True

            prompt = questionary.text(
                label, default="" if default is None else str(default), validate=valid
            )
        try:
            answers[q.name] = q.coerce(prompt.unsafe_ask())
        except KeyboardInterrupt:
            raise Aborted("interrupted; nothing was written") from None
    return answers
