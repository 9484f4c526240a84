"""Cold-process timing of `dockergen check` on a generated monorepo of 200 services.

The monorepo is generated once (`dockergen new --layout`, not timed): a frontend, backends of
every built kind and the databases, each with its Dockerfile and .dockerignore, one
docker-compose.yml. Then each figure is the median of several fresh processes, beside a bare
interpreter start and `dockergen --help`, so machine noise shows up as ratios.

    python benchmarks/bench_check.py [--runs 5] [--services 200]

Target (issue 15): 200 services checked in under 2 s. The check must also find nothing in a
generated project (exit 0): a finding there is a failure of the benchmark, not a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BACKENDS = ["fastapi", "express", "go"]
DATABASES = ["postgres", "mysql", "mongodb", "redis"]
TARGET_SECONDS = 2.0


def layout(n: int) -> dict:
    """n services: one frontend, the four database kinds, the rest backends."""
    services: list[dict] = [{"name": "web", "kind": "react"}]
    dbs = DATABASES[: max(1, min(len(DATABASES), n // 5))]
    for i in range(n - 1 - len(dbs)):
        services.append({"name": f"svc-{i}", "kind": BACKENDS[i % len(BACKENDS)], "port": 9000 + i})
    services += [{"name": f"{d}-db", "kind": d} for d in dbs]
    return {"services": services}


def _cpu() -> float:
    """CPU seconds used so far by this process's finished children (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_seconds(
    cmd: list[str], runs: int, cwd: Path, ok: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `runs` fresh processes. The CPU time is the fairer
    figure on a machine shared with other work: waiting for a core doesn't count in it."""
    wall, cpu = [], []
    for _ in range(runs):
        start, used = time.perf_counter(), _cpu()
        done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall.append(time.perf_counter() - start)
        cpu.append(_cpu() - used)
        if done.returncode not in ok:
            sys.exit(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one run on 20 services (CI: the script works; no timing verdict)",
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.services = 1, 20
    exe = shutil.which("dockergen") or str(Path(sys.executable).parent / "dockergen")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "layout.yml").write_text(yaml.safe_dump(layout(args.services)))
        start = time.perf_counter()
        subprocess.run(
            [exe, "new", "mono", "--layout", "layout.yml"],
            cwd=work,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        generated = time.perf_counter() - start
        mono = work / "mono"
        report = subprocess.run(
            [exe, "check", "--format", "json"], cwd=mono, capture_output=True, text=True
        )
        doc = json.loads(report.stdout)
        if report.returncode != 0 or doc["findings"]:
            shown = [f"{f['path']}:{f['line']} {f['rule']}" for f in doc["findings"][:5]]
            sys.exit(f"the generated monorepo has findings (exit {report.returncode}): {shown}")
        rows = [
            ("python -c pass", median_seconds([sys.executable, "-c", "pass"], args.runs, work)),
            ("dockergen --help", median_seconds([exe, "--help"], args.runs, work)),
            ("dockergen check", median_seconds([exe, "check"], args.runs, mono)),
            (
                "dockergen check --format sarif",
                median_seconds([exe, "check", "--format", "sarif"], args.runs, mono),
            ),
        ]
    bare, help_ = rows[0][1][0], rows[1][1][0]
    files = doc["summary"]["files"]
    print(
        f"{args.services} services, {files} files checked (generated in {generated:.1f} s); "
        f"median of {args.runs} cold runs each"
    )
    print(f"{'command':<32} {'wall':>8} {'cpu':>8} {'x bare':>8} {'x --help':>9}")
    for name, (wall, cpu) in rows:
        print(
            f"{name:<32} {wall * 1000:>6.0f}ms {cpu * 1000:>6.0f}ms "
            f"{wall / bare:>7.1f}x {wall / help_:>8.1f}x"
        )
    check_wall, check_cpu = rows[2][1]
    print(f"per service: {check_wall / args.services * 1000:.1f} ms")
    print(
        f"load average (1 min) during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if not args.smoke:
        verdict = "ok" if check_wall < TARGET_SECONDS else "MISSED"
        cpu_verdict = "ok" if check_cpu < TARGET_SECONDS else "MISSED"
        print(
            f"target: {args.services} services in under {TARGET_SECONDS:.0f} s: {verdict} "
            f"(wall clock), {cpu_verdict} (CPU time)"
        )


if __name__ == "__main__":
    main()
