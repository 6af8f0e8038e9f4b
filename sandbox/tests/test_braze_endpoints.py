"""The Braze fake: pagination styles, export lifecycle, limits, permissions and error bodies."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest

H = {"Authorization": "Bearer sandbox-key"}


def _get(http, sandbox, path, **params):
    return http.get(sandbox.urls["braze"] + path, headers=H, params=params, timeout=10)


def test_every_list_endpoint_conforms(sandbox, conformance, http):
    b = sandbox.sb.vendors["braze"]
    campaign, canvas, segment = b.campaigns[0]["id"], b.canvases[0]["id"], b.segments[1]["id"]
    days = {"start_date": "2025-12-01", "end_date": "2026-11-30"}
    calls = [
        ("/campaigns/list", {}), ("/campaigns/details", {"campaign_id": campaign}),
        ("/campaigns/data_series", {"campaign_id": campaign, "length": 5}),
        ("/canvas/list", {}), ("/canvas/details", {"canvas_id": canvas}),
        ("/canvas/data_series", {"canvas_id": canvas, "ending_at": "2026-11-30T00:00:00Z", "length": 3,
                                 "include_step_breakdown": "true", "include_variant_breakdown": "true"}),
        ("/segments/list", {}), ("/segments/details", {"segment_id": segment}),
        ("/segments/data_series", {"segment_id": segment, "length": 3}),
        ("/events", {}), ("/events/list", {}), ("/events/data_series", {"event": "addToCart", "length": 2}),
        ("/custom_attributes", {}), ("/purchases/product_list", {}),
        ("/purchases/quantity_series", {"length": 2}), ("/purchases/revenue_series", {"length": 2}),
        ("/kpi/dau/data_series", {"length": 2}), ("/kpi/mau/data_series", {"length": 2}),
        ("/kpi/new_users/data_series", {"length": 2}), ("/kpi/uninstalls/data_series", {"length": 2}),
        ("/sessions/data_series", {"length": 2, "unit": "day"}), ("/catalogs", {}),
        ("/catalogs/products/items", {}), ("/content_blocks/list", {"limit": 3}), ("/templates/email/list", {}),
        ("/email/hard_bounces", days), ("/email/unsubscribes", {**days, "sort_direction": "asc"}),
        ("/sms/invalid_phone_numbers", days),
    ]
    for path, params in calls:
        r = _get(http, sandbox, path, **params)
        assert r.status_code == 200, (path, r.text)
        assert r.json()


def test_link_cursor_pages(sandbox, conformance, http):
    b = sandbox.sb.vendors["braze"]
    b.catalog_sizes["products"] = 120
    ids, url = [], sandbox.urls["braze"] + "/catalogs/products/items"
    while url:
        r = http.get(url, headers=H, timeout=10)
        ids += [i["id"] for i in r.json()["items"]]
        url = r.links.get("next", {}).get("url")
    assert len(ids) == 120 == len(set(ids))
    assert "Link" not in _get(http, sandbox, "/catalogs/stores/items").headers  # 50 items or fewer
    bad = _get(http, sandbox, "/catalogs/products/items", cursor="nonsense")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["id"] == "invalid-cursor"
    missing = _get(http, sandbox, "/catalogs/nope/items")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["id"] == "catalog-not-found"
    assert _get(http, sandbox, "/events", cursor="bad").json()["errors"][0]["id"] == "invalid-cursor"
    events = _get(http, sandbox, "/events")
    assert len(events.json()["events"]) == 50
    assert 'rel="next"' in events.headers["Link"]


def test_limit_offset_and_page(sandbox, conformance, http):
    blocks = [_get(http, sandbox, "/content_blocks/list", limit=3, offset=o).json() for o in (0, 3)]
    assert blocks[0]["count"] == len(sandbox.sb.vendors["braze"].content_blocks)
    first = {c["content_block_id"] for c in blocks[0]["content_blocks"]}
    assert first.isdisjoint(c["content_block_id"] for c in blocks[1]["content_blocks"])
    assert _get(http, sandbox, "/campaigns/list", page=1).json()["campaigns"] == []
    assert _get(http, sandbox, "/email/hard_bounces", start_date="2026-01-01", end_date="2026-11-30",
                limit=501).status_code == 400  # limit > 500 is refused


def test_segment_export_lifecycle(sandbox, conformance, http):
    b = sandbox.sb.vendors["braze"]
    b.export_delay, b.users_per_file = 0.3, 10
    seg = b.segments[1]["id"]
    body = {"segment_id": seg, "fields_to_export": ["braze_id", "email", "custom_attributes"]}
    r = http.post(sandbox.urls["braze"] + "/users/export/segment", headers=H, json=body, timeout=10)
    assert r.status_code == 200
    assert r.json()["object_prefix"].startswith(f"segment-export/{seg}/")
    url = r.json()["url"]
    again = http.post(sandbox.urls["braze"] + "/users/export/segment", headers=H, json=body, timeout=10)
    assert again.status_code == 429  # one export per segment at a time
    assert http.get(url, timeout=10).status_code == 404  # not ready yet, as S3 answers
    time.sleep(0.35)
    z = http.get(url, timeout=10)
    assert z.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(z.content))
    lines = [json.loads(x) for n in zf.namelist() for x in zf.read(n).splitlines()]
    assert len(zf.namelist()) == -(-len(b.members(1)) // 10)
    assert len(lines) == len(b.members(1))
    assert set(lines[0]) <= {"braze_id", "email", "custom_attributes"}
    assert http.post(sandbox.urls["braze"] + "/users/export/segment", headers=H,
                     json={"segment_id": seg}, timeout=10).status_code == 400  # fields_to_export is required


def test_export_ids_limits(sandbox, conformance, http):
    url = sandbox.urls["braze"] + "/users/export/ids"
    too_many = http.post(url, headers=H, json={"external_ids": [f"x{i}" for i in range(51)]}, timeout=10)
    assert too_many.status_code == 400
    assert "max number" in too_many.json()["message"]
    ok = http.post(url, headers=H, json={"external_ids": ["cust-42-0000001", "ghost"]}, timeout=10).json()
    assert [u["external_id"] for u in ok["users"]] == ["cust-42-0000001"]
    assert ok["invalid_user_ids"] == ["ghost"]


def test_denied_permission_and_bad_key(sandbox, conformance, http):
    sandbox.sb.vendors["braze"].denied.add("/segments/list")
    r = _get(http, sandbox, "/segments/list")
    assert r.status_code == 403
    assert r.json() == {"message": "Access Denied"}
    bad = http.get(sandbox.urls["braze"] + "/campaigns/list", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad.status_code == 401


def test_group_limits_and_reset_epoch(make_sandbox, http, conformance):
    sb = make_sandbox(vendors="braze", rate_limits="on")
    conformance.attach(sb)
    url = sb.urls["braze"] + "/catalogs"
    statuses = [http.get(url, headers=H, timeout=10) for _ in range(51)]
    assert [r.status_code for r in statuses[:50]] == [200] * 50
    last = statuses[50]
    assert last.status_code == 429
    assert "Retry-After" not in last.headers
    assert last.headers["X-RateLimit-Limit"] == "50"
    assert 0 < int(last.headers["X-RateLimit-Reset"]) - time.time() <= 61
    # Another group is unaffected.
    assert http.get(sb.urls["braze"] + "/campaigns/list", headers=H, timeout=10).headers["X-RateLimit-Limit"] == "250000"


@pytest.mark.slow
def test_large_export_streams(make_sandbox, http):
    sb = make_sandbox(vendors="braze", scale="large")
    b = sb.sb.vendors["braze"]
    b.export_delay = 0
    r = http.post(sb.urls["braze"] + "/users/export/segment", headers=H,
                  json={"segment_id": b.segments[0]["id"], "fields_to_export": ["braze_id"]}, timeout=10)
    size = 0
    with http.get(r.json()["url"], stream=True, timeout=60) as z:
        for chunk in z.iter_content(1 << 20):
            size += len(chunk)
    assert size > 1_000_000
