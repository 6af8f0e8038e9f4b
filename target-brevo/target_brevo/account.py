"""What the target knows about the Brevo account during a run: attributes, lists, pending imports.

Attributes and lists are read once per run. Imports are asynchronous: each ``processId`` is kept
here and polled (``/processes`` is in the 100-per-hour bucket, so polls start after an estimate
of the import's duration and back off) until completed or failed; the ``info.import`` report CSVs
then turn dropped rows into rejects. ``settle()`` runs before any STATE is written.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from . import coerce
from .client import BrevoClient, BrevoError, FatalError
from .rejects import Ledger

REPORT_REASONS = {
    "invalid_emails": "import_invalid",
    "duplicate_contact_id": "import_duplicate_contact_id",
    "duplicate_ext_id": "import_duplicate_ext_id",
    "duplicate_email_id": "import_duplicate_email",
    "duplicate_phone_id": "import_duplicate_sms",
    "duplicate_whatsapp_id": "import_duplicate_whatsapp",
    "duplicate_landline_number_id": "import_duplicate_landline",
}


@dataclass
class PendingImport:
    process_id: int
    stream: str
    rows: list[tuple[bytes, dict[str, Any]]]  # (encoded original record, its identifiers)
    started: float
    next_poll: float
    interval: float
    unlink: dict[int, list[str]] = field(default_factory=dict)  # list id -> emails to remove


class Account:
    def __init__(self, client: BrevoClient | None, config: dict[str, Any], ledger: Ledger,
                 log: logging.Logger) -> None:
        self.client = client
        self.config = config
        self.ledger = ledger
        self.log = log
        self.dry_run = bool(config.get("dry_run"))
        self._lock = threading.RLock()
        self._attributes: dict[str, dict[str, Any]] | None = None
        self.unknown_attributes: dict[str, list[Any]] = {}
        self.created_attributes: list[str] = []
        self._lists: dict[str, int] | None = None
        self._folder_id: int | None = None
        self.created_lists: list[str] = []
        self.pending: list[PendingImport] = []

    # --- attributes ------------------------------------------------------------------------------
    @property
    def attributes(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._attributes is None:
                if self.client is None:
                    self._attributes = {}
                else:
                    body = self.client.get("/contacts/attributes") or {}
                    self._attributes = {a["name"].upper(): a for a in body.get("attributes", [])
                                        if a.get("category") in ("normal", "category", None)}
            return self._attributes

    def unknown_attribute(self, name: str, value: Any, prop: dict[str, Any] | None) -> dict[str, Any] | None:
        """An attribute the account lacks: create it (when allowed) or note it for the report."""
        with self._lock:
            if name in self.attributes:
                return self.attributes[name]
            if not self.config.get("create_missing_attributes"):
                examples = self.unknown_attributes.setdefault(name, [])
                if len(examples) < 3 and value not in examples:
                    if not examples:
                        self.log.warning("attribute %s does not exist in Brevo; its values are not sent "
                                         "(set create_missing_attributes to create it)", name)
                    examples.append(value)
                return None
            typ = coerce.type_from_schema(prop)
            attr = {"name": name, "category": "normal", "type": typ}
            if self.dry_run:
                self.ledger.would["attributes_created"] += 1
            else:
                assert self.client is not None
                try:
                    self.client.post(f"/contacts/attributes/normal/{self.client.quote(name)}", {"type": typ})
                except BrevoError as exc:
                    if exc.code != "duplicate_parameter":
                        raise FatalError(f"cannot create attribute {name} ({typ}): {exc.message}") from exc
            self.log.info("created attribute %s of type %s", name, typ)
            self.created_attributes.append(f"{name}:{typ}")
            self.attributes[name] = attr
            return attr

    # --- lists ---------------------------------------------------------------------------------
    def _paged(self, path: str, key: str) -> list[dict[str, Any]]:
        assert self.client is not None
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self.client.get(path, {"limit": 50, "offset": offset, "sort": "asc"}) or {}
            items = body.get(key) or []
            out += items
            offset += len(items)
            if not items or offset >= int(body.get("count") or 0):
                return out

    @property
    def lists(self) -> dict[str, int]:
        with self._lock:
            if self._lists is None:
                self._lists = {} if self.client is None else {
                    lst["name"]: lst["id"] for lst in self._paged("/contacts/lists", "lists")}
            return self._lists

    def folder_id(self) -> int:
        with self._lock:
            if self._folder_id is None:
                if self.config.get("list_folder_id"):
                    self._folder_id = int(self.config["list_folder_id"])
                else:
                    name = self.config.get("list_folder_name") or "target-brevo"
                    found = [] if self.client is None else [
                        f["id"] for f in self._paged("/contacts/folders", "folders") if f["name"] == name]
                    if found:
                        self._folder_id = found[0]
                    elif self.dry_run:
                        self._folder_id = -1
                        self.ledger.would["folders_created"] += 1
                    else:
                        assert self.client is not None
                        made = self.client.create("/contacts/folders", {"name": name}, lambda: self._find(
                            "/contacts/folders", "folders", name))
                        self._folder_id = int(made["id"])
            return self._folder_id

    def _find(self, path: str, key: str, name: str) -> dict[str, Any] | None:
        """A folder or list called ``name``, read afresh (after a create whose answer was lost)."""
        return next((x for x in self._paged(path, key) if x.get("name") == name), None)

    def list_id(self, name: str, *, create: bool | None = None) -> int:
        """The id of the list called ``name``, created in the configured folder when allowed."""
        with self._lock:
            if name in self.lists:
                return self.lists[name]
            if not (self.config.get("create_missing_lists", True) if create is None else create):
                raise coerce.RejectError("unknown_list", f"list {name!r} does not exist in Brevo and "
                                                     "create_missing_lists is off")
            folder = self.folder_id()
            if self.dry_run:
                lid = -1 - len(self.created_lists)
                self.ledger.would["lists_created"] += 1
            else:
                assert self.client is not None
                made = self.client.create("/contacts/lists", {"name": name, "folderId": folder},
                                          lambda: self._find("/contacts/lists", "lists", name))
                lid = int(made["id"])
            self.log.info("created list %r (id %s) in folder %s", name, lid, folder)
            self.created_lists.append(name)
            self.lists[name] = lid
            return lid

    def import_list_ids(self) -> list[int]:
        """Lists every import goes to: ``default_list_ids``, else one list the target owns."""
        ids = [int(i) for i in self.config.get("default_list_ids") or []]
        if ids:
            return ids
        return [self.list_id(self.config.get("import_list_name") or "target-brevo imports", create=True)]

    # --- imports ---------------------------------------------------------------------------------
    def add_import(self, pending: PendingImport) -> None:
        with self._lock:
            self.pending.append(pending)
            limit = int(self.config.get("max_pending_imports", 4))
        if len(self.pending) > limit:
            self.settle(keep=limit)

    def settle(self, keep: int = 0) -> None:
        """Poll pending imports until at most ``keep`` remain (all of them before STATE)."""
        poll_max = float(self.config.get("import_poll_max_seconds", 60))
        timeout = float(self.config.get("import_timeout_seconds", 3 * 3600))
        assert self.client is not None or not self.pending
        while len(self.pending) > keep:
            self.pending.sort(key=lambda p: p.next_poll)
            p = self.pending[0]
            wait = p.next_poll - time.monotonic()
            if wait > 0:
                self.client.sleep(wait)  # type: ignore[union-attr]
            proc = self.client.get(f"/processes/{p.process_id}") or {}  # type: ignore[union-attr]
            status = proc.get("status")
            if status == "completed":
                self.pending.pop(0)
                self._completed(p, proc)
            elif status in ("failed", "cancelled"):
                self.pending.pop(0)
                for raw, c in p.rows:
                    self.ledger.reject(p.stream, contact_key(c), "import_failed",
                                       f"Brevo import process {p.process_id} ended {status}", _decode(raw), proc)
            else:
                if time.monotonic() - p.started > timeout:
                    raise FatalError(f"import process {p.process_id} still {status} after {timeout:.0f} s")
                p.interval = min(poll_max, p.interval * 1.6)
                p.next_poll = time.monotonic() + p.interval

    def _completed(self, p: PendingImport, proc: dict[str, Any]) -> None:
        assert self.client is not None
        # Identifier → rows carrying it (exact email first, then case-insensitive). For duplicates
        # Brevo keeps the first row and reports the later ones, so a report row takes the last
        # matching row not yet reported.
        index: dict[str, list[int]] = {}
        for i, (_record, c) in enumerate(p.rows):
            email = c.get("email")
            for key in (email and "=" + email, email and email.lower(), c.get("sms"), c.get("ext_id")):
                if key:
                    index.setdefault(key, []).append(i)
        dropped: set[int] = set()
        reports = ((proc.get("info") or {}).get("import") or {})
        for name, url in reports.items():
            if not url:
                continue
            reason = REPORT_REASONS.get(name, f"import_{name}")
            for row in csv.DictReader(io.StringIO(self.client.download(url)), delimiter=";"):
                cells = {k.strip().upper(): (v or "").strip() for k, v in row.items() if k}
                email = cells.get("EMAIL", "")
                keys = [email and "=" + email, email.lower(), cells.get("SMS", ""), cells.get("EXT_ID", "")]
                hit = next((i for k in keys if k for i in reversed(index.get(k, [])) if i not in dropped), None)
                if hit is None:
                    self.ledger.notes.append(f"import {p.process_id}: report {name} row {cells} "
                                             "matches no record sent")
                    continue
                dropped.add(hit)
                raw, c = p.rows[hit]
                self.ledger.reject(p.stream, contact_key(c), reason,
                                   f"Brevo's import dropped this row ({name} report of process {p.process_id})",
                                   _decode(raw), {"report": name, "row": cells})
        self.ledger.accepted[p.stream] += len(p.rows) - len(dropped)
        for list_id, emails in p.unlink.items():
            self.remove_from_list(list_id, emails)

    def remove_from_list(self, list_id: int, emails: list[str], kind: str = "emails") -> None:
        assert self.client is not None
        for i in range(0, len(emails), 150):
            try:
                self.client.post(f"/contacts/lists/{list_id}/contacts/remove", {kind: emails[i:i + 150]})
            except BrevoError as exc:
                if "not in list" not in exc.message.lower() and exc.status != 404:
                    raise


def _decode(raw: bytes) -> Any:
    return msgspec.json.decode(raw)


def contact_key(c: dict[str, Any]) -> str | None:
    return c.get("key") or c.get("email") or c.get("ext_id") or c.get("sms")
