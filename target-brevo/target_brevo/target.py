"""target-brevo: settings, stream-type routing, STATE after acceptance, summary, clean errors."""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import ConfigValidationError, RecordsWithoutSchemaException
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import SingerMessageType
from singer_sdk.target_base import Target

from .account import Account
from .client import BrevoClient, FatalError
from .rejects import Ledger
from .sinks import SINKS, BrevoSink, IgnoredSink

TYPES = tuple(SINKS)
# Within a drain: categories before products before orders (orders reference products).
DRAIN_ORDER = {"categories": 0, "products": 1, "contacts": 2, "list_memberships": 3, "orders": 4, "events": 5}
_decoder = msgspec.json.Decoder()


class InputError(Exception):
    """Bad input that cannot become a reject (the run stops with a located message)."""


class Reader(MsgSpecReader):
    """msgspec lines, floats as floats (not Decimal), malformed lines as rejects with their number."""

    def __init__(self) -> None:
        super().__init__()
        self.line_no = 0
        self.on_bad_line: Any = None

    def deserialize_json(self, line: str | bytes) -> dict:
        self.line_no += 1
        try:
            msg = _decoder.decode(line)
        except msgspec.DecodeError as exc:
            if not line.strip():
                return {"type": "_SKIP"}
            if self.on_bad_line is None:
                raise InputError(f"input line {self.line_no}: not JSON ({exc})") from None
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            self.on_bad_line(self.line_no, text, str(exc))
            return {"type": "_SKIP"}
        if not isinstance(msg, dict) or "type" not in msg:
            raise InputError(f"input line {self.line_no}: not a Singer message (no 'type')")
        return msg

    def process_lines(self, file_input: Any, callbacks: dict[str, Any]) -> Counter[str]:
        """The SDK's loop, leaner: stdin read as bytes (no text decoding), RECORD dispatched first."""
        stats: Counter[str] = Counter()
        filein = file_input if file_input is not None else sys.stdin.buffer
        on_record = callbacks[SingerMessageType.RECORD]
        for line in filein:
            self._current_message = line
            msg = self.deserialize_json(line)
            kind = msg["type"]
            if kind == "RECORD":
                on_record(msg)
            elif (callback := callbacks.get(kind)) is not None:
                callback(msg)
            else:
                self._process_unknown_message(msg)
            stats[kind] += 1
        return stats

    def _process_unknown_message(self, message_dict: dict) -> None:
        if message_dict.get("type") != "_SKIP":
            raise InputError(f"input line {self.line_no}: unknown message type {message_dict.get('type')!r}")


def _loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TargetBrevo(Target):
    """Singer target that batches and upserts contacts, lists, events and ecommerce data into Brevo."""

    name = "target-brevo"
    message_reader_class = Reader
    max_parallelism = 1  # sinks drain in DRAIN_ORDER, one at a time (one paced client)

    config_jsonschema = th.PropertiesList(
        th.Property("api_key", th.StringType, secret=True, title="API key",
                    description="Brevo API key (header api-key). Required unless dry_run."),
        th.Property("api_url", th.StringType, default="https://api.brevo.com/v3",
                    description="API base URL; HTTPS unless the host is loopback (the sandbox)."),
        th.Property("contact_identifier", th.StringType, default="email",
                    allowed_values=["email", "ext_id", "sms"],
                    description="Identifier that keys contacts (record_key in rejects, PUT/DELETE lookups)."),
        th.Property("stream_types", th.ObjectType(additional_properties=th.StringType),
                    description="Stream name → object type (contacts, events, list_memberships, categories, "
                                "products, orders), for streams whose name does not say it."),
        th.Property("unknown_streams", th.StringType, default="error", allowed_values=["error", "ignore"],
                    description="What to do with a stream of no known type."),
        th.Property("default_list_ids", th.ArrayType(th.IntegerType),
                    description="Lists every imported contact joins. Without them, imports go to the "
                                "list named by import_list_name (created when missing)."),
        th.Property("import_list_name", th.StringType, default="target-brevo imports",
                    description="List used for imports when a contact has no lists and no default_list_ids."),
        th.Property("list_folder_id", th.IntegerType, description="Folder for lists the target creates."),
        th.Property("list_folder_name", th.StringType, default="target-brevo",
                    description="Folder (found or created) for lists the target creates, if no list_folder_id."),
        th.Property("create_missing_lists", th.BooleanType, default=True,
                    description="Create lists given by name that do not exist (else: reject unknown_list)."),
        th.Property("list_mirror", th.BooleanType, default=False,
                    description="list_memberships: remove members not in the stream. Only for full-table "
                                "streams (ACTIVATE_VERSION seen, or listed in full_table_streams)."),
        th.Property("full_table_streams", th.ArrayType(th.StringType),
                    description="Streams known to be full-table syncs (for list_mirror)."),
        th.Property("update_existing", th.BooleanType, default=True,
                    description="true = upsert; false = insert only (existing contacts untouched)."),
        th.Property("clear_missing_attributes", th.BooleanType, default=False,
                    description="A null attribute erases the Brevo value (emptyContactsAttributes). "
                                "Default: nulls are not sent and never erase."),
        th.Property("create_missing_attributes", th.BooleanType, default=False,
                    description="Create unknown attributes, typed from the stream schema (date, float, "
                                "boolean, text). Default: report them once with example values."),
        th.Property("mistyped_attribute_policy", th.StringType, default="reject",
                    allowed_values=["reject", "warn"],
                    description="A value Brevo would silently ignore: reject the record, or drop the value "
                                "with a warning."),
        th.Property("default_phone_country", th.StringType,
                    description="ISO country (e.g. FR) for phones without a country code (E.164 normalisation)."),
        th.Property("consent_policy", th.StringType, default="never_resubscribe",
                    allowed_values=["never_resubscribe", "allow_resubscribe"],
                    description="never_resubscribe: emailBlacklisted/smsBlacklisted are only ever set to true."),
        th.Property("delete_policy", th.StringType, default="ignore",
                    allowed_values=["ignore", "unlink_lists", "blocklist", "delete"],
                    description="Contacts with deleted or _sdc_deleted_at."),
        th.Property("allow_hard_delete", th.BooleanType, default=False,
                    description="Required for delete_policy: delete."),
        th.Property("contacts_mode", th.StringType, default="auto",
                    allowed_values=["auto", "import", "single", "batch"],
                    description="auto: import, or single for batches of at most single_threshold contacts; "
                                "batch = update-only /contacts/batch."),
        th.Property("single_threshold", th.IntegerType, default=10,
                    description="In auto mode, drains this small use POST /contacts per record."),
        th.Property("identifier_conflict", th.StringType, default="reject",
                    allowed_values=["reject", "retry_without_sms"],
                    description="Single path: on an SMS owned by another contact, reject or retry without SMS."),
        th.Property("batch_missing", th.StringType, default="create", allowed_values=["create", "reject"],
                    description="Batch path: contacts Brevo does not have are created one by one, or rejected."),
        th.Property("import_max_bytes", th.IntegerType, default=8_000_000,
                    description="Serialized size cap of one /contacts/import body (Brevo: 10 MB max, ~8 MB advised)."),
        th.Property("contacts_batch_size", th.IntegerType, default=100,
                    description="Contacts per /contacts/batch call (Brevo's max is undocumented)."),
        th.Property("events_batch_size", th.IntegerType, default=500,
                    description="Events per /events/batch call (Brevo's max is undocumented)."),
        th.Property("categories_batch_size", th.IntegerType, default=100, description="At most 100."),
        th.Property("products_batch_size", th.IntegerType, default=100, description="At most 100."),
        th.Property("orders_batch_size", th.IntegerType, default=1000, description="At most 1000."),
        th.Property("orders_historical", th.BooleanType, default=True,
                    description="Orders' historical flag (true: no automation triggers)."),
        th.Property("events_mode", th.StringType, default="batch", allowed_values=["batch", "single"],
                    description="batch: POST /events/batch; single: POST /events at the events rate."),
        th.Property("import_poll_initial_seconds", th.NumberType, default=2.0,
                    description="First poll of an import's process (plus 1 s per 20,000 rows)."),
        th.Property("import_poll_max_seconds", th.NumberType, default=60.0,
                    description="Longest wait between polls (/processes is in the 100/h bucket)."),
        th.Property("import_timeout_seconds", th.NumberType, default=10800.0,
                    description="Give up on an import still running after this long."),
        th.Property("memberships_buffer_rows", th.IntegerType, default=200_000,
                    description="List memberships held until the contacts they name are imported; past "
                                "this many they are sent early (pending imports are settled first)."),
        th.Property("max_pending_imports", th.IntegerType, default=4,
                    description="Imports in flight before the target waits for the oldest."),
        th.Property("rate_limit_plan", th.StringType, default="free",
                    allowed_values=["free", "starter", "business", "professional", "enterprise"],
                    description="Scales the per-bucket rates (professional/enterprise: 2x)."),
        th.Property("rate_limits", th.ObjectType(additional_properties=th.NumberType),
                    description="Explicit requests/second per bucket (contacts, events, smtp, default)."),
        th.Property("request_timeout", th.NumberType, default=60.0, description="Seconds per HTTP request."),
        th.Property("max_retries", th.IntegerType, default=6,
                    description="Attempts for 5xx, timeouts and connection errors."),
        th.Property("backoff_base_seconds", th.NumberType, default=1.0,
                    description="First retry waits up to this (exponential, full jitter)."),
        th.Property("dry_run", th.BooleanType, default=False,
                    description="No writes; reads (attributes, lists) allowed; summary says what would happen."),
        th.Property("rejects_path", th.StringType, default="target-brevo-rejects.jsonl",
                    description="Rejects JSONL file (mode 0600), relative to the working directory."),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = dict(self.config)
        url = cfg.get("api_url") or "https://api.brevo.com/v3"
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(parts.hostname or "")):
            raise ConfigValidationError(f"api_url must use https (plain http only for a loopback host): {url}")
        if cfg.get("delete_policy") == "delete" and not cfg.get("allow_hard_delete"):
            raise ConfigValidationError("delete_policy 'delete' needs allow_hard_delete: true")
        if not cfg.get("api_key") and not cfg.get("dry_run"):
            raise ConfigValidationError("api_key is required (unless dry_run)")
        for name, typ in (cfg.get("stream_types") or {}).items():
            if typ not in TYPES:
                raise ConfigValidationError(f"stream_types.{name}: {typ!r} is not one of {', '.join(TYPES)}")
        self.ledger = Ledger(Path(cfg.get("rejects_path") or "target-brevo-rejects.jsonl"))
        self.client = BrevoClient(
            url, cfg.get("api_key") or "", plan=cfg.get("rate_limit_plan", "free"), rates=cfg.get("rate_limits"),
            timeout=float(cfg.get("request_timeout", 60)), max_tries=int(cfg.get("max_retries", 6)),
            backoff_base=float(cfg.get("backoff_base_seconds", 1.0)), logger=self.logger)
        reads = bool(cfg.get("api_key"))  # a dry run without a key reads nothing either
        self.account = Account(self.client if reads else None, cfg, self.ledger, self.logger)
        self.full_table_streams: set[str] = set(cfg.get("full_table_streams") or [])
        self.mirror_seen: dict[int, set[tuple[str, Any]]] = {}
        self.deferred_memberships: list[tuple[Any, list]] = []
        self.deferred_count = 0
        self.events_batch_unavailable = False
        self.message_reader.on_bad_line = self._bad_line
        self._fast_path = not cfg.get("flattening_enabled") and not cfg.get("add_record_metadata")

    # --- routing ---------------------------------------------------------------------------------
    def stream_type(self, stream_name: str) -> str | None:
        mapped = (self.config.get("stream_types") or {}).get(stream_name)
        if mapped:
            return mapped
        for typ in sorted(TYPES, key=len, reverse=True):
            if stream_name == typ or stream_name.endswith(("_" + typ, "-" + typ, "." + typ)):
                return typ
        return None

    def get_sink_class(self, stream_name: str) -> type[BrevoSink]:
        typ = self.stream_type(stream_name)
        if typ:
            return SINKS[typ]
        if self.config.get("unknown_streams") == "ignore":
            self.logger.warning("stream %s has no Brevo type; its records are ignored", stream_name)
            return IgnoredSink
        raise InputError(f"stream {stream_name!r} has no Brevo object type: name it (or end it with) one of "
                         f"{', '.join(TYPES)}, map it in the stream_types setting, or set unknown_streams: ignore")

    def _bad_line(self, line_no: int, line: str, error: str) -> None:
        self.ledger.reject(None, f"line:{line_no}", "malformed_json", f"input line {line_no} is not JSON: {error}",
                           line[:10_000])

    def _process_record_message(self, message_dict: dict) -> None:
        stream = message_dict.get("stream")
        maps = self.mapper.stream_maps.get(stream) if stream is not None else None
        if stream is not None and maps is None:
            raise RecordsWithoutSchemaException(f"input line {self.message_reader.line_no}: RECORD for stream "
                                                f"{stream!r} before its SCHEMA")
        record = message_dict.get("record")
        if not isinstance(record, dict):
            # Not a record at all: a located reject instead of the SDK's TypeError deep inside.
            line_no = self.message_reader.line_no
            self.ledger.reject(stream, f"line:{line_no}", "malformed_record",
                               f"input line {line_no}: RECORD's 'record' must be an object, got "
                               f"{type(record).__name__}", record)
            return
        sink = self._sinks_active.get(stream) if self._fast_path else None
        if (sink is not None and isinstance(record, dict) and len(maps) == 1
                and type(maps[0]) is SameRecordTransform and maps[0].stream_alias == stream):
            # The SDK's own steps for an unmapped stream, minus the per-record copy, transform,
            # key-property check and debug log of the whole batch (the target's hot path).
            context = sink._get_context(record)
            sink._remove_sdc_metadata_from_record(record)
            sink._validate_and_parse(record)
            sink.tally_record_read()
            sink.process_record(record, context)
            sink.record_counter_metric.increment()
            if sink.is_full:
                self.drain_one(sink)
            self._handle_max_record_age()
            return
        super()._process_record_message(message_dict)

    # --- draining and state ----------------------------------------------------------------------
    def drain_all(self, *, is_endofpipe: bool = False) -> None:
        # Sinks drain in dependency order (categories → products → orders).
        ordered = sorted(self._sinks_active.items(),
                         key=lambda kv: DRAIN_ORDER.get(getattr(kv[1], "object_type", ""), 9))
        self._sinks_active = dict(ordered)
        for sink in self._sinks_to_clear:
            # An archived sink (its schema changed) is dropped by the SDK's drain: send its
            # open imports first so the settle before STATE covers them.
            self.drain_one(sink)
            if hasattr(sink, "flush_imports"):
                sink.flush_imports()
        super().drain_all(is_endofpipe=is_endofpipe)

    def drain_type(self, object_type: str) -> None:
        """Send what is buffered for ``object_type`` now (products before their orders)."""
        for sink in list(self._sinks_active.values()):
            if getattr(sink, "object_type", "") == object_type:
                self.drain_one(sink)

    def _write_state_message(self, state: dict) -> None:
        # STATE only once Brevo accepted everything before it: imports must be completed.
        self.settle()
        super()._write_state_message(state)

    def settle(self) -> None:
        """Finish everything sent so far: open imports, their processes, then the memberships
        that waited for those contacts to exist."""
        self.settle_imports()
        deferred, self.deferred_memberships = self.deferred_memberships, []
        for sink, items in deferred:
            sink.send_now(items)
        self.ledger.flush()

    def settle_imports(self) -> None:
        for sink in [*self._sinks_to_clear, *self._sinks_active.values()]:
            flush = getattr(sink, "flush_imports", None)
            if flush is not None:
                flush()
        self.account.settle()

    def defer_memberships(self, sink: Any, items: list) -> None:
        """Hold list memberships until their contacts are imported (see ListMembershipsSink);
        a bounded buffer, sent early once it holds ``memberships_buffer_rows``."""
        self.deferred_memberships.append((sink, items))
        self.deferred_count = sum(len(i) for _, i in self.deferred_memberships)
        if self.deferred_count >= int(self.config.get("memberships_buffer_rows", 200_000)):
            self.settle()

    def process_endofpipe(self) -> None:
        try:
            super().process_endofpipe()
            self.settle()
            self.mirror_lists()
        finally:
            self.write_summary()
            self.ledger.close()

    def mirror_lists(self) -> None:
        if not self.config.get("list_mirror") or not self.mirror_seen:
            return
        streams = {n for n, s in self._sinks_active.items() if getattr(s, "object_type", "") == "list_memberships"}
        partial = streams - self.full_table_streams
        if partial:
            raise FatalError(f"list_mirror needs full-table streams; {sorted(partial)} sent no ACTIVATE_VERSION "
                             "and are not in full_table_streams, so no member was removed")
        for list_id, seen in self.mirror_seen.items():
            keep = {str(v).lower() for _, v in seen}
            stale: list[str] = []
            offset = 0
            while True:
                page = self.client.get(f"/contacts/lists/{list_id}/contacts",
                                       {"limit": 500, "offset": offset}) or {}
                contacts = page.get("contacts") or []
                for c in contacts:
                    ids = {str(c.get("email") or "").lower(), str(c.get("id")),
                           str((c.get("attributes") or {}).get("EXT_ID") or "").lower()}
                    if not ids & keep and c.get("email"):
                        stale.append(c["email"])
                offset += len(contacts)
                if not contacts or offset >= int(page.get("count") or 0):
                    break
            if self.config.get("dry_run"):
                self.ledger.would["list_mirror_removed"] += len(stale)
            elif stale:
                self.account.remove_from_list(list_id, stale)
                self.ledger.accepted["list_mirror_removed"] += len(stale)

    def write_summary(self) -> None:
        summary = self.ledger.summary(self.client.stats(), bool(self.config.get("dry_run")))
        if self.account.unknown_attributes:
            summary["unknown_attributes_not_sent"] = dict(self.account.unknown_attributes)
        if self.account.created_attributes:
            summary["attributes_created"] = self.account.created_attributes
        if self.account.created_lists:
            summary["lists_created"] = self.account.created_lists
        sys.stderr.write("target-brevo summary: " + json.dumps(summary, default=str, sort_keys=True) + "\n")
        sys.stderr.flush()

    # --- CLI -------------------------------------------------------------------------------------
    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Run the target; errors end it with one clear line on stderr, never a traceback."""
        try:
            super().invoke(*args, **kwargs)
        except (ConfigValidationError, FatalError, InputError, RecordsWithoutSchemaException) as exc:
            detail = "; ".join(getattr(exc, "errors", []) or []) or str(exc)
            sys.stderr.write(f"target-brevo: error: {detail}\n")
            sys.exit(1)
        except Exception as exc:
            logging.getLogger("target-brevo").debug("internal error", exc_info=True)
            name = type(exc).__name__
            sys.stderr.write(f"target-brevo: error: {name}: {exc}\n")
            sys.exit(2)
