"""tap-brevo's streams: declarations over ``client.BrevoStream``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from singer_sdk.pagination import BaseAPIPaginator

from tap_brevo.client import UTC, BrevoStream, body_of, brevo_time, synthetic_key, to_utc

if TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context

try:
    from typing import override
except ImportError:  # Python < 3.12
    from typing_extensions import override


# --- contacts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactsPage:
    """Where the next contacts page starts: ``createdSince`` (creation keyset) and an offset."""

    created_since: str | None = None
    offset: int = 0


class ContactsKeysetPaginator(BaseAPIPaginator[ContactsPage]):
    """Walks ``sort=asc`` (creation order) by moving ``createdSince`` forward instead of the offset.

    Deep offsets drift on large, changing accounts (brevo.md pitfall 4) and get slower; a keyset
    does not. The next page starts 1 ms before the last contact's creation time, whether Brevo's
    ``createdSince`` is inclusive or not, and the stream drops the contacts it has already
    emitted at that boundary. When a whole page shares one creation instant, it falls back to
    the offset within that instant.
    """

    def __init__(self, page_size: int) -> None:
        super().__init__(ContactsPage())
        self.page_size = page_size

    @override
    def get_next(self, response: requests.Response) -> ContactsPage | None:
        contacts = body_of(response).get("contacts") or []
        if len(contacts) < self.page_size:
            return None
        first, last = to_utc(contacts[0]["createdAt"]), to_utc(contacts[-1]["createdAt"])
        if first == last:
            return ContactsPage(self.current_value.created_since, self.current_value.offset + self.page_size)
        boundary = datetime.fromisoformat(last.replace("Z", "+00:00")) - timedelta(milliseconds=1)
        nxt = ContactsPage(brevo_time(boundary), 0)
        if nxt.created_since == self.current_value.created_since:
            # The boundary did not move (over 1,000 contacts created in one millisecond):
            # step through that millisecond by offset instead of re-reading it.
            return ContactsPage(nxt.created_since, self.current_value.offset + self.page_size)
        return nxt

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        # A full page whose contacts were all emitted already (the re-read boundary) is not the end.
        return len(body_of(response).get("contacts") or []) >= self.page_size


class ContactsStream(BrevoStream):
    """All contacts, incremental on ``modifiedAt`` (``modifiedSince``), not only on creation."""

    name = "contacts"
    path = "/contacts"
    records_key = "contacts"
    primary_keys = ("id",)
    replication_key = "modifiedAt"
    # sort=asc orders by creation, not by modifiedAt: the bookmark is the maximum seen, saved at
    # the end of the stream (not resumable mid-stream).
    is_sorted = False
    page_size = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Contacts already emitted whose creation time is at or after the keyset's boundary
        # (id -> createdAt in UTC): the next page re-reads them and they are dropped.
        self._at_boundary: dict[int, str] = {}
        self._boundary = ""

    @property
    def keyset(self) -> bool:
        # Combining createdSince with modifiedSince is UNVERIFIED against the live API, so the
        # keyset can be turned off (plain offsets, still drift-free for modifications with sort=asc).
        return self.config.get("contacts_pagination", "keyset") == "keyset"

    @override
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        if self.keyset:
            return ContactsKeysetPaginator(self.page_size)
        return super().get_new_paginator()

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        page = next_page_token if isinstance(next_page_token, ContactsPage) else None
        params = super().get_url_params(context, page.offset if page else next_page_token)
        start = self.start_time(context)
        if start is not None:
            params["modifiedSince"] = brevo_time(start)
        if page and page.created_since:
            params["createdSince"] = page.created_since
        return params

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        seen, boundary = self._at_boundary, self._boundary
        contacts = body_of(response).get("contacts") or []
        for row in contacts:
            if row["id"] in seen and to_utc(row.get("createdAt")) >= boundary:
                continue  # emitted on an earlier page (the keyset re-reads its boundary)
            yield row
        if contacts and self.keyset:
            last = to_utc(contacts[-1]["createdAt"])
            cut = to_utc((datetime.fromisoformat(last.replace("Z", "+00:00")) - timedelta(milliseconds=1)).isoformat())
            if cut != boundary:  # the boundary moved: forget what the next page cannot return
                seen = {k: v for k, v in seen.items() if v >= cut}
            for row in contacts:
                created = to_utc(row.get("createdAt"))
                if created >= cut:
                    seen[row["id"]] = created
            self._at_boundary, self._boundary = seen, cut


class ContactAttributesStream(BrevoStream):
    name = "contact_attributes"
    path = "/contacts/attributes"
    records_key = "attributes"
    primary_keys = ("category", "name")  # names are unique per category
    sort_asc = False
    datetime_fields = ()


class ListsStream(BrevoStream):
    name = "lists"
    path = "/contacts/lists"
    records_key = "lists"
    primary_keys = ("id",)
    page_size = 50

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any] | None:
        wanted = self.config.get("list_contacts_list_ids")
        if wanted and record["id"] not in wanted:
            return None
        return {"list_id": record["id"]}

    @override
    def generate_child_contexts(self, record: dict[str, Any], context: Context | None) -> Iterable[dict | None]:
        child = self.get_child_context(record, context)
        if child is not None:
            yield child


class _ModifiedSinceStream(BrevoStream):
    """Incremental with ``modifiedSince`` (list members, ecommerce objects); creation order, so not sorted."""

    primary_keys = ("id",)
    replication_key = "modifiedAt"
    is_sorted = False

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        start = self.start_time(context)
        if start is not None:
            params["modifiedSince"] = brevo_time(start)
        return params


class ListContactsStream(_ModifiedSinceStream):
    """Members of each list (heavy: one paged walk per list), incremental per list on ``modifiedAt``."""

    name = "list_contacts"
    parent_stream_type = ListsStream
    path = "/contacts/lists/{list_id}/contacts"
    records_key = "contacts"
    primary_keys = ("list_id", "id")
    replication_key = "modifiedAt"
    is_sorted = False  # creation order, as for contacts
    page_size = 500
    selected_by_default = False  # heavy: select it explicitly


class FoldersStream(BrevoStream):
    name = "folders"
    path = "/contacts/folders"
    records_key = "folders"
    primary_keys = ("id",)
    page_size = 50
    datetime_fields = ()


class SegmentsStream(BrevoStream):
    name = "segments"
    path = "/contacts/segments"
    records_key = "segments"
    primary_keys = ("id",)
    page_size = 50
    datetime_fields = ("updatedAt",)


# --- campaigns -------------------------------------------------------------------------------------


class EmailCampaignsStream(BrevoStream):
    """Email campaigns with ``globalStats``: a full table on every sync.

    There is no ``modifiedSince``, and a sent campaign's statistics keep changing for weeks
    (opens, clicks), so a window on the sent date would freeze them. Statistics cover only the
    last 6 months of events: older campaigns come back with zeroed ``globalStats``.
    """

    name = "email_campaigns"
    path = "/emailCampaigns"
    records_key = "campaigns"
    primary_keys = ("id",)
    page_size = 100
    datetime_fields = ("createdAt", "modifiedAt", "sentDate", "scheduledAt")

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        params["statistics"] = "globalStats"
        if not self.config.get("include_html_content", False):
            params["excludeHtmlContent"] = "true"
        return params


class SmsCampaignsStream(BrevoStream):
    name = "sms_campaigns"
    path = "/smsCampaigns"
    records_key = "campaigns"
    primary_keys = ("id",)
    page_size = 1000
    datetime_fields = ("createdAt", "modifiedAt", "scheduledAt")


# --- transactional email ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventsPage:
    window: int
    offset: int = 0


class WindowPaginator(BaseAPIPaginator[EventsPage]):
    """Walks date windows in order and each window's pages by offset."""

    def __init__(self, windows: list[tuple[str, str]], page_size: int, key: str) -> None:
        super().__init__(EventsPage(0))
        self.windows, self.page_size, self.key = windows, page_size, key

    @override
    def get_next(self, response: requests.Response) -> EventsPage | None:
        got = len(body_of(response).get(self.key) or [])
        page = self.current_value
        if got >= self.page_size:
            return EventsPage(page.window, page.offset + self.page_size)
        if page.window + 1 < len(self.windows):
            return EventsPage(page.window + 1)
        return None

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        return self.current_value.window + 1 < len(self.windows)  # an empty window is not the end


class EmailEventsStream(BrevoStream):
    """Transactional email events, in windows of at most 90 days (Brevo's limit), 5000 per page."""

    name = "email_events"
    path = "/smtp/statistics/events"
    records_key = "events"
    primary_keys = ("event_key",)
    replication_key = "date"
    # sort=asc within ascending windows should be date order, but the spec only promises
    # "record creation" order, so the bookmark is saved at the end of the stream.
    is_sorted = False
    page_size = 5000
    datetime_fields = ("date",)

    def windows(self) -> list[tuple[str, str]]:
        """Inclusive (startDate, endDate) pairs from the bookmark's day to today."""
        size = max(1, min(90, int(self.config.get("email_events_window_days", 90))))
        today = self.today()
        start = self.start_time(None)
        if start is None:
            start = today - timedelta(days=int(self.config.get("email_events_lookback_days", 365)))
        start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        if self.stream_state.get("replication_key_value"):
            # Report days may be the account's days, not UTC ones (UNVERIFIED): re-read the day
            # before the bookmark's so nothing near midnight is skipped; event_key deduplicates.
            start -= timedelta(days=1)
        out = []
        while start <= today:
            end = min(today, start + timedelta(days=size - 1))
            out.append((start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")))
            start = end + timedelta(days=1)
        return out

    @override
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        self._windows = self.windows()
        return WindowPaginator(self._windows, self.page_size, self.records_key)

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        page = next_page_token or EventsPage(0)
        start, end = self._windows[page.window]
        return {"startDate": start, "endDate": end, "limit": self.page_size, "offset": page.offset, "sort": "asc"}

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row = super().post_process(row, context) or row
        # Events have no id: the key is a hash of what identifies one (messageId, event, date, email).
        row["event_key"] = synthetic_key(row.get("messageId"), row.get("event"), row.get("date"),
                                         (row.get("email") or "").lower())
        return row


class SmtpTemplatesStream(BrevoStream):
    name = "smtp_templates"
    path = "/smtp/templates"
    records_key = "templates"
    primary_keys = ("id",)
    page_size = 1000


# --- account setup ----------------------------------------------------------------------------------


class SendersStream(BrevoStream):
    name = "senders"
    path = "/senders"
    records_key = "senders"
    primary_keys = ("id",)
    sort_asc = False
    datetime_fields = ()


class WebhooksStream(BrevoStream):
    """Webhooks of both types (the endpoint returns one type per call, transactional by default)."""

    name = "webhooks"
    path = "/webhooks"
    records_key = "webhooks"
    primary_keys = ("id",)

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        return [{"type": "transactional"}, {"type": "marketing"}]

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return {**super().get_url_params(context, next_page_token), "type": (context or {})["type"]}


# --- custom events and ecommerce ---------------------------------------------------------------------


class CustomEventsStream(BrevoStream):
    """Custom events from ``GET /events`` (newer than the 2025-02 spec), incremental on ``event_date``."""

    name = "custom_events"
    path = "/events"
    records_key = "events"
    primary_keys = ("event_key",)
    replication_key = "event_date"
    is_sorted = False  # Brevo returns them newest first
    page_size = 10_000
    sort_asc = False  # the endpoint has no sort parameter
    datetime_fields = ("event_date",)

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = super().get_url_params(context, next_page_token)
        if not next_page_token:
            # One fixed range per sync: pages are newest first, so events arriving during the
            # sync would shift the offsets. Without a bookmark or start_date: Brevo's default,
            # the last 6 months.
            end = datetime.now(UTC).replace(microsecond=0)
            start = self.start_time(context) or end - timedelta(days=183)
            self._range = (start.astimezone(UTC).isoformat(timespec="seconds"), end.isoformat())
        params["startDate"], params["endDate"] = self._range
        return params

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row = super().post_process(row, context) or row
        row["event_key"] = synthetic_key(row.get("event_name"), row.get("event_date"), row.get("contact_id"),
                                         row.get("event_filter_id"), row.get("event_properties"))
        return row


class ProductsStream(_ModifiedSinceStream):
    name = "products"
    path = "/products"
    records_key = "products"
    page_size = 1000


class CategoriesStream(_ModifiedSinceStream):
    name = "categories"
    path = "/categories"
    records_key = "categories"
    page_size = 100


class OrdersStream(_ModifiedSinceStream):
    """Orders: ``modifiedSince`` filters on ``updatedAt``, 100 per page (Brevo's maximum)."""

    name = "orders"
    path = "/orders"
    records_key = "orders"
    replication_key = "updatedAt"
    page_size = 100
    datetime_fields = ("createdAt", "updatedAt")


STREAMS = [ContactsStream, ContactAttributesStream, ListsStream, ListContactsStream, FoldersStream,
           SegmentsStream, EmailCampaignsStream, SmsCampaignsStream, EmailEventsStream, SmtpTemplatesStream,
           SendersStream, WebhooksStream, CustomEventsStream, ProductsStream, CategoriesStream, OrdersStream]
