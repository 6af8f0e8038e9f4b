"""Spec overlay for Klaviyo (revision 2026-07-15): spec defects fixed in place, each with its reason."""

from __future__ import annotations

from typing import Any

_CAMPAIGN_ATTRS = "/components/schemas/CampaignResponseObjectResource/properties/attributes/properties"

OVERLAY: dict[str, Any] = {
    "patches": [
        (f"{_CAMPAIGN_ATTRS}/send_options", {"anyOf": [
            {"$ref": "#/components/schemas/EmailSendOptions"},
            {"$ref": "#/components/schemas/SMSSendOptions"},
            {"$ref": "#/components/schemas/PushSendOptions"}]},
         "The three send-option variants are the same schema ({use_smart_sending}), so every real "
         "campaign matches all three and `oneOf` can never pass; `anyOf` keeps the check meaningful."),
        (f"{_CAMPAIGN_ATTRS}/tracking_options", {"nullable": True, "anyOf": [
            {"$ref": "#/components/schemas/CampaignsEmailTrackingOptions"},
            {"$ref": "#/components/schemas/CampaignsSMSTrackingOptions"}]},
         "Email tracking options are a superset of the SMS ones (no additionalProperties: false), so "
         "an email campaign's options match both and `oneOf` always fails."),
    ],
}
