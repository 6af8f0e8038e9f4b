"""Every HTTP concern of tap-iterable: hosts, auth, pacing, retries, errors, exports."""

from __future__ import annotations

import csv
import io
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.schema.source import SchemaDirectory, StreamSchema

from tap_iterable import schemas

if sys.version_info >= (3, 12):
    from typing import override
else:  # pragma: no cover - Python < 3.12
    from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

UTC = timezone.utc
HOSTS = {"us": "https://api.iterable.com/api", "eu": "https://api.eu.iterable.com/api"}
NDJSON = "application/x-json-stream"

# Iterable's documented limits, requests per minute, per endpoint and project (iterable.md §3, §4).
# Projects can have them raised, hence the `rate_limits` setting.
RATE_LIMITS = {
    "default": 6000.0,  # 100/s
    "export": 4.0,  # /export/data.json
    "export_jobs": 60.0,  # /export/start, /export/{id}/files: 1/s
    "list_users": 5.0,  # /lists/getUsers
    "metrics": 10.0,  # /campaigns/metrics
    "user_fields": 180.0,  # /users/getFields: 3/s
}

_decode = msgspec.json.Decoder().decode


def api_url(config: dict[str, Any]) -> str:
    """`api_url` if set, else the region's host (keys only work in their own data centre)."""
    if config.get("api_url"):
        return str(config["api_url"]).rstrip("/")
    region = str(config.get("region") or "us").lower()
    return HOSTS[region]


def iterable_time(dt: datetime) -> str:
    """Iterable's export parameter format, in UTC: ``yyyy-MM-dd HH:mm:ss``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso_time(value: Any) -> Any:
    """Export timestamps (``2026-11-29 12:34:56 +00:00`` or epoch ms) as ISO 8601."""
    if isinstance(value, str) and len(value) >= 19 and value[10] == " ":
        zone = value[19:].strip() or "+00:00"
        return f"{value[:10]}T{value[11:19]}{zone}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC).isoformat()
    return value


def span(delta: timedelta) -> str:
    """A window length for messages: ``12.5 days``, ``3 h``, ``45 min``."""
    seconds = delta.total_seconds()
    if seconds >= 86400:
        return f"{seconds / 86400:g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


class Pacer:
    """Spaces requests per endpoint bucket so the tap stays under Iterable's limits."""

    def __init__(self, per_minute: dict[str, float]) -> None:
        self.interval = {k: (60.0 / float(v) if v else 0.0) for k, v in per_minute.items()}
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, bucket: str) -> None:
        interval = self.interval.get(bucket, self.interval["default"])
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(bucket, 0.0))
            self._next[bucket] = at + interval
        if at > now:
            time.sleep(at - now)


class ExportWindowError(Exception):
    """A synchronous export window failed the way too-large windows do (5xx, timeout, cut stream)."""


def describe(response: requests.Response) -> str:
    """``HTTP 429 RateLimitExceeded: Rate limit exceeded``: Iterable's code and message, no raw body."""
    code = msg = None
    try:
        body = response.json()
        if isinstance(body, dict):
            code, msg = body.get("code"), body.get("msg")
    except ValueError:
        msg = (response.text or "")[:200].strip() or None
    parts = [f"HTTP {response.status_code}", str(code) if code else response.reason or ""]
    text = " ".join(p for p in parts if p)
    return f"{text}: {msg}" if msg else text


class NextPageUrlPaginator(BaseHATEOASPaginator):
    """Iterable's listings return ``nextPageUrl`` until the last page."""

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        return response.json().get("nextPageUrl")


class IterableStream(RESTStream[Any]):
    """Base stream: Api-Key auth, per-endpoint pacing, Iterable's error codes, retries."""

    schema = StreamSchema(SchemaDirectory(schemas))
    bucket = "default"
    records_jsonpath = "$[*]"

    @override
    @property
    def url_base(self) -> str:
        return api_url(self.config)

    @override
    @property
    def authenticator(self) -> APIKeyAuthenticator:
        return APIKeyAuthenticator(key="Api-Key", value=self.config["api_key"], location="header")

    @override
    @property
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 300))

    @property
    def pacer(self) -> Pacer:
        tap = self._tap
        pacer = getattr(tap, "_iterable_pacer", None)
        if pacer is None:  # one pacer per tap: the limits are per project, across streams
            pacer = Pacer({**RATE_LIMITS, **(self.config.get("rate_limits") or {})})
            tap._iterable_pacer = pacer
        return pacer

    # --- requests ------------------------------------------------------------------------------
    @override
    def get_new_paginator(self) -> NextPageUrlPaginator:
        return NextPageUrlPaginator()

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        params = self.base_params(context)
        if next_page_token is not None:  # nextPageUrl carries every parameter of the next page
            params = dict(parse_qsl(next_page_token.query))
        return params

    def base_params(self, context: Context | None) -> dict[str, Any]:
        """Query parameters of the first page."""
        return {}

    @override
    def request_decorator(self, func: Any) -> Any:
        return self.retrying(func, self.bucket)

    def retrying(self, func: Any, bucket: str) -> Any:
        """``func`` paced on ``bucket`` and retried by the SDK's backoff (with ``retry_wait``)."""

        def paced(*args: Any, **kwargs: Any) -> Any:
            self.pacer.wait(bucket)  # every attempt, retries included, counts against the limit
            return func(*args, **kwargs)

        return super().request_decorator(paced)

    # --- errors and retries ---------------------------------------------------------------------------
    @override
    def validate_response(self, response: requests.Response) -> None:
        self.check_status(response)
        kind = response.headers.get("Content-Type", "")
        if "json" in kind and "x-json-stream" not in kind:
            try:  # a cut or garbled page is transient: retry it like a 5xx
                response.json()
            except ValueError:
                raise RetriableAPIError(f"{self.name}: the response body is not valid JSON (cut off?)",
                                        response) from None

    def check_status(self, response: requests.Response) -> None:
        """Iterable's status and error codes → retriable or fatal errors."""
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetriableAPIError(f"{self.name}: {describe(response)}", response)
        if status in (401, 403):
            hint = ("check api_key, and that `region` (or api_url) is the data centre of the key's project"
                    if status == 401 else "the key's type lacks a permission this endpoint needs")
            raise FatalAPIError(f"{self.name}: {describe(response)} ({hint})")
        if status >= 400:
            raise FatalAPIError(f"{self.name}: {describe(response)} for {urlsplit(response.url).path}")

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return f"{self.name}: {describe(response)}"

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 6)) + 1

    @override
    def backoff_wait_generator(self) -> Iterator[float]:
        def waits() -> Iterator[float]:
            attempt = 0
            exc = yield  # type: ignore[misc]  # backoff sends the exception in (see backoff_runtime)
            while True:
                exc = yield self.retry_wait(exc, attempt)
                attempt += 1

        return waits()

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # retry_wait adds its own jitter, and none to a server-given delay

    def retry_wait(self, exc: Any, attempt: int) -> float:
        """Retry-After when sent; on 429 the bucket's spacing, doubled per try; else exponential."""
        base = float(self.config.get("backoff_base_seconds", 2.0))
        response = getattr(exc, "response", None)
        if response is not None and response.headers.get("Retry-After"):
            try:
                return float(response.headers["Retry-After"])
            except ValueError:
                pass
        if response is not None and response.status_code == 429:
            base = max(base, self.pacer.interval.get(self.bucket, 0.0))
        return base * 2**attempt + random.uniform(0, base / 2)

    # --- streaming bodies ---------------------------------------------------------------------------------
    def open_stream(self, url: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None, *,
                    window: bool = False, auth: bool = True, bucket: str | None = None) -> requests.Response:
        """GET with ``stream=True`` (the body is read line by line), paced and retried.

        With ``window``, a 5xx or a timeout raises ``ExportWindowError`` at once instead of being
        retried: a too-large export window fails the same way every time, so the caller halves it.
        """
        session = self.requests_session if auth else self._plain_session

        def send() -> requests.Response:
            request = requests.Request("GET", url, params=params, headers={"User-Agent": self.user_agent})
            prepared = session.prepare_request(request)
            if auth:
                prepared = self.authenticator(prepared)
            try:
                response = session.send(prepared, stream=True, timeout=self.timeout)
            except requests.Timeout as exc:
                if window:
                    raise ExportWindowError(f"no response within {self.timeout}s") from exc
                raise
            if window and response.status_code >= 500:
                response.content  # noqa: B018 - the small error body, for describe()
                raise ExportWindowError(describe(response))
            if response.status_code >= 400:
                response.content  # noqa: B018 - read the small error body so describe() can show it
            self.check_status(response)
            return response

        return self.retrying(send, bucket or self.bucket)()

    def get_body(self, url: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None, *,
                 bucket: str | None = None) -> requests.Response:
        """GET a small body, read whole inside the retry loop: a cut or invalid body is retried."""

        def send() -> requests.Response:
            request = requests.Request("GET", url, params=params, headers={"User-Agent": self.user_agent})
            prepared = self.authenticator(self.requests_session.prepare_request(request))
            response = self.requests_session.send(prepared, timeout=self.timeout)
            self.validate_response(response)
            return response

        return self.retrying(send, bucket or self.bucket)()

    def resumable_lines(self, url: str, params: dict[str, Any]) -> Iterator[bytes]:
        """Lines of a long streamed text body; if the stream breaks, reopen it and skip the lines sent."""
        sent = 0
        tries = int(self.config.get("max_retries", 6))
        for attempt in range(tries + 1):
            response = self.open_stream(url, params)
            if "json" in response.headers.get("Content-Type", ""):
                # The endpoint answers plain text; a JSON 200 is an error page, not members.
                response.close()
                if attempt == tries:
                    raise FatalAPIError(f"{self.name}: {url} answered JSON, not the plain-text list")
                self.logger.warning("%s: got a JSON body instead of plain text; retrying", self.name)
                time.sleep(self.retry_wait(None, attempt))
                continue
            try:
                for index, line in enumerate(self.iter_lines(response)):
                    if index >= sent:
                        sent += 1
                        yield line
                return
            except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as exc:
                if attempt == tries:
                    raise
                self.logger.warning("%s: the stream broke off after %d lines (%s); reopening", self.name, sent,
                                    type(exc).__name__)
                time.sleep(self.retry_wait(exc, attempt))

    @cached_property
    def _plain_session(self) -> requests.Session:
        # Download links are pre-signed storage URLs: they must never receive the Api-Key.
        return requests.Session()

    def iter_lines(self, response: requests.Response, *, window: bool = False) -> Iterator[bytes]:
        """Non-empty lines of a streamed body; a cut stream is an ``ExportWindowError`` in windows."""
        try:
            for line in response.iter_lines(chunk_size=256 * 1024):
                if line:
                    yield line
        except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError) as exc:
            if window:
                raise ExportWindowError(f"the stream broke off: {type(exc).__name__}") from exc
            raise
        finally:
            response.close()

    def csv_rows(self, response: requests.Response) -> Iterator[dict[str, str]]:
        """Rows of a CSV body (campaign and experiment metrics)."""
        yield from csv.DictReader(io.StringIO(response.text))

    # --- campaign ids, shared by the metrics streams ------------------------------------------------------
    def campaign_ids(self) -> list[int]:
        tap = self._tap
        ids = getattr(tap, "_iterable_campaign_ids", None)
        if ids is None:
            ids = []
            url: str | None = f"{self.url_base}/campaigns"
            params: dict[str, Any] | None = {"page": 1, "pageSize": 1000}
            while url:
                body = self.get_body(url, params, bucket="default").json()
                ids += [int(c["id"]) for c in body.get("campaigns", [])]
                url, params = body.get("nextPageUrl"), None
            tap._iterable_campaign_ids = ids
        return ids


def number(text: str) -> Any:
    """A CSV cell as int, float, or None when empty; other text unchanged."""
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


class ClientFilteredStream(IterableStream):
    """Incremental where the API cannot filter: every record is read, older ones are dropped.

    The replication key holds epoch milliseconds (as Iterable sends it), so the bookmark is too.
    """

    is_sorted = False  # Iterable does not promise an order for these listings

    def threshold(self, context: Context | None) -> int | None:
        value = self.get_starting_replication_key_value(context)
        start = self.config.get("start_date")
        floor = int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1000) if start else None
        if isinstance(value, str):  # a bookmark from start_date the SDK copied in
            value = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        candidates = [v for v in (value, floor) if v is not None]
        return max(candidates) if candidates else None

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        threshold = self.threshold(context)
        key = self.replication_key
        for record in super().get_records(context):
            if threshold is None or (record.get(key) or 0) >= threshold:
                yield record


class ExportStream(IterableStream):
    """One export data type, read in time windows with a bookmark after each window.

    Sync mode streams ``/export/data.json`` window by window, halving a window that times out
    or fails with a server error down to a floor. Async mode starts up to four jobs at a time
    through ``/export/start`` and downloads each job's files as soon as it completes.
    """

    data_type = ""
    path = "/export/data.json"
    bucket = "export"
    replication_key = "createdAt"
    is_sorted = False  # Iterable does not document an order within an export; bookmarks are per window
    # Export values are already JSON-typed; conforming every nested dataFields value cost ~25% of
    # the tap's CPU on the export path (bench/bench_tap_iterable.py). Top-level types are still conformed.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY

    @cached_property
    def known_fields(self) -> frozenset[str]:
        return frozenset(self.schema["properties"])

    # --- windows ------------------------------------------------------------------------------------
    def window_bounds(self, context: Context | None) -> tuple[datetime, datetime]:
        start = self.get_starting_timestamp(context)
        if start is None:
            raise FatalAPIError(f"{self.name}: start_date is required for exports")
        end_cfg = self.config.get("end_date")
        now = datetime.now(UTC).replace(microsecond=0)
        end = now
        if end_cfg:
            fixed = datetime.fromisoformat(end_cfg.replace("Z", "+00:00"))
            end = min(now, fixed if fixed.tzinfo else fixed.replace(tzinfo=UTC))
        self._open_end = end if end == now else None
        self._newest: datetime | None = None
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        return start.replace(microsecond=0), end

    def rows(self, lines: Iterable[bytes], lo: datetime, hi: datetime) -> Iterator[dict[str, Any]]:
        """Decoded records; in the window that ends now, also the newest replication value seen."""
        track = hi == self._open_end
        key = self.replication_key
        newest = self._newest
        for count, line in enumerate(lines):
            try:
                row = _decode(line)
            except msgspec.DecodeError as exc:  # a garbled body: treated like a broken stream
                raise ExportWindowError(f"line {count + 1} of the export is not JSON") from exc
            if track:
                value = iso_time(row.get(key))
                if isinstance(value, str):
                    when = datetime.fromisoformat(value)
                    if newest is None or when > newest:
                        newest = when
            yield row
        self._newest = newest

    def resume_point(self, lo: datetime, hi: datetime) -> datetime:
        """Where the next run starts after window [lo, hi).

        A past window is closed: resume at its end. The window that ends now may still receive
        events (ingestion lags, and clocks differ), so resume at the newest record it held, or at
        its start when it held none.
        """
        if hi != self._open_end:
            return hi
        return self._newest or lo

    def bookmark(self, context: Context | None, until: datetime) -> None:
        """Record ``until`` as the resume point and emit STATE now, even after an empty window."""
        state = self.get_context_state(context)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = until.isoformat()
        # The SDK only writes STATE every 10,000 records; a window is our unit of resumption.
        self.state_manager.is_flushed = False
        self._write_state_message()

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any] | None:
        row[self.replication_key] = iso_time(row.get(self.replication_key))
        if "event_type" in self.known_fields:
            row["event_type"] = self.data_type
        data = row.get("transactionalData")
        if isinstance(data, str):  # exports carry it as a JSON string
            try:
                row["transactionalData"] = _decode(data)
            except msgspec.DecodeError:
                row["transactionalData"] = {"raw": data}
        extra = [k for k in row if k not in self.known_fields]
        if extra:  # fields vary per project: keep unknown ones, inside dataFields
            fields = row.get("dataFields")
            fields = dict(fields) if isinstance(fields, dict) else {}
            for k in extra:
                fields.setdefault(k, row.pop(k))
            row["dataFields"] = fields
        return row

    def export_params(self) -> list[tuple[str, Any]]:
        params: list[tuple[str, Any]] = [("dataTypeName", self.data_type)]
        only = self.only_fields()
        params += [("onlyFields", f) for f in only]
        return params

    def only_fields(self) -> list[str]:
        return []

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        start, end = self.window_bounds(context)
        if start >= end:
            return
        if self.config.get("export_mode", "sync") == "async":
            yield from self._async_windows(context, start, end)
        else:
            yield from self._sync_windows(context, start, end)
        # Bookmarks are the window ends written above; drop the SDK's per-record markers so its
        # final promotion does not replace the last window end with an older record time.
        self.get_context_state(context).pop("progress_markers", None)

    def _sync_windows(self, context: Context | None, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        full = timedelta(days=float(self.config.get("export_window_days", 30)))
        floor = timedelta(minutes=float(self.config.get("export_window_floor_minutes", 60)))
        size, cur = full, start
        url = f"{self.url_base}/export/data.json"
        while cur < end:
            until = min(cur + size, end)
            params = [*self.export_params(), ("startDateTime", iterable_time(cur)), ("endDateTime", iterable_time(until))]
            try:
                response = self.open_stream(url, params, window=True)
                yield from self.rows(self.iter_lines(response, window=True), cur, until)
            except ExportWindowError as exc:
                if size <= floor:
                    raise FatalAPIError(
                        f"{self.name}: the export window {iterable_time(cur)} to {iterable_time(until)} still "
                        f"fails at the floor of {span(floor)} ({exc}); lower export_window_floor_minutes or use "
                        f"export_mode: async") from exc
                size = max(floor, size / 2)
                self.logger.warning("%s: export window %s to %s failed (%s); halving it to %s",
                                    self.name, iterable_time(cur), iterable_time(until), exc, span(size))
                continue
            self.bookmark(context, self.resume_point(cur, until))
            cur = until
            size = min(full, size * 2)  # a dense period passed: grow back towards the configured window

    # --- async jobs -----------------------------------------------------------------------------------
    def _async_windows(self, context: Context | None, start: datetime, end: datetime) -> Iterator[dict[str, Any]]:
        size = timedelta(days=float(self.config.get("async_window_days", 365)))
        windows: deque[tuple[datetime, datetime]] = deque()
        cur = start
        while cur < end:
            windows.append((cur, min(cur + size, end)))
            cur = windows[-1][1]
        max_jobs = max(1, min(4, int(self.config.get("async_max_jobs", 4))))  # Iterable runs 4 at once
        running: deque[tuple[datetime, datetime, int]] = deque()
        try:
            while windows or running:
                while windows and len(running) < max_jobs:
                    lo, hi = windows.popleft()
                    running.append((lo, hi, self._start_job(lo, hi)))
                lo, hi, job = running[0]
                files = self._wait_for_files(job, lo, hi)
                for name, link in files:
                    yield from self.rows(self._download(job, name, link), lo, hi)
                running.popleft()
                self.bookmark(context, self.resume_point(lo, hi))
        finally:
            for _lo, _hi, job in running:  # interrupted: do not leave jobs holding the project's slots
                self._cancel_job(job)

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        def send() -> requests.Response:
            prepared = self.build_prepared_request(method, f"{self.url_base}{path}", **kwargs)
            response = self.requests_session.send(prepared, timeout=self.timeout)
            self.validate_response(response)
            return response

        return self.retrying(send, "export_jobs")().json()

    def _start_job(self, lo: datetime, hi: datetime) -> int:
        body: dict[str, Any] = {"dataTypeName": self.data_type, "outputFormat": NDJSON,
                                "startDateTime": iterable_time(lo), "endDateTime": iterable_time(hi)}
        if self.only_fields():
            body["onlyFields"] = ",".join(self.only_fields())
        job = int(self._api("POST", "/export/start", json=body)["jobId"])
        self.logger.info("%s: export job %s started for %s to %s", self.name, job, iterable_time(lo), iterable_time(hi))
        return job

    def _wait_for_files(self, job: int, lo: datetime, hi: datetime) -> list[tuple[str, str]]:
        poll = float(self.config.get("async_poll_seconds", 5))
        deadline = time.monotonic() + float(self.config.get("async_timeout_minutes", 360)) * 60
        while True:
            status = self._api("GET", f"/export/{job}/files")
            if status["jobState"] == "Completed":
                break
            if status["jobState"] == "Failed":
                raise FatalAPIError(f"{self.name}: export job {job} ({iterable_time(lo)} to {iterable_time(hi)}) failed")
            if time.monotonic() > deadline:
                raise FatalAPIError(f"{self.name}: export job {job} did not complete in time")
            time.sleep(poll)
        if status.get("exportTruncated"):
            self.logger.warning("%s: export job %s was truncated by Iterable (over 100 GB); use smaller "
                                "async_window_days", self.name, job)
        files = [(f["file"], f["url"]) for f in status["files"]]
        while status["files"]:  # files come in pages: ask for those after the last one
            status = self._api("GET", f"/export/{job}/files", params={"startAfter": files[-1][0]})
            files += [(f["file"], f["url"]) for f in status["files"]]
        return files

    def _download(self, job: int, name: str, link: str) -> Iterator[bytes]:
        try:
            response = self.open_stream(link, auth=False, bucket="download")
        except FatalAPIError:
            # Links expire after 30 minutes: list the files again for a fresh one, once.
            fresh = self._refresh_link(job, name)
            response = self.open_stream(fresh, auth=False, bucket="download")
        yield from self.iter_lines(response)

    def _refresh_link(self, job: int, name: str) -> str:
        after = None
        while True:
            status = self._api("GET", f"/export/{job}/files", params={"startAfter": after} if after else None)
            for f in status["files"]:
                if f["file"] == name:
                    return f["url"]
            if not status["files"]:
                raise FatalAPIError(f"{self.name}: file {name} of export job {job} is no longer listed")
            after = status["files"][-1]["file"]

    def _cancel_job(self, job: int) -> None:
        try:
            self._api("DELETE", f"/export/{job}")
        except Exception as exc:
            self.logger.warning("%s: could not cancel export job %s: %s", self.name, job, exc)
