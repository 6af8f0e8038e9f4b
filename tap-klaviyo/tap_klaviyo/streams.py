"""Stream declarations: endpoint, keys, replication and the first page's filter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from singer_sdk.pagination import SinglePagePaginator

from tap_klaviyo.client import KlaviyoStream, filter_dt, quote, utc_iso

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

try:
    from typing import override
except ImportError:  # Python < 3.12
    from typing_extensions import override

UTC = timezone.utc
KLAVIYO_EPOCH = datetime(2012, 1, 1, tzinfo=UTC)  # no account has events before Klaviyo existed


def since(bookmark: datetime) -> datetime:
    """The lower bound for ``greater-than`` (the only operator these endpoints allow) from a bookmark.

    One second earlier, so records sharing the bookmark's second that were not yet read when a
    sync stopped are read again (at-least-once) instead of being skipped.
    """
    return bookmark - timedelta(seconds=1)


class _UpdatedSince(KlaviyoStream):
    """Server-side incremental on ``updated``: ``greater-than(updated,…)`` sorted by it."""

    replication_key = "updated"
    utc_fields = ("updated",)
    is_sorted = True  # sort=updated is honoured by these endpoints

    @override
    def filters(self, context: Context | None) -> list[str]:
        start = self.get_starting_timestamp(context)
        return [f"greater-than(updated,{filter_dt(since(start))})"] if start else []

    @override
    def first_page_params(self, context: Context | None) -> dict[str, Any]:
        return {**super().first_page_params(context), "sort": "updated"}


class ProfilesStream(_UpdatedSince):
    name = "profiles"
    path = "/api/profiles"
    utc_fields = ("updated", "created")

    @override
    def first_page_params(self, context: Context | None) -> dict[str, Any]:
        params = super().first_page_params(context)
        extra = [f for f in self.config.get("profiles_additional_fields", ["subscriptions"]) if f]
        if extra:
            params["additional-fields[profile]"] = ",".join(extra)
        return params

    @property
    @override
    def endpoint(self) -> dict[str, Any]:
        ep = super().endpoint
        if "predictive_analytics" in (self.config.get("profiles_additional_fields") or []):
            # The spec: asking for predictive_analytics lowers the limit to 10/s, 150/m.
            return {**ep, "pacer_key": ep["path"] + "#predictive", "burst": 10, "steady": 150}
        return ep


class EventsStream(KlaviyoStream):
    """Events in ``[start, end)`` windows, never past the sync's start (future-dated events wait)."""

    name = "events"
    path = "/api/events"
    replication_key = "datetime"
    utc_fields = ("datetime",)
    relationships = ("metric", "profile")
    is_sorted = True  # sort=datetime within windows that follow each other

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sync_start = datetime.now(UTC).replace(microsecond=0)
        self.window: tuple[datetime, datetime] | None = None

    @property
    @override
    def check_sorted(self) -> bool:
        # A lookback re-reads events older than the bookmark on purpose.
        return not self.config.get("lookback_window_minutes")

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        ids = self.config.get("metric_ids")
        return [{"metric_id": m} for m in ids] if ids else None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        start = self.get_starting_timestamp(context) or KLAVIYO_EPOCH
        start -= timedelta(minutes=int(self.config.get("lookback_window_minutes") or 0))
        end = self.sync_start
        if self.config.get("end_date"):
            end = min(end, datetime.fromisoformat(utc_iso(self.config["end_date"])))  # type: ignore[arg-type]
        step = timedelta(days=float(self.config.get("events_window_days", 30)))
        while start < end:
            self.window = (start, min(start + step, end))
            yield from super().get_records(context)
            start = self.window[1]

    @override
    def filters(self, context: Context | None) -> list[str]:
        assert self.window is not None
        terms = [f"greater-or-equal(datetime,{filter_dt(self.window[0])})",
                 f"less-than(datetime,{filter_dt(self.window[1])})"]
        if context and context.get("metric_id"):
            terms.insert(0, f"equals(metric_id,{quote(context['metric_id'])})")
        return terms

    @override
    def first_page_params(self, context: Context | None) -> dict[str, Any]:
        params = {**super().first_page_params(context), "sort": "datetime"}
        include = ["metric"]
        if self.config.get("events_include_profile", True):
            include.append("profile")
            # Only the identifiers the record carries (keeps pages small): a profile without an
            # email is still reachable in Brevo by its phone number.
            params["fields[profile]"] = "email,phone_number,external_id"
        params["include"] = ",".join(include)
        params["fields[metric]"] = "name"
        return params

    @override
    def flatten(self, res: dict[str, Any], included: dict[tuple[str, str], Any]) -> dict[str, Any]:
        rec = super().flatten(res, included)
        metric = included.get(("metric", rec.get("metric_id")))
        rec["metric_name"] = (metric or {}).get("attributes", {}).get("name")
        profile = included.get(("profile", rec.get("profile_id")))
        attrs = (profile or {}).get("attributes", {})
        rec["profile_email"] = attrs.get("email")
        rec["profile_phone_number"] = attrs.get("phone_number")
        rec["profile_external_id"] = attrs.get("external_id")
        return rec

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        # Belt and braces: the window already ends at the sync start, so the bookmark cannot
        # run ahead of "now" even if the server returned a future-dated event.
        if row.get("datetime") and row["datetime"] >= self.sync_start.isoformat():
            return None
        return row


class MetricsStream(KlaviyoStream):
    name = "metrics"
    path = "/api/metrics"
    utc_fields = ("created", "updated")


class ListsStream(KlaviyoStream):
    name = "lists"
    path = "/api/lists"
    utc_fields = ("created", "updated")

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"list_id": record["id"]}


class _MembersStream(KlaviyoStream):
    """Profiles of a list or segment: the membership, with the profile's identifiers."""

    utc_fields = ("joined_group_at",)

    @override
    def first_page_params(self, context: Context | None) -> dict[str, Any]:
        return {**super().first_page_params(context),
                "fields[profile]": "email,phone_number,external_id,joined_group_at"}

    @override
    def flatten(self, res: dict[str, Any], included: dict[tuple[str, str], Any]) -> dict[str, Any]:
        rec = super().flatten(res, included)
        rec["profile_id"] = rec.pop("id")
        return rec


class ListMembersStream(_MembersStream):
    name = "list_members"
    path = "/api/lists/{list_id}/profiles"
    parent_stream_type = ListsStream
    primary_keys = ("list_id", "profile_id")


class SegmentsStream(KlaviyoStream):
    name = "segments"
    path = "/api/segments"
    utc_fields = ("created", "updated")

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"segment_id": record["id"]}


class SegmentMembersStream(_MembersStream):
    name = "segment_members"
    path = "/api/segments/{segment_id}/profiles"
    parent_stream_type = SegmentsStream
    primary_keys = ("segment_id", "profile_id")


class CampaignsStream(KlaviyoStream):
    """Campaigns per channel (the API requires one) and per archived flag (archived need asking)."""

    name = "campaigns"
    path = "/api/campaigns"
    replication_key = "updated_at"
    utc_fields = ("updated_at", "created_at")
    relationships = ("campaign-messages", "tags")
    is_sorted = False  # campaigns arrive unsorted (MeltanoLabs/tap-klaviyo#156)
    partitions = [{"channel": c, "archived": a} for c in ("email", "sms", "mobile_push") for a in (False, True)]

    @override
    def filters(self, context: Context | None) -> list[str]:
        assert context is not None
        terms = [f"equals(messages.channel,{quote(context['channel'])})",
                 f"equals(archived,{'true' if context['archived'] else 'false'})"]
        start = self.get_starting_timestamp(context)
        if start:
            terms.append(f"greater-than(updated_at,{filter_dt(since(start))})")
        return terms

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row["channel"] = (context or {}).get("channel")
        return row

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"campaign_id": record["id"]}


class CampaignMessagesStream(KlaviyoStream):
    name = "campaign_messages"
    path = "/api/campaigns/{campaign_id}/campaign-messages"
    parent_stream_type = CampaignsStream
    relationships = ("campaign", "template", "image")
    utc_fields = ("created_at", "updated_at")
    state_partitioning_keys = ()  # full table per campaign: no per-campaign bookmarks


class FlowsStream(_UpdatedSince):
    name = "flows"
    path = "/api/flows"
    relationships = ("flow-actions", "tags")
    utc_fields = ("updated", "created")

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"flow_id": record["id"]}


class FlowActionsStream(KlaviyoStream):
    name = "flow_actions"
    path = "/api/flows/{flow_id}/flow-actions"
    parent_stream_type = FlowsStream
    relationships = ("flow",)
    utc_fields = ("created", "updated")
    state_partitioning_keys = ()

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"flow_action_id": record["id"]}


class FlowMessagesStream(KlaviyoStream):
    name = "flow_messages"
    path = "/api/flow-actions/{flow_action_id}/flow-messages"
    parent_stream_type = FlowActionsStream
    utc_fields = ("created", "updated")
    state_partitioning_keys = ()

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row["flow_action_id"] = (context or {}).get("flow_action_id")
        return row


class TemplatesStream(_UpdatedSince):
    name = "templates"
    path = "/api/templates"
    utc_fields = ("updated", "created")


class TagsStream(KlaviyoStream):
    name = "tags"
    path = "/api/tags"
    relationships = ("tag-group",)


class TagGroupsStream(KlaviyoStream):
    name = "tag_groups"
    path = "/api/tag-groups"


class CatalogItemsStream(KlaviyoStream):
    name = "catalog_items"
    path = "/api/catalog-items"
    utc_fields = ("created", "updated")


class CatalogVariantsStream(KlaviyoStream):
    name = "catalog_variants"
    path = "/api/catalog-variants"
    relationships = ("item",)
    utc_fields = ("created", "updated")


class CatalogCategoriesStream(KlaviyoStream):
    name = "catalog_categories"
    path = "/api/catalog-categories"
    utc_fields = ("updated",)


class CouponsStream(KlaviyoStream):
    name = "coupons"
    path = "/api/coupons"

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"coupon_id": record["id"]}


class CouponCodesStream(KlaviyoStream):
    """Codes per coupon: the endpoint requires a coupon (or profile) filter."""

    name = "coupon_codes"
    path = "/api/coupon-codes"
    parent_stream_type = CouponsStream
    relationships = ("coupon", "profile")
    utc_fields = ("expires_at",)
    state_partitioning_keys = ()

    @override
    def filters(self, context: Context | None) -> list[str]:
        return [f"equals(coupon.id,{quote((context or {})['coupon_id'])})"]


class MetricAggregatesStream(KlaviyoStream):
    """``POST /api/metric-aggregates`` queries from the ``metric_aggregates`` setting (opt-in).

    One partition per configured query, read in date windows up to the sync's start. The
    bookmark is the last date: the next run asks again from it, since that bucket was still filling.
    """

    name = "metric_aggregates"
    path = "/api/metric-aggregates"
    http_method = "POST"
    primary_keys = ("metric_id", "interval", "date", "dimension_key")
    replication_key = "date"
    is_sorted = True  # rows are emitted date by date, windows in order
    # Opt-in through the ``metric_aggregates`` setting: with no query configured the stream makes
    # no request at all (the endpoint is 3/s, 60/m and heavy).

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sync_start = datetime.now(UTC).replace(microsecond=0)
        self.window: tuple[datetime, datetime] | None = None
        self.active: Context | None = None

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        queries = self.config.get("metric_aggregates") or []
        return [{"query": n, "metric_id": q["metric_id"]} for n, q in enumerate(queries)] or None

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {**super().http_headers, "Content-Type": "application/vnd.api+json"}

    @override
    def get_new_paginator(self) -> SinglePagePaginator:  # type: ignore[override]
        return SinglePagePaginator()

    def query(self, context: Context | None) -> dict[str, Any]:
        return (self.config.get("metric_aggregates") or [])[(context or {})["query"]]

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if not context:
            return
        self.active = context  # parse_response needs the query the page answers
        start = self.get_starting_timestamp(context) or (self.sync_start - timedelta(days=30))
        step = timedelta(days=float(self.config.get("metric_aggregates_window_days", 30)))
        while start < self.sync_start:
            self.window = (start, min(start + step, self.sync_start))
            yield from super().get_records(context)
            start = self.window[1]

    @override
    def prepare_request_payload(self, context: Context | None, next_page_token: Any) -> dict[str, Any] | None:
        assert self.window is not None
        q = self.query(context)
        fmt = "%Y-%m-%dT%H:%M:%S"  # the spec's example: no offset, the query's timezone applies
        attrs = {"metric_id": q["metric_id"], "measurements": q.get("measurements") or ["count"],
                 "interval": q.get("interval", "day"), "timezone": "UTC", "page_size": 500,
                 "filter": [f"greater-or-equal(datetime,{self.window[0].astimezone(UTC).strftime(fmt)})",
                            f"less-than(datetime,{self.window[1].astimezone(UTC).strftime(fmt)})"]}
        if q.get("by"):
            attrs["by"] = q["by"]
        return {"data": {"type": "metric-aggregate", "attributes": attrs}}

    @override
    def parse_response(self, response: Any) -> Iterable[dict[str, Any]]:
        attrs = self.document(response)["data"]["attributes"]
        q = self.query(self.active)
        for n, date in enumerate(attrs.get("dates") or []):
            for row in attrs.get("data") or []:
                dims = row.get("dimensions") or []
                yield {"metric_id": q["metric_id"], "interval": q.get("interval", "day"), "date": utc_iso(date),
                       "dimensions": dims, "dimension_key": "|".join(map(str, dims)),
                       "measurements": {k: v[n] for k, v in (row.get("measurements") or {}).items()}}
