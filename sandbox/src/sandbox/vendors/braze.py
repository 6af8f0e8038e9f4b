"""Braze's REST API: bearer keys, page/offset/Link pagination, per-group limits, async user export.

Shapes follow ``shared/docs/api/braze.md``. Test knobs (plain attributes, reset with the sandbox):

* ``denied``: route patterns answered with Braze's ``403 Access Denied`` (a key without that
  permission); also ``$SANDBOX_BRAZE_DENIED`` (comma-separated) for a served sandbox.
* ``users_per_file``: users per JSON-lines file in an export ZIP (5,000, as Braze).
* ``export_delay``: seconds before a segment export's ZIP appears (``$SANDBOX_BRAZE_EXPORT_DELAY``,
  default 0.5). Until then its URL answers S3's ``404 NoSuchKey``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from .. import data
from ..http import HTTPError, Request, Response, encode
from ..ratelimit import Verdict, Window, format_seconds
from .base import Vendor

HOUR, MINUTE, DAY = 3600, 60, timedelta(days=1)
LIST_PAGE = 100  # /campaigns/list, /canvas/list, /segments/list
EVENTS_LIST_PAGE = 250
CURSOR_PAGE = 50  # /events, /custom_attributes, catalog items
PRODUCTS_PAGE = 100  # /purchases/product_list: page size undocumented (UNVERIFIED)
USERS_PER_FILE = 5_000  # "about one file per 5,000 users"
MAX_IDS = 50

EVENT_NAMES = ["addToCart", "pageView", "appOpen", "checkoutStarted", "productViewed", "searchPerformed",
               "wishlistAdded", "reviewSubmitted", "referralSent", "videoPlayed", "couponApplied", "levelCompleted"]
EXTRA_EVENTS = 48  # 60 event names in all: /events needs two cursor pages
ATTRIBUTES = [("loyalty_points", "Number"), ("last_app_version", "String"), ("preferred_language", "String"),
              ("favorite_categories", "Array"), ("vip", "Boolean"), ("last_seen_store", "String"),
              ("signup_source", "String"), ("plan", "String")]
CHANNELS = ["email", "ios_push", "android_push", "sms", "webhook", "in_app_message"]
S3_NOT_READY = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
                "<Message>The specified key does not exist.</Message></Error>")


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError(text)
        return int(text[2:])
    except ValueError:
        raise HTTPError(400, "Invalid Request", errors=[{
            "id": "invalid-cursor", "message": "'cursor' is not valid", "parameters": ["cursor"],
            "parameter_values": [cursor]}]) from None


def _day(text: str | None, name: str) -> date:
    try:
        return data.parse_dt(text).date() if text and "T" in text else date.fromisoformat(text or "")
    except ValueError:
        raise HTTPError(400, f"Invalid '{name}': {text!r}, expected YYYY-MM-DD") from None


class _Sink:
    """A write-only buffer for ``zipfile`` (unseekable, so it writes data descriptors)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, b: bytes) -> int:
        self.chunks.append(bytes(b))
        return len(b)

    def flush(self) -> None:
        return

    def take(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


class Braze(Vendor):
    name = "braze"
    prefix = "/braze"
    # Per-workspace groups from the rate-limit docs; everything else shares the default.
    buckets = {
        "default": (Window(250_000, HOUR),),
        "events_list": (Window(1_000, HOUR),),  # /events, /events/list, /custom_attributes, /purchases/product_list
        "catalogs": (Window(50, MINUTE),),
        "campaign_series": (Window(50_000, MINUTE),),
        "export_ids": (Window(250, MINUTE),),  # workspaces onboarded after 2024-08-22
    }

    # --- setup ---------------------------------------------------------------------------------
    def setup(self) -> None:
        n_users, n_campaigns = self.scale["profiles"], self.scale["campaigns"]
        # Users are never cached: an export streams through them once (100,000 at `large`).
        self.users = data.LazyTable(n_users, self._user, cache_size=2_000)
        self.campaigns = data.LazyTable(n_campaigns, self._campaign)
        self.canvases = data.LazyTable(max(2, n_campaigns // 2), self._canvas)
        self.segments = data.LazyTable(self.scale["lists"], self._segment)
        self.content_blocks = data.LazyTable(max(3, n_campaigns), self._content_block)
        self.templates = data.LazyTable(max(3, n_campaigns), self._template)
        self.event_names = EVENT_NAMES + [f"feature_used_{i:02d}" for i in range(EXTRA_EVENTS)]
        self.catalog_sizes = {"products": self.scale["catalog_items"], "stores": 5}
        self.edits: dict[tuple[str, int], datetime] = {}  # (kind, index) → last_edited after `advance`
        self.exports: dict[str, dict[str, Any]] = {}  # token → export
        self.running: dict[str, str] = {}  # segment id → token of its unfinished export
        # Finished ZIPs by (segment, fields, attributes): the content is a pure function of the seed.
        self.files: dict[tuple[Any, ...], _ZipFile] = {}
        self.lock = threading.Lock()
        self.denied: set[str] = {p for p in os.environ.get("SANDBOX_BRAZE_DENIED", "").split(",") if p}
        self.export_delay = float(os.environ.get("SANDBOX_BRAZE_EXPORT_DELAY", "0.5"))
        self.users_per_file = USERS_PER_FILE

        r = self.route
        r("GET", "/campaigns/list", self.list_campaigns)
        r("GET", "/campaigns/details", self.campaign_details)
        r("GET", "/campaigns/data_series", self.campaign_series, bucket="campaign_series")
        r("GET", "/canvas/list", self.list_canvases)
        r("GET", "/canvas/details", self.canvas_details)
        r("GET", "/canvas/data_series", self.canvas_series)
        r("GET", "/segments/list", self.list_segments)
        r("GET", "/segments/details", self.segment_details)
        r("GET", "/segments/data_series", self.segment_series)
        r("GET", "/events", self.list_events, bucket="events_list")
        r("GET", "/events/list", self.list_event_names, bucket="events_list")
        r("GET", "/events/data_series", self.event_series)
        r("GET", "/custom_attributes", self.list_attributes, bucket="events_list")
        r("GET", "/purchases/product_list", self.list_products, bucket="events_list")
        r("GET", "/purchases/quantity_series", self.series_handler("purchase_quantity", 40))
        r("GET", "/purchases/revenue_series", self.series_handler("revenue", 2_500.0))
        for kpi, scale in (("dau", 400), ("mau", 5_000), ("new_users", 30), ("uninstalls", 6)):
            r("GET", f"/kpi/{kpi}/data_series", self.series_handler(kpi, scale))
        r("GET", "/sessions/data_series", self.series_handler("sessions", 900))
        r("GET", "/catalogs", self.list_catalogs, bucket="catalogs")
        r("GET", "/catalogs/{catalog_name}/items", self.list_catalog_items, bucket="catalogs")
        r("GET", "/content_blocks/list", self.list_content_blocks)
        r("GET", "/templates/email/list", self.list_templates)
        r("GET", "/email/hard_bounces", self.email_state_handler("hard_bounced_at", 17, 3))
        r("GET", "/email/unsubscribes", self.email_state_handler("unsubscribed_at", 11, 5))
        r("GET", "/sms/invalid_phone_numbers", self.list_invalid_phones)
        r("POST", "/users/export/ids", self.export_ids, bucket="export_ids")
        r("POST", "/users/export/segment", self.export_segment)
        # The export's ZIP: a pre-signed download URL, so no bearer key and no rate limit.
        r("GET", "/export-files/{file}", self.download_export, bucket="none", auth=False)

    # --- auth, errors, limits ----------------------------------------------------------------------
    def authenticate(self, req: Request) -> None:
        auth = req.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme != "Bearer" or token != self.sb.api_key:
            # Braze answers a missing, quoted or wrong-instance key the same way.
            raise HTTPError(401, "Invalid API key: " + ("missing" if not auth else "not recognised"))
        if req.route in self.denied:
            raise HTTPError(403, "Access Denied")  # the key lacks this endpoint's permission

    def error(self, exc: HTTPError) -> Response:
        body: dict[str, Any] = {"message": exc.message}
        if exc.extra.get("errors"):
            body["errors"] = exc.extra["errors"]
        return Response(body, exc.status)

    def limit_headers(self, verdict: Verdict) -> dict[str, str]:
        # X-RateLimit-Reset is an epoch in seconds (fractional only in fast mode).
        return {"X-RateLimit-Limit": str(verdict.limit), "X-RateLimit-Remaining": str(verdict.remaining),
                "X-RateLimit-Reset": format_seconds(verdict.reset_at, self.sb.limiter.scale)}

    def too_many(self, verdict: Verdict) -> Response:
        resp = self.error(HTTPError(429, "Rate Limited"))
        resp.headers.update(self.limit_headers(verdict))  # Braze sends no Retry-After
        return resp

    def advance(self, seconds: float) -> None:
        # Time passing edits the first campaigns and canvas, so incremental reruns see changes.
        stamp = self.sb.data_now() - timedelta(minutes=1)
        for key in (("campaign", 0), ("campaign", 1), ("canvas", 0)):
            self.edits[key] = stamp
        self.campaigns.invalidate()
        self.canvases.invalidate()

    def store(self) -> dict[str, Any]:
        return {"exports": [{k: v for k, v in e.items() if k != "fields"} for e in self.exports.values()]}

    # --- seeded objects ----------------------------------------------------------------------------
    def _id(self, kind: str, i: int) -> str:
        h = data.stable_id(self.seed, f"braze-{kind}", i, 32, "0123456789abcdef")
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def _user(self, i: int) -> dict[str, Any]:
        p = data.person(self.seed, i, end=self.sb.anchor, kind="braze-user")
        r = data.rng(self.seed, "braze-user-extra", i)
        anchor = self.sb.anchor
        email_sub = "unsubscribed" if i % 11 == 5 else r.choice(["opted_in", "subscribed", "subscribed"])
        purchases = []
        for k in range(p.orders and r.randint(1, 3)):
            name = data.product(r.randrange(len(data.PRODUCTS)) + k)[0]
            first = data.spread(r, p.created, anchor)
            purchases.append({"name": name, "first": data.iso(first, millis=True),
                              "last": data.iso(data.spread(r, first, anchor), millis=True), "count": r.randint(1, 5)})
        events = []
        for name in r.sample(EVENT_NAMES, r.randint(0, 4)):
            first = data.spread(r, p.created, anchor)
            events.append({"name": name, "first": data.iso(first, millis=True),
                           "last": data.iso(data.spread(r, first, anchor), millis=True), "count": r.randint(1, 40)})
        user: dict[str, Any] = {
            "external_id": p.external_id if i % 50 != 7 else None,  # a few anonymous users
            "user_aliases": [{"alias_name": f"legacy-{i}", "alias_label": "crm_id"}] if i % 50 == 7 else [],
            "braze_id": hashlib.blake2b(b"%d:braze-id:%d" % (self.seed, i), digest_size=12).hexdigest(),
            "first_name": p.first_name, "last_name": p.last_name, "email": p.email,
            "phone": p.phone_e164, "country": p.place.country, "home_city": p.place.city,
            "language": p.language, "time_zone": p.place.timezone,
            "gender": r.choice(["M", "F", "O", "N", "P", None]),
            "dob": f"{r.randint(1950, 2006)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}" if r.random() < 0.6 else None,
            "created_at": data.iso(p.created, millis=True),
            "email_subscribe": email_sub,
            "push_subscribe": r.choice(["opted_in", "subscribed", "unsubscribed"]),
            "total_revenue": p.lifetime_value,
            "random_bucket": r.randrange(10_000),
            "custom_attributes": {
                "loyalty_points": r.randrange(0, 5_000), "last_app_version": f"{r.randint(3, 5)}.{r.randint(0, 12)}.0",
                "preferred_language": p.language, "vip": p.lifetime_value > 500,
                "favorite_categories": r.sample(["Apparel", "Home", "Grocery", "Electronics", "Sports"], r.randint(0, 3)),
            },
            "purchases": purchases,
            "custom_events": events,
        }
        if not user["external_id"]:
            user.pop("external_id")
        return user

    def _edited(self, kind: str, i: int, seeded: datetime) -> datetime:
        return self.edits.get((kind, i), seeded)

    def _campaign(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "braze-campaign", i)
        edited = self._edited("campaign", i, data.spread(r, self.sb.anchor - timedelta(days=400), self.sb.anchor))
        return {
            "id": self._id("campaign", i),
            "last_edited": data.iso(edited, millis=True).replace("Z", "+00:00"),
            "name": f"{r.choice(['Welcome', 'Winback', 'Spring Sale', 'Cart Reminder', 'Newsletter'])} {i}",
            "is_api_campaign": r.random() < 0.2,
            "tags": r.sample(["promo", "onboarding", "retention", "vip"], r.randint(0, 2)),
        }

    def _campaign_detail(self, i: int) -> dict[str, Any]:
        c = self.campaigns[i]
        r = data.rng(self.seed, "braze-campaign-detail", i)
        edited = data.parse_dt(c["last_edited"])
        created = edited - timedelta(days=r.randint(1, 90))
        channels = r.sample(CHANNELS[:4], r.randint(1, 2))
        messages = {self._id(f"variation-{i}", k): {
            "channel": ch, "name": f"Variant {k + 1}",
            **({"subject": f"{c['name']}: news for you", "from": "Shop <shop@example.com>"} if ch == "email" else {}),
        } for k, ch in enumerate(channels)}
        return {
            "message": "success", "created_at": data.iso(created), "updated_at": data.iso(edited),
            "archived": i % 9 == 8, "draft": False, "enabled": i % 9 != 8, "name": c["name"],
            "description": f"Seeded campaign {i}", "schedule_type": r.choice(["time_based", "action_based", "api_triggered"]),
            "channels": channels, "first_sent": data.iso(created + DAY), "last_sent": data.iso(edited),
            "tags": c["tags"], "teams": r.sample(["Growth", "CRM"], r.randint(0, 1)), "messages": messages,
            "conversion_behaviors": [{"type": "Makes Any Purchase", "window": 86400}],
        }

    def _canvas(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "braze-canvas", i)
        edited = self._edited("canvas", i, data.spread(r, self.sb.anchor - timedelta(days=300), self.sb.anchor))
        return {"id": self._id("canvas", i), "last_edited": data.iso(edited, millis=True).replace("Z", "+00:00"),
                "name": f"{r.choice(['Onboarding', 'Lifecycle', 'Re-engagement', 'Post-purchase'])} journey {i}",
                "tags": r.sample(["journey", "retention", "promo"], r.randint(0, 2))}

    def _canvas_steps(self, i: int) -> list[dict[str, Any]]:
        return [{"name": f"Step {k + 1}", "type": "message", "id": self._id(f"step-{i}", k),
                 "next_step_ids": [self._id(f"step-{i}", k + 1)] if k < 2 else [],
                 "channels": ["email"], "messages": {self._id(f"step-msg-{i}", k): {"channel": "email"}}}
                for k in range(3)]

    def _canvas_detail(self, i: int) -> dict[str, Any]:
        c = self.canvases[i]
        r = data.rng(self.seed, "braze-canvas-detail", i)
        edited = data.parse_dt(c["last_edited"])
        created = edited - timedelta(days=r.randint(1, 60))
        steps = self._canvas_steps(i)
        return {
            "message": "success", "created_at": data.iso(created), "updated_at": data.iso(edited), "name": c["name"],
            "description": f"Seeded canvas {i}", "archived": False, "draft": False,
            "schedule_type": r.choice(["date", "action_based", "api_triggered"]),
            "first_entry": data.iso(created + DAY), "last_entry": data.iso(edited), "channels": ["email"],
            "variants": [{"name": "Variant 1", "id": self._id(f"variant-{i}", 0), "first_step_ids": [steps[0]["id"]]}],
            "tags": c["tags"], "teams": [], "steps": steps,
        }

    def _segment(self, i: int) -> dict[str, Any]:
        # Segment 0 holds every user; segment s > 0 every (s+1)-th one (see `members`).
        names = ["All Users", "Frequent buyers", "Lapsed users", "Newsletter readers", "VIP", "Mobile app users",
                 "High intent", "Holiday shoppers", "EU customers", "Push enabled", "Cart abandoners", "Trial"]
        return {"id": self._id("segment", i), "name": names[i % len(names)] + (f" {i}" if i >= len(names) else ""),
                # One segment without analytics tracking: its data series is refused.
                "analytics_tracking_enabled": i != 2, "tags": ["all"] if i == 0 else []}

    def members(self, s: int) -> range:
        return range(0, len(self.users), s + 1)

    def _content_block(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "braze-content-block", i)
        created = data.spread(r, self.sb.anchor - timedelta(days=500), self.sb.anchor - timedelta(days=30))
        edited = data.spread(r, created, self.sb.anchor)
        name = f"block_{i}_{r.choice(['footer', 'header', 'promo', 'legal'])}"
        return {"content_block_id": self._id("content-block", i), "name": name,
                "content_type": r.choice(["html", "text"]), "liquid_tag": "{{content_blocks.${" + name + "}}}",
                "inclusion_count": r.randint(0, 30), "created_at": data.iso(created), "last_edited": data.iso(edited),
                "tags": r.sample(["email", "legal", "brand"], r.randint(0, 2))}

    def _template(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "braze-template", i)
        created = data.spread(r, self.sb.anchor - timedelta(days=500), self.sb.anchor - timedelta(days=30))
        return {"email_template_id": self._id("template", i),
                "template_name": f"{r.choice(['Welcome', 'Receipt', 'Newsletter', 'Reset'])} template {i}",
                "created_at": data.iso(created), "updated_at": data.iso(data.spread(r, created, self.sb.anchor)),
                "tags": r.sample(["transactional", "marketing"], r.randint(0, 1))}

    # --- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _find(table: data.LazyTable, key: str, value: str | None, name: str) -> int:
        if not value:
            raise HTTPError(400, f"'{name}' is required")
        for i in range(len(table)):
            if table[i][key] == value:
                return i
        raise HTTPError(400, f"Invalid '{name}': {value}")

    def _page(self, req: Request, table: data.LazyTable, key: str, *, since: bool) -> Response:
        page = req.int_arg("page", 0, minimum=0)
        items = list(table)
        raw = req.arg("last_edit.time[gt]") if since else None
        if raw:
            try:
                cutoff = data.parse_dt(raw)
            except ValueError:
                raise HTTPError(400, f"Invalid 'last_edit.time[gt]': {raw}") from None
            items = [c for c in items if data.parse_dt(c["last_edited"]) > cutoff]
        if req.arg("sort_direction", "asc") == "desc":
            items.reverse()
        return Response({"message": "success", key: items[page * LIST_PAGE:(page + 1) * LIST_PAGE]})

    def _window(self, req: Request, max_length: int, *, unit: str = "day") -> list[datetime]:
        """The instants a series covers: ``length`` units ending at ``ending_at`` (default now)."""
        length = req.int_arg("length", 0)
        if not 1 <= length <= max_length:
            raise HTTPError(400, f"'length' must be between 1 and {max_length}")
        ending = req.arg("ending_at")
        try:
            end = data.parse_dt(ending) if ending else self.sb.data_now()
        except ValueError:
            raise HTTPError(400, f"Invalid 'ending_at': {ending}") from None
        step = timedelta(hours=1) if unit == "hour" else DAY
        end = end.replace(minute=0, second=0, microsecond=0) if unit == "hour" else \
            end.replace(hour=0, minute=0, second=0, microsecond=0)
        # Units after the account's "now" have no data yet: the window is cut, not shifted.
        now = self.sb.data_now()
        return [t for t in (end - step * k for k in range(length - 1, -1, -1)) if t <= now]

    def _restated(self, when: datetime, value: float) -> float:
        # Recent days keep growing as conversions are attributed back (Braze restates them).
        age = (self.sb.data_now() - when).total_seconds() / 86400
        return value * min(1.0, 0.5 + age / 14)

    @staticmethod
    def _stamp(when: datetime, unit: str = "day") -> str:
        return data.iso(when) if unit == "hour" else when.date().isoformat()

    # --- campaigns, canvases, segments ---------------------------------------------------------------
    def list_campaigns(self, req: Request) -> Response:
        return self._page(req, self.campaigns, "campaigns", since=True)

    def campaign_details(self, req: Request) -> Any:
        return self._campaign_detail(self._find(self.campaigns, "id", req.arg("campaign_id"), "campaign_id"))

    def campaign_series(self, req: Request) -> Any:
        i = self._find(self.campaigns, "id", req.arg("campaign_id"), "campaign_id")
        out = []
        for when in self._window(req, 100):
            r = data.rng(self.seed, f"braze-campaign-series-{i}", when.toordinal())
            sent = r.randint(0, 2_000)
            delivered = int(sent * 0.97)
            opens = int(delivered * r.uniform(0.1, 0.5))
            conversions = int(self._restated(when, opens * 0.05))
            out.append({"time": self._stamp(when), "messages": {"email": [{
                "variation_name": "Variant 1", "sent": sent, "delivered": delivered, "opens": opens,
                "unique_opens": int(opens * 0.8), "clicks": int(opens * 0.3), "unique_clicks": int(opens * 0.25),
                "unsubscribes": r.randint(0, 5), "bounces": sent - delivered, "reported_spam": r.randint(0, 1)}]},
                "conversions_by_send_time": conversions, "conversions": conversions,
                "unique_recipients": int(sent * 0.99), "revenue": round(self._restated(when, conversions * 42.5), 2)})
        return {"message": "success", "data": out}

    def list_canvases(self, req: Request) -> Response:
        return self._page(req, self.canvases, "canvases", since=True)

    def canvas_details(self, req: Request) -> Any:
        return self._canvas_detail(self._find(self.canvases, "id", req.arg("canvas_id"), "canvas_id"))

    def canvas_series(self, req: Request) -> Any:
        i = self._find(self.canvases, "id", req.arg("canvas_id"), "canvas_id")
        if not req.arg("ending_at"):
            raise HTTPError(400, "'ending_at' is required")
        starting = req.arg("starting_at")
        if starting and req.arg("length"):
            raise HTTPError(400, "Provide either 'starting_at' or 'length', not both")
        if starting:
            try:
                start, end = data.parse_dt(starting), data.parse_dt(req.arg("ending_at"))
            except ValueError:
                raise HTTPError(400, f"Invalid 'starting_at': {starting}") from None
            days = (end.date() - start.date()).days + 1
            if not 1 <= days <= 14:
                raise HTTPError(400, "The date range must be between 1 and 14 days")
            req.query["length"] = [str(days)]
        window = self._window(req, 14)
        steps = self._canvas_steps(i)
        stats = []
        for when in window:
            r = data.rng(self.seed, f"braze-canvas-series-{i}", when.toordinal())
            entries = r.randint(0, 800)
            conv = int(self._restated(when, entries * 0.04))
            row: dict[str, Any] = {"time": self._stamp(when), "total_stats": {
                "revenue": round(conv * 37.0, 2), "conversions": conv, "conversions_by_entry_time": conv,
                "entries": entries}}
            if req.arg("include_variant_breakdown") == "true":
                row["variant_stats"] = {self._id(f"variant-{i}", 0): {
                    "name": "Variant 1", "revenue": round(conv * 37.0, 2), "conversions": conv,
                    "conversions_by_entry_time": conv, "entries": entries}}
            if req.arg("include_step_breakdown") == "true":
                row["step_stats"] = {s["id"]: {
                    "name": s["name"], "revenue": 0.0, "conversions": 0, "conversions_by_entry_time": 0,
                    "unique_recipients": max(0, entries - 100 * k),
                    "messages": {"email": [{"sent": max(0, entries - 100 * k), "opens": entries // 3}]}}
                    for k, s in enumerate(steps)}
            stats.append(row)
        return {"message": "success", "data": {"name": self.canvases[i]["name"], "stats": stats}}

    def list_segments(self, req: Request) -> Response:
        return self._page(req, self.segments, "segments", since=False)

    def segment_details(self, req: Request) -> Any:
        i = self._find(self.segments, "id", req.arg("segment_id"), "segment_id")
        s = self.segments[i]
        r = data.rng(self.seed, "braze-segment-detail", i)
        created = data.spread(r, self.sb.anchor - timedelta(days=700), self.sb.anchor - timedelta(days=60))
        return {"message": "success", "created_at": data.iso(created),
                "updated_at": data.iso(data.spread(r, created, self.sb.anchor)), "name": s["name"],
                "description": f"Seeded segment {i}", "text_description": f"Users with index divisible by {i + 1}",
                "tags": s["tags"], "teams": []}

    def segment_series(self, req: Request) -> Any:
        i = self._find(self.segments, "id", req.arg("segment_id"), "segment_id")
        if not self.segments[i]["analytics_tracking_enabled"]:
            raise HTTPError(400, "Analytics tracking is not enabled for this segment")
        size = len(self.members(i))
        return {"message": "success", "data": [
            {"time": self._stamp(w), "size": max(0, size - int((self.sb.data_now() - w).days * size / 1000))}
            for w in self._window(req, 100)]}

    # --- events, attributes, purchases, KPIs ---------------------------------------------------------
    def _cursor_page(self, req: Request, items: list[Any], path: str) -> tuple[list[Any], dict[str, str]]:
        raw = req.arg("cursor")
        start = _uncursor(raw) if raw else 0
        page = items[start:start + CURSOR_PAGE]
        links = []
        if start > 0:
            links.append(f'<{req.base_url}{path}?cursor={_cursor(max(0, start - CURSOR_PAGE))}>; rel="prev"')
        if start + CURSOR_PAGE < len(items):
            links.append(f'<{req.base_url}{path}?cursor={_cursor(start + CURSOR_PAGE)}>; rel="next"')
        return page, ({"Link": ",".join(links)} if links else {})

    def list_events(self, req: Request) -> Response:
        items = [{"name": n, "description": f"Seeded event {n}" if k < len(EVENT_NAMES) else None,
                  "included_in_analytics_report": k % 3 == 0, "status": "Active" if k % 10 else "Blocklisted",
                  "tag_names": ["core"] if k < len(EVENT_NAMES) else []} for k, n in enumerate(self.event_names)]
        page, headers = self._cursor_page(req, items, "/events")
        return Response({"message": "success", "events": page}, headers=headers)

    def list_event_names(self, req: Request) -> Any:
        page = req.int_arg("page", 0, minimum=0)
        names = sorted(self.event_names)
        return {"message": "success", "events": names[page * EVENTS_LIST_PAGE:(page + 1) * EVENTS_LIST_PAGE]}

    def event_series(self, req: Request) -> Any:
        event = req.arg("event")
        if event not in self.event_names:
            raise HTTPError(400, f"Invalid 'event': {event!r}")
        unit = req.arg("unit", "day")
        if unit not in ("day", "hour"):
            raise HTTPError(400, f"Invalid 'unit': {unit!r}")
        return {"message": "success", "data": [
            {"time": self._stamp(w, unit), "count": data.rng(self.seed, f"braze-event-{event}", int(w.timestamp())).randint(0, 500)}
            for w in self._window(req, 100, unit=unit)]}

    def list_attributes(self, req: Request) -> Response:
        items = [{"array_length": 100 if typ == "Array" else None, "data_type": typ,
                  "description": f"Seeded attribute {name}", "name": name, "status": "Active", "tag_names": []}
                 for name, typ in ATTRIBUTES]
        page, headers = self._cursor_page(req, items, "/custom_attributes")
        return Response({"message": "success", "attributes": page}, headers=headers)

    def list_products(self, req: Request) -> Any:
        page = req.int_arg("page", 0, minimum=0)
        names = [data.product(i)[0] for i in range(self.scale["catalog_items"])]
        return {"message": "success", "products": names[page * PRODUCTS_PAGE:(page + 1) * PRODUCTS_PAGE]}

    def series_handler(self, field: str, scale: float) -> Any:
        def handler(req: Request) -> Any:
            unit = req.arg("unit", "day")
            out = []
            for w in self._window(req, 100, unit=unit if unit == "hour" else "day"):
                r = data.rng(self.seed, f"braze-{field}-{req.arg('product', '')}", w.toordinal())
                value = r.uniform(0.5, 1.5) * scale
                out.append({"time": self._stamp(w, unit), field: round(value, 2) if isinstance(scale, float) else int(value)})
            return {"message": "success", "data": out}
        return handler

    # --- catalogs ------------------------------------------------------------------------------------
    def _catalog_item(self, catalog: str, i: int) -> dict[str, Any]:
        if catalog == "stores":
            return {"id": f"store-{i:03d}", "name": data.PLACES[i % len(data.PLACES)].city, "open": i % 4 != 3}
        name, category, price = data.product(i)
        return {"id": f"sku-{i:05d}", "name": name, "category": category, "price": price, "in_stock": i % 7 != 0}

    def list_catalogs(self, req: Request) -> Any:
        fields = {"products": [("id", "string"), ("name", "string"), ("category", "string"), ("price", "number"),
                               ("in_stock", "boolean")],
                  "stores": [("id", "string"), ("name", "string"), ("open", "boolean")]}
        return {"message": "success", "catalogs": [
            {"name": n, "description": f"Seeded {n} catalog", "fields": [{"name": f, "type": t} for f, t in fields[n]],
             "num_items": size, "updated_at": data.iso(self.sb.anchor - timedelta(days=3), millis=True)}
            for n, size in self.catalog_sizes.items()]}

    def list_catalog_items(self, req: Request) -> Response:
        catalog = req.params["catalog_name"]
        if catalog not in self.catalog_sizes:
            raise HTTPError(404, "Invalid Request", errors=[{
                "id": "catalog-not-found", "message": "Could not find catalog", "parameters": ["catalog_name"],
                "parameter_values": [catalog]}])
        raw = req.arg("cursor")
        start = _uncursor(raw) if raw else 0
        size = self.catalog_sizes[catalog]
        items = [self._catalog_item(catalog, i) for i in range(start, min(size, start + CURSOR_PAGE))]
        links = []
        path = f"/catalogs/{quote(catalog)}/items"
        if size > CURSOR_PAGE:  # no Link header at all for catalogs of 50 items or fewer
            if start > 0:
                links.append(f'<{req.base_url}{path}?cursor={_cursor(max(0, start - CURSOR_PAGE))}>; rel="prev"')
            if start + CURSOR_PAGE < size:
                links.append(f'<{req.base_url}{path}?cursor={_cursor(start + CURSOR_PAGE)}>; rel="next"')
        return Response({"message": "success", "items": items}, headers={"Link": ",".join(links)} if links else {})

    # --- templates and content blocks --------------------------------------------------------------------
    def _modified_page(self, req: Request, table: data.LazyTable, key: str, stamp: str) -> dict[str, Any]:
        limit = req.int_arg("limit", 100, minimum=1, maximum=1000)
        offset = req.int_arg("offset", 0, minimum=0)
        items = list(table)
        for name, keep in (("modified_after", lambda t, c: t >= c), ("modified_before", lambda t, c: t <= c)):
            raw = req.arg(name)
            if raw:
                try:
                    cutoff = data.parse_dt(raw)
                except ValueError:
                    raise HTTPError(400, f"Invalid '{name}': {raw}") from None
                items = [x for x in items if keep(data.parse_dt(x[stamp]), cutoff)]
        return {"count": len(items), key: items[offset:offset + limit], "message": "success"}

    def list_content_blocks(self, req: Request) -> Any:
        return self._modified_page(req, self.content_blocks, "content_blocks", "last_edited")

    def list_templates(self, req: Request) -> Any:
        return self._modified_page(req, self.templates, "templates", "updated_at")

    # --- email / sms state ----------------------------------------------------------------------------
    def _dated_range(self, req: Request, count: int) -> range:
        """Indexes of a dated table (entry k at ``now - (k+1) * step``, newest first) in the query range."""
        if not req.arg("end_date"):
            raise HTTPError(400, "'end_date' is required")
        end = _day(req.arg("end_date"), "end_date")
        if not req.arg("start_date"):
            raise HTTPError(400, "Either 'start_date' or 'email' is required")
        start = _day(req.arg("start_date"), "start_date")
        if start > end:
            raise HTTPError(400, "'start_date' must be before 'end_date'")
        now, step = self.sb.data_now(), 365 * 86400 / max(1, count)
        lo = datetime.combine(start, datetime.min.time(), data.UTC)
        hi = datetime.combine(end + DAY, datetime.min.time(), data.UTC)
        first = max(0, int((now - hi).total_seconds() / step) - 1)
        last = min(count, int((now - lo).total_seconds() / step) + 2)
        ks = [k for k in range(first, last) if lo <= self._dated(now, step, k) < hi]
        return range(ks[0], ks[-1] + 1) if ks else range(0)

    @staticmethod
    def _dated(now: datetime, step: float, k: int) -> datetime:
        return (now - timedelta(seconds=(k + 1) * step)).replace(microsecond=0)

    def email_state_handler(self, field: str, every: int, rest: int) -> Any:
        def handler(req: Request) -> Any:
            limit = req.int_arg("limit", 100, minimum=1, maximum=500)
            offset = req.int_arg("offset", 0, minimum=0)
            count = max(1, len(self.users) // every)
            now, step = self.sb.data_now(), 365 * 86400 / count
            email = req.arg("email")
            if email:
                ks = [k for k in range(count) if self.users[k * every + rest]["email"] == email] if count < 5_000 else []
            else:
                ks = list(self._dated_range(req, count))
            if req.arg("sort_direction") == "asc":
                ks.reverse()
            rows = []
            for k in ks[offset:offset + limit]:
                user = self.users[min(len(self.users) - 1, k * every + rest)]
                rows.append({"email": user.get("email") or f"user{k * every + rest}@example.com",
                             field: self._dated(now, step, k).strftime("%Y-%m-%d %H:%M:%S +0000")})
            return {"emails": rows, "message": "success"}
        return handler

    def list_invalid_phones(self, req: Request) -> Any:
        limit = req.int_arg("limit", 100, minimum=1, maximum=500)
        offset = req.int_arg("offset", 0, minimum=0)
        every, rest = 23, 4
        count = max(1, len(self.users) // every)
        now, step = self.sb.data_now(), 365 * 86400 / count
        reason = req.arg("reason")
        rows = []
        for k in self._dated_range(req, count):
            why = "deactivated" if k % 3 == 0 else "provider_error"
            if reason and why != reason:
                continue
            i = min(len(self.users) - 1, k * every + rest)
            rows.append({"phone": self.users[i]["phone"] or f"+3361234{i:04d}"[:12],
                         "invalid_detected_at": data.iso(self._dated(now, step, k)), "reason": why})
        return {"sms": rows[offset:offset + limit], "message": "success"}

    # --- user export -------------------------------------------------------------------------------------
    @staticmethod
    def _pick(user: dict[str, Any], fields: list[str] | None, attrs: list[str] | None) -> dict[str, Any]:
        if not fields:
            return user
        out = {k: user[k] for k in fields if k in user and user[k] is not None}
        if attrs and "custom_attributes" in out:
            out["custom_attributes"] = {k: v for k, v in out["custom_attributes"].items() if k in attrs}
        return out

    def _user_index(self, external_id: str) -> int | None:
        prefix = f"cust-{self.seed}-"
        if not external_id.startswith(prefix) or not external_id[len(prefix):].isdigit():
            return None
        i = int(external_id[len(prefix):])
        return i if 0 <= i < len(self.users) and i % 50 != 7 else None

    def export_ids(self, req: Request) -> Any:
        body = req.json()
        ids = body.get("external_ids") or []
        aliases = body.get("user_aliases") or []
        if len(ids) + len(aliases) > MAX_IDS:
            raise HTTPError(400, "The max number of external_ids and aliases per request was exceeded")
        if not ids and not aliases and not any(body.get(k) for k in ("device_id", "braze_id", "email_address", "phone")):
            raise HTTPError(400, "Either external_ids, user_aliases, device_id, braze_id, email_address or phone is required")
        fields = body.get("fields_to_export")
        users, invalid = [], []
        for ext in ids:
            i = self._user_index(str(ext))
            if i is None:
                invalid.append(ext)
            else:
                users.append(self._pick(self.users[i], fields, None))
        out: dict[str, Any] = {"message": "success", "users": users}
        if invalid:
            out["invalid_user_ids"] = invalid
        return out

    def export_segment(self, req: Request) -> Any:
        body = req.json()
        seg_id = body.get("segment_id")
        if not seg_id:
            raise HTTPError(400, "'segment_id' is required")
        fields = body.get("fields_to_export")
        if not fields:
            raise HTTPError(400, "'fields_to_export' is required")
        if body.get("output_format", "zip") not in ("zip", "gzip"):
            raise HTTPError(400, "'output_format' must be 'zip' or 'gzip'")
        index = self._find(self.segments, "id", seg_id, "segment_id")
        now = time.monotonic()
        with self.lock:
            token = self.running.get(seg_id)
            if token and not self._ready(self.exports[token]):
                raise HTTPError(429, "An export is already running for this segment")
            token = uuid.uuid4().hex
            stamp = self.sb.now()
            prefix = f"segment-export/{seg_id}/{stamp:%Y-%m-%d}/{token}-{int(stamp.timestamp())}"
            attrs = body.get("custom_attributes_to_export")
            key = (seg_id, tuple(fields), tuple(attrs or ()), self.users_per_file)
            if key not in self.files:
                # Braze prepares the file in the background; so does the sandbox (to a temporary file).
                self.files[key] = _ZipFile(self._zip(seg_id, index, list(fields), attrs))
            self.exports[token] = {"segment_id": seg_id, "file": key, "ready_at": now + self.export_delay,
                                   "object_prefix": prefix, "downloads": 0}
            self.running[seg_id] = token
        return {"message": "success", "object_prefix": prefix, "url": f"{req.base_url}/export-files/{token}.zip"}

    def _ready(self, export: dict[str, Any]) -> bool:
        return time.monotonic() >= export["ready_at"] and self.files[export["file"]].done.is_set()

    def download_export(self, req: Request) -> Response:
        token = req.params["file"].removesuffix(".zip")
        export = self.exports.get(token)
        if export is None or not self._ready(export):
            # What S3 answers for a pre-signed URL whose object is not there (yet).
            return Response(S3_NOT_READY, 404, content_type="application/xml")
        export["downloads"] += 1
        return Response(self.files[export["file"]].chunks(), content_type="application/zip")

    def _zip(self, seg_id: str, index: int, fields: list[str], attrs: list[str] | None) -> Iterator[bytes]:
        """The export ZIP, generated in chunks: one JSON-lines file per 5,000 users."""
        members = self.members(index)
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            per_file = self.users_per_file
            for part, start in enumerate(range(0, len(members), per_file)):
                with zf.open(f"{seg_id}-{part}.txt", "w", force_zip64=True) as member:
                    lines = []
                    for i in members[start:start + per_file]:
                        lines.append(encode(self._pick(self._user(i), fields, attrs)))
                        if len(lines) >= 500:
                            member.write(b"\n".join(lines) + b"\n")
                            lines = []
                            yield sink.take()
                    if lines:
                        member.write(b"\n".join(lines) + b"\n")
                yield sink.take()
        yield sink.take()


class _ZipFile:
    """An export file written by a background thread to a temporary file, then served from it."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        # Lives as long as the sandbox keeps this export (until reset); deleted when collected.
        self.file = tempfile.TemporaryFile(prefix="sandbox-braze-export-")  # noqa: SIM115
        self.size = 0
        self.done = threading.Event()
        threading.Thread(target=self._write, args=(chunks,), name="braze-export", daemon=True).start()

    def _write(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                self.file.write(chunk)
            self.file.flush()
            self.size = self.file.tell()
        finally:
            self.done.set()

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        offset, fd = 0, self.file.fileno()
        while offset < self.size:
            chunk = os.pread(fd, min(size, self.size - offset), offset)  # no shared file position
            if not chunk:
                return
            offset += len(chunk)
            yield chunk
