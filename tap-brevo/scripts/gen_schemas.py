"""Regenerate tap_brevo/schemas/*.json from Brevo's spec (with the sandbox overlay's fixes).

Run from the repo root: ``.venv/bin/python tap-brevo/scripts/gen_schemas.py``. Each stream's
schema is the item schema of its list endpoint's 200 response, with ``allOf`` merged, every
field nullable except the primary key, and timestamps marked ``date-time``. The overlay supplies
GET /events and GET /orders (newer than, or only exemplified in, the 2025-02 spec) and the
getSegments fix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.conformance import load_spec

OUT = Path(__file__).resolve().parents[1] / "tap_brevo" / "schemas"
STREAMS = {  # stream: (path, array key, primary keys, extra properties)
    "contacts": ("/contacts", "contacts", ["id"], {}),
    "contact_attributes": ("/contacts/attributes", "attributes", ["category", "name"], {}),
    "lists": ("/contacts/lists", "lists", ["id"], {}),
    "list_contacts": ("/contacts/lists/{listId}/contacts", "contacts", ["list_id", "id"],
                      {"list_id": {"type": "integer"}}),
    "folders": ("/contacts/folders", "folders", ["id"], {}),
    "segments": ("/contacts/segments", "segments", ["id"], {}),
    "email_campaigns": ("/emailCampaigns", "campaigns", ["id"], {}),
    "sms_campaigns": ("/smsCampaigns", "campaigns", ["id"], {}),
    "email_events": ("/smtp/statistics/events", "events", ["event_key"], {"event_key": {"type": "string"}}),
    "smtp_templates": ("/smtp/templates", "templates", ["id"], {}),
    "senders": ("/senders", "senders", ["id"], {}),
    "webhooks": ("/webhooks", "webhooks", ["id"], {}),
    "custom_events": ("/events", "events", ["event_key"], {"event_key": {"type": "string"}}),
    "products": ("/products", "products", ["id"], {}),
    "categories": ("/categories", "categories", ["id"], {}),
    "orders": ("/orders", "orders", ["id"], {}),
}
TIMESTAMPS = {"createdAt", "modifiedAt", "updatedAt", "date", "event_date", "sentDate", "scheduledAt"}


def flatten(spec: Any, node: Any) -> dict[str, Any]:
    """Dereference and merge ``allOf`` parts into one object schema."""
    node = spec.deref(node)
    if "allOf" not in node:
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    merged.setdefault("type", "object")
    props: dict[str, Any] = dict(merged.get("properties", {}))
    for part in node["allOf"]:
        props.update(flatten(spec, part).get("properties", {}))
    merged["properties"] = props
    return merged


def clean(spec: Any, node: Any, name: str = "", required: bool = False) -> dict[str, Any]:
    node = flatten(spec, node)
    out: dict[str, Any] = {}
    typ = node.get("type", "object" if "properties" in node else None)
    if typ:
        out["type"] = typ if required else [typ, "null"]
    if name in TIMESTAMPS and typ == "string":
        out["format"] = "date-time"
    if node.get("properties"):
        # An empty ``properties`` would make singer-sdk drop every key (e.g. contact attributes):
        # such objects are left open instead.
        out["properties"] = {k: clean(spec, v, k) for k, v in node["properties"].items()}
    if "items" in node:
        out["items"] = clean(spec, node["items"], required=True)
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = clean(spec, node["additionalProperties"], required=True)
    # Enums are not kept: brevo.md lists values newer than the spec, which must not be rejected.
    return out


def main() -> None:
    spec = load_spec("brevo")
    for stream, (path, key, pks, extra) in STREAMS.items():
        op = spec.doc["paths"][path]["get"]
        override = spec.response_overrides.get(("GET", path, "200"))
        if override is not None:
            body = override
        else:
            resp = spec.deref(op["responses"]["200"])
            body = resp["content"]["application/json"]["schema"]
        item = spec.deref(spec.deref(body)["properties"][key]["items"])
        schema = clean(spec, item, required=True)
        schema["properties"].update(extra)
        for pk in pks:
            prop = schema["properties"][pk]
            prop["type"] = prop["type"][0] if isinstance(prop["type"], list) else prop["type"]
        schema["required"] = pks
        schema = {"type": "object", "properties": schema["properties"], "required": pks}
        (OUT / f"{stream}.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
