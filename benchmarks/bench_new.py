"""Cold-process timings of `dockergen --help` and `dockergen new --layout`, side by side.

Each figure is the median of several fresh processes, measured in one run beside a bare
interpreter start so that machine noise shows up as ratios rather than absolute seconds.

    python benchmarks/bench_new.py [--runs 7]

Targets: --help within 10x a bare `python -c pass` (issue 2); a 5-service project within 30x
(issue 16; 40x in issue 2); 20 services at most 2.5x the 5-service time.

    python benchmarks/bench_new.py --baseline main [--runs 7]

compares this tree with the code of a git ref instead (`python -m scaffold` with either on
PYTHONPATH, each run of one right after the same run of the other), for --help, kinds and new.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

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


def median_seconds(cmd: list[str], runs: int, cwd: Path, before=None, env=None) -> float:
    return statistics.median(timed(cmd, runs, cwd, before, env))


def timed(cmd: list[str], runs: int, cwd: Path, before=None, env=None) -> list[float]:
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return times


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


def compare(ref: str, runs: int, work: Path) -> None:
    """This tree against git `ref`, each run of one right after the same run of the other (a
    noisy machine slows both alike): `python -m scaffold` with either tree on PYTHONPATH."""
    src = extract(ref, work)
    trees = {ref: src, "now": ROOT}
    cases = [("--help", ["--help"]), ("kinds", ["kinds"])]
    cases += [
        (f"new ({n} services)", ["new", f"p{n}", "--layout", f"layout{n}.yml"]) for n in (5, 20)
    ]
    times: dict[tuple[str, str], list[float]] = {}
    bare: list[float] = []
    for _ in range(runs):
        bare += timed([sys.executable, "-c", "pass"], 1, work)
        for name, argv in cases:
            for label, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": str(tree)}
                shutil.rmtree(work / "p5", ignore_errors=True)
                shutil.rmtree(work / "p20", ignore_errors=True)
                times.setdefault((name, label), []).extend(
                    timed([sys.executable, "-m", "scaffold", *argv], 1, work, env=env)
                )
    b = statistics.median(bare)
    print(f"median of {runs} interleaved cold runs; python -c pass: {b * 1000:.0f} ms")
    print(f"| command | {ref} | x bare | now | x bare | now / {ref} |")
    print("|---|---|---|---|---|---|")
    for name, _ in cases:
        old, new = statistics.median(times[(name, ref)]), statistics.median(times[(name, "now")])
        print(
            f"| `dockergen {name}` | {old * 1000:.0f} ms | {old / b:.1f}x | {new * 1000:.0f} ms "
            f"| {new / b:.1f}x | {new / old:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--smoke", action="store_true", help="one run (CI: the script works; no timing verdict)"
    )
    parser.add_argument(
        "--baseline", metavar="REF", help="compare with the code of git REF, run by run"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for n in (5, 20):
                (work / f"layout{n}.yml").write_text(yaml.safe_dump(layout(n)))
            compare(args.baseline, args.runs, work)
        return
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
        "targets: --help <= 10x bare, 5 services <= 30x bare, 20/5 <= 2.5x: "
        + ", ".join(
            [
                "help " + ("ok" if rows[1][1] / bare <= 10 else "MISSED"),
                "new5 " + ("ok" if five / bare <= 30 else "MISSED"),
                "20/5 " + ("ok" if rows[3][1] / five <= 2.5 else "MISSED"),
            ]
        )
    )


if __name__ == "__main__":
    main()
