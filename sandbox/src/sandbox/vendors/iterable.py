"""Iterable's API: ``Api-Key`` header, page/pageSize listings, per-endpoint limits.

Exports are the heart of it. A synchronous window holding more than ``export_window_limit``
records (a scale key, default 200,000) answers 504, as a too-large export does, so clients'
window halving can be exercised. Each export data type is its own lazily generated, time-ordered
sequence: record ``i`` of a type falls in slot ``i`` of a fixed cadence, so a
``startDateTime``/``endDateTime`` window maps to an index range by arithmetic and a
million-event account costs nothing until a window is read. Bodies are streamed in chunks.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import math
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from .. import data
from ..http import HTTPError, Request, Response, encode
from ..ratelimit import Verdict, Window
from .base import Vendor

MINUTE = 60
NDJSON = "application/x-json-stream"
HISTORY = timedelta(days=730)  # seeded users and events spread over two years before the clock

# Export data type → (family, weight). Weights shape the mix; every type gets a few records.
EXPORT_TYPES: dict[str, tuple[str, int]] = {
    "emailSend": ("email", 120), "emailOpen": ("email", 90), "emailClick": ("email", 40),
    "hostedUnsubscribeClick": ("email", 3), "emailComplaint": ("email", 2), "emailBounce": ("email", 6),
    "emailSendSkip": ("email", 5), "pushSend": ("push", 50), "pushOpen": ("push", 25),
    "pushUninstall": ("push", 3), "pushBounce": ("push", 3), "pushSendSkip": ("push", 3),
    "inAppSend": ("inApp", 20), "inAppOpen": ("inApp", 12), "inAppClick": ("inApp", 6),
    "inAppClose": ("inApp", 5), "inAppDelete": ("inApp", 3), "inAppDelivery": ("inApp", 15),
    "inAppSendSkip": ("inApp", 2), "inAppRecall": ("inApp", 1), "inboxSession": ("session", 4),
    "inboxMessageImpression": ("inApp", 6), "smsSend": ("sms", 20), "smsBounce": ("sms", 2),
    "smsClick": ("sms", 5), "smsReceived": ("sms", 3), "smsSendSkip": ("sms", 2),
    "webPushSend": ("webPush", 10), "webPushClick": ("webPush", 3), "webPushSendSkip": ("webPush", 1),
    "rcsSend": ("rcs", 2), "rcsSendSkip": ("rcs", 1), "emailSubscribe": ("subscribe", 8),
    "emailUnSubscribe": ("subscribe", 5), "purchase": ("purchase", 30), "customEvent": ("custom", 120),
    "smsUsageInfo": ("sms", 2), "embeddedSend": ("embedded", 4), "embeddedSendSkip": ("embedded", 1),
    "embeddedClick": ("embedded", 2), "embeddedReceived": ("embedded", 3), "embeddedImpression": ("embedded", 3),
    "embeddedSession": ("session", 2), "unknownSession": ("session", 1), "journeyExit": ("journey", 6),
    "whatsAppBounce": ("whatsApp", 1), "whatsAppClick": ("whatsApp", 2), "whatsAppReceived": ("whatsApp", 2),
    "whatsAppSeen": ("whatsApp", 3), "whatsAppSend": ("whatsApp", 5), "whatsAppSendSkip": ("whatsApp", 1),
    "whatsAppUsageInfo": ("whatsApp", 1),
}
_CANON = {name.lower(): name for name in [*EXPORT_TYPES, "user"]}
NO_MESSAGE_ID = {"emailSubscribe", "emailUnSubscribe", "purchase", "customEvent", "journeyExit",
                 "inboxSession", "embeddedSession", "unknownSession"}
CUSTOM_EVENTS = ["addToCart", "pageView", "appOpen", "viewedProduct", "startedCheckout", "searched"]
MEDIUMS = ["Email", "Push", "SMS", "InApp"]
PLANS = ["free", "starter", "pro", "enterprise"]
STAGES = ["lead", "prospect", "customer", "churned"]
CHANNELS = [
    {"id": 1, "name": "Marketing Email", "channelType": "Marketing", "messageMedium": "Email"},
    {"id": 2, "name": "Transactional Email", "channelType": "Transactional", "messageMedium": "Email"},
    {"id": 3, "name": "Marketing Push", "channelType": "Marketing", "messageMedium": "Push"},
    {"id": 4, "name": "Marketing SMS", "channelType": "Marketing", "messageMedium": "SMS"},
]
USER_FIELDS = {
    "email": "string", "userId": "string", "signupDate": "date", "profileUpdatedAt": "date",
    "firstName": "string", "lastName": "string", "phoneNumber": "string", "totalPurchases": "long",
    "lastPurchaseDate": "date", "plan_name": "string", "company_size": "long",
    "preferred_channel": "string", "lifecycle_stage": "string", "locale": "string", "city": "string",
    "country": "string", "emailListIds": "long", "unsubscribedChannelIds": "long",
}


def fmt(dt: datetime) -> str:
    """Iterable's export timestamp form: ``2026-11-29 12:34:56 +00:00``."""
    return dt.astimezone(data.UTC).strftime("%Y-%m-%d %H:%M:%S +00:00")


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def parse_when(text: str, name: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss [ZZ]`` (UTC without an offset), or an ISO-8601 date or date-time."""
    raw = text.strip()
    try:
        if "T" in raw or len(raw) == 10:
            return data.parse_dt(raw)
        head, zone = raw[:19], raw[19:].strip()
        dt = datetime.strptime(head, "%Y-%m-%d %H:%M:%S")
        if not zone or zone in ("Z", "UTC"):
            return dt.replace(tzinfo=data.UTC)
        return datetime.fromisoformat(head.replace(" ", "T") + zone)
    except ValueError:
        raise HTTPError(400, f"Invalid {name}: {text!r}; expected yyyy-MM-dd HH:mm:ss [ZZ]", "BadParams",
                        params={name: text}) from None


class Timeline:
    """``count(now)`` records on a fixed cadence from ``start``; record i lies in slot i."""

    def __init__(self, seed: int, kind: str, start: datetime, per_span: int, span: timedelta) -> None:
        self.kind = kind
        self.start = start
        self.slot = span.total_seconds() / max(1, per_span)
        self.salt = int.from_bytes(hashlib.blake2b(f"{seed}:{kind}".encode(), digest_size=4).digest(), "big")

    def at(self, i: int) -> datetime:
        jitter = ((i * 2654435761 + self.salt) & 0xFFFF) / 65536.0
        return self.start + timedelta(seconds=int((i + jitter) * self.slot))

    def count(self, now: datetime) -> int:
        return max(0, int((now - self.start).total_seconds() / self.slot))

    def first_at_or_after(self, when: datetime, limit: int) -> int:
        i = min(limit, max(0, int((when - self.start).total_seconds() / self.slot) - 1))
        while i < limit and self.at(i) < when:
            i += 1
        return i


class Iterable(Vendor):
    name = "iterable"
    prefix = "/iterable"
    per_route_buckets = True  # Iterable's limits are per endpoint, per project
    buckets = {
        "default": (Window(100, 1),),
        "export": (Window(4, MINUTE),),
        "export_jobs": (Window(1, 1),),
        "list_users": (Window(5, MINUTE),),
        "metrics": (Window(10, MINUTE),),
        "user_fields": (Window(3, 1),),
    }

    def setup(self) -> None:
        # Tunables tests may change on ``sandbox.sb.vendors["iterable"]`` (reset restores them);
        # the first two also come from the scale spec: ``--scale small,export_window_limit=5000``.
        self.max_window_records = self.scale.get("export_window_limit", 200_000)  # larger windows time out
        self.job_seconds = self.scale.get("export_job_ms", 300) / 1000  # an async job's run time once started
        self.max_running_jobs = 4  # Iterable: at most 4 exports processing per organisation
        self.file_records = 2_000  # records per export file (Iterable: files of at most 10 MB)
        self.files_page = 10  # files listed per /export/{jobId}/files page
        self.file_url_ttl = 30 * MINUTE  # download links expire after 30 minutes
        self.jobs: dict[int, dict[str, Any]] = {}
        self._job_ids = itertools.count(3562)
        self._jobs_lock = threading.Lock()  # the server answers requests on several threads

        anchor = self.sb.anchor
        self.origin = anchor - HISTORY
        n_events = self.scale["events"]
        total_weight = sum(w for _, w in EXPORT_TYPES.values())
        self.timelines = {
            t: Timeline(self.seed, f"iterable-{t}", self.origin, max(3, round(n_events * w / total_weight)), HISTORY)
            for t, (_, w) in EXPORT_TYPES.items()
        }
        self.timelines["user"] = Timeline(self.seed, "iterable-user", self.origin, self.scale["profiles"], HISTORY)
        self.n_users = self.scale["profiles"]
        big = 10**9  # tables grow as the clock advances; Timeline.count bounds what is served
        self.tables = {t: data.LazyTable(big, self._maker(t), cache_size=100_000) for t in self.timelines}
        self.campaigns = data.LazyTable(self.scale["campaigns"], self._campaign)
        self.n_templates = self.scale["campaigns"] * 2 + 4
        self.templates = data.LazyTable(self.n_templates, self._template)
        self.n_lists = self.scale["lists"]
        self.items = data.LazyTable(self.scale["catalog_items"], self._catalog_item)
        self.n_journeys = 6

        r = self.route
        r("GET", "/api/campaigns", self.list_campaigns)
        r("GET", "/api/campaigns/metrics", self.campaign_metrics, bucket="metrics")
        r("GET", "/api/export/data.json", self.export_data, bucket="export")
        r("POST", "/api/export/start", self.export_start, bucket="export_jobs")
        r("GET", "/api/export/jobs", self.export_jobs, bucket="export_jobs")
        r("GET", "/api/export/{jobId}/files", self.export_files, bucket="export_jobs")
        r("DELETE", "/api/export/{jobId}", self.export_cancel, bucket="export_jobs")
        r("GET", "/export-files/{jobId}/{file}", self.export_download, auth=False)
        r("GET", "/api/lists", self.list_lists)
        r("GET", "/api/lists/getUsers", self.list_users, bucket="list_users")
        r("GET", "/api/templates", self.list_templates)
        r("GET", "/api/channels", lambda req: {"channels": CHANNELS})
        r("GET", "/api/messageTypes", self.message_types)
        r("GET", "/api/users/getFields", lambda req: {"fields": USER_FIELDS}, bucket="user_fields")
        r("GET", "/api/catalogs", self.list_catalogs)
        r("GET", "/api/catalogs/{catalogName}/items", self.catalog_items)
        r("GET", "/api/journeys", self.list_journeys)
        r("GET", "/api/experiments/metrics", self.experiment_metrics)

    def authenticate(self, req: Request) -> None:
        key = req.headers.get("Api-Key") or req.headers.get("Api_Key")
        if not key:
            raise HTTPError(401, "No API key found on request", "BadApiKey")
        if key != self.sb.api_key:
            raise HTTPError(401, "Invalid API key", "BadApiKey")

    def error(self, exc: HTTPError) -> Response:
        code = exc.code if exc.code and exc.code[0].isupper() else {
            400: "BadParams", 401: "BadApiKey", 403: "Forbidden", 404: "NotFound",
            429: "RateLimitExceeded"}.get(exc.status, "GenericError")
        body: dict[str, Any] = {"msg": exc.message, "code": code}
        if exc.extra.get("params") is not None:  # the swagger types params as an object: omit, never null
            body["params"] = exc.extra["params"]
        return Response(body, exc.status)

    def too_many(self, verdict: Verdict) -> Response:
        # Iterable documents no rate-limit headers; clients back off on the code alone.
        return self.error(HTTPError(429, "Rate limit exceeded", "RateLimitExceeded"))

    # --- seeded objects ---------------------------------------------------------------------------
    def _maker(self, kind: str) -> Any:
        return self._user if kind == "user" else lambda i: self._event(kind, i)

    def _user(self, i: int) -> dict[str, Any]:
        p = data.person(self.seed, i, start=self.origin, end=self.sb.anchor, kind="iterable-person")
        r = data.rng(self.seed, "iterable-user", i)
        updated = self.timelines["user"].at(i)
        signup = min(p.created, updated)
        # Iterable exports user profiles flat: identity fields and the project's own fields side by side.
        row: dict[str, Any] = {
            "email": p.email, "userId": p.external_id, "signupDate": fmt(signup),
            "profileUpdatedAt": fmt(updated), "firstName": p.first_name, "lastName": p.last_name,
            "phoneNumber": p.phone_e164, "totalPurchases": p.orders,
            "lastPurchaseDate": fmt(p.last_order) if p.last_order else None,
            "plan_name": r.choice(PLANS), "company_size": r.choice([1, 10, 50, 250, 1000]),
            "preferred_channel": r.choice(["email", "sms", "push"]), "lifecycle_stage": r.choice(STAGES),
            "locale": p.place.locale, "city": p.place.city, "country": p.place.country,
            "emailListIds": [1000 + k for k in range(self.n_lists) if self._member(i, k)],
        }
        if p.email is None:  # userId-only profile (a hybrid project)
            del row["email"]
        return {k: v for k, v in row.items() if v is not None}

    def _member(self, user: int, list_index: int) -> bool:
        return (user * 7919 + list_index * 104729 + self.seed) % (list_index + 2) == 0

    def _event(self, kind: str, i: int) -> dict[str, Any]:
        family = EXPORT_TYPES[kind][0]
        r = data.rng(self.seed, f"iterable-{kind}", i)
        user = self._user_ref(r.randrange(max(1, self.n_users)))
        created = self.timelines[kind].at(i)
        ev: dict[str, Any] = {"createdAt": fmt(created), **user}
        campaign = self.campaigns[r.randrange(len(self.campaigns))] if len(self.campaigns) else None
        if kind not in NO_MESSAGE_ID:
            ev["messageId"] = hashlib.blake2b(f"{self.seed}:{kind}:{i}".encode(), digest_size=16).hexdigest()
            if campaign:
                ev.update(campaignId=campaign["id"], templateId=campaign["templateId"])
            ev["messageTypeId"] = 10 + r.randrange(4)
            ev["channelId"] = CHANNELS[r.randrange(len(CHANNELS))]["id"]
            ev["contentId"] = 300_000 + r.randrange(1000)
        if kind.endswith("SendSkip"):
            ev["reason"] = r.choice(["DuplicateMarketingMessage", "FrequencyCapped", "MissingEmail", "Unsubscribed"])
        if kind.endswith("Bounce"):
            ev["recipientState"] = r.choice(["HardBounce", "SoftBounce"])
        if family == "email":
            ev["emailSubject"] = r.choice(["Your weekly picks", "We miss you", "Order update"])
        if kind in ("emailOpen", "emailClick", "hostedUnsubscribeClick"):
            ev["ip"] = f"203.0.113.{r.randrange(255)}"
            ev["userAgent"] = r.choice(["Mozilla/5.0 (iPhone)", "Mozilla/5.0 (Windows NT 10.0)"])
        if kind.endswith("Click"):
            ev["url" if family == "email" else "clickedUrl"] = f"https://shop.example.com/p/{r.randrange(500)}"
        if family == "push":
            ev["platform"] = r.choice(["APNS", "GCM"])
            ev["appAlreadyRunning"] = r.random() < 0.3
        if family in ("sms", "whatsApp", "rcs"):
            ev["toPhoneNumber"] = "+1415555" + f"{r.randrange(10000):04d}"
            ev["fromPhoneNumber"] = "+14155550100"
            ev["smsMessage"] = r.choice(["Flash sale today!", "Your code is 1234", "STOP"])
        if family == "inApp":
            ev["messageContext"] = {"saveToInbox": r.random() < 0.5, "trigger": r.choice(["immediate", "event"])}
        if family == "session":
            ev["sessionId"] = f"sess-{i}"
            ev["sessionStartTime"] = fmt(created - timedelta(minutes=r.randrange(1, 30)))
        if family == "subscribe":
            ev["emailListIds"] = [1000 + r.randrange(max(1, self.n_lists))]
            ev["channelIds"] = [1]
            ev["signupSource" if kind == "emailSubscribe" else "unsubSource"] = r.choice(["API", "Import", "EmailLink"])
        if family == "journey":
            ev.update(workflowId=7000 + r.randrange(self.n_journeys), workflowName="Onboarding",
                      exitReason=r.choice(["Completed", "ExitRule", "Removed"]))
        if family == "purchase":
            items = []
            for k in range(r.randint(1, 3)):
                name, category, price = data.product(r.randrange(max(1, len(self.items) or 12)))
                items.append({"id": f"sku-{r.randrange(5000)}", "sku": f"SKU{k}{r.randrange(99999):05d}",
                              "name": name, "price": price, "quantity": r.randint(1, 3), "categories": [category]})
            ev.update(id=f"order-{self.seed}-{i}", total=round(sum(x["price"] * x["quantity"] for x in items), 2),
                      items=items, dataFields={"currency": r.choice(["USD", "EUR", "GBP"]),
                                               "couponCode": r.choice([None, "WELCOME10"])})
            if campaign and r.random() < 0.4:
                ev["campaignId"] = campaign["id"]
        if family == "custom":
            name = CUSTOM_EVENTS[i % len(CUSTOM_EVENTS)]
            ev.update(eventName=name, dataFields=self._custom_fields(name, r))
        return ev

    def _custom_fields(self, name: str, r: Any) -> dict[str, Any]:
        if name == "addToCart":
            pname, _, price = data.product(r.randrange(12))
            return {"productName": pname, "price": price, "quantity": r.randint(1, 4)}
        if name == "pageView":
            return {"url": f"https://shop.example.com/{r.choice(['home', 'sale', 'cart'])}", "referrer": None}
        if name == "appOpen":
            return {"appVersion": r.choice(["3.2.0", "3.3.1"]), "platform": r.choice(["iOS", "Android"])}
        return {"value": r.randrange(100)}

    def _user_ref(self, u: int) -> dict[str, Any]:
        user = self.tables["user"][u]  # cached: events of one user share its profile
        ref: dict[str, Any] = {"userId": user["userId"]}
        if "email" in user:
            ref["email"] = user["email"]
        return ref

    def _campaign(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "iterable-campaign", i)
        created = data.spread(r, self.sb.anchor - data.timedelta(days=500), self.sb.anchor)
        updated = data.spread(r, created, self.sb.anchor)
        return {
            "id": 100_000 + i,
            "createdAt": ms(created),
            "updatedAt": ms(updated),
            "startAt": ms(updated),
            "name": f"{r.choice(['Weekly Digest', 'Abandoned Cart', 'Promo', 'Welcome Series'])} {i}",
            "templateId": 200_000 + i,
            "messageMedium": r.choice(["Email", "Push", "SMS", "InApp"]),
            "createdByUserId": "marketer@example.com",
            "updatedByUserId": "marketer@example.com",
            "campaignState": r.choice(["Finished", "Running", "Draft", "Archived"]),
            "listIds": [1000 + r.randrange(4)],
            "suppressionListIds": [],
            "sendSize": r.randint(100, 50_000),
            "labels": [],
            "type": r.choice(["Blast", "Triggered"]),
        }

    def _template(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "iterable-template", i)
        created = data.spread(r, self.sb.anchor - timedelta(days=400), self.sb.anchor - timedelta(days=1))
        # A quarter were created long ago and edited recently: a created-at filter alone misses them.
        updated = data.spread(r, max(created, self.sb.anchor - timedelta(days=3)), self.sb.anchor) \
            if i % 4 == 0 else data.spread(r, created, self.sb.anchor)
        tpl = {"templateId": 200_000 + i, "name": f"Template {i}", "createdAt": ms(created),
               "updatedAt": ms(updated), "creatorUserId": "marketer@example.com",
               "messageTypeId": 10 + i % 4, "messageMedium": MEDIUMS[i % 4]}
        if i < len(self.campaigns):
            tpl["campaignId"] = 100_000 + i
        return tpl

    def _catalog_item(self, i: int) -> dict[str, Any]:
        name, category, price = data.product(i)
        r = data.rng(self.seed, "iterable-item", i)
        value = {"name": name, "category": category, "price": price, "inStock": r.random() < 0.8}
        return {"catalogName": "products", "itemId": f"sku-{i}",
                "lastModified": data.iso(data.spread(r, self.sb.anchor - timedelta(days=90), self.sb.anchor)),
                "size": len(encode(value)), "value": value}

    # --- listings ---------------------------------------------------------------------------------
    def _page(self, req: Request, key: str, items: list[Any], path: str, *, default_size: int,
              max_size: int, total_key: str | None = None) -> dict[str, Any]:
        page = req.int_arg("page", 1, minimum=1)
        size = req.int_arg("pageSize", default_size, minimum=1, maximum=max_size)
        start = (page - 1) * size
        body: dict[str, Any] = {key: items[start:start + size]}
        if total_key:
            body[total_key] = len(items)
        extra = "".join(f"&{k}={v}" for k, vs in req.query.items() if k not in ("page", "pageSize") for v in vs)
        if start + size < len(items):
            body["nextPageUrl"] = f"{req.base_url}{path}?page={page + 1}&pageSize={size}{extra}"
        if page > 1:
            body["previousPageUrl"] = f"{req.base_url}{path}?page={page - 1}&pageSize={size}{extra}"
        return body

    def list_campaigns(self, req: Request) -> Response:
        page = req.int_arg("page", 1, minimum=1)
        size = req.int_arg("pageSize", 20, minimum=1, maximum=1000)
        total = len(self.campaigns)
        start = (page - 1) * size
        body: dict[str, Any] = {
            "campaigns": [self.campaigns[i] for i in range(start, min(total, start + size))],
            "totalCampaignsCount": total,
        }
        if start + size < total:
            body["nextPageUrl"] = f"{req.base_url}/api/campaigns?page={page + 1}&pageSize={size}"
        if page > 1:
            body["previousPageUrl"] = f"{req.base_url}/api/campaigns?page={page - 1}&pageSize={size}"
        return Response(body)

    def list_templates(self, req: Request) -> Response:
        medium = req.arg("messageMedium")
        kind = req.arg("templateType")
        start = parse_when(req.arg("startDateTime"), "startDateTime") if req.arg("startDateTime") else None
        end = parse_when(req.arg("endDateTime"), "endDateTime") if req.arg("endDateTime") else None
        rows = []
        for t in self.templates:
            created = datetime.fromtimestamp(t["createdAt"] / 1000, data.UTC)
            if (medium and t["messageMedium"] != medium) or (start and created < start) or (end and created >= end):
                continue
            if kind and kind != ("Blast" if "campaignId" in t else "Base"):
                continue
            rows.append({k: v for k, v in t.items() if k != "messageMedium"})
        return Response(self._page(req, "templates", rows, "/api/templates", default_size=20, max_size=1000,
                                   total_key="totalTemplatesCount"))

    def list_lists(self, req: Request) -> Response:
        lists = []
        for i in range(self.n_lists):
            r = data.rng(self.seed, "iterable-list", i)
            kind = ["Standard", "Standard", "Dynamic", "Suppression"][i % 4]
            row = {"id": 1000 + i, "name": f"{r.choice(['Newsletter', 'VIP', 'Leads', 'Do not mail'])} {i}",
                   "description": "seeded list", "createdAt": ms(self.sb.anchor - timedelta(days=300 - i)),
                   "listType": kind}
            if kind == "Suppression":
                row["isGlobalSuppressionEnabled"] = False
            lists.append(row)
        return Response({"lists": lists})

    def list_users(self, req: Request) -> Response:
        list_id = req.int_arg("listId", -1)
        if list_id == -1:
            raise HTTPError(400, "listId is required", "BadParams", params={"listId": None})
        index = list_id - 1000
        if not 0 <= index < self.n_lists:
            raise HTTPError(400, f"List {list_id} does not exist", "BadParams", params={"listId": list_id})
        prefer_user_id = str(req.arg("preferUserId", "false")).lower() == "true"
        users = self.tables["user"]
        limit = min(self.n_users, self.timelines["user"].count(self.sb.data_now()))

        def lines() -> Iterator[bytes]:
            buf: list[str] = []
            for u in range(limit):
                if not self._member(u, index):
                    continue
                row = users[u]
                ident = row.get("userId") if prefer_user_id else row.get("email")
                if ident:
                    buf.append(ident)
                if len(buf) >= 500:
                    yield ("\n".join(buf) + "\n").encode()
                    buf = []
            if buf:
                yield ("\n".join(buf) + "\n").encode()

        return Response(lines(), content_type="text/plain")

    def message_types(self, req: Request) -> Response:
        created = ms(self.sb.anchor - timedelta(days=600))
        rows = [{"id": 10 + i, "name": n, "channelId": c, "createdAt": created, "updatedAt": created + i * 1000,
                 "subscriptionPolicy": p}
                for i, (n, c, p) in enumerate([("Newsletter", 1, "OptOut"), ("Receipts", 2, "OptIn"),
                                               ("Push promos", 3, "OptOut"), ("SMS alerts", 4, "OptIn")])]
        return Response({"messageTypes": rows})

    def list_catalogs(self, req: Request) -> Response:
        names = [{"name": "products"}, {"name": "stores"}]
        return Response(self._page(req, "catalogNames", names, "/api/catalogs", default_size=10, max_size=100,
                                   total_key="totalCatalogsCount"))

    def catalog_items(self, req: Request) -> Response:
        name = req.params["catalogName"]
        if name == "products":
            items = list(self.items)
        elif name == "stores":
            items = [{"catalogName": "stores", "itemId": f"store-{k}", "lastModified": data.iso(self.sb.anchor),
                      "size": 40, "value": {"city": city, "open": True}}
                     for k, city in enumerate(["Paris", "Berlin", "London"])]
        else:
            raise HTTPError(404, f"Catalog {name} not found", "NotFound", params={"catalogName": name})
        path = f"/api/catalogs/{name}/items"
        return Response(self._page(req, "catalogItemsWithProperties", items, path, default_size=10,
                                   max_size=1000, total_key="totalItemsCount"))

    def list_journeys(self, req: Request) -> Response:
        archived = "Archived" in req.args("state")
        rows = []
        for i in range(self.n_journeys):
            r = data.rng(self.seed, "iterable-journey", i)
            created = data.spread(r, self.sb.anchor - timedelta(days=300), self.sb.anchor)
            row = {"id": 7000 + i, "name": ["Onboarding", "Win-back", "Post-purchase", "Browse abandon",
                                             "Birthday", "Sunset"][i], "description": "seeded journey",
                   "createdAt": ms(created), "updatedAt": ms(data.spread(r, created, self.sb.anchor)),
                   "creatorUserId": "marketer@example.com", "enabled": i % 3 != 2, "isArchived": i == 5,
                   "journeyType": "Published", "lifetimeLimit": 1, "simultaneousLimit": 1, "startTileId": 1,
                   "triggerEventNames": [CUSTOM_EVENTS[i % 3]]}
            if archived or not row["isArchived"]:
                rows.append(row)
        return Response(self._page(req, "journeys", rows, "/api/journeys", default_size=10, max_size=50,
                                   total_key="totalJourneysCount"))

    # --- CSV metrics --------------------------------------------------------------------------------
    def _campaign_ids(self, req: Request, required: bool) -> list[int]:
        ids = []
        for raw in req.args("campaignId"):
            for part in raw.split(","):
                try:
                    ids.append(int(part))
                except ValueError:
                    raise HTTPError(400, f"campaignId must be an integer, got {part!r}", "BadParams",
                                    params={"campaignId": part}) from None
        if required and not ids:
            raise HTTPError(400, "campaignId is required", "BadParams", params={"campaignId": None})
        return ids

    def campaign_metrics(self, req: Request) -> Response:
        ids = self._campaign_ids(req, True)
        cols = ["id", "Average Order Value", "Email Delivery Rate", "Emails Delivered", "Emails Sent",
                "Total Email Opens", "Unique Email Opens", "Unique Email Clicks", "Revenue", "Total Purchases",
                "Total Unsubscribes"]
        lines = [",".join(f'"{c}"' if " " in c else c for c in cols)]
        for cid in ids:
            if not 0 <= cid - 100_000 < len(self.campaigns):
                continue
            r = data.rng(self.seed, "iterable-metrics", cid)
            sent = self.campaigns[cid - 100_000]["sendSize"]
            delivered = int(sent * r.uniform(0.9, 0.99))
            opens = int(delivered * r.uniform(0.1, 0.5))
            purchases = r.randrange(0, 50)
            revenue = round(purchases * r.uniform(20, 120), 2)
            aov = round(revenue / purchases, 2) if purchases else ""
            lines.append(",".join(str(v) for v in [cid, aov, round(delivered / sent, 4), delivered, sent,
                                                    int(opens * 1.3), opens, int(opens * 0.2), revenue, purchases,
                                                    r.randrange(0, 40)]))
        return Response("\n".join(lines) + "\n", content_type="text/plain")

    def experiment_metrics(self, req: Request) -> Response:
        ids = self._campaign_ids(req, False)
        experiments = [int(x) for raw in req.args("experimentId") for x in raw.split(",") if x.strip().isdigit()]
        lines = ["experimentId,campaignId,templateId,name,variant,Emails Sent,Unique Email Opens,"
                 "Unique Email Clicks,Revenue,Confidence"]
        for cid in ids:
            k = cid - 100_000
            if not 0 <= k < len(self.campaigns) or k % 3:
                continue  # one campaign in three ran an email experiment
            exp = 500 + k
            if experiments and exp not in experiments:
                continue
            r = data.rng(self.seed, "iterable-experiment", k)
            for v, variant in enumerate(["Control", "Variant A"]):
                sent = r.randint(500, 5000)
                lines.append(f"{exp},{cid},{200_000 + k + v},Subject test {k},{variant},{sent},"
                             f"{int(sent * r.uniform(0.1, 0.4))},{int(sent * r.uniform(0.01, 0.1))},"
                             f"{round(r.uniform(0, 900), 2)},{round(r.uniform(0.5, 0.99), 2)}")
        return Response("\n".join(lines) + "\n", content_type="text/csv")

    # --- exports ------------------------------------------------------------------------------------
    def _data_type(self, raw: str | None) -> str:
        # Iterable spells it emailUnSubscribe; every peer sends emailUnsubscribe: match case-insensitively.
        kind = _CANON.get((raw or "").lower())
        if kind is None:
            raise HTTPError(400, f"Invalid dataTypeName: {raw!r}", "BadParams", params={"dataTypeName": raw})
        return kind

    def _window(self, start: datetime | None, end: datetime | None, rng_name: str | None) -> tuple[datetime, datetime]:
        now = self.sb.data_now()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if start or end:
            return start or self.origin, end or now + timedelta(seconds=1)
        return {"Today": (today, now + timedelta(seconds=1)), "Yesterday": (today - timedelta(days=1), today),
                "BeforeToday": (self.origin, today), "All": (self.origin, now + timedelta(seconds=1))}[rng_name or "Today"]

    def _range(self, kind: str, start: datetime, end: datetime) -> tuple[int, int]:
        tl = self.timelines[kind]
        limit = tl.count(self.sb.data_now())
        if kind == "user":
            limit = min(limit, self.n_users)
        return tl.first_at_or_after(start, limit), tl.first_at_or_after(end, limit)

    def _rows(self, kind: str, lo: int, hi: int, only: list[str], omit: list[str],
              campaign: int | None, chunk: int = 500) -> Iterator[bytes]:
        table = self.tables[kind]
        plain = not only and not omit and campaign is None
        buf: list[bytes] = []
        for i in range(lo, hi):
            if plain:
                buf.append(table.encoded(i))
            else:
                row = table[i]
                if campaign is not None and row.get("campaignId") != campaign:
                    continue
                if only:
                    row = {k: v for k, v in row.items() if k in only}
                if omit:
                    row = {k: v for k, v in row.items() if k not in omit}
                buf.append(encode(row))
            if len(buf) >= chunk:
                yield b"\n".join(buf) + b"\n"
                buf = []
        if buf:
            yield b"\n".join(buf) + b"\n"

    @staticmethod
    def _fields(values: list[str] | str | None) -> list[str]:
        if not values:
            return []
        values = [values] if isinstance(values, str) else values
        return [f.strip() for v in values for f in v.split(",") if f.strip()]

    def export_data(self, req: Request) -> Response:
        kind = self._data_type(req.arg("dataTypeName"))
        rng_name = req.arg("range")
        if rng_name and rng_name not in ("Today", "Yesterday", "BeforeToday", "All"):
            raise HTTPError(400, f"Invalid range: {rng_name!r}", "BadParams", params={"range": rng_name})
        start = parse_when(req.arg("startDateTime"), "startDateTime") if req.arg("startDateTime") else None
        end = parse_when(req.arg("endDateTime"), "endDateTime") if req.arg("endDateTime") else None
        if start and end and end <= start:
            raise HTTPError(400, "endDateTime must be after startDateTime", "BadParams")
        start, end = self._window(start, end, rng_name)
        lo, hi = self._range(kind, start, end)
        if hi - lo > self.max_window_records:
            # What a too-large synchronous export looks like from outside: the gateway gives up.
            raise HTTPError(504, "Request timed out. Try a smaller time range or the async export API.",
                            "GenericError", params={"records": hi - lo})
        campaign = req.int_arg("campaignId", -1)
        rows = self._rows(kind, lo, hi, self._fields(req.args("onlyFields")), self._fields(req.arg("omitFields")),
                          None if campaign == -1 else campaign)
        return Response(rows, content_type=NDJSON)

    # async jobs: created in order, each runs ``job_seconds`` once one of ``max_running_jobs`` slots frees.
    def _schedule(self) -> None:
        with self._jobs_lock:
            self._schedule_locked()

    def _schedule_locked(self) -> None:
        slots: list[float] = []  # finish times of the jobs holding a processing slot
        now = self.sb.now().timestamp()
        for job in self.jobs.values():  # creation order: queued jobs start first come, first served
            if job["cancelled"]:
                job["state"] = "Failed"
                continue
            begin = job["created"]
            if len(slots) >= self.max_running_jobs:
                begin = max(begin, heapq.heappop(slots))
            job["started"] = begin
            job["finished"] = begin + self.job_seconds
            heapq.heappush(slots, job["finished"])
            job["state"] = "Completed" if now >= job["finished"] else "Running" if now >= begin else "Enqueued"

    def export_start(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise HTTPError(400, "body must be an object", "BadJsonBody")
        kind = self._data_type(body.get("dataTypeName"))
        if body.get("outputFormat") != NDJSON:
            raise HTTPError(400, f"the sandbox exports {NDJSON} only, not {body.get('outputFormat')!r}", "BadParams",
                            params={"outputFormat": body.get("outputFormat")})
        start = parse_when(body["startDateTime"], "startDateTime") if body.get("startDateTime") else None
        end = parse_when(body["endDateTime"], "endDateTime") if body.get("endDateTime") else None
        start, end = self._window(start, end, "All")
        lo, hi = self._range(kind, start, end)
        with self._jobs_lock:
            job_id = next(self._job_ids)
            self.jobs[job_id] = {"id": job_id, "kind": kind, "lo": lo, "hi": hi, "created": self.sb.now().timestamp(),
                                 "cancelled": False, "only": self._fields(body.get("onlyFields")),
                                 "omit": self._fields(body.get("omitFields")), "campaign": body.get("campaignId")}
        return Response({"jobId": job_id})

    def _job(self, req: Request) -> dict[str, Any]:
        try:
            job = self.jobs[int(req.params["jobId"])]
        except (KeyError, ValueError):
            raise HTTPError(404, f"Export job {req.params['jobId']} not found", "NotFound") from None
        self._schedule()
        return job

    def _sign(self, job_id: int, n: int, expires: int) -> str:
        return hmac.new(f"{self.seed}".encode(), f"{job_id}:{n}:{expires}".encode(), "sha256").hexdigest()[:20]

    def export_files(self, req: Request) -> Response:
        job = self._job(req)
        total = math.ceil((job["hi"] - job["lo"]) / self.file_records)
        if job["state"] == "Completed":
            ready = total
        elif job["state"] == "Running":  # files appear while the job runs
            done = (self.sb.now().timestamp() - job["started"]) / max(self.job_seconds, 1e-6)
            ready = min(total, int(total * done))
        else:
            ready = 0
        after = req.arg("startAfter")
        first = 0
        if after and after != "None":
            first = next((n + 1 for n in range(ready) if self._file_name(job["id"], n) == after), ready)
        expires = int(self.sb.now().timestamp() + self.file_url_ttl)
        files = [{"file": self._file_name(job["id"], n),
                  "url": f"{req.base_url}/export-files/{job['id']}/{self._file_name(job['id'], n)}"
                         f"?expires={expires}&signature={self._sign(job['id'], n, expires)}"}
                 for n in range(first, min(ready, first + self.files_page))]
        return Response({"jobId": job["id"], "jobState": job["state"], "exportTruncated": False, "files": files})

    @staticmethod
    def _file_name(job_id: int, n: int) -> str:
        return f"export-{job_id}-{n:05d}.json"

    def export_download(self, req: Request) -> Response:
        job = self._job(req)
        name = req.params["file"]
        try:
            n = int(name.rsplit("-", 1)[1].split(".")[0])
            expires = int(req.arg("expires", "0"))
        except (IndexError, ValueError):
            raise HTTPError(404, f"no such file {name}", "NotFound") from None
        if not hmac.compare_digest(req.arg("signature", ""), self._sign(job["id"], n, expires)):
            raise HTTPError(403, "Request signature does not match", "Forbidden")
        if self.sb.now().timestamp() > expires:
            raise HTTPError(403, "Request has expired; list the job's files again for a fresh URL", "Forbidden")
        lo = job["lo"] + n * self.file_records
        hi = min(job["hi"], lo + self.file_records)
        if lo >= job["hi"] or job["state"] not in ("Completed", "Running"):
            raise HTTPError(404, f"no such file {name}", "NotFound")
        return Response(self._rows(job["kind"], lo, hi, job["only"], job["omit"], job["campaign"]),
                        content_type=NDJSON)

    def export_jobs(self, req: Request) -> Response:
        self._schedule()
        wanted = req.arg("jobState")
        jobs = [{"id": j["id"], "dataTypeName": j["kind"], "jobState": j["state"],
                 "scheduledStartTime": data.iso(datetime.fromtimestamp(j.get("started", j["created"]), data.UTC),
                                                millis=True)}
                for j in list(self.jobs.values())]
        return Response({"jobs": [j for j in jobs if not wanted or j["jobState"] == wanted]})

    def export_cancel(self, req: Request) -> Response:
        job = self._job(req)
        job["cancelled"] = True
        return Response({"msg": f"Export job {job['id']} cancelled", "code": "Success"})
