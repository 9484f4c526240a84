"""Cold-process timings of `dockergen init`'s detection on a 10,000-file monorepo, side by side.

The monorepo is generated: a Vite app, a FastAPI service and an Express service with their
lockfiles and a few sources, plus what a checked-out, installed repository also holds:
node_modules/ (with package.json files that would be detected as apps if they were read), a
.venv/ and .git/. Each figure is the median of several fresh processes, measured in one run
beside a bare interpreter start and a process that only imports scaffold.detect and loads the
set, so that machine noise shows up as ratios rather than absolute seconds. A plain os.walk of
the whole tree shows what reading everything would cost.

    python benchmarks/bench_detect.py [--runs 7] [--files 10000]

Target (issue 14): detection finishes in under 1 s on 10,000 files, because it never reads
node_modules, .venv or .git.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Detection, in a fresh interpreter: imports, the bundled set, the walk and the reading.
# It prints how long detect() itself took (the walk and the reading, after the imports).
DETECT = (
    "import sys, time; from pathlib import Path; from scaffold.detect import detect; "
    "from scaffold.templatesets.loader import load_template_set; t = load_template_set(); "
    "start = time.perf_counter(); d = detect(Path(sys.argv[1]), t); "
    "print(time.perf_counter() - start); "
    "assert [s.kind for s in d.layout.services] == ['react', 'fastapi', 'express', 'postgres'], d"
)
IMPORTS = (
    "from scaffold.detect import detect; from scaffold.templatesets.loader import "
    "load_template_set; load_template_set()"
)
WALK = "import os, sys; sum(len(f) for _, _, f in os.walk(sys.argv[1]))"


def monorepo(root: Path, files: int) -> int:
    """A monorepo of about `files` files, almost all in node_modules/, .venv/ and .git/."""

    def put(rel: str, text: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    web = {"dependencies": {"react": "^19", "react-dom": "^19"}, "devDependencies": {"vite": "6"}}
    put("apps/web/package.json", json.dumps({"name": "web", **web}))
    put("apps/web/package-lock.json", "{}")
    put("apps/web/index.html", "<!doctype html>")
    put("services/api/requirements.txt", "fastapi==0.115.12\nuvicorn==0.34.2\npsycopg==3.2.9\n")
    put("services/api/app/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")
    put("services/orders/package.json", json.dumps({"dependencies": {"express": "^5"}}))
    put("services/orders/package-lock.json", "{}")
    put("services/orders/server.js", "app.listen(3000)\n")
    for i in range(40):  # the code people write
        put(f"apps/web/src/component{i}.jsx", "export default () => null;\n")
        put(f"services/api/app/routes{i}.py", "x = 1\n")
        put(f"services/orders/lib/route{i}.js", "module.exports = {};\n")
    made = sum(1 for p in root.rglob("*") if p.is_file())
    heavy = [
        "apps/web/node_modules",
        "services/orders/node_modules",
        "services/api/.venv/lib/python3.13/site-packages",
        ".git/objects",
    ]
    i = 0
    while made < files:
        where = heavy[i % len(heavy)]
        package = f"{where}/pkg{i // 40}"
        if where.endswith("node_modules") and i % 40 < 4:
            # read, these would be apps: pruning is what keeps them out
            put(f"{package}/package.json", json.dumps({"dependencies": {"express": "5"}}))
        else:
            put(f"{package}/file{i}.{'py' if 'venv' in where else 'js'}", "x = 1\n" * 20)
        made += 1
        i += 1
    return made


def median_seconds(cmd: list[str], runs: int, inner: list[float] | None = None) -> float:
    """The median wall time of `runs` fresh processes; `inner` collects what each printed."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        times.append(time.perf_counter() - start)
        if inner is not None:
            inner.append(float(out.strip()))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument(
        "--smoke", action="store_true", help="one run (CI: the script works; no timing verdict)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "monorepo"
        count = monorepo(repo, args.files)
        inner: list[float] = []
        rows = [
            ("python -c pass", median_seconds([py, "-c", "pass"], args.runs)),
            ("import + load the set", median_seconds([py, "-c", IMPORTS], args.runs)),
            ("os.walk of every file", median_seconds([py, "-c", WALK, str(repo)], args.runs)),
            (
                "detect (cold process)",
                median_seconds([py, "-c", DETECT, str(repo)], args.runs, inner),
            ),
        ]
    bare = rows[0][1]
    detect = rows[3][1]
    print(f"monorepo of {count} files; median of {args.runs} cold runs each")
    print(f"{'command':<26} {'median':>9} {'x bare':>8}")
    for name, secs in rows:
        print(f"{name:<26} {secs * 1000:>7.0f}ms {secs / bare:>7.1f}x")
    print(f"detect() itself, in those processes: {statistics.median(inner) * 1000:.0f}ms median")
    print("target: detect < 1 s: " + ("ok" if detect < 1.0 else "MISSED"))


if __name__ == "__main__":
    main()
