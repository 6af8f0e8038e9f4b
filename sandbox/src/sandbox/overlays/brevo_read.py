"""Spec overlay for Brevo's read endpoints (tap-brevo's side).

The vendored spec is the 2025-02 baseline; ``shared/docs/api/brevo.md`` records what is newer.
"""

from __future__ import annotations

from typing import Any

_JSON = "application/json"
_ERROR = {"$ref": "urn:spec#/components/schemas/errorModel"}

_CUSTOM_EVENT = {
    "type": "object", "required": ["event_name", "event_date"],
    "properties": {
        "contact_id": {"type": "integer"},
        "event_date": {"type": "string"},
        "event_name": {"type": "string"},
        "event_filter_id": {"type": "string"},
        "object_type": {"type": "string"},
        "event_properties": {"type": "object"},
        "contact_properties": {"type": "object"},
    },
}

_ORDER = {
    "type": "object", "required": ["id", "createdAt", "updatedAt", "status", "amount", "products"],
    "properties": {
        "id": {"type": "string"}, "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
        "status": {"type": "string"}, "amount": {"type": "number"}, "contact_id": {"type": "integer"},
        "email": {"type": "string"}, "storeId": {"type": "string"},
        "identifiers": {"type": "object"}, "billing": {"type": "object"},
        "coupons": {"type": "array", "items": {"type": "string"}},
        "metaInfo": {"type": "object"},
        "products": {"type": "array", "items": {
            "type": "object", "required": ["productId", "quantity", "price"],
            "properties": {"productId": {"type": "string"}, "quantity": {"type": "number"},
                           "variantId": {"type": "string"}, "price": {"type": "number"}}}},
    },
}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema}


OVERLAY: dict[str, Any] = {
    "operations": {
        # brevo.md §4 "GET /v3/events (newer; custom events only)": not in the 2025-02 spec.
        # Parameters and the response shape ({events, count}; items contact_id, event_date,
        # event_name, event_filter_id, object_type, event_properties; ordered by event_date
        # descending) are those of developers.brevo.com/reference/get-events.
        ("GET", "/events"): {
            "operationId": "getEvents",
            "parameters": [
                _query("contact_id", {"type": "array", "items": {"type": "integer"}}),
                _query("event_name", {"type": "array", "items": {"type": "string"}}),
                _query("object_type", {"type": "array", "items": {"type": "string"}}),
                _query("startDate", {"type": "string"}),
                _query("endDate", {"type": "string"}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}),
                _query("offset", {"type": "integer", "minimum": 0, "default": 0}),
            ],
            "responses": {
                "200": {"description": "events", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["count"],
                    "properties": {"events": {"type": "array", "items": _CUSTOM_EVENT},
                                   "count": {"type": "integer"}}}}}},
                "400": {"description": "bad request", "content": {_JSON: {"schema": _ERROR}}},
            },
        },
    },
    "responses": {
        # getOrders declares its 200 only as an example (spec lines 13341-13385, brevo.md §5
        # "schema only as example"); this schema is that example's shape, so the body is checked.
        ("GET", "/orders", "200"): {
            "type": "object", "required": ["orders", "count"],
            "properties": {"orders": {"type": "array", "items": _ORDER}, "count": {"type": "integer"}}},
    },
    "patches": [
        # The spec's getSegments schema is malformed (brevo.md §3 "Lists, folders, segments"):
        # the segment fields sit beside `items` instead of inside it, so nothing about a segment
        # is checked, and `items.required` lists `name`, a field no segment has (the documented
        # item is {id, segmentName, categoryName, updatedAt}).
        ("/components/schemas/getSegments/properties/segments", {
            "type": "array", "description": "Listing of all the segments available in your account",
            "items": {
                "type": "object", "required": ["id", "segmentName", "categoryName"],
                "properties": {"id": {"type": "integer", "format": "int64"},
                               "segmentName": {"type": "string"},
                               "categoryName": {"type": "string"},
                               "updatedAt": {"type": "string"}}}},
         "getSegments: segment fields were outside `items` and `name` was required (brevo.md §3)"),
    ],
}
