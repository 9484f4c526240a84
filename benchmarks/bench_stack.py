"""Time to healthy of whole generated stacks, and what their healthchecks cost at rest.

On a Docker engine (the e2e lab: `eval "$(tests/e2e/lab up)"`; found by itself when it is up)
this generates two layouts, the default one (react + fastapi + postgres) and the 7-service one
of the e2e suite (the default plus every other backend kind and every database kind the lab has
an image for: express, go, mysql, redis), each under a compose project name of its own with its
frontend on a free 127.0.0.1 port, and measures, as medians of --runs runs:
  - warm: `docker compose up -d --wait` with every image built and the data volumes kept from
    the previous run (a developer's next `up`), after `down -t 1`;
  - cold: the project's own images and volumes removed (`down -v --rmi local`: never a prune,
    which would empty everybody's build cache on a shared engine), then `docker compose build
    --no-cache` and `up -d --wait` (BuildKit's cache mounts, pip's and npm's downloads, stay);
  - verify: `dockergen verify` in the project (its own copy: fresh volumes, cached layers);
  - at rest, per service: the container's CPU over --window seconds (engine API stats: the
    service idling plus its healthcheck, every exec of which runs in the container's cgroup),
    and the probe alone (its own healthcheck command run by `docker exec`, CPU per run times
    runs per second at its interval).
With --baseline REF the same is measured for the project as the templates and code of git REF
generate it (extracted with `git archive` into a temporary folder; `dockergen verify` of that
code too), side by side.

    python benchmarks/bench_stack.py [--runs 3] [--cold-runs 1] [--window 60] [--baseline main]
                                     [--layouts default,7-service]
    python benchmarks/bench_stack.py --probe-cost [--window 60] [--baseline main]

--probe-cost measures only what each kind's healthcheck costs at rest, every kind the lab can
run in one stack (the 7-service layout plus the static frontend), two ways side by side:
  - twin: the stack and a twin of it whose healthchecks are disabled (a compose override:
    `healthcheck: disable`, no start order) run at the same time; each service's CPU over the
    same --window, the stack's minus its twin's, is what the probes cost (idle work cancels);
  - probe alone: the healthcheck's own command run --probe-runs times by `docker exec` (as the
    engine runs it: a process exec'd into the container), CPU per run divided by the interval.

Targets (issue 16): default warm up <= 8 s, 7-service warm up <= 12 s, verify warm <= 15 s,
every service <= 1% of a core at rest. Prints markdown tables; exits 1 if a target is missed,
never with --smoke (the default layout only, one warm run and one verify, a 5 s window, no
cold build and no baseline: CI runs it so that the script can't rot unnoticed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from labutil import lab_env  # noqa: E402
from projects import E2E_DEFAULT, e2e_full_layout  # noqa: E402

from scaffold.templatesets.loader import load_template_set  # noqa: E402

TARGET_UP = {"default": 8.0, "7-service": 12.0}
TARGET_VERIFY = 15.0
TARGET_CPU = 1.0  # % of one core, per service at rest
# Written by the generator (the current tree's or the baseline's) in a child process: the
# baseline's scaffold package must be the one imported.
GENERATE = """
import json, sys
from pathlib import Path
from scaffold import layout
from scaffold.api import new_project
new_project(Path(sys.argv[1]), layout.parse(json.loads(sys.argv[2])))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 1800):
    proc = subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{(proc.stderr or proc.stdout)[-3000:]}"
        )
    return proc


class EngineAPI:
    """The engine's HTTP API on its unix socket: cumulative CPU per container."""

    def __init__(self, env: dict[str, str]):
        host = env.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        if not host.startswith("unix://"):
            raise SystemExit(f"bench_stack reads CPU over a unix socket; DOCKER_HOST is {host}")
        self.path = host.removeprefix("unix://")

    def get(self, path: str) -> Any:
        conn = http.client.HTTPConnection("localhost", timeout=60)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.path)
        conn.sock = sock
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def cpu_ns(self, cid: str) -> int:
        return int(
            self.get(f"/containers/{cid}/stats?stream=false")["cpu_stats"]["cpu_usage"][
                "total_usage"
            ]
        )


@dataclass
class Stack:
    """One generated project: its folder, compose project name and the code that made it."""

    what: str
    path: Path
    name: str
    src: Path  # the source tree whose scaffold package generated it (and runs its verify)
    env: dict[str, str]

    def compose(self, *args: str, timeout: float = 1800):
        return run(
            ["docker", "compose", "--project-directory", str(self.path), "-p", self.name, *args],
            self.env,
            timeout=timeout,
        )

    def timed(self, *args: str) -> float:
        t0 = time.perf_counter()
        self.compose(*args)
        return time.perf_counter() - t0

    def verify(self) -> float:
        env = {**self.env, "PYTHONPATH": str(self.src)}
        t0 = time.perf_counter()
        run([sys.executable, "-m", "scaffold", "verify"], env, cwd=self.path)
        return time.perf_counter() - t0

    def containers(self) -> dict[str, str]:
        """service -> container id"""
        out = {}
        for cid in self.compose("ps", "--quiet").stdout.split():
            labels = json.loads(
                run(
                    ["docker", "inspect", "--format", "{{json .Config.Labels}}", cid], self.env
                ).stdout
            )
            out[labels["com.docker.compose.service"]] = cid
        return out

    def destroy(self) -> None:
        subprocess.run(
            [
                "docker",
                "compose",
                "--project-directory",
                str(self.path),
                "-p",
                self.name,
                "down",
                "--volumes",
                "--rmi",
                "local",
                "--timeout",
                "1",
            ],
            env=self.env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )


def generate(
    parent: Path,
    what: str,
    specs: list[tuple[str, str]],
    src: Path,
    env: dict[str, str],
    label: str,
) -> Stack:
    tset = load_template_set("default")
    name = f"bench-stack-{label}-{what}-{uuid.uuid4().hex[:6]}"
    services = []
    for kind, svc in specs:
        entry: dict[str, Any] = {"name": svc, "kind": kind}
        if tset.category(tset.kinds[kind].category).publishes is True:
            entry["publish"] = free_port()  # the frontend: a free host port, not 8080
        services.append(entry)
    data = {"project": name, "options": {"syntax_line": False}, "services": services}
    target = parent / name
    # cwd=src: `python -c` puts the working directory first on sys.path, before PYTHONPATH
    run(
        [sys.executable, "-c", GENERATE, str(target), json.dumps(data)],
        {**env, "PYTHONPATH": str(src)},
        cwd=src,
    )
    return Stack(what, target, name, src, env)


@dataclass
class Figures:
    warm: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    verify: list[float] = field(default_factory=list)
    cpu: dict[str, tuple[float, float, str]] = field(
        default_factory=dict
    )  # % at rest, % probe, interval


def probe_cpu(api: EngineAPI, stack: Stack, cid: str, runs: int) -> tuple[float, float]:
    """(CPU seconds of one run of the container's healthcheck by `docker exec`, its interval)"""
    health = api.get(f"/containers/{cid}/json")["Config"].get("Healthcheck") or {}
    test = health.get("Test") or []
    if not test or test[0] not in ("CMD", "CMD-SHELL"):
        return 0.0, 0.0
    cmd = test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]
    interval = (health.get("Interval") or 30_000_000_000) / 1e9
    rest0, t0 = api.cpu_ns(cid), time.perf_counter()
    time.sleep(2)
    idle = (api.cpu_ns(cid) - rest0) / (time.perf_counter() - t0)  # ns per second at rest
    c0, t0 = api.cpu_ns(cid), time.perf_counter()
    for _ in range(runs):
        subprocess.run(
            ["docker", "exec", cid, *cmd],
            env=stack.env,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    spent = api.cpu_ns(cid) - c0 - idle * (time.perf_counter() - t0)
    return max(spent, 0) / runs / 1e9, interval


def at_rest(
    api: EngineAPI, stack: Stack, window: float, probe_runs: int
) -> dict[str, tuple[float, float, str]]:
    ids = stack.containers()
    before = {svc: api.cpu_ns(cid) for svc, cid in ids.items()}
    t0 = time.perf_counter()
    time.sleep(window)
    after = {svc: api.cpu_ns(cid) for svc, cid in ids.items()}
    elapsed = time.perf_counter() - t0
    out = {}
    for svc, cid in sorted(ids.items()):
        per_run, interval = probe_cpu(api, stack, cid, probe_runs)
        rest = (after[svc] - before[svc]) / elapsed / 1e9 * 100
        probe = per_run / interval * 100 if interval else 0.0
        out[svc] = (rest, probe, f"{interval:g} s" if interval else "-")
    return out


# Compose override of the twin: no healthcheck (the image's HEALTHCHECK neither) and no start
# order, which needs healthchecks (`!reset`: Compose 2.24+).
NO_HEALTH = """services:
{services}"""
NO_HEALTH_SERVICE = """  {name}:
    healthcheck:
      disable: true
    depends_on: !reset {{}}
"""


def probe_cost(args: argparse.Namespace) -> int:
    """Each kind's healthcheck CPU at rest: the stack against its twin without healthchecks,
    in the same window, and each probe alone (exec'd --probe-runs times) over its interval."""
    env = lab_env()
    if env is None:
        raise SystemExit('no Docker engine: start the lab (eval "$(tests/e2e/lab up)")')
    api = EngineAPI(env)
    tset = load_template_set("default")
    specs = e2e_full_layout(tset)
    have = {kind for kind, _ in specs}
    # every other frontend kind too (they build: the lab can run them)
    specs = [
        *[(k.name, k.name) for k in tset.kinds_in("frontend") if k.name not in have],  # type: ignore[arg-type]
        *specs,
    ]
    kinds = dict((svc, kind) for kind, svc in specs)
    rows: dict[str, dict[str, tuple[float, float, float, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        sources = {"now": ROOT}
        if args.baseline:
            sources = {args.baseline: extract(args.baseline, Path(tmp)), **sources}
        for label, src in sources.items():
            tag = "base" if label != "now" else "now"
            stack = generate(Path(tmp), "probes", specs, src, env, tag)
            twin = generate(Path(tmp), "twin", specs, src, env, tag)
            override = twin.path / "no-health.yml"
            override.write_text(
                NO_HEALTH.format(
                    services="".join(NO_HEALTH_SERVICE.format(name=svc) for _, svc in specs)
                )
            )
            files = ["-f", str(twin.path / "docker-compose.yml"), "-f", str(override)]
            try:
                print(f"== {label}: building and starting both stacks", file=sys.stderr)
                stack.compose("build")
                twin.compose(*files, "build")
                stack.compose("up", "--detach", "--wait", "--wait-timeout", "300")
                twin.compose(*files, "up", "--detach")
                time.sleep(max(15.0, min(args.window, 30.0)))  # the twin's starts settle too
                ids, twin_ids = stack.containers(), twin.containers()
                both = {
                    **{("s", k): v for k, v in ids.items()},
                    **{("t", k): v for k, v in twin_ids.items()},
                }
                before = {key: api.cpu_ns(cid) for key, cid in both.items()}
                t0 = time.perf_counter()
                time.sleep(args.window)
                after = {key: api.cpu_ns(cid) for key, cid in both.items()}
                elapsed = time.perf_counter() - t0
                pct = {k: (after[k] - before[k]) / elapsed / 1e9 * 100 for k in both}
                rows[label] = {}
                for svc, cid in ids.items():
                    per_run, interval = probe_cpu(api, stack, cid, args.probe_runs)
                    alone = per_run / interval * 100 if interval else 0.0
                    rows[label][svc] = (
                        pct[("s", svc)],
                        pct[("t", svc)],
                        alone,
                        f"{interval:g} s / {per_run * 1000:.1f} ms" if interval else "-",
                    )
            finally:
                stack.destroy()
                subprocess.run(
                    [
                        "docker",
                        "compose",
                        "-p",
                        twin.name,
                        *files,
                        "down",
                        "--volumes",
                        "--rmi",
                        "local",
                        "--timeout",
                        "1",
                    ],
                    env=env,
                    capture_output=True,
                    stdin=subprocess.DEVNULL,
                )
                shutil.rmtree(stack.path, ignore_errors=True)
                shutil.rmtree(twin.path, ignore_errors=True)

    print(
        "| templates | kind | interval / CPU per probe | with healthcheck | twin without "
        "| healthcheck (difference) | probe alone |"
    )
    print("|---|---|---|---|---|---|---|")
    misses = []
    for label, services in rows.items():
        for svc in sorted(services, key=lambda s: kinds[s]):
            probed, bare, alone, interval = services[svc]
            print(
                f"| {label} | {kinds[svc]} | {interval} | {probed:.2f} % | {bare:.2f} % "
                f"| {probed - bare:.2f} % | {alone:.2f} % |"
            )
            if label == "now" and max(probed - bare, alone) > TARGET_CPU:
                misses.append(f"{kinds[svc]}: {max(probed - bare, alone):.2f} % of a core")
    for miss in misses:
        print(f"target missed (<= {TARGET_CPU:g} % of a core per service): {miss}")
    return 1 if misses and not args.smoke else 0


def measure(stack: Stack, api: EngineAPI, args: argparse.Namespace) -> Figures:
    figures = Figures()
    print(f"== {stack.what} ({stack.name})", file=sys.stderr)
    stack.compose("build")
    stack.compose("up", "--detach", "--wait", "--wait-timeout", "300")  # first run: volumes
    for _ in range(args.runs):
        stack.compose("down", "--timeout", "1")
        figures.warm.append(stack.timed("up", "--detach", "--wait", "--wait-timeout", "300"))
    time.sleep(min(5.0, args.window))  # past the start: the steady state
    figures.cpu = at_rest(api, stack, args.window, args.probe_runs)
    for _ in range(args.runs):
        figures.verify.append(stack.verify())
    # The baseline's cold build is the same build (only HEALTHCHECK flags differ): not repeated.
    for _ in range(args.cold_runs if stack.src == ROOT else 0):
        stack.compose("down", "--volumes", "--rmi", "local", "--timeout", "1")
        t0 = time.perf_counter()
        stack.compose("build", "--no-cache")
        stack.compose("up", "--detach", "--wait", "--wait-timeout", "600")
        figures.cold.append(time.perf_counter() - t0)
    return figures


def med(values: list[float]) -> str:
    if not values:
        return "-"
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{statistics.median(values):.1f} s{spread}"


def extract(ref: str, into: Path) -> Path:
    """The scaffold package and templates of git `ref`, as files (no checkout, no stash)."""
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "scaffold", "templates"],
            stdout=out,
            check=True,
        )
    src = into / "src"
    src.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    return src


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="warm and verify runs per layout")
    parser.add_argument("--cold-runs", type=int, default=1, help="cold builds per layout")
    parser.add_argument("--window", type=float, default=60, help="seconds of CPU at rest")
    parser.add_argument("--probe-runs", type=int, default=10, help="execs of each probe")
    parser.add_argument("--baseline", metavar="REF", help="also measure what git REF generates")
    parser.add_argument(
        "--layouts", default="default,7-service", help="which layouts, comma-separated"
    )
    parser.add_argument("--smoke", action="store_true", help="one quick pass, no verdict (CI)")
    parser.add_argument(
        "--probe-cost",
        action="store_true",
        help="only the healthchecks' CPU at rest: every kind, against a twin without them",
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.cold_runs, args.window, args.probe_runs, args.baseline = 1, 0, 5, 2, None
    if args.probe_cost:
        return probe_cost(args)

    env = lab_env()
    if env is None:
        raise SystemExit('no Docker engine: start the lab (eval "$(tests/e2e/lab up)")')
    api = EngineAPI(env)
    tset = load_template_set("default")
    layouts = {"default": E2E_DEFAULT, "7-service": e2e_full_layout(tset)}
    wanted = ["default"] if args.smoke else args.layouts.split(",")
    unknown = sorted(set(wanted) - set(layouts))
    if unknown:
        raise SystemExit(f"unknown layout {unknown[0]!r}; the layouts are: {', '.join(layouts)}")
    layouts = {what: layouts[what] for what in wanted}
    results: dict[tuple[str, str], Figures] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        sources = {"now": ROOT}
        if args.baseline:
            sources = {args.baseline: extract(args.baseline, Path(tmp)), **sources}
        for label, src in sources.items():
            for what, specs in layouts.items():
                stack = generate(
                    Path(tmp), what, specs, src, env, "base" if label != "now" else "now"
                )
                try:
                    results[(label, what)] = measure(stack, api, args)
                finally:
                    stack.destroy()
                    shutil.rmtree(stack.path, ignore_errors=True)

    cold = "cold `build --no-cache` + `up --wait`"
    print(f"| templates | layout | warm `up --wait` | {cold} | `dockergen verify` |")
    print("|---|---|---|---|---|")
    for (label, what), fig in results.items():
        print(f"| {label} | {what} | {med(fig.warm)} | {med(fig.cold)} | {med(fig.verify)} |")
    print()
    print("| templates | layout | service | interval | CPU at rest (% of a core) | probe alone |")
    print("|---|---|---|---|---|---|")
    for (label, what), fig in results.items():
        for svc, (rest, probe, interval) in fig.cpu.items():
            print(f"| {label} | {what} | {svc} | {interval} | {rest:.2f} % | {probe:.2f} % |")

    misses = []
    for what, target in TARGET_UP.items():
        fig = results.get(("now", what))
        if fig and fig.warm and statistics.median(fig.warm) > target:
            misses.append(
                f"{what} warm up --wait {statistics.median(fig.warm):.1f} s > {target:g} s"
            )
        if fig and fig.verify and statistics.median(fig.verify) > TARGET_VERIFY:
            misses.append(
                f"{what} verify {statistics.median(fig.verify):.1f} s > {TARGET_VERIFY:g} s"
            )
        for svc, (rest, _probe, _i) in (fig.cpu if fig else {}).items():
            if rest > TARGET_CPU:
                misses.append(f"{what} {svc} {rest:.2f} % of a core at rest > {TARGET_CPU:g} %")
    for miss in misses:
        print(f"target missed: {miss}")
    if args.smoke:
        return 0
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
