"""Cold-process timings of `dockergen update` beside `copier update`, on hand-edited projects.

    python benchmarks/bench_update.py [--runs 5]

The job, the same for both tools: a project of 5 or 20 services (60% built fastapi services,
the rest databases), generated from template set v1, with hand edits in every Dockerfile, in
docker-compose.yml and in README.md, is updated to v2 of the set (a HEALTHCHECK change in the
fastapi Dockerfile, `stop_grace_period` on every compose service, a version bump). The edits
never overlap the template's changes, so both tools must merge without conflicts.

How copier gets an equivalent job (honestly, the closest copier can do):
- The set's files become one copier template in a temp git repo tagged v1 and v2: `project/`
  files at the top of its `_subdirectory`, the fastapi files under a
  `{% yield svc from built %}` folder (one copy per built service), partials beside it.
- Copier can't compute dockergen's render context, so the context dockergen builds for the
  layout is passed as answers (one question per context key) and `q`/`dq` come from a
  small Jinja extension (hence `--trust`); the update passes the v2 `template_set` answer, the
  only context value that changes. Before timing, the v1 renders of both tools are checked
  byte for byte, and after the update the merged files of both projects are compared too.
- copier's project is a git repo with the edits committed (copier update needs a clean tree);
  dockergen's is not (it keeps its pristine copy in `.dockergen/`).
Each figure is the median of several fresh processes (caches warmed by one untimed run each);
timings are never part of the test suite's pass/fail.

Targets (issue 4): dockergen at least 2x faster than copier; 20 services at most 2.5x the
5-service time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scaffold.api import prepare
from scaffold.context import build_context
from scaffold.layout import parse
from scaffold.plan import build_plan
from scaffold.templatesets.loader import load_template_set
from scaffold.templatesets.sources import bundled_root

BIN = Path(sys.executable).parent
DATABASES = ["postgres", "redis", "mysql", "mongodb"]
YIELD_DIR = "{% yield svc from built %}{{ svc.name }}{% endyield %}"
EXTENSION = '''\
"""q and dq for the copier baseline: the same functions dockergen puts in its context."""
from jinja2.ext import Extension

from scaffold.context import dq, quote


class Quote(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(q=quote, dq=dq)
'''
EXCLUDE = [".dockergen", ".git", ".copier-answers.yml", "dockergen.yml", "secrets"]


def layout(n: int) -> dict[str, Any]:
    built = round(n * 0.6)
    services = [{"name": f"svc-{i}", "kind": "fastapi"} for i in range(built)]
    services += [
        {"name": f"db-{i}", "kind": DATABASES[i % len(DATABASES)]} for i in range(n - built)
    ]
    return {"services": services}


# ------------------------------------------------------------------------- template versions


def to_v2(compose: Path, dockerfile: Path, manifest: Path | None) -> None:
    """The template changes of v2, applied to either tool's copy of the files."""
    text = dockerfile.read_text()
    anchor = "\nUSER 10001:10001\n"  # a line of the template's runtime stage that stays put
    assert anchor in text
    dockerfile.write_text(text.replace(anchor, "\nENV PYTHONFAULTHANDLER=1" + anchor, 1))
    text = compose.read_text()
    anchor = "    restart: unless-stopped\n"
    assert anchor in text
    compose.write_text(text.replace(anchor, anchor + "    stop_grace_period: 20s\n"))
    if manifest is not None:
        manifest.write_text(re.sub(r"(?m)^version: .*$", "version: 1.1.0", manifest.read_text()))


def dockergen_sets(root: Path) -> tuple[Path, Path]:
    v1 = root / "set-v1"
    shutil.copytree(bundled_root() / "default", v1)
    v2 = root / "set-v2"
    shutil.copytree(v1, v2)
    to_v2(
        v2 / "project" / "docker-compose.yml.jinja",
        v2 / "kinds" / "fastapi" / "files" / "Dockerfile.jinja",
        v2 / "set.yml",
    )
    return v1, v2


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.test", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def copier_repo(root: Path, v1: Path, context: dict[str, Any]) -> Path:
    """The set as one copier template in a git repo, tagged v1 and v2."""
    repo = root / "copier-template"
    template = repo / "template"
    shutil.copytree(v1 / "project", template)
    shutil.copytree(v1 / "kinds" / "fastapi" / "files", template / YIELD_DIR)
    shutil.copytree(v1 / "partials", repo / "partials")
    # the parts other templates include: database client parts, README parts (logins)
    for part in [*(v1 / "kinds").glob("*/clients"), *(v1 / "kinds").glob("*/readme")]:
        shutil.copytree(part, repo / "kinds" / part.parent.name / part.name)
    (template / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers|to_nice_yaml -}}\n"
    )
    settings = (v1 / "copier.yml").read_text().replace('"{{ dg_subdir }}"', "template")
    kinds = {str: "str", bool: "bool", int: "int"}
    questions = "".join(
        f"{key}:\n  type: {kinds.get(type(value), 'json')}\n" for key, value in context.items()
    )
    extension = "_jinja_extensions:\n  - dg_bench_ext.Quote\n"
    (repo / "copier.yml").write_text(settings + extension + questions)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1")
    to_v2(template / "docker-compose.yml.jinja", template / YIELD_DIR / "Dockerfile.jinja", None)
    git(repo, "commit", "-qam", "v2")
    git(repo, "tag", "v2")
    return repo


# ------------------------------------------------------------------------- projects


def hand_edit(project: Path, built: list[str]) -> None:
    """The same edits in both projects, none next to a line v2 changes."""
    for name in built:
        dockerfile = project / name / "Dockerfile"
        text = dockerfile.read_text()
        dockerfile.write_text(text.replace("WORKDIR /app\n", "WORKDIR /app\n# ops: pinned\n", 1))
    compose = project / "docker-compose.yml"
    text = compose.read_text()
    compose.write_text(re.sub(r"(?m)^(name: .*\n)", r"\1# ops: reviewed\n", text, count=1))
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Team notes\n\nAsk ops before changing ports.\n")


def generated(project: Path) -> dict[str, bytes]:
    return {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in sorted(project.rglob("*"))
        if p.is_file() and p.relative_to(project).parts[0] not in EXCLUDE
    }


def copier_data(context: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: v for k, v in context.items() if not callable(v)}))


class Pair:
    """One size: a dockergen project and a copier project, both edited and ready to update."""

    def __init__(self, root: Path, n: int, v1: Path, v2: Path, env: dict[str, str]) -> None:
        from copier import run_copy

        from scaffold.api import new_project

        self.root, self.env = root, env
        template = root / "set"  # the folder dockergen.yml names; upgraded in place to v2
        shutil.copytree(v1, template)
        name = f"demo{n}"
        raw = {**layout(n), "template": str(template)}
        self.dockergen = root / "dockergen" / name
        new_project(self.dockergen, parse(raw))
        norm, tset = prepare(parse(raw), project=name, base=self.dockergen)
        context = build_context(build_plan(norm, tset))
        data = copier_data(context)
        built = [s["name"] for s in context["built"]]
        shutil.rmtree(template)
        shutil.copytree(v2, template)
        self.v2_template_set = json.dumps({**data["template_set"], "version": "1.1.0"})

        repo = copier_repo(root, v1, data)
        self.copier = root / "copier" / name
        run_copy(
            str(repo), str(self.copier), data=data, vcs_ref="v1", defaults=True,
            quiet=True, unsafe=True,
        )  # fmt: skip
        assert generated(self.copier) == generated(self.dockergen), "v1 renders differ"
        hand_edit(self.dockergen, built)
        hand_edit(self.copier, built)
        git(self.copier, "init", "-q")
        git(self.copier, "add", "-A")
        git(self.copier, "commit", "-qm", "generated from v1, with hand edits")

    def fresh(self, tool: str) -> Path:
        src = self.dockergen if tool == "dockergen" else self.copier
        dst = self.root / "runs" / tool / src.name
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, symlinks=True)
        return dst

    def command(self, tool: str, project: Path) -> list[str]:
        if tool == "dockergen":
            return [str(BIN / "dockergen"), "update", str(project)]
        return [
            str(BIN / "copier"), "update", "--trust", "--defaults", "--quiet",
            "--vcs-ref", "v2", "-d", f"template_set={self.v2_template_set}", str(project),
        ]  # fmt: skip

    def run(self, tool: str) -> tuple[float, Path]:
        project = self.fresh(tool)
        start = time.perf_counter()
        subprocess.run(self.command(tool, project), env=self.env, check=True, capture_output=True)
        return time.perf_counter() - start, project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure")
    parser.add_argument(
        "--smoke", action="store_true", help="one run (CI: the script works; no timing verdict)"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    if shutil.which("git") is None:
        sys.exit("bench_update: copier update needs git")
    results: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="dockergen-bench-update-") as tmp:
        root = Path(tmp)
        ext = root / "ext"
        ext.mkdir()
        (ext / "dg_bench_ext.py").write_text(EXTENSION)
        env = {
            **os.environ,
            "DOCKERGEN_CACHE_DIR": str(root / "cache"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ext), os.environ.get("PYTHONPATH")])),
        }
        os.environ.update(env)
        sys.path.insert(0, str(ext))  # the in-process v1 render of copier needs it too
        v1, v2 = dockergen_sets(root)
        load_template_set(str(v1))
        for n in (5, 20):
            pair = Pair(root / f"n{n}", n, v1, v2, env)
            outputs = {tool: pair.run(tool)[1] for tool in ("dockergen", "copier")}  # warm-up
            same = generated(outputs["dockergen"]) == generated(outputs["copier"])
            print(f"{n} services: merged files identical in both tools: {same}", flush=True)
            times: dict[str, list[float]] = {"dockergen": [], "copier": []}
            for _ in range(args.runs):
                for tool in times:  # interleaved, so machine noise hits both alike
                    times[tool].append(pair.run(tool)[0])
            for tool, values in times.items():
                results[(tool, n)] = statistics.median(values)

    def row(label: str, a: float, b: float, unit: str = "s") -> str:
        return f"{label:<24} {a:>10.2f}{unit} {b:>10.2f}{unit} {b / a:>9.1f}x"

    print(f"\nmedian of {args.runs} cold runs   {'dockergen':>11} {'copier':>11}  copier/dg")
    for n in (5, 20):
        print(row(f"update, {n} services", results[("dockergen", n)], results[("copier", n)]))
    scale = {t: results[(t, 20)] / results[(t, 5)] for t in ("dockergen", "copier")}
    print(f"{'20 / 5 services':<24} {scale['dockergen']:>10.2f}x {scale['copier']:>10.2f}x")
    fast = min(results[("copier", n)] / results[("dockergen", n)] for n in (5, 20))
    print(
        f"\ntarget: >= 2x faster than copier update: {fast:.1f}x "
        f"({'met' if fast >= 2 else 'NOT met'})"
    )
    print(
        f"target: 20 services <= 2.5x the 5-service time: {scale['dockergen']:.2f}x "
        f"({'met' if scale['dockergen'] <= 2.5 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
