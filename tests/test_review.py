"""The interview as a person meets it (issue 13): the name and folder checked before the first
question, the review menu before writing, Escape going back, messages that fit the terminal.

Each test drives the installed `dockergen` through a pseudo-terminal (pexpect), or runs it as a
subprocess, and checks what it printed, its exit code and what it wrote.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from projects import default_set, skip_unless_kinds, tree

pexpect = pytest.importorskip("pexpect", reason="pexpect is a test extra: pip install -e .[test]")

REPO = Path(__file__).resolve().parent.parent
ACME = REPO / "examples" / "acme-set"
DOWN, UP, ENTER, ESC = "\x1b[B", "\x1b[A", "\r", "\x1b"
CLEAR_LINE = "\x15"  # Ctrl-U: clears a prefilled answer
CTRL_C = "\x03"
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Z0-9]|[=>])")

pytestmark = pytest.mark.skipif(
    not {"react", "fastapi", "postgres"} <= set(default_set().kinds),
    reason="the default set's react, fastapi and postgres drive these sessions",
)


def spawn(venv_bin: Path, cwd: Path, *args: str, columns: int = 100) -> pexpect.spawn:
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "NO_COLOR": "1",
        "COLUMNS": str(columns),
        "LINES": "40",
    }
    return pexpect.spawn(
        str(venv_bin / "dockergen"),
        list(args),
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, columns),
    )


def answer(child: pexpect.spawn, question: str, keys: str) -> None:
    child.expect_exact(question)
    time.sleep(0.2)  # prompt_toolkit enters raw mode after drawing
    child.send(keys)


def finish(child: pexpect.spawn) -> tuple[int, str]:
    child.expect(pexpect.EOF)
    output = child.before or ""
    child.close()
    return child.exitstatus if child.exitstatus is not None else -1, output


def plain(text: str) -> str:
    """Terminal output without escape sequences, whitespace runs as one space."""
    return " ".join(_ANSI.sub("", text).split())


def visible_after(child: pexpect.spawn, seconds: float = 0.8) -> str:
    time.sleep(seconds)
    try:
        return str(child.read_nonblocking(20000, 1))
    except pexpect.TIMEOUT:
        return ""


# The default set's default path: frontend react named frontend, backend fastapi named api,
# databases postgres; react and fastapi are asked their ports.
DEFAULT_PATH = [
    "Frontend?",
    "frontend service name:",
    "Add a backend?",
    "backend service name:",
    "Add another backend?",
    "Databases?",
    "port for frontend (react)",
    "port for api (fastapi)",
]
MENU = [
    "create",
    "edit a service",
    "add a service",
    "remove a service",
    "deploy targets",
    "cancel",
]


def accept_defaults(child: pexpect.spawn, until: str = "Review:") -> None:
    for question in DEFAULT_PATH:
        if question == until:
            break
        answer(child, question, ENTER)
    child.expect_exact(until)
    time.sleep(0.2)


def menu(label: str, labels: list[str] = MENU) -> str:
    return DOWN * labels.index(label) + ENTER


def layout_of(project: Path) -> dict:
    return yaml.safe_load((project / "dockergen.yml").read_text())


# ------------------------------------------------------------- checked before the first question


def test_an_invalid_name_gets_a_valid_one_before_the_first_question(venv_bin: Path, tmp_path: Path):
    child = spawn(venv_bin, tmp_path, "new", "Shop_3")
    try:
        child.expect_exact("Project name:")
        assert "Frontend?" not in (child.before or "")
        assert "'Shop_3' can't be a project name" in plain(child.before or "")
        time.sleep(0.2)
        child.send(ENTER)  # accept the suggestion
        accept_defaults(child)
        child.send(ENTER)  # create shop-3
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    assert "Review: create shop-3" in plain(output)
    assert tree(tmp_path) and not (tmp_path / "Shop_3").exists()
    assert layout_of(tmp_path / "shop-3")["project"] == "shop-3"


def test_a_name_typed_at_the_suggestion_is_checked_there(venv_bin: Path, tmp_path: Path):
    child = spawn(venv_bin, tmp_path, "new", "Café Été", columns=80)
    try:
        child.expect_exact("Project name:")
        time.sleep(0.2)
        child.send(CLEAR_LINE + "Bad Name" + ENTER)
        shown = plain(visible_after(child))
        assert "a name is lowercase letters, digits and '-', starting with a letter" in shown
        assert "(at most 63)" in shown
        child.send(CLEAR_LINE + "cafe" + ENTER)
        child.expect_exact("Frontend?")
        child.send(CTRL_C)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 130, output
    assert tree(tmp_path) == set()


def test_new_dot_in_a_folder_with_an_invalid_name_records_the_valid_one(
    venv_bin: Path, tmp_path: Path
):
    app = tmp_path / "My_App"
    app.mkdir()
    child = spawn(venv_bin, app, "new", ".")
    try:
        answer(child, "Project name:", ENTER)  # my-app, offered
        accept_defaults(child)
        child.send(ENTER)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    assert "Review: create my-app" in plain(output)
    assert layout_of(app)["project"] == "my-app"  # the folder keeps its name
    compose = yaml.safe_load((app / "docker-compose.yml").read_text())
    assert compose.get("name", "my-app") == "my-app"


def test_a_non_empty_folder_is_refused_before_the_first_question(venv_bin: Path, tmp_path: Path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notes.txt").write_text("mine\n")
    child = spawn(venv_bin, tmp_path, "new", "shop")
    try:
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 2, output
    assert "dockergen: " in output and "shop is not empty (pass --force" in output
    assert "Frontend?" not in output
    assert tree(tmp_path) == {"shop", "shop/notes.txt"}


# ------------------------------------------------------------- new . in a fresh repository


def _git_init(folder: Path) -> None:
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)


def test_new_dot_in_a_fresh_repository(venv_bin: Path, tmp_path: Path):
    app = tmp_path / "app"
    _git_init(app)
    (app / "LICENSE").write_text("MIT, mine\n")
    run = subprocess.run(
        [str(venv_bin / "dockergen"), "new", ".", "--defaults"],
        cwd=app,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (app / ".git" / "HEAD").is_file()
    assert (app / "LICENSE").read_text() == "MIT, mine\n"
    assert layout_of(app)["project"] == "app"


def test_new_dot_is_offered_in_a_fresh_repository(venv_bin: Path, tmp_path: Path):
    app = tmp_path / "app"
    _git_init(app)
    child = spawn(venv_bin, app, "new", ".")
    try:
        child.expect_exact("Frontend?")
        time.sleep(0.2)
        child.send(CTRL_C)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 130, output
    assert "not empty" not in output


def test_new_dot_keeps_a_readme_the_set_writes_only_with_force(venv_bin: Path, tmp_path: Path):
    app = tmp_path / "app"
    _git_init(app)
    (app / "README.md").write_text("# mine\n")
    cmd = [str(venv_bin / "dockergen"), "new", ".", "--defaults"]
    run = subprocess.run(cmd, cwd=app, capture_output=True, text=True, check=False)
    assert run.returncode == 2, run.stderr
    assert "README.md is in the way: the template set writes it" in run.stderr
    assert sorted(p.name for p in app.iterdir()) == [".git", "README.md"]


# ------------------------------------------------------------- the review


def test_review_edits_adds_and_removes_before_writing(venv_bin: Path, tmp_path: Path):
    tset = default_set()
    extra = sorted(k.name for k in tset.kinds_in("database") if k.name != "postgres")
    if not extra:
        pytest.skip("needs a second database kind")
    kinds = [
        k.name for c in tset.categories for k in sorted(tset.kinds_in(c), key=lambda k: k.name)
    ]
    child = spawn(venv_bin, tmp_path, "new", "myapp")
    try:
        accept_defaults(child)
        summary = plain(child.before or "")
        assert "myapp: 3 service(s)" in summary and "api fastapi port 8000" in summary
        # edit api: its port, cleared, takes the default; then its name
        child.send(menu("edit a service"))
        answer(child, "Edit which service?", DOWN + ENTER)  # api
        answer(child, "Change what of api?", ENTER)  # name
        answer(child, "new name for api:", CLEAR_LINE + "svc" + ENTER)
        # add the second database
        answer(child, "Review:", menu("add a service"))
        answer(child, "Add which kind?", DOWN * kinds.index(extra[0]) + ENTER)
        answer(child, "service name:", ENTER)
        # remove the frontend
        answer(child, "Review:", menu("remove a service"))
        answer(child, "Remove which service?", ENTER)
        child.expect_exact("Review:")
        shown = plain(child.before or "")
        assert "myapp: 3 service(s)" in shown and "svc fastapi" in shown
        time.sleep(0.2)
        child.send(ENTER)  # create myapp
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    services = layout_of(tmp_path / "myapp")["services"]
    assert [(s["name"], s["kind"]) for s in services] == [
        ("svc", "fastapi"),
        ("postgres", "postgres"),
        (tset.kinds[extra[0]].default_name, extra[0]),
    ]


def test_review_edits_kind_publish_and_uses(venv_bin: Path, tmp_path: Path):
    tset = default_set()
    frontends = sorted(k.name for k in tset.kinds_in("frontend"))
    other_db = sorted(k.name for k in tset.kinds_in("database") if k.name != "postgres")
    if len(frontends) < 2 or not other_db:
        pytest.skip("needs two frontend kinds and a second database kind")
    kinds = [
        k.name for c in tset.categories for k in sorted(tset.kinds_in(c), key=lambda k: k.name)
    ]
    new_front = next(k for k in frontends if k != "react")
    child = spawn(venv_bin, tmp_path, "new", "myapp")
    try:
        accept_defaults(child)
        # the frontend's kind
        child.send(menu("edit a service"))
        answer(child, "Edit which service?", ENTER)  # frontend
        answer(child, "Change what of frontend?", DOWN + ENTER)  # kind
        answer(child, "kind of frontend:", moves(frontends, "react", new_front) + ENTER)
        answer(child, "port for frontend", ENTER)
        # api published on a host port of its own
        answer(child, "Review:", menu("edit a service"))
        answer(child, "Edit which service?", DOWN + ENTER)  # api
        answer(child, "Change what of api?", DOWN * 3 + ENTER)  # publish
        answer(child, "host port of api", CLEAR_LINE + "18000" + ENTER)
        # a second database, then api uses postgres only
        answer(child, "Review:", menu("add a service"))
        answer(child, "Add which kind?", DOWN * kinds.index(other_db[0]) + ENTER)
        answer(child, "service name:", ENTER)
        answer(child, "Review:", menu("edit a service"))
        answer(child, "Edit which service?", DOWN + ENTER)  # api
        answer(child, "Change what of api?", DOWN * 4 + ENTER)  # uses
        answer(child, "api uses:", DOWN + " " + ENTER)  # untick the second database
        child.expect_exact("Review:")
        shown = plain(child.before or "")
        assert "published on 18000" in shown and "uses postgres" in shown, shown
        time.sleep(0.2)
        child.send(ENTER)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    services = {s["name"]: s for s in layout_of(tmp_path / "myapp")["services"]}
    assert services["frontend"]["kind"] == new_front
    assert services["api"]["publish"] == 18000
    assert services["api"]["uses"] == ["postgres"]


def moves(choices: list[str], start: str, target: str) -> str:
    return DOWN * ((choices.index(target) - choices.index(start)) % len(choices))


def test_escape_goes_back_to_the_previous_question(venv_bin: Path, tmp_path: Path):
    child = spawn(venv_bin, tmp_path, "new", "myapp")
    try:
        answer(child, "Frontend?", ENTER)
        answer(child, "frontend service name:", CLEAR_LINE + "web" + ENTER)
        answer(child, "Add a backend?", ESC)  # back: the name again, with "web" offered
        answer(child, "frontend service name:", ESC)  # back again: the frontend
        answer(child, "Frontend?", ENTER)
        child.expect_exact("frontend service name:")
        time.sleep(0.2)
        child.send(ENTER)  # its earlier answer is the default now
        for question in DEFAULT_PATH[2:6]:
            answer(child, question, ENTER)
        answer(child, "port for web (react)", ENTER)
        answer(child, "port for api (fastapi)", ENTER)
        answer(child, "Review:", ESC)  # back to the last question
        answer(child, "port for api (fastapi)", CLEAR_LINE + "8123" + ENTER)
        answer(child, "Review:", menu("edit a service"))
        answer(child, "Edit which service?", UP + ENTER)  # the "back" choice: the menu again
        answer(child, "Review:", ENTER)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    services = layout_of(tmp_path / "myapp")["services"]
    assert [s["name"] for s in services] == ["web", "api", "postgres"]
    assert services[1]["port"] == 8123


def test_review_chooses_deploy_targets(venv_bin: Path, tmp_path: Path):
    child = spawn(venv_bin, tmp_path, "new", "myapp")
    try:
        accept_defaults(child)
        assert "deploys to: compose" in plain(child.before or "")
        child.send(menu("deploy targets"))
        answer(child, "Deploy also to (compose always):", DOWN + " " + ENTER)  # kubernetes
        child.expect_exact("Review:")
        assert "deploys to: compose, kubernetes" in plain(child.before or "")
        time.sleep(0.2)
        child.send(ENTER)  # create myapp
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    assert layout_of(tmp_path / "myapp")["targets"] == ["compose", "kubernetes"]
    assert (tmp_path / "myapp" / "deploy" / "kubernetes" / "kustomization.yaml").is_file()
    assert not (tmp_path / "myapp" / "deploy" / "swarm").exists()


def test_cancel_in_the_review_writes_nothing(venv_bin: Path, tmp_path: Path):
    child = spawn(venv_bin, tmp_path, "new", "myapp")
    try:
        accept_defaults(child)
        child.send(menu("cancel"))
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 130, output
    assert "dockergen: cancelled; nothing was written" in output
    assert tree(tmp_path) == set()


def test_set_questions_come_before_the_review_and_can_be_changed(venv_bin: Path, tmp_path: Path):
    child = spawn(venv_bin, tmp_path, "new", "myapp", "-t", str(ACME))
    labels = [*MENU[:4], "change the template set's answers", "cancel"]
    try:
        for question in DEFAULT_PATH[:5]:
            answer(child, question, ENTER)
        answer(child, "Databases?", ENTER)
        for question in DEFAULT_PATH[6:]:
            answer(child, question, ENTER)
        answer(child, "Team that owns these services", ENTER)
        answer(child, "URL of the project's git repository", ENTER)
        child.expect_exact("Review:")
        assert "team = platform" in plain(child.before or "")
        time.sleep(0.2)
        child.send(menu("change the template set's answers", labels))
        answer(child, "Team that owns these services", CLEAR_LINE + "Data Team" + ENTER)
        assert "doesn't match" in plain(visible_after(child))
        child.send(CLEAR_LINE + "data" + ENTER)
        answer(child, "URL of the project's git repository", ENTER)
        answer(child, "Review:", ENTER)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    assert layout_of(tmp_path / "myapp")["answers"]["team"] == "data"


# ------------------------------------------------------------- messages and ports


@pytest.mark.parametrize("columns", [80, 40])
def test_validation_messages_are_never_cut(venv_bin: Path, tmp_path: Path, columns: int):
    child = spawn(venv_bin, tmp_path, "new", "myapp", columns=columns)
    try:
        answer(child, "Frontend?", ENTER)
        answer(child, "frontend service name:", CLEAR_LINE + "My App!" + ENTER)
        shown = plain(visible_after(child))
        child.send(CTRL_C)
        finish(child)
    finally:
        child.close(force=True)
    rule = "a name is lowercase letters, digits and '-', starting with a letter (at most 63)"
    assert rule in shown, shown


def test_ports_clearing_takes_the_default_and_a_clash_names_the_service(
    venv_bin: Path, tmp_path: Path
):
    child = spawn(venv_bin, tmp_path, "new", "myapp")
    try:
        for question in DEFAULT_PATH[:6]:
            answer(child, question, ENTER)
        answer(child, "port for frontend (react)", CLEAR_LINE + "8000" + ENTER)
        answer(child, "port for api (fastapi)", CLEAR_LINE + "8000" + ENTER)
        shown = plain(visible_after(child))
        assert "port 8000 is already used by service 'frontend'" in shown
        child.send(CLEAR_LINE + ENTER)  # cleared: the default offered (8001, 8000 is taken)
        answer(child, "Review:", ENTER)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    assert "a port is 1 to 65535" not in output
    services = layout_of(tmp_path / "myapp")["services"]
    assert [s["port"] for s in services[:2]] == [8000, 8001]


def test_update_ask_says_update(venv_bin: Path, tmp_path: Path):
    skip_unless_kinds({"services": [{"kind": "react"}]})
    made = subprocess.run(
        [str(venv_bin / "dockergen"), "new", "myapp", "--defaults"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    child = spawn(venv_bin, tmp_path / "myapp", "update", "--ask")
    try:
        accept_defaults(child)
        child.send(menu("edit a service"))
        answer(child, "Edit which service?", DOWN + ENTER)  # api
        answer(child, "Change what of api?", ENTER)  # name
        answer(child, "new name for api:", CLEAR_LINE + "svc" + ENTER)
        answer(child, "Review:", ENTER)
        code, output = finish(child)
    finally:
        child.close(force=True)
    assert code == 0, output
    text = plain(output)
    assert "update myapp: apply these changes" in text
    assert "create" not in text.lower().replace("created", "")
    project = tmp_path / "myapp"
    assert [s["name"] for s in layout_of(project)["services"]][:2] == ["frontend", "svc"]
    assert (project / "svc" / "Dockerfile").is_file() and not (project / "api").exists()
