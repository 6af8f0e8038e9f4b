"""Every error path: a bad mapping fails before any record flows; bad input names its line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from map_brevo.mapper import MapBrevo
from map_brevo.spec import MappingError

SCHEMA = {"type": "SCHEMA", "stream": "profiles", "key_properties": ["id"],
          "schema": {"type": "object", "properties": {"id": {"type": "string"}, "email": {"type": "string"}}}}
RECORD = {"type": "RECORD", "stream": "profiles", "record": {"id": "p1", "email": "a@x.io"}}


def build_error(config: dict) -> str:
    with pytest.raises(MappingError) as exc:
        MapBrevo(config=config)
    return str(exc.value)


def test_unknown_preset_names_key_and_suggests():
    text = build_error({"preset": "klavio"})
    assert text.startswith("config, key `preset`: unknown preset 'klavio'")
    assert "did you mean `klaviyo`" in text


def test_invalid_attribute_name_in_mapping_file_names_file_and_key(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("field_mapping:\n  properties.first-order: first-order date\n")
    text = build_error({"preset": "klaviyo", "mapping_file": str(f)})
    assert text.startswith(f"mapping file {f}, key `field_mapping.properties.first-order`:")
    assert "'first-order date' is not a valid Brevo attribute name" in text
    assert "FIRST_ORDER_DATE" in text


def test_invalid_attribute_pattern_is_configurable():
    assert "'lowercase' is not a valid Brevo attribute name" in build_error({"field_mapping": {"x": "lowercase"}})
    cfg = {"field_mapping": {"x": "Mixed_Case"}, "attribute_name_pattern": r"^[A-Za-z_]+$"}
    assert MapBrevo(config=cfg).plan.m.field_mapping["x"].value == "Mixed_Case"
    assert "attribute_name_pattern" in build_error({"attribute_name_pattern": "("})


def test_two_sources_one_attribute_without_precedence(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("field_mapping:\n  properties.ltv: LTV\n")
    text = build_error({"preset": "klaviyo", "mapping_file": str(f)})
    assert text.startswith(f"mapping file {f}, key `field_mapping.properties.ltv`:")
    assert "`properties.lifetime_value`, `properties.ltv`" in text
    assert "without a stated precedence" in text
    # sms from two keys written differently (SMS / sms) is the same target
    text = build_error({"preset": "klaviyo", "field_mapping": {"properties.mobile": "sms"}})
    assert "'sms'" in text


def test_unparseable_rule(tmp_path):
    f = tmp_path / "rules.yml"
    f.write_text("list_rules:\n  high_value: 'LTV >>= 500'\n")
    text = build_error({"preset": "klaviyo", "mapping_file": str(f)})
    assert text.startswith(f"mapping file {f}, key `list_rules.high_value`: rule 'LTV >>= 500' does not parse")


@pytest.mark.parametrize(("config", "expected"), [
    ({"type_hints": {"LTV": "money"}}, "config, key `type_hints.LTV`: unknown type hint 'money'"),
    ({"stream_routing": {"x": "contact"}}, "config, key `stream_routing.x.type`: unknown object type 'contact' (did you mean `contacts`?)"),
    ({"stream_routing": {"x": {"type": "events", "event_name": "n"}}}, "config, key `stream_routing.x`: an events route needs `identifiers`"),
    ({"stream_routing": {"x": {"type": "contacts", "fields": {"a": "B"}, "colour": 1}}}, "config, key `stream_routing.x.colour`: unknown route key"),
    ({"stream_routing": {"x": {"type": "contacts", "output": "x_people"}}}, "must end with `contacts`"),
    ({"event_mapping": {"Placed Order": "Placed Order"}}, "config, key `event_mapping.Placed Order`: 'Placed Order' is not a valid Brevo event name"),
    ({"lists": {"vip": -3}}, "config, key `lists.vip`: a Brevo list is a positive id or a list name"),
    ({"precedence": {"LTV": ["a"]}}, "config, key `precedence.LTV`: a precedence is an ordered list of two or more"),
    ({"stream_routing": {"a": {"type": "list_memberships", "list": "l", "identifiers": {"phone": "p"}}}},
     "config, key `stream_routing.a.identifiers.phone`: unknown identifier"),
    ({"stream_routing": {"a": {"type": "contacts", "output": "x_contacts"}, "b": {"type": "contacts", "output": "x_contacts"}}},
     "config, key `stream_routing.b`: output stream 'x_contacts' is also produced by config, key `stream_routing.a`"),
])
def test_config_errors_name_key_and_problem(config, expected):
    assert expected in build_error(config)


def test_policy_values_are_checked_by_the_settings_schema():
    from singer_sdk.exceptions import ConfigValidationError

    with pytest.raises(ConfigValidationError) as exc:
        MapBrevo(config={"unmapped_fields": "keep"})
    assert "unmapped_fields" in " ".join(exc.value.errors)
    with pytest.raises(MappingError, match="key `unmapped_fields`: 'keep' is not one of"):
        MapBrevo(config={"unmapped_fields": "keep"}, validate_config=False)


def test_mapping_file_problems(tmp_path):
    missing = tmp_path / "nope.yml"
    assert build_error({"mapping_file": str(missing)}).startswith(f"mapping file {missing}: cannot read it")
    bad = tmp_path / "bad.yml"
    bad.write_text("field_mapping:\n  a: B\n    c: D\n")
    assert build_error({"mapping_file": str(bad)}).startswith(f"mapping file {bad}: invalid YAML at line 3")
    typo = tmp_path / "typo.yml"
    typo.write_text("feild_mapping: {a: B}\n")
    text = build_error({"mapping_file": str(typo)})
    assert text.startswith(f"mapping file {typo}, key `feild_mapping`: unknown setting (did you mean `field_mapping`?)")
    notmap = tmp_path / "list.yml"
    notmap.write_text("- a\n- b\n")
    assert "top level must be a mapping" in build_error({"mapping_file": str(notmap)})


@pytest.mark.parametrize(("data", "expected"), [
    (b'{"type":"SCHEMA"', "input line 1: malformed JSON"),
    (json.dumps(SCHEMA).encode() + b'\n{"type":"RECORD","stream":"profiles","record":{"id":"\xff"}}\n',
     "input line 2: not valid UTF-8"),
    (json.dumps(RECORD).encode() + b"\n", "input line 1: RECORD for stream 'profiles' arrived before its SCHEMA"),
    (b'{"type":"BATCH","stream":"profiles"}\n', "input line 1: BATCH message"),
    (b'{"type":"NOPE"}\n', "input line 1: unknown message type 'NOPE'"),
    (b"[1,2]\n", "input line 1: not a Singer message"),
    (b'{"type":"RECORD","record":{}}\n', "input line 1: RECORD for stream None arrived before its SCHEMA"),
    (b'{"type":"SCHEMA","stream":"s"}\n', "input line 1: malformed SCHEMA message"),
])
def test_bad_input_is_located(run_map, data, expected):
    with pytest.raises(MappingError) as exc:
        run_map({"preset": "klaviyo", "unrouted_streams": "pass_through"}, data)
    assert expected in str(exc.value)


def cli(config: dict, stdin: bytes, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run([sys.executable, "-m", "map_brevo", "--config", str(cfg), *extra],
                          input=stdin, capture_output=True, timeout=60, check=False)


def test_cli_bad_line_gives_one_located_line_no_traceback(tmp_path):
    lines = json.dumps(SCHEMA).encode() + b"\n" + b"{not json}\n"
    proc = cli({"preset": "klaviyo"}, lines, tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert "map-brevo: error: input line 2: malformed JSON" in err
    # what was mapped before the bad line is flushed
    assert b'"klaviyo_contacts"' in proc.stdout


def test_cli_bad_config_fails_before_reading_input(tmp_path):
    proc = cli({"preset": "iterabel"}, b"", tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()
    assert "map-brevo: error: config, key `preset`: unknown preset 'iterabel'" in proc.stderr.decode()
    proc = cli({"preset": "klaviyo", "unmapped_fields": 3}, b"", tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()


def test_cli_pipe_and_about(tmp_path):
    proc = cli({"preset": "klaviyo"}, json.dumps(SCHEMA).encode() + b"\n" + json.dumps(RECORD).encode() + b"\n", tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert out[1]["record"]["email"] == "a@x.io"
    assert "map-brevo summary:" in proc.stderr.decode()
    about = subprocess.run([sys.executable, "-m", "map_brevo", "--about", "--format=markdown"],
                           capture_output=True, timeout=60, check=True)
    assert b"| preset" in about.stdout


def test_cli_missing_config_file_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "map_brevo", "--config", str(tmp_path / "nope.json")],
                          input=b"", capture_output=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr.decode()
    assert "map-brevo: error: File at" in proc.stderr.decode()


def test_readme_mapping_file_example_is_valid(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "my-mapping.yml"
    f.write_text(block)
    mapper = MapBrevo(config={"preset": "klaviyo", "mapping_file": str(f)})
    assert mapper.plan.prefix == "shop"
    assert mapper.plan.lists["high_value"] == 42


def test_cli_input_file_with_bad_utf8_names_the_line(tmp_path):
    lines = [json.dumps(SCHEMA).encode()] + [json.dumps(RECORD).encode()] * 300
    lines[250] = b'{"type":"RECORD","stream":"profiles","record":{"id":"p\xe9","email":"a@x.io"}}'
    data = tmp_path / "in.jsonl"
    data.write_bytes(b"\n".join(lines) + b"\n")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"preset": "klaviyo"}))
    proc = subprocess.run([sys.executable, "-m", "map_brevo", "--config", str(cfg), "--input", str(data)],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert "map-brevo: error: input line 251: not valid UTF-8" in err
    assert proc.stdout.count(b'"RECORD"') == 249


def test_readme_settings_table_matches_about():
    from pathlib import Path

    about = subprocess.run([sys.executable, "-m", "map_brevo", "--about", "--format=markdown"],
                           capture_output=True, timeout=60, check=True, text=True).stdout
    table = [x for x in about.split("## Settings", 1)[1].splitlines() if x.startswith("|")]
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    assert "\n".join(table) in readme


def test_conflict_on_a_glob_routed_preset_is_found_at_start():
    text = build_error({"preset": "brevo", "field_mapping": {"mail": "email"}})
    assert text.startswith("config, key `field_mapping.mail`: two source fields (`email`, `mail`) map to 'email'")
