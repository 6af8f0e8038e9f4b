"""Rate limits with each vendor's headers, and every kind of injected fault."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.pytest_plugin import AUTH_HEADERS

HEADERS = {v: {k: x.format(key="sandbox-key") for k, x in h.items()} for v, h in AUTH_HEADERS.items()}
# One paginated list endpoint per vendor (the first slice).
LISTS = {"klaviyo": "/api/profiles", "braze": "/campaigns/list", "iterable": "/campaigns", "brevo": "/contacts"}


def _until_429(http, url, headers, params=None, limit=2000):
    for n in range(1, limit):
        r = http.get(url, headers=headers, params=params)
        if r.status_code == 429:
            return n, r
    raise AssertionError("never rate limited")


def test_brevo_contacts_bucket_is_10_per_second_with_sib_headers(make_sandbox, http, conformance):
    sb = make_sandbox(vendors="brevo", rate_limits="on")
    conformance.attach(sb)
    r = http.get(sb.urls["brevo"] + "/contacts", headers=HEADERS["brevo"], params={"limit": 1})
    assert r.headers["x-sib-ratelimit-limit"] == "36000"
    # Start of a fresh one-second window so the count is exact.
    time.sleep(1 - time.time() % 1 + 0.01)
    n, r = _until_429(http, sb.urls["brevo"] + "/contacts", HEADERS["brevo"], {"limit": 1})
    assert n == 11
    assert r.json() == {"code": "too_many_requests", "message": "Too many requests"}
    assert r.headers["x-sib-ratelimit-limit"] == "10"
    assert r.headers["x-sib-ratelimit-remaining"] == "0"
    assert 0 <= int(r.headers["x-sib-ratelimit-reset"]) <= 1  # seconds to wait, not an epoch
    assert sb.stats()["rate_limited"] == {"brevo": 1}


def test_klaviyo_burst_429_has_retry_after_and_no_ratelimit_headers(make_sandbox, http):
    sb = make_sandbox(vendors="klaviyo", rate_limits="on")
    time.sleep(1 - time.time() % 1 + 0.01)
    n, r = _until_429(http, sb.urls["klaviyo"] + "/api/profiles", HEADERS["klaviyo"], {"page[size]": 1})
    assert n == 76  # L tier: 75 per second
    assert r.json()["errors"][0]["code"] == "throttled"
    assert 0 <= int(r.headers["Retry-After"]) <= 1
    assert "RateLimit-Limit" not in r.headers


def test_braze_reset_header_is_an_epoch(make_sandbox, http):
    sb = make_sandbox(vendors="braze", rate_limits="on")
    r = http.get(sb.urls["braze"] + "/campaigns/list", headers=HEADERS["braze"])
    reset = float(r.headers["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 3600
    assert r.headers["X-RateLimit-Limit"] == "250000"


def test_fast_mode_shrinks_windows_but_keeps_counts(make_sandbox, http):
    sb = make_sandbox(vendors="brevo", rate_limits="fast")
    r = http.get(sb.urls["brevo"] + "/contacts", headers=HEADERS["brevo"])
    assert r.headers["x-sib-ratelimit-limit"] == "36000"
    assert float(r.headers["x-sib-ratelimit-reset"]) <= 6.0  # an hour / 600


@pytest.mark.parametrize("vendor", list(LISTS))
def test_status_fault_uses_the_vendor_error_body(sandbox, http, vendor):
    sandbox.faults("503#1")
    r = http.get(sandbox.urls[vendor] + LISTS[vendor], headers=HEADERS[vendor])
    assert r.status_code == 503
    body = r.json()
    assert {"klaviyo": "errors", "braze": "message", "iterable": "code", "brevo": "code"}[vendor] in body
    assert http.get(sandbox.urls[vendor] + LISTS[vendor], headers=HEADERS[vendor]).status_code == 200


def test_ratelimit_fault_is_the_vendors_real_429(sandbox, http):
    sandbox.faults("ratelimit#2~^/brevo/")
    r = http.get(sandbox.urls["brevo"] + "/contacts", headers=HEADERS["brevo"])
    assert r.status_code == 429
    assert "x-sib-ratelimit-reset" in r.headers
    assert http.get(sandbox.urls["braze"] + "/campaigns/list", headers=HEADERS["braze"]).status_code == 200
    r = http.get(sandbox.urls["brevo"] + "/contacts", headers=HEADERS["brevo"])
    assert r.status_code == 429
    assert http.get(sandbox.urls["brevo"] + "/contacts", headers=HEADERS["brevo"]).status_code == 200


def test_connection_reset_truncation_invalid_json_and_slow(sandbox, http):
    url = sandbox.urls["brevo"] + "/contacts"
    sandbox.faults("reset#1")
    with pytest.raises(requests.ConnectionError):
        http.get(url, headers=HEADERS["brevo"])
    sandbox.faults("truncate#1")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError, ValueError)):
        http.get(url, headers=HEADERS["brevo"]).json()
    sandbox.faults("invalid_json#1")
    r = http.get(url, headers=HEADERS["brevo"])
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    sandbox.faults("slow:0.4#1")
    t0 = time.monotonic()
    assert http.get(url, headers=HEADERS["brevo"]).status_code == 200
    assert time.monotonic() - t0 >= 0.4
    faults = sandbox.stats()["faults"]
    assert faults["by_kind"] == {"reset": 1, "truncate": 1, "invalid_json": 1, "slow": 1}


def test_probabilistic_faults_are_seeded_and_logged(sandbox, http, caplog):
    sandbox.faults("500@0.3+5")
    statuses = [http.get(sandbox.urls["iterable"] + "/campaigns", headers=HEADERS["iterable"]).status_code
                for _ in range(65)]
    assert statuses[:5] == [200] * 5  # +5 lets five through first
    failures = statuses.count(500)
    assert 8 <= failures <= 30
    assert sandbox.stats()["faults"]["by_kind"] == {"500": failures}
    assert sum("injected fault 500" in r.getMessage() for r in caplog.records) == failures


def test_bad_fault_spec_is_refused():
    from sandbox.faults import parse_spec

    with pytest.raises(ValueError, match="cannot parse"):
        parse_spec("explode@@1")
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_spec("melt#1")
