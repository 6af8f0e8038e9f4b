"""Users: the asynchronous segment export (ZIP of JSON lines), and /users/export/ids."""

from __future__ import annotations

import requests

from tap_braze.client import BrazeStream


def _braze(sandbox):
    return sandbox.sb.vendors["braze"]


def test_segment_export_streams_every_member_with_its_segment(sandbox, conformance, braze_config, run_tap):
    braze = _braze(sandbox)
    braze.users_per_file = 7  # several JSON-lines files in the ZIP
    segments = [braze.segments[i]["id"] for i in (1, 3)]
    run = run_tap({**braze_config, "user_export_segment_ids": segments}, ["users"])
    users = run.records("users")
    for index, seg in zip((1, 3), segments, strict=False):
        got = [u for u in users if u["segment_id"] == seg]
        assert len(got) == len(braze.members(index))
        assert {u["braze_id"] for u in got} == {braze.users[i]["braze_id"] for i in braze.members(index)}
    first = users[0]
    for field in ("external_id", "braze_id", "email", "email_subscribe", "push_subscribe", "custom_attributes",
                  "purchases", "custom_events", "created_at", "total_revenue"):
        assert field in first, field
    assert first["push_opted_in"] == (first["push_subscribe"] == "opted_in")
    assert any(u["purchases"] for u in users)
    assert any(u["custom_events"] for u in users)
    assert "loyalty_points" in first["custom_attributes"]
    exports = sandbox.store("braze")["exports"]
    assert [e["segment_id"] for e in exports] == segments
    assert all(e["downloads"] == 1 for e in exports)


def test_export_is_polled_until_the_zip_appears(sandbox, conformance, braze_config, run_tap):
    _braze(sandbox).export_delay = 0.6
    seg = _braze(sandbox).segments[2]["id"]
    run_tap({**braze_config, "user_export_segment_ids": [seg]}, ["users"])
    downloads = sandbox.requests("braze")["GET /export-files/{file}"]
    assert downloads.get("404", 0) >= 2, downloads  # polled while not ready
    assert downloads["200"] == 1


def test_second_export_while_one_runs_gets_429_and_is_retried(sandbox, conformance, braze_config, run_tap,
                                                              monkeypatch):
    braze = _braze(sandbox)
    braze.export_delay = 1.0
    seg = braze.segments[3]["id"]
    # Someone else's export of the same segment is still running.
    r = requests.post(sandbox.urls["braze"] + "/users/export/segment", headers=sandbox.headers("braze"),
                      json={"segment_id": seg, "fields_to_export": ["braze_id"]}, timeout=10)
    assert r.status_code == 200
    braze.export_delay = 0.05
    monkeypatch.setattr(BrazeStream, "retry_base", 0.4)
    run = run_tap({**braze_config, "user_export_segment_ids": [seg]}, ["users"])
    assert len(run.records("users")) == len(braze.members(3))
    posts = sandbox.requests("braze")["POST /users/export/segment"]
    assert posts["429"] >= 1, posts
    assert posts["200"] == 2, posts


def test_users_by_id_in_chunks_of_50(sandbox, conformance, braze_config, run_tap):
    braze = _braze(sandbox)
    ids = [braze.users[i]["external_id"] for i in range(len(braze.users)) if "external_id" in braze.users[i]]
    ids.append("nobody-knows-me")
    run = run_tap({**braze_config, "user_export_external_ids": ids}, ["users"])
    users = run.records("users")
    assert len(users) == len(ids) - 1
    assert all(u["segment_id"] is None for u in users)
    calls = sandbox.requests("braze")["POST /users/export/ids"]["200"]
    assert calls == -(-len(ids) // 50)
    assert "unknown to Braze" in run.log


def test_export_goes_through_a_temp_file_and_is_read_line_by_line(sandbox, conformance, braze_config, run_tap,
                                                                   monkeypatch):
    import tempfile
    import zipfile

    from tap_braze import client

    opened = []
    real = tempfile.TemporaryFile

    def spy(*args, **kwargs):
        handle = real(*args, **kwargs)
        if kwargs.get("prefix", "").startswith("tap-braze"):  # the sandbox uses temporary files too
            opened.append(handle)
        return handle

    def no_whole_member(*args, **kwargs):
        raise AssertionError("a member must not be read whole")

    monkeypatch.setattr(client.tempfile, "TemporaryFile", spy)
    monkeypatch.setattr(zipfile.ZipFile, "read", no_whole_member)
    braze = _braze(sandbox)
    braze.users_per_file = 4
    run = run_tap({**braze_config, "user_export_segment_ids": [braze.segments[0]["id"]]}, ["users"])
    assert len(run.records("users")) == len(braze.users)
    assert len(opened) == 1
    assert opened[0].closed  # the download is gone once the segment is read


def test_cli_run_writes_records_and_state(sandbox, conformance, braze_config, tmp_path, catalog_for):
    import json
    import subprocess
    import sys

    cfg, cat = tmp_path / "config.json", tmp_path / "catalog.json"
    cfg.write_text(json.dumps(braze_config))
    cat.write_text(json.dumps(catalog_for(braze_config, ["segments", "custom_attributes"])))
    proc = subprocess.run([sys.executable, "-m", "tap_braze.tap", "--config", str(cfg), "--catalog", str(cat)],
                          capture_output=True, text=True, timeout=120, check=True)
    messages = [json.loads(line) for line in proc.stdout.splitlines()]
    kinds = {(m["type"], m.get("stream")) for m in messages}
    assert ("RECORD", "segments") in kinds
    assert ("RECORD", "custom_attributes") in kinds
    assert messages[-1]["type"] == "STATE"
    assert sandbox.api_key not in proc.stdout + proc.stderr
