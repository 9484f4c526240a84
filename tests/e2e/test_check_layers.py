"""`dockergen check`'s copy-then-delete rule (DG201) proven on the lab engine: the Dockerfile it
flags really keeps the deleted token in a layer (`docker save`), and the fix it suggests (a
secret mount) really keeps it out.

The fixtures (tests/e2e/check/) hold no token: a unique fake one is written into each build
context's .npmrc at run time, so the scan can't match anything else.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from test_layers import marker, save, scan_saved_image

from scaffold.api import check_repository

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parent / "check"


def context(tmp_path: Path, name: str, token: str) -> Path:
    ctx = tmp_path / name
    shutil.copytree(FIXTURES / name, ctx)
    (ctx / ".npmrc").write_text(f"//npm.example.invalid/:_authToken={token}\n")
    return ctx


def layer_findings(ctx: Path) -> list[tuple[str, int | None]]:
    result = check_repository([ctx], cwd=ctx)
    concept = {rid: rule.concept for rid, rule in result.rules.items()}
    return [(f.rule, f.line) for f in result.audit.findings if concept[f.rule] == "layers"]


def test_the_flagged_dockerfile_keeps_the_token_and_the_fixed_one_does_not(lab, tmp_path):
    token = marker("npmrc-token")
    flagged = context(tmp_path, "copy-then-delete", token)
    fixed = context(tmp_path, "secret-mount", token)
    rm_line = 1 + next(
        i
        for i, line in enumerate((flagged / "Dockerfile").read_text().splitlines())
        if line.startswith("RUN rm")
    )

    # check flags the one and not the other
    flagged_findings = layer_findings(flagged)
    assert any(rule == "DG201" for rule, _ in flagged_findings), flagged_findings
    assert any(
        rule == "DG201" and line in (rm_line, rm_line - 2) for rule, line in flagged_findings
    )
    assert layer_findings(fixed) == []

    # the engine agrees: the deleted file is still in a layer of the flagged image only
    tags = [f"dge2e-check-{name}:{uuid.uuid4().hex[:8]}" for name in ("flagged", "fixed")]
    secret = tmp_path / "npmrc"
    secret.write_text((fixed / ".npmrc").read_text())
    try:
        lab.build(flagged, tags[0])
        lab.build(fixed, tags[1], "--secret", f"id=npmrc,src={secret}")
        leaked = scan_saved_image(save(lab, tags[0], tmp_path / "flagged.tar"), {"npmrc": token})
        clean = scan_saved_image(save(lab, tags[1], tmp_path / "fixed.tar"), {"npmrc": token})
    finally:
        lab.rm_images(*tags)
    assert leaked.labels() == {"npmrc"}, leaked
    assert any(where.endswith("root/.npmrc") for _, where in leaked.leaks), leaked.leaks
    assert clean.layers >= 1 and clean.files > 0, clean
    assert clean.leaks == [], clean.leaks
