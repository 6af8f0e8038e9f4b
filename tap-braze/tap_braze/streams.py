"""Stream declarations. HTTP behaviour lives in ``client.py``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import FatalAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_braze.client import (
    BrazeStream,
    ExportDownloader,
    ForbiddenStreamError,
    LinkStream,
    OffsetStream,
    PagedStream,
    override,
    query_of,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context

UTC = timezone.utc
DEFAULT_USER_FIELDS = [
    "external_id", "braze_id", "user_aliases", "email", "first_name", "last_name", "phone", "country",
    "home_city", "language", "time_zone", "gender", "dob", "created_at", "email_subscribe", "push_subscribe",
    "total_revenue", "custom_attributes", "purchases", "custom_events", "random_bucket",
]
IDS_PER_CALL = 50  # /users/export/ids: at most 50 external ids and aliases per request


# --- campaigns, canvases, segments ------------------------------------------------------------------
class _EditedList(PagedStream):
    """``/campaigns/list`` and ``/canvas/list``: incremental on ``last_edited`` via ``last_edit.time[gt]``."""

    primary_keys = ("id",)
    replication_key = "last_edited"
    is_sorted = False  # Braze sorts by creation time, not by last edit
    id_key = ""

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = {"page": next_page_token or 0, "include_archived": "true"}
        start = self.get_starting_timestamp(context)
        if start:
            params["last_edit.time[gt]"] = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        return params

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        # Children run only for parents this sync emits: with the server-side filter those are the
        # campaigns whose last_edited moved, so unchanged details are not read again.
        return {self.id_key: record["id"]}


class CampaignsStream(_EditedList):
    name = "campaigns"
    path = "/campaigns/list"
    records_jsonpath = "$.campaigns[*]"
    permission = "campaigns.list"
    id_key = "campaign_id"


class CanvasesStream(_EditedList):
    name = "canvases"
    path = "/canvas/list"
    records_jsonpath = "$.canvases[*]"
    permission = "canvas.list"
    id_key = "canvas_id"


class SegmentsStream(PagedStream):
    name = "segments"
    path = "/segments/list"
    records_jsonpath = "$.segments[*]"
    primary_keys = ("id",)
    permission = "segments.list"

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"segment_id": record["id"]}


class _Details(BrazeStream):
    """One object per parent id; Braze does not echo the id, so the context adds it."""

    records_jsonpath = "$"
    state_partitioning_keys: tuple[str, ...] = ()  # full table: no per-parent state
    id_key = ""

    @override
    def get_new_paginator(self) -> None:
        return None

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return {self.id_key: (context or {})[self.id_key]}

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row.pop("message", None)
        row[self.id_key] = (context or {})[self.id_key]
        return row


class CampaignDetailsStream(_Details):
    name = "campaign_details"
    path = "/campaigns/details"
    parent_stream_type = CampaignsStream
    primary_keys = ("campaign_id",)
    permission = "campaigns.details"
    id_key = "campaign_id"


class CanvasDetailsStream(_Details):
    name = "canvas_details"
    path = "/canvas/details"
    parent_stream_type = CanvasesStream
    primary_keys = ("canvas_id",)
    permission = "canvas.details"
    id_key = "canvas_id"


class SegmentDetailsStream(_Details):
    """Segments have no edit filter, so their details are read every sync."""

    name = "segment_details"
    path = "/segments/details"
    parent_stream_type = SegmentsStream
    primary_keys = ("segment_id",)
    permission = "segments.details"
    id_key = "segment_id"


# --- data series -----------------------------------------------------------------------------------------
class _Series(BrazeStream):
    """Daily series read in windows of at most ``max_days``, incremental on ``time`` with a lookback.

    Braze restates recent days (conversions are attributed back to the send date), so each sync
    starts ``analytics_lookback_days`` before the bookmark.
    """

    primary_keys: tuple[str, ...] = ("time",)
    replication_key = "time"
    is_sorted = True  # windows go forward in time, and each window's rows are in date order
    check_sorted = False  # the lookback starts below the bookmark on purpose
    max_days = 100
    value_params: dict[str, str] = {}
    partition_key = ""  # e.g. campaign_id; empty for account-wide series
    param_name = ""  # the query parameter carrying the partition id
    window: tuple[date, date] = (date.min, date.min)

    @override
    def get_new_paginator(self) -> None:
        return None

    def windows(self, context: Context | None) -> list[tuple[date, date]]:
        today = datetime.now(UTC).date()
        start = _start_date(self.config)
        bookmark = self.get_starting_replication_key_value(context)
        if bookmark:
            lookback = int(self.config.get("analytics_lookback_days", 14))
            start = max(start, date.fromisoformat(str(bookmark)[:10]) - timedelta(days=lookback))
        out = []
        while start <= today:
            end = min(today, start + timedelta(days=self.max_days - 1))
            out.append((start, end))
            start = end + timedelta(days=1)
        return out

    @override
    def read(self, context: Context | None) -> Iterable[dict[str, Any]]:
        for window in self.windows(context):
            self.window = window
            yield from self.request_records(context)

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        start, end = self.window
        params: dict[str, Any] = {"length": (end - start).days + 1, "ending_at": f"{end.isoformat()}T23:59:59Z",
                                  **self.value_params}
        if self.partition_key:
            params[self.param_name] = (context or {})[self.partition_key]
        return params

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        if self.partition_key:
            row[self.partition_key] = (context or {})[self.partition_key]
        return row


class _PartitionedSeries(_Series):
    """A series per campaign, canvas, segment or event: one state partition each."""

    list_path = ""
    list_key = ""
    list_permission = ""
    _partitions: list[dict[str, Any]] | None = None

    def keep(self, item: dict[str, Any]) -> bool:
        return True

    def ids(self) -> list[dict[str, Any]]:
        return [{self.partition_key: item["id"]} for item in
                self.list_all(self.list_path, self.list_key, permission=self.list_permission) if self.keep(item)]

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        if self._partitions is None:
            try:
                self._partitions = self.ids()
            except ForbiddenStreamError as exc:
                if not self.config.get("skip_forbidden_streams"):
                    raise
                self.logger.warning("Skipping: %s", exc)
                self._partitions = []
        return self._partitions or None

    @override
    def read(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if context is None:  # no partitions (none exist, or listing them was forbidden and skipped)
            return
        yield from super().read(context)


class CampaignDataSeriesStream(_PartitionedSeries):
    name = "campaign_data_series"
    path = "/campaigns/data_series"
    rate_group = "campaign_series"
    permission = "campaigns.data_series"
    partition_key = param_name = "campaign_id"
    primary_keys = ("campaign_id", "time")
    list_path, list_key, list_permission = "/campaigns/list", "campaigns", "campaigns.list"
    records_jsonpath = "$.data[*]"


class CanvasDataSeriesStream(_PartitionedSeries):
    name = "canvas_data_series"
    path = "/canvas/data_series"
    permission = "canvas.data_series"
    partition_key = param_name = "canvas_id"
    primary_keys = ("canvas_id", "time")
    list_path, list_key, list_permission = "/canvas/list", "canvases", "canvas.list"
    records_jsonpath = "$.data.stats[*]"
    max_days = 14  # Braze refuses longer canvas windows

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        start, end = self.window
        # Without the breakdown flags Braze returns no variant or step stats.
        return {"canvas_id": (context or {})["canvas_id"], "starting_at": f"{start.isoformat()}T00:00:00Z",
                "ending_at": f"{end.isoformat()}T23:59:59Z", "include_variant_breakdown": "true",
                "include_step_breakdown": "true"}


class SegmentDataSeriesStream(_PartitionedSeries):
    name = "segment_data_series"
    path = "/segments/data_series"
    permission = "segments.data_series"
    partition_key = param_name = "segment_id"
    primary_keys = ("segment_id", "time")
    list_path, list_key, list_permission = "/segments/list", "segments", "segments.list"
    records_jsonpath = "$.data[*]"

    @override
    def keep(self, item: dict[str, Any]) -> bool:
        return bool(item.get("analytics_tracking_enabled", True))  # Braze refuses the others

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 400:  # UNVERIFIED which segments Braze refuses: one must not stop the rest
            raise _SegmentRefusedError(self.response_error_message(response))
        super().validate_response(response)

    @override
    def read(self, context: Context | None) -> Iterable[dict[str, Any]]:
        try:
            yield from super().read(context)
        except _SegmentRefusedError as exc:
            self.logger.warning("Skipping segment %s: %s", (context or {}).get("segment_id"), exc)


class _SegmentRefusedError(FatalAPIError):
    """Braze refused one segment's series (e.g. analytics tracking disabled)."""


class CustomEventDataSeriesStream(_PartitionedSeries):
    name = "custom_event_data_series"
    path = "/events/data_series"
    permission = "events.data_series"
    partition_key = "event_name"
    primary_keys = ("event_name", "time")
    param_name = "event"
    value_params = {"unit": "day"}
    records_jsonpath = "$.data[*]"

    @override
    def ids(self) -> list[dict[str, Any]]:
        names: list[str] = []
        params: dict[str, str] = {}
        while True:  # /events: cursor pages through the Link header
            resp = self.call("GET", "/events", params=params, group="events", permission="events.get")
            names += [e["name"] for e in resp.json().get("events") or []]
            url = resp.links.get("next", {}).get("url")
            if not url:
                return [{"event_name": n} for n in names]
            params = query_of(url)


def _series(stream_name: str, api_path: str, permission: str, group: str = "default", **extra: str) -> type[_Series]:
    return type(f"{stream_name.title().replace('_', '')}Stream", (_Series,), {
        "name": stream_name, "path": api_path, "permission": permission, "records_jsonpath": "$.data[*]",
        "rate_group": group, "value_params": extra, "__doc__": f"Account-wide daily series from ``{api_path}``."})


KPI_STREAMS = [
    _series("kpi_dau", "/kpi/dau/data_series", "kpi.dau.data_series"),
    _series("kpi_mau", "/kpi/mau/data_series", "kpi.mau.data_series"),
    _series("kpi_new_users", "/kpi/new_users/data_series", "kpi.new_users.data_series"),
    _series("kpi_uninstalls", "/kpi/uninstalls/data_series", "kpi.uninstalls.data_series"),
    _series("sessions_data_series", "/sessions/data_series", "sessions.data_series", unit="day"),
    # The spec types `unit` as an integer here (a defect), so the daily default is left implicit. Their
    # limit is UNVERIFIED (the spec says 1,000/h shared with /events/list, the limits page says nothing):
    # budget the stricter one; the `rate_limits` setting can move them.
    _series("purchases_quantity_series", "/purchases/quantity_series", "purchases.quantity_series", "events"),
    _series("purchases_revenue_series", "/purchases/revenue_series", "purchases.revenue_series", "events"),
]


# --- events, attributes, products, catalogs --------------------------------------------------------------
class CustomEventsStream(LinkStream):
    name = "custom_events"
    path = "/events"
    records_jsonpath = "$.events[*]"
    primary_keys = ("name",)
    rate_group = "events"
    permission = "events.get"


class CustomAttributesStream(LinkStream):
    name = "custom_attributes"
    path = "/custom_attributes"
    records_jsonpath = "$.attributes[*]"
    primary_keys = ("name",)
    rate_group = "events"
    permission = "custom_attributes.get"


class PurchasesProductsStream(PagedStream):
    name = "purchases_products"
    path = "/purchases/product_list"
    records_jsonpath = "$.products[*]"
    primary_keys = ("product_id",)
    rate_group = "events"
    permission = "purchases.product_list"
    page_size = 1  # the page size is undocumented: only an empty page ends the list

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        for name in response.json().get("products") or []:
            yield {"product_id": name}


class CatalogsStream(BrazeStream):
    name = "catalogs"
    path = "/catalogs"
    records_jsonpath = "$.catalogs[*]"
    primary_keys = ("name",)
    rate_group = "catalogs"
    permission = "catalogs.get"

    @override
    def get_new_paginator(self) -> None:
        return None

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"catalog_name": record["name"]}


class CatalogItemsStream(LinkStream):
    name = "catalog_items"
    path = "/catalogs/{catalog_name}/items"
    records_jsonpath = "$.items[*]"
    primary_keys = ("catalog_name", "id")
    parent_stream_type = CatalogsStream
    state_partitioning_keys: tuple[str, ...] = ()
    rate_group = "catalogs"
    permission = "catalogs.get_items"

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        # Each catalog has its own fields: they travel as one object.
        item_id = row.pop("id")
        return {"catalog_name": (context or {})["catalog_name"], "id": item_id, "fields": row}


# --- templates, content blocks, email and SMS state ------------------------------------------------------
class _Modified(OffsetStream):
    page_size = 1000
    is_sorted = False  # order is not documented

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        start = self.get_starting_timestamp(context)
        if start:
            params["modified_after"] = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return params


class ContentBlocksStream(_Modified):
    name = "content_blocks"
    path = "/content_blocks/list"
    records_jsonpath = "$.content_blocks[*]"
    primary_keys = ("content_block_id",)
    replication_key = "last_edited"
    permission = "content_blocks.list"


class EmailTemplatesStream(_Modified):
    name = "email_templates"
    path = "/templates/email/list"
    records_jsonpath = "$.templates[*]"
    primary_keys = ("email_template_id",)
    replication_key = "updated_at"
    permission = "templates.email.list"


class _DateRange(OffsetStream):
    """``start_date``/``end_date`` days (UTC) with ``limit``/``offset`` (500 at most)."""

    page_size = 500
    is_sorted = False  # Braze returns newest first

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        start = self.get_starting_timestamp(context)
        start_day = start.astimezone(UTC).date() if start else _start_date(self.config)
        params.update(start_date=start_day.isoformat(), end_date=datetime.now(UTC).date().isoformat())
        return params

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        value = row.get(self.replication_key)
        if value and " " in value:  # "2016-08-25 15:24:32 +0000" → ISO 8601
            row[self.replication_key] = datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z").isoformat()
        return row


class HardBouncesStream(_DateRange):
    name = "hard_bounces"
    path = "/email/hard_bounces"
    records_jsonpath = "$.emails[*]"
    primary_keys = ("email",)
    replication_key = "hard_bounced_at"
    permission = "email.hard_bounces"


class UnsubscribesStream(_DateRange):
    name = "unsubscribes"
    path = "/email/unsubscribes"
    records_jsonpath = "$.emails[*]"
    primary_keys = ("email",)
    replication_key = "unsubscribed_at"
    permission = "email.unsubscribe"


class InvalidPhoneNumbersStream(_DateRange):
    name = "invalid_phone_numbers"
    path = "/sms/invalid_phone_numbers"
    records_jsonpath = "$.sms[*]"
    primary_keys = ("phone",)
    replication_key = "invalid_detected_at"
    permission = "sms.invalid_phone_numbers"


# --- users ---------------------------------------------------------------------------------------------
class UsersStream(BrazeStream):
    """User profiles: the asynchronous segment export, or ``/users/export/ids`` for listed ids.

    Each record carries the ``segment_id`` it was exported from (null in by-id mode), so a
    mapper can mirror segments into lists.
    """

    name = "users"
    path = "/users/export/segment"
    primary_keys = ("braze_id", "segment_id")
    permission = "users.export.segment"
    # Export lines are already typed JSON; singer-sdk's recursive conformance was 60% of the tap's
    # CPU on this stream. post_process drops the fields the schema does not list instead.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @override
    def get_new_paginator(self) -> None:
        return None

    def fields(self) -> list[str]:
        fields = list(self.config.get("user_export_fields") or DEFAULT_USER_FIELDS)
        return fields + [f for f in ("braze_id", "external_id") if f not in fields]

    @override
    def read(self, context: Context | None) -> Iterable[dict[str, Any]]:
        ids = self.config.get("user_export_external_ids")
        if ids:
            yield from self.by_id(ids)
            return
        segments = self.config.get("user_export_segment_ids") or [
            s["id"] for s in self.list_all("/segments/list", "segments", permission="segments.list")]
        downloader = ExportDownloader(self)
        for segment_id in segments:
            body: dict[str, Any] = {"segment_id": segment_id, "fields_to_export": self.fields(), "output_format": "zip"}
            if self.config.get("user_export_custom_attributes"):
                body["custom_attributes_to_export"] = self.config["user_export_custom_attributes"]
            # A 429 here also means "an export of this segment is already running": retried like any 429.
            started = self.call("POST", self.path, body=body).json()
            url = started.get("url")
            if not url:
                raise FatalAPIError(f"Stream 'users': segment {segment_id}: Braze wrote the export to the "
                                    f"workspace's own storage ({started.get('object_prefix')}); this tap reads "
                                    "only the download URL (no S3/Azure/GCS credentials configured in Braze)")
            self.logger.info("Segment %s: export started (%s), polling for its file", segment_id,
                             started.get("object_prefix"))
            for user in downloader.records(url):
                user["segment_id"] = segment_id
                yield user

    def by_id(self, ids: list[str]) -> Iterable[dict[str, Any]]:
        for i in range(0, len(ids), IDS_PER_CALL):
            chunk = ids[i:i + IDS_PER_CALL]
            body = self.call("POST", "/users/export/ids", body={"external_ids": chunk, "fields_to_export": self.fields()},
                             group="export_ids", permission="users.export.ids").json()
            if body.get("invalid_user_ids"):
                self.logger.warning("Stream 'users': %d external ids are unknown to Braze", len(body["invalid_user_ids"]))
            for user in body.get("users") or []:
                user["segment_id"] = None
                yield user

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row["push_opted_in"] = row.get("push_subscribe") == "opted_in"
        known = self.schema["properties"]
        return row if known.keys() >= row.keys() else {k: v for k, v in row.items() if k in known}


def _start_date(config: dict[str, Any]) -> date:
    raw = config.get("start_date")
    if raw:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).date()
    return datetime.now(UTC).date() - timedelta(days=30)


STREAMS: list[type[BrazeStream]] = [
    UsersStream, CampaignsStream, CampaignDetailsStream, CampaignDataSeriesStream,
    CanvasesStream, CanvasDetailsStream, CanvasDataSeriesStream,
    SegmentsStream, SegmentDetailsStream, SegmentDataSeriesStream,
    CustomEventsStream, CustomEventDataSeriesStream, CustomAttributesStream, PurchasesProductsStream,
    *KPI_STREAMS, CatalogsStream, CatalogItemsStream, ContentBlocksStream, EmailTemplatesStream,
    HardBouncesStream, UnsubscribesStream, InvalidPhoneNumbersStream,
]
