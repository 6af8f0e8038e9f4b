from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

import pytest

from tap_klaviyo.tap import TapKlaviyo


def run_tap(config: dict[str, Any], streams: list[str], state: dict[str, Any] | None = None, *,
            allow_failure: bool = False) -> dict[str, Any]:
    """Sync ``streams`` in-process; return records per stream, the last state (and the error)."""
    catalog = TapKlaviyo(config=config).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    tap = TapKlaviyo(config=config, catalog=catalog, state=state or {})
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # the msgspec writer needs .buffer
    error = None
    with redirect_stdout(out):
        try:
            tap.sync_all()
        except Exception as exc:
            if not allow_failure:
                raise
            error = exc
    out.flush()
    text = out.buffer.getvalue().decode()
    records: dict[str, list[dict[str, Any]]] = {s: [] for s in streams}
    last_state: dict[str, Any] = {}
    for line in text.splitlines():
        msg = json.loads(line)
        if msg["type"] == "RECORD":
            records.setdefault(msg["stream"], []).append(msg["record"])
        elif msg["type"] == "STATE":
            last_state = msg["value"]
    return {"records": records, "state": last_state, "stdout": text, "error": error}


@pytest.fixture
def tap_config(sandbox: Any) -> dict[str, Any]:
    return {"private_api_key": sandbox.api_key, "api_url": sandbox.urls["klaviyo"],
            "start_date": "2024-01-01T00:00:00Z", "backoff_base_seconds": 0.01}


@pytest.fixture
def run() -> Any:
    return run_tap
