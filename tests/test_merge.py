"""scaffold.merge: the per-file decision table and the line merge, without a project on disk."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaffold.merge import Outcome, merge_file, merge_text

BASE = b"".join(f"line {i}\n".encode() for i in range(1, 13))


def edit(data: bytes, line: int, text: str) -> bytes:
    lines = data.decode().splitlines(True)
    lines[line - 1] = text + "\n"
    return "".join(lines).encode()


def crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


# ---------------------------------------------------------------- the decision table


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "restore", "outcome", "data"),
    [
        # new in the template
        (None, None, b"t\n", False, Outcome.CREATED, b"t\n"),
        # the user's own file that the template never made: not ours to judge
        (None, b"mine\n", None, False, Outcome.UNCHANGED, b"mine\n"),
        # the user made the same file the template now makes
        (None, b"same\n", b"same\n", False, Outcome.UNCHANGED, b"same\n"),
        # untouched by the user: replaced
        (BASE, BASE, edit(BASE, 3, "new"), False, Outcome.UPDATED, edit(BASE, 3, "new")),
        # unchanged by the template: the user's copy stays
        (BASE, edit(BASE, 3, "u"), BASE, False, Outcome.KEPT, edit(BASE, 3, "u")),
        # both made the same change
        (
            BASE,
            edit(BASE, 3, "x"),
            edit(BASE, 3, "x"),
            False,
            Outcome.UNCHANGED,
            edit(BASE, 3, "x"),
        ),
        # no longer generated, never edited
        (BASE, BASE, None, False, Outcome.DELETED, None),
        # no longer generated, edited: kept
        (BASE, edit(BASE, 2, "u"), None, False, Outcome.ORPHANED, edit(BASE, 2, "u")),
        # gone on both sides
        (BASE, None, None, False, Outcome.UNCHANGED, None),
        # deleted by the user, template unchanged: stays deleted, said so
        (BASE, None, BASE, False, Outcome.STILL_DELETED, None),
        # deleted by the user, template changed: stays deleted, said so
        (BASE, None, edit(BASE, 1, "t"), False, Outcome.STILL_DELETED, None),
        # ... unless --restore
        (BASE, None, edit(BASE, 1, "t"), True, Outcome.RESTORED, edit(BASE, 1, "t")),
        (BASE, None, BASE, True, Outcome.RESTORED, BASE),
    ],
)
def test_decision_table(
    base: bytes | None,
    ours: bytes | None,
    theirs: bytes | None,
    restore: bool,
    outcome: Outcome,
    data: bytes | None,
) -> None:
    result = merge_file(base, ours, theirs, restore=restore)
    assert (result.outcome, result.data, result.sidecar) == (outcome, data, None)


def test_user_file_where_the_template_now_generates_one_is_never_touched() -> None:
    result = merge_file(None, b"mine\n", b"template\n")
    assert result.outcome is Outcome.SIDECAR
    assert result.data == b"mine\n"
    assert result.sidecar == b"template\n"


# ---------------------------------------------------------------- line merges


def test_changes_in_different_places_merge() -> None:
    result = merge_file(BASE, edit(BASE, 2, "mine"), edit(BASE, 10, "theirs"))
    assert result.outcome is Outcome.MERGED
    assert result.data == edit(edit(BASE, 2, "mine"), 10, "theirs")


def test_overlapping_changes_get_markers() -> None:
    result = merge_file(BASE, edit(BASE, 5, "mine"), edit(BASE, 5, "theirs"))
    assert result.outcome is Outcome.CONFLICT
    expected = BASE.replace(
        b"line 5\n", b"<<<<<<< yours\nmine\n=======\ntheirs\n>>>>>>> template\n"
    )
    assert result.data == expected


def test_reprocess_keeps_the_common_part_of_a_conflict_outside_the_markers() -> None:
    base = "a\nb\nc\n"
    ours = "a\nX\nshared\nc\n"
    theirs = "a\nY\nshared\nc\n"
    merged, conflicts = merge_text(base, ours, theirs)
    assert conflicts == 1
    assert merged == "a\n<<<<<<< yours\nX\n=======\nY\n>>>>>>> template\nshared\nc\n"


def test_conflict_at_a_last_line_without_newline_keeps_markers_on_their_own_lines() -> None:
    base = b"a\nb\nc"
    result = merge_file(base, b"a\nb\nmine", b"a\nb\ntheirs")
    assert result.outcome is Outcome.CONFLICT
    assert result.data is not None
    assert b"mine\n=======\ntheirs\n>>>>>>> template" in result.data


# ---------------------------------------------------------------- line endings


def test_crlf_conversion_alone_is_not_an_edit() -> None:
    theirs = edit(BASE, 4, "template change")
    result = merge_file(BASE, crlf(BASE), theirs)
    assert result.outcome is Outcome.UPDATED
    assert result.data == crlf(theirs)


def test_crlf_copy_with_an_edit_merges_and_stays_crlf() -> None:
    ours = crlf(edit(BASE, 2, "mine"))
    result = merge_file(BASE, ours, edit(BASE, 10, "theirs"))
    assert result.outcome is Outcome.MERGED
    assert result.data == crlf(edit(edit(BASE, 2, "mine"), 10, "theirs"))


def test_crlf_conflict_is_per_line_not_whole_file() -> None:
    result = merge_file(BASE, crlf(edit(BASE, 5, "mine")), edit(BASE, 5, "theirs"))
    assert result.outcome is Outcome.CONFLICT
    assert result.data is not None
    assert result.data.count(b"<<<<<<<") == 1
    assert b"line 1\r\n" in result.data and b"\nline 1\n" not in b"\n" + result.data


def test_crlf_copy_unchanged_by_template_is_kept_byte_for_byte() -> None:
    result = merge_file(BASE, crlf(BASE), BASE)
    assert result.outcome is Outcome.UNCHANGED
    assert result.data == crlf(BASE)


def test_crlf_copy_of_a_removed_file_counts_as_unedited() -> None:
    assert merge_file(BASE, crlf(BASE), None).outcome is Outcome.DELETED


def test_a_template_that_switches_to_crlf_wins_when_the_user_kept_lf() -> None:
    ours = edit(BASE, 2, "mine")
    result = merge_file(BASE, ours, crlf(edit(BASE, 10, "t")))
    assert result.data == crlf(edit(edit(BASE, 2, "mine"), 10, "t"))


# ---------------------------------------------------------------- binary files

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"


def test_binary_untouched_by_user_is_replaced() -> None:
    assert merge_file(PNG, PNG, PNG + b"\x01").data == PNG + b"\x01"


def test_binary_changed_only_by_user_is_kept() -> None:
    result = merge_file(PNG, PNG + b"\x02", PNG)
    assert (result.outcome, result.data) == (Outcome.KEPT, PNG + b"\x02")


def test_binary_changed_on_both_sides_is_a_conflict_without_markers() -> None:
    result = merge_file(PNG, PNG + b"\x02", PNG + b"\x03")
    assert result.outcome is Outcome.SIDECAR
    assert result.outcome.conflicted
    assert result.data == PNG + b"\x02"
    assert result.sidecar == PNG + b"\x03"


def test_text_turned_binary_by_the_user_is_not_line_merged() -> None:
    result = merge_file(BASE, b"\xff\xfe" + BASE, edit(BASE, 1, "t"))
    assert result.outcome is Outcome.SIDECAR
    assert result.data == b"\xff\xfe" + BASE


# ---------------------------------------------------------------- property

LINES = [f"template line {i}\n" for i in range(40)]


@st.composite
def non_overlapping(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    """base, theirs (random line changes), ours (random edits at least 2 lines away)."""
    base = list(LINES)
    changed = sorted(draw(st.sets(st.integers(0, len(base) - 1), min_size=1, max_size=5)))
    theirs = [f"template v2 {i}\n" if i in changed else line for i, line in enumerate(base)]
    far = [i for i in range(len(base)) if all(abs(i - c) > 2 for c in changed)]
    if not far:
        return base, theirs, base
    picks = draw(st.lists(st.sampled_from(far), min_size=1, max_size=4, unique=True))
    ours = list(base)
    for n, i in enumerate(sorted(picks, reverse=True)):
        if draw(st.booleans()):
            ours[i] = f"user changed {n}\n"
        else:
            ours.insert(i, f"user inserted {n}\n")
    return base, theirs, ours


@settings(max_examples=300, deadline=None)
@given(non_overlapping())
def test_edits_far_from_template_changes_always_merge_cleanly(
    case: tuple[list[str], list[str], list[str]],
) -> None:
    base, theirs, ours = case
    merged, conflicts = merge_text("".join(base), "".join(ours), "".join(theirs))
    assert conflicts == 0
    # exactly: the user's edits replayed onto the template's new version
    expected = list(theirs)
    for tag, i1, i2, j1, j2 in reversed(difflib.SequenceMatcher(a=base, b=ours).get_opcodes()):
        if tag != "equal":
            expected[i1:i2] = ours[j1:j2]
    assert merged == "".join(expected)
