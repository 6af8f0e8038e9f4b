"""Brevo's write side: the semantics target-brevo depends on, read back through the store."""

from __future__ import annotations

import time

import pytest
import requests


@pytest.fixture
def api(sandbox, conformance):
    base, headers = sandbox.urls["brevo"], sandbox.headers("brevo")
    sandbox.sb.vendors["brevo"].import_delay = 0.05

    def call(method, path, json=None, **kw):
        return requests.request(method, base + path, json=json, headers=headers, timeout=10, **kw)

    call.sandbox = sandbox
    return call


def _list(api, name="L"):
    folder = api("POST", "/contacts/folders", {"name": "F"}).json()["id"]
    return api("POST", "/contacts/lists", {"name": name, "folderId": folder}).json()["id"]


def test_attributes_type_rules_and_silent_ignore(api):
    assert api("POST", "/contacts/attributes/normal/score", {"type": "float"}).status_code == 201
    r = api("POST", "/contacts/attributes/normal/SCORE", {"type": "float"})
    assert r.status_code == 400
    assert r.json()["code"] == "duplicate_parameter"
    assert api("POST", "/contacts/attributes/normal/X", {"type": "id"}).status_code == 400
    names = {a["name"]: a for a in api("GET", "/contacts/attributes").json()["attributes"]}
    assert names["SCORE"]["type"] == "float"
    r = api("POST", "/contacts", {"email": "a@example.com", "attributes": {"SCORE": "high", "FIRSTNAME": "A"}})
    assert r.status_code == 201
    c = api("GET", "/contacts/a@example.com").json()
    assert c["attributes"].get("FIRSTNAME") == "A"
    assert "SCORE" not in c["attributes"]


def test_contact_uniqueness_and_duplicate_bodies(api):
    api("POST", "/contacts", {"email": "a@example.com", "attributes": {"SMS": "+33612345678"}})
    r = api("POST", "/contacts", {"email": "b@example.com", "attributes": {"SMS": "+33612345678"}})
    assert r.status_code == 400
    assert r.json()["metadata"]["duplicate_identifiers"] == ["SMS"]
    api.sandbox.sb.vendors["brevo"].duplicate_code = "invalid_parameter"
    r = api("POST", "/contacts", {"email": "a@example.com"})
    assert r.json()["code"] == "invalid_parameter"
    assert r.json()["metadata"]["duplicate_identifiers"] == ["email"]
    assert api("POST", "/contacts", {"email": "a@example.com", "updateEnabled": True,
                                     "ext_id": "X1"}).status_code == 204
    r = api("PUT", "/contacts/X1?identifierType=ext_id", {"attributes": {"LASTNAME": "Z"}})
    assert r.status_code == 204
    assert api("GET", "/contacts/X1?identifierType=ext_id").json()["attributes"]["LASTNAME"] == "Z"
    assert api("PUT", "/contacts/nobody@example.com", {"attributes": {}}).status_code == 404


def test_batch_update_is_all_or_nothing(api):
    api("POST", "/contacts", {"email": "a@example.com"})
    r = api("POST", "/contacts/batch", {"contacts": [
        {"email": "a@example.com", "attributes": {"FIRSTNAME": "A"}},
        {"email": "missing1@example.com"}, {"email": "missing2@example.com"}]})
    assert r.status_code == 404
    assert r.json()["message"] == "No contact found for indexes 1,2"
    assert "FIRSTNAME" not in api("GET", "/contacts/a@example.com").json()["attributes"]
    assert api("POST", "/contacts/batch", {"contacts": [
        {"email": "a@example.com", "attributes": {"FIRSTNAME": "A"}}]}).status_code == 204
    assert api("GET", "/contacts/a@example.com").json()["attributes"]["FIRSTNAME"] == "A"


def test_import_is_asynchronous_with_reports(api):
    lid = _list(api)
    rows = [{"email": "new1@example.com", "attributes": {"FIRSTNAME": "N"}},
            {"email": "not-an-email"}, {"email": "NEW1@example.com"}]
    r = api("POST", "/contacts/import", {"jsonBody": rows, "listIds": [lid]})
    assert r.status_code == 202
    pid = r.json()["processId"]
    assert api("GET", f"/processes/{pid}").json()["status"] == "queued"
    for _ in range(100):
        proc = api("GET", f"/processes/{pid}").json()
        if proc["status"] == "completed":
            break
        time.sleep(0.02)
    reports = proc["info"]["import"]
    assert "not-an-email" in requests.get(reports["invalid_emails"], timeout=5).text
    assert "NEW1@example.com" in requests.get(reports["duplicate_email_id"], timeout=5).text
    store = api.sandbox.store("brevo")
    new = [c for c in store["contacts"] if c.get("email") == "new1@example.com"]
    assert new
    assert new[0]["listIds"] == [lid]
    assert api("POST", "/contacts/import", {"jsonBody": rows}).status_code == 400


def test_list_membership_cap_and_already_in_list(api):
    lid = _list(api)
    api("POST", "/contacts", {"email": "a@example.com"})
    r = api("POST", f"/contacts/lists/{lid}/contacts/add", {"emails": ["a@example.com", "zz@example.com"]})
    assert r.status_code == 201
    assert r.json()["contacts"]["failure"] == ["zz@example.com"]
    r = api("POST", f"/contacts/lists/{lid}/contacts/add", {"emails": ["a@example.com"]})
    assert r.status_code == 400
    assert "already in list" in r.json()["message"]
    r = api("POST", f"/contacts/lists/{lid}/contacts/add", {"emails": [f"x{i}@example.com" for i in range(151)]})
    assert r.status_code == 400
    assert r.json()["code"] == "out_of_range"
    assert api("POST", f"/contacts/lists/{lid}/contacts/remove", {"emails": ["a@example.com"]}).status_code == 201
    assert api("GET", "/contacts/a@example.com").json()["listIds"] == []


def test_events_batch_partial_success(api):
    good = {"event_name": "cart_updated", "identifiers": {"email_id": "e@example.com"},
            "event_properties": {"total": 12.5, "paid": True}}
    bad = {"event_name": "bad name!", "identifiers": {"email_id": "e@example.com"}}
    r = api("POST", "/events/batch", {"events": [good, bad]})
    assert r.status_code == 207
    assert r.json()["errors"][0]["index"] == 1
    assert api("POST", "/events/batch", {"events": [good]}).status_code == 202
    assert api("POST", "/events", good).status_code == 204
    assert len(api.sandbox.store("brevo")["events"]) == 3


def test_ecommerce_batches_and_caps(api):
    cats = {"categories": [{"id": "c1", "name": "Shoes"}], "updateEnabled": True}
    assert api("POST", "/categories/batch", cats).json() == {"createdCount": 1, "updatedCount": 0}
    assert api("POST", "/categories/batch", cats).json() == {"createdCount": 0, "updatedCount": 1}
    big = {"products": [{"id": f"p{i}", "name": "P"} for i in range(101)], "updateEnabled": True}
    assert api("POST", "/products/batch", big).status_code == 400
    order = {"id": "o1", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
             "status": "completed", "amount": 10, "products": [{"productId": "p1", "quantity": 1, "price": 10}]}
    assert api("POST", "/orders/status/batch", {"orders": [order, order | {"id": "o2"}]}).status_code == 202
    assert api("POST", "/orders/status/batch", {"orders": [order]}).status_code == 202
    store = api.sandbox.store("brevo")
    assert sorted(o["id"] for o in store["orders"]) == ["o1", "o2"]
    assert store["categories"][0]["name"] == "Shoes"


def test_folders_lists_and_members_read_back(api):
    folder = api("POST", "/contacts/folders", {"name": "Target"}).json()["id"]
    assert api("GET", f"/contacts/folders/{folder}").json()["name"] == "Target"
    lid = api("POST", "/contacts/lists", {"name": "Members", "folderId": folder}).json()["id"]
    assert api("POST", "/contacts/lists", {"name": "Orphan", "folderId": 99999}).status_code == 400
    api("POST", "/contacts", {"email": "m@example.com", "listIds": [lid]})
    body = api("GET", f"/contacts/lists/{lid}/contacts").json()
    assert body["count"] == 1
    assert body["contacts"][0]["email"] == "m@example.com"
    assert api("GET", f"/contacts/lists/{lid}").json()["uniqueSubscribers"] == 1


def test_failed_import_and_url_encoded_identifiers(api):
    lid = _list(api)
    api.sandbox.sb.vendors["brevo"].fail_imports = 1
    pid = api("POST", "/contacts/import", {"jsonBody": [{"email": "q@example.com"}], "listIds": [lid]}).json()["processId"]
    for _ in range(250):
        status = api("GET", f"/processes/{pid}").json()["status"]
        if status != "queued":
            break
        time.sleep(0.02)
    assert status == "failed"
    api("POST", "/contacts", {"email": "a+b@example.com", "attributes": {"SMS": "+33612345678"}})
    assert api("GET", "/contacts/a%2Bb%40example.com").status_code == 200
    assert api("GET", "/contacts/%2B33612345678?identifierType=phone_id").json()["email"] == "a+b@example.com"
