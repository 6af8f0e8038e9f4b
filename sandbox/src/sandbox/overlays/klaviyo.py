"""Spec overlay for Klaviyo (revision 2026-07-15): spec defects fixed in place, each with its reason."""

from __future__ import annotations

from typing import Any

_CAMPAIGN_ATTRS = "/components/schemas/CampaignResponseObjectResource/properties/attributes/properties"

OVERLAY: dict[str, Any] = {
    # The OAuth token endpoint is documented in Klaviyo's OAuth guide, not in the API spec
    # (shared/docs/api/klaviyo.md §1: https://a.klaviyo.com/oauth/token, refresh_token grant,
    # client credentials in HTTP Basic auth).
    "operations": {
        ("POST", "/oauth/token"): {
            "operationId": "oauth_token",
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["grant_type"],
                "properties": {"grant_type": {"type": "string"}, "refresh_token": {"type": "string"}}}}}},
            "responses": {
                "200": {"description": "token", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["access_token", "token_type", "expires_in"],
                    "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"},
                                   "expires_in": {"type": "integer"}, "refresh_token": {"type": "string"},
                                   "scope": {"type": "string"}}}}}},
                "400": {"description": "bad grant", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}},
                "401": {"description": "bad client", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}},
            },
        },
    },
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
