"""Pacing to Brevo's buckets (fast mode), 429 + x-sib-ratelimit-reset, retries of transient errors."""

from __future__ import annotations

import time

import pytest
import requests

from tap_brevo.client import Pacer
from tap_brevo.testing import run_tap

DEFAULT_BUCKET_STREAMS = ["email_campaigns", "sms_campaigns", "senders", "webhooks", "products", "categories",
                          "orders"]  # 8 requests, all in Brevo's 100/h bucket


def test_sync_that_would_exceed_the_100_per_hour_bucket_waits_instead_of_failing(make_sandbox, conformance):
    sb = make_sandbox(vendors="brevo", rate_limits="fast")  # an hour lasts 6 s, counts unchanged
    conformance.attach(sb)
    url, headers = sb.urls["brevo"] + "/senders", sb.headers("brevo")
    with requests.Session() as http:
        r = http.get(url, headers=headers)
        if float(r.headers["x-sib-ratelimit-reset"]) < 4.5:  # start early in a window (6 s long)
            time.sleep(float(r.headers["x-sib-ratelimit-reset"]) + 0.05)
            r = http.get(url, headers=headers)
        while int(r.headers["x-sib-ratelimit-remaining"]) > 3:  # another client used most of the hour
            r = http.get(url, headers=headers)
    assert r.headers["x-sib-ratelimit-limit"] == "100"
    assert "." in r.headers["x-sib-ratelimit-reset"]
    started = time.monotonic()
    run = run_tap({"api_key": sb.api_key, "api_url": sb.urls["brevo"], "rate_limit_plan": "general"},
                  DEFAULT_BUCKET_STREAMS)
    assert sb.stats()["rate_limited"] == {}  # paced: never refused
    assert time.monotonic() - started > 0.5
    assert "bucket default is used up" in run.log
    assert "Rate-limit usage: bucket default: 8 requests" in run.log
    assert len(run.records["webhooks"]) == 4
    assert run.records["orders"]
    assert run.records["email_campaigns"]


def test_429_waits_for_the_reset_header_then_retries(sandbox, config, conformance, monkeypatch):
    sandbox.faults("ratelimit#1~^/brevo/v3/emailCampaigns")
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    run = run_tap(config, ["email_campaigns"])
    assert len(run.records["email_campaigns"]) == len(sandbox.sb.vendors["brevo"].seeded.email_campaigns)
    assert waits
    assert waits[0] == pytest.approx(2.05, abs=0.01)
    assert "429 from Brevo (default bucket); waiting 2.05 s" in run.log
    assert sandbox.stats()["requests"]["brevo"]["GET /emailCampaigns"] == {"429": 1, "200": 1}


def test_fractional_reset_in_fast_mode_is_honoured(make_sandbox, conformance):
    sb = make_sandbox(vendors="brevo", rate_limits="fast", faults="ratelimit#1~^/brevo/v3/senders")
    conformance.attach(sb)
    run = run_tap({"api_key": sb.api_key, "api_url": sb.urls["brevo"], "rate_limit_plan": "general"}, ["senders"])
    assert len(run.records["senders"]) == 3
    # The injected 429's reset is "2.000" (fractional, as fast mode prints it): waited, then retried.
    assert "429 from Brevo (default bucket); waiting 2.05 s" in run.log
    assert sb.stats()["requests"]["brevo"]["GET /senders"] == {"429": 1, "200": 1}


def test_5xx_and_dropped_connections_are_retried(sandbox, config, conformance):
    sandbox.faults("503#2~^/brevo/v3/contacts/segments,reset#1~^/brevo/v3/senders,truncate#1~^/brevo/v3/smtp/templates")
    run = run_tap(config, ["segments", "senders", "smtp_templates"])
    assert len(run.records["segments"]) == 3
    assert len(run.records["senders"]) == 3
    assert len(run.records["smtp_templates"]) == 6


def test_other_4xx_fail_at_once_with_stream_and_brevo_message(sandbox, config):
    sandbox.faults("400#5~^/brevo/v3/senders")
    with pytest.raises(Exception, match=r"stream senders: HTTP 400 .*injected fault") as info:
        run_tap(config, ["senders"])
    assert sandbox.stats()["requests"]["brevo"]["GET /senders"] == {"400": 1}
    assert "sandbox-key" not in str(info.value)


def test_pacer_keeps_to_the_plan_budget_before_any_header():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    pacer = Pacer({"default": {"per_second": None, "per_hour": 3}, "contacts": {"per_second": 2, "per_hour": None}},
                  sleep=sleep, clock=lambda: now[0])
    for _ in range(4):
        pacer.before("default")
    assert slept == [3600.0]  # the 4th request of a 3/h budget waits for the oldest to leave the hour
    slept.clear()
    for _ in range(3):
        pacer.before("contacts")
    assert slept == [1.0]
    assert any("bucket default: 4 requests" in line for line in pacer.summary())


def test_plan_presets_and_overrides():
    from tap_brevo.client import pacer_for
    from tap_brevo.tap import TapBrevo

    base = {"api_key": "k", "api_url": "https://api.brevo.com/v3"}
    general = pacer_for(TapBrevo(config=base, parse_env_config=False)).buckets
    assert (general["default"].per_hour, general["smtp"].per_hour, general["contacts"].per_second) == (100, 300, 10)
    advanced = pacer_for(TapBrevo(config=base | {"rate_limit_plan": "advanced",
                                                 "rate_limits": {"default": {"per_hour": 150}}},
                                  parse_env_config=False)).buckets
    assert (advanced["default"].per_hour, advanced["smtp"].per_hour) == (150, 600)
    assert not pacer_for(TapBrevo(config=base | {"rate_limit_plan": "off"}, parse_env_config=False)).enabled
