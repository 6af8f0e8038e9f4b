"""contacts: incremental on modifiedAt (modified, not only created), keyset paging, UTC timestamps."""

from __future__ import annotations

from datetime import timedelta

from tap_brevo.testing import run_tap


def test_rerun_with_state_reads_modified_and_new_contacts_only(sandbox, config, conformance, queries):
    first = run_tap(config, ["contacts"])
    db = sandbox.sb.vendors["brevo"].db
    assert {r["id"] for r in first.records["contacts"]} == set(db.contacts)
    bookmark = first.state["bookmarks"]["contacts"]["replication_key_value"]
    assert bookmark == max(r["modifiedAt"] for r in first.records["contacts"])

    # An old contact is modified (not created) after the first sync, and a new one is created.
    oldest = min(db.contacts.values(), key=lambda c: c.created_at)
    oldest.attributes["FIRSTNAME"] = "Renamed"
    oldest.modified_at = sandbox.sb.now() + timedelta(seconds=1)
    new = db.new_contact(sandbox.sb.now() + timedelta(seconds=1), "fresh.contact@example.com")

    second = run_tap(config, ["contacts"], state=first.state)
    got = {r["id"]: r for r in second.records["contacts"]}
    assert oldest.id in got
    assert new.id in got
    assert got[oldest.id]["attributes"]["FIRSTNAME"] == "Renamed"
    # Only the changed ones, plus the contact at the bookmark itself (the filter is inclusive).
    assert set(got) - {oldest.id, new.id} <= {r["id"] for r in first.records["contacts"]
                                               if r["modifiedAt"] == bookmark}
    # The filter carried a timezone and went out URL-encoded: an unencoded "+" would have
    # reached the server as a space (and been refused with a 400).
    sent = [q for path, q in queries if path == "/contacts"][-1]
    assert sent["modifiedSince"][0].endswith("+00:00")
    assert sent["sort"] == ["asc"]
    assert sent["limit"] == ["1000"]


def test_timestamps_with_offsets_are_normalised_to_utc(sandbox, config):
    raw = sandbox.sb.vendors["brevo"].db.contacts[1].to_api(offset_minutes=60)
    assert raw["modifiedAt"].endswith("+01:00")  # what the sandbox serves, like an account timezone
    run = run_tap(config, ["contacts"])
    rec = next(r for r in run.records["contacts"] if r["id"] == 1)
    c = sandbox.sb.vendors["brevo"].db.contacts[1]
    assert rec["modifiedAt"] == c.modified_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert rec["createdAt"].endswith("Z")


def test_large_account_pages_by_created_since_not_deep_offsets(make_sandbox, conformance):
    sb = make_sandbox(vendors="brevo", scale={"brevo_contacts": 2600, "profiles": 60})
    conformance.attach(sb)
    seen = []
    sb.sb.observers.append(lambda ex: seen.append(ex) if ex.path == "/contacts" else None)
    cfg = {"api_key": sb.api_key, "api_url": sb.urls["brevo"], "rate_limit_plan": "off",
           "start_date": "2020-01-01T00:00:00Z"}
    run = run_tap(cfg, ["contacts"])
    ids = [r["id"] for r in run.records["contacts"]]
    assert len(ids) == len(set(ids)) == len(sb.sb.vendors["brevo"].db.contacts) > 2000
    assert len(seen) >= 3
    assert all(ex.query.get("offset") == ["0"] for ex in seen)  # never a deep offset
    assert all("createdSince" in ex.query for ex in seen[1:])
    assert all(ex.query["modifiedSince"] == ["2020-01-01T00:00:00.000+00:00"] for ex in seen)


def test_offset_pagination_setting_still_reads_everything(make_sandbox):
    sb = make_sandbox(vendors="brevo", scale={"brevo_contacts": 1500, "profiles": 60})
    cfg = {"api_key": sb.api_key, "api_url": sb.urls["brevo"], "rate_limit_plan": "off",
           "contacts_pagination": "offset"}
    run = run_tap(cfg, ["contacts"])
    assert len({r["id"] for r in run.records["contacts"]}) == len(sb.sb.vendors["brevo"].db.contacts)


def test_list_contacts_child_reads_each_lists_members(sandbox, config, conformance, queries):
    run = run_tap({**config, "start_date": "2020-01-01T00:00:00Z"}, ["lists", "list_contacts"])
    db = sandbox.sb.vendors["brevo"].db
    got = {(r["list_id"], r["id"]) for r in run.records["list_contacts"]}
    want = {(lid, c.id) for c in db.contacts.values() for lid in c.list_ids}
    assert got == want
    assert want
    child = [q for path, q in queries if path.endswith("/contacts") and path.startswith("/contacts/lists/")]
    assert all(q["limit"] == ["500"] and "modifiedSince" in q for q in child)
    assert len(run.state["bookmarks"]["list_contacts"]["partitions"]) == len(db.lists)


def test_keyset_reads_each_contact_once_when_thousands_share_a_millisecond(make_sandbox, conformance):
    sb = make_sandbox(vendors="brevo", scale={"brevo_contacts": 20, "profiles": 60})
    conformance.attach(sb)
    db = sb.sb.vendors["brevo"].db
    instant = sb.sb.now().replace(microsecond=0)
    for i in range(2300):  # a bulk import: one creation millisecond for 2,300 contacts
        db.new_contact(instant, f"bulk{i}@example.com")
    for i in range(1200):  # then one millisecond later, and later still
        db.new_contact(instant + timedelta(milliseconds=1 + i // 900), f"after{i}@example.com")
    cfg = {"api_key": sb.api_key, "api_url": sb.urls["brevo"], "rate_limit_plan": "off"}
    run = run_tap(cfg, ["contacts"])
    ids = [r["id"] for r in run.records["contacts"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(db.contacts)
