"""Golden tests: recorded tap output through each preset, compared with Brevo-shaped records.

Set MAP_BREVO_REGOLD=1 to rewrite the golden files (then read the diff before committing).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("preset", ["klaviyo", "braze", "iterable", "brevo"])
def test_preset_golden(preset, run_map, fixture_lines):
    run = run_map({"preset": preset}, fixture_lines(f"{preset}.jsonl"))
    got = "\n".join(run.lines) + "\n"
    path = GOLDEN / f"{preset}.jsonl"
    if os.environ.get("MAP_BREVO_REGOLD"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got, "utf-8")
    assert got == path.read_text("utf-8")
    # Every record matches the SCHEMA sent for its stream (exactly what is emitted).
    import jsonschema

    schemas = {}
    for m in run.messages:
        if m["type"] == "SCHEMA":
            schemas[m["stream"]] = m["schema"]
            assert set(m["key_properties"]) <= set(m["schema"]["properties"])
            assert set(m.get("bookmark_properties") or []) <= set(m["schema"]["properties"])
        elif m["type"] == "RECORD":
            jsonschema.validate(m["record"], schemas[m["stream"]])
            assert set(m["record"]) <= set(schemas[m["stream"]]["properties"])
            attrs = schemas[m["stream"]]["properties"].get("attributes")
            if attrs:
                assert set(m["record"]["attributes"]) <= set(attrs["properties"])


@pytest.mark.parametrize("preset", ["klaviyo", "braze", "iterable", "brevo"])
def test_state_passes_through_untouched_and_in_order(preset, run_map, fixture_lines):
    raw = fixture_lines(f"{preset}.jsonl")
    states_in = [line for line in raw.decode().splitlines() if json.loads(line)["type"] == "STATE"]
    run = run_map({"preset": preset}, raw)
    assert [x for x in run.lines if json.loads(x)["type"] == "STATE"] == states_in
