"""Every HTTP concern of tap-brevo, once: auth, pacing to Brevo's buckets, retries, errors, paging."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from typing import TYPE_CHECKING, Any

import requests
import yaml
from singer_sdk import RESTStream
from singer_sdk.authenticators import APIKeyAuthenticator, BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.schema.source import SchemaDirectory, StreamSchema

from tap_brevo import schemas

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import HTTPRequest
    from singer_sdk.tap_base import Tap

try:
    from typing import override
except ImportError:  # Python < 3.12
    from typing_extensions import override

SCHEMAS_DIR = SchemaDirectory(schemas)
UTC = timezone.utc
DEFAULT_API_URL = "https://api.brevo.com/v3"
PLANS: dict[str, dict[str, dict[str, float | None]]] = yaml.safe_load(
    resources.files("tap_brevo").joinpath("rate_limits.yml").read_text())
LOG = logging.getLogger("tap-brevo")


def bucket_for(path: str) -> str:
    """The rate-limit bucket Brevo's docs put a path in (brevo.md §2)."""
    if path.startswith("/contacts"):
        return "contacts"
    if path.startswith("/events"):
        return "events"
    if path.startswith("/smtp/"):
        return "smtp"
    return "default"


def to_utc(value: Any) -> Any:
    """An ISO-8601 timestamp with any offset as UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ``; other values as is.

    One fixed format also makes string comparison (singer-sdk's bookmark maximum) correct.
    """
    if not isinstance(value, str) or len(value) < 19 or value[10] not in "T ":
        return value
    if len(value) == 24 and value[-1] == "Z" and value[19] == ".":
        return value  # already the canonical form: the common case, skip parsing
    try:
        dt = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] == "Z" else value)  # 3.10: no "Z"
    except ValueError:
        return value
    if dt.tzinfo is None:  # Brevo documents UTC
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"


def brevo_time(dt: datetime) -> str:
    """A filter date-time with its timezone, as Brevo asks (``+00:00``; sent URL-encoded as ``%2B``)."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")


def synthetic_key(*parts: Any) -> str:
    """A stable key for objects Brevo gives no id (a SHA-256 of the identifying fields)."""
    raw = json.dumps(list(parts), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def body_of(response: requests.Response) -> Any:
    """The decoded JSON body, decoded once per response (paginators and parsing share it)."""
    cached = getattr(response, "_brevo_body", None)
    if cached is None:
        cached = response.json() if response.content else {}
        response._brevo_body = cached  # type: ignore[attr-defined]
    return cached


# --- pacing ----------------------------------------------------------------------------------------


@dataclass
class Bucket:
    """What the tap knows about one of Brevo's buckets during a sync."""

    name: str
    per_second: float | None
    per_hour: float | None
    requests: int = 0
    throttled: int = 0  # 429s received
    waited: float = 0.0  # seconds spent waiting for this bucket
    limit: int | None = None  # from x-sib-ratelimit-limit
    remaining: int | None = None  # from x-sib-ratelimit-remaining
    reset_at: float = 0.0  # monotonic time the server's window resets
    sent: deque[float] = field(default_factory=deque)  # monotonic request times of the last hour


class Pacer:
    """Paces requests to Brevo's buckets so that a sync waits instead of failing.

    Brevo's ``x-sib-ratelimit-remaining``/``-reset`` headers (reset = seconds until the window
    ends, possibly fractional) are authoritative: at zero remaining the next request waits for
    the reset. Before a bucket has answered with headers, the plan's budget is used (a sliding
    hour and a per-second spacing).
    """

    def __init__(self, plan: dict[str, dict[str, float | None]], *, enabled: bool = True,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self.sleep = sleep
        self.clock = clock
        self.lock = threading.Lock()
        self.buckets = {name: Bucket(name, b.get("per_second"), b.get("per_hour")) for name, b in plan.items()}

    def bucket(self, name: str) -> Bucket:
        return self.buckets.get(name) or self.buckets.setdefault(name, Bucket(name, None, None))

    def before(self, name: str) -> None:
        """Wait, if needed, until a request in bucket ``name`` fits its budget."""
        b = self.bucket(name)
        with self.lock:
            if self.enabled:
                wait, why = self._wait_for(b)
                if wait > 0:
                    # Per-second spacing is routine; waiting for an hourly window is worth a line.
                    level = logging.DEBUG if why == "per-second" else logging.INFO
                    LOG.log(level, "Rate limit: bucket %s %s; waiting %.2f s", name, why, wait)
                    self.sleep(wait)
                    b.waited += wait
                    if why != "per-second":
                        b.remaining = None  # unknown until the next response
            now = self.clock()
            b.requests += 1
            b.sent.append(now)
            if b.remaining is not None:
                b.remaining -= 1

    def _wait_for(self, b: Bucket) -> tuple[float, str]:
        now = self.clock()
        if b.remaining is not None and b.remaining <= 0 and b.reset_at > now:
            return b.reset_at - now + 0.01, f"is used up ({b.limit} per window), its window resets"
        while b.sent and b.sent[0] <= now - 3600:
            b.sent.popleft()
        if b.remaining is None and b.limit is None and b.per_hour and len(b.sent) >= b.per_hour:
            # No headers seen from this bucket: keep to the plan's hourly budget.
            return b.sent[-int(b.per_hour)] + 3600 - now, f"reached the plan's {b.per_hour:g}/h budget"
        if b.per_second and len(b.sent) >= b.per_second:
            wait = b.sent[-int(b.per_second)] + 1.0 - now
            if wait > 0:
                return wait, "per-second"
        return 0.0, ""

    def observe(self, name: str, response: requests.Response) -> None:
        """Record the bucket's state from Brevo's ``x-sib-ratelimit-*`` headers."""
        b = self.bucket(name)
        headers = response.headers
        with self.lock:
            if response.status_code == 429:
                b.throttled += 1
            try:
                if "x-sib-ratelimit-limit" in headers:
                    b.limit = int(float(headers["x-sib-ratelimit-limit"]))
                if "x-sib-ratelimit-remaining" in headers:
                    b.remaining = int(float(headers["x-sib-ratelimit-remaining"]))
                if "x-sib-ratelimit-reset" in headers:
                    b.reset_at = self.clock() + max(0.0, float(headers["x-sib-ratelimit-reset"]))
            except ValueError:
                LOG.warning("Ignoring unparsable x-sib-ratelimit-* headers on a %s response", name)

    def summary(self) -> list[str]:
        """One line per bucket used: requests, 429s, waits and the budget left."""
        lines = []
        for b in self.buckets.values():
            if not b.requests:
                continue
            budget = b.limit or b.per_hour
            left = f"{b.remaining} of {b.limit} left in the current window" if b.limit is not None else "no headers"
            share = f" ({100 * b.requests / budget:.0f}% of one window's {budget:g})" if budget else ""
            lines.append(f"bucket {b.name}: {b.requests} requests{share}, {b.throttled} throttled (429), "
                         f"waited {b.waited:.1f} s; {left}")
        return lines


def pacer_for(tap: Tap) -> Pacer:
    """The tap's one pacer, shared by every stream (each stream has its own HTTP session)."""
    pacer = getattr(tap, "_brevo_pacer", None)
    if pacer is None:
        plan_name = tap.config.get("rate_limit_plan", "general")
        plan = {k: dict(v) for k, v in PLANS.get(plan_name, PLANS["general"]).items()}
        for bucket, override_ in (tap.config.get("rate_limits") or {}).items():
            plan.setdefault(bucket, {}).update(override_)
        pacer = Pacer(plan, enabled=plan_name != "off")
        tap._brevo_pacer = pacer  # type: ignore[attr-defined]
    return pacer


# --- paging ------------------------------------------------------------------------------------


class OffsetPaginator(BaseAPIPaginator[int]):
    """Brevo's ``limit``/``offset`` paging: stop at ``count``, or on a short page when there is none."""

    def __init__(self, key: str, page_size: int) -> None:
        super().__init__(0)
        self.key = key
        self.page_size = page_size

    @override
    def get_next(self, response: requests.Response) -> int | None:
        body = body_of(response)
        got = len(body.get(self.key) or [])
        nxt = self.current_value + self.page_size
        count = body.get("count")
        if got < self.page_size or (isinstance(count, int) and nxt >= count):
            return None
        return nxt


# --- the base stream -----------------------------------------------------------------------------


class BrevoStream(RESTStream[Any]):
    """Base stream: auth, pacing, retries and Brevo's error bodies; subclasses declare endpoints."""

    # Brevo's JSON already has the schema's types: conforming nested objects value by value cost
    # a quarter of the tap's CPU for nothing (top-level fields are still conformed).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY

    schema = StreamSchema(SCHEMAS_DIR)
    records_key: str = ""  # the array in the response body
    page_size: int | None = None  # Brevo's maximum ``limit`` for the endpoint; None = no paging
    sort_asc = True  # ask for ``sort=asc`` where the endpoint has it
    datetime_fields: tuple[str, ...] = ("createdAt", "modifiedAt")

    @property
    def url_base(self) -> str:
        return self.config.get("api_url", DEFAULT_API_URL).rstrip("/")

    @property
    def authenticator(self) -> APIKeyAuthenticator | BearerTokenAuthenticator:
        if self.config.get("api_key"):
            return APIKeyAuthenticator(key="api-key", value=self.config["api_key"], location="header")
        return BearerTokenAuthenticator(token=self.config["access_token"])

    @property
    def http_headers(self) -> dict[str, str]:
        return {"accept": "application/json"}

    @property
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 60))

    @property
    def bucket(self) -> str:
        return bucket_for(self.path)

    # --- requests ----------------------------------------------------------------------------
    @override
    def get_new_paginator(self) -> BaseAPIPaginator | None:
        return OffsetPaginator(self.records_key, self.page_size) if self.page_size else None

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.page_size:
            params["limit"] = self.page_size
            params["offset"] = next_page_token or 0
        if self.sort_asc:
            params["sort"] = "asc"
        return params

    @override
    def get_http_request(self, *, page: Any) -> HTTPRequest:
        request = super().get_http_request(page=page)
        request.safe_query_chars = ""  # the "+" of a timezone must go out as %2B (brevo.md §8)
        return request

    @override
    def _request(self, prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
        pacer_for(self._tap).before(self.bucket)
        return super()._request(prepared_request, context)

    @override
    def validate_response(self, response: requests.Response) -> None:
        pacer_for(self._tap).observe(self.bucket, response)
        status = response.status_code
        if status in (401, 403):
            raise FatalAPIError(self._error(response, "check api_key/access_token" if status == 401
                                            else "the key lacks a permission this endpoint needs"))
        if status == 429 or status >= 500:
            raise RetriableAPIError(self._error(response), response)
        if status >= 400:
            raise FatalAPIError(self._error(response))
        try:
            body_of(response)
        except (ValueError, requests.exceptions.JSONDecodeError):
            # A truncated or garbled body is transient: retry it like a 5xx.
            raise RetriableAPIError(f"{self.name}: invalid JSON in the response from {self.path}",
                                    response) from None

    def _error(self, response: requests.Response, hint: str = "") -> str:
        """Brevo's code and message (never headers or URLs with values), the stream and the request id."""
        try:
            body = response.json()
            detail = f"{body.get('code')}: {body.get('message')}"
        except ValueError:
            detail = (response.text or "")[:200]
        rid = response.headers.get("sib-request-id", "-")
        msg = f"stream {self.name}: HTTP {response.status_code} from GET {self.path}: {detail} (sib-request-id {rid})"
        return f"{msg}; {hint}" if hint else msg

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return self._error(response)

    # --- retries -------------------------------------------------------------------------------
    @override
    def backoff_wait_generator(self) -> Generator[float, None, None]:
        attempts = iter(range(100))
        max_wait = float(self.config.get("max_rate_limit_wait", 3700))

        def wait(exc: Exception) -> float:
            response = getattr(exc, "response", None)
            if response is not None and response.status_code == 429:
                # Brevo's reset is a duration in seconds (not an epoch); no Retry-After is sent.
                reset = response.headers.get("x-sib-ratelimit-reset") or response.headers.get("Retry-After")
                try:
                    seconds = float(reset) if reset is not None else 60.0
                except ValueError:
                    seconds = 60.0
                seconds = min(max_wait, max(0.0, seconds) + 0.05)
                pacer_for(self._tap).bucket(self.bucket).waited += seconds
                self.logger.info("stream %s: 429 from Brevo (%s bucket); waiting %.2f s for the reset",
                                 self.name, self.bucket, seconds)
                return seconds
            n = next(attempts)
            return min(60.0, float(self.config.get("backoff_base_seconds", 1.0)) * 2 ** n) * random.uniform(0.5, 1.0)

        return self.backoff_runtime(value=wait)

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # jitter is already in the generator; a 429 waits exactly for the reset

    @override
    def backoff_max_tries(self) -> int:
        return 8

    @override
    def backoff_handler(self, details: Any) -> None:
        exc = details.get("exception")
        self.logger.warning("stream %s: retry %d after %.2f s (%s)", self.name, details.get("tries", 0),
                            details.get("wait") or 0.0, type(exc).__name__ if exc else "error")

    # --- records ---------------------------------------------------------------------------------
    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        yield from body_of(response).get(self.records_key) or []

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        for name in self.datetime_fields:
            if name in row:
                row[name] = to_utc(row[name])
        return row

    def start_time(self, context: Context | None) -> datetime | None:
        """The bookmark, or ``start_date``, as an aware datetime (None = from the beginning)."""
        start = self.get_starting_timestamp(context)
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start

    def today(self) -> datetime:
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
