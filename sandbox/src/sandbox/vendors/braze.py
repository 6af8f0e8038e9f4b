"""Braze's REST API: bearer keys, page/offset/Link pagination, per-group hourly limits."""

from __future__ import annotations

from typing import Any

from .. import data
from ..http import HTTPError, Request, Response
from ..ratelimit import Verdict, Window, format_seconds
from .base import Vendor

HOUR, MINUTE = 3600, 60


class Braze(Vendor):
    name = "braze"
    prefix = "/braze"
    # Per-workspace groups from the rate-limit docs; everything else shares the default.
    buckets = {
        "default": (Window(250_000, HOUR),),
        "events_list": (Window(1_000, HOUR),),  # /events, /events/list, /custom_attributes, /purchases/product_list
        "catalogs": (Window(50, MINUTE),),
        "campaign_series": (Window(50_000, MINUTE),),
        "export_ids": (Window(250, MINUTE),),
    }

    def setup(self) -> None:
        self.campaigns = data.LazyTable(self.scale["campaigns"], self._campaign)
        self.route("GET", "/campaigns/list", self.list_campaigns)

    def authenticate(self, req: Request) -> None:
        auth = req.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme != "Bearer" or token != self.sb.api_key:
            # Braze answers a missing, quoted or wrong-instance key the same way.
            raise HTTPError(401, "Invalid API key: " + ("missing" if not auth else "not recognised"))

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

    def _campaign(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "braze-campaign", i)
        edited = data.spread(r, self.sb.anchor - data.timedelta(days=400), self.sb.anchor)
        return {
            "id": data.stable_id(self.seed, "braze-campaign", i, 36, "hex"),
            "last_edited": data.iso(edited, millis=True).replace("Z", "+00:00"),
            "name": f"{r.choice(['Welcome', 'Winback', 'Spring Sale', 'Cart Reminder', 'Newsletter'])} {i}",
            "is_api_campaign": r.random() < 0.2,
            "tags": r.sample(["promo", "onboarding", "retention", "vip"], r.randint(0, 2)),
        }

    def list_campaigns(self, req: Request) -> Response:
        page = req.int_arg("page", 0, minimum=0)
        items = [self.campaigns[i] for i in range(len(self.campaigns))]
        since = req.arg("last_edit.time[gt]")
        if since:
            try:
                cutoff = data.parse_dt(since)
            except ValueError:
                raise HTTPError(400, f"Invalid 'last_edit.time[gt]': {since}") from None
            items = [c for c in items if data.parse_dt(c["last_edited"]) > cutoff]
        if req.arg("sort_direction", "asc") == "desc":
            items.reverse()
        return Response({"message": "success", "campaigns": items[page * 100:(page + 1) * 100]})
