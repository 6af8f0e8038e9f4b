"""tap-iterable: settings and the stream list."""

from __future__ import annotations

import ipaddress
import sys
from urllib.parse import urlsplit

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import FatalAPIError

from tap_iterable import streams
from tap_iterable.client import RATE_LIMITS

if sys.version_info >= (3, 12):
    from typing import override
else:  # pragma: no cover - Python < 3.12
    from typing_extensions import override

EXPORT_TYPES = ["user", *streams.EVENT_TYPES]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TapIterable(Tap):
    """Iterable: users, every export event type, lists, campaigns, templates, catalogs, journeys."""

    @classmethod
    def invoke(cls, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        """Run the tap; an API refusal (401, 403, retries exhausted) ends it with its one-line
        reason instead of a traceback, which only repeats the message."""
        try:
            super().invoke(*args, **kwargs)  # type: ignore[arg-type]
        except FatalAPIError as exc:
            raise SystemExit(f"{cls.name}: error: {exc}") from None

    name = "tap-iterable"
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property("api_key", th.StringType, required=True, secret=True,
                    description="Server-side (or read-only) API key, sent in the Api-Key header"),
        th.Property("region", th.StringType, default="us", allowed_values=["us", "eu"],
                    description="Data centre of the project: us (api.iterable.com) or eu (api.eu.iterable.com)"),
        th.Property("api_url", th.StringType,
                    description="Base URL overriding region, e.g. https://api.eu.iterable.com/api or the sandbox"),
        th.Property("start_date", th.DateTimeType, required=True,
                    description="Earliest createdAt / profileUpdatedAt to export"),
        th.Property("end_date", th.DateTimeType, description="Export up to here (exclusive); default now"),
        th.Property("export_window_days", th.NumberType, default=30,
                    description="Length of one synchronous export window"),
        th.Property("export_window_floor_minutes", th.NumberType, default=60,
                    description="Smallest window halving may reach before the sync fails"),
        th.Property("export_mode", th.StringType, default="sync", allowed_values=["sync", "async"],
                    description="sync: stream /export/data.json per window; async: /export/start jobs and their files"),
        th.Property("async_window_days", th.NumberType, default=365, description="Length of one async export job"),
        th.Property("async_max_jobs", th.IntegerType, default=4,
                    description="Async jobs running at once (Iterable processes at most 4 per organisation)"),
        th.Property("async_poll_seconds", th.NumberType, default=5, description="Job status polling interval"),
        th.Property("async_timeout_minutes", th.NumberType, default=360, description="Give up on a job after this"),
        th.Property("event_types", th.ArrayType(th.StringType),
                    description="Export data types to offer as streams (camelCase like emailOpen, or stream "
                                "names like email_open); default: all"),
        th.Property("user_fields", th.ArrayType(th.StringType),
                    description="Only export these user fields (sent as onlyFields; identity fields are always kept)"),
        th.Property("users_primary_key", th.StringType, default="userId", allowed_values=["userId", "email"],
                    description="Key of users: email for email-based projects, userId otherwise"),
        th.Property("list_users_prefer_user_id", th.BooleanType, default=False,
                    description="List members by userId instead of email"),
        th.Property("template_reread_days", th.NumberType,
                    description="Re-read only templates created this many days before the bookmark "
                                "(default: all, since the API filters templates on created time)"),
        th.Property("metrics_batch_size", th.IntegerType, default=20, description="Campaign ids per metrics request"),
        th.Property("rate_limits", th.ObjectType(*(th.Property(k, th.NumberType) for k in RATE_LIMITS)),
                    description="Requests per minute per endpoint group, when your project's limits differ "
                                f"from Iterable's documented ones {RATE_LIMITS}"),
        th.Property("request_timeout", th.IntegerType, default=300, description="Seconds to wait for a response"),
        th.Property("max_retries", th.IntegerType, default=6, description="Retries on 429, 5xx and connection errors"),
        th.Property("backoff_base_seconds", th.NumberType, default=2.0,
                    description="First retry wait; doubles per try (429 waits at least the endpoint's spacing)"),
    ).to_dict()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        url = self.config.get("api_url")
        if url:
            parts = urlsplit(url)
            if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname or "")):
                sys.stderr.write(f"tap-iterable: api_url must use https (plain http only for loopback hosts), got {url}\n")
                raise SystemExit(2)

    @override
    def discover_streams(self) -> list[Stream]:
        wanted = self.config.get("event_types")
        chosen = [t for t in streams.EVENT_TYPES
                  if not wanted or t in wanted or streams.stream_name(t) in wanted]
        return [
            streams.UsersStream(self),
            *(streams.event_stream(t)(self) for t in chosen),
            streams.ListsStream(self),
            streams.ListUsersStream(self),
            streams.CampaignsStream(self),
            streams.CampaignMetricsStream(self),
            streams.ExperimentsMetricsStream(self),
            streams.TemplatesStream(self),
            streams.ChannelsStream(self),
            streams.MessageTypesStream(self),
            streams.UserFieldsStream(self),
            streams.CatalogsStream(self),
            streams.CatalogItemsStream(self),
            streams.JourneysStream(self),
        ]


if __name__ == "__main__":
    TapIterable.cli()
