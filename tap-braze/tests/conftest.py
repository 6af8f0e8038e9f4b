"""Run tap-braze in-process against the sandbox and collect its Singer messages."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tap_braze.tap import TapBraze


def _catalog_for(config: dict[str, Any], streams: list[str]) -> dict[str, Any]:
    """The discovered catalog with only ``streams`` selected (and their parents, as singer-sdk needs)."""
    catalog = TapBraze(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] in streams
        for md in entry["metadata"]:
            if not md["breadcrumb"]:
                md["metadata"]["selected"] = chosen
    return catalog


class Run:
    def __init__(self, lines: list[str], log: str) -> None:
        self.messages = [json.loads(line) for line in lines if line.strip()]
        self.log = log

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    @property
    def state(self) -> dict[str, Any]:
        states = [m["value"] for m in self.messages if m["type"] == "STATE"]
        return states[-1] if states else {}


@pytest.fixture
def catalog_for() -> Callable[[dict[str, Any], list[str]], dict[str, Any]]:
    """``catalog_for(config, streams)``: the discovered catalog with only those streams selected."""
    return _catalog_for


@pytest.fixture
def braze_config(sandbox) -> dict[str, Any]:
    sandbox.sb.vendors["braze"].export_delay = 0.2
    return {"api_key": sandbox.api_key, "instance_url": sandbox.urls["braze"], "start_date": "2026-11-01T00:00:00Z",
            "user_export_poll_seconds": 0.1}


@pytest.fixture
def run_tap(capfd, caplog) -> Callable[..., Run]:
    def run(config: dict[str, Any], streams: list[str], state: dict[str, Any] | None = None) -> Run:
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
        real = sys.stdout
        sys.stdout = out
        try:
            tap = TapBraze(config=config, catalog=_catalog_for(config, streams), state=state or {})
            tap.sync_all()
        finally:
            sys.stdout = real
        out.seek(0)
        # Logs reach stderr or pytest's log capture, depending on how pytest runs.
        return Run(out.read().splitlines(), capfd.readouterr().err + caplog.text)

    return run
