"""Where a template set comes from: a bundled name, a local folder, or a git URL at a ref.

`parse` classifies what the user typed; `fetch` turns it into a folder holding the set's files as
they are at that source (and ref), plus the commit a git source resolved to.

Git sources use the `git` CLI and a cache (`~/.cache/dockergen/sets/<hash of the URL>/`):
- `mirror.git`: a bare mirror, cloned once and fetched again only when needed (no ref, a branch,
  or a ref it doesn't have yet; a tag or commit already present needs no network);
- `checkouts/<commit>/`: a detached checkout of each commit used, without its `.git`, so two
  versions of one set can be used side by side and nothing there moves under a running render.
A ref is looked up as git does: a tag wins over a branch of the same name; commits may be
abbreviated. The cache can be deleted at any time.

The cache also keeps `recent.json`, the sets used lately, for `dockergen templates list`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from scaffold.errors import TemplateSetError, UsageError

SourceKind = Literal["bundled", "path", "git"]
RECENT_FILE = "recent.json"
MAX_RECENT = 20
GIT_TIMEOUT = 300

_URL = re.compile(r"^(git\+)?[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SCP = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")
_REF = re.compile(r"^[^\s~^:?*\[\\\x00-\x1f\x7f-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Source:
    """A parsed template source. `location` is what dockergen.yml records as `template`."""

    kind: SourceKind
    location: str
    ref: str | None = None

    def __str__(self) -> str:
        return f"{self.location}@{self.ref}" if self.ref else self.location


@dataclass(frozen=True)
class Fetched:
    root: Path
    commit: str | None = None


def bundled_root() -> Path:
    """Bundled sets: inside the wheel as scaffold/templates, or ../templates in a checkout."""
    package = Path(__file__).resolve().parent.parent  # scaffold/
    for candidate in (package / "templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise TemplateSetError("the bundled template sets are missing from this installation")


def bundled_names() -> list[str]:
    return sorted(p.name for p in bundled_root().iterdir() if (p / "set.yml").is_file())


def cache_dir() -> Path:
    """$DOCKERGEN_CACHE_DIR, else $XDG_CACHE_HOME/dockergen, else ~/.cache/dockergen."""
    explicit = os.environ.get("DOCKERGEN_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dockergen"


def is_git_url(text: str) -> bool:
    """https://, ssh://, git://, file://, git+..., user@host:path, or a path ending in .git."""
    location, _ = _split_at(text)
    return bool(_URL.match(text) or _SCP.match(text)) or location.rstrip("/").endswith(".git")


def _split_at(text: str) -> tuple[str, str | None]:
    """`URL@REF` -> (URL, REF): the ref is an `@` in the last path segment."""
    if _SCP.match(text) and not _URL.match(text):
        head, _, path = text.partition(":")
        start = len(head) + 1 + path.rfind("/") + 1
    else:
        start = text.rfind("/") + 1
    tail = text[start:]
    if "@" not in tail:
        return text, None
    name, _, ref = tail.rpartition("@")
    if not name:  # an scp-style user@host with nothing after it
        return text, None
    return text[:start] + name, ref or None


def split_ref(text: str) -> tuple[str, str | None]:
    """Split `URL@REF` for git sources; anything else comes back unchanged with no ref."""
    return _split_at(text) if is_git_url(text) else (text, None)


def check_ref(ref: str) -> str:
    ref = ref.strip()
    if not ref or not _REF.fullmatch(ref) or ".." in ref or ref.endswith((".", "/", ".lock")):
        raise UsageError(f"{ref!r} is not a git tag, branch or commit")
    return ref


def _path_like(text: str) -> bool:
    return "/" in text or os.sep in text or text.startswith((".", "~"))


def _names_folder(location: str, path: Path) -> bool:
    """A bare word is a bundled set's name, unless a set folder of that name is at `path`."""
    return _path_like(location) or (path / "set.yml").is_file()


def relative_location(text: str, base: Path) -> str | None:
    """The folder path in `text` (without an `@ref`) when it is relative to `base`; None for a
    URL, an absolute or `~` path, or a bundled set's name."""
    text = text.strip()
    if not text or _URL.match(text) or _SCP.match(text) or text.startswith("~"):
        return None
    location, _ = split_ref(text)  # ../sets.git@v2
    path = Path(location)
    if path.is_absolute():
        return None
    return location if _names_folder(location, base / path) else None


def rebase(text: str, frm: Path, to: Path) -> str:
    """A set folder given relative to `frm`, re-expressed relative to `to`; anything else as is.

    dockergen.yml records a set folder relative to the project (when it was given relatively),
    so a repository holding both can be cloned anywhere.
    """
    location = relative_location(text, frm)
    if location is None:
        return text
    _, ref = split_ref(text.strip())
    rel = os.path.relpath(os.path.abspath(frm / location), os.path.abspath(to))
    if not _path_like(rel):
        rel = f"./{rel}"  # a bare `acme` would read as a bundled set's name
    return rel + (f"@{ref}" if ref else "")


def recorded_location(text: str, frm: Path, project: Path) -> tuple[str, str | None]:
    """How dockergen.yml records the set `text` given relative to `frm` (the current folder,
    a layout file's folder, or the project): a relative set folder stays relative, re-expressed
    from the project; anything else by its canonical location. Also the `@ref` it names, if any.
    The one place this rule is written (`new`, `update --set template=`, every render)."""
    if frm.absolute() != project.absolute():
        text = rebase(text, frm, project)
    location = relative_location(text, project)
    if location is not None:
        return location, split_ref(text.strip())[1]
    source = parse(text, base=project)
    return source.location, source.ref


def parse(text: str, ref: str | None = None, *, base: Path | None = None) -> Source:
    """Classify a template source; relative paths are taken from `base` (default: cwd).

    Relative paths come from the command line (cwd) or from dockergen.yml (the project).
    """
    text = text.strip()
    if not text:
        raise UsageError("the template source is empty")
    if text.startswith("-"):
        raise UsageError(f"{text!r} is not a template source")
    location, inline = split_ref(text)
    if inline and ref and inline != ref:
        raise UsageError(f"{text} names ref {inline!r} but --template-ref says {ref!r}")
    picked = ref or inline
    ref = check_ref(picked) if picked else None
    if _URL.match(location) or _SCP.match(location):
        return Source("git", location.removeprefix("git+"), ref)
    path = Path(location).expanduser()
    if base is not None and not path.is_absolute():
        path = Path(os.path.normpath(base / path))  # lexically: a new project has no folder yet
    if not _names_folder(location, path):
        names = bundled_names()
        if location in names:
            if ref:
                raise UsageError(
                    f"--template-ref needs a git source; {location!r} is a bundled set"
                )
            return Source("bundled", location, None)
        raise TemplateSetError(
            f"unknown template set {location!r}; bundled sets: {', '.join(names)} "
            "(or give a folder or a git URL)"
        )
    if not path.is_dir():
        # a path taken from the project reads better whole than relative to a folder not named
        shown = (
            path if base is not None and not Path(location).expanduser().is_absolute() else location
        )
        raise TemplateSetError(f"{shown}: no such folder")
    path = path.resolve()
    bare = (path / "HEAD").is_file() and (path / "objects").is_dir()
    is_repo = (path / ".git").exists() or bare
    if ref or (is_repo and location.rstrip("/").endswith(".git")):
        if not is_repo:
            raise UsageError(
                f"--template-ref needs a git source; {location} is not a git repository"
            )
        return Source("git", str(path), ref)
    if not (path / "set.yml").is_file():
        raise TemplateSetError(f"{location}: not a template set (no set.yml)")
    return Source("path", str(path), None)


def fetch(source: Source) -> Fetched:
    """The folder holding `source`'s files (for git: a cached detached checkout)."""
    if source.kind == "bundled":
        return Fetched(bundled_root() / source.location)
    if source.kind == "path":
        root = Path(source.location)
        if not (root / "set.yml").is_file():
            raise TemplateSetError(f"{source.location}: not a template set (no set.yml)")
        return Fetched(root)
    return _fetch_git(source)


# ------------------------------------------------------------------------------------- git


class _GitFailed(Exception):
    pass


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "LC_ALL": "C", "GIT_CONFIG_PARAMETERS": ""}
    try:
        interactive = sys.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        env["GIT_TERMINAL_PROMPT"] = "0"
    cmd = ["git", "-c", "protocol.ext.allow=never", "-c", "advice.detachedHead=false", *args]
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=GIT_TIMEOUT
        )
    except FileNotFoundError:
        raise TemplateSetError(
            "git is not installed; it is needed for git template sources"
        ) from None
    except subprocess.TimeoutExpired:
        raise _GitFailed(f"git {args[0]} timed out after {GIT_TIMEOUT}s") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
        raise _GitFailed((fatal or lines or [f"exit {proc.returncode}"])[-1].strip())
    return proc.stdout


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One dockergen at a time per cached repository (fetch and checkout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locking
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _resolve(mirror: Path, ref: str | None) -> str | None:
    try:
        out = _git("rev-parse", "--verify", "--quiet", f"{ref or 'HEAD'}^{{commit}}", cwd=mirror)
    except _GitFailed:
        return None
    return out.strip() or None


def _is_stable(mirror: Path, ref: str | None) -> bool:
    """A tag or a full commit we already have: no need to ask the remote again."""
    if ref is None:
        return False
    if _SHA.fullmatch(ref):
        return _resolve(mirror, ref) is not None
    try:
        _git("show-ref", "--verify", "--quiet", f"refs/tags/{ref}", cwd=mirror)
    except _GitFailed:
        return False
    return True


def repo_dir(url: str) -> Path:
    return cache_dir() / "sets" / hashlib.sha256(url.encode()).hexdigest()[:16]


def _fetch_git(source: Source) -> Fetched:
    url, ref = source.location, source.ref
    where = f"{url}@{ref}" if ref else url
    root = repo_dir(url)
    mirror = root / "mirror.git"
    with _locked(root / "lock"):
        if not (mirror / "HEAD").is_file():
            tmp = root / f"mirror.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                _git("clone", "--mirror", "--quiet", "--", url, str(tmp))
            except _GitFailed as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                raise TemplateSetError(f"can't clone template set {url}: {exc}") from None
            tmp.rename(mirror)
        elif not _is_stable(mirror, ref):
            try:
                _git("fetch", "--quiet", "--prune", "--force", "--tags", "origin", cwd=mirror)
            except _GitFailed as exc:
                if _resolve(mirror, ref) is None:
                    raise TemplateSetError(f"can't fetch template set {url}: {exc}") from None
                # offline: the cached copy of this ref is used
        commit = _resolve(mirror, ref)
        if commit is None:
            what = f"no tag, branch or commit {ref!r}" if ref else "no commits"
            raise TemplateSetError(f"template set {url}: {what}")
        checkout = root / "checkouts" / commit
        if not (checkout / "set.yml").is_file():
            _checkout(mirror, commit, checkout, where)
    return Fetched(checkout, commit)


def _checkout(mirror: Path, commit: str, dst: Path, where: str) -> None:
    tmp = dst.parent / f".{commit}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        _git("clone", "--quiet", "--no-checkout", "--shared", "--", str(mirror), str(tmp))
        _git("checkout", "--quiet", "--detach", commit, cwd=tmp)
    except _GitFailed as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise TemplateSetError(f"can't check out template set {where}: {exc}") from None
    if not (tmp / "set.yml").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        raise TemplateSetError(
            f"{where} ({commit[:12]}): not a template set (no set.yml at the top of the repository)"
        )
    shutil.rmtree(tmp / ".git")
    if dst.exists():
        shutil.rmtree(dst)
    tmp.rename(dst)


# ---------------------------------------------------------------------------- recently used


def _recent_path() -> Path:
    return cache_dir() / RECENT_FILE


def recent() -> list[dict[str, Any]]:
    """Sets used lately, most recent first (a missing or damaged list is an empty one)."""
    try:
        data = json.loads(_recent_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [e for e in data if isinstance(e, dict) and isinstance(e.get("source"), str)]


def remember(identity: Mapping[str, str | None]) -> None:
    """Put a non-bundled set's identity first in the recently used list (best effort)."""
    entry = {**identity, "used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    key = (identity["source"], identity["ref"])
    entries = [e for e in recent() if (e.get("source"), e.get("ref")) != key]
    entries.insert(0, entry)
    path = _recent_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{RECENT_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps(entries[:MAX_RECENT], indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


# ---------------------------------------------------------------------------- newer releases

_RELEASE = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def _release(tag: str | None) -> tuple[int, int, int] | None:
    """`v1.2.3`, `1.2`, `v2` -> (1, 2, 3), (1, 2, 0), (2, 0, 0); anything else (a branch, a
    pre-release) None."""
    match = _RELEASE.fullmatch(tag or "")
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor or 0), int(patch or 0)


def newer_release(url: str, ref: str | None) -> tuple[str, str] | None:
    """(tag, set version) of the highest release tag above `ref`, when the project is pinned to
    a release tag of a git set: copier moves to the latest tag by default, dockergen stays on the
    pinned one and says what is available. Best effort: offline, the tags already fetched."""
    current = _release(ref)
    root = repo_dir(url)
    mirror = root / "mirror.git"
    if current is None or not (mirror / "HEAD").is_file():
        return None
    with _locked(root / "lock"):
        with contextlib.suppress(_GitFailed):
            _git("fetch", "--quiet", "--prune", "--force", "--tags", "origin", cwd=mirror)
        try:
            tags = _git("tag", "--list", cwd=mirror).split()
        except _GitFailed:
            return None
        above = [(v, t) for t in tags if (v := _release(t)) is not None and v > current]
        if not above:
            return None
        tag = max(above)[1]
        try:
            import yaml

            data = yaml.safe_load(_git("show", f"{tag}:set.yml", cwd=mirror))
            version = str(data["version"]) if isinstance(data, dict) else tag
        except (_GitFailed, KeyError, yaml.YAMLError):
            version = tag
    return tag, version
