"""Behaviours 5-7: list memberships, events, ecommerce batches."""

from __future__ import annotations

import pytest
import requests

from target_brevo.client import FatalError
from target_brevo.testing import EVENT_SCHEMA, record, run, schema, state

LM_SCHEMA = {"type": "object", "properties": {"list_id": {"type": ["integer", "null"]},
                                              "list_name": {"type": ["string", "null"]},
                                              "email": {"type": ["string", "null"]},
                                              "ext_id": {"type": ["string", "null"]},
                                              "sms": {"type": ["string", "null"]},
                                              "action": {"type": ["string", "null"]}}}


def api(sandbox, method, path, body=None):
    return requests.request(method, sandbox.urls["brevo"] + path, json=body, headers=sandbox.headers("brevo"),
                            timeout=10)


def calls(sandbox, endpoint):
    return sum(sandbox.requests("brevo").get(endpoint, {}).values())


def members(sandbox, list_id):
    return {c["email"] for c in sandbox.store("brevo")["contacts"] if list_id in c["listIds"]}


def seed_contacts(sandbox, n, prefix="m"):
    folder = api(sandbox, "POST", "/contacts/folders", {"name": "F"}).json()["id"]
    lid = api(sandbox, "POST", "/contacts/lists", {"name": "Existing", "folderId": folder}).json()["id"]
    for i in range(n):
        api(sandbox, "POST", "/contacts", {"email": f"{prefix}{i}@example.com"})
    return lid


# --- 5. lists ------------------------------------------------------------------------------------
def test_list_add_remove_in_chunks_of_150_and_already_in_list(config, sandbox):
    lid = seed_contacts(sandbox, 160)
    api(sandbox, "POST", f"/contacts/lists/{lid}/contacts/add", {"emails": ["m0@example.com"]})
    recs = [record("list_memberships", {"list_id": lid, "email": f"m{i}@example.com", "action": "add"})
            for i in range(160)]
    recs.append(record("list_memberships", {"list_id": lid, "email": "ghost@example.com", "action": "add"}))
    res = run(config, [schema("list_memberships", base=LM_SCHEMA), *recs])
    assert members(sandbox, lid) == {f"m{i}@example.com" for i in range(160)}
    assert calls(sandbox, "POST /contacts/lists/{listId}/contacts/add") == 1 + 2
    assert [(r["record_key"], r["reason"]) for r in res.rejects] == [(f"{lid}|ghost@example.com", "contact_not_found")]
    # Re-adding members already there is a success (Brevo answers 400 "already in list").
    res = run(config | {"rejects_path": config["rejects_path"] + "2"},
              [schema("list_memberships", base=LM_SCHEMA), *recs[:3]])
    assert res.rejects == []
    assert res.summary["records_accepted"] == {"list_memberships": 3}
    remove = [record("list_memberships", {"list_id": lid, "email": f"m{i}@example.com", "action": "remove"})
              for i in range(5)]
    run(config, [schema("list_memberships", base=LM_SCHEMA), *remove])
    assert len(members(sandbox, lid)) == 155


def test_list_names_resolved_or_created_in_folder(config, sandbox):
    seed_contacts(sandbox, 2)
    recs = [record("list_memberships", {"list_name": "Target VIP", "email": f"m{i}@example.com"}) for i in range(2)]
    run(config | {"list_folder_name": "Imported"}, [schema("list_memberships", base=LM_SCHEMA), *recs])
    store = sandbox.store("brevo")
    folder = next(f for f in store["folders"] if f["name"] == "Imported")
    vip = next(lst for lst in store["lists"] if lst["name"] == "Target VIP")
    assert vip["folderId"] == folder["id"]
    assert members(sandbox, vip["id"]) == {"m0@example.com", "m1@example.com"}
    res = run(config | {"create_missing_lists": False},
              [schema("list_memberships", base=LM_SCHEMA),
               record("list_memberships", {"list_name": "Nope", "email": "m0@example.com"})])
    assert [r["reason"] for r in res.rejects] == ["unknown_list"]


def test_list_mirror_only_for_full_table_streams(config, sandbox):
    lid = seed_contacts(sandbox, 4)
    api(sandbox, "POST", f"/contacts/lists/{lid}/contacts/add", {"emails": [f"m{i}@example.com" for i in range(4)]})
    recs = [record("list_memberships", {"list_id": lid, "email": f"m{i}@example.com"}) for i in range(2)]
    partial = [schema("list_memberships", base=LM_SCHEMA), *recs]
    with pytest.raises(FatalError, match="full-table"):
        run(config | {"list_mirror": True}, partial)
    assert len(members(sandbox, lid)) == 4
    full = [*partial[:1], {"type": "ACTIVATE_VERSION", "stream": "list_memberships", "version": 1}, *partial[1:]]
    run(config | {"list_mirror": True}, full)
    assert members(sandbox, lid) == {"m0@example.com", "m1@example.com"}


# --- 6. events -----------------------------------------------------------------------------------
def event(i, **kw):
    return {"event_name": "order_placed", "event_date": "2026-01-02T03:04:05+01:00",
            "identifiers": {"email_id": f"e{i}@example.com"}, "event_properties": {"total": i, "paid": True},
            "contact_properties": {"firstname": "E"}} | kw


def test_events_batch_and_207_partial_success(config, sandbox):
    recs = [record("events", event(i)) for i in range(12)]
    recs.append(record("events", event(99, identifiers={"contact_id": 999999})))  # unknown to Brevo
    res = run(config | {"events_batch_size": 5}, [schema("events", base=EVENT_SCHEMA), *recs])
    assert calls(sandbox, "POST /events/batch") == 3
    assert len(sandbox.store("brevo")["events"]) == 12
    assert [(r["reason"], r["message"]) for r in res.rejects] == [("event_rejected",
                                                                   "Record(s) for identifier not found")]
    stored = sandbox.store("brevo")["events"][0]
    assert stored["event_date"] == "2026-01-02T03:04:05+01:00"
    assert stored["contact_properties"] == {"FIRSTNAME": "E"}


def test_events_validated_before_sending(config, sandbox):
    bad = [event(1, event_name="has space"), event(2, event_name="x" * 256), event(3, identifiers={}),
           event(4, event_properties={"blob": "x" * 52_000})]
    res = run(config, [schema("events", base=EVENT_SCHEMA), *[record("events", e) for e in bad]])
    assert sorted(r["reason"] for r in res.rejects) == ["invalid_event_name", "invalid_event_name",
                                                        "missing_identifier", "payload_too_large"]
    assert calls(sandbox, "POST /events/batch") == 0


def test_events_fall_back_to_single(config, sandbox, conformance):
    sandbox.faults("404#1~/events/batch")
    recs = [record("events", event(i)) for i in range(3)]
    res = run(config, [schema("events", base=EVENT_SCHEMA), *recs])
    assert calls(sandbox, "POST /events") == 3
    assert res.summary["records_accepted"] == {"events": 3}
    run(config | {"events_mode": "single"}, [schema("events", base=EVENT_SCHEMA), *recs[:2]])
    assert calls(sandbox, "POST /events") == 5
    assert len(sandbox.store("brevo")["events"]) == 5


# --- 7. ecommerce --------------------------------------------------------------------------------
def test_ecommerce_order_caps_dates_and_replay(config, sandbox):
    order_log = []
    sandbox.sb.observers.append(lambda ex: order_log.append(ex.path))
    cats = [record("shop_categories", {"id": f"c{i}", "name": f"Cat {i}"}) for i in range(3)]
    prods = [record("shop_products", {"id": f"p{i}", "name": f"P{i}", "price": 9.5, "categories": ["c1"],
                                      "image_url": "https://example.com/p.png"}) for i in range(150)]
    orders = [record("shop_orders", {"id": f"o{i}", "created_at": "2026-01-02T03:04:05+02:00",
                                     "updated_at": "2026-01-02T04:04:05Z", "status": "completed", "amount": 9.5,
                                     "products": [{"product_id": "p1", "quantity": 1, "price": 9.5}],
                                     "identifiers": {"email_id": "x@example.com"}}) for i in range(1200)]
    msgs = [schema("shop_orders", {}), schema("shop_products", {}), schema("shop_categories", {}),
            *orders, *prods, *cats, state({"done": True})]
    run(config | {"orders_historical": False}, msgs)
    paths = [p for p in order_log if p.endswith("/batch")]
    firsts = [paths.index(f"/{k}/batch") for k in ("categories", "products", "orders/status")]
    assert firsts == sorted(firsts)
    assert paths.count("/products/batch") == 2
    assert paths.count("/orders/status/batch") == 2
    store = sandbox.store("brevo")
    assert len(store["products"]) == 150
    assert store["products"][0]["imageUrl"] == "https://example.com/p.png"
    o = next(o for o in store["orders"] if o["id"] == "o1")
    assert (o["createdAt"], o["historical"]) == ("2026-01-02T01:04:05Z", False)
    assert o["products"][0]["productId"] == "p1"
    assert o["identifiers"] == {"email_id": "x@example.com"}
    run(config, msgs)  # a replay upserts: no duplicates
    store = sandbox.store("brevo")
    assert (len(store["categories"]), len(store["products"]), len(store["orders"])) == (3, 150, 1200)
