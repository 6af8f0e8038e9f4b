"""Klaviyo's REST API (revision 2026-07-15): JSON:API documents, cursor pages, tiered limits."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import urlencode

from .. import data
from ..http import HTTPError, Request, Response, decode, encode, json_array
from ..ratelimit import Verdict, Window, format_seconds
from .base import Vendor

JSONAPI = "application/vnd.api+json"
REVISIONS = {"2026-07-15", "2026-04-15", "2026-01-15", "2025-10-15", "2025-07-15", "2025-04-15", "2025-01-15",
             "2024-10-15"}
RETIRED = {"2023-02-22", "2023-06-15", "2023-07-15", "2023-09-15", "2023-10-15", "2024-02-15"}

# Klaviyo's tiers (burst per second, steady per minute), as the spec's x-klaviyo-ratelimit gives them.
TIERS = {
    "XS": (Window(1, 1), Window(15, 60)),
    "S": (Window(3, 1), Window(60, 60)),
    "M": (Window(10, 1), Window(150, 60)),
    "L": (Window(75, 1), Window(750, 60)),
    "XL": (Window(350, 1), Window(3500, 60)),
}


def cursor_for(offset: int) -> str:
    return base64.urlsafe_b64encode(encode({"o": offset})).decode().rstrip("=")


def offset_from(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"])
    except Exception:
        raise HTTPError(400, f"Invalid page cursor: {cursor!r}", "invalid", parameter="page[cursor]") from None


class Klaviyo(Vendor):
    name = "klaviyo"
    prefix = "/klaviyo"
    buckets = TIERS
    per_route_buckets = True  # each endpoint has its own budget at its tier

    def setup(self) -> None:
        self.profiles = data.LazyTable(self.scale["profiles"], self._profile)
        self.route("GET", "/api/profiles", self.list_profiles, bucket="L")

    # --- auth, errors, limits -------------------------------------------------------------------
    def authenticate(self, req: Request) -> None:
        auth = req.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if (scheme == "Klaviyo-API-Key" and token == self.sb.api_key) or (scheme == "Bearer" and token in getattr(self, "tokens", {self.sb.api_key})):
            pass
        elif not auth:
            raise HTTPError(401, "Authentication credentials were not provided.", "not_authenticated")
        else:
            raise HTTPError(401, "Incorrect authentication credentials.", "not_authenticated")
        revision = req.headers.get("revision")
        if not revision:
            raise HTTPError(400, "You must specify a `revision` header in your request.",
                            "missing_revision", parameter="revision")
        base = revision.split(".")[0]
        if base in RETIRED:
            raise HTTPError(410, f"Revision {revision} has been retired. Please upgrade to a newer revision.",
                            "revision_retired", parameter="revision")
        if base not in REVISIONS:
            raise HTTPError(400, f"Invalid revision: {revision}", "invalid_revision", parameter="revision")

    def error(self, exc: HTTPError) -> Response:
        titles = {400: "Invalid input.", 401: "Authentication credentials were not provided.",
                  403: "You do not have permission to perform this action.", 404: "Not found.",
                  405: "Method not allowed.", 410: "Gone.", 429: "Request was throttled.",
                  500: "A server error occurred.", 502: "Bad gateway.", 503: "Service unavailable."}
        err: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "status": exc.status,
            "code": exc.code or ("error" if exc.status < 500 else "server_error"),
            "title": titles.get(exc.status, "Error."),
            "detail": exc.message,
            "source": {"parameter": exc.extra["parameter"]} if "parameter" in exc.extra else {"pointer": "/data/"},
        }
        return Response({"errors": [err]}, exc.status, content_type=JSONAPI)

    def limit_headers(self, verdict: Verdict) -> dict[str, str]:
        # Klaviyo's headers describe the steady (per-minute) window; never present on a 429.
        return {"RateLimit-Limit": str(verdict.limit), "RateLimit-Remaining": str(verdict.remaining),
                "RateLimit-Reset": format_seconds(verdict.reset, self.sb.limiter.scale)}

    def too_many(self, verdict: Verdict) -> Response:
        wait = format_seconds(verdict.reset, self.sb.limiter.scale)
        resp = self.error(HTTPError(429, f"Request was throttled. Expected available in {wait} seconds.",
                                    "throttled"))
        resp.headers["Retry-After"] = wait
        return resp

    # --- documents ----------------------------------------------------------------------------
    def page(self, req: Request, table: data.LazyTable | list[Any], *, default_size: int, max_size: int,
             included: list[Any] | None = None) -> Response:
        """A JSON:API collection page with cursor ``links.next`` that carries every other parameter."""
        size = req.int_arg("page[size]", default_size, minimum=1, maximum=max_size)
        offset = offset_from(req.arg("page[cursor]"))
        end = min(len(table), offset + size)
        if isinstance(table, data.LazyTable):
            items = json_array(table.encoded(i) for i in range(offset, end))
        else:
            items = json_array(encode(x) for x in table[offset:end])
        base = f"{req.base_url}{req.route}/"
        keep = [(k, v) for k, vs in req.query.items() if k != "page[cursor]" for v in vs]
        links = {"self": base + ("?" + urlencode(keep) if keep else "")}
        if end < len(table):
            links["next"] = base + "?" + urlencode([*keep, ("page[cursor]", cursor_for(end))])
        if offset > 0:
            links["prev"] = base + "?" + urlencode([*keep, ("page[cursor]", cursor_for(max(0, offset - size)))])
        body = b'{"data":' + items + b',"links":' + encode(links)
        if included is not None:
            body += b',"included":' + encode(included)
        return Response(body + b"}", content_type=JSONAPI)

    def _profile(self, i: int) -> dict[str, Any]:
        p = data.person(self.seed, i, end=self.sb.anchor, kind="klaviyo-profile")
        pid = data.stable_id(self.seed, "klaviyo-profile", i)
        return {
            "type": "profile",
            "id": pid,
            "attributes": {
                "email": p.email,
                "phone_number": p.phone_e164,
                "external_id": p.external_id,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "organization": p.company,
                "locale": p.place.locale,
                "title": p.title,
                "image": None,
                "created": data.iso(p.created, offset_minutes=p.tz_offset),
                "updated": data.iso(p.updated, offset_minutes=p.tz_offset),
                "last_event_date": data.iso(p.updated),
                "location": {"address1": None, "address2": None, "city": p.place.city,
                             "country": p.place.country_name,
                             "region": p.place.region, "zip": p.place.zip, "timezone": p.place.timezone,
                             "ip": None},
                "properties": {"lifetime_value": p.lifetime_value, "total_orders": p.orders,
                               "last_order_date": data.iso(p.last_order) if p.last_order else None,
                               "preferred_channel": "sms" if p.phone_e164 and not p.email else "email"},
            },
            "relationships": {},
            "links": {"self": f"https://a.klaviyo.com/api/profiles/{pid}/"},
        }

    # --- endpoints ------------------------------------------------------------------------------
    def list_profiles(self, req: Request) -> Response:
        return self.page(req, self.profiles, default_size=20, max_size=100)
