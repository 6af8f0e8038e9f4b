"""The Brevo account's state: contacts with unique identifiers, lists, folders, attributes.

Both sides of the Brevo fake use it: ``write.py`` (what target-brevo calls) mutates it and
``read.py`` (what tap-brevo calls) lists it, so whatever the target loads can be read back.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ... import data

# Brevo's default attributes on a new account (category, name, type).
DEFAULT_ATTRIBUTES = [
    ("normal", "FIRSTNAME", "text"),
    ("normal", "LASTNAME", "text"),
    ("normal", "SMS", "text"),
    ("normal", "EXT_ID", "text"),
    ("normal", "WHATSAPP", "text"),
    ("normal", "LANDLINE_NUMBER", "text"),
    ("normal", "OPT_IN", "boolean"),
    ("normal", "DOUBLE_OPT-IN", "category"),
]


@dataclass
class Contact:
    id: int
    email: str | None
    attributes: dict[str, Any]
    created_at: datetime
    modified_at: datetime
    list_ids: set[int] = field(default_factory=set)
    unsubscribed_list_ids: set[int] = field(default_factory=set)
    email_blacklisted: bool = False
    sms_blacklisted: bool = False
    ext_id: str | None = None

    @property
    def sms(self) -> str | None:
        return self.attributes.get("SMS")

    def to_api(self, offset_minutes: int = 0) -> dict[str, Any]:
        """The shape of ``getContactDetails`` (timestamps may carry an offset, as Brevo's do)."""
        attrs = dict(self.attributes)
        if self.ext_id is not None:
            attrs["EXT_ID"] = self.ext_id
        out: dict[str, Any] = {
            "id": self.id,
            "emailBlacklisted": self.email_blacklisted,
            "smsBlacklisted": self.sms_blacklisted,
            "createdAt": data.iso(self.created_at, offset_minutes=offset_minutes, millis=True),
            "modifiedAt": data.iso(self.modified_at, offset_minutes=offset_minutes, millis=True),
            "listIds": sorted(self.list_ids),
            "attributes": attrs,
        }
        if self.email is not None:
            out["email"] = self.email
        if self.unsubscribed_list_ids:
            out["listUnsubscribed"] = sorted(self.unsubscribed_list_ids)
        return out

    def dump(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "attributes": self.attributes,
                "created_at": self.created_at.isoformat(), "modified_at": self.modified_at.isoformat(),
                "list_ids": sorted(self.list_ids), "unsubscribed_list_ids": sorted(self.unsubscribed_list_ids),
                "email_blacklisted": self.email_blacklisted, "sms_blacklisted": self.sms_blacklisted,
                "ext_id": self.ext_id}

    @classmethod
    def load(cls, d: dict[str, Any]) -> Contact:
        return cls(d["id"], d["email"], d["attributes"], datetime.fromisoformat(d["created_at"]),
                   datetime.fromisoformat(d["modified_at"]), set(d["list_ids"]),
                   set(d["unsubscribed_list_ids"]), d["email_blacklisted"], d["sms_blacklisted"], d["ext_id"])


class Store:
    """Contacts indexed by id, email (case-insensitive), EXT_ID and SMS, all unique as in Brevo."""

    def __init__(self) -> None:
        self.contacts: dict[int, Contact] = {}
        self.by_email: dict[str, int] = {}
        self.by_ext_id: dict[str, int] = {}
        self.by_sms: dict[str, int] = {}
        self.ids = itertools.count(1)
        self.lists: dict[int, dict[str, Any]] = {}
        self.folders: dict[int, dict[str, Any]] = {}
        self.list_ids = itertools.count(1)
        self.folder_ids = itertools.count(1)
        self.attributes: dict[str, dict[str, Any]] = {
            name: {"name": name, "category": cat, "type": typ} for cat, name, typ in DEFAULT_ATTRIBUTES}
        # Objects stored in the shape Brevo's GET endpoints return them (camelCase, server
        # timestamps set on write). write.py fills them, read.py lists them.
        self.events: list[dict[str, Any]] = []  # custom events (POST /events, /events/batch)
        self.categories: dict[str, dict[str, Any]] = {}  # by category id
        self.products: dict[str, dict[str, Any]] = {}  # by product id
        self.orders: dict[str, dict[str, Any]] = {}  # by order id
        self.processes: dict[int, dict[str, Any]] = {}  # import/export processes by id
        self.process_ids = itertools.count(1)
        # Anything else a side needs to keep (webhooks, senders, campaigns written by tests...).
        self.extra: dict[str, Any] = {}

    # --- contacts ------------------------------------------------------------------------------
    def find(self, identifier: str, id_type: str | None = None) -> Contact | None:
        """Look a contact up the way ``GET /contacts/{identifier}`` does."""
        if id_type in (None, "email_id") and "@" in identifier:
            cid = self.by_email.get(identifier.lower())
        elif id_type == "contact_id" or (id_type is None and identifier.isdigit()):
            cid = int(identifier) if identifier.isdigit() else None
        elif id_type == "ext_id":
            cid = self.by_ext_id.get(identifier)
        elif id_type in ("phone_id", None) and identifier.lstrip("+").isdigit():
            cid = self.by_sms.get(identifier)
        else:
            cid = self.by_email.get(identifier.lower()) if id_type == "email_id" else None
        return self.contacts.get(cid) if cid is not None else None

    def conflicts(self, email: str | None, ext_id: str | None, sms: str | None,
                  exclude: int | None = None) -> list[str]:
        """Which unique identifiers already belong to another contact."""
        out = []
        for name, value, index in (("email", email and email.lower(), self.by_email),
                                   ("ext_id", ext_id, self.by_ext_id), ("SMS", sms, self.by_sms)):
            if value and index.get(value) not in (None, exclude):
                out.append(name)
        return out

    def add(self, contact: Contact) -> Contact:
        self.contacts[contact.id] = contact
        self._index(contact)
        return contact

    def new_contact(self, now: datetime, email: str | None = None, ext_id: str | None = None,
                    attributes: dict[str, Any] | None = None) -> Contact:
        return self.add(Contact(next(self.ids), email, dict(attributes or {}), now, now, ext_id=ext_id))

    def reindex(self, contact: Contact, old: tuple[str | None, str | None, str | None]) -> None:
        """Call after changing a contact's email, EXT_ID or SMS; ``old`` is the previous triple."""
        for value, index in zip(old, (self.by_email, self.by_ext_id, self.by_sms), strict=True):
            if value and index.get(value.lower() if index is self.by_email else value) == contact.id:
                del index[value.lower() if index is self.by_email else value]
        self._index(contact)

    def delete(self, contact: Contact) -> None:
        self.reindex(contact, (contact.email, contact.ext_id, contact.sms))
        for index in (self.by_email, self.by_ext_id, self.by_sms):
            for key in [k for k, v in index.items() if v == contact.id]:
                del index[key]
        self.contacts.pop(contact.id, None)

    def _index(self, c: Contact) -> None:
        if c.email:
            self.by_email[c.email.lower()] = c.id
        if c.ext_id:
            self.by_ext_id[c.ext_id] = c.id
        if c.sms:
            self.by_sms[c.sms] = c.id

    # --- lists and folders ---------------------------------------------------------------------
    def new_folder(self, name: str) -> dict[str, Any]:
        folder = {"id": next(self.folder_ids), "name": name}
        self.folders[folder["id"]] = folder
        return folder

    def new_list(self, name: str, folder_id: int, now: datetime) -> dict[str, Any]:
        lst = {"id": next(self.list_ids), "name": name, "folderId": folder_id, "createdAt": data.iso(now)}
        self.lists[lst["id"]] = lst
        return lst

    # --- persistence -----------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {"contacts": [c.dump() for c in self.contacts.values()], "lists": list(self.lists.values()),
                "folders": list(self.folders.values()), "attributes": list(self.attributes.values()),
                "events": self.events, "categories": self.categories, "products": self.products,
                "orders": self.orders, "processes": list(self.processes.values()), "extra": self.extra}

    def load(self, state: dict[str, Any]) -> None:
        self.__init__()
        for d in state.get("contacts", []):
            self.add(Contact.load(d))
        self.lists = {lst["id"]: lst for lst in state.get("lists", [])}
        self.folders = {f["id"]: f for f in state.get("folders", [])}
        self.attributes = {a["name"]: a for a in state.get("attributes", [])} or self.attributes
        self.events = state.get("events", [])
        self.categories = state.get("categories", {})
        self.products = state.get("products", {})
        self.orders = state.get("orders", {})
        self.processes = {p["id"]: p for p in state.get("processes", [])}
        self.extra = state.get("extra", {})
        self.process_ids = itertools.count(max(self.processes, default=0) + 1)
        self.ids = itertools.count(max(self.contacts, default=0) + 1)
        self.list_ids = itertools.count(max(self.lists, default=0) + 1)
        self.folder_ids = itertools.count(max(self.folders, default=0) + 1)
