"""The schema files are derived from Klaviyo's spec and stay in sync with it."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from sandbox.conformance import specs_dir
from tap_klaviyo import specgen

SPEC = json.loads((specs_dir() / "klaviyo" / "stable.json").read_text())
PKG = resources.files("tap_klaviyo")


@pytest.mark.parametrize("name", sorted(specgen.generate(SPEC)))
def test_generated_files_match_the_spec(name):
    assert json.loads(PKG.joinpath(name).read_text()) == specgen.generate(SPEC)[name], \
        f"{name} drifted: run python -m tap_klaviyo.specgen ../shared/specs/klaviyo/stable.json"


def _spec_has(spec: specgen.Spec, schema: dict, path: list[str]) -> bool:
    node = spec.merged(schema)
    for part in path:
        props = spec.merged(node).get("properties", {})
        if part not in props:
            return False
        node = props[part]
    return True


def _walk(props: dict, prefix: list[str]):
    for name, sub in props.items():
        yield [*prefix, name]
        if "properties" in sub:
            yield from _walk(sub["properties"], [*prefix, name])


@pytest.mark.parametrize("stream", sorted(set(specgen.STREAMS) - {"metric_aggregates"}))
def test_every_schema_field_exists_in_the_spec(stream):
    spec = specgen.Spec(SPEC)
    method, path = specgen.STREAMS[stream]
    res = spec.resource(method, path)
    attrs = res["properties"]["attributes"]
    rels = spec.merged(res["properties"].get("relationships", {})).get("properties", {})
    rel_fields = {specgen.rel_field(n, spec.resolve(spec.merged(r)["properties"].get("data", {})).get("type") == "array")
                  for n, r in rels.items()}
    schema = json.loads(PKG.joinpath(f"schemas/{stream}.json").read_text())
    tap_added = set(specgen.TAP_FIELDS.get(stream, {}))
    missing = []
    for field in _walk(schema["properties"], []):
        top = field[0]
        if len(field) == 1 and (top == "id" or top in tap_added or top in rel_fields):
            continue
        if not _spec_has(spec, attrs, field):
            missing.append(".".join(field))
    assert not missing, f"{stream}: fields not in the spec: {missing}"
