"""Klaviyo fake: the route table matches the spec; filters, pages and errors behave like Klaviyo."""

from __future__ import annotations

import json

import pytest

from sandbox.conformance import specs_dir
from sandbox.vendors.klaviyo import ROUTES, TIERS, parse_filter

SPEC = json.loads((specs_dir() / "klaviyo" / "stable.json").read_text())


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES))
def test_route_table_matches_the_spec(method, path):
    op = SPEC["paths"][path][method.lower()]
    tier, scopes, default, maximum = ROUTES[(method, path)]
    burst, steady = TIERS[tier]
    limit = op["x-klaviyo-ratelimit"]
    assert (f"{burst.limit}/s", f"{steady.limit}/m") == (limit["burst"], limit["steady"])
    assert sorted(scopes) == sorted(op["x-klaviyo-scopes"])
    sizes = [p["schema"] for p in op.get("parameters", []) if p.get("name") == "page[size]"]
    if sizes:
        assert (default, maximum) == (sizes[0]["default"], sizes[0]["maximum"])
    else:
        assert maximum is None


def test_filter_grammar():
    terms = parse_filter("and(equals(messages.channel,'email'),greater-than(updated_at,2026-01-01T00:00:00Z),"
                         'any(id,["a","b"]),equals(archived,true))')
    assert [(t.op, t.field) for t in terms] == [("equals", "messages.channel"), ("greater-than", "updated_at"),
                                                ("any", "id"), ("equals", "archived")]
    assert terms[0].value == "email"
    assert terms[2].value == ["a", "b"]
    assert terms[3].value is True
    assert terms[1].value.year == 2026
    assert not terms[1].quoted


def test_unquoted_string_and_quoted_datetime_are_400s(sandbox, http):
    url = sandbox.urls["klaviyo"]
    h = sandbox.headers("klaviyo")
    r = http.get(url + "/api/campaigns", headers=h, params={"filter": "equals(messages.channel,email)"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["source"]["parameter"] == "filter"
    r = http.get(url + "/api/flows", headers=h, params={"filter": "greater-than(updated,'2026-01-01T00:00:00Z')"})
    assert r.status_code == 400


def test_campaigns_need_a_channel_and_hide_archived_by_default(sandbox, http, conformance):
    conformance.expect(r"campaigns: request: missing required query parameter filter")
    url, h = sandbox.urls["klaviyo"] + "/api/campaigns", sandbox.headers("klaviyo")
    assert http.get(url, headers=h).status_code == 400
    plain, archived = [], []
    for ch in ("email", "sms", "mobile_push"):
        plain += http.get(url, headers=h, params={"filter": f"equals(messages.channel,'{ch}')"}).json()["data"]
        archived += http.get(url, headers=h, params={
            "filter": f"and(equals(messages.channel,'{ch}'),equals(archived,true))"}).json()["data"]
    assert not any(c["attributes"]["archived"] for c in plain)
    assert archived
    assert all(c["attributes"]["archived"] for c in archived)


def test_events_include_joins_real_profiles_and_metrics(sandbox, http, conformance):
    r = http.get(sandbox.urls["klaviyo"] + "/api/events", headers=sandbox.headers("klaviyo"),
                 params={"include": "metric,profile", "page[size]": 50, "sort": "datetime"}).json()
    included = {(i["type"], i["id"]) for i in r["included"]}
    for e in r["data"]:
        assert ("metric", e["relationships"]["metric"]["data"]["id"]) in included
        assert ("profile", e["relationships"]["profile"]["data"]["id"]) in included
    times = [e["attributes"]["datetime"] for e in r["data"]]
    assert times == sorted(times)


def test_page_size_limits_follow_the_spec(sandbox, http, conformance):
    conformance.expect(r"page\[size\]=11")
    r = http.get(sandbox.urls["klaviyo"] + "/api/lists", headers=sandbox.headers("klaviyo"),
                 params={"page[size]": 11})
    assert r.status_code == 400


def test_advance_reveals_new_profiles_and_events(sandbox, http):
    url, h = sandbox.urls["klaviyo"], sandbox.headers("klaviyo")
    flt = {"filter": "greater-than(updated,2026-11-30T00:00:00Z)", "page[size]": 100}
    assert http.get(url + "/api/profiles", headers=h, params=flt).json()["data"] == []
    sandbox.advance(days=1)
    assert len(http.get(url + "/api/profiles", headers=h, params=flt).json()["data"]) >= 24
    ev = http.get(url + "/api/events", headers=h, params={
        "filter": "and(greater-than(datetime,2026-11-30T00:00:00Z),less-than(datetime,2026-12-30T00:00:00Z))"}).json()
    assert ev["data"]


@pytest.mark.parametrize("path", ["/api/events", "/api/campaigns", "/api/coupon-codes"])
def test_missing_revision_is_a_400_with_klaviyos_error_body(sandbox, http, path):
    r = http.get(sandbox.urls["klaviyo"] + path, headers={"Authorization": f"Klaviyo-API-Key {sandbox.api_key}"})
    assert r.status_code == 400
    err = r.json()["errors"][0]
    assert err["code"] == "missing_revision"
    assert {"id", "title", "detail", "source"} <= set(err)


def test_a_key_without_the_scope_gets_a_403_naming_it(sandbox, http):
    h = {**sandbox.headers("klaviyo"), "Authorization": f"Klaviyo-API-Key {sandbox.api_key}-profiles-only"}
    assert http.get(sandbox.urls["klaviyo"] + "/api/profiles", headers=h).status_code == 200
    r = http.get(sandbox.urls["klaviyo"] + "/api/events", headers=h)
    assert r.status_code == 403
    assert "events:read" in r.json()["errors"][0]["detail"]
