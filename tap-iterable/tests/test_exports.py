"""Exports: windows, halving, resume mid-window, async jobs, pacing and 429s."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone

import requests

H = {"Api-Key": "sandbox-key"}


def _direct(sandbox, data_type, **params):
    r = requests.get(sandbox.urls["iterable"] + "/export/data.json", headers=H,
                     params={"dataTypeName": data_type, "range": "All", **params}, timeout=30)
    return [json.loads(x) for x in r.text.splitlines() if x]


def _ids(rows, key="messageId"):
    return sorted(r[key] for r in rows)


def test_windows_are_contiguous_in_iterable_format_with_a_state_after_each(sandbox, conformance, run, tap_config, exports):
    cfg = {**tap_config, "export_window_days": 90, "end_date": "2026-12-01T00:00:00Z"}
    out = run(cfg, ["email_send"])
    assert out["error"] is None
    assert _ids(out["records"]["email_send"]) == _ids(_direct(sandbox, "emailSend"))
    windows = [(q["startDateTime"], q["endDateTime"]) for q in exports]
    assert windows[0][0] == "2024-11-01 00:00:00"
    assert windows[-1][1] == "2026-12-01 00:00:00"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))  # end exclusive = next start
    bookmarks = [s["bookmarks"]["email_send"].get("replication_key_value") for s in out["states"]
                 if "email_send" in s.get("bookmarks", {})]
    ends = [datetime.strptime(w[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).isoformat() for w in windows]
    assert [b for b in ends if b in bookmarks] == ends  # one bookmark per window, in order
    assert out["state"]["bookmarks"]["email_send"]["replication_key_value"] == "2026-12-01T00:00:00+00:00"
    rec = out["records"]["email_send"][0]
    assert rec["event_type"] == "emailSend"
    assert rec["createdAt"].endswith("+00:00")
    assert "T" in rec["createdAt"]


def test_a_window_that_times_out_is_halved_until_it_passes(sandbox, conformance, run, tap_config, exports):
    sandbox.sb.vendors["iterable"].max_window_records = 10
    out = run({**tap_config, "export_window_days": 400, "export_window_floor_minutes": 60}, ["custom_event"])
    assert out["error"] is None
    sandbox.sb.vendors["iterable"].max_window_records = 10**6
    rows = _direct(sandbox, "customEvent")
    assert len(out["records"]["custom_event"]) == len(rows) > 10
    statuses = [q["status"] for q in exports]
    assert 504 in statuses
    assert statuses[-1] == 200
    assert {r["eventName"] for r in out["records"]["custom_event"]} >= {"addToCart", "pageView", "appOpen"}


def test_a_garbled_export_body_is_read_again_in_a_smaller_window(sandbox, conformance, run, tap_config, exports):
    sandbox.faults("invalid_json#1~/export/data.json")
    out = run(tap_config, ["email_send"])
    assert out["error"] is None
    assert _ids(out["records"]["email_send"]) == _ids(_direct(sandbox, "emailSend"))
    assert len(exports) >= 3  # the garbled window, then its two halves


def test_halving_stops_at_the_floor_with_a_clear_error(sandbox, conformance, run, tap_config, exports):
    sandbox.sb.vendors["iterable"].max_window_records = 0
    out = run({**tap_config, "export_window_days": 400, "export_window_floor_minutes": 60 * 24 * 50}, ["email_open"])
    message = str(out["error"])
    assert "still fails at the floor" in message
    assert "email_open" in message
    assert "504" in message
    assert "GenericError" in message
    assert len(exports) <= 5  # 400 → 200 → 100 → 50 days, then stop


def test_resume_from_the_window_that_was_interrupted(sandbox, conformance, run, tap_config, exports):
    cfg = {**tap_config, "export_window_days": 60, "max_retries": 1}
    sandbox.faults("reset#5+4~/export/data.json")  # the 5th window's request dies, and its retry
    first = run(cfg, ["purchase"])
    assert first["error"] is not None
    state = first["state"]
    resume_at = state["bookmarks"]["purchase"]["replication_key_value"]
    assert resume_at == exports[3]["endDateTime"].replace(" ", "T") + "+00:00"  # 4 windows done
    sandbox.faults("", replace=True)
    exports.clear()
    second = run(cfg, ["purchase"], state=state)
    assert second["error"] is None
    assert exports[0]["startDateTime"] == exports_start(resume_at)
    every = _ids(_direct(sandbox, "purchase"), "id")
    got = {r["id"] for r in first["records"]["purchase"]} | {r["id"] for r in second["records"]["purchase"]}
    assert sorted(got) == every
    assert all(r["createdAt"] >= resume_at for r in second["records"]["purchase"])


def exports_start(iso: str) -> str:
    return iso[:19].replace("T", " ")


def test_a_rerun_with_state_reads_only_newer_events(sandbox, conformance, run, tap_config):
    first = run(tap_config, ["email_open"])
    assert first["records"]["email_open"]
    sandbox.advance(days=20)
    cfg = {**tap_config, "end_date": "2026-12-20T00:00:00Z"}
    second = run(cfg, ["email_open"], state=first["state"])
    new = second["records"]["email_open"]
    before = first["records"]["email_open"]
    newest = max(r["createdAt"] for r in before)
    # the window that ended "now" bookmarks its newest record: the rerun starts there (inclusive)
    assert first["state"]["bookmarks"]["email_open"]["replication_key_value"] == newest
    assert any(r["createdAt"] >= "2026-12-01" for r in new)  # events the clock's advance created
    assert all(r["createdAt"] >= newest for r in new)
    again = {r["messageId"] for r in new} & {r["messageId"] for r in before}
    assert again == {r["messageId"] for r in before if r["createdAt"] == newest}


def test_async_mode_starts_jobs_polls_and_downloads_files(sandbox, conformance, run, tap_config):
    it = sandbox.sb.vendors["iterable"]
    it.job_seconds, it.file_records, it.files_page = 0.05, 4, 2
    seen: list[tuple[str, str]] = []
    sandbox.sb.observers.append(lambda ex: seen.append((ex.method, ex.path)))
    cfg = {**tap_config, "export_mode": "async", "async_window_days": 100, "async_max_jobs": 2,
           "end_date": "2026-12-01T00:00:00Z"}
    out = run(cfg, ["email_click"])
    assert out["error"] is None
    calls = list(seen)  # before the direct export below
    assert _ids(out["records"]["email_click"]) == _ids(_direct(sandbox, "emailClick"))
    starts = [i for i, c in enumerate(calls) if c == ("POST", "/api/export/start")]
    downloads = [i for i, c in enumerate(calls) if c[1].startswith("/export-files/")]
    assert len(starts) == 8  # 2024-11-01 to 2026-12-01 in 100-day jobs
    assert starts[2] > downloads[0]  # at most two jobs were open before the first was read
    assert not any(c[1] == "/api/export/data.json" for c in calls)
    assert out["state"]["bookmarks"]["email_click"]["replication_key_value"] == "2026-12-01T00:00:00+00:00"


def test_async_mode_refreshes_an_expired_download_link(sandbox, conformance, run, tap_config):
    it = sandbox.sb.vendors["iterable"]
    it.job_seconds = 0.02
    sandbox.faults("403#1~/export-files/")  # the first link has expired
    out = run({**tap_config, "export_mode": "async"}, ["push_open"])
    assert out["error"] is None
    assert _ids(out["records"]["push_open"]) == _ids(_direct(sandbox, "pushOpen"))
    assert sandbox.stats()["faults"]


def test_async_jobs_left_running_are_cancelled_on_failure(sandbox, conformance, run, tap_config):
    it = sandbox.sb.vendors["iterable"]
    it.job_seconds = 0.02
    sandbox.faults("404~/export-files/")
    out = run({**tap_config, "export_mode": "async", "async_window_days": 200}, ["sms_send"])
    assert out["error"] is not None
    cancelled = sandbox.requests("iterable").get("DELETE /api/export/{jobId}", {})
    assert cancelled.get("200", 0) >= 1


def test_429_is_retried_after_backing_off(sandbox, conformance, run, tap_config, exports):
    sandbox.faults("ratelimit#2~/export/data.json")
    out = run(tap_config, ["email_send"])
    assert out["error"] is None
    assert [q["status"] for q in exports][:3] == [429, 429, 200]
    assert len(out["records"]["email_send"]) == len(_direct(sandbox, "emailSend"))


def test_persistent_429_fails_showing_iterables_code(sandbox, conformance, run, tap_config):
    sandbox.faults("ratelimit~/export/data.json")
    out = run({**tap_config, "max_retries": 1}, ["email_send"])
    assert "RateLimitExceeded" in str(out["error"])


def test_pacing_keeps_under_the_export_limit(sandbox, conformance, run, tap_config, exports):
    sandbox.rate_limits("fast")  # 4 exports per 0.1 s
    try:
        limits = {**tap_config["rate_limits"], "export": 4 * 600 * 0.9}
        out = run({**tap_config, "rate_limits": limits, "export_window_days": 30}, ["email_send"])
    finally:
        sandbox.rate_limits("off")
    assert out["error"] is None
    assert len(exports) > 20
    assert sandbox.stats()["rate_limited"].get("iterable", 0) == 0


def test_user_export_keeps_identity_and_datafields_object(sandbox, conformance, run, tap_config):
    out = run(tap_config, ["users"])
    users = out["records"]["users"]
    assert len(users) == len(_direct(sandbox, "user"))
    assert all(u["userId"] for u in users)
    with_email = [u for u in users if u.get("email")]
    assert len(with_email) > len(users) / 2
    fields = users[0]["dataFields"]
    assert {"firstName", "plan_name", "lifecycle_stage"} <= set(fields) or "firstName" not in users[0]
    assert all(isinstance(u["dataFields"], dict) for u in users)
    dated = [u["dataFields"]["lastPurchaseDate"] for u in users if "lastPurchaseDate" in u["dataFields"]]
    assert dated
    assert all("T" in d for d in dated)
    assert out["state"]["bookmarks"]["users"]["replication_key"] == "profileUpdatedAt"


def test_user_fields_setting_sends_only_fields(sandbox, conformance, run, tap_config, exports):
    out = run({**tap_config, "user_fields": ["plan_name"]}, ["users"])
    assert {k for u in out["records"]["users"] for k in u["dataFields"]} == {"plan_name"}
    assert exports[0]["onlyFields"] == ["email", "userId", "signupDate", "profileUpdatedAt", "plan_name"]
