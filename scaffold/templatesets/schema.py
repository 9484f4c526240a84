"""The JSON Schema of set.yml and kinds/*/kind.yml, generated from the manifest models.

Regenerate scaffold/schema/set.schema.json after changing a model (a test fails while it is
stale): python -m scaffold.templatesets.schema
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scaffold.templatesets.manifest import Kind, SetManifest

SET_SCHEMA_FILE = "set.schema.json"


def _partial(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A copy of an object schema for deep-merged files: no field is required in mappings.

    Mappings merge key by key, so a child set's kind.yml may give any subset of fields; list
    items are replaced whole, so they keep their required fields (referenced, not copied).
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _partial(defs[name], defs)
    out = dict(schema)
    out.pop("required", None)
    if "properties" in out:
        out["properties"] = {k: _partial(v, defs) for k, v in out["properties"].items()}
    if "anyOf" in out:
        out["anyOf"] = [_partial(v, defs) for v in out["anyOf"]]
    return out


def set_json_schema() -> dict[str, Any]:
    """JSON Schema for set.yml and kinds/*/kind.yml (scaffold/schema/set.schema.json).

    The root matches either file; `$defs.SetManifest` and `$defs.KindFile` name each one. A
    kind.yml needs all its required fields once merged with the parent set's (checked at load).
    """
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [(SetManifest, "validation"), (Kind, "validation")], ref_template="#/$defs/{model}"
    )
    defs: dict[str, Any] = top["$defs"]
    kind_file = _partial(defs["Kind"], defs)
    kind_file["properties"].pop("name")
    kind_file["title"] = "kind.yml"
    kind_file["description"] = (
        "One stack (kinds/<kind>/kind.yml); the folder name is the kind's name. Required in a "
        "set's own kinds: category, description, default_name, port, images."
    )
    defs["KindFile"] = kind_file
    defs.pop("Kind")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "dockergen template set (set.yml, kinds/*/kind.yml)",
        "anyOf": [{"$ref": "#/$defs/SetManifest"}, {"$ref": "#/$defs/KindFile"}],
        "$defs": dict(sorted(defs.items())),
    }


def set_schema_path() -> Path:
    return Path(__file__).resolve().parent.parent / "schema" / SET_SCHEMA_FILE


def set_schema_text() -> str:
    return json.dumps(set_json_schema(), indent=2) + "\n"


def write_set_schema() -> Path:
    """Regenerate scaffold/schema/set.schema.json (tests fail while it is stale)."""
    path = set_schema_path()
    path.write_text(set_schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m scaffold.templatesets.schema: regenerate the set schema
    print(write_set_schema())
