"""Behaviours 1-4: contacts through imports, the single path, the batch path; attributes."""

from __future__ import annotations

import math

import pytest
import requests
from singer_sdk.exceptions import ConfigValidationError

from target_brevo.testing import CONTACT_SCHEMA, record, run, schema, state


def contacts(sandbox):
    return {c.get("email"): c for c in sandbox.store("brevo")["contacts"]}


def calls(sandbox, endpoint):
    return sum(sandbox.requests("brevo").get(endpoint, {}).values())


def api(sandbox, method, path, body=None):
    return requests.request(method, sandbox.urls["brevo"] + path, json=body, headers=sandbox.headers("brevo"),
                            timeout=10)


def make_list(sandbox, name="Customers"):
    folder = api(sandbox, "POST", "/contacts/folders", {"name": "F"}).json()["id"]
    return api(sandbox, "POST", "/contacts/lists", {"name": name, "folderId": folder}).json()["id"]


def msgs(*records, stream="contacts", sch=CONTACT_SCHEMA):
    return [schema(stream, base=sch), *[record(stream, r) for r in records], state({"bookmarks": {stream: 1}})]


# --- 1. imports --------------------------------------------------------------------------------
def test_import_cut_by_serialized_size_and_polled(config, sandbox):
    rows = [{"email": f"user{i}@example.com", "FIRSTNAME": f"First{i}"} for i in range(120)]
    res = run(config | {"contacts_mode": "import", "import_max_bytes": 2000}, msgs(*rows))
    store = contacts(sandbox)
    assert all(f"user{i}@example.com" in store for i in range(120))
    assert store["user7@example.com"]["attributes"]["FIRSTNAME"] == "First7"
    row_bytes = len('{"attributes":{"FIRSTNAME":"First100"},"email":"user100@example.com"},')
    n_imports = calls(sandbox, "POST /contacts/import")
    assert n_imports >= math.ceil(120 * row_bytes / 2000)
    assert n_imports <= math.ceil(120 * row_bytes / (2000 - 400)) + 1
    assert calls(sandbox, "GET /processes/{processId}") >= n_imports
    assert res.summary["records_accepted"] == {"contacts": 120}
    assert all(p["status"] == "completed" for p in sandbox.store("brevo")["processes"])


def test_import_flags_follow_settings(config, sandbox):
    lid = make_list(sandbox)
    api(sandbox, "POST", "/contacts", {"email": "old@example.com", "attributes": {"FIRSTNAME": "Keep",
                                                                                   "LASTNAME": "Gone"}})
    cfg = config | {"contacts_mode": "import", "default_list_ids": [lid]}
    run(cfg | {"update_existing": False},
        msgs({"email": "old@example.com", "FIRSTNAME": "Changed"}, {"email": "new@example.com"}))
    store = contacts(sandbox)
    assert store["old@example.com"]["attributes"]["FIRSTNAME"] == "Keep"  # insert only
    assert store["new@example.com"]["listIds"] == [lid]
    # Default: a null never erases.
    run(cfg, msgs({"email": "old@example.com", "LASTNAME": None}, {"email": "x@example.com"}))
    assert contacts(sandbox)["old@example.com"]["attributes"]["LASTNAME"] == "Gone"
    run(cfg | {"clear_missing_attributes": True}, msgs({"email": "old@example.com", "LASTNAME": None},
                                                       {"email": "y@example.com"}))
    assert "LASTNAME" not in contacts(sandbox)["old@example.com"]["attributes"]


def test_import_report_rows_become_rejects(config, sandbox):
    api(sandbox, "POST", "/contacts", {"email": "owner@example.com", "attributes": {"SMS": "+33612345678"}})
    rows = [{"email": "dup@example.com", "FIRSTNAME": "A"}, {"email": "DUP@example.com", "FIRSTNAME": "B"},
            {"email": "clash@example.com", "sms": "+33612345678"}, {"email": "fine@example.com"}]
    res = run(config | {"contacts_mode": "import"}, msgs(*rows))
    reasons = {r["record_key"]: r["reason"] for r in res.rejects}
    assert reasons == {"DUP@example.com": "import_duplicate_email", "clash@example.com": "import_duplicate_sms"}
    assert all(r["record"] and r["brevo_error"]["report"] for r in res.rejects)
    assert "fine@example.com" in contacts(sandbox)
    assert res.summary["records_accepted"] == {"contacts": 2}


# --- 2. single path ----------------------------------------------------------------------------
def test_single_path_duplicates_are_rejects(config, sandbox):
    api(sandbox, "POST", "/contacts", {"email": "owner@example.com", "attributes": {"SMS": "+33612345678"}})
    rows = [{"email": "a@example.com", "sms": "+33612345678"}, {"email": "b@example.com", "FIRSTNAME": "B"}]
    res = run(config | {"contacts_mode": "single"}, msgs(*rows))
    assert [r["reason"] for r in res.rejects] == ["duplicate_identifier"]
    assert "SMS=+33612345678" in res.rejects[0]["message"]
    assert res.rejects[0]["brevo_error"]["metadata"]["duplicate_identifiers"] == ["SMS"]
    assert "b@example.com" in contacts(sandbox)
    assert "a@example.com" not in contacts(sandbox)


def test_single_path_matches_invalid_parameter_and_retries_without_sms(config, sandbox):
    sandbox.sb.vendors["brevo"].duplicate_code = "invalid_parameter"
    api(sandbox, "POST", "/contacts", {"email": "owner@example.com", "attributes": {"SMS": "+33612345678"}})
    res = run(config | {"single_threshold": 5}, msgs({"email": "a@example.com", "sms": "+33612345678"}))
    assert res.rejects[0]["reason"] == "duplicate_identifier"  # auto mode chose single for 1 record
    res = run(config | {"identifier_conflict": "retry_without_sms"},
              msgs({"email": "a@example.com", "sms": "+33612345678", "FIRSTNAME": "A"}))
    a = contacts(sandbox)["a@example.com"]
    assert a["attributes"]["FIRSTNAME"] == "A"
    assert "SMS" not in a["attributes"]
    assert res.summary["records_skipped"] == {"sms_dropped_on_conflict": 1}


# --- 3. batch path -----------------------------------------------------------------------------
def test_batch_update_reroutes_missing_indexes(config, sandbox):
    for e in ("a@example.com", "c@example.com"):
        api(sandbox, "POST", "/contacts", {"email": e})
    rows = [{"email": e, "FIRSTNAME": "Up"} for e in ("a@example.com", "b@example.com", "c@example.com")]
    res = run(config | {"contacts_mode": "batch", "batch_missing": "reject"}, msgs(*rows))
    assert [(r["record_key"], r["reason"]) for r in res.rejects] == [("b@example.com", "contact_not_found")]
    assert "indexes 1" in res.rejects[0]["brevo_error"]["message"]
    store = contacts(sandbox)
    assert store["a@example.com"]["attributes"]["FIRSTNAME"] == "Up" == store["c@example.com"]["attributes"]["FIRSTNAME"]
    assert calls(sandbox, "POST /contacts/batch") == 2
    res = run(config | {"contacts_mode": "batch", "rejects_path": config["rejects_path"] + "2"},
              msgs(*[r | {"LASTNAME": "L"} for r in rows]))
    assert res.rejects == []
    assert contacts(sandbox)["b@example.com"]["attributes"]["LASTNAME"] == "L"


# --- 4. attributes -----------------------------------------------------------------------------
def test_attributes_read_once_uppercased_and_coerced(config, sandbox):
    for name, body in (("BIRTHDAY", {"type": "date"}), ("SCORE", {"type": "float"}), ("VIP", {"type": "boolean"})):
        api(sandbox, "POST", f"/contacts/attributes/normal/{name}", body)
    api(sandbox, "POST", "/contacts/attributes/category/TIER",
        {"type": "category", "enumeration": [{"value": 1, "label": "Gold"}, {"value": 2, "label": "Silver"}]})
    rows = [{"email": f"p{i}@example.com", "attributes": {"birthday": "1990-05-04T10:00:00+00:00", "score": "12.5",
                                                          "vip": "yes", "tier": "silver"},
             "sms": "06 12 34 56 7" + str(i)} for i in range(3)]
    res = run(config | {"contacts_mode": "import", "default_phone_country": "FR"}, msgs(*rows))
    assert res.rejects == []
    attrs = contacts(sandbox)["p1@example.com"]["attributes"]
    assert attrs == attrs | {"BIRTHDAY": "1990-05-04", "SCORE": 12.5, "VIP": True, "TIER": 2, "SMS": "+33612345671"}
    assert calls(sandbox, "GET /contacts/attributes") == 1


def test_mistyped_invalid_phone_and_email_rejected_before_any_request(config, sandbox):
    api(sandbox, "POST", "/contacts/attributes/normal/SCORE", {"type": "float"})
    rows = [{"email": "a@example.com", "SCORE": "high"}, {"email": "b@example.com", "sms": "12"},
            {"email": "not-an-email"}, {"FIRSTNAME": "nobody"}]
    sch = {"type": "object", "properties": {**CONTACT_SCHEMA["properties"], "SCORE": {"type": ["string", "null"]}}}
    res = run(config, msgs(*rows, sch=sch))
    assert sorted(r["reason"] for r in res.rejects) == ["invalid_email", "invalid_phone", "missing_identifier",
                                                        "mistyped_attribute"]
    assert calls(sandbox, "POST /contacts/import") + calls(sandbox, "POST /contacts") == 0
    res = run(config | {"mistyped_attribute_policy": "warn", "rejects_path": config["rejects_path"] + "2"},
              msgs(rows[0], sch=sch))
    assert res.rejects == []
    assert "SCORE" not in contacts(sandbox)["a@example.com"]["attributes"]
    assert res.summary["records_skipped"] == {"mistyped_attribute_SCORE": 1}


def test_unknown_attributes_reported_or_created_from_schema(config, sandbox):
    sch = {"type": "object", "properties": {"email": {"type": "string"},
                                            "LOYALTY": {"type": "integer"},
                                            "SIGNUP": {"type": "string", "format": "date-time"}}}
    res = run(config, msgs({"email": "a@example.com", "LOYALTY": 7, "SIGNUP": "2024-01-02T03:04:05Z"}, sch=sch))
    assert res.summary["unknown_attributes_not_sent"] == {"LOYALTY": [7], "SIGNUP": ["2024-01-02T03:04:05Z"]}
    run(config | {"create_missing_attributes": True},
        msgs({"email": "a@example.com", "LOYALTY": 7, "SIGNUP": "2024-01-02T03:04:05Z"}, sch=sch))
    attrs = {a["name"]: a for a in sandbox.store("brevo")["attributes"]}
    assert attrs["LOYALTY"]["type"] == "float"
    assert attrs["SIGNUP"]["type"] == "date"
    got = contacts(sandbox)["a@example.com"]["attributes"]
    assert (got["LOYALTY"], got["SIGNUP"]) == (7, "2024-01-02")


# --- consent and deletes -------------------------------------------------------------------------
def test_consent_never_resubscribes_and_delete_policies(config, sandbox):
    lid = make_list(sandbox, "Newsletter list")
    for e in ("a@example.com", "b@example.com", "c@example.com", "d@example.com"):
        api(sandbox, "POST", "/contacts", {"email": e, "listIds": [lid], "emailBlacklisted": e == "a@example.com"})
    res = run(config | {"contacts_mode": "single"},
              msgs({"email": "a@example.com", "email_blacklisted": False}, {"email": "c@example.com",
                                                                            "email_blacklisted": True}))
    store = contacts(sandbox)
    assert store["a@example.com"]["emailBlacklisted"] is True  # never re-subscribed
    assert store["c@example.com"]["emailBlacklisted"] is True
    gone = [{"email": "b@example.com", "list_ids": [lid], "deleted": True},
            {"email": "d@example.com", "_sdc_deleted_at": "2026-01-01T00:00:00Z"}]
    res = run(config, msgs(*gone))
    assert res.summary["records_skipped"] == {"deleted_ignored": 2}
    run(config | {"delete_policy": "unlink_lists"}, msgs(gone[0]))
    assert contacts(sandbox)["b@example.com"]["listIds"] == []
    run(config | {"delete_policy": "blocklist"}, msgs(gone[1]))
    assert contacts(sandbox)["d@example.com"]["emailBlacklisted"] is True
    with pytest.raises(ConfigValidationError, match="allow_hard_delete"):
        run(config | {"delete_policy": "delete"}, msgs(gone[1]))
    run(config | {"delete_policy": "delete", "allow_hard_delete": True}, msgs(gone[1]))
    assert "d@example.com" not in contacts(sandbox)


def test_failed_import_rejects_its_rows(config, sandbox):
    sandbox.sb.vendors["brevo"].fail_imports = 1
    rows = [{"email": f"f{i}@example.com"} for i in range(15)]
    res = run(config | {"contacts_mode": "import"}, msgs(*rows))
    assert [r["reason"] for r in res.rejects] == ["import_failed"] * 15
    assert res.rejects[0]["record"] == {"email": "f0@example.com"}
    assert res.rejects[0]["brevo_error"]["status"] == "failed"
    assert res.states == [{"bookmarks": {"contacts": 1}}]  # handled: the rows are in the rejects file
