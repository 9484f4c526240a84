"""Cold-process timings of `dockergen --help` and `dockergen new --layout`, side by side.

Each figure is the median of several fresh processes, measured in one run beside a bare
interpreter start so that machine noise shows up as ratios rather than absolute seconds.

    python benchmarks/bench_new.py [--runs 7]

Targets (issue 2): --help within 10x a bare `python -c pass`; a 5-service project within 40x;
20 services at most 2.5x the 5-service time.
"""

from __future__ import annotations

import argparse
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


def layout(n: int) -> dict:
    """A realistic layout of n services: one frontend, databases, the rest backends."""
    services: list[dict] = [{"name": "web", "kind": "react"}]
    dbs = DATABASES[: max(1, min(len(DATABASES), n // 5))]
    for i in range(n - 1 - len(dbs)):
        services.append({"name": f"svc-{i}", "kind": BACKENDS[i % len(BACKENDS)], "port": 9000 + i})
    services += [{"name": f"{d}-db", "kind": d} for d in dbs]
    return {"services": services}


def median_seconds(cmd: list[str], runs: int, cwd: Path, before=None) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--smoke", action="store_true", help="one run (CI: the script works; no timing verdict)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    exe = shutil.which("dockergen") or str(Path(sys.executable).parent / "dockergen")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in (5, 20):
            (work / f"layout{n}.yml").write_text(yaml.safe_dump(layout(n)))

        def clean(n: int):
            return lambda: shutil.rmtree(work / f"p{n}", ignore_errors=True)

        rows = [
            ("python -c pass", median_seconds([sys.executable, "-c", "pass"], args.runs, work)),
            ("dockergen --help", median_seconds([exe, "--help"], args.runs, work)),
        ]
        for n in (5, 20):
            cmd = [exe, "new", f"p{n}", "--layout", f"layout{n}.yml"]
            rows.append(
                (f"dockergen new ({n} services)", median_seconds(cmd, args.runs, work, clean(n)))
            )
    bare = rows[0][1]
    five = rows[2][1]
    print(f"median of {args.runs} cold runs each")
    print(f"{'command':<30} {'median':>9} {'x bare':>8}")
    for name, secs in rows:
        print(f"{name:<30} {secs * 1000:>7.0f}ms {secs / bare:>7.1f}x")
    print(f"20 services / 5 services: {rows[3][1] / five:.2f}x")
    print(
        "targets: --help <= 10x bare, 5 services <= 40x bare, 20/5 <= 2.5x: "
        + ", ".join(
            [
                "help " + ("ok" if rows[1][1] / bare <= 10 else "MISSED"),
                "new5 " + ("ok" if five / bare <= 40 else "MISSED"),
                "20/5 " + ("ok" if rows[3][1] / five <= 2.5 else "MISSED"),
            ]
        )
    )


if __name__ == "__main__":
    main()
