"""Spec overlay for iterable (see the package docstring for the keys)."""

from __future__ import annotations

from typing import Any

OVERLAY: dict[str, Any] = {
    "patches": [
        ("/definitions/CampaignsResponse/properties/totalCampaignsCount", {"type": "integer"},
         "the swagger says object; the API returns a count (an integer), as its description says"),
    ],
}
