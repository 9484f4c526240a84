"""The project's .dockergen/ folder, owned here: every name in it, reading and writing it.

It holds the pristine last render (base/), what produced it (state.json, template.json), the
editor schema of dockergen.yml, and the journal's files (txn/, txn.done/, written by
scaffold.journal under the names declared here). Keeping the last render inside the project is
what lets an update merge three ways without git in the project or history in the template set.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from scaffold.errors import StateError

STATE_DIR = ".dockergen"
BASE_DIR = "base"  # the pristine copy of the last render
STATE_FILE = "state.json"
TEMPLATE_FILE = "template.json"  # where a non-bundled set came from, commit included
SCHEMA_FILE = "dockergen.schema.json"  # for editors: dockergen.yml names it
TXN_DIR = "txn"  # the journal of an update being applied
DONE_DIR = "txn.done"  # a finished journal, removed once it is no longer needed
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


def schema_path() -> Path:
    """The shipped JSON schema of dockergen.yml, copied into every project's .dockergen/."""
    return Path(__file__).resolve().parent / "schema" / SCHEMA_FILE


def write_state(
    project_out: Path, rendered: Path, state: State, *, template_record: str | None = None
) -> None:
    """Write project_out/.dockergen/: the editor schema, template.json (for a set that isn't
    bundled), the pristine copy of `rendered`, and state.json last."""
    folder = project_out / STATE_DIR
    folder.mkdir(exist_ok=True)
    (folder / SCHEMA_FILE).write_bytes(schema_path().read_bytes())
    if template_record is not None:
        (folder / TEMPLATE_FILE).write_text(template_record, encoding="utf-8")
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
