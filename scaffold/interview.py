"""The interactive interview: questionary prompts that produce raw layout data.

Choices come from the set's catalog, so a set that adds a stack is offered here too. Ctrl-C
anywhere raises Aborted before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scaffold.errors import Aborted
from scaffold.layout import check_name, unique_name
from scaffold.templatesets.loader import TemplateSet

NONE = "none"


def _ask(question: Any) -> Any:
    try:
        answer = question.unsafe_ask()
    except KeyboardInterrupt:
        raise Aborted("interrupted; nothing was written") from None
    return answer


def _name_validator(taken: set[str]) -> Callable[[str], bool | str]:
    def validate(text: str) -> bool | str:
        try:
            check_name(text, "service")
        except ValueError as exc:
            return str(exc)
        return f"{text!r} is already used" if text in taken else True

    return validate


def _port_validator(text: str) -> bool | str:
    ok = text.isascii() and text.isdigit() and 1 <= int(text) <= 65535
    return True if ok else "a port is 1 to 65535"


def _free_port_validator(taken: set[int]) -> Callable[[str], bool | str]:
    def validate(text: str) -> bool | str:
        valid = _port_validator(text)
        if valid is True and int(text) in taken:
            return f"port {int(text)} is already used by another service"
        return valid

    return validate


def _ask_uses(
    tset: TemplateSet, services: list[dict[str, Any]], prev: dict[str, dict[str, Any]]
) -> None:
    """Which of several services a connecting service uses (a backend's databases): asked only
    when there is a choice; all of them, the default, is not written down."""
    import questionary

    category = {s["name"]: tset.kind(s["kind"]).category for s in services}
    for svc in services:
        connects = tset.category(category[svc["name"]]).connects
        candidates = [s["name"] for s in services if category[s["name"]] in connects]
        if len(candidates) < 2:
            continue
        before = prev.get(svc["name"], {}).get("uses")
        picked = _ask(
            questionary.checkbox(
                f"  {svc['name']} uses:",
                choices=[
                    questionary.Choice(n, checked=before is None or n in before) for n in candidates
                ],
            )
        )
        if picked != candidates:
            svc["uses"] = picked


def interview(
    tset: TemplateSet, project: str, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ask for the layout; `previous` answers (a layout dict) prefill the questions."""
    import questionary

    prev = {s["name"]: s for s in (previous or {}).get("services", [])}
    suggested = [spec.partition(":") for spec in tset.manifest.defaults]
    services: list[dict[str, Any]] = []
    taken: set[str] = set()

    for category, spec in tset.categories.items():
        kinds = sorted(k.name for k in tset.kinds_in(category))
        if not kinds:
            continue
        # what to suggest: the previous layout's services, or else the set's defaults
        if previous is None:
            before = [{"kind": k, "name": n} for k, _, n in suggested if k in kinds]
        else:
            before = [s for s in prev.values() if s["kind"] in kinds]
        if spec.ask == "one":
            default = before[0]["kind"] if before else (kinds[0] if previous is None else NONE)
            kind = _ask(
                questionary.select(
                    f"{category.capitalize()}?", choices=[*kinds, NONE], default=default
                )
            )
            if kind == NONE:
                continue
            name = _ask(
                questionary.text(
                    f"  {category} service name:",
                    default=next(
                        (s["name"] for s in before if s["kind"] == kind and s["name"]), None
                    )
                    or tset.kind(kind).default_name,
                    validate=_name_validator(taken),
                )
            )
            taken.add(name)
            services.append({"name": name, "kind": kind})
        elif spec.ask == "repeat":
            while True:
                suggestion = before.pop(0) if before else None
                kind = _ask(
                    questionary.select(
                        f"Add a {category}?"
                        if not any(s["kind"] in kinds for s in services)
                        else f"Add another {category}?",
                        choices=[*kinds, "done"],
                        default=suggestion["kind"] if suggestion else "done",
                    )
                )
                if kind == "done":
                    break
                named = suggestion["name"] if suggestion and suggestion["kind"] == kind else None
                name = _ask(
                    questionary.text(
                        f"  {category} service name:",
                        default=unique_name(named or tset.kind(kind).default_name, taken),
                        validate=_name_validator(taken),
                    )
                )
                taken.add(name)
                services.append({"name": name, "kind": kind})
        else:
            chosen = [s["kind"] for s in before]
            group = spec.group or f"{category}s"
            picked = _ask(
                questionary.checkbox(
                    f"{group.capitalize()}?",
                    choices=[questionary.Choice(k, checked=k in chosen) for k in kinds],
                )
            )
            for kind in picked:
                name = next((s["name"] for s in before if s["kind"] == kind and s["name"]), None)
                name = unique_name(name or tset.kind(kind).default_name, taken)
                taken.add(name)
                services.append({"name": name, "kind": kind})

    _ask_uses(tset, services, prev)

    # A kept service keeps its `publish` (not asked here); its own host port is then taken, and
    # its `port`, asked below, is only the port inside its container.
    for svc in services:
        before = prev.get(svc["name"], {})
        if before.get("kind") == svc["kind"] and "publish" in before:
            svc["publish"] = before["publish"]
    used_ports = {s["publish"] for s in services if s.get("publish") not in (None, False)}
    for svc in services:
        kind = tset.kind(svc["kind"])
        if not kind.published:
            continue
        at: int = prev.get(svc["name"], {}).get("port") or kind.port
        while at in used_ports and "publish" not in svc:
            at += 1
        port = _ask(
            questionary.text(
                f"  port for {svc['name']} ({svc['kind']}):",
                default=str(at),
                validate=_port_validator if "publish" in svc else _free_port_validator(used_ports),
            )
        )
        svc["port"] = int(port)
        if "publish" not in svc:
            used_ports.add(int(port))

    if not services:
        raise Aborted("no services chosen; nothing was written")
    summary = ", ".join(
        f"{s['name']} ({s['kind']}{', port ' + str(s['port']) if 'port' in s else ''})"
        for s in services
    )
    if not _ask(questionary.confirm(f"Create {project}: {summary}?", default=True)):
        raise Aborted("cancelled; nothing was written")
    data: dict[str, Any] = {"services": services}
    if previous:
        data = {**{k: v for k, v in previous.items() if k != "services"}, **data}
    return data
