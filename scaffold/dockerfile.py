"""A Dockerfile parser for the policy checks: stages, their base images, labels and the
external images each stage pulls (`FROM`, `COPY --from`, `RUN --mount=from=`), with build
arguments substituted as Docker does, and the `# syntax=` frontend image BuildKit pulls first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# A parser directive: `# key=value`, only in the run of such lines that opens the file.
_DIRECTIVE = re.compile(r"^#[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(\S*)[ \t]*$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::?([-+])([^}]*))?\}|([A-Za-z_]\w*))")


@dataclass
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    line: int
    base: str  # as written, variables resolved
    name: str | None
    from_stage: bool
    labels: dict[str, str] = field(default_factory=dict)
    images: list[tuple[int, str, str]] = field(default_factory=list)  # (line, ref, where)


def parse_dockerfile(text: str) -> list[Instruction]:
    """Logical instructions with their first line (continuations joined, comments dropped)."""
    out: list[Instruction] = []
    buf: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continuation are removed by Docker
        if not buf:
            start = number
        if stripped.endswith("\\"):
            buf.append(stripped[:-1])
            continue
        buf.append(stripped)
        text_line = " ".join(part.strip() for part in buf if part.strip())
        buf = []
        keyword, _, args = text_line.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    if buf:
        text_line = " ".join(part.strip() for part in buf if part.strip())
        keyword, _, args = text_line.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    return out


def _words(args: str) -> list[str]:
    """Split like Docker's shell-word lexer (LABEL, ARG): quotes and backslash escapes."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    quote: str | None = None
    i = 0
    while i < len(args):
        c = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else None
        if quote == "'":
            if c == "'":
                quote = None
            else:
                cur.append(c)
        elif quote == '"':
            if c == '"':
                quote = None
            elif c == "\\" and nxt is not None and nxt in '"$\\':
                cur.append(nxt)
                i += 1
            else:
                cur.append(c)
        elif c.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            in_word = True
            if c in "'\"":
                quote = c
            elif c == "\\" and nxt is not None:
                cur.append(nxt)
                i += 1
            else:
                cur.append(c)
        i += 1
    if in_word:
        words.append("".join(cur))
    return words


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, op, word = match.group(1) or match.group(4), match.group(2), match.group(3)
        current = variables.get(name)
        if op == "-":
            return current if current else word
        if op == "+":
            return word if current else ""
        return current if current is not None else match.group(0)

    return _VAR.sub(value, text)


def _label_pairs(args: str) -> dict[str, str]:
    words = _words(args)
    if len(words) >= 2 and "=" not in words[0]:  # legacy `LABEL key value`
        return {words[0]: " ".join(words[1:])}
    pairs: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            pairs[key] = value
    return pairs


def dockerfile_stages(text: str) -> list[Stage]:
    """Stages with their base image, labels and the external images each one pulls."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    names: set[str] = set()
    for ins in parse_dockerfile(text):
        if ins.keyword == "ARG" and not stages:
            for word in _words(ins.args):
                key, sep, value = word.partition("=")
                if sep:
                    args[key] = value
            continue
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            base = _substitute(words[0], args) if words else ""
            name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            from_stage = base.lower() in names
            stage = Stage(ins.line, base, name, from_stage)
            if from_stage:
                parent = next(s for s in reversed(stages) if s.name == base.lower())
                stage.labels = dict(parent.labels)
            elif base:
                stage.images.append((ins.line, base, "FROM"))
            stages.append(stage)
            if name:
                names.add(name)
            continue
        if not stages:
            continue
        stage = stages[-1]
        if ins.keyword == "LABEL":
            stage.labels.update(_label_pairs(ins.args))
        elif ins.keyword in ("COPY", "ADD", "RUN"):
            for word in ins.args.split():
                if not word.startswith("--"):
                    break
                ref = None
                if word.startswith("--from="):
                    ref = word.removeprefix("--from=")
                elif word.startswith("--mount="):
                    for part in word.removeprefix("--mount=").split(","):
                        if part.startswith("from="):
                            ref = part.removeprefix("from=")
                if ref is None:
                    continue
                ref = _substitute(ref.strip("\"'"), args)
                if ref.lower() in names or ref.isdigit():
                    continue
                stage.images.append((ins.line, ref, f"{ins.keyword} --from"))
    return stages


def syntax_image(text: str) -> tuple[int, str] | None:
    """(line, image) of the `# syntax=` directive, read as BuildKit does: directives count only
    at the top of the file, before any other comment, blank line or instruction."""
    for number, line in enumerate(text.splitlines(), 1):
        match = _DIRECTIVE.match(line)
        if match is None:
            return None
        if match.group(1).lower() == "syntax" and match.group(2):
            return number, match.group(2)
    return None
