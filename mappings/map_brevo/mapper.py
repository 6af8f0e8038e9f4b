"""map-brevo: a Singer mapper that reshapes tap output into target-brevo's input objects."""

from __future__ import annotations

import contextlib
import json
import sys
import typing as t
from collections import Counter

import msgspec
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, MapExpressionError, StreamMapConfigError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.mapper import PluginMapper, RemoveRecordTransform
from singer_sdk.mapper_base import InlineMapper
from singer_sdk.singerlib import ActivateVersionMessage, RecordMessage, SchemaMessage, StateMessage

from map_brevo import spec
from map_brevo.io import FastReader, FastWriter
from map_brevo.plan import Bound, Plan, RecordError

if t.TYPE_CHECKING:
    from singer_sdk import singerlib as singer

_encode = msgspec.json.Encoder(decimal_format="number").encode


class MapBrevo(InlineMapper):
    """Turns Klaviyo, Braze, Iterable and flat customer records into Brevo-shaped records."""

    name = "map-brevo"
    message_reader_class = FastReader
    message_writer_class = FastWriter
    # No schema flattening: it would break the nested `attributes`/`identifiers` objects that
    # target-brevo reads. singer-sdk stream maps are applied to the input (see __init__).
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT, PluginCapabilities.STREAM_MAPS, PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property("preset", th.StringType, default="generic",
                    description="Starting mapping: klaviyo, braze, iterable, brevo or generic."),
        th.Property("mapping_file", th.StringType,
                    description="YAML mapping file that extends or overrides the preset (same keys as the inline settings)."),
        th.Property("field_mapping", th.ObjectType(additional_properties=True),
                    description="Source path (dotted, e.g. `location.city`) -> Brevo attribute (or a list of them), for every contacts route; "
                                "or `{stream: {path: ATTRIBUTE}}` for one stream. null removes a preset entry."),
        th.Property("precedence", th.ObjectType(additional_properties=True),
                    description="ATTRIBUTE -> ordered list of source paths; the first non-null wins."),
        th.Property("event_mapping", th.ObjectType(additional_properties=True),
                    description="Source event name -> Brevo event name; null drops that event."),
        th.Property("stream_routing", th.ObjectType(additional_properties=True),
                    description="Source stream (or glob) -> object type, route object, list of routes, or `drop`."),
        th.Property("type_hints", th.ObjectType(additional_properties=True),
                    description="ATTRIBUTE -> date, number, boolean or text; written into the output SCHEMA."),
        th.Property("lists", th.ObjectType(additional_properties=True),
                    description="List name -> Brevo list id (or Brevo list name); overrides the preset's list ids."),
        th.Property("list_map", th.ObjectType(additional_properties=True),
                    description="Source list/segment id -> Brevo list id, list name, or a name from `lists`."),
        th.Property("static_lists", th.ArrayType(th.CustomType({"type": ["string", "integer"]})),
                    description="Lists every contact is added to (names from `lists` or ids)."),
        th.Property("list_rules", th.ObjectType(additional_properties=True),
                    description='List name -> simpleeval rule over the mapped attributes and source fields, e.g. `high_value: "LTV >= 500"`.'),
        th.Property("unmapped_fields", th.StringType, allowed_values=["drop", "pass_through", "error"],
                    description="Source fields no mapping covers: drop (default), pass_through (upper-cased, "
                                "sanitised attribute names) or error (before any record flows)."),
        th.Property("event_name_policy", th.StringType, allowed_values=["keep", "snake_case", "drop"],
                    description="Event names no mapping covers: keep, snake_case (default) or drop (counted in the summary)."),
        th.Property("unrouted_streams", th.StringType, allowed_values=["pass_through", "drop"],
                    description="Streams no route covers. Default from the preset: drop for klaviyo, braze, iterable "
                                "and brevo (their other streams have no Brevo object), pass_through for generic."),
        th.Property("unmapped_lists", th.StringType, allowed_values=["name", "drop", "error"],
                    description="Source list ids missing from `list_map`: name (use the id as a Brevo list name, default), drop or error."),
        th.Property("invalid_values", th.StringType, allowed_values=["warn", "error"],
                    description="A value its type hint refuses (e.g. 2024-02-30 as a date): warn (leave it out, "
                                "default) or error (stop with the stream, record key and field)."),
        th.Property("prefix", th.StringType,
                    description="Output stream prefix (default: the preset's source name, e.g. `klaviyo_contacts`)."),
        th.Property("carry_keys", th.BooleanType, default=True,
                    description="Carry source key and replication-key fields as `source_<name>` and declare them "
                                "as the output key_properties and bookmark_properties."),
        th.Property("attribute_name_pattern", th.StringType, default=spec.DEFAULT_ATTRIBUTE_PATTERN,
                    description="Regular expression a Brevo attribute name must match (Brevo's rules are unpublished)."),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        # Everything about the mapping is checked here, before the first input line is read.
        self.plan = Plan(spec.build(dict(self.config)), carry_keys=self.config.get("carry_keys", True))
        # singer-sdk stream maps (`stream_maps`), when configured, run on the input before the
        # Brevo mapping: filter records, compute fields, alias streams.
        self.pre_maps: PluginMapper | None = None
        if self.config.get("stream_maps"):
            try:
                self.pre_maps = PluginMapper(plugin_config=dict(self.config), logger=self.logger)
            except (StreamMapConfigError, MapExpressionError) as exc:
                msg = f"config, key `stream_maps`: {exc}"
                raise spec.MappingError(msg) from None
        self.bound: dict[str, list[Bound]] = {}
        self.passthrough: set[str] = set()
        self.counts_in: Counter[str] = Counter()
        self.counts_out: Counter[str] = Counter()
        self.dropped_streams: Counter[str] = Counter()

    # --- SCHEMA -----------------------------------------------------------------------------------
    def _bind(self, message_dict: dict) -> list[Bound] | None:
        stream = message_dict["stream"]
        routes = self.plan.routes_for(stream)
        self.passthrough.discard(stream)
        self.bound.pop(stream, None)
        if routes is None and self.plan.unrouted == "pass_through":
            self.passthrough.add(stream)
            return None
        if not routes:
            if stream not in self.dropped_streams:
                why = "routed to drop" if routes == [] else "no route covers it and unrouted_streams is drop"
                self.logger.warning("Stream %r is dropped: %s.", stream, why)
            self.dropped_streams[stream] += 0
            return None
        bound = self.plan.bind(stream, message_dict.get("schema") or {}, message_dict.get("key_properties") or [],
                               message_dict.get("bookmark_properties"), routes)
        self.bound[stream] = bound
        return bound

    def map_schema_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """One SCHEMA per output stream of the input stream's routes (or the input, unrouted)."""
        bound = self._bind(message_dict)
        if bound is None:
            if message_dict["stream"] in self.passthrough:
                yield SchemaMessage(message_dict["stream"], message_dict["schema"],
                                    message_dict.get("key_properties") or [],
                                    message_dict.get("bookmark_properties"))
            return
        for b in bound:
            o = b.output
            yield SchemaMessage(o.stream, o.schema, o.key_properties, o.bookmark_properties)

    def _pre_mapped_schemas(self, message_dict: dict) -> list[dict]:
        """The SCHEMA messages singer-sdk stream maps make of one input SCHEMA."""
        assert self.pre_maps is not None
        try:
            self.pre_maps.register_raw_stream_schema(message_dict["stream"], message_dict["schema"],
                                                     message_dict.get("key_properties") or [])
        except (StreamMapConfigError, MapExpressionError) as exc:
            msg = f"config, key `stream_maps`: {exc}"
            raise spec.MappingError(msg) from None
        return [{**message_dict, "stream": sm.stream_alias, "schema": sm.transformed_schema,
                 "key_properties": list(sm.transformed_key_properties or [])}
                for sm in self.pre_maps.stream_maps[message_dict["stream"]]
                if not isinstance(sm, RemoveRecordTransform)]

    def _process_schema_message(self, message_dict: dict) -> None:
        self._assert_line_requires(message_dict, requires={"stream", "schema"})
        if self.pre_maps is None:
            self._schema(message_dict, self.message_reader.current_line)
            return
        for mapped in self._pre_mapped_schemas(message_dict):
            self._schema(mapped, None)

    def _schema(self, message_dict: dict, raw: bytes | None) -> None:
        bound = self._bind(message_dict)
        w = self.message_writer
        if bound is None:
            if message_dict["stream"] in self.passthrough:
                w.write_raw(raw if raw is not None else _encode(message_dict) + b"\n")
            return
        for b in bound:
            o = b.output
            msg = {"type": "SCHEMA", "stream": o.stream, "schema": o.schema, "key_properties": o.key_properties}
            if o.bookmark_properties:
                msg["bookmark_properties"] = o.bookmark_properties
            w.write_raw(_encode(msg) + b"\n")

    # --- RECORD -----------------------------------------------------------------------------------
    def _routed(self, message_dict: dict) -> list[Bound] | None:
        stream = message_dict.get("stream")
        bound = self.bound.get(stream)
        if bound is None and stream not in self.passthrough and stream not in self.dropped_streams:
            msg = f"RECORD for stream {stream!r} arrived before its SCHEMA"
            raise RecordError(msg)
        return bound

    def map_record_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """The records each route makes of one input record, in route order."""
        bound = self._routed(message_dict)
        if bound is None:
            if message_dict["stream"] in self.passthrough:
                yield RecordMessage(message_dict["stream"], message_dict["record"],
                                    version=message_dict.get("version"))
            return
        for b in bound:
            for rec in b.transform(message_dict["record"]):
                yield RecordMessage(b.out_stream, rec, version=message_dict.get("version"))

    def _process_record_message(self, message_dict: dict) -> None:
        # The hot path: the same transforms as map_record_message, encoded straight to bytes
        # without building Message objects or flushing per line (see README "Performance").
        stream = message_dict.get("stream")
        self.counts_in[stream] += 1  # by source stream name, as the tap counted them
        if self.pre_maps is None:
            self._record(message_dict, self.message_reader.current_line)
            return
        if stream not in self.pre_maps.stream_maps:
            msg = f"RECORD for stream {stream!r} arrived before its SCHEMA"
            raise RecordError(msg)
        for sm in self.pre_maps.stream_maps[stream]:
            rec = sm.transform(message_dict["record"])
            if rec is not None:
                self._record({**message_dict, "stream": sm.stream_alias, "record": rec}, None)

    def _record(self, message_dict: dict, raw: bytes | None) -> None:
        stream = message_dict.get("stream")
        bound = self._routed(message_dict)
        w = self.message_writer
        if bound is None:
            if stream in self.passthrough:
                w.write_raw(raw if raw is not None else _encode(message_dict) + b"\n")
                self.counts_out[stream] += 1
            else:
                self.dropped_streams[stream] += 1
            return
        record = message_dict["record"]
        version = message_dict.get("version")
        extracted = message_dict.get("time_extracted")
        out = self.counts_out
        for b in bound:
            n = 0
            for rec in b.transform(record):
                msg = {"type": "RECORD", "stream": b.out_stream, "record": rec}
                if version is not None:
                    msg["version"] = version
                if extracted is not None:
                    msg["time_extracted"] = extracted
                w.write_raw(_encode(msg) + b"\n")
                n += 1
            out[b.out_stream] += n

    # --- STATE, ACTIVATE_VERSION, BATCH -----------------------------------------------------------
    def map_state_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """STATE passes through untouched."""
        yield StateMessage(message_dict["value"])

    def _process_state_message(self, message_dict: dict) -> None:
        # The original line, byte for byte; flushed so the target sees state promptly.
        self.message_writer.write_raw(self.message_reader.current_line)
        self.message_writer.flush()

    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[singer.Message]:
        """ACTIVATE_VERSION goes to every output stream of the input stream."""
        streams = [message_dict["stream"]]
        if self.pre_maps is not None:
            streams = [sm.stream_alias for sm in self.pre_maps.stream_maps.get(streams[0], [])]
        for stream in streams:
            if stream in self.passthrough:
                yield ActivateVersionMessage(stream, message_dict["version"])
            for b in self.bound.get(stream, []):
                yield ActivateVersionMessage(b.out_stream, message_dict["version"])

    def _process_activate_version_message(self, message_dict: dict) -> None:
        for m in self.map_activate_version_message(message_dict):
            self.message_writer.write_raw(_encode(m.to_dict()) + b"\n")

    def _process_batch_message(self, message_dict: dict) -> None:
        msg = (f"BATCH message for stream {message_dict.get('stream')!r}: map-brevo maps records one by one; "
               f"run the tap without batch_config")
        raise RecordError(msg)

    # --- end --------------------------------------------------------------------------------------
    def process_endofpipe(self) -> None:
        """Flush and print the run summary on stderr."""
        self.message_writer.flush()
        print(self.summary_line(), file=sys.stderr)

    def summary(self) -> dict[str, t.Any]:
        stats = self.plan.stats
        groups: dict[str, dict[str, int]] = {}
        for k, v in sorted(stats.items()):
            kind, _, detail = k.partition(":")
            groups.setdefault(kind, {})[detail or "total"] = v
        return {
            "records_in": dict(self.counts_in),
            "records_out": dict(self.counts_out),
            "streams_dropped": dict(self.dropped_streams),
            "events_dropped": sum(v for k, v in stats.items() if k.startswith("events_dropped")),
            **groups,
        }

    def summary_line(self) -> str:
        return "map-brevo summary: " + json.dumps(self.summary(), sort_keys=True, default=str)

    @classmethod
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:  # type: ignore[override]
        """Run the mapper; configuration and input errors end the run with one located line."""
        try:
            super().invoke(*args, **kwargs)
        except (spec.MappingError, ConfigValidationError, FileNotFoundError) as exc:
            with contextlib.suppress(OSError):
                sys.stdout.flush()
            detail = exc.args[0] if exc.args else str(exc)
            if isinstance(exc, ConfigValidationError) and getattr(exc, "errors", None):
                detail = f"{detail}: {'; '.join(map(str, exc.errors))}"
            print(f"map-brevo: error: {detail}", file=sys.stderr)
            sys.exit(2)





def main() -> None:
    """Console entry point: singer-sdk's CLI, with a missing --config file as a one-line error."""
    try:
        MapBrevo.cli()
    except FileNotFoundError as exc:  # raised by singer-sdk while click parses --config
        print(f"map-brevo: error: {exc}", file=sys.stderr)
        sys.exit(2)
