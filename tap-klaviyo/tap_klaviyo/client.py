"""Every HTTP concern of tap-klaviyo, once: auth, revision, pacing, retries, errors, JSON:API."""

from __future__ import annotations

import collections
import itertools
import json
import random
import threading
import time
from datetime import datetime, timezone
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import ParseResult, urlparse

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseHATEOASPaginator
from singer_sdk.schema.source import SchemaDirectory, StreamSchema
from singer_sdk.streams.rest import HTTPRequest, PageContext

from tap_klaviyo import schemas

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk.helpers.types import Context

try:
    from typing import override
except ImportError:  # Python < 3.12
    from typing_extensions import override

SCHEMAS_DIR = SchemaDirectory(schemas)
ENDPOINTS: dict[str, dict[str, Any]] = json.loads(
    resources.files("tap_klaviyo").joinpath("endpoints.json").read_text())
UTC = timezone.utc
_decode = msgspec.json.Decoder().decode


def utc_iso(value: str | None) -> str | None:
    """A Klaviyo datetime (any offset) as UTC ISO-8601, so bookmarks compare as strings."""
    if not value:
        return value
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat()


def filter_dt(dt: datetime) -> str:
    """A datetime as Klaviyo's filters want it: UTC, unquoted, ``Z``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def quote(value: str) -> str:
    """A string value in a filter (strings are quoted, datetimes are not)."""
    return '"' + value.replace('"', '\\"') + '"'


class Pacer:
    """Client-side limits for one endpoint: Klaviyo's burst (1 s) and steady (60 s) windows.

    A sliding log never exceeds a fixed window's count either. ``observe`` also obeys the
    server's ``RateLimit-Remaining``/``RateLimit-Reset`` (other clients share the account budget).
    """

    def __init__(self, burst: int, steady: int, sleep: Callable[[float], None] = time.sleep) -> None:
        self.windows = ((1.0, burst), (60.0, steady))
        self.sent: collections.deque[float] = collections.deque()
        self.blocked_until = 0.0
        self.sleep = sleep
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            while True:
                now = time.monotonic()
                while self.sent and now - self.sent[0] >= 60.0:
                    self.sent.popleft()
                delay = max(0.0, self.blocked_until - now)
                for span, limit in self.windows:
                    recent = [t for t in self.sent if now - t < span] if span < 60 else self.sent
                    if len(recent) >= limit:
                        delay = max(delay, recent[len(recent) - limit] + span - now)
                if delay <= 0:
                    self.sent.append(now)
                    return
                self.sleep(delay)

    def observe(self, headers: Any) -> None:
        remaining, reset = headers.get("RateLimit-Remaining"), headers.get("RateLimit-Reset")
        if remaining is not None and reset is not None:
            try:
                if int(remaining) <= 0:
                    self.blocked_until = time.monotonic() + float(reset)
            except ValueError:
                pass


_PACERS: dict[tuple[str, str], Pacer] = {}
_PACERS_LOCK = threading.Lock()


def pacer_for(api_url: str, key: str, burst: int, steady: int) -> Pacer:
    """One pacer per endpoint per account URL, shared by every stream that calls it."""
    with _PACERS_LOCK:
        return _PACERS.setdefault((api_url, key), Pacer(burst, steady))


class KlaviyoAuth(requests.auth.AuthBase):
    """``Klaviyo-API-Key`` for a private key, ``Bearer`` for OAuth (refreshed when it expires)."""

    def __init__(self, config: dict[str, Any], session: requests.Session, timeout: float) -> None:
        self.config = config
        self.session = session
        self.timeout = timeout
        self.token: str | None = config.get("access_token")
        self.refresh_token: str | None = config.get("refresh_token")
        # A given access token is used as is; with a refresh token a fresh one is asked for first.
        self.expires_at = float("inf") if self.token and not self.refresh_token else 0.0
        self.lock = threading.Lock()

    def header(self) -> str:
        if self.config.get("private_api_key"):
            return "Klaviyo-API-Key " + self.config["private_api_key"]
        with self.lock:
            if self.refresh_token and (not self.token or time.time() >= self.expires_at - 60):
                self.refresh()
        return f"Bearer {self.token}"

    def refresh(self) -> None:
        url = self.config.get("oauth_token_url") or self.config["api_url"].rstrip("/") + "/oauth/token"
        resp = self.session.post(url, data={"grant_type": "refresh_token",
                                            "refresh_token": self.refresh_token},
                                 auth=(self.config.get("client_id") or "", self.config.get("client_secret") or ""),
                                 timeout=self.timeout)
        if resp.status_code != 200:
            # The body may echo the token request; never log it.
            raise FatalAPIError(f"Klaviyo OAuth token refresh failed with HTTP {resp.status_code}: "
                                "check client_id, client_secret and refresh_token")
        body = resp.json()
        self.token = body["access_token"]
        self.expires_at = time.time() + float(body.get("expires_in", 3600))
        if body.get("refresh_token"):  # Klaviyo may rotate refresh tokens: use the newest
            self.refresh_token = body["refresh_token"]

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self.header()
        return r


class KlaviyoPaginator(BaseHATEOASPaginator):
    """Follow ``links.next`` verbatim: it already carries filter, sort and page size."""

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        return (KlaviyoStream.document(response).get("links") or {}).get("next")


class KlaviyoStream(RESTStream[ParseResult]):
    """Base stream: one Klaviyo JSON:API collection endpoint."""

    schema = StreamSchema(SCHEMAS_DIR)
    primary_keys = ("id",)
    # Nested objects arrive as JSON with the spec's types; conforming them per record cost a
    # third of the tap's CPU on profiles (subscriptions, location) for no change.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.ROOT_ONLY
    #: Relationships flattened into ``<name>_id`` / ``<singular>_ids`` fields.
    relationships: tuple[str, ...] = ()
    #: Datetime fields normalised to UTC (replication keys must compare as strings).
    utc_fields: tuple[str, ...] = ()

    @property
    def endpoint(self) -> dict[str, Any]:
        return ENDPOINTS[self.name]

    @property
    def STATE_MSG_FREQUENCY(self) -> int:  # noqa: N802 - singer-sdk's name
        """Records between STATE messages: an interrupted sync resumes from the last one."""
        return int(self.config.get("state_message_frequency", 1000))

    @property
    @override
    def url_base(self) -> str:
        return self.config["api_url"].rstrip("/")

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {"revision": self.config["api_revision"], "Accept": "application/vnd.api+json"}

    @cached_property
    @override
    def authenticator(self) -> KlaviyoAuth:
        auth = getattr(self._tap, "_klaviyo_auth", None)
        if auth is None:  # one per tap: an OAuth token is refreshed once for every stream
            auth = KlaviyoAuth(self.config, requests.Session(), self.timeout)
            self._tap._klaviyo_auth = auth  # type: ignore[attr-defined]
        return auth

    @property
    @override
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 60))

    @override
    def get_new_paginator(self) -> KlaviyoPaginator:
        return KlaviyoPaginator()

    # --- requests -----------------------------------------------------------------------------
    def page_size(self) -> int | None:
        """The configured page size, else the endpoint's maximum from the spec."""
        bounds = self.endpoint.get("page_size")
        if not bounds:
            return None
        wanted = (self.config.get("page_sizes") or {}).get(self.name)
        return max(1, min(int(wanted), bounds["maximum"])) if wanted else bounds["maximum"]

    def filters(self, context: Context | None) -> list[str]:
        """Filter terms of the first page (later pages follow ``links.next``)."""
        return []

    def first_page_params(self, context: Context | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        size = self.page_size()
        if size:
            params["page[size]"] = size
        terms = self.filters(context)
        if terms:
            params["filter"] = terms[0] if len(terms) == 1 else "and(" + ",".join(terms) + ")"
        return params

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        token: ParseResult | None = page.next_page_token
        if token is not None:
            base = urlparse(self.url_base)
            if (token.scheme, token.netloc) != (base.scheme, base.netloc):
                # Never send the key to a host other than api_url.
                raise FatalAPIError(f"{self.name}: links.next points at another host ({token.netloc})")
            return HTTPRequest(url=token.geturl(), method=self.http_method, headers=self.http_headers)
        return HTTPRequest(url=self.get_url(page.stream_context), method=self.http_method,
                           headers=self.http_headers, params=self.first_page_params(page.stream_context),
                           data=self.prepare_request_payload(page.stream_context, None), safe_query_chars="(),[]")

    @cached_property
    def pacer(self) -> Pacer:
        ep = self.endpoint
        burst, steady = ep["burst"], ep["steady"]
        return pacer_for(self.config["api_url"], ep.get("pacer_key", ep["path"]), burst, steady)

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def paced(*args: Any, **kwargs: Any) -> Any:
            if self.config.get("pace_requests", True):
                self.pacer.wait()
            return func(*args, **kwargs)
        return super().request_decorator(paced)

    # --- responses, errors, retries -------------------------------------------------------------
    @staticmethod
    def document(response: requests.Response) -> dict[str, Any]:
        doc = getattr(response, "_klaviyo_doc", None)
        if doc is None:
            doc = _decode(response.content)
            response._klaviyo_doc = doc  # type: ignore[attr-defined]
        return doc

    @override
    def validate_response(self, response: requests.Response) -> None:
        self.pacer.observe(response.headers)
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetriableAPIError(f"{self.name}: HTTP {status} from {response.request.path_url.split('?')[0]}",
                                    response)
        if status >= 400:
            raise FatalAPIError(self.error_message(response))
        try:
            self.document(response)
        except msgspec.DecodeError as exc:  # a truncated or garbled body: ask again
            raise RetriableAPIError(f"{self.name}: unreadable JSON body ({exc})", response) from None

    def error_message(self, response: requests.Response) -> str:
        """A one-line error naming the stream, Klaviyo's code and detail, and what to fix."""
        status = response.status_code
        try:
            err = (_decode(response.content).get("errors") or [{}])[0]
        except (msgspec.DecodeError, AttributeError):
            err = {}
        code, detail = err.get("code", "error"), err.get("detail", response.reason)
        where = f"{self.name} ({self.endpoint['path']})"
        if status == 401:
            hint = "check private_api_key, or access_token / refresh_token for OAuth"
        elif status == 403:
            hint = f"the key needs the scope(s) {', '.join(self.endpoint['scopes'])}"
        elif code in ("revision_retired", "invalid_revision") or status == 410:
            hint = f"api_revision {self.config['api_revision']!r} is not accepted; pin a supported revision"
        else:
            hint = ""
        return f"{where}: Klaviyo HTTP {status} {code}: {detail}" + (f" ({hint})" if hint else "")

    @override
    def backoff_wait_generator(self) -> Any:
        attempts = itertools.count()
        cap = float(self.config.get("backoff_max_seconds", 60))

        def wait(exc: Exception) -> float:
            n = next(attempts)
            resp = getattr(exc, "response", None)
            if resp is not None and resp.headers.get("Retry-After"):
                try:  # the server knows when the window reopens; add a hair for clock skew
                    return min(cap, float(resp.headers["Retry-After"])) + 0.05
                except ValueError:
                    pass
            # Exponential backoff with full jitter for 5xx, resets (104), 524 and timeouts.
            return random.uniform(0.5, 1.0) * min(cap, float(self.config.get("backoff_base_seconds", 1)) * 2 ** n)

        return self.backoff_runtime(value=wait)

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # jitter is already in the wait; Retry-After must not get a random second added

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 6)) + 1

    # --- JSON:API flattening ---------------------------------------------------------------------
    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        doc = self.document(response)
        included = {(i["type"], i["id"]): i for i in doc.get("included") or ()}
        for res in doc.get("data") or ():
            yield self.flatten(res, included)

    def flatten(self, res: dict[str, Any], included: dict[tuple[str, str], Any]) -> dict[str, Any]:
        rec = {"id": res.get("id"), **(res.get("attributes") or {})}
        rels = res.get("relationships") or {}
        for name in self.relationships:
            rel = rels.get(name)
            if rel is None or "data" not in rel:
                continue
            data = rel["data"]
            base = name.replace("-", "_")
            if isinstance(data, list):
                rec[(base[:-1] if base.endswith("s") else base) + "_ids"] = [d["id"] for d in data]
            else:
                rec[base + "_id"] = data["id"] if data else None
        for key in self.utc_fields:
            if rec.get(key):
                rec[key] = utc_iso(rec[key])
        return rec
