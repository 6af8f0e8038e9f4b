"""One sink per Brevo object type. Records are checked and translated to Brevo's shape as they
arrive (``process_record``); ``process_batch`` sends them in the fewest calls Brevo allows.

Each sink keeps ``(original record, payload)`` pairs so every reject can carry the record.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fastjsonschema
import msgspec
from singer_sdk.sinks import BatchSink

from . import coerce
from .account import PendingImport
from .client import BrevoError

if TYPE_CHECKING:
    from .target import TargetBrevo

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_ENVELOPE = 300  # bytes of an import body besides its rows (flags, listIds)
_MISSING_INDEXES = re.compile(r"index(?:es)?\s*:?\s*([\d,\s]+)", re.IGNORECASE)
# Attribute types whose values need no conversion when already of this Python type.
_FAST_TYPES = {"text": str, "boolean": bool, "float": float}
CONTACT_FIELDS = {"email", "ext_id", "sms", "attributes", "list_ids", "unlink_list_ids", "list_names",
                  "email_blacklisted", "sms_blacklisted", "deleted", "_sdc_deleted_at"}
_REJECTED = "__target_brevo_rejected__"
_SDC_DROP = frozenset({"_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_sequence",
                       "_sdc_table_version", "_sdc_sync_started_at"})


class BrevoSink(BatchSink):
    """Shared behaviour: fast validation that rejects instead of crashing, rejects, tallies."""

    MAX_SIZE_DEFAULT = 10_000
    object_type = ""

    def __init__(self, target: TargetBrevo, **kwargs: Any) -> None:
        self.target = target  # the run's client, account and ledger live on the target
        super().__init__(target=target, **kwargs)

    def setup(self) -> None:
        self.ledger = self.target.ledger
        self.account = self.target.account
        self.client = self.target.client
        self.dry_run = bool(self.config.get("dry_run"))
        self._fast = self._compile(self.schema)

    def _compile(self, schema: dict[str, Any]) -> Any:
        if not self.config.get("validate_records", True):
            return None
        try:
            # fastjsonschema instead of singer-sdk's jsonschema default: about 3x faster
            # (shared/docs/singer-sdk.md "Measured throughput"). Formats are not checked.
            return fastjsonschema.compile(schema, use_formats=False)
        except Exception as exc:  # an exotic schema must not stop the load
            self.logger.warning("stream %s: schema cannot be compiled for validation (%s); "
                                "records are checked field by field only", self.stream_name, exc)
            return None

    def get_validator(self) -> None:
        return None  # validation happens in _validate_and_parse below, as a reject

    def _validate_and_parse(self, record: dict) -> dict:
        # singer-sdk would raise (or only log) on an invalid record and then parse date-times;
        # here an invalid record becomes a reject and strings stay strings (we format dates).
        if self._fast is not None:
            try:
                self._fast(record)
            except fastjsonschema.JsonSchemaValueException as exc:
                self.reject(record, "schema_violation", f"record violates the stream's schema: {exc.message}")
                record[_REJECTED] = True
        return record

    def _singer_validate_message(self, record: dict) -> None:
        """Missing identifiers are rejects with a reason, not a crash (see process_record)."""

    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        # Keep _sdc_deleted_at: it is how taps say a record was deleted.
        for key in _SDC_DROP.intersection(record):
            record.pop(key)

    def _after_process_record(self, context: dict) -> None:
        """The SDK logs the whole batch context here at DEBUG (records included): not done."""

    def activate_version(self, new_version: int) -> None:
        self.target.full_table_streams.add(self.stream_name)

    def reject(self, record: Any, reason: str, message: str, body: Any = None, key: Any = None) -> None:
        if isinstance(record, dict):
            record = {k: v for k, v in record.items() if k != _REJECTED}
        self.ledger.reject(self.stream_name, key if key is not None else self.record_key(record),
                           reason, message, record, body)

    def record_key(self, record: Any) -> Any:
        if not isinstance(record, dict):
            return None
        for k in (*self.key_properties, "id", "email", "ext_id", "sms", "event_name"):
            if record.get(k) is not None:
                return record[k]
        return None

    def process_record(self, record: dict, context: dict) -> None:
        self.ledger.received[self.stream_name] += 1
        if record.pop(_REJECTED, False):
            return
        try:
            payload = self.translate(record)
        except coerce.RejectError as exc:
            self.reject(record, exc.reason, str(exc))
            return
        if payload is None:
            return
        context.setdefault("records", []).append((record, payload))

    def translate(self, record: dict) -> dict[str, Any] | None:
        raise NotImplementedError

    def process_batch(self, context: dict) -> None:
        items = context.get("records") or []
        if items:
            self.send(items)
        self.ledger.flush()

    def send(self, items: list[tuple[dict, dict]]) -> None:
        raise NotImplementedError


# --- contacts ----------------------------------------------------------------------------------
@dataclass
class OpenImport:
    """An import being filled: encoded rows, and (encoded record, identifiers) per row."""

    rows: list[bytes] = field(default_factory=list)
    sources: list[tuple[bytes, dict[str, Any]]] = field(default_factory=list)
    size: int = _ENVELOPE


class ContactsSink(BrevoSink):
    """Upserts through ``/contacts/import`` (or ``POST /contacts`` / ``/contacts/batch``)."""

    MAX_SIZE_DEFAULT = 20_000
    object_type = "contacts"

    def setup(self) -> None:
        super().setup()
        cfg = self.config
        self.policy_null = bool(cfg.get("clear_missing_attributes"))
        self.mistyped = cfg.get("mistyped_attribute_policy", "reject")
        self.country = (cfg.get("default_phone_country") or "").upper() or None
        self.consent = cfg.get("consent_policy", "never_resubscribe")
        self.identifier = cfg.get("contact_identifier", "email")
        props = self.schema.get("properties") or {}
        self.props = props
        self.attr_props = ((props.get("attributes") or {}).get("properties") or {})
        self._attr_cache: dict[str, tuple[str, dict[str, Any], bool]] = {}
        self.import_limit = int(cfg.get("import_max_bytes", 8_000_000))
        self.open_imports: dict[tuple[Any, ...], OpenImport] = {}

    def translate(self, record: dict) -> dict[str, Any] | None:
        """Check and convert one contact (the hot path: written for speed, hence the locals)."""
        get = record.get
        c: dict[str, Any] = {}
        email = get("email")
        if email:
            c["email"] = coerce.email(email)
        ext_id = get("ext_id")
        if ext_id is not None and ext_id != "":
            c["ext_id"] = ext_id if type(ext_id) is str else str(ext_id)
        nested = get("attributes")
        raw = dict(nested) if type(nested) is dict else {}
        for k, v in record.items():
            if k.isupper() and k not in CONTACT_FIELDS:
                raw[k] = v
        sms = get("sms") or raw.get("SMS")
        if raw:
            for name in ("SMS", "EMAIL", "EXT_ID"):
                val = raw.pop(name, None)
                if name != "SMS" and val is not None and val != "" and name.lower() not in c:
                    c[name.lower()] = coerce.email(val) if name == "EMAIL" else str(val)
        if sms:
            c["sms"] = coerce.phone(str(sms), self.country)
        if not c:
            raise coerce.RejectError("missing_identifier", "contact has no identifier: one of email, ext_id or "
                                                           "sms is required")
        c["key"] = c.get(self.identifier) or email or c.get("ext_id") or c.get("sms")
        attrs: dict[str, Any] = {}
        cache = self._attr_cache
        for name, value in raw.items():
            if value is None or value == "":
                if self.policy_null:
                    attrs[name.upper()] = ""  # explicit erase, only when clear_missing_attributes is on
                continue
            hit = cache.get(name)
            if hit is None:
                upper = name.upper()
                attr = self.account.attributes.get(upper) or self.account.unknown_attribute(
                    upper, value, self.attr_props.get(name) or self.props.get(name))
                if attr is None:
                    continue  # reported once per run with example values, never sent
                hit = cache[name] = (upper, attr, _FAST_TYPES.get(attr.get("type") or ""))
            upper, attr, fast = hit
            if fast is not None and type(value) is fast:
                attrs[upper] = value  # already the attribute's type: no conversion needed
                continue
            try:
                attrs[upper] = coerce.attribute(value, attr)
            except ValueError as exc:
                self.mistyped_value(upper, attr, exc)
        c["attributes"] = attrs
        lists = get("list_ids")
        c["list_ids"] = [int(i) for i in lists] if lists else []
        names = get("list_names")
        if names:
            c["list_ids"] += [self.account.list_id(str(n)) for n in names]
        unlink = get("unlink_list_ids")
        c["unlink"] = [int(i) for i in unlink] if unlink else []
        for flag in ("email_blacklisted", "sms_blacklisted"):
            val = get(flag)
            if val is True or (val is False and self.consent == "allow_resubscribe"):
                c[flag] = val
        deleted_at = get("_sdc_deleted_at")
        c["deleted"] = get("deleted") is True or (deleted_at is not None and deleted_at != "")
        return c

    def mistyped_value(self, upper: str, attr: dict[str, Any], exc: ValueError) -> None:
        """A value Brevo would silently ignore: reject the record, or drop the value and warn."""
        msg = f"attribute {upper} ({attr.get('type') or 'category'}): {exc}; Brevo would ignore it silently"
        if self.mistyped == "reject":
            raise coerce.RejectError("mistyped_attribute", msg) from None
        self.ledger.skipped[f"mistyped_attribute_{upper}"] += 1
        if self.ledger.skipped[f"mistyped_attribute_{upper}"] == 1:
            self.logger.warning("stream %s: %s (value dropped; further cases only counted)", self.stream_name, msg)

    # sending ----------------------------------------------------------------------------------
    def send(self, items: list[tuple[dict, dict]]) -> None:
        live, deleted = [], []
        for it in items:
            (deleted if it[1]["deleted"] else live).append(it)
        if deleted:
            self.send_deletes(deleted)
        if not live:
            return
        mode = self.config.get("contacts_mode", "auto")
        if mode == "auto":
            mode = "single" if len(live) <= int(self.config.get("single_threshold", 10)) else "import"
        if mode == "import":
            # Imports cannot un-blacklist: explicit re-subscriptions go one by one.
            resub = [it for it in live if it[1].get("email_blacklisted") is False
                     or it[1].get("sms_blacklisted") is False]
            if resub:
                self.send_single(resub)
                live = [it for it in live if it not in resub]
            self.send_import(live)
        elif mode == "single":
            self.send_single(live)
        else:
            self.send_batch(live)

    def send_import(self, items: list[tuple[dict, dict]]) -> None:
        """Add contacts to the open import of their group; an import is sent when it is full.

        Open imports span drains (so each carries close to ``import_max_bytes``) and are sent
        before any STATE is written (``flush_imports``). Rows are kept encoded: the row sent and
        the original record (for rejects), so memory stays bounded by one import per group.
        """
        base_lists = None
        limit = self.import_limit
        for record, c in items:
            lists = c["list_ids"]
            if not lists:
                base_lists = base_lists or self.account.import_list_ids()
                lists = base_lists
            key = (tuple(sorted(set(lists))), bool(c.get("email_blacklisted")), bool(c.get("sms_blacklisted")))
            row = _encoder.encode(self.import_row(c))
            if len(row) + 1 > limit - _ENVELOPE:
                self.reject(record, "payload_too_large",
                            f"contact serializes to {len(row)} bytes, over import_max_bytes", key=c["key"])
                continue
            buf = self.open_imports.get(key)
            if buf is not None and buf.size + len(row) + 1 > limit:
                self.post_import(key, self.open_imports.pop(key))
                buf = None
            if buf is None:
                buf = self.open_imports[key] = OpenImport()
            buf.rows.append(row)
            buf.size += len(row) + 1
            if not self.dry_run:
                small = {k: c[k] for k in ("key", "email", "sms", "ext_id") if c.get(k)}
                if c["unlink"]:
                    small["unlink"] = c["unlink"]
                buf.sources.append((_encoder.encode(record), small))

    def flush_imports(self) -> None:
        """Send every open import (before STATE, and at the end)."""
        while self.open_imports:
            key = next(iter(self.open_imports))
            self.post_import(key, self.open_imports.pop(key))

    def import_row(self, c: dict[str, Any]) -> dict[str, Any]:
        attrs = c["attributes"]
        if c.get("sms") or c.get("ext_id"):
            attrs = dict(attrs)
            if c.get("sms"):
                attrs["SMS"] = c["sms"]
            if c.get("ext_id"):
                attrs["EXT_ID"] = c["ext_id"]
        row: dict[str, Any] = {"attributes": attrs}
        if c.get("email"):
            row["email"] = c["email"]
        return row

    def post_import(self, key: tuple[Any, ...], buf: OpenImport) -> None:
        lists, eb, sb = key
        update = bool(self.config.get("update_existing", True))
        head = {"listIds": list(lists), "updateExistingContacts": update,
                "emptyContactsAttributes": bool(self.config.get("clear_missing_attributes")) and update,
                "disableNotification": True}
        if eb:
            head["emailBlacklist"] = True
        if sb:
            head["smsBlacklist"] = True
        # Splice the already-encoded rows: the payload is measured and built once.
        body = _encoder.encode(head)[:-1] + b',"jsonBody":[' + b",".join(buf.rows) + b"]}"
        n = len(buf.rows)
        buf.rows.clear()
        if self.dry_run:
            self.ledger.would["contacts_upserted_via_import"] += n
            self.ledger.would["import_calls"] += 1
            return
        try:
            reply = self.client.post("/contacts/import", msgspec.Raw(body))
        except BrevoError as exc:
            for raw, c in buf.sources:
                self.reject(_decoder.decode(raw), "import_rejected", f"Brevo refused the import: {exc.message}",
                            exc.body, key=c["key"])
            return
        pid = int(reply.json_body["processId"])
        unlink: dict[int, list[str]] = {}
        for _raw, c in buf.sources:
            for lid in c.get("unlink", ()):
                if c.get("email"):
                    unlink.setdefault(lid, []).append(c["email"])
        first = float(self.config.get("import_poll_initial_seconds", 2.0)) + n / 20_000
        now = time.monotonic()
        self.logger.info("stream %s: import process %s started for %d contacts (%d bytes)",
                         self.stream_name, pid, n, len(body))
        self.account.add_import(PendingImport(pid, self.stream_name, buf.sources, now, now + first, first, unlink))

    def single_body(self, c: dict[str, Any], drop_sms: bool = False) -> dict[str, Any]:
        attrs = dict(c["attributes"])
        if c.get("sms") and not drop_sms:
            attrs["SMS"] = c["sms"]
        body: dict[str, Any] = {"attributes": attrs, "updateEnabled": bool(self.config.get("update_existing", True))}
        for k in ("email", "ext_id"):
            if c.get(k):
                body[k] = c[k]
        lists = c["list_ids"] or [int(i) for i in self.config.get("default_list_ids") or []]
        if lists:
            body["listIds"] = lists
        if "email_blacklisted" in c:
            body["emailBlacklisted"] = c["email_blacklisted"]
        if "sms_blacklisted" in c:
            body["smsBlacklisted"] = c["sms_blacklisted"]
        return body

    def identify(self, c: dict[str, Any]) -> tuple[str, str]:
        """(identifier, identifierType) for ``PUT``/``DELETE /contacts/{identifier}``."""
        kinds = {"email": "email_id", "ext_id": "ext_id", "sms": "phone_id"}
        for key in (self.identifier, "email", "ext_id", "sms"):
            if c.get(key):
                return c[key], kinds[key]
        raise coerce.RejectError("missing_identifier", "contact has no identifier")

    def send_single(self, items: list[tuple[dict, dict]]) -> None:
        if self.dry_run:
            self.ledger.would["contacts_upserted_one_by_one"] += len(items)
            return
        for record, c in items:
            body = self.single_body(c)
            try:
                self.upsert_one(record, c, body)
            except BrevoError as exc:
                dup = exc.duplicate_identifiers
                if dup and "SMS" in [d.upper() for d in dup] and c.get("sms") and \
                        self.config.get("identifier_conflict", "reject") == "retry_without_sms":
                    try:
                        self.upsert_one(record, c, self.single_body(c, drop_sms=True))
                        self.ledger.skipped["sms_dropped_on_conflict"] += 1
                        continue
                    except BrevoError as exc2:
                        exc, dup = exc2, exc2.duplicate_identifiers
                if dup:
                    values = ", ".join(f"{d}={c.get(d.lower()) or c.get('sms')}" for d in dup)
                    self.reject(record, "duplicate_identifier",
                                f"{values} already belongs to another Brevo contact: {exc.message}",
                                exc.body, key=c["key"])
                else:
                    self.reject(record, f"brevo_{exc.code or exc.status}", exc.message, exc.body, key=c["key"])

    def upsert_one(self, record: dict, c: dict[str, Any], body: dict[str, Any]) -> None:
        self.client.post("/contacts", body)
        if c["unlink"]:
            ident, kind = self.identify(c)
            self.client.put(f"/contacts/{self.client.quote(ident)}", {"unlinkListIds": c["unlink"]},
                            params={"identifierType": kind})
        self.ledger.accepted[self.stream_name] += 1

    def batch_item(self, c: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {"attributes": dict(c["attributes"])}
        if c.get("email"):
            item["email"] = c["email"]
            if c.get("sms"):
                item["attributes"]["SMS"] = c["sms"]
        else:
            item["sms"] = c["sms"]
        if c.get("ext_id"):
            item["ext_id"] = c["ext_id"]
        if c["list_ids"]:
            item["listIds"] = c["list_ids"]
        if c["unlink"]:
            item["unlinkListIds"] = c["unlink"]
        for flag, key in (("email_blacklisted", "emailBlacklisted"), ("sms_blacklisted", "smsBlacklisted")):
            if flag in c:
                item[key] = c[flag]
        return item

    def send_batch(self, items: list[tuple[dict, dict]]) -> None:
        """Update-only ``/contacts/batch``: all or nothing, 404 names the missing indexes."""
        usable = []
        for record, c in items:
            if not (c.get("email") or c.get("sms")):
                self.reject(record, "missing_identifier", "the batch update needs email or sms", key=c["key"])
            else:
                usable.append((record, c))
        size = int(self.config.get("contacts_batch_size", 100))
        missing_policy = self.config.get("batch_missing", "create")
        for i in range(0, len(usable), size):
            chunk = usable[i:i + size]
            if self.dry_run:
                self.ledger.would["contacts_updated_via_batch"] += len(chunk)
                continue
            while chunk:
                try:
                    self.client.post("/contacts/batch", {"contacts": [self.batch_item(c) for _, c in chunk]})
                except BrevoError as exc:
                    match = _MISSING_INDEXES.search(exc.message or "")
                    if exc.status == 404 and match:
                        missing = {int(x) for x in re.findall(r"\d+", match.group(1))}
                        gone = [chunk[j] for j in sorted(missing) if j < len(chunk)]
                        chunk = [it for j, it in enumerate(chunk) if j not in missing]
                        if missing_policy == "create":
                            self.send_single(gone)
                        else:
                            for record, c in gone:
                                self.reject(record, "contact_not_found",
                                            "contact does not exist in Brevo (batch update never creates)",
                                            exc.body, key=c["key"])
                        continue
                    # Anything else fails the whole call: go one by one for precise errors.
                    self.send_single(chunk)
                    break
                self.ledger.accepted[self.stream_name] += len(chunk)
                break

    def send_deletes(self, items: list[tuple[dict, dict]]) -> None:
        policy = self.config.get("delete_policy", "ignore")
        if policy == "ignore":
            self.ledger.skipped["deleted_ignored"] += len(items)
            return
        if self.dry_run:
            self.ledger.would[f"contacts_deleted_{policy}"] += len(items)
            return
        if policy == "unlink_lists":
            by_list: dict[int, list[str]] = {}
            for record, c in items:
                lists = c["list_ids"] or c["unlink"] or [int(i) for i in self.config.get("default_list_ids") or []]
                if not c.get("email") or not lists:
                    self.reject(record, "delete_not_possible",
                                "unlink_lists needs an email and list_ids (or default_list_ids)", key=c["key"])
                    continue
                for lid in lists:
                    by_list.setdefault(lid, []).append(c["email"])
                self.ledger.accepted[self.stream_name] += 1
            for lid, emails in by_list.items():
                self.account.remove_from_list(lid, emails)
            return
        for record, c in items:
            ident, kind = self.identify(c)
            path = f"/contacts/{self.client.quote(ident)}"
            try:
                if policy == "blocklist":
                    self.client.put(path, {"emailBlacklisted": True, "smsBlacklisted": True},
                                    params={"identifierType": kind})
                else:  # delete, allowed by allow_hard_delete (checked at start-up)
                    self.client.delete(path, params={"identifierType": kind})
            except BrevoError as exc:
                if exc.status == 404:
                    # Not in Brevo: nothing to blocklist or delete (a replay after a delete).
                    self.ledger.skipped[f"deleted_not_in_brevo_{policy}"] += 1
                else:
                    self.reject(record, f"brevo_{exc.code or exc.status}", exc.message, exc.body, key=c["key"])
                continue
            self.ledger.accepted[self.stream_name] += 1


# --- events ------------------------------------------------------------------------------------
class EventsSink(BrevoSink):
    """``POST /events/batch`` (207 = partial success), or ``POST /events`` one by one."""

    MAX_SIZE_DEFAULT = 10_000
    object_type = "events"

    def setup(self) -> None:
        super().setup()
        self.country = (self.config.get("default_phone_country") or "").upper() or None

    def translate(self, record: dict) -> dict[str, Any] | None:
        name = record.get("event_name")
        if not isinstance(name, str) or not coerce.EVENT_NAME_RE.match(name):
            raise coerce.RejectError("invalid_event_name", f"event_name {name!r} must be 1-255 characters of "
                                                       "A-Z, a-z, 0-9, _ and -")
        ids_in = record.get("identifiers") or {}
        if not isinstance(ids_in, dict):
            raise coerce.RejectError("invalid_identifier", f"identifiers must be an object, got {ids_in!r}")
        ids: dict[str, Any] = {}
        if ids_in.get("email_id"):
            ids["email_id"] = coerce.email(ids_in["email_id"])
        if ids_in.get("ext_id") not in (None, ""):
            ids["ext_id"] = str(ids_in["ext_id"])
        if ids_in.get("phone_id"):
            ids["phone_id"] = coerce.phone(str(ids_in["phone_id"]), self.country)
        if ids_in.get("contact_id") not in (None, ""):
            try:
                ids["contact_id"] = int(ids_in["contact_id"])
            except (TypeError, ValueError):
                raise coerce.RejectError("invalid_identifier",
                                         f"contact_id {ids_in['contact_id']!r} is not a Brevo contact id") from None
        for k in ("whatsapp_id", "landline_number_id"):
            if ids_in.get(k):
                ids[k] = str(ids_in[k])
        if not ids:
            raise coerce.RejectError("missing_identifier", "event has no identifier (email_id, ext_id, phone_id "
                                                       "or contact_id)")
        event: dict[str, Any] = {"event_name": name, "identifiers": ids}
        if record.get("event_date") not in (None, ""):
            try:
                event["event_date"] = coerce.iso_with_offset(record["event_date"])
            except ValueError:
                raise coerce.RejectError("invalid_date", f"event_date {record['event_date']!r} is not ISO 8601") from None
        if record.get("contact_properties"):
            event["contact_properties"] = {k.upper(): v for k, v in record["contact_properties"].items()
                                           if v is not None}
        if record.get("event_properties"):
            size = len(_encoder.encode(record["event_properties"]))
            if size > 50 * 1024:
                raise coerce.RejectError("payload_too_large", f"event_properties is {size} bytes; Brevo's limit is 50 KB")
            event["event_properties"] = record["event_properties"]
        if record.get("object"):
            event["object"] = record["object"]
        return event

    def record_key(self, record: Any) -> Any:
        if isinstance(record, dict):
            ids = record.get("identifiers")
            ids = ids if isinstance(ids, dict) else {}
            who = next((ids[k] for k in ("email_id", "ext_id", "phone_id", "contact_id") if ids.get(k)), None)
            return f"{record.get('event_name')}|{who}|{record.get('event_date')}"
        return None

    def send(self, items: list[tuple[dict, dict]]) -> None:
        if self.dry_run:
            self.ledger.would["events_sent"] += len(items)
            return
        size = int(self.config.get("events_batch_size", 500))
        for i in range(0, len(items), size):
            chunk = items[i:i + size]
            if self.config.get("events_mode", "batch") == "single" or self.target.events_batch_unavailable:
                self.send_single(chunk)
                continue
            try:
                reply = self.client.post("/events/batch", {"events": [e for _, e in chunk]})
            except BrevoError as exc:
                if exc.status in (404, 405, 501):
                    self.logger.warning("POST /events/batch is unavailable (HTTP %s); falling back to "
                                        "POST /events at the events rate", exc.status)
                    self.target.events_batch_unavailable = True
                    self.send_single(chunk)
                else:
                    for record, _ in chunk:
                        self.reject(record, f"brevo_{exc.code or exc.status}", exc.message, exc.body)
                continue
            failed = self.failures(reply.json_body) if reply.status == 207 else {}
            for j, message in failed.items():
                if 0 <= j < len(chunk):
                    self.reject(chunk[j][0], "event_rejected", message, reply.json_body)
            self.ledger.accepted[self.stream_name] += len(chunk) - len(failed)

    @staticmethod
    def failures(body: Any) -> dict[int, str]:
        """Index → message from a 207 body (field names UNVERIFIED: several spellings accepted)."""
        out: dict[int, str] = {}
        if not isinstance(body, dict):
            return out
        for key in ("errors", "failures", "failed", "results"):
            for item in body.get(key) or []:
                if not isinstance(item, dict) or item.get("status") in ("success", "ok"):
                    continue
                idx = item.get("index", item.get("eventIndex"))
                if isinstance(idx, int):
                    out[idx] = str(item.get("message") or item.get("error") or "rejected by Brevo")
        return out

    def send_single(self, chunk: list[tuple[dict, dict]]) -> None:
        for record, event in chunk:
            try:
                self.client.post("/events", event)
            except BrevoError as exc:
                self.reject(record, f"brevo_{exc.code or exc.status}", exc.message, exc.body)
                continue
            self.ledger.accepted[self.stream_name] += 1


# --- list memberships ----------------------------------------------------------------------------
class ListMembershipsSink(BrevoSink):
    """Add/remove in chunks of 150, after the contacts they name exist.

    Taps emit streams in name order, so memberships often arrive before their contacts (and an
    import is asynchronous anyway). Batches are therefore deferred to the target's settle step,
    which runs once pending imports are complete. Brevo answers a chunk in which nothing changed
    with one ambiguous 400 ("already in list and/or does not exist"); those chunks are checked
    against the list's members, so a missing contact is a reject, never a silent success.
    """

    object_type = "list_memberships"
    members_page = 500  # /contacts/lists/{id}/contacts maximum

    def setup(self) -> None:
        super().setup()
        self._members: dict[tuple[int, str], set[str]] = {}

    def translate(self, record: dict) -> dict[str, Any] | None:
        action = record.get("action") or "add"
        if action not in ("add", "remove"):
            raise coerce.RejectError("invalid_action", f"action must be add or remove, not {action!r}")
        if record.get("list_id") not in (None, ""):
            list_id = int(record["list_id"])
        elif record.get("list_name"):
            list_id = self.account.list_id(str(record["list_name"]))
        else:
            raise coerce.RejectError("missing_list", "list_memberships record needs list_id or list_name")
        if record.get("email"):
            kind, value = "emails", coerce.email(record["email"])
        elif record.get("ext_id") not in (None, ""):
            kind, value = "extIds", str(record["ext_id"])
        elif record.get("sms"):
            kind, value = "sms", coerce.phone(str(record["sms"]),
                                              (self.config.get("default_phone_country") or "").upper() or None)
        else:
            raise coerce.RejectError("missing_identifier", "list_memberships record needs email, ext_id or sms")
        if self.config.get("list_mirror"):
            self.target.mirror_seen.setdefault(list_id, set()).add((kind, value))
        return {"list_id": list_id, "action": action, "kind": kind, "value": value}

    def record_key(self, record: Any) -> Any:
        if isinstance(record, dict):
            return f"{record.get('list_id') or record.get('list_name')}|" \
                   f"{record.get('email') or record.get('ext_id') or record.get('sms')}"
        return None

    def send(self, items: list[tuple[dict, dict]]) -> None:
        self.target.defer_memberships(self, items)

    def send_now(self, items: list[tuple[dict, dict]]) -> None:
        """Post deferred memberships (called by the target once imports are settled)."""
        groups: dict[tuple[int, str, str], list[tuple[dict, dict]]] = {}
        for it in items:
            m = it[1]
            kind = m["kind"]
            if kind == "sms":
                # The list endpoints take emails, ids or extIds: look the contact id up.
                cid = None if self.dry_run else self.contact_id(it)
                if cid is None and not self.dry_run:
                    continue
                m = {**m, "kind": "ids", "value": cid}
                kind = "ids"
            groups.setdefault((m["list_id"], m["action"], kind), []).append((it[0], m))
        for (list_id, action, kind), rows in groups.items():
            for i in range(0, len(rows), 150):
                chunk = rows[i:i + 150]
                if self.dry_run:
                    self.ledger.would[f"list_{action}"] += len(chunk)
                    continue
                self.post(list_id, action, kind, chunk)

    def contact_id(self, it: tuple[dict, dict]) -> int | None:
        try:
            body = self.client.get(f"/contacts/{self.client.quote(it[1]['value'])}",
                                   {"identifierType": "phone_id"})
            return int(body["id"])
        except BrevoError as exc:
            self.reject(it[0], "contact_not_found", f"no Brevo contact has SMS {it[1]['value']}", exc.body)
            return None

    def post(self, list_id: int, action: str, kind: str, chunk: list[tuple[dict, dict]]) -> None:
        try:
            reply = self.client.post(f"/contacts/lists/{list_id}/contacts/{action}",
                                     {kind: [m["value"] for _, m in chunk]})
        except BrevoError as exc:
            text = (exc.message or "").lower()
            if exc.status == 400 and action == "remove" and "not in list" in text:
                # Nothing to remove: every one of them is already out of the list (or unknown).
                self.ledger.accepted[self.stream_name] += len(chunk)
                return
            if exc.status == 400 and "already in list" in text:
                # Nothing changed: each was already a member, or does not exist. Tell them apart.
                members = self.members(list_id, kind)
                for record, m in chunk:
                    if str(m["value"]).lower() in members:
                        self.ledger.accepted[self.stream_name] += 1
                    else:
                        self.reject(record, "contact_not_found", f"Brevo has no contact {m['value']} to add to "
                                    f"list {list_id}", exc.body)
                return
            for record, _ in chunk:
                self.reject(record, f"brevo_{exc.code or exc.status}", exc.message, exc.body)
            return
        failure = {str(x).lower() for x in ((reply.json_body or {}).get("contacts") or {}).get("failure") or []}
        known = self._members.get((list_id, kind))
        for record, m in chunk:
            value = str(m["value"]).lower()
            if value in failure:
                self.reject(record, "contact_not_found", f"Brevo has no contact {m['value']} to {action}",
                            reply.json_body)
            else:
                self.ledger.accepted[self.stream_name] += 1
                if known is not None:
                    (known.add if action == "add" else known.discard)(value)

    def members(self, list_id: int, kind: str) -> set[str]:
        """The list's members as ``kind`` values (emails, extIds or ids), read once per run."""
        key = (list_id, kind)
        if key not in self._members:
            found: set[str] = set()
            offset = 0
            while True:
                body = self.client.get(f"/contacts/lists/{list_id}/contacts",
                                       {"limit": self.members_page, "offset": offset}) or {}
                for c in body.get("contacts") or []:
                    value = {"emails": c.get("email"), "ids": c.get("id"),
                             "extIds": (c.get("attributes") or {}).get("EXT_ID")}.get(kind)
                    if value not in (None, ""):
                        found.add(str(value).lower())
                offset += self.members_page
                if offset >= int(body.get("count") or 0):
                    break
            self._members[key] = found
        return self._members[key]


# --- ecommerce -----------------------------------------------------------------------------------
def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class EcommerceSink(BrevoSink):
    """Categories, products, orders: batches at Brevo's caps, upserted by id (replays are safe)."""

    path = ""
    key = ""
    cap = 100
    depends_on: tuple[str, ...] = ()
    keep_snake = ("identifiers", "meta_info", "metaInfo")

    def convert(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, dict):
            return {camel(k): (v if k in self.keep_snake else self.convert(v, depth + 1))
                    for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [self.convert(v, depth + 1) for v in value]
        return value

    def translate(self, record: dict) -> dict[str, Any] | None:
        if record.get("id") in (None, ""):
            raise coerce.RejectError("missing_identifier", f"{self.key[:-1]} needs an id")
        obj = self.convert(record)
        obj["id"] = str(record["id"])
        for k in ("deletedAt",):
            if obj.get(k):
                obj[k] = coerce.utc_z(obj[k])
        return obj

    def send(self, items: list[tuple[dict, dict]]) -> None:
        for dep in self.depends_on:
            self.target.drain_type(dep)
        cap = int(self.config.get(f"{self.key}_batch_size", self.cap))
        for i in range(0, len(items), min(cap, self.cap)):
            chunk = items[i:i + min(cap, self.cap)]
            if self.dry_run:
                self.ledger.would[f"{self.key}_upserted"] += len(chunk)
                continue
            try:
                self.client.post(self.path, self.envelope([o for _, o in chunk]))
            except BrevoError as exc:
                for record, _ in chunk:
                    self.reject(record, f"brevo_{exc.code or exc.status}",
                                f"Brevo refused the batch of {len(chunk)}: {exc.message}", exc.body)
                continue
            self.ledger.accepted[self.stream_name] += len(chunk)

    def envelope(self, objs: list[dict[str, Any]]) -> dict[str, Any]:
        return {self.key: objs, "updateEnabled": True}


class CategoriesSink(EcommerceSink):
    object_type = "categories"
    path, key, cap = "/categories/batch", "categories", 100


class ProductsSink(EcommerceSink):
    object_type = "products"
    path, key, cap = "/products/batch", "products", 100
    depends_on = ("categories",)

    def translate(self, record: dict) -> dict[str, Any] | None:
        obj = super().translate(record)
        if obj is not None and "categories" in obj:
            obj["categories"] = [str(c) for c in obj["categories"]]
        return obj


class OrdersSink(EcommerceSink):
    object_type = "orders"
    path, key, cap = "/orders/status/batch", "orders", 1000
    depends_on = ("categories", "products")
    MAX_SIZE_DEFAULT = 10_000

    def translate(self, record: dict) -> dict[str, Any] | None:
        obj = super().translate(record)
        assert obj is not None
        missing = [f for f in ("createdAt", "updatedAt", "status", "amount", "products") if obj.get(f) is None]
        if missing:
            raise coerce.RejectError("missing_field", f"order lacks {', '.join(missing)} (snake_case: "
                                                  "created_at, updated_at, status, amount, products)")
        try:
            obj["createdAt"] = coerce.utc_z(obj["createdAt"])
            obj["updatedAt"] = coerce.utc_z(obj["updatedAt"])
        except ValueError as exc:
            raise coerce.RejectError("invalid_date", f"order dates must be ISO 8601: {exc}") from None
        for p in obj["products"]:
            if not isinstance(p, dict) or p.get("productId") in (None, "") or p.get("price") is None \
                    or p.get("quantity") is None:
                raise coerce.RejectError("missing_field", "each order product needs product_id, quantity and price")
            p["productId"] = str(p["productId"])
        return obj

    def envelope(self, objs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"orders": objs, "historical": bool(self.config.get("orders_historical", True))}


class IgnoredSink(BrevoSink):
    """A stream of no Brevo type, with ``unknown_streams: ignore``: counted, not sent."""

    def process_record(self, record: dict, context: dict) -> None:
        self.ledger.skipped[f"ignored_stream:{self.stream_name}"] += 1

    def process_batch(self, context: dict) -> None:
        return


SINKS: dict[str, type[BrevoSink]] = {s.object_type: s for s in (
    ContactsSink, EventsSink, ListMembershipsSink, CategoriesSink, ProductsSink, OrdersSink)}
