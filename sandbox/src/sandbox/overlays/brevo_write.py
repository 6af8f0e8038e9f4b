"""Spec overlay for Brevo's write endpoints (target-brevo's side).

The vendored spec is the 2025-02 baseline; brevo.md (shared/docs/api) records what changed since.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "urn:spec#/components/schemas/errorModel"}
_JSON = "application/json"

_IDENTIFIERS = {
    "type": "object", "minProperties": 1,
    "properties": {k: {"type": "string"} for k in ("email_id", "phone_id", "whatsapp_id", "landline_number_id",
                                                     "ext_id")} | {"contact_id": {"type": "integer"}},
}
_SCALAR = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
_EVENT_ITEM = {
    "type": "object", "required": ["event_name", "identifiers"],
    "properties": {
        "event_name": {"type": "string", "maxLength": 255},
        "event_date": {"type": "string"},
        "identifiers": _IDENTIFIERS,
        "contact_properties": {"type": "object", "additionalProperties": {"anyOf": _SCALAR}},
        "event_properties": {"type": "object"},
        "object": {"type": "object"},
    },
}

OVERLAY: dict[str, Any] = {
    "operations": {
        # brevo.md §4 "POST /v3/events/batch (createBatchEvents)": added 2026-03-03, not in the 2025-02
        # spec. Success body from brevo-python 5.1.0 types/batch_accepted_response.py; its status
        # is not stated (UNVERIFIED): the sandbox answers 202 as for other queued work. The 207
        # body's field names are not published either (UNVERIFIED): per-event errors by index.
        ("POST", "/events/batch"): {
            "operationId": "createBatchEvents",
            "requestBody": {"required": True, "content": {_JSON: {"schema": {
                "type": "object", "required": ["events"],
                "properties": {"events": {"type": "array", "minItems": 1, "items": _EVENT_ITEM}}}}}},
            "responses": {
                "202": {"description": "accepted", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["message", "count"],
                    "properties": {"message": {"type": "string"}, "count": {"type": "integer"}}}}}},
                "207": {"description": "partial success", "content": {_JSON: {"schema": {
                    "type": "object", "required": ["message", "errors"],
                    "properties": {
                        "message": {"type": "string"}, "successCount": {"type": "integer"},
                        "failureCount": {"type": "integer"},
                        "errors": {"type": "array", "items": {
                            "type": "object", "required": ["index", "message"],
                            "properties": {"index": {"type": "integer"}, "message": {"type": "string"},
                                           "event_name": {"type": "string", "nullable": True}}}}}}}}},
                "400": {"description": "bad request", "content": {_JSON: {"schema": _ERROR}}},
            },
        },
        # brevo.md §3 "GET /v3/processes": the info.import report CSVs are the only way to learn
        # which rows an import dropped. Brevo serves them from its file host through presigned
        # URLs; the sandbox serves them under its own prefix, without authentication.
        ("GET", "/_reports/imports/{processId}/{report}"): {
            "operationId": "sandboxImportReport",
            "parameters": [{"name": "processId", "in": "path", "required": True, "schema": {"type": "integer"}},
                           {"name": "report", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                          "404": {"description": "not found", "content": {_JSON: {"schema": _ERROR}}}},
        },
    },
    "responses": {
        # brevo.md §3 "GET /v3/processes/{processId}": the current API adds the statuses
        # processing/failed/cancelled and, for completed IMPORTUSER processes, info.import.
        ("GET", "/processes/{processId}", "200"): {
            "type": "object", "required": ["id", "name", "status"],
            "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}, "export_url": {"type": "string"},
                "status": {"type": "string", "enum": ["queued", "in_process", "processing", "completed",
                                                      "failed", "cancelled"]},
                "info": {"type": "object", "properties": {"import": {"type": "object", "properties": {
                    k: {"type": "string", "nullable": True} for k in (
                        "invalid_emails", "duplicate_contact_id", "duplicate_ext_id", "duplicate_email_id",
                        "duplicate_phone_id", "duplicate_whatsapp_id", "duplicate_landline_number_id")}}}},
            },
        },
    },
    "patches": [
        # The spec's oneOf alternatives declare no required keys, so every body matches all of
        # them and oneOf always fails; anyOf keeps the documented alternatives (spec defect).
        *[(f"/paths/~1contacts~1lists~1{{listId}}~1contacts~1{op}/post/requestBody/content/application~1json/schema",
           {"anyOf": [{"$ref": f"#/components/schemas/{n}"} for n in names]},
           "spec defect: oneOf over schemas without required keys matches every body")
          for op, names in (("add", ("addContactToListByEmails", "addContactToListByIDs", "addContactToListByExtIDs")),
                            ("remove", ("removeContactFromListByEmails", "removeContactFromListByIDs",
                                        "removeContactFromListByAll", "removeContactFromListByExtIDs")))],
        *[(f"/components/schemas/postContactInfo/properties/contacts/properties/{k}",
           {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
           "spec defect: an empty array matches both oneOf alternatives")
          for k in ("success", "failure")],
        ("/components/schemas/event/properties/identifiers", _IDENTIFIERS,
         "brevo.md §4: the current API accepts identifiers.contact_id (priority over the others)"),
        ("/components/schemas/event/properties/contact_properties/additionalProperties", {"anyOf": _SCALAR},
         "brevo.md pitfall 10: the API accepts boolean (and float) contact_properties the old SDK rejected"),
        ("/components/schemas/event/properties/event_properties/additionalProperties", {},
         "brevo.md §4: event_properties take strings, numbers, booleans, dates, nested objects and arrays"),
        ("/components/schemas/getAttributes/properties/attributes/items/properties/type/enum",
         ["text", "date", "float", "id", "boolean", "category", "multiple-choice", "user"],
         "brevo.md §3 Attributes: category, multiple-choice and user attribute types exist"),
    ],
}
