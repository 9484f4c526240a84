"""No secret in any layer (the brief, section II: a deleted file stays in its layer).

Every built kind is built from a copy of a generated project, cold (`--no-cache`, so that every
RUN really runs with the secrets mounted), with
  - build secrets, as the Dockerfiles' comments tell users to pass them (`--secret id=pip.conf`,
    `id=npmrc`, `id=netrc`), each holding a unique random marker;
  - the runtime secrets in place: the project's secrets/ (random passwords), plus copies of them
    planted in the build context as .env, .env.local, secrets/ and local credential files.
Then `docker save` and a scan of everything saved: every layer tar (each file's content and
name), the image config (history, env, labels) and the manifest. None of the values may appear.

The counter-example (tests/e2e/naive/leaky.Dockerfile: a secret COPYed then deleted, a secret
build argument) is caught by the same scan, so this test is proven able to fail.
"""

from __future__ import annotations

import concurrent.futures
import re
import shutil
import tarfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest
from projects import built_kinds

from scaffold.templatesets.loader import load_template_set

pytestmark = pytest.mark.e2e

KINDS = built_kinds(load_template_set("default"))
NAIVE = Path(__file__).resolve().parent / "naive"


# ------------------------------------------------------------------------------------ the scan


@dataclass
class ScanResult:
    leaks: list[tuple[str, str]] = field(default_factory=list)  # (secret label, where)
    layers: int = 0
    files: int = 0
    other: int = 0  # config, manifest, ...

    def labels(self) -> set[str]:
        return {label for label, _ in self.leaks}


_CHUNK = 1 << 20


def _find(stream: IO[bytes], pattern: re.Pattern[bytes], overlap: int) -> set[bytes]:
    """Every match of pattern in a stream read in chunks (matches across chunk borders too)."""
    found: set[bytes] = set()
    tail = b""
    while chunk := stream.read(_CHUNK):
        buf = tail + chunk
        found.update(m.group(0) for m in pattern.finditer(buf))
        tail = buf[-overlap:]
    return found


def _open_tar(fh: IO[bytes]) -> tarfile.TarFile | None:
    head = fh.read(512)
    fh.seek(0)
    if head[:2] == b"\x1f\x8b":
        return tarfile.open(fileobj=fh, mode="r:gz")
    if head[257:262] == b"ustar":
        return tarfile.open(fileobj=fh, mode="r:")
    return None


def scan_saved_image(archive: Path, secrets: dict[str, str]) -> ScanResult:
    """Search a `docker save` archive for secret values: in every layer (every file's content
    and path), in the config JSON (history, env, labels) and in every other member."""
    values = {value.encode(): label for label, value in secrets.items()}
    assert all(len(v) >= 8 for v in values), "secret values this short would match by chance"
    pattern = re.compile(b"|".join(re.escape(v) for v in sorted(values, key=len, reverse=True)))
    overlap = max(map(len, values)) - 1
    result = ScanResult()
    with tarfile.open(archive) as outer:
        for member in outer:
            if not member.isfile():
                continue
            fh = outer.extractfile(member)
            assert fh is not None
            layer = _open_tar(fh)
            if layer is None:
                result.other += 1
                for hit in _find(fh, pattern, overlap):
                    result.leaks.append((values[hit], f"{member.name} (image metadata)"))
                continue
            result.layers += 1
            with layer:
                for entry in layer:
                    for hit in pattern.findall(entry.name.encode()):
                        result.leaks.append((values[hit], f"{member.name}: path {entry.name}"))
                    if entry.isfile():
                        result.files += 1
                        inner = layer.extractfile(entry)
                        assert inner is not None
                        for hit in _find(inner, pattern, overlap):
                            result.leaks.append((values[hit], f"{member.name}: {entry.name}"))
    return result


def save(lab, image: str, dest: Path) -> Path:
    lab.docker("save", "--output", dest, image, timeout=600)
    return dest


def marker(what: str) -> str:
    return f"dge2e-{what}-{uuid.uuid4().hex}"


# ------------------------------------------------------------------------------------ the builds


@dataclass
class LayerBuilds:
    images: dict[str, str]
    secrets: dict[str, str]  # label -> value: build markers and runtime passwords
    build_secret_files: dict[str, Path]


@pytest.fixture(scope="module")
def layer_builds(lab, full_project, static_project, tmp_path_factory):
    work = tmp_path_factory.mktemp("layers")
    build = {"pip.conf": marker("pip"), "npmrc": marker("npm"), "netrc": marker("netrc")}
    files = {
        "pip.conf": f"[global]\n# private index token: {build['pip.conf']}\ntimeout = 60\n",
        "npmrc": f"//npm.example.invalid/:_authToken={build['npmrc']}\n",
        "netrc": f"machine git.example.invalid login e2e password {build['netrc']}\n",
    }
    secret_files = {}
    for sid, text in files.items():
        path = work / f"build-secret-{sid}"
        path.write_text(text)
        secret_files[sid] = path
    secret_args = [
        a for sid, path in secret_files.items() for a in ("--secret", f"id={sid},src={path}")
    ]

    secrets = {f"build secret {sid}": value for sid, value in build.items()}
    contexts: dict[str, Path] = {}
    for project in (full_project, static_project):
        copy = work / project.name
        shutil.copytree(project.path, copy, ignore=shutil.ignore_patterns(".dockergen"))
        runtime = project.secret_values()
        secrets.update({f"runtime secret {name}": value for name, value in runtime.items()})
        for svc in project.services:
            kind = svc["kind"]
            if kind not in KINDS or kind in contexts:
                continue
            ctx = copy / svc["name"]
            plant_bait(ctx, runtime, files)
            contexts[kind] = ctx

    tags = {kind: f"dge2e-layers-{kind}:{uuid.uuid4().hex[:8]}" for kind in KINDS}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            futures = {
                kind: pool.submit(lab.build, contexts[kind], tags[kind], "--no-cache", *secret_args)
                for kind in KINDS
            }
            for future in futures.values():
                future.result()
        yield LayerBuilds(images=tags, secrets=secrets, build_secret_files=secret_files)
    finally:
        lab.rm_images(*tags.values())


def plant_bait(ctx: Path, runtime: dict[str, str], build_files: dict[str, str]) -> None:
    """What a developer's working copy may hold: .env files with the passwords, a copy of
    secrets/, local credential files. The .dockerignore must keep all of it out."""
    env = "".join(f"{name.upper()}={value}\n" for name, value in runtime.items())
    (ctx / ".env").write_text(env or "EMPTY=1\n")
    (ctx / ".env.local").write_text(env or "EMPTY=1\n")
    (ctx / "secrets").mkdir(exist_ok=True)
    for name, value in runtime.items():
        (ctx / "secrets" / name).write_text(value)
    (ctx / "secrets" / "build-secrets").write_text("".join(build_files.values()))


# ------------------------------------------------------------------------------------ tests


@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_in_any_layer_or_in_the_image_config(lab, layer_builds, tmp_path, kind):
    image = layer_builds.images[kind]
    result = scan_saved_image(save(lab, image, tmp_path / "image.tar"), layer_builds.secrets)
    assert result.layers >= 1 and result.files > 0 and result.other >= 1, result
    assert not result.leaks, "\n".join(f"{label} found in {where}" for label, where in result.leaks)


def test_the_scan_covers_the_runtime_passwords_and_every_build_secret(layer_builds):
    labels = set(layer_builds.secrets)
    assert {"build secret pip.conf", "build secret npmrc", "build secret netrc"} <= labels
    # the all-databases project: postgres, mysql (+ root), redis
    assert sum(label.startswith("runtime secret") for label in labels) >= 4, labels


def test_counter_example_a_deleted_secret_is_still_in_its_layer(lab, tmp_path):
    """The naive Dockerfile deletes its secret file: the container doesn't see it, the scan does."""
    file_secret, arg_secret = marker("copied-then-deleted"), marker("build-arg")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "token.txt").write_text(file_secret + "\n")
    tag = f"dge2e-leaky:{uuid.uuid4().hex[:8]}"
    try:
        lab.build(
            ctx,
            tag,
            "--build-arg",
            f"INDEX_TOKEN={arg_secret}",
            dockerfile=NAIVE / "leaky.Dockerfile",
        )
        seen = lab.docker("run", "--rm", "--read-only", "--cap-drop", "ALL", tag).stdout.strip()
        assert seen == "absent", "the file should be gone from the container's filesystem"
        result = scan_saved_image(
            save(lab, tag, tmp_path / "leaky.tar"),
            {"copied file": file_secret, "build arg": arg_secret},
        )
    finally:
        lab.rm_images(tag)
    assert result.labels() == {"copied file", "build arg"}, result.leaks
    where = dict((label, w) for label, w in result.leaks)
    assert where["copied file"].endswith("tmp/token.txt"), result.leaks
    assert "image metadata" in where["build arg"], result.leaks
