"""What the user reads after a command: short, plain and in the order they'll need it."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from scaffold.merge import SIDECAR_SUFFIX, Outcome
from scaffold.pipeline import NewResult

if TYPE_CHECKING:
    from scaffold.adopt import Found, InitResult
    from scaffold.update import DriftResult, UpdateResult


def _shown(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except (ValueError, OSError):  # another drive; or the working directory is gone
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def new_report(result: NewResult) -> str:
    """What `new` made; `result.origin` says where the project name came from, when that isn't
    plain (`new --layout`)."""
    origin = result.origin
    layout = result.layout
    files = _count(len(result.files), "file")
    why = f"{origin}; " if origin else ""
    lines = [f"Created {layout.project} in {_shown(result.target)} ({why}{files}):"]
    for svc in result.plan.services:
        via = [s.name for s in result.plan.services if svc.name in s.upstreams]
        where = (
            f"127.0.0.1:{svc.publish}"
            if svc.publish is not None
            else f"through {', '.join(via)} only"
            if via
            else "internal network only"
        )
        built = "Dockerfile, .dockerignore, starter app" if svc.build else svc.image
        lines.append(f"  {svc.name:<16} {svc.kind:<9} {where:<22} {built}")
    if result.secrets:
        lines.append(
            f"Random secrets written to secrets/ ({_count(len(result.secrets), 'file')}, "
            "git-ignored)."
        )
    lines += [
        "Next:",
        f"  cd {_shown(result.target)} && docker compose up --build --wait",
        "  edit dockergen.yml, then `dockergen update` to regenerate without losing your edits",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ init


def detection_lines(found: Found) -> list[str]:
    """What detection found and why (one line per reason), then its warnings."""
    lines = ["Detected:"] if found.reasons else []
    lines += [f"  {text}" for _, text in found.reasons]
    lines += [f"warning: {w}" for w in found.warnings]
    return lines


def init_report(result: InitResult) -> str:
    """What `init` wrote around the repository's code: per service where it is built from and
    how it is probed; the user's files kept (dockergen's beside them, with the diff) or
    replaced (where the originals are); what to run next."""
    plan = result.plan
    lines = detection_lines(result.found)
    lines.append(
        f"Initialised {result.layout.project} in {_shown(result.root)} "
        f"({_count(len(result.files), 'file')}, no starter app; your code is untouched):"
    )
    for svc in plan.services:
        if svc.build:
            facts = [posixpath.normpath(posixpath.join(svc.folder, svc.dockerfile))]
            facts += [f"{svc.package_manager}"] if svc.package_manager else []
            facts += [f"version {svc.version}"] if svc.version else []
            if svc.health:
                facts.append(
                    "health: port accepts connections"
                    if svc.health == "tcp"
                    else f"health: GET {svc.health}"
                )
            built = ", ".join(facts)
        else:
            built = svc.image or ""
        lines.append(f"  {svc.name:<16} {svc.kind:<9} {built}")
    lines += [f"note: {note}" for note in result.notes]
    if result.beside:
        lines.append("Kept your files; dockergen's stand beside them (dockergen.yml `beside`):")
        lines += [f"  {ours:<40} beside {theirs}" for theirs, ours in result.beside]
    if result.replaced:
        lines.append("Replaced (--replace); the originals are in .dockergen/replaced/:")
        lines += [f"  {rel}" for rel in result.replaced]
    if result.secrets:
        lines.append(
            f"Random secrets written to secrets/ ({_count(len(result.secrets), 'file')}, "
            "git-ignored)."
        )
    compose = plan.compose_file
    up = "docker compose" + ("" if compose == "docker-compose.yml" else f" -f {compose}")
    lines += [
        "Next:",
        "  dockergen verify        # build it, start a copy, wait until every service is healthy",
        f"  {up} up --build --wait",
        "  edit dockergen.yml, then `dockergen update` to regenerate without losing your edits",
    ]
    if result.diff:
        lines += ["", "Your files -> dockergen's:", result.diff.rstrip("\n")]
    return "\n".join(lines)


# ------------------------------------------------------------------ update, add, remove, diff

_LABELS: dict[Outcome, tuple[str, str]] = {
    Outcome.CREATED: ("created", ""),
    Outcome.UPDATED: ("updated", ""),
    Outcome.MERGED: ("merged", "your edits kept"),
    Outcome.CONFLICT: ("CONFLICT", "resolve the <<<<<<< yours / >>>>>>> template blocks"),
    Outcome.SIDECAR: (
        "CONFLICT",
        "yours kept; the template's version is in {path}" + SIDECAR_SUFFIX,
    ),
    Outcome.DELETED: ("deleted", "no longer generated"),
    Outcome.ORPHANED: ("kept", "no longer generated, but you edited it"),
    Outcome.STILL_DELETED: ("deleted", "by you: kept deleted; --restore brings it back"),
    Outcome.RESTORED: ("restored", ""),
    Outcome.KEPT: ("kept", ""),
    Outcome.UNCHANGED: ("unchanged", ""),
}


def _kept_deleted(path: str) -> str:
    label, detail = _LABELS[Outcome.STILL_DELETED]
    return f"  {label:<9} {path} ({detail})"


def _version_note(template: str, old: str, new: str) -> str:
    return (
        f"template set {template} {old} -> {new}"
        if old != new
        else f"template set {template} {new}"
    )


def update_report(result: UpdateResult) -> str:
    """The lines a user reads after `update`, `add` or `remove` (warnings go apart)."""
    lines: list[str] = []
    if not result.changed:
        lines.append(
            f"{result.layout.project} is up to date "
            f"({_version_note(result.template, result.old_version, result.new_version)})."
        )
        lines += [_kept_deleted(f.path) for f in result.files if f.outcome is Outcome.STILL_DELETED]
        lines += [result.available] if result.available else []
        return "\n".join(lines)
    if result.dry_run and result.diff:
        lines.append(result.diff.rstrip("\n"))
    verb = "Would update" if result.dry_run else "Updated"
    note = _version_note(result.template, result.old_version, result.new_version)
    lines.append(f"{verb} {result.layout.project} ({note}):")
    gone = {folder: 0 for folder in result.removed_folders}  # one line per removed service
    for f in result.files:
        folder = f.path.split("/", 1)[0]
        if f.outcome is Outcome.DELETED and folder in gone:
            gone[folder] += 1
    for folder, count in gone.items():
        if count:
            lines.append(f"  {'deleted':<9} {folder}/ ({count} generated files you hadn't edited)")
    for f in result.files:
        if f.outcome is Outcome.DELETED and f.path.split("/", 1)[0] in gone:
            continue
        label, detail = _LABELS[f.outcome]
        detail = detail.format(path=f.path)
        if f.moved_from:
            label = "moved" if f.outcome in (Outcome.UNCHANGED, Outcome.KEPT) else label
            detail = ", ".join(x for x in (f"from {f.moved_from}", detail) if x)
        lines.append(f"  {label:<9} {f.path}" + (f" ({detail})" if detail else ""))
    lines += [f"  {'secret':<9} {s} (new, random)" for s in result.secrets]
    lines += [f"  {'unused':<9} {s} (its service is gone; kept)" for s in result.unused_secrets]
    lines += [
        f"  {'volume':<9} {v} (kept with its data; once its container is gone, e.g. after "
        f"`docker compose up -d --remove-orphans`, `docker volume rm {v}` deletes it)"
        for v in result.kept_volumes
    ]
    lines += [
        f"  {'port':<9} {u.service} is no longer published on 127.0.0.1:{u.port} ("
        + (f"reach it through {', '.join(u.via)}; " if u.via else "")
        + f"to keep it published: dockergen update --set services.{u.service}.publish={u.port})"
        for u in result.unpublished
    ]
    written = [f for f in result.files if f.outcome is not Outcome.STILL_DELETED]
    if not written and not result.secrets:
        lines.append("  only dockergen's own state in .dockergen/ changed")
    lines += [result.available] if result.available else []
    return "\n".join(lines)


def drift_report(result: DriftResult) -> str:
    """`diff`: a summary, then the unified diff of the pristine copy against a fresh render."""
    lines: list[str] = []
    name = result.name or result.project.name
    note = _version_note(result.template, result.old_version, result.new_version)
    if result.conflicts:
        lines.append(f"Unresolved conflicts in {name}; update, add, remove and verify refuse until")
        lines.append("they are resolved (no <<<<<<< yours block, no .dockergen-new copy left):")
        lines += [f"  C {path}" for path in result.conflicts]
    if not result.pending:
        lines.append(f"{name} is up to date ({note}).")
        lines += [_kept_deleted(path) for path in result.kept_deleted]
        lines += [result.available] if result.available else []
        return "\n".join(lines)
    lines.append(f"Update pending for {name} ({note}); `dockergen update` applies it:")
    lines += [f"  {code} {path}" for code, path in result.status]
    lines += [_kept_deleted(path) for path in result.kept_deleted]
    if result.diff:
        lines.append(result.diff.rstrip("\n"))
    lines += [result.available] if result.available else []
    return "\n".join(lines)
