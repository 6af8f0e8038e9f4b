"""Helpers for tap-brevo's tests and benchmark: run the tap in-process and collect its output."""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from singer_sdk import Tap

from tap_brevo.tap import TapBrevo


@dataclass
class Run:
    """What one sync wrote: records per stream, every STATE, and the log text."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    states: list[dict[str, Any]] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    stdout: str = ""
    log: str = ""

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}


def select(tap: Tap, streams: list[str] | None) -> dict[str, Any]:
    """The tap's catalog with exactly ``streams`` selected (all when None)."""
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        chosen = streams is None or entry["tap_stream_id"] in streams
        for md in entry["metadata"]:
            if not md["breadcrumb"]:
                md["metadata"]["selected"] = chosen
    return catalog


def run_tap(config: dict[str, Any], streams: list[str] | None = None,
            state: dict[str, Any] | None = None, *, level: int = logging.INFO) -> Run:
    """Sync ``streams`` in-process, capturing stdout and every log line at ``level``."""
    catalog = select(TapBrevo(config=config, parse_env_config=False, validate_config=True), streams)
    log_buf = io.StringIO()
    handler = logging.StreamHandler(log_buf)
    handler.setLevel(level)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    try:
        tap = TapBrevo(config=config, catalog=catalog, state=state or {}, parse_env_config=False)
        with redirect_stdout(out), redirect_stderr(err):
            tap.sync_all()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out.seek(0)
    run = Run(stdout=out.read(), log=log_buf.getvalue() + err.getvalue())
    for line in run.stdout.splitlines():
        msg = json.loads(line)
        if msg["type"] == "RECORD":
            run.records[msg["stream"]].append(msg["record"])
        elif msg["type"] == "STATE":
            run.states.append(msg["value"])
        elif msg["type"] == "SCHEMA":
            run.schemas[msg["stream"]] = msg["schema"]
    return run
