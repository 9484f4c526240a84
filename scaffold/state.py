"""The project's .dockergen/ state: the pristine last render and what produced it.

Keeping the last render inside the project is what lets an update merge three ways without git
in the project or history in the template set.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.errors import StateError

STATE_DIR = ".dockergen"
BASE_DIR = "base"
STATE_FILE = "state.json"
FORMAT = 1


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tree_files(root: Path, *, skip: tuple[str, ...] = (STATE_DIR,)) -> dict[str, Path]:
    """Relative POSIX path -> file, for every regular file below root (skipping top dirs)."""
    files: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in skip or not path.is_file():
            continue
        files[rel.as_posix()] = path
    return files


@dataclass
class State:
    template_source: str
    template_name: str
    template_version: str
    dockergen_version: str
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **self.__dict__}, indent=2, sort_keys=True) + "\n"


def write_state(project_out: Path, rendered: Path, state: State) -> None:
    """Save the pristine copy of `rendered` and state.json under project_out/.dockergen/."""
    base = project_out / STATE_DIR / BASE_DIR
    if base.exists():
        shutil.rmtree(base)
    files = tree_files(rendered)
    for rel, src in files.items():
        dst = base / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        state.files[rel] = digest(src.read_bytes())
    (project_out / STATE_DIR / STATE_FILE).write_text(state.to_json(), encoding="utf-8")


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding `.dockergen/` and dockergen.yml, as git
    finds its work tree: a project command works from any of the project's subfolders."""
    from scaffold.layout import LAYOUT_FILE

    start = start.absolute()
    for folder in (start, *start.parents):
        if (folder / STATE_DIR).is_dir() and (folder / LAYOUT_FILE).is_file():
            return folder
    return None


def read_state(project: Path) -> State:
    path = project / STATE_DIR / STATE_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(
            f"{project}: no {STATE_DIR}/{STATE_FILE}; is this a dockergen project?"
        ) from None
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: corrupt state ({exc.__class__.__name__})") from None
    try:
        if raw.pop("format") != FORMAT:
            raise StateError(f"{path}: unsupported state format")
        state = State(**raw)
    except (KeyError, TypeError, AttributeError):
        raise StateError(f"{path}: corrupt state (unexpected fields)") from None
    base = project / STATE_DIR / BASE_DIR
    for rel, want in state.files.items():
        try:
            got = digest((base / rel).read_bytes())
        except OSError:
            raise StateError(f"{path}: corrupt state (pristine copy of {rel} is missing)") from None
        if got != want:
            raise StateError(f"{path}: corrupt state (pristine copy of {rel} was changed)")
    return state
