"""tap-braze: settings and the stream list."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_braze.client import RATE_GROUPS, Pacer, override
from tap_braze.streams import STREAMS

# REST endpoints from Braze's data-centre table (shared/docs/api/braze.md §2); other clusters are
# seen only in third-party code, so any https://rest.<cluster>.braze.(com|eu) is accepted too.
DOCUMENTED_HOSTS = {f"rest.iad-0{n}.braze.com" for n in range(1, 9)} | {
    "rest.us-10.braze.com", "rest.iad-10.braze.com", "rest.fra-01.braze.eu", "rest.fra-02.braze.eu",
    "rest.au-01.braze.com"}
CLUSTER_HOST = re.compile(r"^rest\.[a-z0-9-]+\.braze\.(com|eu)$")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> tuple[str, str | None]:
    """Return (normalised URL, warning or None); raise ``ValueError`` with a one-line reason."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"instance_url must be an absolute URL such as https://rest.iad-01.braze.com, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError(f"instance_url must use https (plain http is allowed only for loopback hosts), got {url!r}")
    warning = None
    if parts.scheme == "https" and host not in DOCUMENTED_HOSTS and not CLUSTER_HOST.match(host):
        warning = f"instance_url host {host} is not a documented Braze REST endpoint (rest.<cluster>.braze.com|eu)"
    return url.strip().rstrip("/"), warning


class TapBraze(Tap):
    """Singer tap for Braze's REST API."""

    @classmethod
    def invoke(cls, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        """Run the tap; an API refusal (401, 403, retries exhausted) ends it with its one-line
        reason instead of a traceback, which only repeats the message."""
        try:
            super().invoke(*args, **kwargs)  # type: ignore[arg-type]
        except FatalAPIError as exc:
            raise SystemExit(f"{cls.name}: error: {exc}") from None

    name = "tap-braze"
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property("api_key", th.StringType, required=True, secret=True,
                    description="REST API key (sent as `Authorization: Bearer …`), with the permissions of the "
                                "selected streams"),
        th.Property("instance_url", th.StringType,
                    description="REST endpoint of your instance, e.g. https://rest.iad-01.braze.com or "
                                "https://rest.fra-01.braze.eu"),
        th.Property("api_url", th.StringType, description="Alias of instance_url (used when instance_url is unset)"),
        th.Property("start_date", th.DateTimeType,
                    description="Earliest date to replicate (series, bounces, edits); default 30 days ago"),
        th.Property("analytics_lookback_days", th.IntegerType, default=14,
                    description="Data series are re-read this many days before their bookmark, since Braze "
                                "restates recent days"),
        th.Property("user_export_segment_ids", th.ArrayType(th.StringType),
                    description="Segments to export users from; empty means every segment (use an 'All users' "
                                "segment to get each user once)"),
        th.Property("user_export_fields", th.ArrayType(th.StringType),
                    description="fields_to_export for user exports (braze_id and external_id are always added); "
                                "default: the profile fields the users schema lists"),
        th.Property("user_export_custom_attributes", th.ArrayType(th.StringType),
                    description="custom_attributes_to_export (at most 500); default: all"),
        th.Property("user_export_external_ids", th.ArrayType(th.StringType),
                    description="Export only these users through /users/export/ids (50 per call) instead of "
                                "segment exports"),
        th.Property("user_export_poll_seconds", th.NumberType, default=10,
                    description="First wait between polls of a segment export's file (grows to 60 s)"),
        th.Property("user_export_timeout_seconds", th.NumberType, default=3600,
                    description="Give up on a segment export whose file is not ready after this long"),
        th.Property("users_export_ids_per_minute", th.IntegerType, default=250,
                    description="/users/export/ids budget: 250/min for workspaces created after 2024-08-22, "
                                "2,500 before"),
        th.Property("rate_limits", th.ObjectType(additional_properties=th.ObjectType(
                        th.Property("limit", th.IntegerType, required=True),
                        th.Property("seconds", th.NumberType, required=True))),
                    description="Override a rate-limit group's budget, e.g. {\"events\": {\"limit\": 1000, "
                                "\"seconds\": 3600}}; groups: " + ", ".join(RATE_GROUPS)),
        th.Property("skip_forbidden_streams", th.BooleanType, default=False,
                    description="Skip, with a warning, a stream whose permission the key lacks (HTTP 403) "
                                "instead of failing"),
        th.Property("request_timeout", th.IntegerType, default=60, description="Seconds per HTTP request"),
        th.Property("max_retries", th.IntegerType, default=8,
                    description="Attempts per request on 429, 5xx and connection errors"),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        url = self.config.get("instance_url") or self.config.get("api_url")
        if not url:
            raise ConfigValidationError("Config validation failed",
                                        errors=["instance_url (or its alias api_url) is required"])
        try:
            self.base_url, warning = check_base_url(url)
        except ValueError as exc:
            raise ConfigValidationError("Config validation failed", errors=[str(exc)]) from None
        if warning:
            self.logger.warning(warning)
        limits = dict(RATE_GROUPS)
        limits["export_ids"] = (int(self.config.get("users_export_ids_per_minute", 250)), 60.0)
        for group, budget in (self.config.get("rate_limits") or {}).items():
            limits[group] = (int(budget["limit"]), float(budget["seconds"]))
        self.pacer = Pacer(limits)

    @override
    def discover_streams(self) -> list[Any]:
        return [stream(tap=self) for stream in STREAMS]


if __name__ == "__main__":
    TapBraze.cli()
