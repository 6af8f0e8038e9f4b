"""Brevo's read endpoints (what tap-brevo calls), with the seeded account they read.

Two kinds of data are served:

* the ``Store`` (``v.db``): contacts, lists, folders, attributes and whatever target-brevo
  writes (custom events, products, categories, orders). Seeded lists and folders live there too,
  so the target can add members to them.
* read-only seeded objects built by ``seed``: email and SMS campaigns with statistics,
  transactional email events spread over a year (several 90-day windows), SMTP templates,
  senders, webhooks of both types, segments, and a seeded catalogue, orders and custom events.
  Objects written to the store win over seeded ones with the same id.

Semantics follow the spec (``shared/specs/brevo``) and ``shared/docs/api/brevo.md``:
``limit``/``offset`` + ``count``; ``sort`` orders by creation; ``modifiedSince``/``createdSince``
are inclusive and must carry a timezone (an unencoded ``+`` arrives as a space and is a 400).
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ... import data
from ...http import HTTPError, Raw, Request, Response, json_array

if TYPE_CHECKING:
    from . import Brevo
    from .store import Contact

UTC = timezone.utc
# The seeded account's timezone. Brevo documents UTC timestamps, but its export has an
# "exportDateInUtc" option (brevo.md §3), so contact timestamps are printed with this offset to
# make clients normalise them. UNVERIFIED against the live API.
ACCOUNT_OFFSET_MINUTES = 60
EVENT_DAYS = 400  # transactional events cover this many days before the anchor: 5 windows of 90 days
STATS_MONTHS = 6  # campaign statistics only cover events of the last 6 months (brevo.md §6)

SMTP_EVENTS = ["requests", "delivered", "opened", "clicks", "softBounces", "hardBounces", "deferred",
               "spam", "unsubscribed", "blocked", "invalid", "loadedByProxy", "error"]
EVENT_FILTERS = {"bounces": {"softBounces", "hardBounces"}}
CUSTOM_EVENTS = ["page_viewed", "cart_updated", "order_completed", "video_played", "app_opened"]


def _since(req: Request, name: str) -> datetime | None:
    raw = req.arg(name)
    if not raw:
        return None
    try:
        since = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(400, f"{name} is not a valid date-time (YYYY-MM-DDTHH:mm:ss.SSSZ, urlencoded): {raw}",
                        "invalid_parameter") from None
    if since.tzinfo is None:
        raise HTTPError(400, f"{name} must carry a timezone", "invalid_parameter")
    return since


def _ts(text: str | None) -> datetime:
    return data.parse_dt(text) if text else datetime.min.replace(tzinfo=UTC)


def _page(req: Request, default: int, maximum: int, minimum: int = 0) -> tuple[int, int]:
    return (req.int_arg("limit", default, minimum=minimum, maximum=maximum),
            req.int_arg("offset", 0, minimum=0))


def _sort(req: Request) -> bool:
    """True for descending (Brevo's default)."""
    sort = req.arg("sort", "desc")
    if sort not in ("asc", "desc"):
        raise HTTPError(400, f"sort must be asc or desc, got {sort!r}", "invalid_parameter")
    return sort == "desc"


def _report_date(req: Request, name: str) -> datetime | None:
    raw = req.arg(name)
    if raw is None:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise HTTPError(400, f"{name} must be YYYY-MM-DD, got {raw!r}", "invalid_parameter") from None


def _stats(r: Any, sent: int) -> dict[str, int]:
    delivered = sent - r.randrange(0, max(1, sent // 50))
    views = int(delivered * r.uniform(0.15, 0.45))
    clicks = int(views * r.uniform(0.05, 0.3))
    return {"uniqueClicks": clicks, "clickers": clicks + r.randrange(0, 5), "complaints": r.randrange(0, 3),
            "delivered": delivered, "sent": sent, "softBounces": r.randrange(0, 1 + sent // 100),
            "hardBounces": r.randrange(0, 1 + sent // 200), "uniqueViews": views,
            "trackableViews": int(views * 0.8), "unsubscriptions": r.randrange(0, 1 + sent // 150),
            "viewed": int(views * 1.4), "deferred": r.randrange(0, 3)}


_ZERO_STATS = dict.fromkeys(("uniqueClicks", "clickers", "complaints", "delivered", "sent", "softBounces",
                             "hardBounces", "uniqueViews", "trackableViews", "unsubscriptions", "viewed"), 0)


@dataclass
class Seeded:
    """Read-only seeded objects (campaigns, transactional events, account setup, ecommerce)."""

    email_campaigns: list[dict[str, Any]] = field(default_factory=list)
    campaign_stats: dict[int, dict[str, Any]] = field(default_factory=dict)  # full stats, hidden until asked
    sms_campaigns: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    senders: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_events: list[dict[str, Any]] = field(default_factory=list)
    smtp_events: data.LazyTable | None = None
    smtp_start: datetime = data.ANCHOR
    smtp_step: float = 1.0


def seed(v: Brevo) -> Seeded:
    """Build the seeded account: lists with members in the store, read-only objects beside it."""
    s = Seeded()
    seed_, anchor, scale = v.seed, v.sb.anchor, v.scale
    contacts = list(v.db.contacts.values())
    # Folders and lists go into the store (the target adds members to existing lists).
    n_lists = scale.get("lists", 4)
    folders = [v.db.new_folder(name) for name in ("Newsletters", "Imports")]
    for i in range(n_lists):
        lst = v.db.new_list(["Newsletter", "Customers", "VIP", "Prospects", "Events", "Partners",
                             "Churned", "Beta"][i % 8] + (f" {i // 8 + 1}" if i >= 8 else ""),
                            folders[i % 2]["id"], anchor - timedelta(days=700 - i))
        for j, c in enumerate(contacts):
            if j % (i + 2) == 0:
                c.list_ids.add(lst["id"])
    # Email campaigns: most sent over the last 12 months (only the last 6 have statistics).
    sender = {"name": "Acme Shop", "email": "news@acme.example", "id": 1}
    for i in range(scale.get("campaigns", 8)):
        r = data.rng(seed_, "brevo-campaign", i)
        created = anchor - timedelta(days=365 - i * 360 / max(1, scale.get("campaigns", 8)), hours=r.randrange(24))
        status = "draft" if i % 7 == 6 else "queued" if i % 11 == 10 else "sent"
        camp: dict[str, Any] = {
            "id": i + 1, "name": f"Campaign {i + 1}: {['Spring sale', 'Newsletter', 'Welcome', 'Black Friday'][i % 4]}",
            "subject": f"News #{i + 1}", "type": "classic" if i % 5 else "trigger", "status": status,
            "testSent": bool(i % 2), "header": "[DEFAULT_HEADER]", "footer": "[DEFAULT_FOOTER]",
            "sender": sender, "replyTo": "reply@acme.example", "toField": "{{contact.FIRSTNAME}}",
            "htmlContent": f"<html><body><h1>News #{i + 1}</h1></body></html>", "tag": "newsletter",
            "createdAt": data.iso(created, millis=True), "modifiedAt": data.iso(created + timedelta(hours=2), millis=True),
            "inlineImageActivation": False, "mirrorActive": True, "recurring": False,
            "recipients": {"lists": [1 + i % max(1, n_lists)], "exclusionLists": []},
        }
        sent_at = created + timedelta(days=1)
        if status == "sent":
            camp["sentDate"] = data.iso(sent_at, millis=True)
            camp["scheduledAt"] = camp["sentDate"]
        recent = status == "sent" and sent_at >= anchor - timedelta(days=30 * STATS_MONTHS)
        sent = r.randrange(200, 5000) if recent else 0
        s.campaign_stats[camp["id"]] = {
            "globalStats": _stats(r, sent) if sent else dict(_ZERO_STATS),
            "linksStats": {"https://acme.example/sale": r.randrange(0, 300)} if sent else {},
            "statsByDomain": {"example.com": _stats(r, sent // 2)} if sent else {},
        }
        s.email_campaigns.append(camp)
    for i in range(max(2, scale.get("campaigns", 8) // 2)):
        r = data.rng(seed_, "brevo-sms-campaign", i)
        created = anchor - timedelta(days=300 - i * 20)
        sent = r.randrange(50, 900)
        s.sms_campaigns.append({
            "id": i + 1, "name": f"SMS {i + 1}", "status": "sent" if i % 3 else "draft",
            "content": f"Acme: -{10 + i}% today with code SMS{i}. STOP 36105", "sender": "ACME",
            "createdAt": data.iso(created, millis=True), "modifiedAt": data.iso(created + timedelta(hours=1), millis=True),
            "scheduledAt": data.iso(created + timedelta(days=1), millis=True),
            "recipients": {"lists": [1], "exclusionLists": []},
            "statistics": {"delivered": sent - 3, "sent": sent, "processing": 0, "softBounces": 2, "hardBounces": 1,
                           "unsubscriptions": r.randrange(0, 9), "answered": r.randrange(0, 4)},
        })
    for i in range(6):
        created = anchor - timedelta(days=500 - 60 * i)
        s.templates.append({
            "id": i + 1, "name": ["Order confirmation", "Password reset", "Welcome", "Shipping update",
                                  "Invoice", "Double opt-in"][i],
            "subject": f"Template {i + 1}", "isActive": i != 4, "testSent": i % 2 == 0,
            # getSmtpTemplates types sender.id as a string (campaigns type it as an integer).
            "sender": {**sender, "id": "1"}, "replyTo": "support@acme.example", "toField": "{{contact.FIRSTNAME}}",
            "tag": "transactional", "htmlContent": f"<p>Template {i + 1} {{{{params.name}}}}</p>",
            "createdAt": data.iso(created, millis=True), "modifiedAt": data.iso(created + timedelta(days=3), millis=True),
            "doiTemplate": i == 5,
        })
    s.senders = [
        {"id": 1, "name": "Acme Shop", "email": "news@acme.example", "active": True,
         "ips": [{"ip": "185.41.28.109", "domain": "acme.example", "weight": 100}]},
        {"id": 2, "name": "Acme Support", "email": "support@acme.example", "active": True},
        {"id": 3, "name": "Old sender", "email": "old@acme.example", "active": False},
    ]
    for i, (typ, events) in enumerate((
            ("transactional", ["delivered", "hardBounce", "opened", "click"]),
            ("transactional", ["request", "spam", "unsubscribed"]),
            ("marketing", ["listAddition", "unsubscribed", "opened"]),
            ("marketing", ["click", "delivered"]))):
        created = anchor - timedelta(days=200 - 30 * i)
        s.webhooks.append({
            "id": i + 1, "url": f"https://hooks.acme.example/brevo/{typ}/{i}", "description": f"{typ} hook {i}",
            "events": events, "type": typ, "channel": "email", "batched": i % 2 == 0,
            "createdAt": data.iso(created, millis=True), "modifiedAt": data.iso(created + timedelta(days=1), millis=True),
        })
    s.segments = [{"id": i + 1, "segmentName": name, "categoryName": cat,
                   "updatedAt": data.iso(anchor - timedelta(days=10 * (i + 1)), millis=True)}
                  for i, (name, cat) in enumerate((("Openers last 30 days", "Engagement"),
                                                   ("Buyers", "Ecommerce"), ("Inactive", "Engagement")))]
    # Ecommerce catalogue and orders.
    for i in range(scale.get("catalog_items", 12)):
        name, cat, price = data.product(i)
        cat_id = "cat-" + data.slug(cat)
        created = anchor - timedelta(days=400 - i * 300 / max(1, scale.get("catalog_items", 12)))
        s.categories.setdefault(cat_id, {
            "id": cat_id, "name": cat, "url": f"https://shop.acme.example/c/{data.slug(cat)}",
            "createdAt": data.iso(created, millis=True), "modifiedAt": data.iso(created, millis=True),
            "isDeleted": False})
        modified = min(created + timedelta(days=(i * 37) % 200), anchor - timedelta(hours=i + 1))
        s.products[f"sku-{i + 1:05d}"] = {
            "id": f"sku-{i + 1:05d}", "name": name, "sku": f"SKU{i + 1:05d}", "price": price,
            "url": f"https://shop.acme.example/p/{i + 1}", "imageUrl": f"https://img.acme.example/{i + 1}.jpg",
            "categories": [cat_id], "createdAt": data.iso(created, millis=True),
            "modifiedAt": data.iso(modified, millis=True), "s3ThumbAnalytics": f"https://s3.example/a/{i + 1}.jpg",
            "s3ThumbEditor": f"https://s3.example/e/{i + 1}.jpg", "isDeleted": False,
            "metaInfo": {"brand": "Acme"}}
    products = list(s.products.values())
    emails = [c for c in contacts if c.email][:200]
    for i in range(max(4, scale.get("profiles", 60) // 2)):
        r = data.rng(seed_, "brevo-order", i)
        created = anchor - timedelta(days=360 - i * 355 / max(4, scale.get("profiles", 60) // 2), minutes=r.randrange(600))
        items = [{"productId": p["id"], "quantity": r.randint(1, 3), "price": p["price"]}
                 for p in r.sample(products, k=min(len(products), r.randint(1, 3)))]
        who = emails[i % len(emails)] if emails else None
        order: dict[str, Any] = {
            "id": f"order-{i + 1:06d}", "createdAt": data.iso(created, millis=True),
            "updatedAt": data.iso(created + timedelta(days=r.choice([0, 0, 1, 3])), millis=True),
            "status": r.choice(["completed", "completed", "shipped", "cancelled"]),
            "amount": round(sum(x["price"] * x["quantity"] for x in items), 2), "products": items,
            "storeId": "main", "coupons": ["WELCOME10"] if i % 5 == 0 else []}
        if who is not None:
            order["contact_id"] = who.id
            order["email"] = who.email
            order["identifiers"] = {"email_id": who.email}
        s.orders[order["id"]] = order
    for i in range(max(10, scale.get("events", 400) // 4)):
        r = data.rng(seed_, "brevo-custom-event", i)
        who = contacts[r.randrange(len(contacts))] if contacts else None
        name = r.choice(CUSTOM_EVENTS)
        s.custom_events.append({
            "event_name": name, "event_date": data.iso(anchor - timedelta(days=170 * (1 - i / max(10, scale.get("events", 400) // 4)),
                                                                          seconds=r.randrange(3600)), millis=True),
            "contact_id": who.id if who else 0, "event_properties": {"value": round(r.uniform(1, 200), 2), "source": "web"},
            "object_type": "order" if name == "order_completed" else "contact",
            "event_filter_id": hashlib.blake2b(f"{seed_}:{i}".encode(), digest_size=8).hexdigest()})
    # Transactional email events: three per message, evenly spread (index order is date order).
    count = scale.get("events", 400)
    s.smtp_start = anchor - timedelta(days=EVENT_DAYS)
    s.smtp_step = EVENT_DAYS * 86400 / max(1, count)
    people = [(c.email, c.id) for c in contacts if c.email] or [("nobody@example.com", 0)]
    s.smtp_events = data.LazyTable(count, lambda i: _smtp_event(seed_, s, people, i))
    return s


def _smtp_event(seed_: int, s: Seeded, people: list[tuple[str, int]], i: int) -> dict[str, Any]:
    msg = i // 3
    r = data.rng(seed_, "brevo-smtp-msg", msg)
    email, _ = people[r.randrange(len(people))]
    date = s.smtp_start + timedelta(seconds=i * s.smtp_step + data.rng(seed_, "brevo-smtp", i).random() * s.smtp_step * 0.9)
    kind = ("requests", "delivered", r.choice(SMTP_EVENTS[2:]))[i % 3]
    template = r.randint(1, 6)
    ev: dict[str, Any] = {
        "email": email.lower(), "date": data.iso(date, offset_minutes=ACCOUNT_OFFSET_MINUTES, millis=True),
        "messageId": f"<{data.stable_id(seed_, 'brevo-msg', msg, 20).lower()}@smtp-relay.mailin.fr>",
        "event": kind, "subject": f"Template {template}", "tag": ["order", "password", "welcome"][template % 3],
        "from": "news@acme.example", "templateId": template}
    if kind in ("opened", "clicks", "loadedByProxy"):
        ev["ip"] = f"203.0.113.{r.randrange(1, 255)}"
    if kind == "clicks":
        ev["link"] = "https://shop.acme.example/p/1"
    if kind in ("softBounces", "hardBounces", "blocked", "invalid", "deferred", "error"):
        ev["reason"] = "mailbox unavailable" if kind != "blocked" else "blocked: unsubscribed contact"
    return ev


def _contact_view(c: Contact) -> dict[str, Any]:
    return c.to_api(offset_minutes=ACCOUNT_OFFSET_MINUTES)


_FILTER = re.compile(r'^equals\(\s*([A-Za-z0-9_\-]+)\s*,\s*"?(.*?)"?\s*\)$')


def register(v: Brevo) -> None:
    """Register every GET endpoint tap-brevo uses (and seed what they read)."""
    s = seed(v)
    v.seeded = s  # type: ignore[attr-defined]

    def page(items: list[Any], req: Request, key: str, default: int, maximum: int, *,
             count: bool = True, view: Any = None) -> dict[str, Any]:
        limit, offset = _page(req, default, maximum)
        chunk = items[offset:offset + limit]
        out: dict[str, Any] = {key: [view(x) for x in chunk] if view else chunk}
        if count:
            out["count"] = len(items)
        return out

    # --- contacts ---------------------------------------------------------------------------
    by_creation: dict[str, Any] = {"key": None, "contacts": [], "created": []}

    def creation_order() -> tuple[list[Contact], list[datetime]]:
        """Contacts sorted by (createdAt, id), cached until contacts are added or deleted."""
        key = (len(v.db.contacts), max(v.db.contacts, default=0))
        if by_creation["key"] != key:
            ordered = sorted(v.db.contacts.values(), key=lambda c: (c.created_at, c.id))
            by_creation.update(key=key, contacts=ordered, created=[c.created_at for c in ordered])
        return by_creation["contacts"], by_creation["created"]

    def filter_contacts(req: Request, contacts: list[Contact] | None = None) -> list[Contact]:
        """Filter (inclusive ``createdSince``/``modifiedSince``) and sort by creation, ``desc`` by default."""
        created_since, modified_since = _since(req, "createdSince"), _since(req, "modifiedSince")
        if contacts is None:
            ordered, created = creation_order()
            contacts = ordered[bisect.bisect_left(created, created_since):] if created_since else list(ordered)
        else:
            contacts.sort(key=lambda c: (c.created_at, c.id))
            if created_since is not None:
                contacts = [c for c in contacts if c.created_at >= created_since]
        if modified_since is not None:
            contacts = [c for c in contacts if c.modified_at >= modified_since]
        if _sort(req):
            contacts.reverse()
        return contacts

    def get_contacts(req: Request) -> dict[str, Any]:
        if not any(req.arg(k) for k in ("listIds", "segmentId", "filter")):
            return page(filter_contacts(req), req, "contacts", 50, 1000, view=_contact_view)
        contacts = list(v.db.contacts.values())
        list_ids = {int(x) for raw in req.args("listIds") for x in raw.split(",") if x.strip().isdigit()}
        segment = req.arg("segmentId")
        if list_ids and segment:
            raise HTTPError(400, "Either listIds or segmentId can be passed", "invalid_parameter")
        if list_ids:
            contacts = [c for c in contacts if c.list_ids & list_ids]
        if segment:
            seg = int(segment) if segment.isdigit() else 0
            if not any(x["id"] == seg for x in s.segments):
                raise HTTPError(404, f"Segment {segment} not found", "document_not_found")
            contacts = [c for c in contacts if c.id % (seg + 1) == 0]  # a stable, arbitrary membership
        raw_filter = req.arg("filter")
        if raw_filter:
            m = _FILTER.match(raw_filter)
            if not m:
                raise HTTPError(400, "filter supports only equals(ATTRIBUTE,\"value\")", "invalid_parameter")
            attr, value = m.group(1).upper(), m.group(2)
            contacts = [c for c in contacts if str(c.attributes.get(attr, "")) == value
                        or (attr == "EMAIL" and (c.email or "").lower() == value.lower())]
        return page(filter_contacts(req, contacts), req, "contacts", 50, 1000, view=_contact_view)

    def get_list_contacts(req: Request) -> dict[str, Any]:
        list_id = int(req.params["listId"]) if req.params["listId"].isdigit() else -1
        if list_id not in v.db.lists:
            raise HTTPError(404, "List ID does not exist", "document_not_found")
        contacts = [c for c in v.db.contacts.values() if list_id in c.list_ids]
        return page(filter_contacts(req, contacts), req, "contacts", 50, 500, view=_contact_view)

    def get_attributes(req: Request) -> dict[str, Any]:
        return {"attributes": list(v.db.attributes.values())}

    def list_counts() -> dict[int, tuple[int, int]]:
        counts: dict[int, list[int]] = {}
        for c in v.db.contacts.values():
            for lid in c.list_ids:
                n = counts.setdefault(lid, [0, 0])
                n[0] += 1
                n[1] += c.email_blacklisted
        return {k: (a, b) for k, (a, b) in counts.items()}

    def list_view(lst: dict[str, Any], counts: dict[int, tuple[int, int]]) -> dict[str, Any]:
        members, blacklisted = counts.get(lst["id"], (0, 0))
        return {"id": lst["id"], "name": lst["name"], "folderId": lst.get("folderId", 0),
                "totalBlacklisted": blacklisted, "totalSubscribers": members - blacklisted,
                "uniqueSubscribers": members}

    def get_lists(req: Request) -> dict[str, Any]:
        counts = list_counts()
        lists = sorted(v.db.lists.values(), key=lambda x: x["id"], reverse=_sort(req))
        return page(lists, req, "lists", 10, 50, view=lambda x: list_view(x, counts))

    def get_folders(req: Request) -> dict[str, Any]:
        counts = list_counts()
        folders = sorted(v.db.folders.values(), key=lambda x: x["id"], reverse=_sort(req))

        def view(f: dict[str, Any]) -> dict[str, Any]:
            views = [list_view(x, counts) for x in v.db.lists.values() if x.get("folderId") == f["id"]]
            return {"id": f["id"], "name": f["name"],
                    **{k: sum(x[k] for x in views) for k in ("totalBlacklisted", "totalSubscribers", "uniqueSubscribers")}}
        return page(folders, req, "folders", 10, 50, view=view)

    def get_segments(req: Request) -> dict[str, Any]:
        return page(sorted(s.segments, key=lambda x: x["id"], reverse=_sort(req)), req, "segments", 10, 50)

    # --- campaigns --------------------------------------------------------------------------
    def date_window(req: Request, items: list[dict[str, Any]], status: str | None) -> list[dict[str, Any]]:
        start, end = _since(req, "startDate"), _since(req, "endDate")
        if (start is None) != (end is None):
            raise HTTPError(400, "startDate and endDate must be passed together", "invalid_parameter")
        if start is None:
            return items
        if status not in (None, "sent"):
            raise HTTPError(400, "startDate/endDate are only valid with status sent or no status", "invalid_parameter")
        return [c for c in items if c.get("sentDate") and start <= _ts(c["sentDate"]) <= end]

    def get_email_campaigns(req: Request) -> dict[str, Any]:
        status, typ, stats = req.arg("status"), req.arg("type"), req.arg("statistics")
        items = [c for c in s.email_campaigns if (status is None or c["status"] == status)
                 and (typ is None or c["type"] == typ)]
        items = sorted(date_window(req, items, status), key=lambda c: c["id"], reverse=_sort(req))
        exclude_html = req.arg("excludeHtmlContent") == "true"

        def view(c: dict[str, Any]) -> dict[str, Any]:
            full = s.campaign_stats[c["id"]]
            # Only the requested statistics are filled; the spec requires every key, so the
            # others are empty (UNVERIFIED: the live API may omit them).
            out = dict(c, statistics={
                "globalStats": full["globalStats"] if stats == "globalStats" else dict(_ZERO_STATS),
                "campaignStats": [], "mirrorClick": 0, "remaining": 0,
                "linksStats": full["linksStats"] if stats == "linksStats" else {},
                "statsByDomain": full["statsByDomain"] if stats == "statsByDomain" else {},
                "statsByDevice": {}, "statsByBrowser": {}})
            if exclude_html:
                out["htmlContent"] = ""
            return out
        return page(items, req, "campaigns", 50, 100, view=view)

    def get_sms_campaigns(req: Request) -> dict[str, Any]:
        status = req.arg("status")
        items = [c for c in s.sms_campaigns if status is None or c["status"] == status]
        start, end = _since(req, "startDate"), _since(req, "endDate")
        if start and end:
            items = [c for c in items if c["status"] == "sent" and start <= _ts(c["scheduledAt"]) <= end]
        return page(sorted(items, key=lambda c: c["id"], reverse=_sort(req)), req, "campaigns", 500, 1000)

    # --- transactional email ------------------------------------------------------------------
    def smtp_index(when: datetime) -> int:
        """First event index at or after ``when`` (event dates grow with the index)."""
        table = s.smtp_events
        assert table is not None
        return bisect.bisect_left(range(len(table)), when, key=lambda i: _ts(table[i]["date"]))

    def get_email_events(req: Request) -> Response:
        limit, offset = _page(req, 2500, 5000)
        start, end = _report_date(req, "startDate"), _report_date(req, "endDate")
        days = req.arg("days")
        if (start is None) != (end is None):
            raise HTTPError(400, "startDate and endDate must be passed together", "invalid_parameter")
        if days is not None and start is not None:
            raise HTTPError(400, "days cannot be combined with startDate/endDate", "invalid_parameter")
        today = v.sb.data_now().replace(hour=0, minute=0, second=0, microsecond=0)
        if start is None or end is None:
            n = req.int_arg("days", 30, minimum=0, maximum=90)
            start, end = today - timedelta(days=n), today
        if end < start:
            raise HTTPError(400, "endDate must be after startDate", "invalid_parameter")
        if (end - start).days > 90:
            raise HTTPError(400, "The maximum date range is 90 days", "out_of_range")
        table = s.smtp_events
        assert table is not None
        lo, hi = smtp_index(start), smtp_index(end + timedelta(days=1))
        hi = min(hi, smtp_index(v.sb.data_now()))
        indices: Any = range(lo, hi)
        email, event, message, template, tags = (req.arg("email"), req.arg("event"), req.arg("messageId"),
                                                 req.arg("templateId"), req.arg("tags"))
        if any(x is not None for x in (email, event, message, template, tags)):
            wanted = EVENT_FILTERS.get(event or "", {event} if event else None)
            tag_set = set(tags.split(",")) if tags else None
            indices = [i for i in indices if (email is None or table[i]["email"] == email.lower())
                       and (wanted is None or table[i]["event"] in wanted)
                       and (message is None or table[i]["messageId"] == message)
                       and (template is None or str(table[i]["templateId"]) == template)
                       and (tag_set is None or table[i]["tag"] in tag_set)]
        if _sort(req):
            indices = list(reversed(indices))
        chunk = list(indices[offset:offset + limit])
        return Response(Raw(b'{"events":' + json_array(table.encoded(i) for i in chunk) + b"}"))

    def get_templates(req: Request) -> dict[str, Any]:
        active = req.arg("templateStatus")
        items = [t for t in s.templates if active is None or t["isActive"] == (active == "true")]
        return page(sorted(items, key=lambda t: t["id"], reverse=_sort(req)), req, "templates", 50, 1000)

    def get_senders(req: Request) -> dict[str, Any]:
        return {"senders": s.senders}

    def get_webhooks(req: Request) -> dict[str, Any]:
        typ = req.arg("type", "transactional")
        if typ not in ("marketing", "transactional", "inbound"):
            raise HTTPError(400, f"type must be marketing, transactional or inbound, got {typ!r}", "invalid_parameter")
        hooks = [h for h in [*s.webhooks, *v.db.extra.get("webhooks", [])] if h["type"] == typ]
        return {"webhooks": sorted(hooks, key=lambda h: h["createdAt"], reverse=_sort(req))}

    # --- custom events and ecommerce ------------------------------------------------------------
    def get_events(req: Request) -> dict[str, Any]:
        limit, offset = _page(req, 100, 10_000, minimum=1)
        raw_start, raw_end = req.arg("startDate"), req.arg("endDate")
        if (raw_start is None) != (raw_end is None):
            raise HTTPError(400, "startDate is mandatory if endDate is used (and the reverse)", "invalid_parameter")
        if raw_start is not None and raw_end is not None:
            start, end = _event_bound(raw_start, False), _event_bound(raw_end, True)
            if start > end:
                raise HTTPError(400, "startDate must be before endDate", "invalid_parameter")
        else:
            end = v.sb.now()
            start = end - timedelta(days=183)
        contact_ids = {int(x) for x in req.args("contact_id") if x.isdigit()}
        names, types = set(req.args("event_name")), set(req.args("object_type"))
        events = [e for e in [*s.custom_events, *v.db.events]
                  if start <= _ts(e.get("event_date")) <= end
                  and (not contact_ids or e.get("contact_id") in contact_ids)
                  and (not names or e.get("event_name") in names)
                  and (not types or _event_view(e).get("object_type") in types)]
        # Documented order: event_date descending.
        events.sort(key=lambda e: _ts(e.get("event_date")), reverse=True)
        return {"events": [_event_view(e) for e in events[offset:offset + limit]], "count": len(events)}

    def ecommerce(kind: str, modified: str, default: int, maximum: int) -> Any:
        def handler(req: Request) -> dict[str, Any]:
            seeded: dict[str, dict[str, Any]] = getattr(s, kind)
            items = list({**seeded, **getattr(v.db, kind)}.values())
            ids = {x for raw in req.args("ids") for x in raw.split(",") if x}
            if ids:
                items = [x for x in items if str(x.get("id")) in ids]
            name = req.arg("name")
            if name is not None:
                if len(name) < 3:
                    raise HTTPError(400, "name must have at least 3 characters", "invalid_parameter")
                items = [x for x in items if name.lower() in str(x.get("name", "")).lower()]
            cats = {x for raw in req.args("categories") for x in raw.split(",") if x}
            if cats:
                items = [x for x in items if cats & set(x.get("categories") or [])]
            for op, test in (("lte", float.__le__), ("gte", float.__ge__), ("lt", float.__lt__),
                             ("gt", float.__gt__), ("eq", float.__eq__), ("ne", float.__ne__)):
                raw = req.arg(f"price[{op}]")
                if raw is not None:
                    items = [x for x in items if x.get("price") is not None and test(float(x["price"]), float(raw))]
            for param, attr in (("modifiedSince", modified), ("createdSince", "createdAt")):
                since = _since(req, param)
                if since is not None:
                    items = [x for x in items if _ts(x.get(attr)) >= since]
            items.sort(key=lambda x: (_ts(x.get("createdAt")), str(x.get("id"))), reverse=_sort(req))
            return page(items, req, kind, default, maximum, view=_ECOMMERCE_VIEWS[kind])
        return handler

    v.endpoint("GET", "/contacts", get_contacts)
    v.endpoint("GET", "/contacts/attributes", get_attributes)
    v.endpoint("GET", "/contacts/lists", get_lists)
    v.endpoint("GET", "/contacts/lists/{listId}/contacts", get_list_contacts)
    v.endpoint("GET", "/contacts/folders", get_folders)
    v.endpoint("GET", "/contacts/segments", get_segments)
    v.endpoint("GET", "/emailCampaigns", get_email_campaigns)
    v.endpoint("GET", "/smsCampaigns", get_sms_campaigns)
    v.endpoint("GET", "/smtp/statistics/events", get_email_events)
    v.endpoint("GET", "/smtp/templates", get_templates)
    v.endpoint("GET", "/senders", get_senders)
    v.endpoint("GET", "/webhooks", get_webhooks)
    v.endpoint("GET", "/events", get_events)
    v.endpoint("GET", "/products", ecommerce("products", "modifiedAt", 50, 1000))
    v.endpoint("GET", "/categories", ecommerce("categories", "modifiedAt", 50, 100))
    v.endpoint("GET", "/orders", ecommerce("orders", "updatedAt", 50, 100))


def _product_view(p: dict[str, Any]) -> dict[str, Any]:
    """Brevo derives thumbnails from ``imageUrl`` on write; the spec requires both fields."""
    image = p.get("imageUrl") or ""
    return {"s3ThumbAnalytics": image, "s3ThumbEditor": image, **{k: v for k, v in p.items() if v is not None}}


def _order_view(o: dict[str, Any]) -> dict[str, Any]:
    """An order as GET /orders shows it (the write side's bookkeeping keys dropped)."""
    return {**{k: v for k, v in o.items() if k != "historical" and v is not None}, "id": str(o["id"])}


_ECOMMERCE_VIEWS = {"products": _product_view, "categories": lambda c: {k: v for k, v in c.items() if v is not None},
                    "orders": _order_view}


def _event_view(e: dict[str, Any]) -> dict[str, Any]:
    """A stored custom event (seeded, or as write.py keeps it) in GET /events' documented shape."""
    out = {k: e[k] for k in ("event_name", "event_date", "event_filter_id", "event_properties")
           if e.get(k) is not None}
    if isinstance(e.get("contact_id"), int):
        out["contact_id"] = e["contact_id"]
    object_type = e.get("object_type") or (e.get("object") or {}).get("type")
    if object_type:
        out["object_type"] = object_type
    return out


def _event_bound(raw: str, end: bool) -> datetime:
    """``YYYY-MM-DD`` (a whole day) or RFC 3339, as GET /events accepts."""
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if end else day
        return data.parse_dt(raw)
    except ValueError:
        raise HTTPError(400, f"invalid date {raw!r}: use YYYY-MM-DD or RFC 3339", "invalid_parameter") from None
