"""R3 bad input: a corpus of malformed inputs fed to target-brevo and map-brevo as subprocesses.

Each case asserts its exact outcome: a reject line with its reason code (and the record it came
from), or one located error line on stderr with its exit code, never a Python traceback. Nothing is
silently dropped: records received = accepted + rejected, per the ``target-brevo summary:`` line.

Speed: the record-level cases share one target run (module fixture), and every case that needs its
own process (a fatal error, a separate config) runs concurrently with the others in a small pool.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.app import Sandbox

BIN = Path(sys.executable).parent
KEY = "sandbox-key"
POOL = 3  # concurrent plugin processes (2 cores, shared)


# --- Singer lines --------------------------------------------------------------------------------
def sch(stream: str, props: dict[str, Any], key: list[str] | None = None) -> str:
    return json.dumps({"type": "SCHEMA", "stream": stream, "key_properties": key or [],
                       "schema": {"type": "object", "properties": props}})


def rec(stream: str, record: Any) -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": record})


def nullable(t: str, **extra: Any) -> dict[str, Any]:
    return {"type": [t, "null"], **extra}


CONTACT_PROPS = {
    "email": nullable("string"), "ext_id": nullable("string"), "sms": nullable("string"),
    "FIRSTNAME": nullable("string"), "AGE": nullable("integer"),
    "attributes": nullable("object"), "list_ids": nullable("array", items={"type": "integer"}),
    "list_names": nullable("array", items={"type": "string"}),
}
EVENT_PROPS = {
    "event_name": nullable("string"), "event_date": nullable("string"), "identifiers": nullable("object"),
    "contact_properties": nullable("object"), "event_properties": nullable("object"),
}
MEMBER_PROPS = {"list_id": nullable("integer"), "list_name": nullable("string"), "email": nullable("string"),
                "ext_id": nullable("string"), "sms": nullable("string"), "action": nullable("string")}
SCHEMAS = {"contacts": CONTACT_PROPS, "events": EVENT_PROPS, "list_memberships": MEMBER_PROPS}


# --- running the plugins -------------------------------------------------------------------------
@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    def summary(self, tool: str = "target-brevo") -> dict[str, Any]:
        prefix = f"{tool} summary: "
        found = [x[len(prefix):] for x in self.stderr.splitlines() if x.startswith(prefix)]
        assert len(found) == 1, f"no single {prefix!r} line on stderr:\n{self.stderr[-2000:]}"
        return json.loads(found[0])


def run_plugin(tool: str, config: dict[str, Any], data: str | bytes, workdir: Path) -> Run:
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / "config.json"
    cfg.write_text(json.dumps(config))
    payload = data.encode() if isinstance(data, str) else data
    proc = subprocess.run([str(BIN / tool), "--config", str(cfg)], input=payload, capture_output=True,
                          timeout=120, check=False, cwd=workdir)
    rej = Path(config.get("rejects_path") or workdir / "target-brevo-rejects.jsonl")
    rejects = [json.loads(x) for x in rej.read_text().splitlines()] if rej.exists() else []
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
               rejects)


def assert_no_traceback(r: Run) -> None:
    assert "Traceback (most recent call last)" not in r.stderr, r.stderr[-3000:]


def assert_accounted(r: Run) -> dict[str, Any]:
    """Nothing silently dropped: every record received is accepted or rejected, per stream."""
    s = r.summary()
    by_stream: dict[str, int] = {}
    for x in r.rejects:
        if x["stream"] is not None:  # malformed lines are rejects of no stream (never received)
            by_stream[x["stream"]] = by_stream.get(x["stream"], 0) + 1
    for stream, received in s["records_received"].items():
        assert received == s["records_accepted"].get(stream, 0) + by_stream.get(stream, 0), (stream, s)
    assert s["records_rejected"] == len(r.rejects)
    assert s["records_rejected_by_reason"] == _count(x["reason"] for x in r.rejects)
    return s


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


# --- the sandbox (one per module: the shared run and the separate runs all use it) ---------------
@pytest.fixture(scope="module")
def brevo() -> Any:
    sb = Sandbox(vendors="brevo", scale="tiny", rate_limits="off").start(0)
    sb.vendors["brevo"].import_delay = 0.05
    url = sb.urls()["brevo"]
    # A date attribute, so impossible dates have a typed attribute to be checked against.
    requests.post(f"{url}/contacts/attributes/normal/BIRTHDAY", json={"type": "date"},
                  headers={"api-key": KEY}, timeout=10).raise_for_status()
    yield sb
    sb.stop()


def target_config(url: str, workdir: Path, **extra: Any) -> dict[str, Any]:
    return {"api_url": url, "api_key": KEY, "rejects_path": str(workdir / "rejects.jsonl"),
            "import_poll_initial_seconds": 0.05, "backoff_base_seconds": 0.01, **extra}


# === 1. record-level cases: one shared target run ================================================
@dataclass(frozen=True)
class Bad:
    """A record the target must reject with ``reason``; ``says`` is part of the message."""

    id: str
    stream: str
    record: dict[str, Any]
    reason: str
    says: str = ""
    xfail: str = ""


BIG = {"blob": "x" * 52_000}  # event_properties over Brevo's 50 KB
DUP_SMS = "+33612345679"
BAD_RECORDS = [
    # no identifier
    Bad("contact-no-identifier", "contacts", {"FIRSTNAME": "nobody-1"}, "missing_identifier",
        "one of email, ext_id or sms is required"),
    Bad("contact-null-identifiers", "contacts", {"email": None, "ext_id": None, "FIRSTNAME": "nobody-2"},
        "missing_identifier"),
    Bad("contact-empty-identifiers", "contacts", {"email": "", "ext_id": "", "sms": "", "FIRSTNAME": "nobody-3"},
        "missing_identifier"),
    Bad("event-no-identifier", "events", {"event_name": "viewed", "identifiers": {}}, "missing_identifier",
        "event has no identifier"),
    Bad("event-null-identifiers", "events", {"event_name": "clicked", "identifiers": None}, "missing_identifier"),
    Bad("membership-no-identifier", "list_memberships", {"list_id": 2, "action": "add"}, "missing_identifier"),
    Bad("membership-no-list", "list_memberships", {"email": "m1@example.com"}, "missing_list"),
    # invalid emails and phones
    Bad("email-no-at", "contacts", {"email": "not-an-email"}, "invalid_email", "'not-an-email'"),
    Bad("email-no-tld", "contacts", {"email": "a@b"}, "invalid_email", "'a@b'"),
    Bad("email-space", "contacts", {"email": "john doe@example.com"}, "invalid_email"),
    Bad("email-double-at", "contacts", {"email": "a@@example.com"}, "invalid_email"),
    Bad("phone-too-short", "contacts", {"email": "p1@example.com", "sms": "12"}, "invalid_phone", "'12'"),
    Bad("phone-invalid-fr", "contacts", {"email": "p2@example.com", "sms": "+33 1 23"}, "invalid_phone"),
    Bad("phone-letters", "contacts", {"email": "p3@example.com", "sms": "+33abcdefgh"}, "invalid_phone"),
    Bad("event-bad-email-id", "events", {"event_name": "opened", "identifiers": {"email_id": "bad"}},
        "invalid_email"),
    Bad("event-bad-phone-id", "events", {"event_name": "opened", "identifiers": {"phone_id": "123"}},
        "invalid_phone"),
    Bad("membership-bad-email", "list_memberships", {"list_id": 2, "email": "nope"}, "invalid_email"),
    # impossible dates
    Bad("event-date-feb-30", "events", {"event_name": "ordered", "event_date": "2026-02-30T10:00:00Z",
                                         "identifiers": {"email_id": "e1@example.com"}}, "invalid_date",
        "event_date '2026-02-30T10:00:00Z'"),
    Bad("event-date-garbage", "events", {"event_name": "ordered", "event_date": "yesterday",
                                          "identifiers": {"email_id": "e2@example.com"}}, "invalid_date"),
    Bad("date-attribute-not-a-date", "contacts", {"email": "d0@example.com", "attributes": {"BIRTHDAY": "soon"}},
        "mistyped_attribute", "BIRTHDAY"),
    Bad("date-attribute-feb-30", "contacts", {"email": "d1@example.com", "attributes": {"BIRTHDAY": "2026-02-30"}},
        "mistyped_attribute", "BIRTHDAY"),
    Bad("date-attribute-month-13", "contacts", {"email": "d2@example.com", "attributes": {"BIRTHDAY": "2026-13-01"}},
        "mistyped_attribute", "BIRTHDAY"),
    # wrong types against the schema
    Bad("type-integer", "contacts", {"email": "w1@example.com", "AGE": "old"}, "schema_violation",
        "data.AGE must be integer or null"),
    Bad("type-email-number", "contacts", {"email": 12345}, "schema_violation", "data.email must be string or null"),
    Bad("type-list-ids-string", "contacts", {"email": "w2@example.com", "list_ids": "3"}, "schema_violation",
        "data.list_ids must be array or null"),
    Bad("type-event-properties-list", "events", {"event_name": "typed", "identifiers": {"email_id": "e3@example.com"},
                                                  "event_properties": [1, 2]}, "schema_violation",
        "data.event_properties must be object or null"),
    Bad("type-list-id-string", "list_memberships", {"list_id": "two", "email": "m2@example.com"}, "schema_violation",
        "data.list_id must be integer or null"),
    # oversized events, bad event names
    Bad("event-properties-over-50kb", "events", {"event_name": "big", "identifiers": {"email_id": "e4@example.com"},
                                                  "event_properties": BIG}, "payload_too_large", "50 KB"),
    Bad("event-name-space", "events", {"event_name": "bad name!", "identifiers": {"email_id": "e5@example.com"}},
        "invalid_event_name", "'bad name!'"),
    Bad("event-name-256-chars", "events", {"event_name": "x" * 256, "identifiers": {"email_id": "e6@example.com"}},
        "invalid_event_name"),
    Bad("event-name-empty", "events", {"event_name": "", "identifiers": {"email_id": "e7@example.com"}},
        "invalid_event_name"),
    Bad("event-name-non-ascii", "events", {"event_name": "achat_é", "identifiers": {"email_id": "e8@example.com"}},
        "invalid_event_name"),
    Bad("event-name-missing", "events", {"identifiers": {"email_id": "e9@example.com"}}, "invalid_event_name"),
    # a list that does not exist (create_missing_lists: false)
    Bad("contact-unknown-list-name", "contacts", {"email": "l1@example.com", "list_names": ["No Such List"]},
        "unknown_list", "'No Such List' does not exist"),
    Bad("membership-unknown-list-name", "list_memberships", {"list_name": "Nope", "email": "m3@example.com"},
        "unknown_list", "'Nope' does not exist"),
    Bad("membership-bad-action", "list_memberships", {"list_id": 2, "action": "toggle", "email": "m4@example.com"},
        "invalid_action", "'toggle'"),
    # duplicate identifiers across records: the import keeps the first row, the later one is a reject
    Bad("duplicate-email", "contacts", {"email": "same@example.com", "FIRSTNAME": "second"}, "import_duplicate_email",
        "duplicate_email_id report"),
    Bad("duplicate-email-other-case", "contacts", {"email": "Case@Example.com", "FIRSTNAME": "second"},
        "import_duplicate_email"),
    Bad("duplicate-ext-id", "contacts", {"email": "x2@example.com", "ext_id": "EXT-1"}, "import_duplicate_ext_id"),
    Bad("duplicate-sms", "contacts", {"email": "s2@example.com", "sms": DUP_SMS}, "import_duplicate_sms"),
]
# Valid records around the bad ones (the first holder of each duplicated identifier among them).
GOOD_RECORDS = [
    ("contacts", {"email": "same@example.com", "FIRSTNAME": "first"}),
    ("contacts", {"email": "case@example.com", "FIRSTNAME": "first"}),
    ("contacts", {"email": "x1@example.com", "ext_id": "EXT-1"}),
    ("contacts", {"email": "s1@example.com", "sms": DUP_SMS}),
    ("contacts", {"email": "good1@example.com", "attributes": {"BIRTHDAY": "1990-02-28"}}),
    ("events", {"event_name": "good_event", "identifiers": {"email_id": "good1@example.com"},
                "event_date": "2026-11-30T10:00:00+01:00", "event_properties": {"n": 1}}),
    ("list_memberships", {"list_id": 2, "email": "good1@example.com"}),
]
# Lines that are not JSON, at known positions of the shared input: (id, line, words in the message).
BAD_LINES = [
    ("malformed-json", "{not json", "is not JSON"),
    ("truncated-line", rec("contacts", {"email": "cut@example.com"})[:30], "JSON is malformed"),
    ("raw-control-char", rec("contacts", {"email": "ctl@example.com"})[:-3] + "\x00\"}}", "is not JSON"),
    ("trailing-garbage", rec("contacts", {"email": "tail@example.com"}) + " }", "is not JSON"),
]
TRUNCATED_LAST = rec("contacts", {"email": "last@example.com"})[:-5]  # no newline either: EOF mid-line


@pytest.fixture(scope="module")
def shared_input() -> tuple[str, dict[str, int]]:
    """The shared run's input and the 1-based line number of each bad line."""
    lines = [sch(s, p) for s, p in SCHEMAS.items()]
    lines += [rec(s, r) for s, r in GOOD_RECORDS]
    where: dict[str, int] = {}
    bad_lines = iter(BAD_LINES)
    for i, b in enumerate(BAD_RECORDS):
        lines.append(rec(b.stream, b.record))
        if i % 8 == 3:
            case_id, line, _ = next(bad_lines, (None, None, None))
            if case_id:
                lines.append(line)
                where[case_id] = len(lines)
    for case_id, line, _ in bad_lines:
        lines.append(line)
        where[case_id] = len(lines)
    lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {"r3": 1}}}))
    lines.append(TRUNCATED_LAST)
    where["truncated-last-line"] = len(lines)
    return "\n".join(lines), where


@pytest.fixture(scope="module")
def shared_run(brevo: Any, shared_input: tuple[str, dict[str, int]],
               tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("r3-shared")
    cfg = target_config(brevo.urls()["brevo"], work, create_missing_lists=False, contacts_mode="import",
                        default_list_ids=[2])
    return run_plugin("target-brevo", cfg, shared_input[0], work)


def test_shared_run_accounts_for_every_record(shared_run: Run, brevo: Any) -> None:
    r = shared_run
    assert_no_traceback(r)
    assert r.rc == 0, r.stderr[-3000:]
    s = assert_accounted(r)
    sent = len(BAD_RECORDS) + len(GOOD_RECORDS)
    assert sum(s["records_received"].values()) == sent
    # every malformed line (and the cut last line) is a reject of its own, none lost
    assert s["records_rejected_by_reason"]["malformed_json"] == len(BAD_LINES) + 1
    # the STATE line comes out once everything before it is accepted
    assert [json.loads(x) for x in r.stdout.splitlines()] == [{"bookmarks": {"r3": 1}}]
    # the good records are in Brevo
    store = brevo.vendors["brevo"].store()
    emails = {c.get("email") for c in store["contacts"]}
    assert {"same@example.com", "case@example.com", "x1@example.com", "s1@example.com",
            "good1@example.com"} <= emails
    assert any(e.get("event_name") == "good_event" for e in store.get("events", []))


@pytest.mark.parametrize("case", [pytest.param(b, id=b.id, marks=[pytest.mark.xfail(strict=True, reason=b.xfail)]
                                               if b.xfail else []) for b in BAD_RECORDS])
def test_bad_record_is_a_reject_with_its_reason(case: Bad, shared_run: Run) -> None:
    found = [x for x in shared_run.rejects if x["record"] == case.record]
    assert len(found) == 1, f"{case.id}: no reject line for {case.record!r} (silently accepted?)"
    (x,) = found
    assert (x["stream"], x["reason"]) == (case.stream, case.reason), x["message"]
    assert case.says in x["message"]
    assert set(x) == {"stream", "record_key", "reason", "message", "brevo_error", "record"}


@pytest.mark.parametrize(("case_id", "says"), [(c, s) for c, _, s in BAD_LINES]
                         + [("truncated-last-line", "truncated")])
def test_bad_line_is_a_located_reject(case_id: str, says: str, shared_run: Run,
                                      shared_input: tuple[str, dict[str, int]]) -> None:
    line_no = shared_input[1][case_id]
    found = [x for x in shared_run.rejects if x["record_key"] == f"line:{line_no}"]
    assert len(found) == 1, [x["record_key"] for x in shared_run.rejects if x["reason"] == "malformed_json"]
    (x,) = found
    assert (x["stream"], x["reason"]) == (None, "malformed_json")
    assert x["message"].startswith(f"input line {line_no} is not JSON")
    assert says in x["message"]


# === 2. cases with a process of their own (fatal errors, other settings), run concurrently ========
@dataclass(frozen=True)
class Solo:
    """A target run whose whole outcome is checked: exit code, last stderr line, rejects."""

    id: str
    data: str | bytes
    rc: int
    last_line: str = ""  # exact start of the last stderr line ("" = the summary line)
    rejects: tuple[tuple[str, str], ...] = ()  # (reason, record_key)
    config: dict[str, Any] = field(default_factory=dict)
    xfail: str = ""


C = sch("contacts", CONTACT_PROPS)
E = sch("events", EVENT_PROPS)
OK = rec("contacts", {"email": "solo@example.com"})
SOLO = [
    Solo("record-before-schema", OK + "\n", 1,
         "target-brevo: error: input line 1: RECORD for stream 'contacts' before its SCHEMA"),
    Solo("record-before-its-own-schema", f"{C}\n{OK}\n" + rec("events", {"event_name": "x"}) + "\n", 1,
         "target-brevo: error: input line 3: RECORD for stream 'events' before its SCHEMA"),
    Solo("unknown-stream", sch("users", CONTACT_PROPS) + "\n" + rec("users", {"email": "u@example.com"}) + "\n", 1,
         "target-brevo: error: stream 'users' has no Brevo object type: name it (or end it with) one of contacts, "
         "events, list_memberships, categories, products, orders, map it in the stream_types setting, or set "
         "unknown_streams: ignore"),
    Solo("unknown-stream-ignored", sch("users", CONTACT_PROPS) + "\n" + rec("users", {"email": "u@example.com"})
         + "\n" + rec("users", {"email": "v@example.com"}) + "\n", 0, config={"unknown_streams": "ignore"}),
    Solo("stream-types-maps-unknown-stream", sch("users", CONTACT_PROPS) + "\n"
         + rec("users", {"email": "bad-address"}) + "\n", 0, rejects=(("invalid_email", "bad-address"),),
         config={"stream_types": {"users": "contacts"}}),
    Solo("duplicate-sms-single-path", C + "\n" + rec("contacts", {"email": "single1@example.com", "sms": "+33612345670"})
         + "\n" + rec("contacts", {"email": "single2@example.com", "sms": "+33612345670"}) + "\n", 0,
         rejects=(("duplicate_identifier", "single2@example.com"),), config={"contacts_mode": "single"}),
    Solo("stream-types-bad-type", "", 1,
         "target-brevo: error: stream_types.users: 'contact' is not one of contacts, events, list_memberships, "
         "categories, products, orders", config={"stream_types": {"users": "contact"}}),
    Solo("empty-input", "", 0),
    Solo("blank-lines-only", "\n\n   \n", 0),
    Solo("not-a-singer-message", f"{C}\n[1, 2]\n", 1,
         "target-brevo: error: input line 2: not a Singer message (no 'type')"),
    Solo("no-type-key", f'{C}\n{{"stream": "contacts", "record": {{}}}}\n', 1,
         "target-brevo: error: input line 2: not a Singer message (no 'type')"),
    Solo("unknown-message-type", f'{C}\n{{"type": "BANANA"}}\n', 1,
         "target-brevo: error: input line 2: unknown message type 'BANANA'"),
    Solo("record-without-record-key", f'{C}\n{{"type": "RECORD", "stream": "contacts"}}\n', 0,
         rejects=(("malformed_record", "line:2"),)),
    Solo("schema-without-schema-key", '{"type": "SCHEMA", "stream": "contacts", "key_properties": []}\n', 2,
         "target-brevo: error: InvalidInputLine: Line is missing required schema key(s)"),
    Solo("non-utf8-bytes", f"{C}\n".encode() + b'{"type": "RECORD", "stream": "contacts", "record": '
         b'{"email": "caf\xe9@example.com"}}\n' + f"{OK}\n".encode(), 0, rejects=(("malformed_json", "line:2"),)),
    # A malformed message is a located reject, like a malformed JSON line: the run goes on.
    Solo("record-not-an-object", f'{C}\n{{"type": "RECORD", "stream": "contacts", "record": "x"}}\n', 0,
         rejects=(("malformed_record", "line:2"),)),
    Solo("event-identifiers-not-an-object", f"{E}\n" + rec("events", {"event_name": "x", "identifiers": "a@b.co"})
         + "\n", 0, rejects=(("schema_violation", "x|None|None"),)),
    Solo("event-contact-id-not-a-number", f"{E}\n"
         + rec("events", {"event_name": "x", "identifiers": {"contact_id": "abc"}}) + "\n", 0,
         rejects=(("invalid_identifier", "x|abc|None"),)),
]


@pytest.fixture(scope="module")
def solo_runs(brevo: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    url = brevo.urls()["brevo"]

    def one(case: Solo) -> tuple[str, Run]:
        work = tmp_path_factory.mktemp(f"r3-{case.id}")
        return case.id, run_plugin("target-brevo", target_config(url, work, **case.config), case.data, work)

    with ThreadPoolExecutor(POOL) as pool:
        return dict(pool.map(one, SOLO))


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)]
                                               if c.xfail else []) for c in SOLO])
def test_target_run_outcome(case: Solo, solo_runs: dict[str, Run]) -> None:
    r = solo_runs[case.id]
    assert_no_traceback(r)
    assert r.rc == case.rc, r.stderr[-2000:]
    if case.last_line:
        assert r.last_line.startswith(case.last_line), r.last_line
        assert r.stdout == ""
    else:
        assert r.last_line.startswith("target-brevo summary: "), r.stderr[-2000:]
        assert_accounted(r)
    assert tuple((x["reason"], x["record_key"]) for x in r.rejects) == case.rejects


def test_empty_input_makes_no_request_and_no_output(solo_runs: dict[str, Run]) -> None:
    for case_id in ("empty-input", "blank-lines-only"):
        s = solo_runs[case_id].summary()
        assert (s["api_calls_total"], s["records_received"], s["records_rejected"]) == (0, {}, 0)
        assert solo_runs[case_id].stdout == ""


def test_ignored_stream_is_counted_not_dropped(solo_runs: dict[str, Run]) -> None:
    r = solo_runs["unknown-stream-ignored"]
    s = r.summary()
    assert s["records_skipped"] == {"ignored_stream:users": 2}
    assert s["api_calls_total"] == 0
    assert "stream users has no Brevo type; its records are ignored" in r.stderr


# === 3. map-brevo ================================================================================
PROFILE_PROPS = {"id": {"type": "string"}, "email": nullable("string"), "updated": {"type": "string"},
                 "properties": nullable("object")}
P = sch("profiles", PROFILE_PROPS, key=["id"])


def prof(pid: str, **fields: Any) -> str:
    return rec("profiles", {"id": pid, "updated": "2026-11-30T00:00:00Z", **fields})


KLAVIYO = {"preset": "klaviyo"}


@dataclass(frozen=True)
class Map:
    id: str
    config: dict[str, Any]
    data: str | bytes
    rc: int
    last_line: str  # exact start of the last stderr line
    files: dict[str, str] = field(default_factory=dict)  # mapping files to write, by name


MAP_CASES = [
    Map("unknown-preset", {"preset": "klavio"}, "", 2,
        "map-brevo: error: config, key `preset`: unknown preset 'klavio' (did you mean `klaviyo`?)"),
    Map("mapping-file-bad-yaml", {"preset": "klaviyo", "mapping_file": "{dir}/bad.yaml"}, "", 2,
        "map-brevo: error: mapping file {dir}/bad.yaml: invalid YAML at line 3, column 1",
        files={"bad.yaml": "field_mapping:\n  email: [unclosed\n"}),
    Map("mapping-file-missing", {"preset": "klaviyo", "mapping_file": "{dir}/nope.yaml"}, "", 2,
        "map-brevo: error: mapping file {dir}/nope.yaml: cannot read it (No such file or directory)"),
    Map("mapping-file-unknown-key", {"preset": "klaviyo", "mapping_file": "{dir}/key.yaml"}, "", 2,
        "map-brevo: error: mapping file {dir}/key.yaml, key `colour`: unknown setting",
        files={"key.yaml": "colour: red\n"}),
    Map("mapping-file-not-a-mapping", {"preset": "klaviyo", "mapping_file": "{dir}/list.yaml"}, "", 2,
        "map-brevo: error: mapping file {dir}/list.yaml: the top level must be a mapping of settings, got list",
        files={"list.yaml": "- a\n- b\n"}),
    Map("malformed-json-line", KLAVIYO, f"{P}\n{prof('p1')}\n{{not json\n{prof('p2')}\n", 2,
        "map-brevo: error: input line 3: malformed JSON ("),
    Map("truncated-last-line", KLAVIYO, f"{P}\n{prof('p1')}\n{prof('p2')[:40]}", 2,
        "map-brevo: error: input line 3: malformed JSON (Input data was truncated)"),
    Map("non-utf8-bytes", KLAVIYO, f"{P}\n".encode() + b'{"type": "RECORD", "stream": "profiles", '
        b'"record": {"id": "p\xe9"}}\n', 2, "map-brevo: error: input line 2: not valid UTF-8"),
    Map("record-before-schema", KLAVIYO, f"{prof('p1')}\n", 2,
        "map-brevo: error: input line 1: RECORD for stream 'profiles' arrived before its SCHEMA"),
    Map("not-a-singer-message", KLAVIYO, f"{P}\n[1]\n", 2,
        "map-brevo: error: input line 2: not a Singer message (a JSON object with a `type`)"),
    Map("unknown-message-type", KLAVIYO, f'{P}\n{{"type": "BANANA"}}\n', 2,
        "map-brevo: error: input line 2: unknown message type 'BANANA'"),
    Map("record-without-record-key", KLAVIYO, f'{P}\n{{"type": "RECORD", "stream": "profiles"}}\n', 2,
        "map-brevo: error: input line 2: malformed RECORD message (missing 'record')"),
    Map("record-not-an-object", KLAVIYO, f'{P}\n{{"type": "RECORD", "stream": "profiles", "record": "x"}}\n', 2,
        "map-brevo: error: input line 2: malformed RECORD message ("),
    Map("batch-message", KLAVIYO, f'{P}\n{{"type": "BATCH", "stream": "profiles", "encoding": {{"format": "jsonl"}}, '
        f'"manifest": []}}\n', 2, "map-brevo: error: input line 2: BATCH message for stream 'profiles'"),
    Map("impossible-date-error", KLAVIYO | {"invalid_values": "error"},
        f"{P}\n{prof('p2', properties={'last_order_date': '2026-02-30'})}\n", 2,
        "map-brevo: error: input line 2: stream 'profiles', record {'source_id': 'p2'}, field 'LAST_ORDER_DATE': "
        "'2026-02-30' is not a valid date (day is out of range for month)"),
    Map("wrong-type-error", KLAVIYO | {"invalid_values": "error"},
        f"{P}\n{prof('p3', properties={'lifetime_value': 'lots'})}\n", 2,
        "map-brevo: error: input line 2: stream 'profiles', record {'source_id': 'p3'}, field 'LTV': "
        "'lots' is not a number"),
    Map("unmapped-fields-error", KLAVIYO | {"unmapped_fields": "error"}, f"{P}\n", 2,
        "map-brevo: error: input line 1: stream 'profiles' (preset klaviyo, key `stream_routing.profiles`): "
        "source fields updated are not mapped and unmapped_fields is `error`"),
    Map("unrouted-stream-dropped-and-counted", KLAVIYO, sch("widgets", {"a": nullable("integer")}) + "\n"
        + rec("widgets", {"a": 1}) + "\n" + rec("widgets", {"a": 2}) + "\n", 0,
        'map-brevo summary: {"events_dropped": 0, "records_in": {"widgets": 2}, "records_out": {}, '
        '"streams_dropped": {"widgets": 2}}'),
    Map("empty-input", KLAVIYO, "", 0,
        'map-brevo summary: {"events_dropped": 0, "records_in": {}, "records_out": {}, "streams_dropped": {}}'),
    Map("impossible-date-warn", KLAVIYO, P + "\n" + prof("p2", email="w@example.com",
                                                         properties={"last_order_date": "2026-02-30"}) + "\n",
        0, "map-brevo summary: "),
]


@pytest.fixture(scope="module")
def map_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Run, Path]]:
    def one(case: Map) -> tuple[str, tuple[Run, Path]]:
        work = tmp_path_factory.mktemp(f"r3-map-{case.id}")
        for name, text in case.files.items():
            (work / name).write_text(text)
        cfg = json.loads(json.dumps(case.config).replace("{dir}", str(work)))
        return case.id, (run_plugin("map-brevo", cfg, case.data, work), work)

    with ThreadPoolExecutor(POOL) as pool:
        return dict(pool.map(one, MAP_CASES))


@pytest.mark.parametrize("case", MAP_CASES, ids=[c.id for c in MAP_CASES])
def test_map_brevo_outcome(case: Map, map_runs: dict[str, tuple[Run, Path]]) -> None:
    r, work = map_runs[case.id]
    assert_no_traceback(r)
    assert r.rc == case.rc, r.stderr[-2000:]
    assert r.last_line.startswith(case.last_line.replace("{dir}", str(work))), r.last_line
    assert sum(1 for x in r.stderr.splitlines() if x.startswith("map-brevo: error:")) == (1 if case.rc else 0)


def test_map_brevo_invalid_value_warns_counts_and_keeps_the_record(map_runs: dict[str, tuple[Run, Path]]) -> None:
    r, _ = map_runs["impossible-date-warn"]
    s = r.summary("map-brevo")
    assert s["records_in"] == {"profiles": 1}
    assert s["records_out"] == {"klaviyo_contacts": 1}
    assert s["invalid_value"] == {"profiles.LAST_ORDER_DATE": 1}
    assert "field 'LAST_ORDER_DATE': '2026-02-30' is not a valid date" in r.stderr
    (out,) = [json.loads(x) for x in r.stdout.splitlines() if '"RECORD"' in x]
    assert "LAST_ORDER_DATE" not in out["record"]["attributes"]


def test_map_brevo_output_errors_are_rejected_by_the_target(brevo: Any, tmp_path: Path) -> None:
    """The pipe: bad source records the mapper passes on become the target's rejects, none lost."""
    src = "\n".join([P, prof("p1", email="ok-pipe@example.com"), prof("p2", email=None),
                     prof("p3", email="broken-address"), prof("p4", email="ok-pipe@example.com")]) + "\n"
    mapped = run_plugin("map-brevo", KLAVIYO, src, tmp_path / "map")
    assert mapped.rc == 0, mapped.stderr[-2000:]
    cfg = target_config(brevo.urls()["brevo"], tmp_path, contacts_mode="import", default_list_ids=[2])
    r = run_plugin("target-brevo", cfg, mapped.stdout, tmp_path / "target")
    assert_no_traceback(r)
    assert r.rc == 0, r.stderr[-2000:]
    s = assert_accounted(r)
    assert s["records_received"] == {"klaviyo_contacts": 4}
    assert sorted((x["reason"], x["record"].get("source_id")) for x in r.rejects) == [
        ("import_duplicate_email", "p4"), ("invalid_email", "p3"), ("missing_identifier", "p2")]
