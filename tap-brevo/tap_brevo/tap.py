"""tap-brevo: config schema and stream list."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_brevo.client import DEFAULT_API_URL, PLANS, pacer_for
from tap_brevo.streams import STREAMS

try:
    from typing import override
except ImportError:  # Python < 3.12
    from typing_extensions import override


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TapBrevo(Tap):
    """Brevo (ex-Sendinblue) REST API v3."""

    @classmethod
    def invoke(cls, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        """Run the tap; an API refusal (401, 403, retries exhausted) ends it with its one-line
        reason instead of a traceback, which only repeats the message."""
        try:
            super().invoke(*args, **kwargs)  # type: ignore[arg-type]
        except FatalAPIError as exc:
            raise SystemExit(f"{cls.name}: error: {exc}") from None

    name = "tap-brevo"
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property("api_key", th.StringType, secret=True,
                    description="Brevo API key, sent in the `api-key` header."),
        th.Property("access_token", th.StringType, secret=True,
                    description="OAuth 2.0 access token (Bearer), an alternative to `api_key`."),
        th.Property("api_url", th.StringType, default=DEFAULT_API_URL,
                    description="Base URL of the API (HTTPS, or a loopback host for the sandbox)."),
        th.Property("start_date", th.DateTimeType,
                    description="Earliest modification/event time to extract on the first sync."),
        th.Property("rate_limit_plan", th.StringType, default="general",
                    allowed_values=[*PLANS, "off"],
                    description="Brevo plan whose per-bucket budgets the tap paces to: `general` (100/h "
                                "default bucket, 300/h /smtp, 10/s contacts), `advanced` (Professional/"
                                "Enterprise), or `off` (no client-side pacing; 429s are still waited out)."),
        th.Property("rate_limits", th.ObjectType(additional_properties=th.ObjectType(
            th.Property("per_second", th.NumberType), th.Property("per_hour", th.NumberType))),
                    description="Per-bucket overrides of the plan (`contacts`, `events`, `smtp`, `default`), "
                                "e.g. {\"default\": {\"per_hour\": 200}}."),
        th.Property("email_events_window_days", th.IntegerType, default=90, minimum=1, maximum=90,
                    description="Days per /smtp/statistics/events request window (Brevo allows at most 90)."),
        th.Property("email_events_lookback_days", th.IntegerType, default=365, minimum=1,
                    description="First sync of email_events without start_date starts this many days ago."),
        th.Property("list_contacts_list_ids", th.ArrayType(th.IntegerType),
                    description="Only read the members of these lists (list_contacts is heavy: one walk per "
                                "list). Select the stream to enable it."),
        th.Property("include_html_content", th.BooleanType, default=False,
                    description="Include campaigns' htmlContent (large; excluded by default)."),
        th.Property("contacts_pagination", th.StringType, default="keyset", allowed_values=["keyset", "offset"],
                    description="`keyset` moves `createdSince` forward page by page (no deep offsets); `offset` "
                                "pages with limit/offset only. Combining createdSince with modifiedSince is "
                                "UNVERIFIED against the live API."),
        th.Property("request_timeout", th.IntegerType, default=60, description="Seconds per HTTP request."),
        th.Property("max_rate_limit_wait", th.NumberType, default=3700,
                    description="Longest wait for a bucket's reset after a 429, in seconds."),
        th.Property("backoff_base_seconds", th.NumberType, default=1.0,
                    description="First retry delay for 5xx and connection errors (doubles per try)."),
    ).to_dict()

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        errors = super()._validate_config(raise_errors=raise_errors)
        problems = []
        url = urlsplit(self.config.get("api_url") or DEFAULT_API_URL)
        if url.scheme != "https" and not (url.scheme == "http" and _loopback(url.hostname or "")):
            problems.append(f"api_url must use https (plain http only for a loopback host), got {url.scheme}://"
                            f"{url.hostname}")
        if not (self.config.get("api_key") or self.config.get("access_token")):
            problems.append("set api_key (or access_token for OAuth)")
        if problems and raise_errors:
            raise ConfigValidationError(problems[0], errors=problems)
        return errors + problems

    @override
    def discover_streams(self) -> list[Stream]:
        return [cls(tap=self) for cls in STREAMS]

    @override
    def sync_all(self) -> None:
        try:
            super().sync_all()
        finally:
            for line in pacer_for(self).summary():
                self.logger.info("Rate-limit usage: %s", line)


if __name__ == "__main__":
    TapBrevo.cli()
