"""The interactive interview: questionary prompts that produce raw layout data.

Choices come from the set's catalog, so a set that adds a stack is offered here too. The set's
own questions follow, then a review: a summary and a menu to create (or apply), edit, add or
remove a service, change the set's answers, or cancel. Ctrl-C anywhere raises Aborted before
anything is written.

Going back (Escape, or a "back" choice) works by replay: the whole interview is a function of
the answers given so far, so going back drops the last answer and runs it again, the earlier
answers replayed without asking and the dropped one offered as the default.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scaffold.errors import Aborted, DockergenError
from scaffold.layout import NAME_RULE_SHORT, TARGETS, check_name, suggest_name, unique_name
from scaffold.templatesets.loader import TemplateSet

NONE = "none"
BACK = "back"  # the choice, and the result Escape gives
_BACK = object()  # what Escape makes a prompt return


class _GoBack(Exception):
    """Escape (or a "back" choice where "back" means the previous question) was pressed."""


def _ask(question: Any) -> Any:
    try:
        answer = question.unsafe_ask()
    except KeyboardInterrupt:
        raise Aborted("interrupted; nothing was written") from None
    return answer


def width() -> int:
    """The terminal's width, for validation messages that must not be cut."""
    return shutil.get_terminal_size((80, 24)).columns


def _escape_goes_back(question: Any) -> None:
    """Escape ends the prompt with _BACK. questionary has no hook for this; its prompts are
    prompt_toolkit applications, whose key bindings can be extended."""
    app = getattr(question, "application", None)
    if app is None:
        return
    from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
    from prompt_toolkit.keys import Keys

    bindings = KeyBindings()

    @bindings.add(Keys.Escape, eager=True)
    def _back(event: Any) -> None:
        event.app.exit(result=_BACK)

    app.key_bindings = (
        merge_key_bindings([app.key_bindings, bindings]) if app.key_bindings else bindings
    )
    app.ttimeoutlen = 0.05  # Escape alone, not the start of an arrow key's sequence: decide fast


def _wrap_validation(question: Any) -> None:
    """prompt_toolkit shows a validation message on one line, cut at the terminal's edge: let
    it wrap instead (messages are kept short too; this is for a narrow terminal)."""
    app = getattr(question, "application", None)
    if app is None:
        return
    from prompt_toolkit.filters import to_filter
    from prompt_toolkit.layout.controls import FormattedTextControl

    for window in app.layout.find_all_windows():
        text = getattr(window.content, "text", None)
        if isinstance(window.content, FormattedTextControl) and "ValidationToolbar" in getattr(
            text, "__qualname__", ""
        ):
            window.height = None
            window.wrap_lines = to_filter(True)


def fit(message: str) -> str:
    """A validation message as prompt_toolkit shows it: wrapped to the terminal, never cut."""
    return "\n".join(textwrap.wrap(message, max(20, width() - 1))) or message


class Asker:
    """Asks questions and records the answers; replays recorded answers without asking.

    `prefill` holds (message, answer) pairs from before going back: a question asked again
    offers its earlier answer as the default.
    """

    def __init__(self, replay: list[Any], prefill: list[tuple[str, Any]]) -> None:
        self.replay = list(replay)
        self.prefill = prefill
        self.asked: list[tuple[str, Any]] = []

    @property
    def live(self) -> bool:
        """Whether questions are being asked (not replayed): only then print summaries."""
        return not self.replay

    def _earlier(self, message: str) -> tuple[bool, Any]:
        i = len(self.asked)
        if i < len(self.prefill) and self.prefill[i][0] == message:
            return True, self.prefill[i][1]
        return False, None

    def _run(self, kind: str, message: str, **kwargs: Any) -> Any:
        if self.replay:
            value = self.replay.pop(0)
        else:
            import questionary

            question = getattr(questionary, kind)(message, **kwargs)
            _escape_goes_back(question)
            _wrap_validation(question)
            value = _ask(question)
            if value is _BACK:
                raise _GoBack
        self.asked.append((message, value))
        return value

    def select(self, message: str, choices: list[str], default: str | None = None) -> str:
        known, before = self._earlier(message)
        if known and before in choices:
            default = before
        value: str = self._run("select", message, choices=choices, default=default)
        return value

    def text(
        self, message: str, default: str = "", validate: Callable[[str], bool | str] | None = None
    ) -> str:
        known, before = self._earlier(message)
        if known and isinstance(before, str):
            default = before
        value: str = self._run("text", message, default=default, validate=validate)
        return value

    def checkbox(self, message: str, choices: list[str], checked: Iterable[str]) -> list[str]:
        import questionary

        known, before = self._earlier(message)
        ticked = set(before if known and isinstance(before, list) else checked)
        options = [questionary.Choice(c, checked=c in ticked) for c in choices]
        value: list[str] = self._run("checkbox", message, choices=options)
        return value

    def confirm(self, message: str, default: bool = True) -> bool:
        known, before = self._earlier(message)
        if known and isinstance(before, bool):
            default = before
        value: bool = self._run("confirm", message, default=default)
        return value


def run_with_back(flow: Callable[[Asker], Any]) -> Any:
    """Run `flow`, going back one question (replaying the others) each time it asks to."""
    answers: list[Any] = []
    prefill: list[tuple[str, Any]] = []
    while True:
        asker = Asker(answers, prefill)
        try:
            return flow(asker)
        except _GoBack:
            # what was answered further on stays on offer when those questions come again
            prefill = asker.asked + prefill[len(asker.asked) :]
            answers = [value for _, value in asker.asked[:-1]]


# ------------------------------------------------------------------------ validators


def _name_validator(taken: Iterable[str]) -> Callable[[str], bool | str]:
    others = set(taken)

    def validate(text: str) -> bool | str:
        try:
            check_name(text, "service")
        except ValueError:
            return fit(f"a name {NAME_RULE_SHORT}")
        return fit(f"service {text!r} already exists") if text in others else True

    return validate


def _port_validator(text: str) -> bool | str:
    """A port, or nothing (the default)."""
    if not text.strip():
        return True
    ok = text.isascii() and text.strip().isdigit() and 1 <= int(text) <= 65535
    return True if ok else "a port is 1 to 65535 (empty: the default)"


def _free_port_validator(taken: dict[int, str]) -> Callable[[str], bool | str]:
    """A port no other service has on the host; `taken` maps host ports to services."""

    def validate(text: str) -> bool | str:
        valid = _port_validator(text)
        if valid is True and text.strip() and int(text) in taken:
            return fit(f"port {int(text)} is already used by service {taken[int(text)]!r}")
        return valid

    return validate


def _publish_validator(taken: dict[int, str]) -> Callable[[str], bool | str]:
    free = _free_port_validator(taken)

    def validate(text: str) -> bool | str:
        if text.strip().lower() in ("no", "false"):
            return True
        if text.strip() and not text.strip().isdigit():
            return "a host port 1 to 65535, 'no', or empty (the default)"
        return free(text)

    return validate


def _port_or(text: str, default: int) -> int:
    return int(text) if text.strip() else default


# ------------------------------------------------------------------------ the state


@dataclass
class Answers:
    """What the interview has gathered: the services (raw layout entries) and the set's answers.

    A service's "_was" is the name it has in the project being updated, so a rename moves its
    files (update --ask)."""

    tset: TemplateSet
    project: str
    services: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)
    targets: list[str] = field(default_factory=lambda: ["compose"])  # where it deploys
    user_code: bool = False  # dockergen init: the services are the repository's own code

    def kind(self, svc: dict[str, Any]) -> Any:
        return self.tset.kind(svc["kind"])

    def names(self, but: dict[str, Any] | None = None) -> list[str]:
        return [s["name"] for s in self.services if s is not but]

    def host_ports(self, but: dict[str, Any] | None = None) -> dict[int, str]:
        """Host ports the services take (a service's publish, else its port when its kind is
        published): a new or edited port must not collide with them."""
        ports: dict[int, str] = {}
        for s in self.services:
            if s is but or not self.kind(s).published or s.get("publish") is False:
                continue
            host = s.get("publish") or s.get("port")
            if host:
                ports[int(host)] = s["name"]
        return ports

    def candidates(self, svc: dict[str, Any]) -> list[str]:
        """The services `svc` may use (those of the categories its category connects to)."""
        connects = self.tset.category(self.kind(svc).category).connects
        return [s["name"] for s in self.services if self.kind(s).category in connects]

    def summary(self) -> list[str]:
        lines = [f"{self.project}: {len(self.services)} service(s), template set {self.tset.name}"]
        for s in self.services:
            parts = [f"  {s['name']:<14} {s['kind']:<10}"]
            if "port" in s:
                parts.append(f" port {s['port']}")
            if s.get("publish") is False:
                parts.append(", not published")
            elif s.get("publish"):
                parts.append(f", published on {s['publish']}")
            if s.get("uses") is not None:
                parts.append(f", uses {', '.join(s['uses']) or 'nothing'}")
            # what init found in the repository's own code
            facts = [
                f"in {s['path']}/" if s.get("path") and s["path"] != "." else "",
                "at the root" if s.get("path") == "." else "",
                f"version {s['version']}" if s.get("version") else "",
                str(s.get("package_manager") or ""),
                f"entry {s['entry']}" if s.get("entry") else "",
                f"health {s['health']}" if s.get("health") else "",
            ]
            if any(facts):
                parts.append(", " + ", ".join(f for f in facts if f))
            lines.append("".join(parts))
        for key, value in self.answers.items():
            lines.append(f"  {key} = {value}")
        lines.append(f"  deploys to: {', '.join(self.targets)}")
        return lines

    def data(self, previous: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
        renames = {
            s["_was"]: s["name"] for s in self.services if s.get("_was", s["name"]) != s["name"]
        }
        services = [{k: v for k, v in s.items() if k != "_was"} for s in self.services]
        data: dict[str, Any] = {"services": services}
        if previous:
            data = {**{k: v for k, v in previous.items() if k != "services"}, **data}
        if self.answers:
            data["answers"] = {**data.get("answers", {}), **self.answers}
        if self.targets == ["compose"]:  # the default: dockergen.yml doesn't say it
            data.pop("targets", None)
        else:
            data["targets"] = list(self.targets)
        return data, renames


# ------------------------------------------------------------------------ the questions


def _ask_services(ask: Asker, st: Answers, previous: dict[str, Any] | None) -> None:
    """One question (or a few) per category of the set, in its order."""
    tset = st.tset
    prev = {s["name"]: s for s in (previous or {}).get("services", [])}
    suggested = [spec.partition(":") for spec in tset.manifest.defaults]
    taken: set[str] = set()

    def add(name: str, kind: str) -> None:
        taken.add(name)
        entry: dict[str, Any] = {"name": name, "kind": kind}
        if name in prev:
            entry["_was"] = name
        st.services.append(entry)

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
            kind = ask.select(f"{category.capitalize()}?", [*kinds, NONE], default)
            if kind == NONE:
                continue
            named = next((s["name"] for s in before if s["kind"] == kind and s["name"]), None)
            name = ask.text(
                f"  {category} service name:",
                named or tset.kind(kind).default_name,
                _name_validator(taken),
            )
            add(name, kind)
        elif spec.ask == "repeat":
            while True:
                suggestion = before.pop(0) if before else None
                first = not any(s["kind"] in kinds for s in st.services)
                kind = ask.select(
                    f"Add a {category}?" if first else f"Add another {category}?",
                    [*kinds, "done"],
                    suggestion["kind"] if suggestion else "done",
                )
                if kind == "done":
                    break
                named = suggestion["name"] if suggestion and suggestion["kind"] == kind else None
                name = ask.text(
                    f"  {category} service name:",
                    unique_name(named or tset.kind(kind).default_name, taken),
                    _name_validator(taken),
                )
                add(name, kind)
        else:
            group = spec.group or f"{category}s"
            picked = ask.checkbox(f"{group.capitalize()}?", kinds, [s["kind"] for s in before])
            for kind in picked:
                was = next((s["name"] for s in before if s["kind"] == kind and s["name"]), None)
                add(unique_name(was or tset.kind(kind).default_name, taken), kind)


def _ask_uses(ask: Asker, st: Answers, prev: dict[str, dict[str, Any]]) -> None:
    """Which of several services a connecting service uses (a backend's databases): asked only
    when there is a choice; all of them, the default, is not written down."""
    for svc in st.services:
        candidates = st.candidates(svc)
        if len(candidates) < 2:
            continue
        before = prev.get(svc["name"], {}).get("uses")
        picked = ask.checkbox(f"  {svc['name']} uses:", candidates, before or candidates)
        if picked != candidates:
            svc["uses"] = picked


def _ask_ports(ask: Asker, st: Answers, prev: dict[str, dict[str, Any]]) -> None:
    # A kept service keeps its `publish` (not asked here); its own host port is then taken, and
    # its `port`, asked below, is only the port inside its container.
    for svc in st.services:
        before = prev.get(svc["name"], {})
        if before.get("kind") == svc["kind"] and "publish" in before:
            svc["publish"] = before["publish"]
    for svc in st.services:
        kind = st.kind(svc)
        if not kind.published:
            continue
        used = {p: n for p, n in st.host_ports(but=svc).items() if n != svc["name"]}
        at: int = prev.get(svc["name"], {}).get("port") or kind.port
        while at in used and "publish" not in svc:
            at += 1
        port = ask.text(
            f"  port for {svc['name']} ({svc['kind']}):",
            str(at),
            _port_validator if "publish" in svc else _free_port_validator(used),
        )
        svc["port"] = _port_or(port, at)


def _ask_set_questions(ask: Asker, st: Answers, given: dict[str, Any], *, all_: bool) -> None:
    """The set's own questions (not those answered with --answer, unless `all_`)."""
    from scaffold.templatesets.prompts import ask_answers

    st.answers = ask_answers(st.tset, {**given, **st.answers}, ask=ask, again=all_, fit=fit)


# ------------------------------------------------------------------------ the review


def _pick_service(ask: Asker, st: Answers, message: str) -> dict[str, Any] | None:
    name = ask.select(message, [*st.names(), BACK])
    return None if name == BACK else next(s for s in st.services if s["name"] == name)


def _edit_name(ask: Asker, st: Answers, svc: dict[str, Any]) -> None:
    old = svc["name"]
    new = ask.text(f"  new name for {old}:", old, _name_validator(st.names(but=svc)))
    svc["name"] = new
    for other in st.services:  # a rename keeps the services that use it using it
        if other.get("uses"):
            other["uses"] = [new if n == old else n for n in other["uses"]]


def _edit_kind(ask: Asker, st: Answers, svc: dict[str, Any]) -> None:
    category = st.kind(svc).category
    kinds = sorted(k.name for k in st.tset.kinds_in(category))
    kind = ask.select(f"  kind of {svc['name']}:", kinds, svc["kind"])
    if kind == svc["kind"]:
        return
    svc["kind"] = kind
    svc.pop("publish", None)
    svc.pop("port", None)
    if st.tset.kind(kind).published:
        _edit_port(ask, st, svc)


def _edit_port(ask: Asker, st: Answers, svc: dict[str, Any]) -> None:
    used = st.host_ports(but=svc)
    at = int(svc.get("port") or st.kind(svc).port)
    while "port" not in svc and at in used:
        at += 1
    checks = _port_validator if svc.get("publish") is not None else _free_port_validator(used)
    text = ask.text(f"  port for {svc['name']} ({svc['kind']}):", str(at), checks)
    svc["port"] = _port_or(text, st.kind(svc).port)


def _edit_publish(ask: Asker, st: Answers, svc: dict[str, Any]) -> None:
    current = svc.get("publish")
    shown = "no" if current is False else "" if current is None else str(current)
    text = ask.text(
        f"  host port of {svc['name']} on 127.0.0.1 ('no': not published, empty: default):",
        shown,
        _publish_validator(st.host_ports(but=svc)),
    )
    if not text.strip():
        svc.pop("publish", None)
    else:
        svc["publish"] = False if text.strip().lower() in ("no", "false") else int(text)


def _edit_uses(ask: Asker, st: Answers, svc: dict[str, Any]) -> None:
    candidates = st.candidates(svc)
    current = svc.get("uses")
    picked = ask.checkbox(
        f"  {svc['name']} uses:", candidates, candidates if current is None else current
    )
    if picked == candidates:
        svc.pop("uses", None)
    else:
        svc["uses"] = picked


def _edit_health(ask: Asker, st: Answers, svc: dict[str, Any]) -> None:
    def validate(text: str) -> bool | str:
        value = text.strip()
        if not value or value == "tcp" or value.startswith("/"):
            return True
        return fit("an HTTP path starting with '/', 'tcp', or empty for the kind's own probe")

    text = ask.text(
        f"  health of {svc['name']} (an HTTP path like /status, or tcp: the port accepts "
        "connections):",
        str(svc.get("health") or ""),
        validate,
    )
    if text.strip():
        svc["health"] = text.strip()
    else:
        svc.pop("health", None)


@dataclass(frozen=True)
class ServiceField:
    """One editable field of a service in the review: shown when `applies`."""

    name: str
    applies: Callable[[Answers, dict[str, Any]], bool]
    edit: Callable[[Asker, Answers, dict[str, Any]], None]


SERVICE_FIELDS = [
    ServiceField("name", lambda st, s: True, _edit_name),
    ServiceField("kind", lambda st, s: len(st.tset.kinds_in(st.kind(s).category)) > 1, _edit_kind),
    ServiceField("port", lambda st, s: st.kind(s).published, _edit_port),
    ServiceField("publish", lambda st, s: st.kind(s).published, _edit_publish),
    ServiceField("uses", lambda st, s: bool(st.candidates(s)), _edit_uses),
    # the probe of the repository's own app (init): it has no /healthz of dockergen's
    ServiceField(
        "health",
        lambda st, s: st.user_code and st.kind(s).user_code.probes is not None,
        _edit_health,
    ),
]


def _edit_service(ask: Asker, st: Answers) -> None:
    svc = _pick_service(ask, st, "Edit which service?")
    if svc is None:
        return
    fields = [f for f in SERVICE_FIELDS if f.applies(st, svc)]
    chosen = ask.select(f"Change what of {svc['name']}?", [*(f.name for f in fields), BACK])
    for f in fields:
        if f.name == chosen:
            f.edit(ask, st, svc)


def _add_service(ask: Asker, st: Answers) -> None:
    kinds = [
        k.name
        for c in st.tset.categories
        for k in sorted(st.tset.kinds_in(c), key=lambda k: k.name)
    ]
    kind = ask.select("Add which kind?", [*kinds, BACK])
    if kind == BACK:
        return
    name = ask.text(
        "  service name:",
        unique_name(st.tset.kind(kind).default_name, st.names()),
        _name_validator(st.names()),
    )
    svc: dict[str, Any] = {"name": name, "kind": kind}
    # in the set's category order, after the others of its category
    order = list(st.tset.categories)
    at = len(st.services)
    rank = order.index(st.tset.kind(kind).category)
    for i, other in enumerate(st.services):
        if order.index(st.kind(other).category) > rank:
            at = i
            break
    st.services.insert(at, svc)
    if st.tset.kind(kind).published:
        _edit_port(ask, st, svc)


def _remove_service(ask: Asker, st: Answers) -> None:
    svc = _pick_service(ask, st, "Remove which service?")
    if svc is None:
        return
    st.services.remove(svc)
    for other in st.services:
        if other.get("uses") and svc["name"] in other["uses"]:
            other["uses"] = [n for n in other["uses"] if n != svc["name"]]
            if not other["uses"]:
                other.pop("uses")


def _change_answers(ask: Asker, st: Answers) -> None:
    _ask_set_questions(ask, st, {}, all_=True)


def _choose_targets(ask: Asker, st: Answers) -> None:
    """Where the project deploys besides compose, which every project has (dockergen.yml
    `targets`): the files under deploy/ follow the same layout and guarantees."""
    others = [t for t in TARGETS if t != "compose"]
    chosen = ask.checkbox(
        "Deploy also to (compose always):", others, [t for t in st.targets if t in others]
    )
    st.targets = ["compose", *(t for t in others if t in chosen)]


@dataclass(frozen=True)
class ReviewItem:
    """One entry of the review menu. `run` returns True when the review is over (create)."""

    label: Callable[[Answers, str], str]
    applies: Callable[[Answers], bool]
    run: Callable[[Asker, Answers], bool]


def _done(ask: Asker, st: Answers) -> bool:
    return True


def _cancel(ask: Asker, st: Answers) -> bool:
    raise Aborted("cancelled; nothing was written")


def _then_continue(step: Callable[[Asker, Answers], None]) -> Callable[[Asker, Answers], bool]:
    def run(ask: Asker, st: Answers) -> bool:
        step(ask, st)
        return False

    return run


# The review menu, in order. A new editable item (another part of the layout) is one more entry.
REVIEW_ITEMS = [
    ReviewItem(lambda st, action: action.format(project=st.project), lambda st: True, _done),
    ReviewItem(
        lambda st, a: "edit a service", lambda st: bool(st.services), _then_continue(_edit_service)
    ),
    ReviewItem(lambda st, a: "add a service", lambda st: True, _then_continue(_add_service)),
    ReviewItem(
        lambda st, a: "remove a service",
        lambda st: bool(st.services),
        _then_continue(_remove_service),
    ),
    ReviewItem(
        lambda st, a: "change the template set's answers",
        lambda st: bool(st.tset.questions),
        _then_continue(_change_answers),
    ),
    ReviewItem(lambda st, a: "deploy targets", lambda st: True, _then_continue(_choose_targets)),
    ReviewItem(lambda st, a: "cancel", lambda st: True, _cancel),
]


def _problem(st: Answers, previous: dict[str, Any] | None) -> str | None:
    """What would make the layout fail after the review (checked before writing anything)."""
    from scaffold import layout as layouts

    if not st.services:
        return "no services: add one, or cancel"
    data, _ = st.data(previous)
    data.pop("project", None)
    try:
        layouts.normalise(layouts.parse(data), st.tset, project=st.project)
    except DockergenError as exc:
        return exc.line()
    return None


def _review(
    ask: Asker,
    st: Answers,
    action: str,
    previous: dict[str, Any] | None,
    echo: Callable[[str], None],
) -> None:
    while True:
        problem = _problem(st, previous)
        if ask.live:
            echo("\n".join(["", *st.summary()]))
            if problem:
                echo("\n".join(textwrap.wrap(f"! {problem}", max(20, width() - 1))))
        items = [i for i in REVIEW_ITEMS if i.applies(st)]
        labels = [i.label(st, action) for i in items]
        if problem:  # nothing to create yet: the first entry can't be chosen
            items, labels = items[1:], labels[1:]
        chosen = ask.select("Review:", labels, labels[0])
        item = items[labels.index(chosen)]
        if item.run(ask, st):
            return


def interview(
    tset: TemplateSet,
    project: str,
    previous: dict[str, Any] | None = None,
    *,
    answers: dict[str, Any] | None = None,
    action: str = "create {project}",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ask for the layout; `previous` answers (a layout dict) prefill the questions. `answers`
    are the set's questions answered already (--answer). The raw layout data, with "answers"."""
    data, _ = interview_with_renames(
        tset, project, previous, answers=answers, action=action, echo=echo
    )
    return data


def interview_with_renames(
    tset: TemplateSet,
    project: str,
    previous: dict[str, Any] | None = None,
    *,
    answers: dict[str, Any] | None = None,
    action: str = "create {project}",
    echo: Callable[[str], None] = print,
) -> tuple[dict[str, Any], dict[str, str]]:
    """`interview`, plus the services renamed in the review (old name -> new) for an update."""
    prev = {s["name"]: s for s in (previous or {}).get("services", [])}
    given = dict(answers or {})

    def flow(ask: Asker) -> tuple[dict[str, Any], dict[str, str]]:
        st = Answers(tset, project)
        if previous and previous.get("targets"):  # update --ask: what dockergen.yml says
            st.targets = [t for t in TARGETS if t in previous["targets"] or t == "compose"]
        _ask_services(ask, st, previous)
        _ask_uses(ask, st, prev)
        _ask_ports(ask, st, prev)
        if previous is None:
            _ask_set_questions(ask, st, given, all_=False)
        else:  # an update keeps its answers; the review can change them
            st.answers = {**previous.get("answers", {}), **given}
        _review(ask, st, action, previous, echo)
        return st.data(previous)

    return run_with_back(flow)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------ the project's name


def ask_project_name(given: str) -> str:
    """`new NAME` with a NAME that can't be a project name: offer a valid one, before any other
    question (the user may accept it, or type another)."""
    import questionary

    suggestion = suggest_name(given)

    def validate(text: str) -> bool | str:
        try:
            check_name(text, "project")
        except ValueError:
            return fit(f"a name {NAME_RULE_SHORT}")
        return True

    question = questionary.text(
        f"{given!r} can't be a project name. Project name:", default=suggestion, validate=validate
    )
    _wrap_validation(question)
    value: str = _ask(question)
    return value


# ------------------------------------------------------------------------ init's review


def review_only(
    tset: TemplateSet,
    project: str,
    data: dict[str, Any],
    *,
    action: str = "init {project}",
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """`dockergen init`: the review menu alone, on a layout detection found (its services'
    user's-code fields kept through edits). The raw layout data."""

    def flow(ask: Asker) -> dict[str, Any]:
        st = Answers(tset, project, user_code=True)
        st.services = [dict(s) for s in data.get("services", [])]
        st.answers = dict(data.get("answers", {}))
        if data.get("targets"):
            st.targets = [t for t in TARGETS if t in data["targets"] or t == "compose"]
        _review(ask, st, action, data, echo)
        out, _ = st.data(data)
        return out

    return run_with_back(flow)  # type: ignore[no-any-return]
