"""The conformance checker passes good traffic and catches bad requests and bad responses."""

from __future__ import annotations

import pytest

from sandbox.app import Exchange
from sandbox.conformance import Conformance, check_exchange
from sandbox.http import Response, encode
from sandbox.pytest_plugin import AUTH_HEADERS

HEADERS = {v: {k: x.format(key="sandbox-key") for k, x in h.items()} for v, h in AUTH_HEADERS.items()}


def _exchange(vendor, method, path, status=200, response=None, query=None, headers=None, body=b""):
    return Exchange(vendor, method, path, path, query or {}, headers or {}, body, status,
                    "application/json", encode(response) if response is not None else b"")


def test_good_traffic_passes(sandbox, http, conformance):
    for vendor, path in (("klaviyo", "/api/profiles"), ("brevo", "/contacts"), ("iterable", "/campaigns"),
                         ("braze", "/campaigns/list")):
        assert http.get(sandbox.urls[vendor] + path, headers=HEADERS[vendor]).status_code == 200
    assert conformance.exchanges == 4


def test_wrong_request_is_caught():
    problems = check_exchange(_exchange("brevo", "GET", "/contacts", query={"limit": ["5000"], "bogus": ["1"]},
                                        response={"contacts": [], "count": 0}))
    assert any("limit='5000'" in p or "limit=5000" in p for p in problems), problems
    assert any("unknown query parameter bogus" in p for p in problems)
    problems = check_exchange(_exchange("klaviyo", "GET", "/api/profiles", response={"data": [], "links": {"self": "x"}}))
    assert problems == ["klaviyo GET /api/profiles: request: missing required header revision"]
    assert check_exchange(_exchange("brevo", "GET", "/no/such/thing")) == [
        "brevo GET /no/such/thing: request: operation not in spec"]


def test_wrong_response_is_caught():
    bad = {"contacts": [{"id": "not-an-int", "emailBlacklisted": "no"}]}
    problems = check_exchange(_exchange("brevo", "GET", "/contacts", response=bad))
    assert any("count" in p and "required" in p for p in problems), problems
    assert any("emailBlacklisted" in p for p in problems)
    braze = {"message": "success", "campaigns": [{"id": 1}]}
    assert check_exchange(_exchange("braze", "GET", "/campaigns/list", response=braze))  # overlay checks fields


def test_fixture_fails_a_test_on_a_violating_response(sandbox, http):
    checker = Conformance()
    sandbox.sb.observers.append(checker.observe)
    brevo = sandbox.sb.vendors["brevo"]
    route, _, _ = brevo.router.match("GET", "/contacts")
    original = route.handler
    route.handler = lambda req: Response({"contacts": "oops"})
    try:
        http.get(sandbox.urls["brevo"] + "/contacts", headers=HEADERS["brevo"])
    finally:
        route.handler = original
        sandbox.sb.observers.remove(checker.observe)
    with pytest.raises(AssertionError, match="spec violation"):
        checker.check()


def test_expected_violations_must_occur():
    checker = Conformance()
    checker.expect("missing required header revision")
    with pytest.raises(AssertionError, match="did not occur"):
        checker.check()
