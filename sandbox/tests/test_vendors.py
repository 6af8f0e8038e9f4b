"""The first slice of each vendor: auth, its own pagination style, errors, spec conformance."""

from __future__ import annotations

import pytest

from sandbox.pytest_plugin import AUTH_HEADERS

HEADERS = {v: {k: x.format(key="sandbox-key") for k, x in h.items()} for v, h in AUTH_HEADERS.items()}
# One paginated list endpoint per vendor (the first slice).
LISTS = {"klaviyo": "/api/profiles", "braze": "/campaigns/list", "iterable": "/campaigns", "brevo": "/contacts"}


@pytest.mark.parametrize(
    ("vendor", "headers", "status", "fragment"),
    [
        ("klaviyo", {}, 401, '"code":"not_authenticated"'),
        ("klaviyo", {"Authorization": "Klaviyo-API-Key wrong", "revision": "2026-07-15"}, 401, "Incorrect"),
        ("klaviyo", {"Authorization": "Klaviyo-API-Key sandbox-key"}, 400, "revision"),
        ("klaviyo", {"Authorization": "Klaviyo-API-Key sandbox-key", "revision": "2023-02-22"}, 410, "retired"),
        ("braze", {}, 401, '"message":"Invalid API key'),
        ("braze", {"Authorization": "Bearer wrong"}, 401, "Invalid API key"),
        ("iterable", {}, 401, '"code":"BadApiKey"'),
        ("iterable", {"Api-Key": "wrong"}, 401, '"code":"BadApiKey"'),
        ("brevo", {}, 401, '"message":"authentication not found in headers"'),
        ("brevo", {"api-key": "wrong"}, 401, '"code":"unauthorized"'),
    ],
)
def test_wrong_credentials_get_the_vendors_status_and_body(sandbox, http, conformance, vendor, headers, status, fragment):
    if vendor == "klaviyo" and "revision" not in headers:
        conformance.expect("missing required header revision")
    r = http.get(sandbox.urls[vendor] + LISTS[vendor], headers=headers)
    assert r.status_code == status
    assert fragment in r.text
    assert "sandbox-key" not in r.text


def _walk(http, url, headers, vendor):
    """Follow each vendor's own pagination to the end; return all items and the page count."""
    items, pages = [], 0
    if vendor == "klaviyo":
        next_url, params = url, {"page[size]": 7}
        while next_url:
            body = http.get(next_url, headers=headers, params=params).json()
            params = None  # links.next carries every parameter already
            items += body["data"]
            next_url = body["links"].get("next")
            pages += 1
    elif vendor == "braze":
        page = 0
        while True:
            batch = http.get(url, headers=headers, params={"page": page}).json()["campaigns"]
            pages += 1
            items += batch
            if len(batch) < 100:
                break
            page += 1
    elif vendor == "iterable":
        next_url, params = url, {"page": 1, "pageSize": 3}
        while next_url:
            body = http.get(next_url, headers=headers, params=params).json()
            params = None
            items += body["campaigns"]
            next_url = body.get("nextPageUrl")
            pages += 1
    else:
        offset = 0
        while True:
            body = http.get(url, headers=headers, params={"limit": 4, "offset": offset, "sort": "asc"}).json()
            items += body["contacts"]
            pages += 1
            offset += 4
            if offset >= body["count"]:
                break
    return items, pages


@pytest.mark.parametrize("vendor", list(LISTS))
def test_pagination_walks_every_record_once(sandbox, http, conformance, vendor):
    items, pages = _walk(http, sandbox.urls[vendor] + LISTS[vendor], HEADERS[vendor], vendor)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) > 0
    expected = {"klaviyo": sandbox.sb.scale["profiles"], "braze": sandbox.sb.scale["campaigns"],
                "iterable": sandbox.sb.scale["campaigns"],
                "brevo": len(sandbox.sb.vendors["brevo"].db.contacts)}[vendor]
    assert len(ids) == expected
    if vendor in ("klaviyo", "iterable", "brevo"):
        assert pages > 1
    assert conformance.exchanges == pages


def test_klaviyo_page_size_over_the_maximum_is_a_400(sandbox, http):
    r = http.get(sandbox.urls["klaviyo"] + "/api/profiles", headers=HEADERS["klaviyo"], params={"page[size]": 101})
    assert r.status_code == 400
    assert r.json()["errors"][0]["source"] == {"parameter": "page[size]"}


def test_unknown_path_and_wrong_method(sandbox, http):
    assert http.get(sandbox.urls["brevo"] + "/nope", headers=HEADERS["brevo"]).status_code == 404
    r = http.delete(sandbox.urls["brevo"] + "/contacts", headers=HEADERS["brevo"])
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"


def test_braze_last_edit_filter(sandbox, http):
    url = sandbox.urls["braze"] + "/campaigns/list"
    every = http.get(url, headers=HEADERS["braze"]).json()["campaigns"]
    pivot = sorted(c["last_edited"] for c in every)[len(every) // 2]
    newer = http.get(url, headers=HEADERS["braze"], params={"last_edit.time[gt]": pivot}).json()["campaigns"]
    assert 0 < len(newer) < len(every)
    assert all(c["last_edited"] > pivot for c in newer)
