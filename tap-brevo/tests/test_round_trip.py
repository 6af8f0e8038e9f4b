"""Round trip: what is written to Brevo (by target-brevo, or straight into the store) reads back equal."""

from __future__ import annotations

from datetime import timezone

import pytest

from tap_brevo.testing import run_tap


def _by_email(records):
    return {(r.get("email") or "").lower(): r for r in records}


def test_target_brevo_writes_contacts_and_tap_brevo_reads_them_back(sandbox, config, tmp_path, conformance):
    testing = pytest.importorskip("target_brevo.testing")
    before = run_tap(config, ["contacts"])  # the bookmark before the migration
    rows = [{"email": f"Migrated.User{i}@Example.com", "FIRSTNAME": f"First{i}", "LASTNAME": f"Last{i}",
             "list_ids": [1]} for i in range(40)]
    messages = [testing.schema("contacts", base=testing.CONTACT_SCHEMA),
                *[testing.record("contacts", r) for r in rows], testing.state({"bookmarks": {"contacts": 1}})]
    sandbox.sb.vendors["brevo"].import_delay = 0.05
    testing.run({"api_url": sandbox.urls["brevo"], "api_key": sandbox.api_key,
                 "rejects_path": str(tmp_path / "rejects.jsonl"), "import_poll_initial_seconds": 0.05,
                 "backoff_base_seconds": 0.01}, messages)

    after = run_tap(config, ["contacts", "lists", "list_contacts"], state=before.state)
    got = _by_email(after.records["contacts"])
    for row in rows:
        rec = got[row["email"].lower()]
        assert rec["attributes"]["FIRSTNAME"] == row["FIRSTNAME"]
        assert rec["attributes"]["LASTNAME"] == row["LASTNAME"]
        assert 1 in rec["listIds"]
        assert rec["modifiedAt"].endswith("Z")
    members = {r["id"] for r in after.records["list_contacts"] if r["list_id"] == 1}
    assert {got[r["email"].lower()]["id"] for r in rows} <= members


def test_contacts_written_to_the_store_read_back_equal(sandbox, config, conformance):
    db = sandbox.sb.vendors["brevo"].db
    written = []
    for i in range(25):
        c = db.new_contact(sandbox.sb.now(), f"direct{i}@example.org", f"ext-{i}",
                           {"FIRSTNAME": f"Direct{i}", "SMS": f"+3361234{i:04d}"})
        c.list_ids.add(2)
        c.email_blacklisted = i % 5 == 0
        written.append(c)
    run = run_tap(config, ["contacts"])
    got = {r["id"]: r for r in run.records["contacts"]}
    for c in written:
        rec = got[c.id]
        assert rec["email"] == c.email
        assert rec["attributes"] == {**c.attributes, "EXT_ID": c.ext_id}
        assert rec["listIds"] == [2]
        assert rec["emailBlacklisted"] is c.email_blacklisted
        assert rec["createdAt"] == c.created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{c.created_at.microsecond // 1000:03d}Z"


def test_ecommerce_written_to_the_store_reads_back_incrementally(sandbox, config, conformance):
    first = run_tap(config, ["products", "categories", "orders"])
    db = sandbox.sb.vendors["brevo"].db
    stamp = sandbox.sb.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    db.products["p-new"] = {"id": "p-new", "name": "New product", "price": 9.5, "createdAt": stamp,
                            "modifiedAt": stamp, "s3ThumbAnalytics": "x", "s3ThumbEditor": "y", "categories": []}
    db.categories["c-new"] = {"id": "c-new", "name": "New", "createdAt": stamp, "modifiedAt": stamp}
    db.orders["o-new"] = {"id": "o-new", "createdAt": stamp, "updatedAt": stamp, "status": "completed",
                          "amount": 9.5, "products": [{"productId": "p-new", "quantity": 1, "price": 9.5}]}
    second = run_tap(config, ["products", "categories", "orders"], state=first.state)
    assert "p-new" in {r["id"] for r in second.records["products"]}
    assert "c-new" in {r["id"] for r in second.records["categories"]}
    assert "o-new" in {r["id"] for r in second.records["orders"]}
    for stream in ("products", "categories", "orders"):  # the new one, plus any at the bookmark itself
        bookmark = first.state["bookmarks"][stream]["replication_key_value"]
        key = "updatedAt" if stream == "orders" else "modifiedAt"
        assert all(r[key] >= bookmark for r in second.records[stream])


def test_target_brevo_writes_events_and_ecommerce_and_tap_brevo_reads_them_back(sandbox, config, tmp_path,
                                                                                 conformance):
    testing = pytest.importorskip("target_brevo.testing")
    before = run_tap(config, ["custom_events", "products", "categories", "orders"])
    r = testing.record
    messages = [
        testing.schema("shop_categories", {}), testing.schema("shop_products", {}),
        testing.schema("shop_orders", {}), testing.schema("events", base=testing.EVENT_SCHEMA),
        r("shop_categories", {"id": "rt-cat", "name": "Round trip"}),
        r("shop_products", {"id": "rt-prod", "name": "Round trip product", "price": 12.5,
                            "categories": ["rt-cat"], "image_url": "https://example.com/rt.png"}),
        r("shop_orders", {"id": "rt-order", "created_at": "2026-11-29T10:00:00+01:00",
                          "updated_at": "2026-11-29T10:30:00Z", "status": "completed", "amount": 12.5,
                          "products": [{"product_id": "rt-prod", "quantity": 1, "price": 12.5}],
                          "identifiers": {"email_id": "buyer@example.com"}}),
        r("events", {"event_name": "rt_viewed", "event_date": "2026-11-29T12:00:00+01:00",
                     "identifiers": {"email_id": "buyer@example.com"}, "event_properties": {"page": "/rt"}}),
        testing.state({"done": True}),
    ]
    testing.run({"api_url": sandbox.urls["brevo"], "api_key": sandbox.api_key,
                 "rejects_path": str(tmp_path / "rejects.jsonl"), "backoff_base_seconds": 0.01}, messages)

    after = run_tap(config, ["custom_events", "products", "categories", "orders"], state=before.state)
    products = {p["id"]: p for p in after.records["products"]}
    assert products["rt-prod"]["price"] == 12.5
    assert products["rt-prod"]["categories"] == ["rt-cat"]
    assert "rt-cat" in {c["id"] for c in after.records["categories"]}
    order = next(o for o in after.records["orders"] if o["id"] == "rt-order")
    assert order["createdAt"] == "2026-11-29T09:00:00.000Z"  # normalised to UTC
    assert order["products"][0]["productId"] == "rt-prod"
    event = next(e for e in after.records["custom_events"] if e["event_name"] == "rt_viewed")
    assert event["event_date"] == "2026-11-29T11:00:00.000Z"
    assert event["event_properties"] == {"page": "/rt"}
