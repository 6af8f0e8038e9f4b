"""Brevo's API v3: ``api-key`` header, ``{code, message}`` errors, ``x-sib-ratelimit-*`` buckets.

``read.py`` holds the GET endpoints tap-brevo uses and ``write.py`` the endpoints target-brevo
uses; both work on one ``Store``, so what the target writes is what the tap reads back.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ... import data
from ...http import HTTPError, Request, Response
from ...ratelimit import Verdict, Window, format_seconds
from ..base import Vendor
from . import read, write
from .store import Store

HOUR = 3600

# Brevo's "general" plan limits (docs: api-limits). Both windows apply where both are given.
BUCKETS = {
    "contacts": (Window(10, 1), Window(36_000, HOUR)),
    "events": (Window(10, 1), Window(36_000, HOUR)),
    "smtp_send": (Window(1_000, 1), Window(3_600_000, HOUR)),
    "smtp": (Window(300, HOUR),),
    "default": (Window(100, HOUR),),
}


# The map-brevo presets' default destination lists (see mappings/README.md).
MIGRATION_LISTS = {
    5: "All customers", 6: "Newsletter", 7: "Buyers",
    10: "Braze: engaged users", 11: "Braze: dormant users",
    16: "Iterable: all users", 17: "Iterable: engaged users", 18: "Iterable: inactive users",
    20: "Klaviyo: all contacts", 21: "Klaviyo: subscribers", 22: "Klaviyo: high value",
}


def bucket_for(path: str) -> str:
    """Which documented bucket a path belongs to."""
    if path.startswith("/contacts"):
        return "contacts"
    if path == "/events":
        return "events"
    if path in ("/smtp/email", "/smtp/blockedContacts"):
        return "smtp_send"
    if path.startswith("/smtp/"):
        return "smtp"
    return "default"


class Brevo(Vendor):
    name = "brevo"
    prefix = "/brevo/v3"
    buckets = BUCKETS

    def setup(self) -> None:
        self.db = Store()
        self.seed_contacts(self.scale.get("brevo_contacts", max(10, self.scale["profiles"] // 10)))
        read.register(self)
        write.register(self)
        self.seed_migration_lists()

    def seed_migration_lists(self) -> None:
        """The destination lists the map-brevo presets point at by default, as a customer preparing
        a migration creates them; ids already taken by seeded lists are left as they are."""
        folder = self.db.new_folder("Migration")
        for list_id, name in MIGRATION_LISTS.items():
            if list_id not in self.db.lists:
                self.db.lists[list_id] = {"id": list_id, "name": name, "folderId": folder["id"],
                                          "createdAt": data.iso(self.sb.anchor)}
        self.db.list_ids = itertools.count(max(self.db.lists) + 1)

    def seed_contacts(self, count: int) -> None:
        """An account that already has contacts, some with identifiers others will collide with."""
        for i in range(count):
            p = data.person(self.seed, i, end=self.sb.anchor, kind="brevo-contact")
            email = p.email if p.email and not self.db.conflicts(p.email, None, None) else None
            sms = p.phone_e164 if p.phone_e164 and not self.db.conflicts(None, None, p.phone_e164) else None
            if not email and not sms:
                continue
            attrs = {k: v for k, v in (("FIRSTNAME", p.first_name), ("LASTNAME", p.last_name), ("SMS", sms))
                     if v is not None}
            c = self.db.new_contact(p.created, email, None, attrs)
            c.modified_at = p.updated
            c.email_blacklisted = not p.subscribed

    def endpoint(self, method: str, path: str, handler: Callable[[Request], Any], *, auth: bool = True) -> None:
        """Register a route in the bucket Brevo's docs put its path in."""
        self.route(method, path, handler, bucket=bucket_for(path), auth=auth)

    def authenticate(self, req: Request) -> None:
        key = req.headers.get("api-key")
        bearer = (req.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not key and not bearer:
            raise HTTPError(401, "authentication not found in headers", "unauthorized")
        if (key or bearer) != self.sb.api_key:
            raise HTTPError(401, "Key not found", "unauthorized")

    def error(self, exc: HTTPError) -> Response:
        body: dict[str, Any] = {"code": exc.code or "bad_request", "message": exc.message}
        if "metadata" in exc.extra:
            body["metadata"] = exc.extra["metadata"]
        resp = Response(body, exc.status)
        resp.headers["sib-request-id"] = f"sandbox-{id(resp):x}"
        return resp

    def limit_headers(self, verdict: Verdict) -> dict[str, str]:
        # The reset is a duration in seconds, not an epoch.
        return {"x-sib-ratelimit-limit": str(verdict.limit), "x-sib-ratelimit-remaining": str(verdict.remaining),
                "x-sib-ratelimit-reset": format_seconds(verdict.reset, self.sb.limiter.scale)}

    def too_many(self, verdict: Verdict) -> Response:
        resp = self.error(HTTPError(429, "Too many requests", "too_many_requests"))
        resp.headers.update(self.limit_headers(verdict))
        return resp

    def store(self) -> dict[str, Any]:
        s = self.db
        return {
            "contacts": [c.to_api() | ({"ext_id": c.ext_id} if c.ext_id else {}) for c in s.contacts.values()],
            "lists": list(s.lists.values()),
            "folders": list(s.folders.values()),
            "attributes": list(s.attributes.values()),
            "events": s.events,
            "categories": list(s.categories.values()),
            "products": list(s.products.values()),
            "orders": list(s.orders.values()),
            "processes": list(s.processes.values()),
            **s.extra,
        }

    def dump(self) -> dict[str, Any]:
        return self.db.dump()

    def load(self, state: dict[str, Any]) -> None:
        self.db.load(state)
