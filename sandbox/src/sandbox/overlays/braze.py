"""Spec overlay for Braze: field-level response checks where the spec says only ``type: object``.

The shapes come from ``shared/docs/api/braze.md`` (Braze's endpoint docs, cited there per endpoint).
``/events`` and ``/custom_attributes`` are newer than the vendored spec (braze.md §3.2), and the
export ZIP's download URL is a pre-signed storage URL that no Braze spec describes (§3.4).
"""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NSTR = {"type": "string", "nullable": True}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_DT = {"type": "string", "format": "date-time"}
_STR_LIST = {"type": "array", "items": _STR}
_ANY_OBJ = {"type": "object"}
_SUCCESS = {"type": "string", "enum": ["success"]}


def _obj(required: list[str] | None = None, closed: bool = True, **props: Any) -> dict[str, Any]:
    """An object schema; ``required`` defaults to every property listed."""
    out: dict[str, Any] = {"type": "object", "properties": props,
                           "required": list(props) if required is None else required}
    if closed:
        out["additionalProperties"] = False
    return out


def _envelope(key: str, items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return _obj(message=_SUCCESS, **{key: {"type": "array", "items": items}}, **extra)


def _series(field: str, value: dict[str, Any], time: dict[str, Any] = _STR) -> dict[str, Any]:
    return _envelope("data", _obj(time=time, **{field: value}))


_CAMPAIGN = _obj(id=_STR, last_edited=_DT, name=_STR, is_api_campaign=_BOOL, tags=_STR_LIST)
_CANVAS = _obj(id=_STR, last_edited=_DT, name=_STR, tags=_STR_LIST)
_SEGMENT = _obj(id=_STR, name=_STR, analytics_tracking_enabled=_BOOL, tags=_STR_LIST)
_EMAIL_STATS = _obj(
    ["sent"], closed=False, variation_name=_STR, sent=_INT, delivered=_INT, opens=_INT, unique_opens=_INT,
    clicks=_INT, unique_clicks=_INT, unsubscribes=_INT, bounces=_INT, reported_spam=_INT)
_CANVAS_TOTALS = _obj(revenue=_NUM, conversions=_INT, conversions_by_entry_time=_INT, entries=_INT)
_CANVAS_VARIANT = _obj(name=_STR, revenue=_NUM, conversions=_INT, conversions_by_entry_time=_INT, entries=_INT)
_CANVAS_STEP = _obj(name=_STR, revenue=_NUM, conversions=_INT, conversions_by_entry_time=_INT,
                    unique_recipients=_INT, messages={"type": "object", "additionalProperties": {
                        "type": "array", "items": _obj(["sent"], closed=False, sent=_INT, opens=_INT)}})
_NAME_FIRST_LAST = _obj(name=_STR, first=_DT, last=_DT, count=_INT)
# A user as the exports print it: only the fields asked for, so none is required.
_USER = _obj(
    [], external_id=_STR, braze_id=_STR, user_aliases={"type": "array", "items": _obj(alias_name=_STR, alias_label=_STR)},
    first_name=_NSTR, last_name=_NSTR, email=_NSTR, phone=_NSTR, country=_STR, home_city=_STR, language=_STR,
    time_zone=_STR, gender=_NSTR, dob=_NSTR, created_at=_DT,
    email_subscribe={"type": "string", "enum": ["opted_in", "subscribed", "unsubscribed"]},
    push_subscribe={"type": "string", "enum": ["opted_in", "subscribed", "unsubscribed"]},
    total_revenue=_NUM, random_bucket=_INT, custom_attributes=_ANY_OBJ,
    purchases={"type": "array", "items": _NAME_FIRST_LAST}, custom_events={"type": "array", "items": _NAME_FIRST_LAST})
_CATALOG_ERROR = _obj(message=_STR, errors={"type": "array", "items": _obj(
    id=_STR, message=_STR, parameters=_STR_LIST, parameter_values={"type": "array"})})
_KPI = {f"/kpi/{k}/data_series": k for k in ("dau", "mau", "new_users", "uninstalls")}
_CURSOR_PARAM = {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}}


def _get(summary: str, params: list[dict[str, Any]], statuses: dict[str, str]) -> dict[str, Any]:
    return {"summary": summary, "parameters": params, "responses": {
        code: {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for code, text in statuses.items()}}


_STD = {"200": "Successful response", "400": "Bad Request", "401": "Unauthorized", "403": "Forbidden",
        "429": "Rate Limited", "500": "Internal Server Error"}

OVERLAY: dict[str, Any] = {
    "operations": {
        # braze.md §3.2: newer than the vendored spec; cursor pages of 50 with a Link header.
        ("GET", "/events"): _get("List custom events", [_CURSOR_PARAM], _STD),
        ("GET", "/custom_attributes"): _get("List custom attributes", [_CURSOR_PARAM], _STD),
        # braze.md §3.4: the export's `url`, a pre-signed storage URL (no key); 404 until the file is ready.
        ("GET", "/export-files/{file}"): {
            "summary": "Download a segment export ZIP",
            "security": [],
            "parameters": [{"name": "file", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the ZIP", "content": {"application/zip": {}}},
                          "403": {"description": "expired", "content": {"application/xml": {}}},
                          "404": {"description": "not ready yet", "content": {"application/xml": {}}}},
        },
    },
    "ignored_params": {
        # braze.md §3.3: items are cursor-paged; the spec's operation omits the parameter.
        ("GET", "/catalogs/{catalog_name}/items"): {"cursor"},
    },
    "responses": {
        ("GET", "/campaigns/list", "200"): _envelope("campaigns", _CAMPAIGN),
        ("GET", "/campaigns/details", "200"): _obj(
            ["message", "created_at", "updated_at", "archived", "draft", "name", "channels", "tags", "messages"],
            closed=False, message=_SUCCESS, created_at=_DT, updated_at=_DT, archived=_BOOL, draft=_BOOL,
            enabled=_BOOL, name=_STR, description=_STR, schedule_type=_STR, channels=_STR_LIST, first_sent=_DT,
            last_sent=_DT, tags=_STR_LIST, teams=_STR_LIST,
            messages={"type": "object", "additionalProperties": _obj(["channel"], closed=False, channel=_STR)},
            conversion_behaviors={"type": "array", "items": _ANY_OBJ}),
        ("GET", "/campaigns/data_series", "200"): _envelope("data", _obj(
            ["time", "messages"], closed=False, time=_STR,
            messages={"type": "object", "additionalProperties": {"type": "array", "items": _EMAIL_STATS}},
            conversions=_INT, conversions_by_send_time=_INT, unique_recipients=_INT, revenue=_NUM)),
        ("GET", "/canvas/list", "200"): _envelope("canvases", _CANVAS),
        ("GET", "/canvas/details", "200"): _obj(
            ["message", "created_at", "updated_at", "name", "archived", "draft", "steps", "variants"], closed=False,
            message=_SUCCESS, created_at=_DT, updated_at=_DT, name=_STR, description=_STR, archived=_BOOL,
            draft=_BOOL, schedule_type=_STR, first_entry=_DT, last_entry=_DT, channels=_STR_LIST,
            variants={"type": "array", "items": _obj(["name", "id"], closed=False, name=_STR, id=_STR)},
            tags=_STR_LIST, teams=_STR_LIST,
            steps={"type": "array", "items": _obj(["name", "id"], closed=False, name=_STR, type=_STR, id=_STR,
                                                  next_step_ids=_STR_LIST, channels=_STR_LIST)}),
        ("GET", "/canvas/data_series", "200"): _obj(message=_SUCCESS, data=_obj(name=_STR, stats={
            "type": "array", "items": _obj(
                ["time", "total_stats"], time=_STR, total_stats=_CANVAS_TOTALS,
                variant_stats={"type": "object", "additionalProperties": _CANVAS_VARIANT},
                step_stats={"type": "object", "additionalProperties": _CANVAS_STEP})})),
        ("GET", "/segments/list", "200"): _envelope("segments", _SEGMENT),
        ("GET", "/segments/details", "200"): _obj(
            ["message", "created_at", "updated_at", "name"], message=_SUCCESS, created_at=_DT, updated_at=_DT,
            name=_STR, description=_STR, text_description=_STR, tags=_STR_LIST, teams=_STR_LIST),
        ("GET", "/segments/data_series", "200"): _series("size", _INT),
        ("GET", "/events", "200"): _envelope("events", _obj(
            name=_STR, description=_NSTR, included_in_analytics_report=_BOOL, status=_STR, tag_names=_STR_LIST)),
        ("GET", "/events/list", "200"): _obj(message=_SUCCESS, events=_STR_LIST),
        ("GET", "/events/data_series", "200"): _series("count", _INT),
        ("GET", "/custom_attributes", "200"): _envelope("attributes", _obj(
            array_length={"type": "integer", "nullable": True}, data_type=_STR, description=_NSTR, name=_STR,
            status=_STR, tag_names=_STR_LIST)),
        ("GET", "/purchases/product_list", "200"): _obj(message=_SUCCESS, products=_STR_LIST),
        ("GET", "/purchases/quantity_series", "200"): _series("purchase_quantity", _INT),
        ("GET", "/purchases/revenue_series", "200"): _series("revenue", _NUM),
        **{("GET", path, "200"): _series(field, _INT) for path, field in _KPI.items()},
        ("GET", "/sessions/data_series", "200"): _series("sessions", _INT),
        ("GET", "/catalogs", "200"): _envelope("catalogs", _obj(
            name=_STR, description=_STR, fields={"type": "array", "items": _obj(name=_STR, type=_STR)},
            num_items=_INT, updated_at=_DT)),
        ("GET", "/catalogs/{catalog_name}/items", "200"): _envelope("items", _obj(["id"], closed=False, id=_STR)),
        ("GET", "/catalogs/{catalog_name}/items", "400"): _CATALOG_ERROR,
        # The cursor-paged endpoints report a bad cursor the way catalogs do (braze.md §3.2, §3.3).
        ("GET", "/events", "400"): _CATALOG_ERROR,
        ("GET", "/custom_attributes", "400"): _CATALOG_ERROR,
        ("GET", "/catalogs/{catalog_name}/items", "404"): _CATALOG_ERROR,
        ("GET", "/content_blocks/list", "200"): _obj(count=_INT, message=_SUCCESS, content_blocks={
            "type": "array", "items": _obj(
                content_block_id=_STR, name=_STR, content_type={"type": "string", "enum": ["html", "text"]},
                liquid_tag=_STR, inclusion_count=_INT, created_at=_DT, last_edited=_DT, tags=_STR_LIST)}),
        ("GET", "/templates/email/list", "200"): _obj(count=_INT, message=_SUCCESS, templates={
            "type": "array", "items": _obj(email_template_id=_STR, template_name=_STR, created_at=_DT,
                                           updated_at=_DT, tags=_STR_LIST)}),
        ("GET", "/email/hard_bounces", "200"): _envelope("emails", _obj(
            email=_STR, hard_bounced_at={"type": "string", "pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$"})),
        ("GET", "/email/unsubscribes", "200"): _envelope("emails", _obj(
            email=_STR, unsubscribed_at={"type": "string", "pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$"})),
        ("GET", "/sms/invalid_phone_numbers", "200"): _envelope("sms", _obj(
            phone=_STR, invalid_detected_at=_DT, reason={"type": "string", "enum": ["provider_error", "deactivated"]})),
        ("POST", "/users/export/ids", "200"): _obj(
            ["message", "users"], message=_SUCCESS, users={"type": "array", "items": _USER},
            invalid_user_ids=_STR_LIST),
        ("POST", "/users/export/segment", "200"): _obj(
            ["message", "object_prefix"], message=_SUCCESS, object_prefix=_STR, url=_STR),
    },
}
