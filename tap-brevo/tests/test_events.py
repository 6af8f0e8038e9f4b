"""email_events: ≤ 90-day windows, 5000 per page, synthetic keys; custom events."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import date, timedelta

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_brevo.client import synthetic_key
from tap_brevo.testing import run_tap


def _windows(queries):
    return [(date.fromisoformat(q["startDate"][0]), date.fromisoformat(q["endDate"][0]), q)
            for path, q in queries if path == "/smtp/statistics/events"]


@pytest.mark.parametrize("window_days", [90, 30])
def test_email_events_walk_contiguous_windows_of_at_most_90_days(sandbox, config, conformance, queries,
                                                                   window_days):
    run = run_tap({**config, "start_date": "2025-10-01T00:00:00Z", "email_events_window_days": window_days},
                  ["email_events"])
    windows = _windows(queries)
    assert len(windows) >= 400 // window_days
    for start, end, q in windows:
        assert (end - start).days + 1 <= window_days
        assert q["limit"] == ["5000"]
        assert q["sort"] == ["asc"]
    for (_, prev_end, _), (start, _, _) in itertools.pairwise(windows):
        assert (start - prev_end).days == 1  # no gap, no overlap
    assert windows[0][0] == date(2025, 10, 1)
    # Every seeded event since the start date, once, with the date in UTC.
    table = sandbox.sb.vendors["brevo"].seeded.smtp_events
    records = run.records["email_events"]
    keys = [r["event_key"] for r in records]
    assert len(keys) == len(set(keys)) == len(table)  # the seed spans 400 days, all after 2025-10-01
    assert all(r["date"].endswith("Z") for r in records)
    assert run.state["bookmarks"]["email_events"]["replication_key_value"] == max(r["date"] for r in records)


def test_email_events_rerun_starts_at_the_bookmark_day(sandbox, config, queries):
    first = run_tap({**config, "start_date": "2026-09-01T00:00:00Z"}, ["email_events"])
    queries.clear()
    second = run_tap({**config, "start_date": "2026-09-01T00:00:00Z"}, ["email_events"], state=first.state)
    bookmark = first.state["bookmarks"]["email_events"]["replication_key_value"]
    # From the day before the bookmark's: Brevo's report days may be the account's, not UTC.
    assert _windows(queries)[0][0] == date.fromisoformat(bookmark[:10]) - timedelta(days=1)
    assert {r["event_key"] for r in second.records["email_events"]} <= {r["event_key"] for r in first.records["email_events"]}


def test_window_over_90_days_is_refused_by_config_validation(config):
    with pytest.raises(ConfigValidationError) as info:
        run_tap({**config, "email_events_window_days": 120}, ["email_events"])
    assert any("120" in e and "90" in e for e in info.value.errors)


def test_synthetic_key_is_a_hash_of_message_event_date_and_email(sandbox, config):
    run = run_tap({**config, "start_date": "2026-10-01T00:00:00Z"}, ["email_events"])
    rec = run.records["email_events"][0]
    expected = hashlib.sha256(json.dumps([rec["messageId"], rec["event"], rec["date"], rec["email"].lower()],
                                         separators=(",", ":")).encode()).hexdigest()
    assert rec["event_key"] == expected
    # Same event, same key, even with the date printed in another offset; another event, another key.
    assert synthetic_key(rec["messageId"], rec["event"], rec["date"], rec["email"]) == rec["event_key"]
    others = [r for r in run.records["email_events"] if r["messageId"] == rec["messageId"] and r is not rec]
    assert others
    assert all(o["event_key"] != rec["event_key"] for o in others)
    again = run_tap({**config, "start_date": "2026-10-01T00:00:00Z"}, ["email_events"])
    assert [r["event_key"] for r in again.records["email_events"]] == [r["event_key"] for r in run.records["email_events"]]


def test_custom_events_are_incremental_on_event_date(sandbox, config, conformance):
    first = run_tap({**config, "start_date": "2026-01-01T00:00:00Z"}, ["custom_events"])
    events = first.records["custom_events"]
    assert events
    assert len({e["event_key"] for e in events}) == len(events)
    sandbox.sb.vendors["brevo"].db.events.append({
        "event_name": "video_played", "event_date": "2026-11-30T01:00:00+01:00", "contact_id": 1,
        "event_properties": {"title": "x"}})
    second = run_tap({**config, "start_date": "2026-01-01T00:00:00Z"}, ["custom_events"], state=first.state)
    names = [(e["event_name"], e["event_date"]) for e in second.records["custom_events"]]
    assert ("video_played", "2026-11-30T00:00:00.000Z") in names
    assert len(names) < len(events)
