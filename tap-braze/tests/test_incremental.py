"""Bookmarks: campaigns resume on last_edited, details only for moved parents, series lookback."""

from __future__ import annotations


def test_campaigns_resume_from_bookmark_and_details_follow_edits(sandbox, conformance, braze_config, run_tap):
    config = {**braze_config, "start_date": "2025-01-01T00:00:00Z"}
    first = run_tap(config, ["campaigns", "campaign_details"])
    campaigns = sandbox.sb.vendors["braze"].campaigns
    assert len(first.records("campaigns")) == len(campaigns)
    assert len(first.records("campaign_details")) == len(campaigns)
    assert all(d["campaign_id"] for d in first.records("campaign_details"))
    bookmark = first.state["bookmarks"]["campaigns"]["replication_key_value"]

    again = run_tap(config, ["campaigns", "campaign_details"], state=first.state)
    assert again.records("campaigns") == []  # nothing edited since the bookmark
    assert again.records("campaign_details") == []  # unchanged parents are not re-read

    sandbox.advance(days=1)  # edits campaigns 0 and 1
    third = run_tap(config, ["campaigns", "campaign_details"], state=first.state)
    edited = {campaigns[0]["id"], campaigns[1]["id"]}
    assert {c["id"] for c in third.records("campaigns")} == edited
    assert all(c["last_edited"] > bookmark for c in third.records("campaigns"))
    assert {d["campaign_id"] for d in third.records("campaign_details")} == edited
    assert sandbox.requests("braze")["GET /campaigns/details"]["200"] == len(campaigns) + 2


def test_data_series_reread_the_lookback_window(sandbox, conformance, braze_config, run_tap):
    config = {**braze_config, "start_date": "2026-11-01T00:00:00Z", "analytics_lookback_days": 3}
    first = run_tap(config, ["kpi_dau", "segment_data_series"])
    days = [r["time"] for r in first.records("kpi_dau")]
    assert days[0] == "2026-11-01"
    assert days[-1] == "2026-11-30"
    assert len(days) == 30
    assert first.state["bookmarks"]["kpi_dau"]["replication_key_value"] == "2026-11-30"
    partitions = first.state["bookmarks"]["segment_data_series"]["partitions"]
    # The segment without analytics tracking is not asked for (Braze refuses it).
    assert len(partitions) == len(sandbox.sb.vendors["braze"].segments) - 1

    second = run_tap(config, ["kpi_dau", "segment_data_series"], state=first.state)
    assert [r["time"] for r in second.records("kpi_dau")] == ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
    assert min(r["time"] for r in second.records("segment_data_series")) == "2026-11-27"


def test_canvas_series_use_14_day_windows_with_breakdowns(sandbox, conformance, braze_config, run_tap):
    run = run_tap({**braze_config, "start_date": "2026-10-01T00:00:00Z"}, ["canvas_data_series"])
    rows = run.records("canvas_data_series")
    assert rows
    assert all("step_stats" in r and "variant_stats" in r for r in rows)
    canvases = len(sandbox.sb.vendors["braze"].canvases)
    assert len(rows) == canvases * 61  # 2026-10-01 .. 2026-11-30
    calls = sandbox.requests("braze")["GET /canvas/data_series"]["200"]
    assert calls >= canvases * 5  # 61+ days in windows of 14


def test_email_state_dates_are_normalised(sandbox, conformance, braze_config, run_tap):
    run = run_tap({**braze_config, "start_date": "2025-12-01T00:00:00Z"}, ["hard_bounces", "unsubscribes"])
    bounces = run.records("hard_bounces")
    assert bounces
    assert all("T" in b["hard_bounced_at"] and b["hard_bounced_at"].endswith("+00:00") for b in bounces)
    assert run.records("unsubscribes")
    assert run.state["bookmarks"]["hard_bounces"]["replication_key_value"]


def test_lookback_picks_up_restated_conversions(sandbox, conformance, braze_config, run_tap):
    config = {**braze_config, "start_date": "2026-11-20T00:00:00Z", "analytics_lookback_days": 5}
    first = run_tap(config, ["campaign_data_series"])
    before = {(r["campaign_id"], r["time"]): r["conversions"] for r in first.records("campaign_data_series")}
    sandbox.advance(days=4)  # four more days of data; recent days' conversions get attributed
    second = run_tap(config, ["campaign_data_series"], state=first.state)
    after = second.records("campaign_data_series")
    assert min(r["time"] for r in after) == "2026-11-25"  # bookmark 11-30 minus 5 days
    assert max(r["time"] for r in after) == "2026-12-04"
    reread = [(r["campaign_id"], r["time"]) for r in after if (r["campaign_id"], r["time"]) in before]
    assert reread
    assert any(next(r["conversions"] for r in after if (r["campaign_id"], r["time"]) == key) > before[key]
               for key in reread)


def test_a_refused_segment_series_is_skipped_not_fatal(sandbox, conformance, braze_config, run_tap, monkeypatch):
    from tap_braze.streams import SegmentDataSeriesStream

    monkeypatch.setattr(SegmentDataSeriesStream, "keep", lambda self, item: True)  # ask for every segment
    run = run_tap({**braze_config, "start_date": "2026-11-25T00:00:00Z"}, ["segment_data_series"])
    segments = sandbox.sb.vendors["braze"].segments
    refused = segments[2]["id"]  # analytics tracking disabled
    got = {r["segment_id"] for r in run.records("segment_data_series")}
    assert got == {segments[i]["id"] for i in range(len(segments))} - {refused}
    assert f"Skipping segment {refused}" in run.log
