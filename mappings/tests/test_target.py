"""End to end: recorded Klaviyo tap output -> map-brevo -> target-brevo -> the Brevo sandbox."""

from __future__ import annotations

import json

import pytest


def test_klaviyo_golden_input_loads_into_brevo(sandbox, tmp_path, run_map, fixture_lines):
    testing = pytest.importorskip("target_brevo.testing")
    sandbox.sb.vendors["brevo"].import_delay = 0.05
    mapped = run_map({"preset": "klaviyo", "lists": {"all_contacts": "All contacts", "subscribers": "Subscribers",
                                                     "high_value": "High value"},
                      "list_map": {"Y6nRLr": "Subscribers"}}, fixture_lines("klaviyo.jsonl"))
    config = {"api_url": sandbox.urls["brevo"], "api_key": sandbox.api_key,
              "rejects_path": str(tmp_path / "rejects.jsonl"), "import_poll_initial_seconds": 0.05,
              "backoff_base_seconds": 0.01, "create_missing_attributes": True}
    result = testing.run(config, [json.loads(x) for x in mapped.lines])
    store = sandbox.store("brevo")
    contacts = {c.get("email") or c["attributes"].get("SMS"): c for c in store["contacts"]}
    chloe = contacts["chloé.martin@example.fr"] if "chloé.martin@example.fr" in contacts else contacts["Chloé.Martin@example.fr"]
    assert chloe["attributes"]["FIRSTNAME"] == "Chloé"
    assert chloe["attributes"]["LTV"] == 812.4
    assert chloe["attributes"]["LAST_ORDER_DATE"] == "2026-10-28"
    lists = {lst["name"]: lst["id"] for lst in store["lists"]}
    assert {"All contacts", "Subscribers", "High value"} <= set(lists)
    assert {lists["All contacts"], lists["Subscribers"], lists["High value"]} <= set(chloe["listIds"])
    ana = contacts["ana@example.com"]
    assert lists["High value"] not in ana["listIds"]  # LTV 499.99 (a string in Klaviyo) is below 500
    assert "LAST_ORDER_DATE" not in ana["attributes"]  # 2026-02-30 was caught by the mapper
    names = sorted(e["event_name"] for e in store["events"])
    assert names == ["order_completed", "viewed_page"]
    assert [o["id"] for o in store["orders"]] == ["1001"]
    # the one event without an email is rejected by the target with a reason, not lost
    assert [r["reason"] for r in result.rejects if r["stream"] == "klaviyo_events"] == ["missing_identifier"]
    # STATE reaches the target's stdout unchanged
    assert result.states[-1] == json.loads(fixture_lines("klaviyo.jsonl").decode().splitlines()[-1])["value"]


@pytest.mark.parametrize(("preset", "expected_rejects"), [
    # the phone-only Braze user has a fictional 555 number; its event still reaches Brevo by ext_id
    ("braze", {("braze_contacts", "invalid_phone")}),
    ("iterable", set()),
    ("brevo", set()),
])
def test_other_presets_load_into_brevo(preset, expected_rejects, sandbox, tmp_path, run_map, fixture_lines):
    testing = pytest.importorskip("target_brevo.testing")
    sandbox.sb.vendors["brevo"].import_delay = 0.05
    mapped = run_map({"preset": preset, "lists": {"all_users": "All users", "all_customers": "All customers",
                                                  "newsletter": "Newsletter", "buyers": "Buyers"}},
                     fixture_lines(f"{preset}.jsonl"))
    config = {"api_url": sandbox.urls["brevo"], "api_key": sandbox.api_key,
              "rejects_path": str(tmp_path / "rejects.jsonl"), "import_poll_initial_seconds": 0.05,
              "backoff_base_seconds": 0.01, "create_missing_attributes": True}
    result = testing.run(config, [json.loads(x) for x in mapped.lines])
    summary = result.summary
    out = mapped.summary["records_out"]
    assert summary["records_received"] == out
    rejected = {(r["stream"], r["reason"]) for r in result.rejects}
    assert rejected == expected_rejects
    assert sum(summary["records_received"].values()) == sum(summary["records_accepted"].values()) + len(result.rejects)
