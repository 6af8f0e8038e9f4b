"""Every configuration option, through the mapper, on small Klaviyo-shaped and flat inputs."""

from __future__ import annotations

import pytest

from map_brevo.spec import MappingError

PROFILE_SCHEMA = {
    "type": "SCHEMA", "stream": "profiles", "key_properties": ["id"], "bookmark_properties": ["updated"],
    "schema": {"type": "object", "properties": {
        "id": {"type": "string"}, "email": {"type": ["string", "null"]}, "first_name": {"type": ["string", "null"]},
        "locale": {"type": ["string", "null"]}, "updated": {"type": "string"},
        "location": {"type": ["object", "null"], "properties": {"city": {"type": ["string", "null"]},
                                                               "timezone": {"type": ["string", "null"]}}},
        "properties": {"type": ["object", "null"], "properties": {
            "lifetime_value": {"type": ["number", "null"]}, "ltv_eur": {"type": ["number", "null"]},
            "vip": {}, "birthday": {}, "tags": {"type": ["array", "null"]}}}}}}


def profile(i: int = 1, **kw) -> dict:
    rec = {"id": f"p{i}", "email": f"p{i}@example.com", "first_name": "Ann", "locale": "en-GB",
           "updated": "2026-11-01T00:00:00+00:00", "location": {"city": "Leeds", "timezone": "Europe/London"},
           "properties": {"lifetime_value": 100.0}}
    rec.update(kw)
    return {"type": "RECORD", "stream": "profiles", "record": rec}


EVENT_SCHEMA = {"type": "SCHEMA", "stream": "events", "key_properties": ["id"], "schema": {
    "type": "object", "properties": {"id": {"type": "string"}, "datetime": {"type": "string"},
                                     "metric_name": {"type": "string"}, "profile_email": {"type": ["string", "null"]},
                                     "event_properties": {"type": "object"}}}}


def event(name: str, i: int = 1) -> dict:
    return {"type": "RECORD", "stream": "events", "record": {
        "id": f"e{i}", "datetime": "2026-11-01T00:00:00Z", "metric_name": name, "profile_email": "a@example.com",
        "event_properties": {}}}


def test_inline_field_mapping_extends_and_removes_preset_entries(run_map):
    run = run_map({"preset": "klaviyo", "field_mapping": {"locale": "LOCALE", "first_name": None}},
                  [PROFILE_SCHEMA, profile()])
    (rec,) = run.records("klaviyo_contacts")
    assert rec["attributes"]["LOCALE"] == "en-GB"
    assert "FIRSTNAME" not in rec["attributes"]
    props = run.schema("klaviyo_contacts")["schema"]["properties"]["attributes"]["properties"]
    assert "LOCALE" in props
    assert "FIRSTNAME" not in props


def test_per_stream_field_mapping(run_map):
    run = run_map({"preset": "klaviyo", "field_mapping": {"profiles": {"location.timezone": "TIMEZONE"}}},
                  [PROFILE_SCHEMA, profile()])
    assert run.records("klaviyo_contacts")[0]["attributes"]["TIMEZONE"] == "Europe/London"


def test_mapping_file_extends_preset_and_config_overrides_file(run_map, tmp_path):
    f = tmp_path / "m.yml"
    f.write_text("field_mapping:\n  locale: LOCALE\ntype_hints:\n  LOCALE: text\n"
                 "event_mapping:\n  Viewed Page: page_viewed\nlists:\n  all_contacts: 99\n")
    run = run_map({"preset": "klaviyo", "mapping_file": str(f), "lists": {"all_contacts": 98}},
                  [PROFILE_SCHEMA, profile(), EVENT_SCHEMA, event("Viewed Page")])
    rec = run.records("klaviyo_contacts")[0]
    assert rec["attributes"]["LOCALE"] == "en-GB"
    assert rec["list_ids"] == [98]
    assert run.records("klaviyo_events")[0]["event_name"] == "page_viewed"


def test_event_mapping_overrides_and_null_drops(run_map):
    run = run_map({"preset": "klaviyo", "event_mapping": {"Placed Order": "purchase", "Received Email": None}},
                  [EVENT_SCHEMA, event("Placed Order", 1), event("Received Email", 2), event("Opened Email", 3)])
    assert [r["event_name"] for r in run.records("klaviyo_events")] == ["purchase", "email_opened"]
    assert run.summary["events_dropped"] == 1
    assert run.summary["events_dropped_by_mapping"] == {"Received Email": 1}


@pytest.mark.parametrize(("policy", "expected", "dropped"), [
    ("keep", ["Viewed Page", "order_completed"], 0),
    ("snake_case", ["viewed_page", "order_completed"], 0),
    ("drop", ["order_completed"], 1),
])
def test_event_name_policy(run_map, policy, expected, dropped):
    run = run_map({"preset": "klaviyo", "event_name_policy": policy},
                  [EVENT_SCHEMA, event("Viewed Page", 1), event("Placed Order", 2)])
    assert [r["event_name"] for r in run.records("klaviyo_events")] == expected
    assert run.summary["events_dropped"] == dropped
    if dropped:
        assert run.summary["events_dropped_by_policy"] == {"Viewed Page": 1}
    # the summary goes to stderr as one line
    assert run.mapper.summary_line().startswith("map-brevo summary: {")


def test_stream_routing_overrides_preset(run_map):
    run = run_map({"preset": "klaviyo", "stream_routing": {
        "events": "drop",
        "lists": {"type": "list_memberships", "list": "id", "identifiers": {"email": "owner"}}}},
        [EVENT_SCHEMA, event("Placed Order"), PROFILE_SCHEMA, profile()])
    assert run.records("klaviyo_events") == []
    assert run.summary["streams_dropped"] == {"events": 1}
    assert len(run.records("klaviyo_contacts")) == 1


def test_unrouted_streams_default_drop_and_pass_through(run_map):
    other = [{"type": "SCHEMA", "stream": "metrics", "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
              "key_properties": ["id"]},
             {"type": "RECORD", "stream": "metrics", "record": {"id": "m1", "extra": 1.5}}]
    dropped = run_map({"preset": "klaviyo"}, other)
    assert dropped.messages == []
    assert dropped.summary["streams_dropped"] == {"metrics": 1}
    kept = run_map({"preset": "klaviyo", "unrouted_streams": "pass_through"}, other)
    assert kept.messages == other
    # generic passes unrouted streams through by default
    assert run_map({"preset": "generic"}, other).messages == other


def test_type_hints_coerce_and_describe_schema(run_map):
    run = run_map({"preset": "klaviyo", "field_mapping": {
        "properties.vip": "VIP", "properties.birthday": "BIRTHDAY", "properties.tags": "TAGS"},
        "type_hints": {"VIP": "boolean", "BIRTHDAY": "date", "TAGS": "text", "LTV": "number"}},
        [PROFILE_SCHEMA, profile(properties={"vip": "yes", "birthday": "1990-07-14T00:00:00Z",
                                             "tags": ["a", "b"], "lifetime_value": "12.5"})])
    attrs = run.records("klaviyo_contacts")[0]["attributes"]
    assert attrs["VIP"] is True
    assert attrs["BIRTHDAY"] == "1990-07-14"
    assert attrs["TAGS"] == '["a","b"]'
    assert attrs["LTV"] == 12.5
    props = run.schema("klaviyo_contacts")["schema"]["properties"]["attributes"]["properties"]
    assert props["VIP"] == {"type": ["boolean", "null"]}
    assert props["BIRTHDAY"] == {"type": ["string", "null"], "format": "date"}
    assert props["TAGS"] == {"type": ["string", "null"]}
    assert props["LTV"] == {"type": ["number", "null"]}


def test_impossible_date_is_caught_warn_and_error(run_map):
    msgs = [PROFILE_SCHEMA, profile(properties={"birthday": "2024-02-30"})]
    cfg = {"preset": "klaviyo", "field_mapping": {"properties.birthday": "BIRTHDAY"}, "type_hints": {"BIRTHDAY": "date"}}
    run = run_map(cfg, msgs)
    assert "BIRTHDAY" not in run.records("klaviyo_contacts")[0]["attributes"]
    assert run.summary["invalid_value"] == {"profiles.BIRTHDAY": 1}
    with pytest.raises(MappingError) as exc:
        run_map({**cfg, "invalid_values": "error"}, msgs)
    text = str(exc.value)
    assert "input line 2" in text
    assert "'profiles'" in text
    assert "p1" in text
    assert "BIRTHDAY" in text
    assert "day is out of range" in text


def test_lists_static_rules_and_overridable_ids(run_map):
    run = run_map({"preset": "klaviyo", "lists": {"high_value": 500}, "static_lists": ["all_contacts", 77, "VIPs"],
                   "list_rules": {"subscribers": None, "big_spenders": "LTV >= 1000 and email"}},
                  [PROFILE_SCHEMA, profile(1, properties={"lifetime_value": 600}),
                   profile(2, properties={"lifetime_value": 1500}), profile(3, properties={"lifetime_value": None})])
    recs = run.records("klaviyo_contacts")
    assert recs[0]["list_ids"] == [20, 77, 500]
    assert recs[0]["list_names"] == ["VIPs"]
    assert recs[1]["list_names"] == ["VIPs", "big_spenders"]
    assert recs[2]["list_ids"] == [20, 77]
    assert run.summary["rule_not_evaluable"]["high_value"] == 1


def test_rule_can_read_nested_source_fields_with_get(run_map):
    run = run_map({"preset": "klaviyo", "list_rules": {"high_value": None}},
                  [PROFILE_SCHEMA, profile(1, subscriptions={"email": {"marketing": {"consent": "SUBSCRIBED"}}}),
                   profile(2)])
    assert [r["list_ids"] for r in run.records("klaviyo_contacts")] == [[20, 21], [20]]


MEMBERS = [{"type": "SCHEMA", "stream": "list_members", "key_properties": ["list_id", "profile_id"],
            "schema": {"type": "object", "properties": {"list_id": {"type": "string"}, "profile_id": {"type": "string"},
                                                        "email": {"type": ["string", "null"]}}}},
           {"type": "RECORD", "stream": "list_members", "record": {"list_id": "L1", "profile_id": "p1", "email": "a@x.io"}},
           {"type": "RECORD", "stream": "list_members", "record": {"list_id": "L2", "profile_id": "p1", "email": "a@x.io"}},
           {"type": "RECORD", "stream": "list_members", "record": {"list_id": "L3", "profile_id": "p1", "email": "a@x.io"}}]


def test_list_map_from_source_membership(run_map):
    run = run_map({"preset": "klaviyo", "list_map": {"L1": 31, "L2": "subscribers", "L3": "Newsletter FR"}}, MEMBERS)
    recs = run.records("klaviyo_list_members_list_memberships")
    assert [(r["list_id"], r["list_name"], r["email"], r["action"]) for r in recs] == [
        (31, None, "a@x.io", "add"), (21, None, "a@x.io", "add"), (None, "Newsletter FR", "a@x.io", "add")]
    assert recs[0]["source_list_id"] == "L1"
    assert run.schema("klaviyo_list_members_list_memberships")["key_properties"] == ["source_list_id", "source_profile_id"]


def test_unmapped_lists_policies(run_map):
    run = run_map({"preset": "klaviyo", "list_map": {"L1": 31}, "unmapped_lists": "drop"}, MEMBERS)
    assert [r["list_id"] for r in run.records("klaviyo_list_members_list_memberships")] == [31]
    assert run.summary["list_unmapped_dropped"] == {"total": 2}
    with pytest.raises(MappingError, match=r"input line 3: .*'L2' has no entry in `list_map`"):
        run_map({"preset": "klaviyo", "list_map": {"L1": 31}, "unmapped_lists": "error"}, MEMBERS)


def test_segment_mirroring_on_contacts(run_map, fixture_lines):
    run = run_map({"preset": "braze", "list_map": {"9c4e1d2a-7b3f-4e5a-8c6d-1f2e3a4b5c6d": "engaged_users"}},
                  fixture_lines("braze.jsonl"))
    assert [r["list_ids"] for r in run.records("braze_contacts")] == [[10], [10], []]


def test_unmapped_fields_pass_through(run_map):
    run = run_map({"preset": "klaviyo", "unmapped_fields": "pass_through"}, [PROFILE_SCHEMA, profile()])
    attrs = run.records("klaviyo_contacts")[0]["attributes"]
    assert attrs["LOCALE"] == "en-GB"
    assert attrs["LOCATION_TIMEZONE"] == "Europe/London"
    assert "LOCATION_CITY" not in attrs  # mapped to CITY already
    assert attrs["CITY"] == "Leeds"
    props = run.schema("klaviyo_contacts")["schema"]["properties"]["attributes"]["properties"]
    assert {"LOCALE", "LOCATION_TIMEZONE", "PROPERTIES_LTV_EUR", "PROPERTIES_TAGS"} <= set(props)
    # keys and replication keys travel as source_<name>, not as attributes
    assert not {"ID", "UPDATED"} & set(props)
    assert props["PROPERTIES_TAGS"] == {"type": ["string", "null"]}


def test_unmapped_fields_error_before_any_record(run_map):
    with pytest.raises(MappingError) as exc:
        run_map({"preset": "klaviyo", "unmapped_fields": "error"}, [PROFILE_SCHEMA, profile()])
    text = str(exc.value)
    assert text.startswith("input line 1:")
    assert "locale" in text
    assert "stream_routing.profiles" in text
    ok = run_map({"preset": "klaviyo", "unmapped_fields": "error",
                  "stream_routing": {"profiles": {"type": "contacts", "ignore": ["locale", "id", "updated"]}}},
                 [PROFILE_SCHEMA, profile()])
    assert len(ok.records("klaviyo_contacts")) == 1


def test_precedence_first_non_null_wins(run_map):
    cfg = {"preset": "klaviyo", "field_mapping": {"properties.ltv_eur": "LTV"},
           "precedence": {"LTV": ["properties.ltv_eur", "properties.lifetime_value"]}}
    run = run_map(cfg, [PROFILE_SCHEMA, profile(1, properties={"ltv_eur": 7, "lifetime_value": 9}),
                        profile(2, properties={"ltv_eur": None, "lifetime_value": 9})])
    assert [r["attributes"]["LTV"] for r in run.records("klaviyo_contacts")] == [7, 9]


def test_carry_keys_off(run_map):
    run = run_map({"preset": "klaviyo", "carry_keys": False}, [PROFILE_SCHEMA, profile()])
    msg = run.schema("klaviyo_contacts")
    assert msg["key_properties"] == []
    assert "bookmark_properties" not in msg
    assert "source_id" not in run.records("klaviyo_contacts")[0]


def test_prefix_and_explicit_output(run_map):
    run = run_map({"preset": "klaviyo", "prefix": "kl", "stream_routing": {
        "events": {"type": "events", "output": "web_events", "event_name": "metric_name",
                   "identifiers": {"email_id": "profile_email"}}}},
        [PROFILE_SCHEMA, profile(), EVENT_SCHEMA, event("Placed Order")])
    assert run.streams() == ["kl_contacts", "web_events"]
    assert run.records("web_events")[0]["event_date"] is None


def test_order_preserved_across_streams_and_activate_version(run_map):
    msgs = [PROFILE_SCHEMA, EVENT_SCHEMA, profile(1), event("Placed Order", 1), profile(2),
            {"type": "STATE", "value": {"x": 1}}, event("Opened Email", 2),
            {"type": "ACTIVATE_VERSION", "stream": "profiles", "version": 7}]
    run = run_map({"preset": "klaviyo"}, msgs)
    seq = [(m["type"], m.get("stream"), (m.get("record") or {}).get("source_id")) for m in run.messages]
    assert seq == [("SCHEMA", "klaviyo_contacts", None), ("SCHEMA", "klaviyo_events", None),
                   ("SCHEMA", "klaviyo_orders", None),
                   ("RECORD", "klaviyo_contacts", "p1"), ("RECORD", "klaviyo_events", "e1"),
                   ("RECORD", "klaviyo_orders", "e1"),
                   ("RECORD", "klaviyo_contacts", "p2"), ("STATE", None, None),
                   ("RECORD", "klaviyo_events", "e2"), ("ACTIVATE_VERSION", "klaviyo_contacts", None)]


def test_generic_products_and_orders_from_mapping_file(run_map, tmp_path):
    f = tmp_path / "shop.yaml"
    f.write_text(
        "prefix: shop\n"
        "stream_routing:\n"
        "  items:\n    type: products\n    fields: {sku: id, title: name, price: price, cat: categories}\n"
        "  sales:\n    type: orders\n    fields: {order_no: id, placed: created_at, status: status, amount: amount, buyer: email}\n"
        "  customers:\n    type: contacts\n    fields: {mail: email, given: FIRSTNAME}\n"
    )
    msgs = [
        {"type": "SCHEMA", "stream": "items", "key_properties": ["sku"], "schema": {"type": "object", "properties": {
            "sku": {"type": "string"}, "title": {"type": "string"}, "price": {"type": "number"}, "cat": {"type": "array"}}}},
        {"type": "RECORD", "stream": "items", "record": {"sku": "A1", "title": "Mug", "price": 9.5, "cat": ["kitchen"]}},
        {"type": "SCHEMA", "stream": "sales", "key_properties": ["order_no"], "schema": {"type": "object", "properties": {
            "order_no": {"type": "string"}, "placed": {"type": "string"}, "status": {"type": "string"},
            "amount": {"type": "number"}, "buyer": {"type": "string"}}}},
        {"type": "RECORD", "stream": "sales", "record": {"order_no": "O1", "placed": "2026-11-01T00:00:00Z",
                                                          "status": "completed", "amount": 19.0, "buyer": "a@x.io"}},
        {"type": "SCHEMA", "stream": "customers", "key_properties": [], "schema": {"type": "object", "properties": {
            "mail": {"type": "string"}, "given": {"type": "string"}}}},
        {"type": "RECORD", "stream": "customers", "record": {"mail": "a@x.io", "given": "Al"}},
    ]
    run = run_map({"preset": "generic", "mapping_file": str(f)}, msgs)
    assert run.records("shop_products") == [{"source_sku": "A1", "id": "A1", "name": "Mug", "price": 9.5, "categories": ["kitchen"]}]
    assert run.records("shop_orders")[0]["id"] == "O1"
    assert run.records("shop_contacts") == [{"email": "a@x.io", "attributes": {"FIRSTNAME": "Al"}}]


def test_singer_sdk_stream_maps_run_on_the_input(run_map):
    run = run_map({"preset": "klaviyo", "stream_maps": {"profiles": {
        "__filter__": "email != 'p2@example.com'", "nickname": "first_name.upper()"}},
        "field_mapping": {"nickname": "NICKNAME"}},
        [PROFILE_SCHEMA, profile(1), profile(2), {"type": "ACTIVATE_VERSION", "stream": "profiles", "version": 3}])
    recs = run.records("klaviyo_contacts")
    assert [r["email"] for r in recs] == ["p1@example.com"]
    assert recs[0]["attributes"]["NICKNAME"] == "ANN"
    assert run.messages[-1] == {"type": "ACTIVATE_VERSION", "stream": "klaviyo_contacts", "version": 3}


def test_stream_maps_alias_reaches_a_route_and_unrouted_alias_passes(run_map):
    run = run_map({"preset": "generic", "stream_routing": {"people": "contacts"}, "field_mapping": {"email": "email"},
                   "stream_maps": {"customers": {"__alias__": "people"}, "other": {"id": "id", "x": "__NULL__"}}},
                  [{"type": "SCHEMA", "stream": "customers", "key_properties": [], "schema": {"type": "object", "properties": {"email": {"type": "string"}}}},
                   {"type": "RECORD", "stream": "customers", "record": {"email": "a@x.io"}},
                   {"type": "SCHEMA", "stream": "other", "key_properties": [], "schema": {"type": "object", "properties": {"id": {"type": "integer"}, "x": {"type": "integer"}}}},
                   {"type": "RECORD", "stream": "other", "record": {"id": 1, "x": 2}}])
    assert run.records("contacts") == [{"email": "a@x.io", "attributes": {}}]
    assert run.records("other") == [{"id": 1}]


def test_bad_stream_map_fails_at_its_schema_before_records(run_map):
    with pytest.raises(MappingError, match=r"input line 1: config, key `stream_maps`"):
        run_map({"stream_maps": {"profiles": {"x": "1 +"}}}, [PROFILE_SCHEMA, profile()])


def test_klaviyo_catalog_items_become_products(run_map):
    run = run_map({"preset": "klaviyo"}, [
        {"type": "SCHEMA", "stream": "catalog_items", "key_properties": ["id"], "bookmark_properties": ["updated"],
         "schema": {"type": "object", "properties": {k: {"type": ["string", "null"]} for k in (
             "id", "external_id", "title", "url", "image_full_url", "updated")} | {"price": {"type": ["number", "null"]}}}},
        {"type": "RECORD", "stream": "catalog_items", "record": {
            "id": "$custom:::$default:::SKU-1", "external_id": "SKU-1", "title": "Lampe", "url": "https://x.io/p/1",
            "image_full_url": "https://x.io/i/1.jpg", "price": 64.95, "updated": "2026-11-01T00:00:00+00:00"}}])
    assert run.records("klaviyo_products") == [{
        "source_id": "$custom:::$default:::SKU-1", "source_updated": "2026-11-01T00:00:00+00:00", "id": "SKU-1",
        "name": "Lampe", "url": "https://x.io/p/1", "image_url": "https://x.io/i/1.jpg", "sku": "SKU-1", "price": 64.95}]


def test_where_set_object_array_and_constant(run_map):
    route = {"type": "orders", "where": 'kind == "sale" and get("meta.ok", False)',
             "set": {"id": "ref", "status": {"value": "completed"}, "placed_at": "ts",
                     "identifiers": {"email_id": "who", "ext_id": "uid"},
                     "products": {"each": "lines", "fields": {"sku": "product_id", "n": "quantity"}}}}
    schema = {"type": "SCHEMA", "stream": "tx", "key_properties": ["ref"], "schema": {"type": "object", "properties": {
        "ref": {"type": "string"}, "kind": {"type": "string"}, "ts": {}, "who": {"type": "string"}, "uid": {},
        "meta": {"type": "object"}, "lines": {"type": "array", "items": {"type": "object", "properties": {
            "sku": {"type": "string"}, "n": {"type": "integer"}}}}}}}
    rec = {"ref": "T1", "kind": "sale", "ts": 1767225600000, "who": "a@x.io", "uid": None, "meta": {"ok": True},
           "lines": [{"sku": "A", "n": 2, "extra": 1}]}
    run = run_map({"stream_routing": {"tx": route}}, [
        schema, {"type": "RECORD", "stream": "tx", "record": rec},
        {"type": "RECORD", "stream": "tx", "record": {**rec, "ref": "T2", "kind": "refund"}},
        {"type": "RECORD", "stream": "tx", "record": {**rec, "ref": "T3", "meta": {}}}])
    assert run.records("orders") == [{
        "source_ref": "T1", "id": "T1", "status": "completed", "placed_at": "2026-01-01T00:00:00+00:00",
        "identifiers": {"email_id": "a@x.io"}, "products": [{"product_id": "A", "quantity": 2}]}]
    assert run.summary["filtered_out"] == {"orders": 2}
    props = run.schema("orders")["schema"]["properties"]
    assert props["products"]["items"]["properties"]["quantity"] == {"type": ["integer", "null"]}
    assert props["placed_at"] == {"type": ["string", "null"], "format": "date-time"}


def test_set_conflicts_and_bad_where_are_config_errors():
    from map_brevo.mapper import MapBrevo

    with pytest.raises(MappingError, match=r"key `stream_routing.x.set.id`: 'id' is also a target in `fields`"):
        MapBrevo(config={"stream_routing": {"x": {"type": "orders", "fields": {"ref": "id"}, "set": {"id": "other"}}}})
    with pytest.raises(MappingError, match=r"key `stream_routing.x.where`: rule 'a ==' does not parse"):
        MapBrevo(config={"stream_routing": {"x": {"type": "orders", "where": "a =="}}})
    with pytest.raises(MappingError, match=r"key `stream_routing.x.set.lines`: an array is written"):
        MapBrevo(config={"stream_routing": {"x": {"type": "orders", "set": {"lines": {"each": "l"}}}}})


def test_contact_properties_action_paths_and_the_message_api(run_map):
    cfg = {"type_hints": {"LAST_SEEN": "date"}, "list_map": {"5": 5}, "stream_routing": {
        "activity": [
            {"type": "events", "event_name": {"value": "visit"}, "event_date": "at",
             "identifiers": {"ext_id": "uid", "email_id": "mail"},
             "contact_properties": {"LAST_SEEN": "at", "PLAN": ["plan", "tier"]}},
            {"type": "list_memberships", "output": "activity_list_memberships", "each": "groups",
             "list": "id", "action": "op", "identifiers": {"email": "parent.mail", "ext_id": "parent.uid"}},
        ]}}
    schema = {"type": "SCHEMA", "stream": "activity", "key_properties": ["uid"], "schema": {"type": "object", "properties": {
        "uid": {"type": "string"}, "mail": {"type": ["string", "null"]}, "at": {"type": "string"},
        "plan": {"type": ["string", "null"]}, "tier": {"type": "string"}, "groups": {"type": "array"}}}}
    rec = {"uid": "u1", "mail": None, "at": "2026-11-30T09:00:00Z", "plan": None, "tier": "gold",
           "groups": [{"id": 5, "op": "remove"}, {"id": "x", "op": "add"}, {"id": 6, "op": "delete"}]}
    run = run_map(cfg, [schema, {"type": "RECORD", "stream": "activity", "record": rec}])
    assert run.records("events") == [{"source_uid": "u1", "event_name": "visit", "event_date": "2026-11-30T09:00:00+00:00",
                                      "identifiers": {"ext_id": "u1"},
                                      "contact_properties": {"LAST_SEEN": "2026-11-30", "PLAN": "gold"},
                                      "event_properties": {}}]
    assert run.records("activity_list_memberships") == [
        {"source_uid": "u1", "list_id": 5, "list_name": None, "ext_id": "u1", "action": "remove"},
        {"source_uid": "u1", "list_id": None, "list_name": "x", "ext_id": "u1", "action": "add"}]
    assert run.summary["invalid_value"] == {"activity.action": 1}
    # singer-sdk's map_*_message API gives the same records as the fast path
    from map_brevo.mapper import MapBrevo

    mapper = MapBrevo(config=cfg)
    schemas = list(mapper.map_schema_message(schema))
    assert [s.stream for s in schemas] == ["events", "activity_list_memberships"]
    assert [m.record for m in mapper.map_record_message({"type": "RECORD", "stream": "activity", "record": rec})] == [
        m["record"] for m in run.messages if m["type"] == "RECORD"]
    state = {"type": "STATE", "value": {"bookmarks": {"activity": {"x": 1}}}}
    assert [m.to_dict() for m in mapper.map_state_message(state)] == [state]


def test_one_source_to_several_targets(run_map):
    run = run_map({"preset": "klaviyo", "field_mapping": {"id": ["KLAVIYO_ID", "ext_id"]}}, [PROFILE_SCHEMA, profile()])
    rec = run.records("klaviyo_contacts")[0]
    assert rec["ext_id"] == "p1"
    assert rec["attributes"]["KLAVIYO_ID"] == "p1"
    from map_brevo.mapper import MapBrevo

    with pytest.raises(MappingError, match=r"key `field_mapping.id`: 'bad name' is not a valid Brevo attribute name"):
        MapBrevo(config={"field_mapping": {"id": ["OK", "bad name"]}})
