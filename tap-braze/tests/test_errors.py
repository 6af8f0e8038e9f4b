"""403 permissions, 429 with X-RateLimit-Reset, pacing, URL validation and secrets."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time

import pytest
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError

from tap_braze.client import RATE_GROUPS, BrazeStream, Pacer
from tap_braze.tap import TapBraze, check_base_url


def test_403_names_the_permission_and_the_stream(sandbox, conformance, braze_config, run_tap):
    sandbox.sb.vendors["braze"].denied.add("/campaigns/list")
    with pytest.raises(FatalAPIError) as info:
        run_tap(braze_config, ["campaigns"])
    text = str(info.value)
    assert "'campaigns'" in text
    assert "campaigns.list" in text
    assert "Access Denied" in text


def test_skip_forbidden_streams_warns_and_goes_on(sandbox, conformance, braze_config, run_tap):
    braze = sandbox.sb.vendors["braze"]
    braze.denied.update({"/catalogs/{catalog_name}/items", "/segments/list"})
    run = run_tap({**braze_config, "skip_forbidden_streams": True},
                  ["catalogs", "catalog_items", "segment_data_series", "kpi_dau"])
    assert len(run.records("catalogs")) == 2
    assert run.records("catalog_items") == []
    assert run.records("segment_data_series") == []
    assert len(run.records("kpi_dau")) == 30
    assert "catalogs.get_items" in run.log
    assert "segments.list" in run.log
    assert "Skipping" in run.log
    assert sandbox.requests("braze")["GET /catalogs/{catalog_name}/items"] == {"403": 1}  # not once per catalog


def test_429_waits_until_the_reset_epoch(sandbox, conformance, braze_config, run_tap, monkeypatch):
    waits: list[float] = []
    original = BrazeStream.retry_wait

    def spy(self, exc, attempt):
        value = original(self, exc, attempt)
        waits.append(value)
        return value

    monkeypatch.setattr(BrazeStream, "retry_wait", spy)
    sandbox.faults("ratelimit#1~^/braze/catalogs$")  # a real Braze 429: headers, no Retry-After
    started = time.monotonic()
    run = run_tap(braze_config, ["catalogs"])
    assert len(run.records("catalogs")) == 2
    assert len(waits) == 1
    assert 1.0 < waits[0] <= 3.1
    assert time.monotonic() - started >= waits[0] - 0.05
    assert sandbox.requests("braze")["GET /catalogs"] == {"429": 1, "200": 1}


def test_pacer_waits_when_the_server_says_nothing_is_left():
    slept: list[float] = []
    pacer = Pacer({"default": (1000, 3600.0), "catalogs": (2, 60.0)}, sleep=slept.append)
    pacer.observe("default", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": f"{time.time() + 5:.3f}"})
    pacer.wait("default")
    assert slept
    assert 4.5 < slept[0] <= 5.01
    slept.clear()
    pacer.wait("catalogs")
    pacer.wait("catalogs")
    assert slept == []
    pacer.wait("catalogs")  # the third in one window waits for the next one
    assert len(slept) == 1
    assert 0 < slept[0] <= 60


def test_paces_against_real_windows_in_fast_mode(make_sandbox, conformance, run_tap, monkeypatch):
    sb = make_sandbox(vendors="braze", rate_limits="fast")  # catalogs: 50 per 0.1 s
    monkeypatch.setitem(RATE_GROUPS, "catalogs", (50, 0.1))  # the tap's budget, scaled the same way
    conformance.attach(sb)
    config = {"api_key": sb.api_key, "instance_url": sb.urls["braze"], "start_date": "2026-11-01T00:00:00Z"}
    sb.sb.vendors["braze"].catalog_sizes["products"] = 50 * 60  # 60 pages
    run = run_tap(config, ["catalogs", "catalog_items"])
    assert len(run.records("catalog_items")) == 50 * 60 + 5
    assert sb.stats()["rate_limited"].get("braze", 0) <= 2  # paced by the headers, not by 429s


@pytest.mark.parametrize(("url", "ok"), [
    ("https://rest.iad-01.braze.com", True), ("https://rest.fra-02.braze.eu/", True),
    ("https://rest.jp-01.braze.com", True), ("https://proxy.example.com/braze", True),
    ("http://127.0.0.1:8765/braze", True), ("http://localhost:1/braze", True), ("http://[::1]:1/braze", True),
    ("http://rest.iad-01.braze.com", False), ("ftp://rest.iad-01.braze.com", False), ("rest.iad-01.braze.com", False),
])
def test_instance_url_validation(url, ok):
    if ok:
        assert check_base_url(url)[0] == url.rstrip("/")
    else:
        with pytest.raises(ValueError, match="instance_url"):
            check_base_url(url)


def test_api_url_alias_and_clean_cli_error(tmp_path, sandbox):
    tap = TapBraze(config={"api_key": "k", "api_url": sandbox.urls["braze"]})
    assert tap.base_url == sandbox.urls["braze"]
    with pytest.raises(ConfigValidationError):
        TapBraze(config={"api_key": "k", "instance_url": "http://rest.iad-01.braze.com"})
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"api_key": "k", "instance_url": "http://example.com/braze"}))
    proc = subprocess.run([sys.executable, "-m", "tap_braze.tap", "--config", str(cfg), "--discover"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "must use https" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_key_never_appears_in_output_or_logs(sandbox, conformance, braze_config, run_tap, caplog):
    secret = "sk-very-secret-7731"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FatalAPIError) as info:
        run_tap({**braze_config, "api_key": secret}, ["campaigns"])
    assert "401" in str(info.value)
    assert secret not in str(info.value)
    sandbox.sb.api_key = secret  # now the key is valid: a full run at DEBUG level
    try:
        run = run_tap({**braze_config, "api_key": secret, "user_export_segment_ids": [
            sandbox.sb.vendors["braze"].segments[3]["id"]]}, ["users", "campaigns", "kpi_dau"])
    finally:
        sandbox.sb.api_key = "sandbox-key"
    assert run.records("users")
    assert run.records("campaigns")
    everything = json.dumps(run.messages) + run.log + caplog.text
    assert secret not in everything


def _response(status: int, headers: dict[str, str]):
    import requests

    resp = requests.Response()
    resp.status_code, resp.headers = status, requests.structures.CaseInsensitiveDict(headers)
    return resp


def test_retry_wait_reads_the_reset_only_for_a_spent_budget():
    stream = TapBraze(config={"api_key": "k", "instance_url": "http://127.0.0.1:1/braze"}).streams["campaigns"]
    reset = f"{time.time() + 30:.0f}"
    spent = _response(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    assert 28 < stream.retry_wait(RetriableAPIError("x", spent), 1) <= 31
    busy = _response(429, {"X-RateLimit-Remaining": "249000", "X-RateLimit-Reset": reset})  # a running export
    assert stream.retry_wait(RetriableAPIError("x", busy), 1) < 3.1
    assert 8 <= stream.retry_wait(RetriableAPIError("x", _response(503, {})), 3) < 9.1  # 2 s * 2**2 + jitter


def test_5xx_resets_and_truncated_bodies_are_retried(sandbox, conformance, braze_config, run_tap, monkeypatch):
    monkeypatch.setattr(BrazeStream, "retry_base", 0.05)
    sandbox.faults("503#1~^/braze/segments/list,truncate#1~^/braze/segments/list,reset#1~^/braze/segments/list")
    run = run_tap(braze_config, ["segments"])
    assert len(run.records("segments")) == len(sandbox.sb.vendors["braze"].segments)
    assert sandbox.stats()["faults"]["total"] == 3


def test_other_4xx_are_not_retried(sandbox, conformance, braze_config, run_tap):
    sandbox.faults("400#5~^/braze/catalogs$")
    with pytest.raises(FatalAPIError, match="Stream 'catalogs': 400"):
        run_tap(braze_config, ["catalogs"])
    assert sandbox.requests("braze")["GET /catalogs"] == {"400": 1}


def test_rate_limit_budgets_are_configurable():
    tap = TapBraze(config={"api_key": "k", "instance_url": "https://rest.fra-01.braze.eu",
                           "users_export_ids_per_minute": 2500,
                           "rate_limits": {"events": {"limit": 5, "seconds": 10}}})
    assert tap.pacer.limits["events"] == (5, 10.0)
    assert tap.pacer.limits["export_ids"] == (2500, 60.0)
    assert tap.streams["purchases_revenue_series"].rate_group == "events"  # UNVERIFIED limit: the stricter one
    with pytest.raises(ConfigValidationError):
        TapBraze(config={"api_key": "k", "instance_url": "https://rest.fra-01.braze.eu",
                         "rate_limits": {"events": {"limit": "many"}}})
