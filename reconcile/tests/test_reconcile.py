"""The report accounts for every stage and flags each kind of gap."""

from __future__ import annotations

import json

import pytest
from brevo_reconcile.cli import main


def _metric(stream: str, n: int) -> str:
    m = {"type": "counter", "metric": "record_count", "value": n, "tags": {"stream": stream}}
    return f"[info] INFO | singer_sdk.metrics | METRIC: {json.dumps(m)} name=tap-klaviyo producer=True\n"


def _log(tmp_path, *, tap=None, mapper=None, target=None, rejects=()):
    rej = tmp_path / "rejects.jsonl"
    rej.write_text("".join(json.dumps({"stream": s, "reason": "invalid_email"}) + "\n" for s in rejects))
    lines = [_metric(s, n) for s, n in (tap or {}).items()]
    lines.append(_metric("klaviyo_contacts", 999).replace("name=tap-klaviyo", "name=target-brevo"))  # ignored
    # Meltano's console form names the plugin after the level; the target's metrics are ignored too.
    meltano_target = {"type": "counter", "metric": "record_count", "value": 7, "tags": {"stream": "klaviyo_events"}}
    lines.append(f"2026-12-06T02:26:51Z [info     ] target-brevo METRIC: {json.dumps(meltano_target)}\n")
    if mapper is not None:
        lines.append("map-brevo summary: " + json.dumps(mapper) + " name=map-brevo\n")
    if target is not None:
        target = {"rejects_file": str(rej), **target}
        lines.append("target-brevo summary: " + json.dumps(target) + " name=target-brevo\n")
    path = tmp_path / "klaviyo-to-brevo.log"
    path.write_text("".join(lines))
    return path


GOOD_TARGET = {
    "records_received": {"klaviyo_contacts": 10, "klaviyo_events": 5},
    "records_accepted": {"klaviyo_contacts": 9, "klaviyo_events": 5},
    "records_rejected": 1, "records_rejected_by_reason": {"invalid_email": 1},
    "api_calls": {"POST /contacts/import": 1, "POST /events/batch": 1}, "rate_limited_429": 0,
    "retries": 0, "elapsed_seconds": 1.5,
}
GOOD_MAPPER = {"records_in": {"profiles": 10, "events": 5},
               "records_out": {"klaviyo_contacts": 10, "klaviyo_events": 5}}


def test_a_clean_run_is_accounted_for(tmp_path, capsys):
    log = _log(tmp_path, tap={"profiles": 10, "events": 5}, mapper=GOOD_MAPPER, target=GOOD_TARGET,
               rejects=["klaviyo_contacts"])
    assert main(["--logs", str(log)]) == 0
    out = capsys.readouterr().out
    assert "source records  15" in out.replace("   ", "  ") or "15  (" in out
    assert "received 10, accepted 9, rejected 1" in out
    assert "RESULT: every record accounted for" in out


@pytest.mark.parametrize(
    ("tap", "mapper", "target", "rejects", "expected"),
    [
        ({"profiles": 11, "events": 5}, GOOD_MAPPER, GOOD_TARGET, ["klaviyo_contacts"],
         "tap → map-brevo: stream profiles: extracted 11 but mapper received 10"),
        ({"profiles": 10, "events": 5}, {**GOOD_MAPPER, "records_out": {"klaviyo_contacts": 12, "klaviyo_events": 5}},
         GOOD_TARGET, ["klaviyo_contacts"], "map-brevo → target-brevo: stream klaviyo_contacts"),
        ({"profiles": 10, "events": 5}, GOOD_MAPPER, GOOD_TARGET, [],
         "target-brevo: stream klaviyo_contacts: received 10 but accepted+rejected+skipped 9"),
        ({"profiles": 10, "events": 5}, GOOD_MAPPER, None, [], "no target-brevo summary"),
    ],
)
def test_each_gap_is_flagged(tmp_path, capsys, tap, mapper, target, rejects, expected):
    log = _log(tmp_path, tap=tap, mapper=mapper, target=target, rejects=rejects)
    assert main(["--logs", str(log)]) == 1
    assert expected in capsys.readouterr().out


def test_readback_counts_per_stream(tmp_path, capsys):
    log = _log(tmp_path, tap={"profiles": 10, "events": 5}, mapper=GOOD_MAPPER, target=GOOD_TARGET,
               rejects=["klaviyo_contacts"])
    out_dir = tmp_path / "brevo"
    out_dir.mkdir()
    (out_dir / "contacts-20261206T010203.jsonl").write_text('{"id": 1}\n{"id": 2}\n')
    (out_dir / "contacts-20261207T010203.jsonl").write_text('{"id": 3}\n')
    assert main(["--logs", str(log), "--readback", str(out_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["readback"] == {"contacts": 3}
    assert data["jobs"]["klaviyo-to-brevo"]["source"] == {"profiles": 10, "events": 5}
