"""Every HTTP concern of target-brevo: auth, pacing per Brevo bucket, retries, error mapping.

Brevo's limits (shared/docs/api/brevo.md §2) are per bucket: ``/contacts/*`` 10/s, ``/events``
10/s, ``/smtp/*`` 300/h, everything else (processes, lists' folders, ecommerce, events batch)
100/h on the general plans, doubled on Professional/Enterprise ("Advanced"). A token bucket per
Brevo bucket paces calls; ``x-sib-ratelimit-remaining/reset`` (reset = seconds left, possibly
fractional) tightens it; a 429 waits for the reset. 5xx, timeouts, dropped connections and
truncated bodies are retried with exponential backoff and jitter; other 4xx never are.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import msgspec
import requests

HOUR = 3600.0
# (requests, per seconds) on Brevo's general plans.
BASE_RATES = {"contacts": (10, 1.0), "events": (10, 1.0), "smtp": (300, HOUR), "default": (100, HOUR)}
PLAN_FACTOR = {"free": 1.0, "starter": 1.0, "business": 1.0, "professional": 2.0, "enterprise": 2.0}
RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 522, 524})
_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def bucket_for(path: str) -> str:
    """The documented Brevo bucket of an API path (``/contacts/...`` → ``contacts``)."""
    if path.startswith("/contacts"):
        return "contacts"
    if path == "/events":
        return "events"
    if path.startswith("/smtp/"):
        return "smtp"
    return "default"


def endpoint_name(method: str, path: str) -> str:
    """``POST /processes/17`` → ``POST /processes/{id}``: the key API calls are counted under."""
    return f"{method} " + re.sub(r"/(\d+|[^/]*(?:@|%40)[^/]*|%2B\d+|\+\d+)(?=/|$)", "/{id}", path)


class AmbiguousWriteError(Exception):
    """A write whose answer was lost: Brevo may or may not have applied it."""


class BrevoError(Exception):
    """A Brevo error answer: status, code, message, body and ``sib-request-id``."""

    def __init__(self, status: int, message: str, code: str | None = None, body: Any = None,
                 request_id: str | None = None, endpoint: str = "") -> None:
        super().__init__(f"{endpoint}: HTTP {status} {code or ''} {message}".strip())
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.request_id = request_id

    @property
    def duplicate_identifiers(self) -> list[str]:
        """``metadata.duplicate_identifiers`` (Brevo's code for this case changed over time)."""
        meta = self.body.get("metadata") if isinstance(self.body, dict) else None
        dup = meta.get("duplicate_identifiers") if isinstance(meta, dict) else None
        return [str(d) for d in dup] if isinstance(dup, list) else []


class FatalError(Exception):
    """An error that stops the run (auth, configuration, exhausted retries)."""


@dataclass
class TokenBucket:
    """``rate`` requests per ``per`` seconds, bursting to the window's size, as Brevo counts them."""

    rate: float
    per: float
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)
    blocked_until: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate)

    def acquire(self, sleep: Any = time.sleep) -> float:
        """Take one token, sleeping as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate / self.per)
                self.stamp = now
                wait = self.blocked_until - now
                if wait < 1e-6:  # float residue: a tiny wait would spin without advancing time
                    wait = 0.0
                if not wait and self.tokens >= 1 - 1e-9:  # (float residue again)
                    self.tokens = max(self.tokens - 1, 0.0)
                    return waited
                if not wait:
                    wait = (1 - self.tokens) * self.per / self.rate
            sleep(wait)
            waited += wait

    def block(self, seconds: float) -> None:
        """The server says the window is spent: send nothing more for ``seconds``."""
        with self.lock:
            self.blocked_until = max(self.blocked_until, self.clock() + seconds)
            self.tokens = 0.0


class BrevoClient:
    """One session for the whole run, paced per Brevo bucket, with call statistics."""

    def __init__(self, api_url: str, api_key: str, *, plan: str = "free",
                 rates: dict[str, float] | None = None, timeout: float = 60.0, max_tries: int = 6,
                 backoff_base: float = 1.0, backoff_max: float = 60.0, rate_limit_wait_max: float = 3600.0,
                 logger: logging.Logger | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.max_tries = max_tries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.rate_limit_wait_max = rate_limit_wait_max
        self.log = logger or logging.getLogger("target-brevo")
        self.session = requests.Session()
        # The key lives only in the session's headers: never in URLs, logs or messages.
        self.session.headers.update({"api-key": api_key, "accept": "application/json",
                                     "content-type": "application/json",
                                     "user-agent": "target-brevo"})
        # Report CSVs live on Brevo's file host (presigned URLs): never send them the key.
        self.files = requests.Session()
        factor = PLAN_FACTOR.get(plan, 1.0)
        self.buckets: dict[str, TokenBucket] = {}
        for name, (count, per) in BASE_RATES.items():
            per_second = (rates or {}).get(name)
            # float(): Meltano hands JSON numbers over as Decimal, which cannot mix with float time.
            self.buckets[name] = (TokenBucket(float(per_second), 1.0) if per_second
                                  else TokenBucket(count * factor, per))
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.retries = 0
        self.waited = 0.0
        self._lock = threading.Lock()
        self.sleep = time.sleep

    # --- public --------------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json_body

    def post(self, path: str, body: Any) -> Reply:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any, params: dict[str, Any] | None = None) -> Reply:
        return self.request("PUT", path, body=body, params=params)

    def delete(self, path: str, params: dict[str, Any] | None = None) -> Reply:
        return self.request("DELETE", path, params=params)

    def download(self, url: str) -> str:
        """A report file (presigned URL): no API key, same retries."""
        for attempt in range(1, self.max_tries + 1):
            try:
                resp = self.files.get(url, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._backoff(attempt, f"GET report: {type(exc).__name__}")
                continue
            if resp.status_code in RETRY_STATUSES or resp.status_code == 429:
                self._backoff(attempt, f"GET report: HTTP {resp.status_code}")
                continue
            if resp.status_code >= 400:
                raise BrevoError(resp.status_code, "report download failed", endpoint="GET report")
            return resp.text
        raise FatalError("GET report: retries exhausted")

    @staticmethod
    def quote(identifier: str) -> str:
        return quote(str(identifier), safe="")

    def create(self, path: str, body: Any, find: Callable[[], Any]) -> Any:
        """A POST that creates something (a list, a folder). When its answer is lost after it was
        sent, Brevo may have created it: look with ``find`` before creating it again."""
        try:
            return self.request("POST", path, body=body, ambiguous_ok=False).json_body
        except AmbiguousWriteError as exc:
            self.log.warning("%s: %s; checking whether it was created before retrying", path, exc)
            found = find()
            return found if found is not None else self.request("POST", path, body=body).json_body

    def request(self, method: str, path: str, *, body: Any = None,
                params: dict[str, Any] | None = None, ambiguous_ok: bool = True) -> Reply:
        """Send one API call, paced and retried; raise ``BrevoError`` on a final 4xx.

        With ``ambiguous_ok=False``, a failure after the request may have been applied (dropped
        connection, timeout, cut or garbled body) raises ``AmbiguousWriteError`` instead of resending.
        """
        name = endpoint_name(method, urlsplit(path).path)
        bucket = self.buckets[bucket_for(path)]
        data = _encoder.encode(body) if body is not None else None
        tries = 0
        while True:
            tries += 1
            self.waited += bucket.acquire(self.sleep)
            with self._lock:
                self.calls[name] += 1
            try:
                resp = self.session.request(method, self.api_url + path, data=data, params=params,
                                            timeout=self.timeout)
                raw = resp.content  # raises ChunkedEncodingError on a cut-off body
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                if not ambiguous_ok:
                    raise AmbiguousWriteError(type(exc).__name__) from None
                self._retry_or_fail(tries, name, f"{type(exc).__name__}")
                continue
            self._adapt(bucket, resp)
            status = resp.status_code
            rid = resp.headers.get("sib-request-id")
            if status == 429:
                with self._lock:
                    self.throttled += 1
                wait = self._reset_seconds(resp) or min(self.backoff_max, self.backoff_base * 2 ** tries)
                if wait > self.rate_limit_wait_max or tries > self.max_tries * 4:
                    raise FatalError(f"{name}: rate limited (429) and the reset ({wait:.0f} s) is beyond "
                                     f"rate_limit_wait_max; sib-request-id={rid}")
                self.log.warning("%s: 429 rate limited, waiting %.2f s for the reset (sib-request-id=%s)",
                                 name, wait, rid)
                bucket.block(wait)
                continue
            if status in RETRY_STATUSES or status >= 500:
                self.log.warning("%s: HTTP %s (sib-request-id=%s)", name, status, rid)
                self._retry_or_fail(tries, name, f"HTTP {status}")
                continue
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) != len(raw):
                if not ambiguous_ok:
                    raise AmbiguousWriteError("truncated body")
                self._retry_or_fail(tries, name, "truncated body")
                continue
            parsed: Any = None
            if raw and "json" in resp.headers.get("content-type", "json"):
                try:
                    parsed = _decoder.decode(raw)
                except msgspec.DecodeError:
                    if status < 400:
                        if not ambiguous_ok:
                            raise AmbiguousWriteError("unparsable body") from None
                        self._retry_or_fail(tries, name, "unparsable body")
                        continue
                    parsed = raw.decode("utf-8", "replace")[:500]
            if status >= 400:
                code = parsed.get("code") if isinstance(parsed, dict) else None
                message = parsed.get("message") if isinstance(parsed, dict) else str(parsed or resp.reason)
                err = BrevoError(status, str(message), code, parsed, rid, name)
                if status in (401, 403):
                    hint = ("check api_key (the key is never logged)" if status == 401
                            else "the key lacks a permission for this call")
                    raise FatalError(f"{name}: HTTP {status} {code}: {message} - {hint}; sib-request-id={rid}")
                self.log.info("%s: HTTP %s %s: %s (sib-request-id=%s)", name, status, code, message, rid)
                raise err
            return Reply(status, parsed, rid)

    def stats(self) -> dict[str, Any]:
        return {"api_calls": dict(sorted(self.calls.items())), "api_calls_total": sum(self.calls.values()),
                "rate_limited_429": self.throttled, "retries": self.retries,
                "seconds_waiting_for_rate_limits": round(self.waited, 2)}

    # --- internals -------------------------------------------------------------------------------
    def _adapt(self, bucket: TokenBucket, resp: requests.Response) -> None:
        remaining = resp.headers.get("x-sib-ratelimit-remaining")
        if remaining is not None and remaining.strip().isdigit() and int(remaining) <= 0:
            reset = self._reset_seconds(resp)
            if reset:
                bucket.block(reset)

    @staticmethod
    def _reset_seconds(resp: requests.Response) -> float | None:
        raw = resp.headers.get("x-sib-ratelimit-reset") or resp.headers.get("Retry-After")
        try:
            return max(float(raw), 0.0) if raw is not None else None
        except ValueError:
            return None

    def _retry_or_fail(self, tries: int, name: str, why: str) -> None:
        if tries >= self.max_tries:
            raise FatalError(f"{name}: {why}; gave up after {tries} attempts")
        self._backoff(tries, f"{name}: {why}")

    def _backoff(self, attempt: int, why: str) -> None:
        # Exponential with full jitter: spreads retries of parallel clients.
        wait = random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))
        with self._lock:
            self.retries += 1
        self.log.warning("%s; retry %d in %.2f s", why, attempt, wait)
        self.sleep(wait)


@dataclass
class Reply:
    status: int
    json_body: Any
    request_id: str | None = None
