"""What a command changes in dockergen.yml, and writing that back without losing its comments.

A `LayoutEdit` is one command's change to the raw dockergen.yml data (`update --set/--answer`,
`--digests`, `--ask`, `add`, `remove`); `rewrite_layout` turns the edited data back into text,
keeping the comments of everything the edit didn't touch. `scaffold.update` applies an edit,
then renders and merges.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from scaffold.errors import LayoutError, UsageError
from scaffold.layout import check_digests, merge_digests, normalise, parse, unique_name
from scaffold.templatesets import sources
from scaffold.templatesets.loader import TemplateSet

# An edit of the raw dockergen.yml data, given the set it names and the project directory: returns
# the new data and services renamed (old -> new).
LayoutEdit = Callable[[dict[str, Any], TemplateSet, Path], tuple[dict[str, Any], dict[str, str]]]

# ---------------------------------------------------------------- layout edits (add, remove, --set)


def _services(raw: dict[str, Any]) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = raw["services"]
    return services


def _find(raw: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in _services(raw):
        if entry["name"] == name:
            return entry
    names = ", ".join(s["name"] for s in _services(raw))
    raise UsageError(f"no service named {name!r}; the services are: {names}")


_SECTIONS = ("options", "answers", "images")  # mappings whose keys --set addresses as SECTION.KEY
_SCALARS = ("project", "template", "template_ref", "targets")


def _value(item: str, text: str, *, verbatim: bool) -> Any:
    """A --set VALUE: None when empty, the text itself for names and sources, else YAML."""
    if not text.strip():
        return None
    if verbatim:
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise UsageError(f"--set {item!r}: the value is not a valid YAML scalar") from None


def set_values(assignments: list[str], *, answers: list[str] | None = None) -> LayoutEdit:
    """`--set KEY=VALUE`: services.NAME.FIELD, options.FIELD, answers.NAME, images.FIELD or a
    top-level project / template / template_ref / targets (NAME,NAME: compose is always kept).

    services.NAME.publish (host port, or false) changes only what compose publishes;
    services.NAME.port is the port inside the container. VALUE is a YAML scalar (8001, false)
    except for names and sources, taken verbatim (a ref `1.0` stays text); an empty VALUE
    removes the key, back to its default. Setting
    services.NAME.name renames the service and carries its files' edits over. `answers` are
    `--answer NAME=VALUE`, typed by the set's question as `new --answer` does. A relative set
    folder is taken from the current directory and recorded relative to the project.
    """
    forms = "services.NAME.FIELD, options.FIELD, answers.NAME, images.FIELD, " + ", ".join(_SCALARS)

    def edit(
        raw: dict[str, Any], tset: TemplateSet, project: Path
    ) -> tuple[dict[str, Any], dict[str, str]]:
        new = copy.deepcopy(raw)
        renames: dict[str, str] = {}
        places: dict[tuple[str | int, ...], str] = {}  # the field each assignment wrote
        for item in assignments:
            key, sep, text = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--set {item!r}: use KEY=VALUE, e.g. services.api.publish=8001")
            path = key.split(".")
            places[tuple(path)] = item
            if path[0] == "services" and len(path) == 3:
                target, name = _find(new, path[1]), path[2]
                places[("services", _services(new).index(target), name)] = item
                value = _value(item, text, verbatim=name in ("name", "kind", "uses"))
                if name == "uses" and value is not None:  # NAME,NAME: the services it uses
                    value = [part.strip() for part in value.split(",") if part.strip()]
                if name == "name" and value is not None:
                    origin = next((o for o, n in renames.items() if n == path[1]), path[1])
                    renames[origin] = value
            elif path[0] in _SECTIONS and len(path) == 2:
                target, name = new.setdefault(path[0], {}), path[1]
                value = _value(item, text, verbatim=False)
            elif len(path) == 1 and path[0] in _SCALARS:
                target, name = new, path[0]
                value = _value(item, text, verbatim=True)
                if name == "targets" and value is not None:  # compose,swarm: a list
                    value = [part.strip() for part in value.split(",") if part.strip()]
                if name == "template" and value is not None:  # recorded as `new` records it
                    value, ref = sources.recorded_location(value, Path.cwd(), project)
                    if ref:
                        new["template_ref"] = ref
            else:
                raise UsageError(f"--set {key!r}: use {forms}")
            if value is None:
                target.pop(name, None)
            else:
                target[name] = value
        questions = {q.name: q for q in tset.questions} if answers else {}
        for item in answers or []:
            key, sep, text = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--answer {item!r}: use NAME=VALUE")
            try:
                value = questions[key].coerce(text) if key in questions else text
            except ValueError as exc:
                raise LayoutError(f"answers.{key}: {exc}") from None
            new.setdefault("answers", {})[key] = value
        for section in _SECTIONS:
            if new.get(section) == {}:
                new.pop(section)
        renames = {o: n for o, n in renames.items() if o != n}
        _follow_renames(new, renames)
        _check_assignments(new, assignments, places)
        return new, renames

    return edit


def _check_assignments(
    raw: dict[str, Any], assignments: list[str], places: Mapping[tuple[str | int, ...], str]
) -> None:
    """The edited data, checked as the file will be; a field a `--set` wrote is blamed on that
    flag (`--set services.api.port=70000: a port is ...`), not on dockergen.yml."""
    if not assignments:
        return
    try:
        parse(raw)
    except LayoutError as exc:
        item = places.get(exc.loc or ())
        if item is not None and exc.detail:
            raise LayoutError(f"--set {item}: {exc.detail}") from None
        raise


def _follow_renames(raw: dict[str, Any], renames: dict[str, str]) -> None:
    """A renamed service stays in the `uses` of the services that named it."""
    for entry in _services(raw):
        if isinstance(entry.get("uses"), list) and renames:
            entry["uses"] = [renames.get(n, n) for n in entry["uses"]]


def add_service(kind: str, name: str | None = None, port: int | None = None) -> LayoutEdit:
    """`add KIND`: append a service; its port is written down so later additions can't move it."""

    def edit(
        raw: dict[str, Any], tset: TemplateSet, project: Path
    ) -> tuple[dict[str, Any], dict[str, str]]:
        spec = tset.kind(kind)
        taken = {s["name"] for s in _services(raw)}
        if name is not None and name in taken:
            raise UsageError(f"a service named {name!r} already exists; pass another --name")
        entry: dict[str, Any] = {
            "name": name or unique_name(spec.default_name, taken),
            "kind": kind,
        }
        if port is not None:
            entry["port"] = port
        if raw.get("starter") is False and tset.builds(kind):
            # a repository init brought in: a new service has no code of the user's yet, unless
            # its folder already holds some (then it stays the user's, as init would have it)
            where = project / entry["name"]
            if not where.exists() or not any(where.iterdir()):
                entry["starter"] = True
        new = copy.deepcopy(raw)
        _services(new).append(entry)
        if port is None:  # the port normalise would pick (the project name doesn't matter here)
            layout = normalise(parse(new), tset, project=new.get("project") or "project")
            entry["port"] = layout.services[-1].port
        return new, {}

    return edit


def remove_service(name: str) -> LayoutEdit:
    """`remove NAME`: drop the service; the update then deletes its unedited files."""

    def edit(
        raw: dict[str, Any], tset: TemplateSet, project: Path
    ) -> tuple[dict[str, Any], dict[str, str]]:
        _find(raw, name)
        new = copy.deepcopy(raw)
        new["services"] = [s for s in _services(new) if s["name"] != name]
        for entry in _services(new):  # nobody uses a service that is gone
            if isinstance(entry.get("uses"), list) and name in entry["uses"]:
                entry["uses"] = [n for n in entry["uses"] if n != name]
        if not new["services"]:
            raise UsageError(f"{name!r} is the only service; a project needs at least one")
        return new, {}

    return edit


def pin_digests(pins: Mapping[str, str]) -> LayoutEdit:
    """`update --digests FILE`: record image pins in `digests`, over the ones already there."""

    def edit(
        raw: dict[str, Any], tset: TemplateSet, project: Path
    ) -> tuple[dict[str, Any], dict[str, str]]:
        new = copy.deepcopy(raw)
        try:
            digests = check_digests(merge_digests(raw.get("digests") or {}, pins))
        except ValueError as exc:
            raise LayoutError(f"digests: {exc}") from None
        if digests:
            new["digests"] = digests
        return new, {}

    return edit


def chain(*edits: LayoutEdit | None) -> LayoutEdit | None:
    """The edits one after the other (`update --set ... --digests FILE`); None if there are none."""
    steps = [e for e in edits if e is not None]
    if len(steps) < 2:
        return steps[0] if steps else None

    def edit(
        raw: dict[str, Any], tset: TemplateSet, project: Path
    ) -> tuple[dict[str, Any], dict[str, str]]:
        renames: dict[str, str] = {}
        for step in steps:
            raw, more = step(raw, tset, project)
            carried = {was: more.get(now, now) for was, now in renames.items()}
            renames = {**carried, **{o: n for o, n in more.items() if o not in renames.values()}}
        return raw, {was: now for was, now in renames.items() if was != now}

    return edit


def ask() -> LayoutEdit:
    """`update --ask`: the interview, with the current answers prefilled."""

    def edit(
        raw: dict[str, Any], tset: TemplateSet, project: Path
    ) -> tuple[dict[str, Any], dict[str, str]]:
        from scaffold.interview import interview_with_renames

        return interview_with_renames(
            tset,
            raw.get("project") or project.name,
            previous=raw,
            action="update {project}: apply these changes",
        )

    return edit


# ---------------------------------------------- writing dockergen.yml back, keeping its comments
#
# Choice: round-trip textually, block by block. A top-level key whose value didn't change keeps
# its lines verbatim; `services` is edited entry by entry (an untouched entry keeps its lines and
# the comments above it). A changed entry or key is re-dumped, losing comments inside it only.
# The result is re-parsed and must equal the intended data, else the whole file is re-dumped.

_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:")
_ITEM = re.compile(r"^(\s*)-(\s|$)")


def _filler(line: str) -> bool:
    return not line.strip() or line.lstrip().startswith("#")


def _dump(value: Any, indent: str = "") -> list[str]:
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False)
    return [indent + line for line in text.splitlines(True)]


def _top_blocks(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Top-level key -> (first line, end); trailing blank and comment lines stay outside."""
    starts = [(i, m.group(1)) for i, line in enumerate(lines) if (m := _TOP_KEY.match(line))]
    blocks: dict[str, tuple[int, int]] = {}
    for j, (i, key) in enumerate(starts):
        end = starts[j + 1][0] if j + 1 < len(starts) else len(lines)
        while end > i + 1 and _filler(lines[end - 1]):
            end -= 1
        blocks[key] = (i, end)
    return blocks


def _has_comment(lines: list[str]) -> bool:
    return any("#" in line for line in lines)


def _edit_items(
    body: list[str], old: list[dict[str, Any]], new: list[dict[str, Any]], renames: dict[str, str]
) -> tuple[list[str], bool] | None:
    """The lines under `services:` with only changed entries rewritten, and whether a comment
    inside a rewritten entry was lost (None: not a plain block list in the same order)."""
    starts = [i for i, line in enumerate(body) if _ITEM.match(line)]
    if len(starts) != len(old) or not starts:
        return None
    indent = body[starts[0]][: body[starts[0]].index("-")]
    if any(not body[i].startswith(indent + "-") for i in starts):
        return None
    # (comment lines above an entry, the entry's own lines); fillers between entries go below
    entries: list[tuple[list[str], list[str]]] = []
    above_from = 0
    for k, start in enumerate(starts):
        own_end = starts[k + 1] if k + 1 < len(starts) else len(body)
        while k + 1 < len(starts) and own_end > start + 1 and _filler(body[own_end - 1]):
            own_end -= 1
        entries.append((body[above_from:start], body[start:own_end]))
        above_from = own_end
    origin = {now: was for was, now in renames.items()}
    index = {entry["name"]: k for k, entry in enumerate(old)}
    out = list(entries[0][0])  # comments before the first entry are about the whole list
    lost, last = False, -1
    for item in new:
        found = index.get(origin.get(item["name"], item["name"]))
        if found is None:
            out += _dump([item], indent)
            continue
        k = found
        if k < last:
            return None  # reordered: the caller re-dumps the whole list
        last = k
        above, lines = entries[k]
        out += above if k else []
        if old[k] == item:
            out += lines
        else:
            out += _dump([item], indent)
            lost = lost or _has_comment(lines)
    return out, lost


def _edit_blocks(
    lines: list[str], old: dict[str, Any], new: dict[str, Any], renames: dict[str, str]
) -> tuple[str, bool] | None:
    blocks = _top_blocks(lines)
    if not set(old) <= set(blocks):
        return None
    replace: dict[int, tuple[int, list[str]]] = {}
    lost = False
    for key, (start, end) in blocks.items():
        if key not in old or old[key] == new.get(key):
            continue
        repl: list[str] = []
        if key in new:
            edited = None
            if key == "services" and lines[start].rstrip().endswith(":"):
                edited = _edit_items(lines[start + 1 : end], old[key], new[key], renames)
            if edited is not None:
                repl, lost = [lines[start], *edited[0]], lost or edited[1]
            else:
                repl, lost = _dump({key: new[key]}), lost or _has_comment(lines[start:end])
        else:
            lost = lost or _has_comment(lines[start:end])
        replace[start] = (end, repl)
    added = [line for key in new if key not in old for line in _dump({key: new[key]})]
    out: list[str] = []
    i = 0
    while i < len(lines):
        if added and i == blocks.get("services", (len(lines),))[0]:
            out, added = out + added, []  # new keys go above services, like `new` writes them
        if i in replace:
            out += replace[i][1]
            i = replace[i][0]
        else:
            out.append(lines[i])
            i += 1
    return "".join(out + added), lost


def rewrite_layout(
    text: str, old: dict[str, Any], new: dict[str, Any], renames: dict[str, str]
) -> tuple[str, bool]:
    """dockergen.yml text for `new`, keeping `text`'s comments where nothing changed.

    Returns the text and whether every comment survived. CRLF files stay CRLF.
    """
    crlf = "\r\n" in text
    lines = text.replace("\r\n", "\n").splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    edited = _edit_blocks(lines, old, new, renames)
    result: tuple[str, bool] | None = None
    if edited is not None:
        with contextlib.suppress(yaml.YAMLError):
            if yaml.safe_load(edited[0]) == new:
                result = edited[0], not edited[1]
    if result is None:
        header = [line for line in lines[:1] if line.startswith("# yaml-language-server")]
        result = "".join(header + _dump(new)), not _has_comment(lines[len(header) :])
    return (result[0].replace("\n", "\r\n") if crlf else result[0]), result[1]
