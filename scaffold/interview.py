"""The interactive interview: questionary prompts that produce raw layout data.

Choices come from the set's catalog, so a set that adds a stack is offered here too. Ctrl-C
anywhere raises Aborted before anything is written.
"""

from __future__ import annotations

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


def _name_validator(taken: set[str]):
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


def _free_port_validator(taken: set[int]):
    def validate(text: str) -> bool | str:
        valid = _port_validator(text)
        if valid is True and int(text) in taken:
            return f"port {int(text)} is already used by another service"
        return valid

    return validate


def interview(
    tset: TemplateSet, project: str, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Ask for the layout; `previous` answers (a layout dict) prefill the questions."""
    import questionary

    prev = {s["name"]: s for s in (previous or {}).get("services", [])}
    prev_kinds = [s["kind"] for s in prev.values()]
    frontends = sorted(k.name for k in tset.kinds_in("frontend"))
    backends = sorted(k.name for k in tset.kinds_in("backend"))
    databases = sorted(k.name for k in tset.kinds_in("database"))
    services: list[dict[str, Any]] = []
    taken: set[str] = set()

    default_front = next((k for k in prev_kinds if k in frontends), None)
    if previous is None:
        default_front = "react" if "react" in frontends else (frontends[0] if frontends else None)
    front = _ask(
        questionary.select("Frontend?", choices=[*frontends, NONE], default=default_front or NONE)
    )
    if front != NONE:
        name = _ask(
            questionary.text(
                "  frontend service name:",
                default=next((n for n, s in prev.items() if s["kind"] == front), None)
                or tset.kind(front).default_name,
                validate=_name_validator(taken),
            )
        )
        taken.add(name)
        services.append({"name": name, "kind": front})

    prev_backends = [s for s in prev.values() if s["kind"] in backends]
    if previous is None:
        prev_backends = [{"kind": "fastapi", "name": "api"}] if "fastapi" in backends else []
    while True:
        suggestion = prev_backends.pop(0) if prev_backends else None
        kind = _ask(
            questionary.select(
                "Add a backend?"
                if not any(s["kind"] in backends for s in services)
                else "Add another backend?",
                choices=[*backends, "done"],
                default=suggestion["kind"] if suggestion else "done",
            )
        )
        if kind == "done":
            break
        default = suggestion["name"] if suggestion and suggestion["kind"] == kind else None
        name = _ask(
            questionary.text(
                "  backend service name:",
                default=unique_name(default or tset.kind(kind).default_name, taken),
                validate=_name_validator(taken),
            )
        )
        taken.add(name)
        services.append({"name": name, "kind": kind})

    chosen_dbs = [k for k in prev_kinds if k in databases]
    if previous is None:
        chosen_dbs = ["postgres"] if "postgres" in databases else []
    picked = _ask(
        questionary.checkbox(
            "Databases?",
            choices=[questionary.Choice(d, checked=d in chosen_dbs) for d in databases],
        )
    )
    for kind in picked:
        name = next((n for n, s in prev.items() if s["kind"] == kind), None)
        name = unique_name(name or tset.kind(kind).default_name, taken)
        taken.add(name)
        services.append({"name": name, "kind": kind})

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
        default = prev.get(svc["name"], {}).get("port") or kind.port
        while default in used_ports and "publish" not in svc:
            default += 1
        port = _ask(
            questionary.text(
                f"  port for {svc['name']} ({svc['kind']}):",
                default=str(default),
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
