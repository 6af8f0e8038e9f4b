"""Non-export streams, hosts, settings, secrets and schemas."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
import requests

from tap_iterable.client import api_url, describe, number
from tap_iterable.streams import EVENT_TYPES, stream_name
from tap_iterable.tap import TapIterable

H = {"Api-Key": "sandbox-key"}


@pytest.mark.parametrize(("config", "expected"), [
    ({}, "https://api.iterable.com/api"),
    ({"region": "us"}, "https://api.iterable.com/api"),
    ({"region": "eu"}, "https://api.eu.iterable.com/api"),
    ({"region": "eu", "api_url": "https://proxy.example.com/api/"}, "https://proxy.example.com/api"),
])
def test_region_selects_the_host_and_api_url_overrides(config, expected):
    assert api_url(config) == expected
    tap = TapIterable(config={"api_key": "k", "start_date": "2025-01-01T00:00:00Z", **config})
    assert {s.url_base for s in tap.streams.values()} == {expected}


def test_region_is_validated():
    with pytest.raises(Exception, match="Config validation failed"):
        TapIterable(config={"api_key": "k", "start_date": "2025-01-01T00:00:00Z", "region": "apac"},
                    validate_config=True)


@pytest.mark.parametrize("url", ["http://api.iterable.com/api", "ftp://127.0.0.1/api"])
def test_plain_http_is_refused_except_on_loopback(tmp_path, url):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"api_key": "k", "start_date": "2025-01-01T00:00:00Z", "api_url": url}))
    p = subprocess.run([sys.executable, "-m", "tap_iterable.tap", "--config", str(cfg), "--discover"],
                       capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode != 0
    assert "api_url must use https" in p.stderr
    assert "Traceback" not in p.stderr
    for ok in ("http://127.0.0.1:9/api", "http://localhost:9/api", "http://[::1]:9/api"):
        TapIterable(config={"api_key": "k", "start_date": "2025-01-01T00:00:00Z", "api_url": ok})


def test_stream_names_follow_the_contract():
    names = {stream_name(t) for t in EVENT_TYPES}
    assert {"email_send", "email_open", "email_click", "email_bounce", "email_complaint", "email_subscribe",
            "email_unsubscribe", "email_send_skip", "hosted_unsubscribe_click", "push_send", "push_open",
            "push_bounce", "push_uninstall", "push_send_skip", "in_app_send", "in_app_open", "in_app_click",
            "in_app_close", "in_app_delete", "in_app_delivery", "in_app_send_skip", "sms_send", "sms_bounce",
            "sms_click", "sms_received", "sms_send_skip", "web_push_send", "web_push_click",
            "web_push_send_skip", "whatsapp_send", "purchase", "custom_event", "journey_exit"} <= names
    tap = TapIterable(config={"api_key": "k", "start_date": "2025-01-01T00:00:00Z",
                              "event_types": ["emailOpen", "purchase", "custom_event"]})
    assert {"email_open", "purchase", "custom_event", "users", "lists", "templates"} <= set(tap.streams)
    assert "email_send" not in tap.streams
    assert tap.streams["email_open"].primary_keys == ["messageId"]
    assert tap.streams["purchase"].primary_keys == ["id"]


def test_list_users_parses_plain_text(sandbox, conformance, run, tap_config):
    out = run(tap_config, ["lists", "list_users"])
    lists = out["records"]["lists"]
    members = out["records"]["list_users"]
    for lst in lists:
        text = requests.get(sandbox.urls["iterable"] + "/lists/getUsers", headers=H,
                            params={"listId": lst["id"]}, timeout=30).text
        assert sorted(m["email"] for m in members if m["listId"] == lst["id"]) == sorted(text.split())
    assert members
    assert all(set(m) == {"listId", "email"} for m in members)
    by_id = run({**tap_config, "list_users_prefer_user_id": True}, ["lists", "list_users"])
    assert all(m["userId"].startswith("cust-") for m in by_id["records"]["list_users"])


def test_metrics_csv_is_parsed_into_typed_records(sandbox, conformance, run, tap_config):
    out = run({**tap_config, "metrics_batch_size": 3}, ["campaign_metrics", "experiments_metrics"])
    metrics = out["records"]["campaign_metrics"]
    campaigns = requests.get(sandbox.urls["iterable"] + "/campaigns", headers=H, params={"pageSize": 1000},
                             timeout=30).json()["campaigns"]
    assert sorted(m["campaignId"] for m in metrics) == sorted(c["id"] for c in campaigns)
    assert sandbox.requests("iterable")["GET /api/campaigns/metrics"]["200"] == 3  # 8 ids, 3 per request
    one = metrics[0]["metrics"]
    assert isinstance(one["Emails Sent"], int)
    assert isinstance(one["Email Delivery Rate"], float)
    experiments = out["records"]["experiments_metrics"]
    assert experiments
    assert {e["variant"] for e in experiments} == {"Control", "Variant A"}
    assert all(isinstance(e["experimentId"], int) and "Confidence" in e["metrics"] for e in experiments)


def test_csv_cells_and_error_bodies():
    assert number("") is None
    assert number("12") == 12
    assert number("0.5") == 0.5
    assert number("n/a") == "n/a"
    r = requests.Response()
    r.status_code, r._content, r.reason = 401, b'{"msg": "Invalid API key", "code": "BadApiKey"}', "Unauthorized"
    assert describe(r) == "HTTP 401 BadApiKey: Invalid API key"


def test_campaigns_are_filtered_on_updated_at_client_side(sandbox, conformance, run, tap_config):
    first = run(tap_config, ["campaigns"])
    every = first["records"]["campaigns"]
    assert len(every) == 8
    cut = sorted(c["updatedAt"] for c in every)[5]
    state = {"bookmarks": {"campaigns": {"replication_key": "updatedAt", "replication_key_value": cut}}}
    second = run(tap_config, ["campaigns"], state=state)
    assert sorted(c["id"] for c in second["records"]["campaigns"]) == sorted(c["id"] for c in every if c["updatedAt"] >= cut)
    assert second["state"]["bookmarks"]["campaigns"]["replication_key_value"] == max(c["updatedAt"] for c in every)


def test_templates_reread_finds_old_templates_edited_recently(sandbox, conformance, run, tap_config):
    first = run(tap_config, ["templates"])
    every = first["records"]["templates"]
    assert {t["messageMedium"] for t in every} == {"Email", "Push", "SMS", "InApp"}
    cut = max(t["updatedAt"] for t in every) - 3 * 86_400_000
    edited_old = {t["templateId"] for t in every if t["updatedAt"] >= cut and t["createdAt"] < cut - 30 * 86_400_000}
    assert edited_old
    parts = [{"context": {"messageMedium": m}, "replication_key": "updatedAt", "replication_key_value": cut}
             for m in ("Email", "Push", "SMS", "InApp")]
    again = run(tap_config, ["templates"], state={"bookmarks": {"templates": {"partitions": parts}}})
    got = {t["templateId"] for t in again["records"]["templates"]}
    assert got == {t["templateId"] for t in every if t["updatedAt"] >= cut}
    assert edited_old <= got
    # a short re-read window (created-at filter) is cheaper but cannot see those edits
    short = run({**tap_config, "template_reread_days": 1}, ["templates"],
                state={"bookmarks": {"templates": {"partitions": parts}}})
    assert not edited_old & {t["templateId"] for t in short["records"]["templates"]}


def test_reference_streams(sandbox, conformance, run, tap_config):
    names = ["channels", "message_types", "user_fields", "catalogs", "catalog_items", "journeys"]
    out = run(tap_config, names)
    assert out["error"] is None
    recs = out["records"]
    assert len(recs["channels"]) == 4
    assert {f["name"] for f in recs["user_fields"]} >= {"email", "userId", "firstName"}
    assert {c["name"] for c in recs["catalogs"]} == {"products", "stores"}
    assert len(recs["catalog_items"]) == 12 + 3
    assert all(isinstance(i["value"], dict) for i in recs["catalog_items"])
    assert recs["journeys"]
    assert not any(j["isArchived"] for j in recs["journeys"])


def test_bad_key_shows_iterables_code_and_never_the_key(sandbox, conformance, run, tap_config, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "wrong-key-7f3a9c"
    out = run({**tap_config, "api_key": secret}, ["email_send", "channels"])
    assert "BadApiKey" in str(out["error"])
    assert "region" in str(out["error"])
    assert secret not in str(out["error"])
    assert secret not in out["stdout"]
    assert secret not in caplog.text


def test_the_key_never_appears_in_output_even_at_debug(sandbox, conformance, tmp_path, tap_config):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({**tap_config, "end_date": "2025-06-01T00:00:00Z", "event_types": ["purchase"]}))
    sandbox.faults("503#1~/api/channels,ratelimit#1~/export/data.json")
    p = subprocess.run([sys.executable, "-m", "tap_iterable.tap", "--config", str(cfg)], capture_output=True,
                       text=True, timeout=120, check=False, env={"LOGLEVEL": "DEBUG", "PATH": "/usr/bin"})
    assert p.returncode == 0, p.stderr[-2000:]
    assert '"stream":"purchase"' in p.stdout.replace(" ", "")
    assert "DEBUG" in p.stderr
    assert sandbox.api_key not in p.stdout
    assert sandbox.api_key not in p.stderr
    about = subprocess.run([sys.executable, "-m", "tap_iterable.tap", "--about", "--format", "json"],
                           capture_output=True, text=True, timeout=60, check=False)
    settings = json.loads(about.stdout)["settings"]["properties"]
    assert settings["api_key"]["secret"] is True


SWAGGER = {"campaigns": "CampaignDetails", "lists": "ListDetails", "templates": "ApiTemplateResponse",
           "channels": "ChannelDetails", "message_types": "MessageTypeDetails", "journeys": "JourneyDetails",
           "catalog_items": "CatalogItemWithProperties", "catalogs": "CatalogName"}


@pytest.mark.parametrize(("stream", "definition"), SWAGGER.items())
def test_schemas_cover_the_swagger_definitions(stream, definition):
    from sandbox.conformance import (
        load_spec,  # the swagger with the sandbox's documented corrections
    )

    spec = load_spec("iterable")
    props = spec.doc["definitions"][definition]["properties"]
    ours = TapIterable(config={"api_key": "k", "start_date": "2025-01-01T00:00:00Z"}).streams[stream].schema["properties"]
    compatible = {"integer": {"integer"}, "number": {"integer", "number"}, "string": {"string"},
                  "boolean": {"boolean"}, "array": {"array"}, "object": {"object"}}
    for name, raw in props.items():
        assert name in ours, f"{stream}.{name} ({definition}) missing from our schema"
        prop = spec.deref(raw)
        kind = prop.get("type", "object")
        types = set(ours[name]["type"]) - {"null"}
        assert types <= compatible[kind] | ({"string"} if prop.get("format") == "date-time" else set()), \
            f"{stream}.{name}: ours {types}, swagger {kind}"


def test_cut_and_garbled_bodies_are_retried(sandbox, conformance, run, tap_config):
    sandbox.faults("truncate#1~/api/channels,invalid_json#1~/api/journeys,truncate#1~/api/campaigns/metrics,"
                   "503#1~/api/lists/getUsers,invalid_json#1~/api/campaigns$")
    out = run(tap_config, ["channels", "journeys", "campaign_metrics", "lists", "list_users"])
    assert out["error"] is None
    assert len(out["records"]["channels"]) == 4
    assert out["records"]["journeys"]
    assert len(out["records"]["campaign_metrics"]) == 8
    assert out["records"]["list_users"]
    assert sandbox.requests("iterable")["GET /api/channels"] == {"200": 2}  # the cut one, then the retry
