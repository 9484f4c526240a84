"""Three-way merge of one file: the last render (base), the user's copy (ours), the new render.

Pure functions over bytes, so every rule is testable without a project on disk. A side "changed"
a file only if its content differs from base; line endings alone are not a change of content, so
a user who converted a file to CRLF still gets template updates (written back in CRLF). Text
merges go through `merge3`; a file that isn't UTF-8 is never line-merged (markers would corrupt
it): when both sides changed it, the user's copy stays and the template's goes beside it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from merge3 import Merge3

YOURS = "yours"
TEMPLATE = "template"
SIDECAR_SUFFIX = ".dockergen-new"


class Outcome(enum.Enum):
    """What happened to one file; the report groups files by it."""

    UNCHANGED = "unchanged"  # nothing to write
    CREATED = "created"  # new in the template
    UPDATED = "updated"  # the user never touched it: replaced by the new render
    KEPT = "kept"  # the template didn't change it: the user's copy stays as is
    MERGED = "merged"  # both changed it, in different places
    CONFLICT = "conflict"  # both changed the same lines: markers written into the file
    SIDECAR = "conflict-sidecar"  # both changed it, no markers possible: template's copy beside it
    DELETED = "deleted"  # no longer generated and never edited
    ORPHANED = "orphaned"  # no longer generated but edited by the user: kept
    STILL_DELETED = "still-deleted"  # the user deleted it: it stays deleted (said every time)
    RESTORED = "restored"  # the user deleted it; --restore brought it back

    @property
    def conflicted(self) -> bool:
        return self in (Outcome.CONFLICT, Outcome.SIDECAR)


@dataclass(frozen=True)
class FileMerge:
    """The decision for one path: what the file should hold afterwards (None: absent)."""

    outcome: Outcome
    data: bytes | None
    sidecar: bytes | None = None  # content for `<path>.dockergen-new`


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_crlf(text: str) -> bool:
    """A file is CRLF when most of its line breaks are."""
    crlf = text.count("\r\n")
    return crlf > 0 and crlf >= text.count("\n") - crlf


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _pick(base: bool, ours: bool, theirs: bool) -> bool:
    """A property (CRLF, final newline) follows the user only where they changed it."""
    return ours if ours != base else theirs


def _style(text: str, *, crlf: bool, final_newline: bool) -> str:
    if not final_newline and text.endswith("\n"):
        text = text[:-1]
    elif final_newline and text and not text.endswith("\n"):
        text += "\n"
    return text.replace("\n", "\r\n") if crlf else text


def merge_text(base: str, ours: str, theirs: str) -> tuple[str, int]:
    """Line-merge LF texts; return the result and how many conflict blocks it has."""

    def lines(text: str) -> list[str]:
        # merge3 writes markers after a line; a last line without "\n" would swallow them
        return (text if text.endswith("\n") or not text else text + "\n").splitlines(True)

    m = Merge3(lines(base), lines(ours), lines(theirs))
    conflicts = sum(
        1 for region in m.reprocess_merge_regions(m.merge_regions()) if region[0] == "conflict"
    )
    merged = "".join(m.merge_lines(name_a=YOURS, name_b=TEMPLATE, reprocess=True))
    return merged, conflicts


def _merge_texts(base: str, ours: str, theirs: str) -> FileMerge:
    crlf = _pick(_is_crlf(base), _is_crlf(ours), _is_crlf(theirs))
    final = _pick(base.endswith("\n"), ours.endswith("\n"), theirs.endswith("\n"))
    b, o, t = _lf(base), _lf(ours), _lf(theirs)
    if o == t:
        return FileMerge(Outcome.UNCHANGED, ours.encode())
    if t == b:
        return FileMerge(Outcome.KEPT, ours.encode())
    if o == b:  # untouched apart from line endings: take the template's, in the user's style
        return FileMerge(Outcome.UPDATED, _style(t, crlf=crlf, final_newline=final).encode())
    merged, conflicts = merge_text(b, o, t)
    out = _style(merged, crlf=crlf, final_newline=final).encode()
    return FileMerge(Outcome.CONFLICT if conflicts else Outcome.MERGED, out)


def _same(a: bytes, b: bytes) -> bool:
    """Equal content, ignoring CRLF versus LF in text."""
    if a == b:
        return True
    ta, tb = _text(a), _text(b)
    return ta is not None and tb is not None and _lf(ta) == _lf(tb)


def merge_file(
    base: bytes | None, ours: bytes | None, theirs: bytes | None, *, restore: bool = False
) -> FileMerge:
    """Decide one path. base: last render, ours: the project's file, theirs: the new render."""
    if base is None:
        if theirs is None:  # never generated: the user's own file, not ours to judge
            return FileMerge(Outcome.UNCHANGED, ours)
        if ours is None:
            return FileMerge(Outcome.CREATED, theirs)
        if _same(ours, theirs):
            return FileMerge(Outcome.UNCHANGED, ours)
        # the user made a file where the template now makes one: theirs goes beside it
        return FileMerge(Outcome.SIDECAR, ours, sidecar=theirs)
    if theirs is None:
        if ours is None:
            return FileMerge(Outcome.UNCHANGED, None)
        if _same(ours, base):
            return FileMerge(Outcome.DELETED, None)
        return FileMerge(Outcome.ORPHANED, ours)
    if ours is None:
        if restore:
            return FileMerge(Outcome.RESTORED, theirs)
        return FileMerge(Outcome.STILL_DELETED, None)
    if ours == theirs:
        return FileMerge(Outcome.UNCHANGED, ours)
    if ours == base:
        return FileMerge(Outcome.UPDATED, theirs)
    b, o, t = _text(base), _text(ours), _text(theirs)
    if b is not None and o is not None and t is not None:
        return _merge_texts(b, o, t)
    if theirs == base:
        return FileMerge(Outcome.KEPT, ours)
    return FileMerge(Outcome.SIDECAR, ours, sidecar=theirs)
