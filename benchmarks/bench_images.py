"""Runtime image size and rebuild time of the generated Dockerfiles, against naive twins.

For each built kind of the default set (react, static, fastapi, express, go) this builds the
generated Dockerfile of a freshly generated project and its naive single-stage twin
(tests/e2e/naive/<kind>.Dockerfile: the brief's first example in section III, FROM the build
image, install, copy, run) from the same build context, and measures
  - the runtime image size of each (and the look-alike base images beside them);
  - the cold build time of the generated Dockerfile (no build cache at all: `docker builder
    prune -af` before each run; or `--no-cache` with --cold no-cache, which keeps BuildKit's
    cache mounts warm and so flatters the cold build);
  - the rebuild time after a source-only change (one source file edited, cache warm).
Each time is the median of --runs runs. Needs a Docker engine with BuildKit (the e2e lab:
`eval "$(tests/e2e/lab up)"`; this script finds the lab by itself when it is up).

    python benchmarks/bench_images.py [--runs 3] [--kinds react,go] [--cold prune|no-cache]

Warning: --cold prune (the default) empties the engine's whole build cache before every cold
build, which slows down everybody else's next builds on that engine.

Targets (issues 3 and 11): every generated image smaller than its naive twin; go at least 10x
smaller; react at least 1.5x smaller, with no Node.js and no node_modules in its runtime image;
fastapi at least 1.5x and express at least 2x smaller (runtimes on an empty image, without shell
or package manager: tests/e2e/test_kinds.py checks those contents); a source-only rebuild at most
20% of the cold build for fastapi, express and react, at most 50% for go. Prints a markdown
table; exits 1 if a target is missed (never with --smoke: one run with
--cold no-cache, which CI makes so that the script can't rot unnoticed; a prune racing other
builds has crashed the lab's engine 20.10 once, in BuildKit's cache manager).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAIVE = ROOT / "tests" / "e2e" / "naive"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from labutil import lab_env  # noqa: E402

from scaffold import layout as layouts  # noqa: E402
from scaffold.api import new_project  # noqa: E402
from scaffold.templatesets.loader import load_template_set  # noqa: E402

KINDS = ["react", "static", "fastapi", "express", "go"]
# kind -> (service name in the benchmark project, source file a source-only change edits, the
#          line appended). The react edit is a statement, not a comment: the bundler drops
#          comments, so a comment would leave the built files (and the final COPY) unchanged.
SOURCES = {
    "react": ("frontend", "src/App.jsx", "console.debug('{}')\n"),
    "static": ("frontend", "site/index.html", "<!-- {} -->\n"),
    "fastapi": ("api", "app/main.py", "# {}\n"),
    "express": ("express", "server.js", "// {}\n"),
    "go": ("go", "main.go", "// {}\n"),
}
# the default layout's backend and database, plus the other backends; static needs a project of
# its own (one frontend per project)
LAYOUT = [
    ("react", "frontend"),
    ("fastapi", "api"),
    ("express", "express"),
    ("go", "go"),
    ("postgres", "postgres"),
]
# the dependency-install step of each generated Dockerfile: a source-only change must reuse it
DEPS_STEP = {
    "react": "npm ci",
    "fastapi": "install --no-cache-dir -r requirements.txt",
    "express": "npm ci",
    "go": "go mod download",
}
# naive / generated, at least
SIZE_TARGET = {"go": 10.0, "react": 1.5, "fastapi": 1.5, "express": 2.0}
# every image built here carries it: all removed at the end, superseded (untagged) ones too
RUN_LABEL = "org.dockergen.bench.run"
RUN = uuid.uuid4().hex[:12]
REBUILD_TARGET = {"fastapi": 0.20, "express": 0.20, "react": 0.20, "go": 0.50}


@dataclass
class Result:
    kind: str
    size: int
    naive_size: int
    cold: float
    rebuild: float
    no_node: bool | None = None
    deps_reused: bool | None = None  # the install step was CACHED in every source-only rebuild

    @property
    def size_ratio(self) -> float:
        return self.naive_size / self.size

    @property
    def rebuild_ratio(self) -> float:
        return self.rebuild / self.cold

    def misses(self) -> list[str]:
        out = []
        if not self.size < self.naive_size:
            out.append("not smaller than naive")
        if self.size_ratio < SIZE_TARGET.get(self.kind, 0):
            out.append(f"size ratio < {SIZE_TARGET[self.kind]:g}x")
        if self.kind in REBUILD_TARGET and self.rebuild_ratio > REBUILD_TARGET[self.kind]:
            out.append(f"rebuild > {REBUILD_TARGET[self.kind]:.0%} of cold")
        if self.no_node is False:
            out.append("node or node_modules in runtime image")
        if self.deps_reused is False:
            out.append("dependency layer rebuilt on a source-only change")
        return out


class Engine:
    def __init__(self, env: dict[str, str]):
        self.env = env

    def run(self, *args: object, timeout: float = 1800) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            ["docker", *map(str, args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise SystemExit(
                f"docker {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                f"{proc.stderr[-3000:] or proc.stdout[-3000:]}"
            )
        return proc

    def timed_build(self, context: Path, tag: str, *args: object) -> float:
        return self.build(context, tag, *args)[0]

    def build(self, context: Path, tag: str, *args: object) -> tuple[float, str]:
        """(seconds, BuildKit's plain progress output)"""
        t0 = time.perf_counter()
        label = f"{RUN_LABEL}={RUN}"
        proc = self.run("build", "--progress=plain", "--tag", tag, "--label", label, *args, context)
        return time.perf_counter() - t0, proc.stderr + proc.stdout

    def remove_run_images(self) -> None:
        """Every image this run built (tagged, or superseded by a rebuild of its tag)."""
        ids = self.run("images", "--all", "--quiet", "--filter", f"label={RUN_LABEL}={RUN}").stdout
        if ids.split():
            cmd = ["docker", "image", "rm", "--force", *sorted(set(ids.split()))]
            subprocess.run(cmd, env=self.env, capture_output=True)

    def size(self, image: str) -> int:
        return int(self.run("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())

    def paths(self, image: str) -> list[str]:
        cid = self.run("create", image).stdout.strip()
        try:
            proc = subprocess.Popen(
                ["docker", "export", cid],
                env=self.env,
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            assert proc.stdout is not None
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                names = [m.name.removeprefix("./").rstrip("/") for m in tar]
            proc.wait()
            return names
        finally:
            subprocess.run(["docker", "rm", "--force", cid], env=self.env, capture_output=True)


def generate(parent: Path, specs: list[tuple[str, str]], what: str) -> Path:
    name = f"bench-{what}-{uuid.uuid4().hex[:6]}"
    data = {
        "project": name,
        "options": {"syntax_line": False},
        "services": [{"name": svc, "kind": kind} for kind, svc in specs],
    }
    target = parent / name
    new_project(target, layouts.parse(data))
    return target


def step_cached(output: str, command: str) -> bool:
    """In BuildKit's plain output, was the step whose RUN line contains `command` CACHED?"""
    runs = re.finditer(r"^#(\d+) \[[^\]]*\] RUN .*$", output, re.M)
    steps = {m.group(1) for m in runs if command in m.group(0)}
    if not steps:
        raise SystemExit(f"no RUN step with {command!r} in the build output")
    return all(re.search(rf"^#{step} CACHED$", output, re.M) for step in steps)


def mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def bench_kind(engine: Engine, kind: str, context: Path, runs: int, cold_mode: str, log) -> Result:
    tag = f"dgbench-{kind}:{uuid.uuid4().hex[:6]}"
    naive_tag = f"dgbench-{kind}-naive:{uuid.uuid4().hex[:6]}"
    try:
        colds = []
        for i in range(runs):
            if cold_mode == "prune":
                engine.run("builder", "prune", "--all", "--force")
                colds.append(engine.timed_build(context, tag))
            else:
                colds.append(engine.timed_build(context, tag, "--no-cache"))
            log(f"{kind}: cold build {i + 1}/{runs}: {colds[-1]:.1f} s")
        engine.timed_build(context, tag)  # cache warm and matching the current source
        source = context / SOURCES[kind][1]
        original = source.read_text()
        rebuilds = []
        deps_reused = None if kind not in DEPS_STEP else True
        try:
            for i in range(runs):
                edit = SOURCES[kind][2].format(f"benchmark edit {uuid.uuid4().hex}")
                source.write_text(original + edit)
                seconds, output = engine.build(context, tag)
                rebuilds.append(seconds)
                if kind in DEPS_STEP:
                    deps_reused = deps_reused and step_cached(output, DEPS_STEP[kind])
                log(f"{kind}: source-only rebuild {i + 1}/{runs}: {rebuilds[-1]:.1f} s")
        finally:
            source.write_text(original)
        engine.timed_build(context, tag)
        size = engine.size(tag)
        engine.timed_build(context, naive_tag, "--file", NAIVE / f"{kind}.Dockerfile")
        naive_size = engine.size(naive_tag)
        no_node = None
        if kind == "react":
            names = engine.paths(tag)
            no_node = not any(
                re.search(r"(^|/)bin/(node|nodejs)$", n) or n.endswith("node_modules")
                for n in names
            )
        cold, rebuild = statistics.median(colds), statistics.median(rebuilds)
        return Result(kind, size, naive_size, cold, rebuild, no_node, deps_reused)
    finally:
        engine.remove_run_images()


def table(results: list[Result], bases: dict[str, int], runs: int, cold_mode: str) -> str:
    lines = [
        "| kind | generated size | naive size | naive/generated | cold build s "
        "| source-only rebuild s | rebuild/cold | target met? |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        target = []
        if r.kind in SIZE_TARGET:
            target.append(f"size >= {SIZE_TARGET[r.kind]:g}x")
        else:
            target.append("smaller")
        if r.kind in REBUILD_TARGET:
            target.append(f"rebuild <= {REBUILD_TARGET[r.kind]:.0%}")
        if r.no_node is not None:
            target.append("no node, no node_modules" + ("" if r.no_node else ": FOUND"))
        if r.deps_reused is not None:
            target.append("deps layer reused" if r.deps_reused else "deps layer REBUILT")
        misses = r.misses()
        verdict = "yes" if not misses else "NO: " + "; ".join(misses)
        lines.append(
            f"| {r.kind} | {mb(r.size)} | {mb(r.naive_size)} | {r.size_ratio:.2f}x | {r.cold:.1f} "
            f"| {r.rebuild:.1f} | {r.rebuild_ratio:.0%} | {verdict} ({', '.join(target)}) |"
        )
    lines += ["", "| look-alike base image | size |", "|---|---|"]
    lines += [f"| `{image}` | {mb(size)} |" for image, size in bases.items()]
    lines += [
        "",
        f"Medians of {runs} runs; cold = "
        + (
            "`docker builder prune -af` before each build (no layer cache, no cache mounts)"
            if cold_mode == "prune"
            else "`--no-cache` (layer cache off, cache mounts warm)"
        )
        + f"; {os.cpu_count()} CPUs; sizes as `docker image inspect` reports them (10^6 bytes).",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--cold", choices=["prune", "no-cache"], default="prune")
    parser.add_argument(
        "--smoke", action="store_true", help="one run, no timing verdict (CI: the script works)"
    )
    args = parser.parse_args()
    if args.smoke:  # the script works end to end; no verdict, and the engine's cache is kept
        args.runs = 1
        args.cold = "no-cache"
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds: {', '.join(unknown)}")

    env = lab_env()
    if env is None:
        print('no Docker engine: start the lab with eval "$(tests/e2e/lab up)"', file=sys.stderr)
        return 2
    engine = Engine(env)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    tset = load_template_set("default")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        main_project = generate(Path(tmp), LAYOUT, "main")
        static_project = generate(Path(tmp), [("static", "frontend")], "static")
        for kind in kinds:
            project = static_project if kind == "static" else main_project
            results.append(
                bench_kind(engine, kind, project / SOURCES[kind][0], args.runs, args.cold, log)
            )
    images = sorted(
        {ref for k in kinds for ref in tset.kinds[k].images.values() if ref != "scratch"}
    )
    bases = {image: engine.size(image) for image in images}
    print(table(results, bases, args.runs, args.cold))
    return 0 if args.smoke or all(not r.misses() for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
