"""Stream declarations. HTTP behaviour lives in ``client.py``."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from singer_sdk.helpers.types import Context

from tap_iterable.client import (
    UTC,
    ClientFilteredStream,
    ExportStream,
    IterableStream,
    iso_time,
    iterable_time,
    number,
)

if sys.version_info >= (3, 12):
    from typing import override
else:  # pragma: no cover - Python < 3.12
    from typing_extensions import override

# Export data types (the swagger's enum, minus `user`) → primary key. Iterable gives engagement
# and send events a messageId; the rest carry no unique id of their own (see README).
MESSAGE_EVENTS = [
    "emailSend", "emailOpen", "emailClick", "hostedUnsubscribeClick", "emailComplaint", "emailBounce",
    "emailSendSkip", "pushSend", "pushOpen", "pushUninstall", "pushBounce", "pushSendSkip", "inAppSend",
    "inAppOpen", "inAppClick", "inAppClose", "inAppDelete", "inAppDelivery", "inAppSendSkip", "inAppRecall",
    "inboxMessageImpression", "smsSend", "smsBounce", "smsClick", "smsReceived", "smsSendSkip",
    "smsUsageInfo", "webPushSend", "webPushClick", "webPushSendSkip", "rcsSend", "rcsSendSkip",
    "embeddedSend", "embeddedSendSkip", "embeddedClick", "embeddedReceived", "embeddedImpression",
    "whatsAppBounce", "whatsAppClick", "whatsAppReceived", "whatsAppSeen", "whatsAppSend",
    "whatsAppSendSkip", "whatsAppUsageInfo",
]
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(MESSAGE_EVENTS, ("messageId",)),
    "purchase": ("id",),
    "emailSubscribe": (), "emailUnSubscribe": (), "customEvent": (), "journeyExit": (),
    "inboxSession": (), "embeddedSession": (), "unknownSession": (),
}
MEDIUMS = ("Email", "Push", "SMS", "InApp")
_EXPORT_DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( [+-]\d\d:?\d\d)?$")


def stream_name(data_type: str) -> str:
    """``emailOpen`` → ``email_open``; ``emailUnSubscribe`` → ``email_unsubscribe``; ``whatsApp`` → ``whatsapp``."""
    text = {"emailUnSubscribe": "emailUnsubscribe"}.get(data_type, data_type).replace("whatsApp", "whatsapp")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", text).lower()


def event_stream(data_type: str) -> type[ExportStream]:
    """The stream class of one export data type."""
    return type(f"{data_type[0].upper()}{data_type[1:]}Stream", (ExportStream,), {
        "name": stream_name(data_type), "data_type": data_type, "primary_keys": list(EVENT_TYPES[data_type]),
        "__doc__": f"Export of `{data_type}` events, incremental on createdAt.",
    })


class UsersStream(ExportStream):
    """Export of `user` profiles, incremental on profileUpdatedAt (the window filters on it)."""

    name = "users"
    data_type = "user"
    replication_key = "profileUpdatedAt"
    IDENTITY = ("email", "userId", "signupDate", "profileUpdatedAt")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # email-based projects key users on email, userId-based and hybrid ones on userId
        self.primary_keys = [self.config.get("users_primary_key", "userId")]

    def only_fields(self) -> list[str]:
        wanted = self.config.get("user_fields") or []
        return [*self.IDENTITY, *[f for f in wanted if f not in self.IDENTITY]] if wanted else []

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row["signupDate"] = iso_time(row.get("signupDate"))
        row = super().post_process(row, context) or row
        fields = row.get("dataFields")
        if fields:
            for k, v in fields.items():
                if isinstance(v, str) and _EXPORT_DATE.match(v):
                    fields[k] = iso_time(v)
        return row


class ListsStream(IterableStream):
    """Lists of the project (one unpaginated response)."""

    name = "lists"
    path = "/lists"
    primary_keys = ("id",)
    records_jsonpath = "$.lists[*]"

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"listId": record["id"]}


class ListUsersStream(IterableStream):
    """Members of each list: `/lists/getUsers` answers plain text, one email (or userId) per line."""

    name = "list_users"
    path = "/lists/getUsers"
    parent_stream_type = ListsStream
    bucket = "list_users"
    state_partitioning_keys = ()  # full table: no per-list bookmarks to keep

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.primary_keys = ["listId", "userId" if self.config.get("list_users_prefer_user_id") else "email"]

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        assert context is not None
        by_id = bool(self.config.get("list_users_prefer_user_id"))
        params = {"listId": context["listId"], "preferUserId": str(by_id).lower()}
        key = "userId" if by_id else "email"
        for line in self.resumable_lines(self.url_base + self.path, params):
            yield {"listId": context["listId"], key: line.decode().strip()}


class CampaignsStream(ClientFilteredStream):
    """Campaigns, incremental on updatedAt (epoch ms), filtered client-side: the API has no such filter."""

    name = "campaigns"
    path = "/campaigns"
    primary_keys = ("id",)
    replication_key = "updatedAt"
    records_jsonpath = "$.campaigns[*]"

    def base_params(self, context: Context | None) -> dict[str, Any]:
        return {"page": 1, "pageSize": 1000}


class CampaignMetricsStream(IterableStream):
    """Campaign metrics from the CSV `/campaigns/metrics`, asked for in batches of campaign ids."""

    name = "campaign_metrics"
    path = "/campaigns/metrics"
    primary_keys = ("campaignId",)
    bucket = "metrics"

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        ids = self.campaign_ids()
        size = int(self.config.get("metrics_batch_size", 20))
        for i in range(0, len(ids), size):
            params = [("campaignId", c) for c in ids[i:i + size]]
            response = self.get_body(self.url_base + self.path, params)
            for row in self.csv_rows(response):
                cid = row.pop("id", None)
                if cid:
                    yield {"campaignId": int(cid), "metrics": {k: number(v) for k, v in row.items()}}


class ExperimentsMetricsStream(IterableStream):
    """Email experiment metrics (CSV), one row per experiment variant, for every campaign."""

    name = "experiments_metrics"
    path = "/experiments/metrics"
    primary_keys = ("experimentId", "templateId")
    IDS = ("experimentId", "campaignId", "templateId")

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        ids = self.campaign_ids()
        size = int(self.config.get("metrics_batch_size", 20))
        for i in range(0, len(ids), size):
            params = [("campaignId", c) for c in ids[i:i + size]]
            response = self.get_body(self.url_base + self.path, params)
            for row in self.csv_rows(response):
                out: dict[str, Any] = {k: number(row.pop(k, "")) for k in self.IDS}
                out["name"] = row.pop("name", None)
                out["variant"] = row.pop("variant", None)
                out["metrics"] = {k: number(v) for k, v in row.items()}
                if out["experimentId"] is not None:
                    yield out


class TemplatesStream(ClientFilteredStream):
    """Templates of every medium, bookmarked on updatedAt.

    The API's date filter is on the created time, so edits to old templates are only seen by
    re-reading them: every template is read (filtered on updatedAt here) unless
    `template_reread_days` limits the re-read to those created that many days before the bookmark.
    """

    name = "templates"
    path = "/templates"
    primary_keys = ("templateId",)
    replication_key = "updatedAt"
    records_jsonpath = "$.templates[*]"

    @override
    @property
    def partitions(self) -> list[dict[str, Any]]:
        return [{"messageMedium": m} for m in MEDIUMS]

    def base_params(self, context: Context | None) -> dict[str, Any]:
        params: dict[str, Any] = {"messageMedium": context["messageMedium"] if context else None,
                                  "page": 1, "pageSize": 1000}
        days = self.config.get("template_reread_days")
        since = self.threshold(context)
        if days is not None and since is not None:
            start = datetime.fromtimestamp(since / 1000, UTC) - timedelta(days=float(days))
            params["startDateTime"] = iterable_time(start)
        return params


class ChannelsStream(IterableStream):
    """Channels (marketing or transactional, per medium)."""

    name = "channels"
    path = "/channels"
    primary_keys = ("id",)
    records_jsonpath = "$.channels[*]"


class MessageTypesStream(IterableStream):
    """Message types (subscription policy, frequency caps)."""

    name = "message_types"
    path = "/messageTypes"
    primary_keys = ("id",)
    records_jsonpath = "$.messageTypes[*]"


class UserFieldsStream(IterableStream):
    """The project's user fields and their types, from `/users/getFields`."""

    name = "user_fields"
    path = "/users/getFields"
    primary_keys = ("name",)
    bucket = "user_fields"

    @override
    def parse_response(self, response: Any) -> Iterable[dict[str, Any]]:
        for name, kind in response.json().get("fields", {}).items():
            yield {"name": name, "type": kind}


class CatalogsStream(IterableStream):
    """Catalog names."""

    name = "catalogs"
    path = "/catalogs"
    primary_keys = ("name",)
    records_jsonpath = "$.catalogNames[*]"

    def base_params(self, context: Context | None) -> dict[str, Any]:
        return {"page": 1, "pageSize": 100}

    @override
    def get_child_context(self, record: dict[str, Any], context: Context | None) -> dict[str, Any]:
        return {"catalogName": record["name"]}


class CatalogItemsStream(IterableStream):
    """Items of every catalog (full table: the API cannot filter on lastModified)."""

    name = "catalog_items"
    path = "/catalogs/{catalogName}/items"
    parent_stream_type = CatalogsStream
    primary_keys = ("catalogName", "itemId")
    state_partitioning_keys = ()

    def base_params(self, context: Context | None) -> dict[str, Any]:
        return {"page": 1, "pageSize": 1000}

    records_jsonpath = "$.catalogItemsWithProperties[*]"


class JourneysStream(IterableStream):
    """Journeys (workflows); the API leaves archived ones out by default."""

    name = "journeys"
    path = "/journeys"
    primary_keys = ("id",)
    records_jsonpath = "$.journeys[*]"

    def base_params(self, context: Context | None) -> dict[str, Any]:
        return {"page": 1, "pageSize": 50}
