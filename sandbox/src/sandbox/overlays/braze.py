"""Spec overlay for Braze: field-level response checks where the spec says only ``type: object``.

The shapes come from ``shared/docs/api/braze.md`` (Braze's endpoint docs).
"""

from __future__ import annotations

from typing import Any

_STR_LIST = {"type": "array", "items": {"type": "string"}}

OVERLAY: dict[str, Any] = {
    "responses": {
        ("GET", "/campaigns/list", "200"): {
            "type": "object",
            "required": ["message", "campaigns"],
            "properties": {
                "message": {"type": "string", "enum": ["success"]},
                "campaigns": {"type": "array", "items": {
                    "type": "object",
                    "required": ["id", "last_edited", "name", "is_api_campaign", "tags"],
                    "additionalProperties": False,
                    "properties": {"id": {"type": "string"}, "last_edited": {"type": "string", "format": "date-time"},
                                   "name": {"type": "string"}, "is_api_campaign": {"type": "boolean"},
                                   "tags": _STR_LIST},
                }},
            },
        },
    },
}
