"""Every HTTP concern of the tap: auth, per-group pacing, retries, error mapping, the export download."""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import requests
from singer_sdk import RESTStream, SchemaDirectory, StreamSchema
from singer_sdk.authenticators import BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.jsonpath import extract_jsonpath
from singer_sdk.pagination import HeaderLinkPaginator, OffsetPaginator, PageNumberPaginator

from tap_braze import schemas

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

try:  # Python 3.12+
    from typing import override
except ImportError:  # pragma: no cover
    from typing_extensions import override

SCHEMAS_DIR = SchemaDirectory(schemas)
LOG = logging.getLogger("tap-braze")

# Braze's per-workspace groups (shared/docs/api/braze.md §5): (requests, window seconds).
RATE_GROUPS: dict[str, tuple[int, float]] = {
    "default": (250_000, 3600.0),
    "events": (1_000, 3600.0),  # /events, /events/list, /custom_attributes, /purchases/product_list
    "catalogs": (50, 60.0),
    "campaign_series": (50_000, 60.0),
    "export_ids": (250, 60.0),  # 2,500/min for workspaces onboarded before 2024-08-22 (setting)
}
_decode = msgspec.json.Decoder().decode
MAX_RESET_WAIT = 3600.0  # an X-RateLimit-Reset further out than this is not believed


class ForbiddenStreamError(FatalAPIError):
    """The API key lacks the permission a stream needs (Braze's 403 "Access Denied")."""


@dataclass
class _Budget:
    limit: int
    length: float
    start: float = 0.0
    used: int = 0
    remaining: int | None = None  # from X-RateLimit-Remaining
    reset: float = 0.0  # from X-RateLimit-Reset (epoch)


@dataclass
class Pacer:
    """Keeps each Braze rate-limit group within its documented budget.

    Braze's windows are fixed and aligned to the epoch (``X-RateLimit-Reset`` is an epoch), so
    the pacer counts requests per window and, when the server says nothing is left, waits for
    its reset. Bursts within the budget are not slowed down.
    """

    limits: dict[str, tuple[int, float]]
    sleep: Any = time.sleep
    _budgets: dict[str, _Budget] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _budget(self, group: str) -> _Budget:
        if group not in self._budgets:
            limit, length = self.limits.get(group, self.limits["default"])
            self._budgets[group] = _Budget(limit, length)
        return self._budgets[group]

    def wait(self, group: str) -> None:
        with self._lock:
            b = self._budget(group)
            now = time.time()
            delay = 0.0
            start = now // b.length * b.length
            if b.start != start:
                b.start, b.used = start, 0
            if b.used >= b.limit:
                delay = start + b.length - now
            if b.remaining is not None and b.remaining <= 0 and b.reset > now:
                delay = max(delay, min(b.reset - now, MAX_RESET_WAIT))
        if delay > 0:
            LOG.info("Pacing rate-limit group %s: waiting %.2f s for its window to reset", group, delay)
            self.sleep(delay)
        with self._lock:
            b = self._budget(group)
            now = time.time()
            start = now // b.length * b.length
            if b.start != start:
                b.start, b.used = start, 0
            b.used += 1

    def observe(self, group: str, headers: Any) -> None:
        remaining, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
        if remaining is None or reset is None:
            return
        try:
            with self._lock:
                b = self._budget(group)
                b.remaining, b.reset = int(float(remaining)), float(reset)
        except ValueError:
            return


def braze_message(response: requests.Response) -> str:
    """Braze's own error text: ``message`` plus any ``errors`` (strings or catalog error objects)."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "")[:200]
    if not isinstance(body, dict):
        return str(body)[:200]
    text = str(body.get("message") or "")
    errors = body.get("errors")
    if errors:
        parts = [e.get("message") or e.get("id") if isinstance(e, dict) else str(e) for e in errors]
        text += " (" + "; ".join(str(p) for p in parts) + ")"
    return text


class BrazeStream(RESTStream[Any]):
    """Base stream: bearer auth, per-group pacing, Braze's 429/403 semantics."""

    schema = StreamSchema(SCHEMAS_DIR)
    records_jsonpath = "$[*]"
    rate_group = "default"
    permission = ""  # the API key permission this stream needs, named in 403 errors
    forbidden = False  # set when a 403 was skipped: the stream makes no more calls this sync
    retry_base = 2.0  # seconds; exponential backoff base for 5xx and connection errors

    @property
    @override
    def url_base(self) -> str:
        return self._tap.base_url  # type: ignore[attr-defined]

    @property
    @override
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_key"])

    @property
    @override
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 60))

    @property
    def pacer(self) -> Pacer:
        return self._tap.pacer  # type: ignore[attr-defined]

    @override
    def _request(self, prepared_request: requests.PreparedRequest, context: Context | None) -> requests.Response:
        # Pacing happens per attempt, so retries are paced too.
        group = self._active[0] if getattr(self, "_active", None) else self.rate_group
        self.pacer.wait(group)
        try:
            response = super()._request(prepared_request, context)
        except RetriableAPIError as exc:
            if exc.response is not None:
                self.pacer.observe(group, exc.response.headers)
            raise
        self.pacer.observe(group, response.headers)
        return response

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status == 403:
            permission = self._active[1] if getattr(self, "_active", None) else self.permission
            raise ForbiddenStreamError(
                f"Stream '{self.name}': the Braze API key lacks the '{permission}' permission "
                f"(HTTP 403: {braze_message(response)}). Create a key with it, or set skip_forbidden_streams.")
        super().validate_response(response)

    @override
    def response_error_message(self, response: requests.Response) -> str:
        # The path only (no query string), and Braze's message; never headers or the key.
        path = requests.utils.urlparse(response.url).path
        kind = "Client" if response.status_code < 500 else "Server"
        return f"Stream '{self.name}': {response.status_code} {kind} Error for {path}: {braze_message(response)}"

    @override
    def backoff_wait_generator(self) -> Iterator[float]:  # type: ignore[override]
        attempt = 0
        exc = yield  # type: ignore[misc]
        while True:
            attempt += 1
            exc = yield self.retry_wait(exc, attempt)

    def retry_wait(self, exc: Exception, attempt: int) -> float:
        """429: until ``X-RateLimit-Reset`` (Braze sends no Retry-After); otherwise expo + jitter."""
        response = getattr(exc, "response", None)
        if response is not None and response.status_code == 429:
            headers = response.headers
            reset, remaining = headers.get("X-RateLimit-Reset"), headers.get("X-RateLimit-Remaining", "0")
            # A 429 with budget left is not a rate limit ("an export of this segment is already
            # running"): back off exponentially instead of sleeping until the window resets.
            try:
                if reset and float(remaining) <= 0:
                    return min(MAX_RESET_WAIT, max(0.0, float(reset) - time.time()) + 0.05)
            except ValueError:
                pass
        return min(120.0, self.retry_base * 2 ** (attempt - 1)) + random.uniform(0, self.retry_base / 2)

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # jitter is added in retry_wait, never to a server-given reset

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 8))

    @override
    def backoff_handler(self, details: Any) -> None:
        exc = details.get("exception")
        status = getattr(getattr(exc, "response", None), "status_code", None)
        self.logger.warning("Stream '%s': retrying in %.2f s after attempt %d (%s)", self.name,
                            details.get("wait") or 0.0, details.get("tries"), status or type(exc).__name__)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if self.forbidden:  # already skipped for an earlier parent or partition
            return
        try:
            yield from self.read(context)
        except ForbiddenStreamError as exc:
            if not self.config.get("skip_forbidden_streams"):
                raise
            self.forbidden = True
            self.logger.warning("Skipping: %s", exc)

    def read(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """The stream's records; ``get_records`` wraps it with the 403 policy."""
        return self.request_records(context)

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
             group: str | None = None, permission: str | None = None) -> requests.Response:
        """One paced, retried request outside the paginated flow."""
        request = requests.Request(method, self.url_base + path, params=params, json=body,
                                   headers=self.http_headers).prepare()
        self._active = (group or self.rate_group, permission or self.permission)

        def attempt(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            response = self._request(prepared, context)
            # A 200 whose JSON does not parse (a cut or garbled body) is retried like a 5xx.
            if "json" in response.headers.get("Content-Type", ""):
                try:
                    response.json()
                except ValueError as exc:
                    raise RetriableAPIError(f"unparsable JSON from {method} {path}", response) from exc
            return response

        try:
            return self.request_decorator(attempt)(request, None)
        finally:
            self._active = None

    def list_all(self, path: str, key: str, *, permission: str) -> list[dict[str, Any]]:
        """Every item of a ``page``-paged list (campaigns, canvases, segments): partition ids."""
        items: list[dict[str, Any]] = []
        page = 0
        while True:
            batch = self.call("GET", path, params={"page": page}, permission=permission).json().get(key) or []
            items.extend(batch)
            if len(batch) < 100:
                return items
            page += 1


class _ShortPage:
    """Mixin for Braze's fixed-size pages: a page shorter than the size is the last one."""

    def __init__(self, *args: Any, records_path: str, size: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records_path, self.size = records_path, size

    def has_more(self, response: requests.Response) -> bool:
        return sum(1 for _ in extract_jsonpath(self.records_path, response.json())) >= self.size


class ShortPageNumberPaginator(_ShortPage, PageNumberPaginator):
    """``page`` numbers from 0."""


class ShortOffsetPaginator(_ShortPage, OffsetPaginator):
    """``limit``/``offset``."""


class PagedStream(BrazeStream):
    """``page`` from 0, a fixed page size; a short page is the last."""

    page_size = 100

    @override
    def get_new_paginator(self) -> ShortPageNumberPaginator:
        return ShortPageNumberPaginator(0, records_path=self.records_jsonpath, size=self.page_size)

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return {"page": next_page_token or 0}


class OffsetStream(BrazeStream):
    """``limit``/``offset``; a short page is the last."""

    page_size = 500

    @override
    def get_new_paginator(self) -> ShortOffsetPaginator:
        return ShortOffsetPaginator(0, self.page_size, records_path=self.records_jsonpath, size=self.page_size)

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return {"limit": self.page_size, "offset": next_page_token or 0}


class LinkStream(BrazeStream):
    """Cursor pages through the ``Link: <…>; rel="next"`` header (50 per call)."""

    @override
    def get_new_paginator(self) -> HeaderLinkPaginator:
        return HeaderLinkPaginator()

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any) -> dict[str, Any]:
        return query_of(next_page_token.geturl()) if next_page_token is not None else {}


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a ``Link`` URL (Braze's cursors)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class ExportDownloader:
    """Polls a segment export's pre-signed URL and streams the ZIP's JSON-lines members.

    The ZIP goes to a temporary file in chunks (it can be gigabytes), then each member is read
    line by line, so memory stays flat whatever the export's size. The URL is pre-signed: it is
    fetched without the API key, which must never reach a storage host.
    """

    def __init__(self, stream: BrazeStream) -> None:
        self.stream = stream
        self.session = requests.Session()
        cfg = stream.config
        self.poll = float(cfg.get("user_export_poll_seconds", 10))
        self.max_wait = float(cfg.get("user_export_timeout_seconds", 3600))

    def wait_and_download(self, url: str, sink: Any) -> None:
        deadline = time.monotonic() + self.max_wait
        delay, tries = self.poll, 0
        while True:
            try:
                with self.session.get(url, stream=True, timeout=self.stream.timeout) as resp:
                    if resp.status_code == 200:
                        for chunk in resp.iter_content(1 << 20):
                            sink.write(chunk)
                        return
                    if resp.status_code not in (403, 404) and resp.status_code < 500:
                        raise FatalAPIError(f"Stream '{self.stream.name}': export download failed with "
                                            f"HTTP {resp.status_code}")
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as exc:
                tries += 1
                if tries > 5:
                    raise FatalAPIError(f"Stream '{self.stream.name}': export download kept failing: "
                                        f"{type(exc).__name__}") from None
                sink.seek(0)
                sink.truncate()
            # Not ready yet (S3 answers 403/404 until the object exists): poll politely.
            if time.monotonic() + delay > deadline:
                raise FatalAPIError(f"Stream '{self.stream.name}': the segment export was not ready after "
                                    f"{self.max_wait:.0f} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 60.0)

    def records(self, url: str, attempts: int = 3) -> Iterator[dict[str, Any]]:
        with tempfile.TemporaryFile(prefix="tap-braze-export-") as tmp:
            for attempt in range(1, attempts + 1):
                tmp.seek(0)
                tmp.truncate()
                self.wait_and_download(url, tmp)
                tmp.seek(0)
                # A whole download that is not a zip (a corrupt object) is fetched again; the
                # file is only read once it opens, so no record is emitted twice.
                if zipfile.is_zipfile(tmp):
                    break
                if attempt == attempts:
                    raise FatalAPIError(f"Stream '{self.stream.name}': the export file is not a valid ZIP "
                                        f"after {attempts} downloads")
                self.stream.logger.warning("Export file is not a valid ZIP; downloading it again")
            tmp.seek(0)
            with zipfile.ZipFile(tmp) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    with zf.open(info) as member:
                        for line in member:  # ZipExtFile reads and inflates in small buffers
                            if line.strip():
                                yield _decode(line)
