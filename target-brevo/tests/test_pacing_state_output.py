"""Behaviours 8-12: rate limits and retries, STATE, rejects and summary, secrets, bad input."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys

import pytest

from target_brevo.client import BrevoClient, TokenBucket
from target_brevo.target import TargetBrevo
from target_brevo.testing import CONTACT_SCHEMA, EVENT_SCHEMA, lines, record, run, schema, state


def calls(sandbox, endpoint):
    return sum(sandbox.requests("brevo").get(endpoint, {}).values())


def contact_msgs(n=30, prefix="u", bookmark=1):
    return [schema("contacts", base=CONTACT_SCHEMA),
            *[record("contacts", {"email": f"{prefix}{i}@example.com", "FIRSTNAME": "F"}) for i in range(n)],
            state({"bookmarks": {"contacts": bookmark}})]


# --- 8. rate limits and retries -------------------------------------------------------------------
def test_token_bucket_paces_to_the_rate():
    now = [100.0]
    slept = []
    bucket = TokenBucket(10, 1.0, stamp=100.0, clock=lambda: now[0])

    def fake_sleep(s):
        slept.append(s)
        now[0] += s

    for _ in range(25):
        bucket.acquire(fake_sleep)
    assert sum(slept) == pytest.approx(1.5)
    bucket.block(3.0)
    bucket.acquire(fake_sleep)
    assert slept[-1] == pytest.approx(3.0)


def test_plan_scales_rates_and_headers_block_the_bucket():
    free = BrevoClient("https://x.test/v3", "k", plan="free")
    pro = BrevoClient("https://x.test/v3", "k", plan="professional")
    assert (free.buckets["contacts"].rate, pro.buckets["contacts"].rate) == (10, 20)
    assert (free.buckets["default"].rate, free.buckets["default"].per) == (100, 3600)

    class Resp:
        headers = {"x-sib-ratelimit-remaining": "0", "x-sib-ratelimit-reset": "0.25"}

    free._adapt(free.buckets["contacts"], Resp())
    slept = []
    free.buckets["contacts"].acquire(slept.append)
    assert slept
    assert 0.2 < slept[0] <= 0.25


def test_429_waits_for_reset_and_5xx_reset_truncation_are_retried(config, sandbox, caplog):
    sandbox.faults("ratelimit#1~/contacts/import,503#2~/contacts/attributes,truncate#1~/processes,"
                   "reset#1~/contacts/lists")
    with caplog.at_level(logging.INFO):
        res = run(config | {"contacts_mode": "import"}, contact_msgs())
    assert res.summary["rate_limited_429"] == 1
    assert res.summary["retries"] >= 4
    assert res.summary["records_accepted"] == {"contacts": 30}
    emails = {c.get("email") for c in sandbox.store("brevo")["contacts"]}
    assert {f"u{i}@example.com" for i in range(30)} <= emails
    assert "waiting" in caplog.text


def test_other_4xx_never_retried_and_request_id_logged(config, sandbox, caplog):
    with caplog.at_level(logging.INFO):
        res = run(config | {"contacts_mode": "import", "default_list_ids": [987654]}, contact_msgs(3))
    assert calls(sandbox, "POST /contacts/import") == 1
    assert {r["reason"] for r in res.rejects} == {"import_rejected"}
    assert res.rejects[0]["brevo_error"]["code"] == "document_not_found"
    assert "sib-request-id=sandbox-" in caplog.text


# --- 9. STATE ------------------------------------------------------------------------------------
def test_state_only_after_imports_completed(config, sandbox, monkeypatch):
    sandbox.sb.vendors["brevo"].import_delay = 0.3
    seen = []
    original = TargetBrevo._write_state_message

    def spy(self, st):
        original(self, st)
        seen.append((st, [p["status"] for p in sandbox.store("brevo")["processes"]], len(self.account.pending)))

    monkeypatch.setattr(TargetBrevo, "_write_state_message", spy)
    res = run(config | {"contacts_mode": "import", "batch_size_rows": 10, "import_max_bytes": 1500},
              contact_msgs(30))
    assert res.states == [{"bookmarks": {"contacts": 1}}]
    ((st, statuses, pending),) = seen
    assert st == {"bookmarks": {"contacts": 1}}
    assert len(statuses) >= 2
    assert set(statuses) == {"completed"}
    assert pending == 0


def test_replay_creates_no_duplicates(config, sandbox):
    run(config | {"contacts_mode": "import"}, contact_msgs(20))
    before = len(sandbox.store("brevo")["contacts"])
    run(config | {"contacts_mode": "import"}, contact_msgs(20))
    run(config | {"contacts_mode": "single"}, contact_msgs(5))
    assert len(sandbox.store("brevo")["contacts"]) == before


# --- 10. rejects, summary, dry run ---------------------------------------------------------------
def test_rejects_file_and_summary(config, sandbox):
    msgs = contact_msgs(3)
    msgs.insert(2, record("contacts", {"FIRSTNAME": "nobody"}))
    res = run(config | {"contacts_mode": "import"}, msgs)
    assert stat.S_IMODE(os.stat(config["rejects_path"]).st_mode) == 0o600
    (rej,) = res.rejects
    assert set(rej) == {"stream", "record_key", "reason", "message", "brevo_error", "record"}
    assert (rej["stream"], rej["reason"], rej["record"]) == ("contacts", "missing_identifier", {"FIRSTNAME": "nobody"})
    s = res.summary
    assert s["records_received"] == {"contacts": 4}
    assert s["records_accepted"] == {"contacts": 3}
    assert s["records_rejected_by_reason"] == {"missing_identifier": 1}
    assert s["api_calls"]["POST /contacts/import"] == 1
    assert {"rate_limited_429", "retries", "elapsed_seconds"} <= set(s)


def test_dry_run_writes_nothing(config, sandbox):
    before = sandbox.store("brevo")
    msgs = [*contact_msgs(30)[:-1], record("contacts", {"email": "bad"}),
            record("contacts", {"email": "l@example.com", "list_names": ["Brand new list"]}),
            schema("events", base=EVENT_SCHEMA),
            record("events", {"event_name": "x", "identifiers": {"email_id": "a@example.com"}}), state({"s": 1})]
    res = run(config | {"dry_run": True}, msgs)
    methods = {k.split()[0] for k in sandbox.requests("brevo")}
    assert methods == {"GET"}
    assert sandbox.store("brevo") == before
    would = res.summary["dry_run_would_write"]
    assert would["contacts_upserted_via_import"] == 31
    # "Brand new list" and the list imports go to when no default_list_ids are set.
    assert (would["lists_created"], would["events_sent"]) == (2, 1)
    assert res.summary["records_rejected_by_reason"] == {"invalid_email": 1}
    assert res.states == [{"s": 1}]


# --- 11/12. CLI: secrets, URL policy, bad input (as a subprocess) ----------------------------------
def cli(config, text, tmp_path, env=None):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run([sys.executable, "-m", "target_brevo", "--config", str(path)], input=text,
                          capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
                          check=False)


def test_secret_never_in_output_even_at_debug(make_sandbox, tmp_path, conformance):
    key = "xkeysib-TopSecret-0123456789"
    sb = make_sandbox(vendors="brevo", api_key=key)
    conformance.attach(sb)
    sb.sb.vendors["brevo"].import_delay = 0.05
    cfg = {"api_url": sb.urls["brevo"], "api_key": key, "rejects_path": str(tmp_path / "r.jsonl"),
           "import_poll_initial_seconds": 0.05, "default_list_ids": [424242]}
    msgs = contact_msgs(12)
    msgs.insert(1, record("contacts", {"email": "broken"}))
    proc = cli(cfg, lines(msgs), tmp_path, {"LOGLEVEL": "DEBUG"})
    rejects = (tmp_path / "r.jsonl").read_text()
    assert "import_rejected" in rejects
    assert "DEBUG" in proc.stderr
    for text in (proc.stdout, proc.stderr, rejects):
        assert key not in text
        assert "TopSecret" not in text
    bad = cli(cfg | {"api_key": key + "-wrong"}, lines(contact_msgs(12)), tmp_path, {"LOGLEVEL": "DEBUG"})
    assert bad.returncode == 1
    assert "HTTP 401" in bad.stderr
    assert "TopSecret" not in bad.stdout + bad.stderr
    assert bad.stdout == ""


@pytest.mark.parametrize("url", ["http://api.brevo.example/v3", "ftp://127.0.0.1/v3"])
def test_plain_http_refused_unless_loopback(url, tmp_path):
    proc = cli({"api_url": url, "api_key": "k"}, "", tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("target-brevo: error: api_url must use https")
    assert "Traceback" not in proc.stderr


def test_bad_input_is_located_never_a_traceback(config, sandbox, tmp_path):
    msgs = contact_msgs(3)
    text = lines(msgs[:2]) + "{not json\n" + lines(msgs[2:])
    proc = cli(config, text, tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(config["rejects_path"]) as fh:
        rejects = [json.loads(x) for x in fh]
    assert [(r["reason"], r["record_key"]) for r in rejects] == [("malformed_json", "line:3")]
    assert json.loads(proc.stdout) == {"bookmarks": {"contacts": 1}}

    before_schema = cli(config, lines([record("contacts", {"email": "a@example.com"})]), tmp_path)
    assert before_schema.returncode == 1
    assert "input line 1: RECORD for stream 'contacts' before its SCHEMA" in before_schema.stderr
    unknown = cli(config, lines([schema("users", {})]), tmp_path)
    assert unknown.returncode == 1
    assert "'users'" in unknown.stderr
    assert "stream_types" in unknown.stderr
    for p in (before_schema, unknown):
        assert "Traceback" not in p.stderr


def test_schema_violations_and_oversized_rows_are_rejects(config, sandbox):
    sch = {"type": "object", "properties": {"email": {"type": "string"}, "AGE": {"type": "integer"}},
           "required": ["email"]}
    msgs = [schema("contacts", base=sch), record("contacts", {"email": "a@example.com", "AGE": "old"}),
            record("contacts", {"AGE": 3}), record("contacts", {"email": "b@example.com", "AGE": 5})]
    res = run(config | {"import_max_bytes": 400}, msgs)
    assert [r["reason"] for r in res.rejects] == ["schema_violation", "schema_violation"]
    big = [schema("contacts", base=CONTACT_SCHEMA), record("contacts", {"email": "c@example.com",
                                                                        "FIRSTNAME": "x" * 500})]
    res = run(config | {"import_max_bytes": 400, "contacts_mode": "import",
                        "rejects_path": config["rejects_path"] + "2"}, big)
    assert [r["reason"] for r in res.rejects] == ["payload_too_large"]


def test_adapts_to_sandbox_rate_limit_headers(make_sandbox, tmp_path, conformance):
    """Brevo's real windows (contacts: 10 per second). The client, told to go faster, meets
    remaining=0 (or a 429) and waits for the resets."""
    sb = make_sandbox(vendors="brevo", rate_limits="on")
    conformance.attach(sb)
    cfg = {"api_url": sb.urls["brevo"], "api_key": sb.api_key, "rejects_path": str(tmp_path / "r.jsonl"),
           "contacts_mode": "single", "rate_limits": {"contacts": 1000}, "backoff_base_seconds": 0.01}
    res = run(cfg, contact_msgs(25))
    assert res.summary["records_accepted"] == {"contacts": 25}
    assert res.summary["seconds_waiting_for_rate_limits"] > 0.5
    assert res.summary["api_calls"]["POST /contacts"] == 25 + res.summary["rate_limited_429"]
    emails = {c.get("email") for c in sb.store("brevo")["contacts"]}
    assert {f"u{i}@example.com" for i in range(25)} <= emails
