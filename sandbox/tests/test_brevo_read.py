"""Brevo's read side: every GET tap-brevo uses, with Brevo's shapes and filter semantics."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.app import Exchange
from sandbox.conformance import check_exchange
from sandbox.http import encode

H = {"api-key": "sandbox-key"}

ENDPOINTS = [
    ("/contacts", {"limit": 1000}, "contacts"), ("/contacts/attributes", {}, "attributes"),
    ("/contacts/lists", {"limit": 50}, "lists"), ("/contacts/lists/1/contacts", {"limit": 500}, "contacts"),
    ("/contacts/folders", {"limit": 50}, "folders"), ("/contacts/segments", {"limit": 50}, "segments"),
    ("/emailCampaigns", {"limit": 100, "statistics": "globalStats"}, "campaigns"),
    ("/smsCampaigns", {"limit": 1000}, "campaigns"),
    ("/smtp/statistics/events", {"limit": 5000, "days": 90}, "events"),
    ("/smtp/templates", {"limit": 1000}, "templates"), ("/senders", {}, "senders"),
    ("/webhooks", {"type": "marketing"}, "webhooks"), ("/events", {"limit": 10000}, "events"),
    ("/products", {"limit": 1000}, "products"), ("/categories", {"limit": 100}, "categories"),
    ("/orders", {"limit": 100}, "orders"),
]


def get(http, sandbox, path, params=None):
    return http.get(sandbox.urls["brevo"] + path, headers=H, params=params)


@pytest.mark.parametrize(("path", "params", "key"), ENDPOINTS)
def test_every_read_endpoint_serves_seeded_data_in_brevos_shape(sandbox, http, conformance, path, params, key):
    r = get(http, sandbox, path, params)
    assert r.status_code == 200, r.text
    assert r.json()[key]


def test_modified_since_needs_a_timezone_and_url_encoding(sandbox, http, conformance):
    assert get(http, sandbox, "/contacts", {"modifiedSince": "2026-01-01T00:00:00"}).status_code == 400
    # An unencoded "+" arrives as a space: Brevo's pitfall, a 400 here.
    raw = http.get(sandbox.urls["brevo"] + "/contacts?modifiedSince=2026-01-01T00:00:00+01:00", headers=H)
    assert raw.status_code == 400
    assert "valid date-time" in raw.json()["message"]
    ok = get(http, sandbox, "/contacts", {"modifiedSince": "2026-01-01T00:00:00.000+01:00"})
    assert ok.status_code == 200


def test_modified_since_filters_on_modification_not_creation(sandbox, http, conformance):
    db = sandbox.sb.vendors["brevo"].db
    old = min(db.contacts.values(), key=lambda c: c.created_at)
    since = sandbox.sb.now()
    old.modified_at = since + timedelta(seconds=1)
    body = get(http, sandbox, "/contacts", {"modifiedSince": since.isoformat()}).json()
    assert [c["id"] for c in body["contacts"]] == [old.id]
    assert body["count"] == 1
    created = get(http, sandbox, "/contacts", {"createdSince": since.isoformat()}).json()
    assert created["count"] == 0


def test_sort_is_by_creation_and_paging_counts(sandbox, http, conformance):
    asc = get(http, sandbox, "/contacts", {"sort": "asc", "limit": 3}).json()
    desc = get(http, sandbox, "/contacts", {"limit": 3}).json()  # Brevo's default is desc
    assert [c["createdAt"] for c in asc["contacts"]] == sorted(c["createdAt"] for c in asc["contacts"])
    assert asc["contacts"][0]["id"] != desc["contacts"][0]["id"]
    assert asc["count"] == desc["count"] == len(sandbox.sb.vendors["brevo"].db.contacts)
    page2 = get(http, sandbox, "/contacts", {"sort": "asc", "limit": 3, "offset": 3}).json()
    assert not {c["id"] for c in page2["contacts"]} & {c["id"] for c in asc["contacts"]}
    conformance.expect(r"limit=1001: 1001 is greater than the maximum of 1000")
    assert get(http, sandbox, "/contacts", {"limit": 1001}).status_code == 400


def test_contact_timestamps_carry_the_account_offset(sandbox, http, conformance):
    c = get(http, sandbox, "/contacts", {"limit": 1}).json()["contacts"][0]
    assert c["modifiedAt"].endswith("+01:00")


def test_email_events_windows_are_limited_to_90_days(sandbox, http, conformance):
    ok = get(http, sandbox, "/smtp/statistics/events", {"startDate": "2026-06-01", "endDate": "2026-08-29"})
    assert ok.status_code == 200
    dates = [e["date"] for e in ok.json()["events"]]
    assert dates
    assert all("2026-05-31" <= d[:10] <= "2026-08-30" for d in dates)
    too_long = get(http, sandbox, "/smtp/statistics/events", {"startDate": "2026-01-01", "endDate": "2026-06-01"})
    assert too_long.status_code == 400
    assert get(http, sandbox, "/smtp/statistics/events", {"days": 91}).status_code == 400
    both = get(http, sandbox, "/smtp/statistics/events", {"days": 10, "startDate": "2026-01-01", "endDate": "2026-01-02"})
    assert both.status_code == 400


def test_email_events_span_several_windows_and_filter(sandbox, http, conformance):
    seen = set()
    for start, end in (("2025-11-01", "2026-01-29"), ("2026-01-30", "2026-04-29"), ("2026-04-30", "2026-07-28"),
                       ("2026-07-29", "2026-10-26"), ("2026-10-27", "2026-11-30")):
        events = get(http, sandbox, "/smtp/statistics/events", {"startDate": start, "endDate": end}).json()["events"]
        assert events
        seen |= {(e["messageId"], e["event"], e["date"]) for e in events}
    opened = get(http, sandbox, "/smtp/statistics/events", {"days": 90, "event": "delivered"}).json()["events"]
    assert {e["event"] for e in opened} == {"delivered"}
    assert len(seen) > 300


def test_campaign_statistics_only_when_asked_and_only_for_six_months(sandbox, http, conformance):
    with_stats = get(http, sandbox, "/emailCampaigns", {"statistics": "globalStats", "sort": "asc"}).json()
    without = get(http, sandbox, "/emailCampaigns", {"sort": "asc"}).json()
    sent = [c for c in with_stats["campaigns"] if c["status"] == "sent"]
    recent = [c for c in sent if c["sentDate"] >= "2026-06-01"]
    old = [c for c in sent if c["sentDate"] < "2026-05-30"]
    assert recent
    assert old
    assert all(c["statistics"]["globalStats"]["sent"] > 0 for c in recent)
    assert all(c["statistics"]["globalStats"]["sent"] == 0 for c in old)
    assert all(c["statistics"]["globalStats"]["sent"] == 0 for c in without["campaigns"])
    html = get(http, sandbox, "/emailCampaigns", {"excludeHtmlContent": "true"}).json()
    assert all(c["htmlContent"] == "" for c in html["campaigns"])


def test_webhooks_of_both_types(sandbox, http, conformance):
    default = get(http, sandbox, "/webhooks").json()["webhooks"]
    marketing = get(http, sandbox, "/webhooks", {"type": "marketing"}).json()["webhooks"]
    assert {w["type"] for w in default} == {"transactional"}
    assert {w["type"] for w in marketing} == {"marketing"}


def test_store_objects_are_served_by_the_same_endpoints(sandbox, http, conformance):
    db = sandbox.sb.vendors["brevo"].db
    stamp = "2026-11-30T00:00:00.000Z"
    db.products["w1"] = {"id": "w1", "name": "Written", "createdAt": stamp, "modifiedAt": stamp,
                         "s3ThumbAnalytics": "a", "s3ThumbEditor": "b", "price": 3.0}
    db.orders["o1"] = {"id": "o1", "createdAt": stamp, "updatedAt": stamp, "status": "completed", "amount": 3.0,
                       "products": [{"productId": "w1", "quantity": 1, "price": 3.0}]}
    db.events.append({"event_name": "written", "event_date": "2026-11-29T10:00:00Z", "contact_id": 1})
    since = {"modifiedSince": "2026-11-29T23:00:00.000+00:00"}
    assert [p["id"] for p in get(http, sandbox, "/products", since).json()["products"]] == ["w1"]
    assert [o["id"] for o in get(http, sandbox, "/orders", since).json()["orders"]] == ["o1"]
    names = [e["event_name"] for e in get(http, sandbox, "/events", {"event_name": "written"}).json()["events"]]
    assert names == ["written"]
    lst = db.new_list("Written list", 1, sandbox.sb.now())
    db.contacts[1].list_ids.add(lst["id"])
    members = get(http, sandbox, f"/contacts/lists/{lst['id']}/contacts").json()
    assert [c["id"] for c in members["contacts"]] == [1]
    lists = {x["id"]: x for x in get(http, sandbox, "/contacts/lists", {"limit": 50}).json()["lists"]}
    assert lists[lst["id"]]["uniqueSubscribers"] == 1


def test_overlay_fixes_the_malformed_get_segments_schema():
    bad = Exchange("brevo", "GET", "/contacts/segments", "/contacts/segments", {}, {}, b"", 200,
                   "application/json", encode({"segments": [{"id": "x"}], "count": 1}))
    problems = check_exchange(bad)
    assert any("segments/0/id" in p for p in problems)
    assert any("segmentName" in p for p in problems)
    good = Exchange("brevo", "GET", "/contacts/segments", "/contacts/segments", {}, {}, b"", 200,
                    "application/json", encode({"segments": [{"id": 1, "segmentName": "A", "categoryName": "B"}],
                                                "count": 1}))
    assert check_exchange(good) == []


def test_events_written_through_the_api_read_back_in_the_documented_shape(sandbox, http, conformance):
    body = {"event_name": "cart_updated", "event_date": "2026-11-29T12:00:00+01:00",
            "identifiers": {"email_id": "someone.new@example.com"}, "event_properties": {"total": 12.5},
            "contact_properties": {"FIRSTNAME": "Some"}}
    r = http.post(sandbox.urls["brevo"] + "/events", headers=H, json=body)
    assert r.status_code == 204, r.text
    events = get(http, sandbox, "/events", {"event_name": "cart_updated", "startDate": "2026-11-29",
                                            "endDate": "2026-11-29"}).json()["events"]
    mine = [e for e in events if e.get("event_properties") == {"total": 12.5}]
    assert len(mine) == 1
    assert set(mine[0]) <= {"event_name", "event_date", "contact_id", "event_properties", "object_type",
                            "event_filter_id"}
    assert isinstance(mine[0]["contact_id"], int)


def test_ecommerce_written_through_the_api_reads_back_conformant(sandbox, http, conformance):
    post = lambda path, body: http.post(sandbox.urls["brevo"] + path, headers=H, json=body)  # noqa: E731
    assert post("/categories/batch", {"categories": [{"id": "c9", "name": "Nine"}]}).status_code == 201
    assert post("/products/batch", {"products": [{"id": "p9", "name": "Nine", "price": 9.0,
                                                  "categories": ["c9"]}]}).status_code == 201
    order = {"id": "o9", "createdAt": "2026-11-29T10:00:00Z", "updatedAt": "2026-11-29T11:00:00Z",
             "status": "completed", "amount": 9.0, "products": [{"productId": "p9", "quantity": 1, "price": 9.0}],
             "identifiers": {"email_id": "buyer@example.com"}}
    assert post("/orders/status/batch", {"orders": [order]}).status_code == 202
    since = {"modifiedSince": "2026-11-29T00:00:00.000+00:00"}
    assert "p9" in {p["id"] for p in get(http, sandbox, "/products", since).json()["products"]}
    assert "c9" in {c["id"] for c in get(http, sandbox, "/categories", since).json()["categories"]}
    orders = {o["id"]: o for o in get(http, sandbox, "/orders", since).json()["orders"]}
    assert orders["o9"]["status"] == "completed"
    assert "historical" not in orders["o9"]
