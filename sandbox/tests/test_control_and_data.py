"""/_sandbox endpoints, the CLI, persistence, and the seeded data's properties."""

from __future__ import annotations

import json
import subprocess
import sys

import phonenumbers
import pytest

from sandbox import Sandbox, data
from sandbox.pytest_plugin import AUTH_HEADERS

HEADERS = {v: {k: x.format(key="sandbox-key") for k, x in h.items()} for v, h in AUTH_HEADERS.items()}


def test_serve_prints_one_json_line_with_base_urls():
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "serve", "--port", "0", "--scale", "tiny"],
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["urls"]["iterable"].endswith("/iterable/api")
        assert info["urls"]["brevo"].endswith("/brevo/v3")
        assert info["urls"]["klaviyo"].startswith("http://127.0.0.1:")
        import requests

        assert requests.get(info["sandbox"] + "/_sandbox/config", timeout=5).json()["seed"] == 42
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


def test_control_endpoints(sandbox, http):
    base = sandbox.base_url + "/_sandbox"
    http.get(sandbox.urls["brevo"] + "/contacts", headers=HEADERS["brevo"])
    stats = http.get(base + "/stats").json()
    assert stats["requests"]["brevo"]["GET /contacts"] == {"200": 1}
    r = http.post(base + "/faults", json={"spec": "502#1"}).json()
    assert r["active_rules"][0]["status"] == 502
    assert http.get(sandbox.urls["brevo"] + "/contacts", headers=HEADERS["brevo"]).status_code == 502
    store = http.get(base + "/store/brevo").json()
    assert {"contacts", "lists", "attributes"} <= set(store)
    before = http.get(base + "/config").json()["now"]
    after = http.post(base + "/advance", json={"days": 2}).json()["now"]
    assert after > before
    assert http.post(base + "/reset").json() == {"reset": True}
    assert http.get(base + "/stats").json()["totals"] == {}
    assert http.get(base + "/store/nope").status_code == 404


def test_state_file_keeps_written_objects_and_clock(tmp_path):
    path = tmp_path / "state.json"
    sb = Sandbox("brevo", scale="tiny", state_path=path)
    c = sb.vendors["brevo"].db.new_contact(sb.now(), "kept@example.com")
    sb.advance(3600)
    sb.save()
    again = Sandbox("brevo", scale="tiny", state_path=path)
    assert again.vendors["brevo"].db.find("KEPT@example.com").id == c.id
    assert again.offset == 3600


def test_same_seed_same_data_other_seed_other_data():
    a = [data.person(1, i) for i in range(50)]
    assert a == [data.person(1, i) for i in range(50)]
    assert a != [data.person(2, i) for i in range(50)]


def test_people_are_realistic_and_messy():
    people = [data.person(7, i) for i in range(800)]
    phones = [p for p in people if p.phone_e164]
    for p in phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(p.phone_e164)), p.phone_e164
        region = p.place.country
        local = phonenumbers.parse(p.phone_local, region)
        assert phonenumbers.format_number(local, phonenumbers.PhoneNumberFormat.E164) == p.phone_e164
    assert any(not p.phone_local.startswith("+") for p in phones)  # local formats
    assert any(p.first_name is None for p in people)  # missing names
    assert any(p.email is None for p in people)  # phone-only people
    assert any(not (p.first_name or "").isascii() for p in people)  # unicode
    emails = [p.email.lower() for p in people if p.email]
    assert len(emails) > len(set(emails))  # duplicates across records, in other case
    assert any(p.tz_offset for p in people)  # timestamps printed with offsets


def test_lazy_table_generates_only_what_is_read():
    made = []
    table = data.LazyTable(1_000_000, lambda i: made.append(i) or {"i": i}, cache_size=10)
    assert table[999_999] == {"i": 999_999}
    for i in range(30):
        table.encoded(i)
    assert len(made) == 31
    with pytest.raises(IndexError):
        table[1_000_000]


def test_scale_parsing():
    assert data.parse_scale("medium")["profiles"] == 10_000
    assert data.parse_scale("small,profiles=7")["profiles"] == 7
    assert data.parse_scale("events=3")["events"] == 3
    with pytest.raises(ValueError, match="unknown scale"):
        data.parse_scale("huge")
