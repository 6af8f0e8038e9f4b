"""Spec overlay for Brevo, common to both sides (see the package docstring for the keys)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "urn:spec#/components/schemas/errorModel"}

OVERLAY: dict[str, Any] = {
    # The spec's description lists 401/403/404/405/406/422 for the whole API; few operations
    # declare them.
    "common_responses": dict.fromkeys(("400", "401", "402", "403", "404", "405", "406", "422", "5XX"), _ERROR),
    # The 429 body is not documented and no errorModel code fits it (the enum predates the
    # rate-limit docs); only the shape is checked. UNVERIFIED against the live API.
    "status_overrides": {
        "429": {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
    },
}
