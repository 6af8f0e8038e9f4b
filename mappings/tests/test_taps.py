"""The real taps against the sandbox, piped through the matching preset (skipped when a tap is absent)."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import jsonschema
import pytest


def run_tap(tap_class: Any, config: dict[str, Any], streams: list[str]) -> bytes:
    """Sync the selected streams in-process; return the tap's stdout bytes."""
    catalog = tap_class(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] in streams
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    real, sys.stdout = sys.stdout, out
    try:
        tap_class(config=config, catalog=catalog, state={}).sync_all()
    finally:
        sys.stdout = real
    out.flush()
    return out.buffer.getvalue()


def check_contract(run: Any, raw: bytes) -> None:
    """Records match their output SCHEMA; STATE lines are the tap's own, in order."""
    schemas: dict[str, dict] = {}
    for m in run.messages:
        if m["type"] == "SCHEMA":
            schemas[m["stream"]] = m["schema"]
        elif m["type"] == "RECORD":
            jsonschema.validate(m["record"], schemas[m["stream"]])
    states_in = [x for x in raw.decode().splitlines() if json.loads(x)["type"] == "STATE"]
    assert [x for x in run.lines if json.loads(x)["type"] == "STATE"] == states_in


def test_tap_klaviyo_through_klaviyo_preset(sandbox, run_map):
    tap = pytest.importorskip("tap_klaviyo.tap")
    config = {"private_api_key": sandbox.api_key, "api_url": sandbox.urls["klaviyo"],
              "start_date": "2024-01-01T00:00:00Z", "backoff_base_seconds": 0.01}
    raw = run_tap(tap.TapKlaviyo, config, ["profiles", "events", "metrics"])
    tap_records = [json.loads(x) for x in raw.decode().splitlines()]
    profiles = [m["record"] for m in tap_records if m["type"] == "RECORD" and m["stream"] == "profiles"]
    events = [m["record"] for m in tap_records if m["type"] == "RECORD" and m["stream"] == "events"]
    assert profiles
    run = run_map({"preset": "klaviyo"}, raw)
    check_contract(run, raw)
    contacts = run.records("klaviyo_contacts")
    assert len(contacts) == len(profiles)
    for p, c in zip(profiles, contacts, strict=True):
        assert c["source_id"] == p["id"]
        assert c["email"] == p.get("email")
        assert c["attributes"].get("FIRSTNAME") == p.get("first_name")
        assert c["attributes"].get("CITY") == (p.get("location") or {}).get("city")
        ltv = (p.get("properties") or {}).get("lifetime_value")
        assert c["attributes"].get("LTV") == ltv
        assert 20 in c["list_ids"]
        assert (22 in c["list_ids"]) == (ltv is not None and ltv >= 500)
    assert "metrics" in run.summary["streams_dropped"]  # no Brevo object for it; counted, not silent
    assert "metrics" not in run.streams()
    mapped = run.records("klaviyo_events")
    assert len(mapped) + run.summary["events_dropped"] == len(events)
    known = {"Placed Order": "order_completed", "Opened Email": "email_opened", "Viewed Product": "product_viewed"}
    for e, m in zip(events, mapped, strict=False):
        assert m["event_name"] == known.get(e["metric_name"], m["event_name"])
        assert m["event_name"].replace("_", "").isalnum()


def test_tap_braze_through_braze_preset(sandbox, run_map):
    tap = pytest.importorskip("tap_braze.tap")
    braze = sandbox.sb.vendors["braze"]
    braze.export_delay = 0.1
    seg = braze.segments[1]["id"]
    config = {"api_key": sandbox.api_key, "instance_url": sandbox.urls["braze"], "start_date": "2026-11-01T00:00:00Z",
              "user_export_poll_seconds": 0.05, "user_export_segment_ids": [seg]}
    raw = run_tap(tap.TapBraze, config, ["users"])
    users = [json.loads(x)["record"] for x in raw.decode().splitlines() if json.loads(x)["type"] == "RECORD"]
    assert users
    run = run_map({"preset": "braze", "list_map": {seg: "engaged_users"}}, raw)
    check_contract(run, raw)
    contacts = run.records("braze_contacts")
    assert len(contacts) == len(users)
    for u, c in zip(users, contacts, strict=True):
        assert c["attributes"].get("BRAZE_ID") == u.get("external_id")
        assert c["attributes"].get("PUSH_OPTIN") == u.get("push_opted_in")
        assert c["list_ids"] == [10]
    n_custom = sum(len(u.get("custom_events") or []) for u in users)
    n_purchases = sum(len(u.get("purchases") or []) for u in users)
    assert len(run.records("braze_custom_events")) + run.summary["events_dropped"] == n_custom
    assert len(run.records("braze_purchase_events")) == n_purchases
    assert n_custom
    assert n_purchases


def test_tap_iterable_through_iterable_preset(sandbox, run_map):
    tap = pytest.importorskip("tap_iterable.tap")
    client = pytest.importorskip("tap_iterable.client")
    fast = dict.fromkeys(client.RATE_LIMITS, 1e7)  # no client-side pacing against the unlimited sandbox
    config = {"rate_limits": fast, "api_key": sandbox.api_key, "api_url": sandbox.urls["iterable"], "start_date": "2024-11-01T00:00:00Z",
              "export_window_days": 400, "backoff_base_seconds": 0.01, "max_retries": 3, "async_poll_seconds": 0.02,
              "event_types": ["email_open", "custom_event", "purchase"]}
    raw = run_tap(tap.TapIterable, config, ["users", "email_open", "custom_event", "purchase"])
    msgs = [json.loads(x) for x in raw.decode().splitlines()]
    users = [m["record"] for m in msgs if m["type"] == "RECORD" and m["stream"] == "users"]
    assert users
    run = run_map({"preset": "iterable"}, raw)
    check_contract(run, raw)
    contacts = run.records("iterable_contacts")
    assert len(contacts) == len(users)
    for u, c in zip(users, contacts, strict=True):
        assert c.get("email") == u.get("email")
        assert c["attributes"].get("FIRSTNAME") == (u.get("dataFields") or {}).get("firstName")
        assert c["list_ids"] == [16]
    for stream in ("custom_event", "purchase", "email_open"):
        src = [m["record"] for m in msgs if m["type"] == "RECORD" and m["stream"] == stream]
        out = run.records(f"iterable_{stream}_events")
        assert len(out) == len(src)
        for s, o in zip(src, out, strict=True):
            if stream == "purchase":
                assert o["event_name"] == "ORDER_PLACED"
            if stream == "custom_event" and s.get("eventName") == "addToCart":
                assert o["event_name"] == "CART_UPDATED"
            assert o["identifiers"].get("email_id") == s.get("email")
