"""Iterable's fake: exports (sync stream and async jobs), text and CSV endpoints, limits, errors."""

from __future__ import annotations

import json
import time

import pytest

H = {"Api-Key": "sandbox-key"}


@pytest.fixture
def limits_on(sandbox):
    """Real windows for one test (the session sandbox's reset keeps the rate-limit mode)."""
    sandbox.rate_limits("on")
    yield sandbox
    sandbox.rate_limits("off")


def _lines(r):
    return [json.loads(x) for x in r.text.splitlines() if x]


def test_export_window_is_start_inclusive_end_exclusive(sandbox, http, conformance):
    url = sandbox.urls["iterable"] + "/export/data.json"
    rows = _lines(http.get(url, headers=H, params={"dataTypeName": "emailSend", "range": "All"}))
    assert len(rows) > 5
    assert [r["createdAt"] for r in rows] == sorted(r["createdAt"] for r in rows)
    pivot = rows[3]["createdAt"][:19]  # "yyyy-MM-dd HH:mm:ss"
    before = _lines(http.get(url, headers=H, params={"dataTypeName": "emailSend", "startDateTime": "2020-01-01 00:00:00",
                                                      "endDateTime": pivot}))
    after = _lines(http.get(url, headers=H, params={"dataTypeName": "emailSend", "startDateTime": pivot,
                                                     "endDateTime": "2030-01-01 00:00:00"}))
    assert before + after == rows
    assert after[0]["createdAt"][:19] == pivot


def test_export_streams_chunked_ndjson_with_fields(sandbox, http, conformance):
    url = sandbox.urls["iterable"] + "/export/data.json"
    r = http.get(url, headers=H, params={"dataTypeName": "customEvent", "range": "All",
                                         "onlyFields": ["eventName", "createdAt"]}, stream=True)
    assert r.headers["Transfer-Encoding"] == "chunked"
    assert r.headers["Content-Type"] == "application/x-json-stream"
    rows = [json.loads(x) for x in r.iter_lines() if x]
    assert {tuple(sorted(x)) for x in rows} == {("createdAt", "eventName")}
    assert {"addToCart", "pageView", "appOpen"} <= {x["eventName"] for x in rows}
    omit = _lines(http.get(url, headers=H, params={"dataTypeName": "purchase", "range": "All", "omitFields": "items,total"}))
    assert omit
    assert all("items" not in x and "id" in x for x in omit)


def test_every_export_type_has_records_and_users_have_identity(sandbox, http, conformance):
    from sandbox.vendors.iterable import EXPORT_TYPES

    url = sandbox.urls["iterable"] + "/export/data.json"
    conformance.expect("emailUnsubscribe")  # the spelling peers send, outside the enum: accepted anyway
    for kind in [*EXPORT_TYPES, "emailUnsubscribe", "user"]:
        rows = _lines(http.get(url, headers=H, params={"dataTypeName": kind, "range": "All"}))
        assert rows, kind
    users = _lines(http.get(url, headers=H, params={"dataTypeName": "user", "range": "All"}))
    assert all("userId" in u and "profileUpdatedAt" in u for u in users)
    assert sum("email" in u for u in users) > len(users) * 0.8


def test_too_large_window_times_out_and_bad_params_are_400(sandbox, http, conformance):
    sandbox.sb.vendors["iterable"].max_window_records = 5
    url = sandbox.urls["iterable"] + "/export/data.json"
    r = http.get(url, headers=H, params={"dataTypeName": "emailSend", "range": "All"})
    assert r.status_code == 504
    assert r.json()["code"] == "GenericError"
    r = http.get(url, headers=H, params={"dataTypeName": "emailSend", "startDateTime": "01/02/2026"})
    assert r.status_code == 400
    assert r.json()["code"] == "BadParams"
    conformance.expect(r"dataTypeName='nope'")
    r = http.get(url, headers=H, params={"dataTypeName": "nope", "range": "All"})
    assert r.status_code == 400


def test_export_limit_is_4_per_minute_with_rate_limit_code(sandbox, limits_on, http, conformance):
    url = sandbox.urls["iterable"] + "/export/data.json"
    codes = [http.get(url, headers=H, params={"dataTypeName": "emailOpen", "range": "Today"}).status_code for _ in range(5)]
    assert codes[:4] == [200] * 4
    assert codes[4] == 429
    r = http.get(url, headers=H, params={"dataTypeName": "emailOpen", "range": "Today"})
    assert r.json()["code"] == "RateLimitExceeded"
    # limits are per endpoint: the campaigns listing is unaffected
    assert http.get(sandbox.urls["iterable"] + "/campaigns", headers=H).status_code == 200


def test_async_export_lifecycle_with_expiring_urls(sandbox, http, conformance):
    it = sandbox.sb.vendors["iterable"]
    it.job_seconds, it.file_records = 0.2, 7
    base = sandbox.urls["iterable"]
    start = {"dataTypeName": "emailSend", "outputFormat": "application/x-json-stream",
             "startDateTime": "2020-01-01 00:00:00", "endDateTime": "2030-01-01 00:00:00"}
    jobs = [http.post(base + "/export/start", headers=H, json=start).json()["jobId"] for _ in range(5)]
    states = [http.get(f"{base}/export/{j}/files", headers=H).json()["jobState"] for j in jobs]
    assert states[4] == "Enqueued"
    assert states[:4].count("Running") == 4
    deadline = time.monotonic() + 5
    while http.get(f"{base}/export/{jobs[0]}/files", headers=H).json()["jobState"] != "Completed":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    files, after = [], None
    while True:
        page = http.get(f"{base}/export/{jobs[0]}/files", headers=H,
                        params={"startAfter": after} if after else None).json()
        if not page["files"]:
            break
        files += page["files"]
        after = page["files"][-1]["file"]
    rows = [row for f in files for row in _lines(http.get(f["url"]))]
    direct = _lines(http.get(base + "/export/data.json", headers=H, params={"dataTypeName": "emailSend", "range": "All"}))
    assert rows == direct
    assert len(files) > 1
    it.file_url_ttl = -1  # every link listed from now on is already expired
    stale = http.get(f"{base}/export/{jobs[0]}/files", headers=H).json()["files"][0]["url"]
    assert http.get(stale).status_code == 403
    assert http.get(files[0]["url"].replace("signature=", "signature=0")).status_code == 403
    listed = http.get(base + "/export/jobs", headers=H).json()["jobs"]
    assert [j["id"] for j in listed] == jobs


def test_list_users_is_plain_text_and_metrics_are_csv(sandbox, limits_on, http, conformance):
    base = sandbox.urls["iterable"]
    lists = http.get(base + "/lists", headers=H).json()["lists"]
    r = http.get(base + "/lists/getUsers", headers=H, params={"listId": lists[0]["id"]})
    assert r.headers["Content-Type"].startswith("text/plain")
    emails = r.text.split()
    assert emails
    assert all("@" in e for e in emails)
    ids = http.get(base + "/lists/getUsers", headers=H, params={"listId": lists[0]["id"], "preferUserId": "true"}).text.split()
    assert all(i.startswith("cust-") for i in ids)
    assert len(ids) >= len(emails)
    csv = http.get(base + "/campaigns/metrics", headers=H, params={"campaignId": [100000, 100001]})
    head, *rows = csv.text.strip().splitlines()
    assert head.startswith("id,")
    assert len(rows) == 2
    codes = [http.get(base + "/lists/getUsers", headers=H, params={"listId": 1000}).status_code for _ in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]  # two calls above: 5 per minute in all


@pytest.mark.parametrize("path", ["/channels", "/messageTypes", "/users/getFields", "/catalogs",
                                  "/catalogs/products/items?pageSize=5", "/journeys", "/templates?messageMedium=Push",
                                  "/experiments/metrics?campaignId=100000"])
def test_reference_endpoints_conform(sandbox, http, conformance, path):
    r = http.get(sandbox.urls["iterable"] + path, headers=H)
    assert r.status_code == 200
    assert r.text


def test_templates_filter_on_created_at(sandbox, http, conformance):
    url = sandbox.urls["iterable"] + "/templates"
    every = http.get(url, headers=H, params={"pageSize": 1000}).json()["templates"]
    recent = http.get(url, headers=H, params={"pageSize": 1000, "startDateTime": "2026-11-01 00:00:00"}).json()["templates"]
    cut = 1_793_491_200_000  # 2026-11-01 in epoch ms
    assert {t["templateId"] for t in recent} == {t["templateId"] for t in every if t["createdAt"] >= cut}
    # some old templates were edited recently: the created-at filter cannot find them
    assert any(t["createdAt"] < cut <= t["updatedAt"] for t in every)


def test_a_million_events_are_generated_lazily(make_sandbox, http, conformance):
    big = make_sandbox(vendors="iterable", scale="large")  # 100,000 users, 1,000,000 events
    conformance.attach(big)
    url = big.urls["iterable"] + "/export/data.json"
    started = time.monotonic()
    day = _lines(http.get(url, headers=H, params={"dataTypeName": "customEvent", "startDateTime": "2026-06-01 00:00:00",
                                                   "endDateTime": "2026-06-02 00:00:00"}))
    users = _lines(http.get(url, headers=H, params={"dataTypeName": "user", "startDateTime": "2026-06-01 00:00:00",
                                                     "endDateTime": "2026-06-02 00:00:00"}))
    assert time.monotonic() - started < 5  # only the window's records were made
    assert 150 < len(day) < 350  # ~170,000 custom events over two years
    assert 100 < len(users) < 180  # 100,000 profiles over two years
    assert all("2026-06-01" <= r["createdAt"] < "2026-06-02" for r in day)
    big.sb.vendors["iterable"].max_window_records = 100_000
    r = http.get(url, headers=H, params={"dataTypeName": "customEvent", "range": "All"})
    assert r.status_code == 504  # the whole history in one synchronous window is too much


def test_ranges_today_yesterday_and_before_today(sandbox, http, conformance):
    url = sandbox.urls["iterable"] + "/export/data.json"
    every = _lines(http.get(url, headers=H, params={"dataTypeName": "customEvent", "range": "All"}))
    parts = [_lines(http.get(url, headers=H, params={"dataTypeName": "customEvent", "range": name}))
             for name in ("BeforeToday", "Yesterday", "Today")]
    assert parts[0] + [r for r in parts[2] if r not in parts[0]] == every
    assert all(r in parts[0] for r in parts[1])
    default = _lines(http.get(url, headers=H, params={"dataTypeName": "customEvent"}))
    assert default == parts[2]  # range defaults to Today


def test_the_timeout_threshold_comes_from_the_scale_spec(make_sandbox, http, conformance):
    sb = make_sandbox(vendors="iterable", scale="tiny,export_window_limit=3")
    conformance.attach(sb)
    url = sb.urls["iterable"] + "/export/data.json"
    assert http.get(url, headers=H, params={"dataTypeName": "emailSend", "range": "All"}).status_code == 504
    ok = http.get(url, headers=H, params={"dataTypeName": "emailSend", "startDateTime": "2025-01-01 00:00:00",
                                          "endDateTime": "2025-01-02 00:00:00"})
    assert ok.status_code == 200
