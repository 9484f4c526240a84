"""The policy rules (DG6xx): a template set's policy (scaffold.policy, the same verdict
generation applies to what it renders) on the audited Dockerfiles and compose files."""

from __future__ import annotations

from scaffold.check.catalogue import load as load_rules
from scaffold.check.model import Finding
from scaffold.check.project import Project
from scaffold.dockerfile import Stage, dockerfile_stages, syntax_image
from scaffold.policy import Reference, violations

# scaffold.policy's rule names -> the catalogue's ids
RULE_IDS = {
    "allowed_registries": "DG601",
    "images": "DG601",
    "mirror": "DG602",
    "labels": "DG603",
    "require_digests": "DG604",
    "digests": "DG605",
}


def policy_findings(project: Project) -> list[Finding]:
    tset = project.tset
    if not tset.policy.active and not tset.digests:
        return []
    refs: list[Reference] = []
    stages: dict[str, list[Stage]] = {}
    for parsed in project.dockerfiles.values():
        stages[parsed.rel] = dockerfile_stages(parsed.text)
        syntax = syntax_image(parsed.text)
        if syntax:  # BuildKit pulls the frontend image like a base image
            refs.append(Reference(parsed.rel, syntax[0], syntax[1], "# syntax"))
        for stage in stages[parsed.rel]:
            refs += [Reference(parsed.rel, line, ref, where) for line, ref, where in stage.images]
    for compose in project.composes:
        for name, svc in compose.services.items():
            image = svc.get("image")
            if "build" in svc or not isinstance(image, str):
                continue  # a built service's image is the project's own: no registry rule applies
            refs.append(
                Reference(
                    compose.rel, compose.line("services", name, "image"), image, f"service {name}"
                )
            )
    rules = load_rules()
    return [
        Finding(RULE_IDS[v.rule], v.file, v.line, v.message, rules[RULE_IDS[v.rule]].severity)
        for v in violations(refs, stages, tset)
    ]
