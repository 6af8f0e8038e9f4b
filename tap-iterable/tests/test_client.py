"""Pacing and retry waits, without a server."""

from __future__ import annotations

import requests

from tap_iterable import client
from tap_iterable.client import RATE_LIMITS, Pacer, iso_time, iterable_time
from tap_iterable.tap import TapIterable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_exports_are_spaced_15_seconds_apart_by_default(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(client.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(client.time, "sleep", clock.sleep)
    pacer = Pacer(RATE_LIMITS)
    for _ in range(5):
        pacer.wait("export")
    assert clock.slept == [15.0, 15.0, 15.0, 15.0]  # 4 per minute
    clock.slept.clear()
    pacer.wait("list_users")
    pacer.wait("list_users")
    assert clock.slept == [12.0]  # 5 per minute, counted apart from exports
    clock.slept.clear()
    pacer.wait("metrics")
    pacer.wait("metrics")
    assert clock.slept == [6.0]


def _response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.headers.update(headers or {})
    r._content = b'{"msg": "Rate limit exceeded", "code": "RateLimitExceeded"}'
    return r


def test_retry_waits():
    tap = TapIterable(config={"api_key": "k", "start_date": "2025-01-01T00:00:00Z", "backoff_base_seconds": 1})
    export = tap.streams["email_send"]
    channels = tap.streams["channels"]

    class RetryError(Exception):
        def __init__(self, response):
            self.response = response

    assert export.retry_wait(RetryError(_response(429, {"Retry-After": "7"})), 0) == 7.0
    first = export.retry_wait(RetryError(_response(429)), 0)
    assert 15.0 <= first <= 22.5  # at least the export spacing, plus jitter
    assert 30.0 <= export.retry_wait(RetryError(_response(429)), 1) <= 45.0
    assert 1.0 <= channels.retry_wait(RetryError(_response(503)), 0) <= 1.5
    assert 4.0 <= channels.retry_wait(RetryError(_response(503)), 2) <= 6.0
    assert 1.0 <= channels.retry_wait(ConnectionError("reset"), 0) <= 1.5


def test_time_formats():
    from datetime import datetime, timezone

    assert iterable_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)) == "2026-01-02 03:04:05"
    assert iso_time("2026-01-02 03:04:05 +00:00") == "2026-01-02T03:04:05+00:00"
    assert iso_time("2026-01-02 03:04:05") == "2026-01-02T03:04:05+00:00"
    assert iso_time(1767323045000) == "2026-01-02T03:04:05+00:00"
    assert iso_time("2026-01-02T03:04:05Z") == "2026-01-02T03:04:05Z"
