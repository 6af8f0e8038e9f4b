"""Spec overlay for iterable (see the package docstring for the keys).

Sources for the reasons: ``shared/docs/api/iterable.md`` (sections cited as §N).
"""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "urn:spec#/definitions/IterableApiResponse"}
_ERROR_IN_DOC = {"$ref": "#/definitions/IterableApiResponse"}
_INT_ITEMS = {"type": "integer", "format": "int64"}

OVERLAY: dict[str, Any] = {
    "patches": [
        ("/definitions/CampaignsResponse/properties/totalCampaignsCount", {"type": "integer"},
         "the swagger says object; the API returns a count (an integer), as its description says"),
        ("/definitions/GetTemplatesResponse/properties/totalTemplatesCount", {"type": "integer"},
         "the swagger says object; it is a count, like totalCampaignsCount"),
        ("/definitions/ApiTemplateResponse/properties/createdAt",
         {"type": "integer", "format": "int64", "description": "epoch milliseconds"},
         "the swagger types it date-time, but the API sends epoch milliseconds (iterable.md §4, templates row)"),
        ("/definitions/ApiTemplateResponse/properties/updatedAt",
         {"type": "integer", "format": "int64", "description": "epoch milliseconds"},
         "as createdAt: epoch milliseconds (iterable.md §4)"),
        ("/paths/~1api~1campaigns~1metrics/get/parameters", [
            {"collectionFormat": "multi", "in": "query", "items": _INT_ITEMS, "name": "campaignId",
             "required": True, "type": "array"},
            {"allowEmptyValue": True, "in": "query", "name": "startDateTime", "required": False, "type": "string"},
            {"allowEmptyValue": True, "in": "query", "name": "endDateTime", "required": False, "type": "string"},
        ], "campaignId items are declared `object`, which no query value can be; they are campaign ids "
           "(int64 everywhere else in the swagger). The other parameters are as in the swagger."),
        ("/paths/~1api~1experiments~1metrics/get/parameters", [
            {"collectionFormat": "multi", "in": "query", "items": _INT_ITEMS, "name": "experimentId",
             "required": False, "type": "array"},
            {"collectionFormat": "multi", "in": "query", "items": _INT_ITEMS, "name": "campaignId",
             "required": False, "type": "array"},
            {"in": "query", "name": "startDateTime", "required": False, "type": "string"},
            {"in": "query", "name": "endDateTime", "required": False, "type": "string"},
        ], "experimentId and campaignId items are declared `object`; both are integer ids"),
        ("/definitions/CatalogItemWithProperties/properties/value", {"type": "object"},
         "the swagger's JsObject is Play JSON's Scala wrapper ({underlying: ...}); on the wire `value` is the "
         "item's plain JSON object"),
        ("/definitions/JobModel/properties/dataTypeName", {"type": "string"},
         "ClientDataType is the Scala class's shape ({send, updatable}); the API sends the data type's name, "
         "as the field's example (\"user\") shows"),
        ("/definitions/JobModel/properties/jobState",
         {"type": "string", "enum": ["Enqueued", "Running", "Completed", "Failed"]},
         "JobState is the Scala class's shape ({final}); the API sends the state's name, as in "
         "ExportJobStatusAndFiles.jobState"),
    ],
    "operations": {
        ("GET", "/export-files/{jobId}/{file}"): {
            "summary": "Download one file of an async export job (the URL from /api/export/{jobId}/files)",
            "description": "In the real service this is a pre-signed storage URL that expires after 30 minutes "
                           "(swagger ExportFileAndUrl.url, iterable.md §3.2). The sandbox serves the files itself, "
                           "so the download needs an operation to be checked against.",
            "produces": ["application/x-json-stream"],
            "parameters": [
                {"in": "path", "name": "jobId", "required": True, "type": "integer"},
                {"in": "path", "name": "file", "required": True, "type": "string"},
                {"in": "query", "name": "expires", "required": True, "type": "integer"},
                {"in": "query", "name": "signature", "required": True, "type": "string"},
            ],
            "responses": {"200": {"description": "newline-delimited JSON", "schema": {"type": "string"}},
                          "403": {"description": "expired or bad signature", "schema": _ERROR_IN_DOC},
                          "404": {"description": "no such file", "schema": _ERROR_IN_DOC}},
        },
    },
    # Statuses Iterable documents across endpoints but the swagger leaves off most operations:
    # 400/401 bodies, 404 for unknown ids, 429 on every limited endpoint (iterable.md §6), and
    # gateway errors, including the sandbox's timeout of a too-large synchronous export window
    # (peers saw timeouts and broken streams on large windows, iterable.md §3.1).
    "common_responses": {
        "400": _ERROR,
        "401": _ERROR,
        "403": _ERROR,
        "404": _ERROR,
        "429": _ERROR,
        "5XX": _ERROR,
    },
    "responses": {
        ("GET", "/api/export/data.json", "504"): _ERROR,
    },
}
