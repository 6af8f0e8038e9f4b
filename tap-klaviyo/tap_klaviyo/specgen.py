"""Derive the stream schemas and the endpoint table from Klaviyo's OpenAPI spec.

``python -m tap_klaviyo.specgen path/to/stable.json`` rewrites ``schemas/*.json`` and
``endpoints.json``; the tests regenerate both in memory and fail when they drift from the spec.
A record is the resource ``id``, its ``attributes`` and one ``<name>_id`` (to-one) or
``<name>_ids`` (to-many) field per relationship in ``RELATIONSHIPS``, plus the few fields the
tap adds itself (``TAP_FIELDS``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).parent

# stream → (method, spec path)
STREAMS: dict[str, tuple[str, str]] = {
    "profiles": ("GET", "/api/profiles"),
    "events": ("GET", "/api/events"),
    "metrics": ("GET", "/api/metrics"),
    "lists": ("GET", "/api/lists"),
    "list_members": ("GET", "/api/lists/{id}/profiles"),
    "segments": ("GET", "/api/segments"),
    "segment_members": ("GET", "/api/segments/{id}/profiles"),
    "campaigns": ("GET", "/api/campaigns"),
    "campaign_messages": ("GET", "/api/campaigns/{id}/campaign-messages"),
    "flows": ("GET", "/api/flows"),
    "flow_actions": ("GET", "/api/flows/{id}/flow-actions"),
    "flow_messages": ("GET", "/api/flow-actions/{id}/flow-messages"),
    "templates": ("GET", "/api/templates"),
    "tags": ("GET", "/api/tags"),
    "tag_groups": ("GET", "/api/tag-groups"),
    "catalog_items": ("GET", "/api/catalog-items"),
    "catalog_variants": ("GET", "/api/catalog-variants"),
    "catalog_categories": ("GET", "/api/catalog-categories"),
    "coupons": ("GET", "/api/coupons"),
    "coupon_codes": ("GET", "/api/coupon-codes"),
    "metric_aggregates": ("POST", "/api/metric-aggregates"),
}

# Relationships flattened into id fields (those Klaviyo returns with ``data`` in list responses).
RELATIONSHIPS: dict[str, list[str]] = {
    "events": ["metric", "profile"],
    "campaigns": ["campaign-messages", "tags"],
    "campaign_messages": ["campaign", "template", "image"],
    "flows": ["flow-actions", "tags"],
    "flow_actions": ["flow"],
    "tags": ["tag-group"],
    "catalog_variants": ["item"],
    "coupon_codes": ["coupon", "profile"],
}

# Member streams keep the membership and the profile's identifiers, not the whole profile.
MEMBER_FIELDS = ["email", "phone_number", "external_id", "joined_group_at"]

_STR = {"type": ["string", "null"]}
_DT = {"type": ["string", "null"], "format": "date-time"}
# Fields the tap adds, with why: they are not in the spec's resource.
TAP_FIELDS: dict[str, dict[str, Any]] = {
    # joined from included[]
    "events": {"metric_name": _STR, "profile_email": _STR, "profile_phone_number": _STR, "profile_external_id": _STR},
    "campaigns": {"channel": _STR},  # the channel partition the campaign was listed under
    "list_members": {"list_id": {"type": "string"}, "profile_id": {"type": "string"}},  # the parent list
    "segment_members": {"segment_id": {"type": "string"}, "profile_id": {"type": "string"}},
    "flow_messages": {"flow_action_id": _STR},  # the parent flow action
    # One row per (query, date, dimension values) of the aggregate's response.
    "metric_aggregates": {"metric_id": {"type": "string"}, "interval": {"type": "string"}, "date": _DT,
                          "dimension_key": {"type": "string"}, "dimensions": {
        "type": ["array", "null"], "items": {"type": ["string", "null"]}}, "measurements": {
        "type": ["object", "null"], "additionalProperties": {"type": ["number", "null"]}}},
}


def rel_field(name: str, to_many: bool) -> str:
    base = name.replace("-", "_")
    if to_many:
        return (base[:-1] if base.endswith("s") else base) + "_ids"
    return base + "_id"


class Spec:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.schemas = doc["components"]["schemas"]

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            s = self.schemas[s["$ref"].rsplit("/", 1)[-1]]
        return s

    def merged(self, s: dict[str, Any]) -> dict[str, Any]:
        """An object schema with ``allOf`` parts merged (properties unioned, recursively)."""
        s = self.resolve(s)
        if "allOf" not in s:
            return s
        out: dict[str, Any] = {"type": "object", "properties": {}}
        for raw in s["allOf"]:
            part = self.merged(raw)
            for k, v in part.get("properties", {}).items():
                merged = v
                if k in out["properties"]:
                    a, b = self.merged(out["properties"][k]), self.merged(v)
                    if "properties" in a or "properties" in b:
                        merged = {"type": "object", "properties": {**a.get("properties", {}), **b.get("properties", {})}}
                out["properties"][k] = merged
        return out

    def operation(self, method: str, path: str) -> dict[str, Any]:
        return self.doc["paths"][path][method.lower()]

    def resource(self, method: str, path: str) -> dict[str, Any]:
        """The merged schema of one item of the endpoint's ``data``."""
        op = self.operation(method, path)
        code = next(c for c in op["responses"] if c.startswith("2"))
        doc = self.resolve(op["responses"][code]["content"]["application/vnd.api+json"]["schema"])
        data = self.merged(doc)["properties"]["data"]
        data = self.resolve(data)
        return self.merged(data.get("items", data))

    def to_jsonschema(self, s: dict[str, Any], depth: int = 0) -> dict[str, Any]:
        """OpenAPI 3.0 → JSON Schema, every field nullable, enums dropped (Klaviyo adds values)."""
        s = self.merged(s)
        for key in ("oneOf", "anyOf"):
            if key in s:
                branches = [self.merged(b) for b in s[key]]
                types = {b.get("type", "object") for b in branches}
                if types == {"object"}:
                    return {"type": ["object", "null"]}
                return {"type": [*sorted(types), "null"]}
        typ = s.get("type", "object")
        if typ == "object":
            props = s.get("properties")
            if not props or depth > 6:
                return {"type": ["object", "null"]}
            return {"type": ["object", "null"],
                    "properties": {k: self.to_jsonschema(v, depth + 1) for k, v in props.items()}}
        if typ == "array":
            return {"type": ["array", "null"], "items": self.to_jsonschema(s.get("items", {}), depth + 1)}
        out: dict[str, Any] = {"type": [typ, "null"]}
        if s.get("format") in ("date-time", "date"):
            out["format"] = s["format"]
        return out


def stream_schema(spec: Spec, stream: str) -> dict[str, Any]:
    method, path = STREAMS[stream]
    props: dict[str, Any] = {}
    if stream == "metric_aggregates":
        props.update(TAP_FIELDS[stream])
        return {"type": "object", "properties": props}
    res = spec.resource(method, path)
    attrs = spec.merged(res["properties"]["attributes"]).get("properties", {})
    props["id"] = {"type": "string"}
    if stream in ("list_members", "segment_members"):
        props = dict(TAP_FIELDS[stream])
        attrs = {k: attrs[k] for k in MEMBER_FIELDS}
    for name, sub in attrs.items():
        props[name] = spec.to_jsonschema(sub)
    rels = spec.merged(res["properties"].get("relationships", {})).get("properties", {})
    for name in RELATIONSHIPS.get(stream, []):
        data = spec.resolve(spec.merged(rels[name])["properties"]["data"])
        many = data.get("type") == "array"
        props[rel_field(name, many)] = {"type": ["array", "null"], "items": {"type": "string"}} if many else _STR
    if stream not in ("list_members", "segment_members"):
        props.update(TAP_FIELDS.get(stream, {}))
    return {"type": "object", "properties": props}


def endpoints(spec: Spec) -> dict[str, Any]:
    """Per stream: path, the spec's rate-limit tier, scopes and page[size] bounds."""
    out = {}
    for stream, (method, path) in STREAMS.items():
        op = spec.operation(method, path)
        limit = op["x-klaviyo-ratelimit"]
        size = None
        for raw in op.get("parameters", []):
            p = raw if "$ref" not in raw else spec.doc["components"]["parameters"][raw["$ref"].rsplit("/", 1)[-1]]
            if p.get("name") == "page[size]":
                size = {"default": p["schema"].get("default"), "maximum": p["schema"].get("maximum")}
        out[stream] = {"method": method, "path": path, "burst": int(limit["burst"].split("/")[0]),
                       "steady": int(limit["steady"].split("/")[0]), "scopes": op.get("x-klaviyo-scopes", []),
                       "page_size": size}
    return out


def generate(doc: dict[str, Any]) -> dict[str, Any]:
    """file name → content, for every generated file."""
    spec = Spec(doc)
    files: dict[str, Any] = {f"schemas/{s}.json": stream_schema(spec, s) for s in STREAMS}
    files["endpoints.json"] = endpoints(spec)
    return files


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    doc = json.loads(Path(argv[0]).read_text())
    for name, content in generate(doc).items():
        (PACKAGE / name).write_text(dump(content))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
