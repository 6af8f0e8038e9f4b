"""Behaviour against the sandbox: resume, future events, channels, retries, errors, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
import requests

from tap_klaviyo.client import ENDPOINTS

UTC = timezone.utc


def test_profiles_rerun_with_state_reads_only_newer_records(sandbox, conformance, tap_config, run):
    first = run(tap_config, ["profiles"])
    assert len(first["records"]["profiles"]) == sandbox.sb.scale["profiles"]
    mark = first["state"]["bookmarks"]["profiles"]["replication_key_value"]
    assert all(r["updated"] <= mark for r in first["records"]["profiles"])
    sandbox.advance(days=1)  # new sign-ups and profile changes become visible
    second = run(tap_config, ["profiles"], state=first["state"])
    again = second["records"]["profiles"]
    assert again, "profiles changed after the anchor must be picked up"
    assert all(r["updated"] >= mark for r in again)  # >=: the bookmark's second is read again
    assert len([r for r in again if r["updated"] == mark]) <= 1
    assert len(again) < len(first["records"]["profiles"])
    assert second["state"]["bookmarks"]["profiles"]["replication_key_value"] > mark


def test_events_resume_and_join_metric_and_profile(sandbox, conformance, tap_config, run):
    first = run(tap_config, ["events", "metrics"])
    events = first["records"]["events"]
    metrics = {m["id"]: m["name"] for m in first["records"]["metrics"]}
    assert events
    assert all(metrics[e["metric_id"]] == e["metric_name"] for e in events)
    assert {"Placed Order", "Viewed Product", "Opened Email"} <= {e["metric_name"] for e in events}
    assert all(e["profile_id"] for e in events)
    assert any(e["profile_email"] for e in events)
    mark = first["state"]["bookmarks"]["events"]["replication_key_value"]
    sandbox.advance(days=2)
    second = run(tap_config, ["events"], state=first["state"])
    new = second["records"]["events"]
    assert new
    assert all(e["datetime"] >= mark for e in new)
    assert len({e["id"] for e in new} & {e["id"] for e in events}) <= 1


def test_future_dated_events_never_push_the_bookmark_past_now(sandbox, conformance, tap_config, run):
    # The sandbox holds events dated years ahead (clients with wrong clocks).
    r = requests.get(sandbox.urls["klaviyo"] + "/api/events", headers=sandbox.headers("klaviyo"),
                     params={"filter": "greater-than(datetime,2027-06-01T00:00:00Z)"}, timeout=10)
    assert r.json()["data"], "the sandbox should hold future-dated events"
    before = datetime.now(UTC).isoformat()
    out = run(tap_config, ["events"])
    after = datetime.now(UTC).isoformat()
    assert out["records"]["events"]
    assert all(e["datetime"] < after for e in out["records"]["events"])
    assert out["state"]["bookmarks"]["events"]["replication_key_value"] <= before


def test_campaigns_cover_every_channel_and_archived(sandbox, conformance, tap_config, run):
    out = run(tap_config, ["campaigns", "campaign_messages"])
    campaigns = out["records"]["campaigns"]
    assert len(campaigns) == sandbox.sb.scale["campaigns"]
    assert {c["channel"] for c in campaigns} == {"email", "sms", "mobile_push"}
    assert any(c["archived"] for c in campaigns)
    assert {m["campaign_id"] for m in out["records"]["campaign_messages"]} == {c["id"] for c in campaigns}
    # JSON:API flattened: to-many relationships become id lists, attributes stay nested objects.
    assert all(c["campaign_message_ids"] and c["tag_ids"] for c in campaigns)
    assert {i for c in campaigns for i in c["campaign_message_ids"]} == {m["id"] for m in out["records"]["campaign_messages"]}
    assert all(isinstance(c["audiences"], dict) and isinstance(c["send_strategy"], dict) for c in campaigns)


def test_next_links_are_followed_verbatim(sandbox, conformance, tap_config, run):
    seen = []
    sandbox.sb.observers.append(seen.append)
    try:
        run({**tap_config, "page_sizes": {"profiles": 7}}, ["profiles"])
    finally:
        sandbox.sb.observers.pop()
    pages = [ex for ex in seen if ex.path in {"/api/profiles/", "/api/profiles"}]
    assert len(pages) == -(-sandbox.sb.scale["profiles"] // 7)
    assert all(len(ex.query.get("filter", [])) == 1 for ex in pages)  # never a second filter


def test_members_point_at_real_profiles(sandbox, conformance, tap_config, run):
    out = run(tap_config, ["profiles", "list_members", "segment_members"])
    ids = {p["id"] for p in out["records"]["profiles"]}
    members = out["records"]["list_members"]
    assert members
    assert all(m["profile_id"] in ids and m["list_id"] and m["joined_group_at"] for m in members)
    assert all(m["profile_id"] in ids and m["segment_id"] for m in out["records"]["segment_members"])
    assert len({(m["list_id"], m["profile_id"]) for m in members}) == len(members)
    profile = out["records"]["profiles"][0]
    assert isinstance(profile["location"], dict)
    assert isinstance(profile["properties"], dict)
    assert "subscriptions" in profile


def test_429_waits_for_retry_after_then_succeeds(sandbox, conformance, tap_config, run):
    sandbox.rate_limits("fast")
    sandbox.faults("ratelimit#2~^/klaviyo/api/metrics")
    t0 = time.monotonic()
    out = run(tap_config, ["metrics"])
    assert len(out["records"]["metrics"]) == 12
    assert sandbox.stats()["rate_limited"]["klaviyo"] == 2
    assert time.monotonic() - t0 >= 0.1  # two Retry-After waits of ~0.1 s (fast mode)


def test_5xx_and_connection_resets_are_retried(sandbox, conformance, tap_config, run):
    sandbox.faults("503#2~^/klaviyo/api/tags,reset#1~^/klaviyo/api/tag-groups,truncate#1~^/klaviyo/api/coupons")
    out = run(tap_config, ["tags", "tag_groups", "coupons"])
    assert len(out["records"]["tags"]) == 6
    assert len(out["records"]["tag_groups"]) == 2
    assert len(out["records"]["coupons"]) == 3


def test_pacing_keeps_a_small_tier_free_of_429s(make_sandbox, conformance, run):
    # Tags and tag groups are tier S (3/s burst): 12 calls unpaced would draw 429s.
    sb = make_sandbox(vendors="klaviyo", rate_limits="on")
    conformance.attach(sb)
    config = {"private_api_key": sb.api_key, "api_url": sb.urls["klaviyo"], "page_sizes": {"tags": 1}}
    t0 = time.monotonic()
    out = run(config, ["tags"])
    assert len(out["records"]["tags"]) == 6
    assert sb.stats()["rate_limited"].get("klaviyo", 0) == 0
    assert time.monotonic() - t0 >= 1.0  # 6 calls at 3/s


def _cli(config: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    path = f"/tmp/tap-klaviyo-test-{time.monotonic_ns()}.json"
    with open(path, "w") as fh:
        json.dump(config, fh)
    return subprocess.run([sys.executable, "-m", "tap_klaviyo", "--config", path, *args],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


def test_wrong_key_is_a_clear_401(sandbox, tap_config):
    p = _cli({**tap_config, "private_api_key": "pk_wrong_secret_123"})
    assert p.returncode != 0
    assert "HTTP 401" in p.stderr
    assert "private_api_key" in p.stderr
    assert "pk_wrong_secret_123" not in p.stderr + p.stdout


def test_missing_scope_names_the_scope(sandbox, tap_config, run):
    config = {**tap_config, "private_api_key": sandbox.api_key + "-profiles-only"}
    with pytest.raises(Exception, match=r"events:read") as err:
        run(config, ["events"])
    assert "HTTP 403" in str(err.value)
    assert sandbox.api_key + "-profiles-only" not in str(err.value)


def test_retired_revision_is_a_clear_error(sandbox, tap_config, run):
    with pytest.raises(Exception, match=r"api_revision '2023-02-22'"):
        run({**tap_config, "api_revision": "2023-02-22"}, ["metrics"])


@pytest.mark.parametrize(("key", "url"), [("api_url", "http://a.klaviyo.com"),
                                          ("oauth_token_url", "http://auth.example.com/oauth/token")])
def test_plain_http_to_a_remote_host_is_refused_in_one_line(key, url):
    p = _cli({"private_api_key": "x", key: url}, "--discover")
    assert p.returncode == 1
    assert f"{key} must use https" in p.stderr
    assert "Traceback" not in p.stderr


def test_secrets_never_appear_in_output(make_sandbox):
    secret = "pk_live_s3cr3t_value_42"
    sb = make_sandbox(vendors="klaviyo", api_key=secret)
    config = {"private_api_key": secret, "api_url": sb.urls["klaviyo"], "start_date": "2026-11-01T00:00:00Z",
              "backoff_base_seconds": 0.01}
    sb.faults("503#1~^/klaviyo/api/metrics,ratelimit#1~^/klaviyo/api/tags")  # retries log too
    p = _cli(config, env={"LOGLEVEL": "DEBUG"})
    assert "DEBUG" in p.stderr
    assert p.returncode == 0, p.stderr[-2000:]
    assert '"type":"RECORD"' in p.stdout.replace(" ", "")
    assert secret not in p.stdout
    assert secret not in p.stderr
    about = _cli(config, "--about", "--format=json")
    assert secret not in about.stdout


def test_every_request_uses_its_spec_page_size(sandbox, conformance, tap_config, run):
    seen = []
    sandbox.sb.observers.append(seen.append)
    try:
        run(tap_config, ["profiles", "events", "lists", "templates"])
    finally:
        sandbox.sb.observers.pop()
    for stream in ("profiles", "events", "lists", "templates"):
        path = ENDPOINTS[stream]["path"]
        sizes = {int(ex.query["page[size]"][0]) for ex in seen if ex.path.rstrip("/") == path}
        assert sizes == {ENDPOINTS[stream]["page_size"]["maximum"]}, stream


def test_metric_aggregates_are_opt_in_and_paced(sandbox, conformance, tap_config, run):
    metrics = run(tap_config, ["metrics"])["records"]["metrics"]
    placed = next(m["id"] for m in metrics if m["name"] == "Placed Order")
    config = {**tap_config, "start_date": "2026-09-01T00:00:00Z", "metric_aggregates_window_days": 365,
              "metric_aggregates": [{"metric_id": placed, "measurements": ["count", "sum_value"],
                                     "interval": "week", "by": ["$message"]}]}
    out = run(config, ["metric_aggregates"])
    rows = out["records"]["metric_aggregates"]
    assert rows
    assert all(r["metric_id"] == placed and r["interval"] == "week" for r in rows)
    assert {"count", "sum_value"} <= set(rows[0]["measurements"])
    assert len({(r["date"], r["dimension_key"]) for r in rows}) == len(rows)
    assert sum(r["measurements"]["count"] for r in rows) > 0
    seen = []
    sandbox.sb.observers.append(seen.append)
    try:
        assert run(tap_config, ["metric_aggregates"])["records"]["metric_aggregates"] == []
    finally:
        sandbox.sb.observers.pop()
    assert seen == []  # no query configured: not a single call to the 3/s endpoint


def test_oauth_refresh_token_flow(sandbox, conformance, tap_config, run):
    config = {k: v for k, v in tap_config.items() if k != "private_api_key"}
    config |= {"refresh_token": sandbox.api_key + "-refresh", "client_id": "cid", "client_secret": "csecret"}
    out = run(config, ["metrics", "tags"])
    assert len(out["records"]["metrics"]) == 12
    assert len(out["records"]["tags"]) == 6
    calls = sandbox.requests("klaviyo")
    assert sum(n for key, statuses in calls.items() if "oauth" in key for n in statuses.values()) == 1
    assert "csecret" not in out["stdout"]
    assert "-refresh" not in out["stdout"]


def test_oauth_access_token_is_sent_as_bearer(sandbox, conformance, tap_config, run):
    config = {k: v for k, v in tap_config.items() if k != "private_api_key"} | {"access_token": sandbox.api_key}
    assert len(run(config, ["metrics"])["records"]["metrics"]) == 12


def test_interrupted_sync_resumes_from_the_last_state(sandbox, conformance, tap_config, run):
    # The third page of profiles fails for good: the state emitted so far must resume the rest.
    sandbox.faults("400#1+2~^/klaviyo/api/profiles")
    config = {**tap_config, "page_sizes": {"profiles": 10}, "state_message_frequency": 10}
    first = run(config, ["profiles"], allow_failure=True)
    assert "HTTP 400" in str(first["error"])
    partial = first["records"]["profiles"]
    assert len(partial) == 20
    # The state emitted before the failure is what Meltano would have saved.
    assert first["state"]["bookmarks"]["profiles"]["replication_key_value"] == max(r["updated"] for r in partial)
    state = first["state"]
    rest = run(config, ["profiles"], state=state)["records"]["profiles"]
    assert {r["id"] for r in partial} | {r["id"] for r in rest} == {
        r["id"] for r in run(config, ["profiles"])["records"]["profiles"]}
    overlap = {r["id"] for r in partial} & {r["id"] for r in rest}
    assert {r["updated"] for r in partial if r["id"] in overlap} <= {state["bookmarks"]["profiles"]["replication_key_value"]}


def test_metric_ids_give_one_bookmark_per_metric(sandbox, conformance, tap_config, run):
    metrics = run(tap_config, ["metrics"])["records"]["metrics"]
    wanted = {m["id"]: m["name"] for m in metrics if m["name"] in ("Placed Order", "Clicked Email")}
    out = run({**tap_config, "metric_ids": sorted(wanted)}, ["events"])
    events = out["records"]["events"]
    assert events
    assert {e["metric_id"] for e in events} == set(wanted)
    parts = out["state"]["bookmarks"]["events"]["partitions"]
    assert {p["context"]["metric_id"] for p in parts} == set(wanted)
    assert all(p["replication_key_value"] for p in parts)


def test_lookback_rereads_recent_events_and_end_date_bounds_the_window(sandbox, conformance, tap_config, run):
    first = run({**tap_config, "end_date": "2026-11-01T00:00:00Z"}, ["events"])
    assert all(e["datetime"] < "2026-11-01" for e in first["records"]["events"])
    mark = first["state"]["bookmarks"]["events"]["replication_key_value"]
    again = run({**tap_config, "lookback_window_minutes": 7 * 24 * 60}, ["events"], state=first["state"])
    times = [e["datetime"] for e in again["records"]["events"]]
    assert min(times) < mark  # a week before the bookmark is read again (late events)
    assert max(times) > "2026-11-01"


def test_predictive_analytics_is_opt_in_and_paced_slower(sandbox, conformance, tap_config, run):
    from tap_klaviyo.tap import TapKlaviyo

    plain = TapKlaviyo(config=tap_config).streams["profiles"]
    assert (plain.pacer.windows, plain.first_page_params(None)["additional-fields[profile]"]) == (
        ((1.0, 75), (60.0, 750)), "subscriptions")
    config = {**tap_config, "profiles_additional_fields": ["subscriptions", "predictive_analytics"]}
    slow = TapKlaviyo(config=config).streams["profiles"]
    assert slow.pacer.windows == ((1.0, 10), (60.0, 150))
    out = run(config, ["profiles"])
    assert all("predictive_analytics" in p for p in out["records"]["profiles"])


def test_unpaced_burst_gets_real_429s_and_recovers_with_retry_after(make_sandbox, conformance, run):
    sb = make_sandbox(vendors="klaviyo", rate_limits="on")
    conformance.attach(sb)
    config = {"private_api_key": sb.api_key, "api_url": sb.urls["klaviyo"], "page_sizes": {"tags": 1},
              "pace_requests": False}
    out = run(config, ["tags"])
    assert len(out["records"]["tags"]) == 6
    assert sb.stats()["rate_limited"]["klaviyo"] >= 1  # the sandbox's own 3/s window refused some
