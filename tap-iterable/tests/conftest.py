from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest

from tap_iterable.client import RATE_LIMITS
from tap_iterable.tap import TapIterable

FAST = dict.fromkeys(RATE_LIMITS, 1e7)  # no client-side pacing against the unlimited test sandbox


def run_tap(config: dict[str, Any], streams: list[str], state: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sync ``streams`` in-process; records per stream, every STATE, and the error if the sync failed."""
    catalog = TapIterable(config=config).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    tap = TapIterable(config=config, catalog=catalog, state=state or {})
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # the msgspec writer needs .buffer
    error = None
    with redirect_stdout(out):
        try:
            tap.sync_all()
        except Exception as exc:  # the caller asserts on it (interrupted syncs, clear failures)
            error = exc
    out.flush()
    text = out.buffer.getvalue().decode()
    records: dict[str, list[dict[str, Any]]] = {s: [] for s in streams}
    states: list[dict[str, Any]] = []
    for line in text.splitlines():
        msg = json.loads(line)
        if msg["type"] == "RECORD":
            records.setdefault(msg["stream"], []).append(msg["record"])
        elif msg["type"] == "STATE":
            states.append(msg["value"])
    return {"records": records, "state": states[-1] if states else {}, "states": states, "stdout": text,
            "error": error}


@pytest.fixture
def tap_config(sandbox: Any) -> dict[str, Any]:
    return {"api_key": sandbox.api_key, "api_url": sandbox.urls["iterable"],
            "start_date": "2024-11-01T00:00:00Z", "export_window_days": 400, "rate_limits": FAST,
            "backoff_base_seconds": 0.01, "max_retries": 3, "async_poll_seconds": 0.02}


@pytest.fixture
def run() -> Any:
    return run_tap


@pytest.fixture
def exports(sandbox: Any) -> Any:
    """Query parameters of every export request the sandbox sees during the test."""
    seen: list[dict[str, Any]] = []

    def observe(ex: Any) -> None:
        if ex.vendor == "iterable" and ex.path == "/api/export/data.json" and "startDateTime" in ex.query:
            seen.append({k: v[0] if len(v) == 1 else v for k, v in ex.query.items()} | {"status": ex.status})

    sandbox.sb.observers.append(observe)
    yield seen
    sandbox.sb.observers.remove(observe)
