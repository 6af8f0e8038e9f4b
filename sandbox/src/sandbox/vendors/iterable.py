"""Iterable's API: ``Api-Key`` header, page/pageSize listings, per-endpoint limits."""

from __future__ import annotations

from typing import Any

from .. import data
from ..http import HTTPError, Request, Response
from ..ratelimit import Verdict, Window
from .base import Vendor

MINUTE = 60


class Iterable(Vendor):
    name = "iterable"
    prefix = "/iterable"
    per_route_buckets = True  # Iterable's limits are per endpoint, per project
    buckets = {
        "default": (Window(100, 1),),
        "export": (Window(4, MINUTE),),
        "list_users": (Window(5, MINUTE),),
        "metrics": (Window(10, MINUTE),),
    }

    def setup(self) -> None:
        self.campaigns = data.LazyTable(self.scale["campaigns"], self._campaign)
        self.route("GET", "/api/campaigns", self.list_campaigns)

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
        return Response({"msg": exc.message, "code": code, "params": exc.extra.get("params")}, exc.status)

    def too_many(self, verdict: Verdict) -> Response:
        # Iterable documents no rate-limit headers; clients back off on the code alone.
        return self.error(HTTPError(429, "Rate limit exceeded", "RateLimitExceeded"))

    def _campaign(self, i: int) -> dict[str, Any]:
        r = data.rng(self.seed, "iterable-campaign", i)
        created = data.spread(r, self.sb.anchor - data.timedelta(days=500), self.sb.anchor)
        updated = data.spread(r, created, self.sb.anchor)
        ms = lambda dt: int(dt.timestamp() * 1000)  # noqa: E731 - Iterable sends epoch milliseconds
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
