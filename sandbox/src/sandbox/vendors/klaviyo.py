"""Klaviyo's REST API (revision 2026-07-15): JSON:API documents, cursor pages, tiered limits.

Every read endpoint ``tap-klaviyo`` uses is served here, with the spec's ``page[size]`` limits,
its ``x-klaviyo-ratelimit`` tier per route (``ROUTES``), the filter grammar (``equals``, ``any``,
``greater-than``, ``greater-or-equal``, ``less-than``, ``less-or-equal``, ``has`` and ``and(...)``;
datetimes unquoted, strings quoted), ``sort``, ``include`` with ``included[]``, sparse fieldsets
and cursor ``links.next`` that carry every other parameter.

Seeded data has real relationships: events point at real profiles and metrics, list and segment
members at real profiles. Events are laid out at a fixed rate in time (index order is time order),
so a datetime window is an index range and a million events cost nothing until a page asks.
A few events are dated years ahead (clock-skewed clients), and ``advance()`` reveals the events,
new profiles and profile updates that happen after the anchor.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import re
import uuid
from datetime import datetime, timedelta
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

# route → (tier, scopes, page[size] default, max). Tier and scopes are the spec's
# x-klaviyo-ratelimit / x-klaviyo-scopes (test_klaviyo_routes checks this table against it);
# a ``None`` page size means the endpoint takes no page[size] (metrics: 200 a page, fixed).
ROUTES: dict[tuple[str, str], tuple[str, tuple[str, ...], int | None, int | None]] = {
    ("GET", "/api/profiles"): ("L", ("profiles:read",), 20, 100),
    ("GET", "/api/events"): ("XL", ("events:read",), 200, 1000),
    ("GET", "/api/metrics"): ("M", ("metrics:read",), None, None),
    ("POST", "/api/metric-aggregates"): ("S", ("metrics:read",), None, None),
    ("GET", "/api/lists"): ("L", ("lists:read",), 10, 10),
    ("GET", "/api/lists/{id}/profiles"): ("L", ("lists:read", "profiles:read"), 20, 100),
    ("GET", "/api/segments"): ("L", ("segments:read",), 10, 10),
    ("GET", "/api/segments/{id}/profiles"): ("L", ("profiles:read", "segments:read"), 20, 100),
    ("GET", "/api/campaigns"): ("M", ("campaigns:read",), 100, 100),
    ("GET", "/api/campaigns/{id}/campaign-messages"): ("M", ("campaigns:read",), None, None),
    ("GET", "/api/flows"): ("S", ("flows:read",), 50, 50),
    ("GET", "/api/flows/{id}/flow-actions"): ("S", ("flows:read",), 50, 50),
    ("GET", "/api/flow-actions/{id}/flow-messages"): ("S", ("flows:read",), 50, 50),
    ("GET", "/api/templates"): ("L", ("templates:read",), 10, 10),
    ("GET", "/api/tags"): ("S", ("tags:read",), 50, 50),
    ("GET", "/api/tag-groups"): ("S", ("tags:read",), 25, 25),
    ("GET", "/api/catalog-items"): ("XL", ("catalogs:read",), 100, 100),
    ("GET", "/api/catalog-variants"): ("XL", ("catalogs:read",), 100, 100),
    ("GET", "/api/catalog-categories"): ("XL", ("catalogs:read",), 100, 100),
    ("GET", "/api/coupons"): ("L", ("coupons:read",), 100, 100),
    ("GET", "/api/coupon-codes"): ("XL", ("coupon-codes:read",), 100, 100),
}

# Keys with fewer scopes than the account key, for 403 tests: "<api_key>-<name>".
LIMITED_KEYS = {"profiles-only": {"profiles:read"}}

METRICS = ["Placed Order", "Ordered Product", "Started Checkout", "Added to Cart", "Viewed Product",
           "Subscribed to List", "Received Email", "Opened Email", "Clicked Email", "Active on Site",
           "Received Text Message", "Fulfilled Order"]
# How often each metric occurs (events are mostly views, opens and receipts, as in real accounts).
WEIGHTS = [4, 6, 5, 8, 20, 2, 20, 14, 6, 10, 3, 2]
_METRIC_OF = [m for m, w in enumerate(WEIGHTS) for _ in range(w)]
EVENT_SPAN = timedelta(days=365)
NEW_PROFILE_EVERY = timedelta(hours=1)  # after the anchor, a sign-up an hour
UPDATE_WINDOW = timedelta(days=7)  # one profile in ten changes during the week after the anchor
FUTURE_EVENT_DAYS = (400, 900, 3000)  # events from clients whose clocks are years ahead
CHANNELS = ("email", "sms", "mobile_push")
COORDS = {"New York": (40.7128, -74.006), "San Francisco": (37.7749, -122.4194), "Paris": (48.8566, 2.3522),
          "Lyon": (45.764, 4.8357), "London": (51.5072, -0.1276), "Berlin": (52.52, 13.405),
          "München": (48.1351, 11.582), "Madrid": (40.4168, -3.7038), "Bengaluru": (12.9716, 77.5946)}


def cursor_for(offset: int) -> str:
    return base64.urlsafe_b64encode(encode({"o": offset})).decode().rstrip("=")


def offset_from(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"])
    except Exception:
        raise HTTPError(400, f"Invalid page cursor: {cursor!r}", "invalid", parameter="page[cursor]") from None


def _h(seed: int, kind: str, i: int) -> int:
    """A cheap deterministic 64-bit hash (sort keys for 100,000 profiles without building them)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{kind}:{i}".encode(), digest_size=8).digest(), "big")


def _iso(dt: datetime) -> str:
    return data.iso(dt).replace("Z", "+00:00")


# --- filters ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<str>'[^']*'|"[^"]*")|(?P<punct>[(),\[\]])|(?P<word>[^\s(),\[\]'"]+))""")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
OPERATORS = {"equals", "any", "greater-than", "greater-or-equal", "less-than", "less-or-equal", "has",
             "contains", "starts-with", "ends-with"}


class Term:
    """One ``op(field,value)`` condition."""

    def __init__(self, op: str, field: str, value: Any, quoted: bool) -> None:
        self.op, self.field, self.value, self.quoted = op, field, value, quoted

    def __repr__(self) -> str:
        return f"{self.op}({self.field},{self.value!r})"


def _bad_filter(msg: str) -> HTTPError:
    return HTTPError(400, f"Invalid filter provided: {msg}", "invalid", parameter="filter")


def parse_filter(text: str | None) -> list[Term]:
    """Klaviyo's filter grammar: ``and(...)`` or a comma list of ``op(field[,value])`` terms."""
    if not text:
        return []
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise _bad_filter(f"unexpected character at {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup or "word"
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    terms: list[Term] = []
    i = 0

    def expect(value: str) -> None:
        nonlocal i
        if i >= len(tokens) or tokens[i][1] != value:
            raise _bad_filter(f"expected {value!r}")
        i += 1

    def value() -> tuple[Any, bool]:
        nonlocal i
        if i >= len(tokens):
            raise _bad_filter("missing value")
        kind, tok = tokens[i]
        if tok == "[":
            i += 1
            items = []
            while i < len(tokens) and tokens[i][1] != "]":
                v, _ = value()
                items.append(v)
                if i < len(tokens) and tokens[i][1] == ",":
                    i += 1
            expect("]")
            return items, True
        i += 1
        if kind == "str":
            return tok[1:-1], True
        if tok in ("true", "false"):
            return tok == "true", False
        if tok == "null":
            return None, False
        if _DATETIME.match(tok):
            try:
                return data.parse_dt(tok), False
            except ValueError:
                raise _bad_filter(f"invalid datetime {tok!r}") from None
        try:
            return (float(tok) if "." in tok else int(tok)), False
        except ValueError:
            raise _bad_filter(f"strings must be quoted: {tok!r}") from None

    def term() -> None:
        nonlocal i
        kind, op = tokens[i]
        i += 1
        if op == "and":
            expect("(")
            while True:
                term()
                if i < len(tokens) and tokens[i][1] == ",":
                    i += 1
                    continue
                break
            expect(")")
            return
        if kind != "word" or op not in OPERATORS:
            raise _bad_filter(f"unknown operator {op!r}")
        expect("(")
        field = tokens[i][1]
        i += 1
        if op == "has":
            expect(")")
            terms.append(Term(op, field, None, False))
            return
        expect(",")
        v, quoted = value()
        expect(")")
        terms.append(Term(op, field, v, quoted))

    while i < len(tokens):
        term()
        if i < len(tokens):
            expect(",")
    return terms


def _cmp_value(v: Any) -> Any:
    if isinstance(v, str) and _DATETIME.match(v):
        try:
            return data.parse_dt(v)
        except ValueError:
            return v
    return v


def _match(term: Term, actual: Any) -> bool:
    op, want = term.op, term.value
    if op == "has":
        return actual is not None
    if op == "any":
        return actual in (want if isinstance(want, list) else [want])
    if op == "equals":
        if isinstance(want, list):
            return actual in want
        return _cmp_value(actual) == want if isinstance(want, datetime) else actual == want
    if op in ("contains", "starts-with", "ends-with"):
        s = str(actual or "")
        return {"contains": str(want) in s, "starts-with": s.startswith(str(want)),
                "ends-with": s.endswith(str(want))}[op]
    a = _cmp_value(actual)
    if a is None:
        return False
    try:
        return {"greater-than": a > want, "greater-or-equal": a >= want, "less-than": a < want,
                "less-or-equal": a <= want}[op]
    except TypeError:
        raise _bad_filter(f"{term.field} cannot be compared with {want!r}") from None


def field_of(res: dict[str, Any], name: str) -> Any:
    """A filter/sort field of a JSON:API resource: ``id``, an attribute path or a relationship id."""
    if name in ("id", "ids"):
        return res["id"]
    attrs = res.get("attributes", {})
    if name in attrs:
        return attrs[name]
    rel_name = name[:-3] if name.endswith((".id", "_id")) else None
    if rel_name and rel_name in res.get("relationships", {}):
        rel = res["relationships"][rel_name].get("data")
        return rel.get("id") if isinstance(rel, dict) else None
    node: Any = attrs
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


class View:
    """A sized, indexable page source: ``encoded(i)`` gives the JSON bytes of item ``i``."""

    def __init__(self, items: Any, encoded: Any = None) -> None:
        self.items = items
        self._encoded = encoded

    def __len__(self) -> int:
        return len(self.items)

    def get(self, i: int) -> Any:
        return self.items[i]

    def encoded(self, i: int) -> bytes:
        return self._encoded(self.items[i]) if self._encoded else encode(self.items[i])


class Klaviyo(Vendor):
    name = "klaviyo"
    prefix = "/klaviyo"
    buckets = TIERS
    per_route_buckets = True  # each endpoint has its own budget at its tier

    def setup(self) -> None:
        self.tokens = {self.sb.api_key}
        self.n_profiles = self.scale["profiles"]
        self.n_events = self.scale["events"]
        self.event_start = self.sb.anchor - EVENT_SPAN
        self.event_step = EVENT_SPAN.total_seconds() / max(1, self.n_events)
        self.profiles = data.LazyTable(self.n_profiles + 100_000, self._profile)
        self.events = data.LazyTable(10 * self.n_events + 1000, self._make_event)
        self._sorted_cache: dict[Any, Any] = {}
        self._build_small()
        for (method, path), (tier, _scopes, _d, _m) in ROUTES.items():
            handler = getattr(self, "h_" + re.sub(r"\W+", "_", path.removeprefix("/api/")).strip("_"))
            self.route(method, path, handler, bucket=tier)
        self.route("POST", "/oauth/token", self.oauth_token, auth=False)

    def advance(self, seconds: float) -> None:
        # Updated profiles and newly visible events must be rebuilt, not served from cache.
        self.profiles.invalidate()
        self._sorted_cache.clear()

    # --- auth, errors, limits -------------------------------------------------------------------
    def oauth_token(self, req: Request) -> Response:
        """OAuth refresh (``grant_type=refresh_token``, client credentials in Basic auth).

        The refresh token is ``<api_key>-refresh``; each grant issues a new access token.
        """
        form = req.form
        basic = req.headers.get("Authorization") or ""
        if not basic.startswith("Basic "):
            return Response({"error": "invalid_client"}, 401)
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [self.sb.api_key + "-refresh"]:
            return Response({"error": "invalid_grant"}, 400)
        token = "kat-" + uuid.uuid4().hex
        self.tokens.add(token)
        return Response({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                         "refresh_token": self.sb.api_key + "-refresh", "scope": "profiles:read events:read"})

    def authenticate(self, req: Request) -> None:
        auth = req.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        scopes: set[str] | None = None
        limited = token.removeprefix(self.sb.api_key + "-") if token.startswith(self.sb.api_key + "-") else None
        if limited in LIMITED_KEYS and scheme == "Klaviyo-API-Key":
            scopes = LIMITED_KEYS[limited]
        elif (scheme == "Klaviyo-API-Key" and token == self.sb.api_key) or (scheme == "Bearer" and token in self.tokens):
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
        if scopes is not None:
            needed = ROUTES.get((req.method, req.route), ("", (), None, None))[1]
            missing = [s for s in needed if s not in scopes]
            if missing:
                raise HTTPError(403, f"Your API key is missing required scopes: {', '.join(missing)}",
                                "permission_denied")

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
    def page(self, req: Request, table: Any, *, default_size: int | None = None, max_size: int | None = None,
             included: Any = None) -> Response:
        """A JSON:API collection page with cursor ``links.next`` that carries every other parameter.

        ``included`` may be a list, or a function of the page's items that returns one.
        Page sizes default to the route's spec limits (``ROUTES``).
        """
        _tier, _scopes, spec_default, spec_max = ROUTES.get((req.method, req.route), ("", (), None, None))
        default_size = default_size or spec_default or 200
        max_size = max_size or spec_max or default_size
        size = req.int_arg("page[size]", default_size, minimum=1, maximum=max_size) if spec_max or max_size != default_size \
            else default_size
        offset = offset_from(req.arg("page[cursor]"))
        end = min(len(table), offset + size)
        items = json_array(table.encoded(i) for i in range(offset, end))
        base = f"{req.base_url}{req.path.rstrip('/')}/"
        keep = [(k, v) for k, vs in req.query.items() if k != "page[cursor]" for v in vs]
        links = {"self": base + ("?" + urlencode(keep) if keep else "")}
        if end < len(table):
            links["next"] = base + "?" + urlencode([*keep, ("page[cursor]", cursor_for(end))])
        if offset > 0:
            links["prev"] = base + "?" + urlencode([*keep, ("page[cursor]", cursor_for(max(0, offset - size)))])
        body = b'{"data":' + items + b',"links":' + encode(links)
        if callable(included):
            getter = table.get if hasattr(table, "get") else table.__getitem__
            included = included([getter(i) for i in range(offset, end)])
        if included is not None:
            body += b',"included":' + encode(included)
        return Response(body + b"}", content_type=JSONAPI)

    def _res(self, typ: str, rid: str, attrs: dict[str, Any], rels: dict[str, Any] | None = None) -> dict[str, Any]:
        path = {"catalog-item": "catalog-items", "catalog-variant": "catalog-variants",
                "catalog-category": "catalog-categories", "coupon-code": "coupon-codes",
                "tag-group": "tag-groups", "flow-action": "flow-actions", "flow-message": "flow-messages",
                "campaign-message": "campaign-messages"}.get(typ, typ + "s")
        out: dict[str, Any] = {"type": typ, "id": rid, "attributes": attrs}
        if rels is not None:
            # A to-one relationship without a target has only links (the spec's data is not nullable).
            out["relationships"] = {name: ({"data": d} if d is not None else {}) | {"links": {
                "self": f"https://a.klaviyo.com/api/{path}/{rid}/relationships/{name}/",
                "related": f"https://a.klaviyo.com/api/{path}/{rid}/{name}/"}} for name, d in rels.items()}
        out["links"] = {"self": f"https://a.klaviyo.com/api/{path}/{rid}/"}
        return out

    def collection(self, req: Request, items: list[dict[str, Any]], *, allowed: dict[str, set[str]] | None = None,
                   required: str | None = None, included: Any = None, handled: frozenset[str] = frozenset()) -> Response:
        """Filter (``allowed``: field → operators), sort and page a list of resources."""
        terms = parse_filter(req.arg("filter"))
        if required and not any(t.field == required for t in terms):
            raise HTTPError(400, f"A filter on {required} is required for this endpoint.", "invalid",
                            parameter="filter")
        for t in terms:
            ops = (allowed or {}).get(t.field)
            if ops is None or t.op not in ops:
                raise _bad_filter(f"'{t.op}' is not a valid operator for field '{t.field}'")
            if isinstance(t.value, str) and t.quoted and _DATETIME.match(t.value):
                raise _bad_filter(f"datetimes must not be quoted: {t.value!r}")
        terms = [t for t in terms if t.field not in handled]
        out = [r for r in items if all(_match(t, field_of(r, t.field)) for t in terms)]
        sort = req.arg("sort")
        if sort:
            key = sort.lstrip("-")
            out.sort(key=lambda r: (field_of(r, key) is None, _cmp_value(field_of(r, key)) or ""),
                     reverse=sort.startswith("-"))
        return self.page(req, View(self._sparse(req, out)), included=included)

    def _sparse(self, req: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Apply ``fields[type]=a,b`` sparse fieldsets."""
        wanted = {k[7:-1]: set(v[0].split(",")) for k, v in req.query.items() if k.startswith("fields[")}
        if not wanted:
            return items
        out = []
        for r in items:
            keep = wanted.get(r["type"])
            out.append({**r, "attributes": {k: v for k, v in r["attributes"].items() if k in keep}} if keep else r)
        return out

    # --- seeded small objects -------------------------------------------------------------------
    def _when(self, kind: str, i: int, days: int = 365) -> datetime:
        r = data.rng(self.seed, "klaviyo-" + kind, i)
        return data.spread(r, self.sb.anchor - timedelta(days=days), self.sb.anchor - timedelta(hours=1))

    def _build_small(self) -> None:
        sid = lambda kind, i: data.stable_id(self.seed, "klaviyo-" + kind, i, length=6, alphabet="ABCDEFGHJKMNPQRSTUVWXYZ")  # noqa: E731
        anchor = self.sb.anchor
        self.metrics = []
        for i, name in enumerate(METRICS):
            created = self._when("metric", i, 900)
            self.metrics.append(self._res("metric", sid("metric", i), {
                "name": name, "created": _iso(created), "updated": _iso(created + timedelta(days=3)),
                "integration": {"id": "0rG4eQ", "name": "Shopify" if i < 5 else "Klaviyo",
                                "category": "eCommerce" if i < 5 else "Internal"}}, {}))
        n_lists = self.scale.get("lists", 4)
        self.lists, self.segments = [], []
        for i in range(n_lists):
            c = self._when("list", i, 700)
            self.lists.append(self._res("list", sid("list", i), {
                "name": ["Newsletter", "VIP Customers", "Winback", "SMS Subscribers", "Product Launch",
                         "Blog Readers", "Événements", "Partners", "Beta Testers", "Wholesale", "Press",
                         "Staff"][i % 12] + (f" {i // 12}" if i >= 12 else ""),
                "created": _iso(c), "updated": _iso(c + timedelta(days=i + 1)),
                "opt_in_process": "double_opt_in" if i % 3 == 0 else "single_opt_in"}, {}))
            c = self._when("segment", i, 500)
            self.segments.append(self._res("segment", sid("segment", i), {
                "name": ["Engaged 30 days", "Repeat Buyers", "At Risk", "High LTV", "Lapsed"][i % 5]
                + (f" {i // 5}" if i >= 5 else ""),
                "definition": {"condition_groups": []}, "created": _iso(c), "updated": _iso(c + timedelta(days=2)),
                "is_active": i % 7 != 6, "is_processing": False, "is_starred": i == 0}, {}))
        self.tag_groups = [self._res("tag-group", sid("tag-group", i), {
            "name": n, "exclusive": i == 1, "default": i == 0}, {}) for i, n in enumerate(["Default", "Season"])]
        self.tags = [self._res("tag", sid("tag", i), {"name": n}, {
            "tag-group": {"type": "tag-group", "id": self.tag_groups[i % 2]["id"]}})
            for i, n in enumerate(["welcome", "promo", "black-friday", "summer", "transactional", "vip"])]
        self.templates = []
        for i in range(max(3, self.scale.get("campaigns", 8) // 2)):
            c = self._when("template", i, 400)
            self.templates.append(self._res("template", sid("template", i), {
                "name": f"Template {i + 1}", "editor_type": ["CODE", "SYSTEM_DRAGGABLE"][i % 2],
                "html": f"<html><body><h1>Hello {{{{ first_name }}}}</h1><p>Template {i + 1}</p></body></html>",
                "text": f"Hello, template {i + 1}", "amp": None,
                "created": _iso(c), "updated": _iso(c + timedelta(days=i % 9, hours=i))}))
        self.campaigns, self.campaign_messages = [], {}
        statuses = ["Sent", "Draft", "Scheduled", "Sent", "Cancelled", "Sent"]
        for i in range(self.scale.get("campaigns", 8)):
            channel = CHANNELS[i % 3]
            c = self._when("campaign", i, 300)
            updated = c + timedelta(days=(i * 7) % 20, minutes=i)
            cid = data.stable_id(self.seed, "klaviyo-campaign", i)
            mid = data.stable_id(self.seed, "klaviyo-campaign-message", i)
            self.campaigns.append(self._res("campaign", cid, {
                "name": f"{['Spring', 'Summer', 'Autumn', 'Winter'][i % 4]} {channel} campaign {i + 1}",
                "status": statuses[i % len(statuses)], "archived": i % 5 == 4,
                "audiences": {"included": [self.lists[i % n_lists]["id"]], "excluded": []},
                "send_options": {"use_smart_sending": i % 2 == 0},
                "tracking_options": {"add_tracking_params": False, "custom_tracking_params": []}
                | ({"is_tracking_clicks": True, "is_tracking_opens": i % 4 != 0} if channel == "email" else {}),
                "send_strategy": {"method": "static", "datetime": _iso(updated + timedelta(days=1))},
                "created_at": _iso(c), "scheduled_at": _iso(updated), "updated_at": _iso(updated),
                "send_time": _iso(updated + timedelta(days=1)) if statuses[i % len(statuses)] == "Sent" else None,
            }, {"campaign-messages": [{"type": "campaign-message", "id": mid}],
                "tags": [{"type": "tag", "id": self.tags[i % len(self.tags)]["id"]}]}))
            self.campaign_messages[cid] = [self._res("campaign-message", mid, {
                "send_times": [{"datetime": _iso(updated + timedelta(days=1)), "is_local": False}],
                "created_at": _iso(c), "updated_at": _iso(updated)},
                {"campaign": {"type": "campaign", "id": cid},
                 "template": {"type": "template", "id": self.templates[i % len(self.templates)]["id"]},
                 "image": None})]
        self.flows, self.flow_actions, self.flow_messages = [], {}, {}
        triggers = ["Added to List", "Metric", "Metric", "Date Based", "Price Drop"]
        for i in range(max(3, self.scale.get("campaigns", 8) // 3)):
            c = self._when("flow", i, 600)
            fid = sid("flow", i)
            actions = []
            for j in range(3):
                aid = str(_h(self.seed, "klaviyo-flow-action", i * 10 + j) % 10**8)
                actions.append(self._res("flow-action", aid, {
                    "created": _iso(c + timedelta(hours=j)), "updated": _iso(c + timedelta(days=j + 1))},
                    {"flow": {"type": "flow", "id": fid}}))
                if j != 1:  # the middle action is a time delay: no message
                    mid = str(_h(self.seed, "klaviyo-flow-message", i * 10 + j) % 10**8)
                    self.flow_messages[aid] = [self._res("flow-message", mid, {
                        "name": f"Flow {i + 1} message {j + 1}", "channel": ["email", "sms"][j % 2],
                        "created": _iso(c + timedelta(hours=j)), "updated": _iso(c + timedelta(days=j + 2))}, {"flow-action": {"type": "flow-action", "id": aid}})]
                else:
                    self.flow_messages[aid] = []
            self.flow_actions[fid] = actions
            self.flows.append(self._res("flow", fid, {
                "name": ["Welcome Series", "Abandoned Cart", "Browse Abandonment", "Birthday", "Price Drop"][i % 5]
                + (f" {i // 5}" if i >= 5 else ""),
                "status": ["live", "draft", "manual"][i % 3], "archived": False,
                "created": _iso(c), "updated": _iso(c + timedelta(days=10 + i)), "trigger_type": triggers[i % 5]},
                {"flow-actions": [{"type": "flow-action", "id": a["id"]} for a in actions],
                 "tags": [{"type": "tag", "id": self.tags[0]["id"]}]}))
        self.categories, self.items, self.variants = [], [], []
        for i, cat in enumerate(sorted({data.product(k)[1] for k in range(12)})):
            self.categories.append(self._res("catalog-category", f"$custom:::$default:::{cat.upper()}", {
                "external_id": cat.upper(), "name": cat, "updated": _iso(self._when("category", i, 500))}))
        for i in range(self.scale.get("catalog_items", 12)):
            name, cat, price = data.product(i)
            c = self._when("item", i, 500)
            iid = f"$custom:::$default:::SKU-{i:05d}"
            self.items.append(self._res("catalog-item", iid, {
                "external_id": f"SKU-{i:05d}", "title": name, "description": f"{name} ({cat})", "price": price,
                "url": f"https://shop.example.com/p/{i}", "image_full_url": f"https://img.example.com/{i}.jpg",
                "image_thumbnail_url": f"https://img.example.com/{i}_t.jpg", "images": [],
                "custom_metadata": {"category": cat}, "published": i % 11 != 10,
                "created": _iso(c), "updated": _iso(c + timedelta(days=i % 30))}))
            for v, size in enumerate(("S", "M")):
                self.variants.append(self._res("catalog-variant", f"$custom:::$default:::SKU-{i:05d}-{size}", {
                    "external_id": f"SKU-{i:05d}-{size}", "title": f"{name} {size}", "description": None,
                    "sku": f"SKU-{i:05d}-{size}", "inventory_policy": 0, "inventory_quantity": (i * 7 + v) % 50,
                    "price": price, "url": f"https://shop.example.com/p/{i}?size={size}",
                    "image_full_url": None, "image_thumbnail_url": None, "images": [], "custom_metadata": None,
                    "published": True, "created": _iso(c), "updated": _iso(c + timedelta(days=v))},
                    {"item": {"type": "catalog-item", "id": iid}}))
        self.coupons, self.coupon_codes = [], []
        for i, code in enumerate(["WELCOME10", "VIP20", "FREESHIP"]):
            self.coupons.append(self._res("coupon", code, {
                "external_id": code, "description": f"{code} for the sandbox", "monitor_configuration": None}))
            for j in range(5):
                unique = data.stable_id(self.seed, "klaviyo-coupon-code", i * 10 + j, length=12)
                self.coupon_codes.append(self._res("coupon-code", f"{code}-{unique}", {
                    "unique_code": unique, "expires_at": _iso(anchor + timedelta(days=30 * (j + 1))),
                    "status": ["UNASSIGNED", "ASSIGNED_TO_PROFILE", "USED"][j % 3]},
                    {"coupon": {"type": "coupon", "id": code},
                     "profile": {"type": "profile", "id": self.profile_id(j * 7 % self.n_profiles)}
                     if j % 3 else None}))
        del anchor

    # --- profiles -------------------------------------------------------------------------------
    def profile_id(self, i: int) -> str:
        return data.stable_id(self.seed, "klaviyo-profile", i)

    def visible_profiles(self) -> int:
        extra = (self.sb.data_now() - self.sb.anchor) // NEW_PROFILE_EVERY
        return self.n_profiles + max(0, min(100_000, int(extra)))

    def _times(self, i: int) -> tuple[datetime, datetime]:
        """(created, updated) of profile ``i`` as the account sees it now (cheap: no person built)."""
        anchor = self.sb.anchor
        if i >= self.n_profiles:  # signed up after the anchor
            created = anchor + NEW_PROFILE_EVERY * (i - self.n_profiles + 1)
            return created, created
        h = _h(self.seed, "klaviyo-profile-times", i)
        created = anchor - timedelta(days=730) + timedelta(seconds=h % (730 * 86400 - 3600))
        updated = created + timedelta(seconds=(h >> 32) % max(1, int((anchor - created).total_seconds())))
        if i % 10 == 3:  # changes during the week after the anchor: visible once the clock gets there
            later = anchor + timedelta(seconds=1 + (h >> 20) % int(UPDATE_WINDOW.total_seconds()))
            if later <= self.sb.data_now():
                updated = later
        return created, updated

    def _profile(self, i: int) -> dict[str, Any]:
        p = data.person(self.seed, i, end=self.sb.anchor, kind="klaviyo-profile")
        pid = self.profile_id(i)
        created, updated = self._times(i)
        r = data.rng(self.seed, "klaviyo-profile-extra", i)
        # Near the city centre (the spec's oneOf[string, number] rejects null despite `nullable`).
        lat0, lon0 = COORDS.get(p.place.city, (0.0, 0.0))
        lat, lon = round(lat0 + r.uniform(-0.05, 0.05), 4), round(lon0 + r.uniform(-0.05, 0.05), 4)
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
                "created": data.iso(created, offset_minutes=p.tz_offset),
                "updated": data.iso(updated, offset_minutes=p.tz_offset),
                "last_event_date": data.iso(updated),
                "location": {"address1": f"{1 + i % 180} Main Street" if r.random() < 0.6 else None,
                             "address2": None, "city": p.place.city,
                             "country": p.place.country_name,
                             "region": p.place.region, "zip": p.place.zip, "timezone": p.place.timezone,
                             "ip": f"203.0.113.{i % 250 + 1}" if r.random() < 0.5 else None,
                             "latitude": lat, "longitude": lon},
                "properties": {"lifetime_value": p.lifetime_value, "total_orders": p.orders,
                               "last_order_date": data.iso(p.last_order) if p.last_order else None,
                               "preferred_channel": "sms" if p.phone_e164 and not p.email else "email"},
            },
            "relationships": {},
            "links": {"self": f"https://a.klaviyo.com/api/profiles/{pid}/"},
        }

    def _subscriptions(self, i: int, attrs: dict[str, Any]) -> dict[str, Any]:
        # From the served attributes and a cheap hash: building the person again per page is slow.
        subscribed = _h(self.seed, "klaviyo-subscribed", i) % 10 < 8
        email, phone = attrs.get("email"), attrs.get("phone_number")
        consent = "SUBSCRIBED" if subscribed else "UNSUBSCRIBED"
        return {
            "email": {"marketing": {"can_receive_email_marketing": bool(email) and subscribed,
                                    "consent": consent if email else "NEVER_SUBSCRIBED",
                                    "consent_timestamp": attrs.get("created"), "method": "FORM",
                                    "suppression": [], "list_suppressions": []}},
            "sms": {"marketing": {"can_receive_sms_marketing": bool(phone) and subscribed,
                                  "consent": consent if phone else "NEVER_SUBSCRIBED"}},
            "mobile_push": {"marketing": {"can_receive_push_marketing": False, "consent": "NEVER_SUBSCRIBED"}},
        }

    def _profile_doc(self, req: Request, extra: dict[str, Any] | None = None) -> Any:
        """An encoder for profile index → JSON, honouring additional-fields and sparse fieldsets."""
        additional = set(",".join(req.args("additional-fields[profile]")).split(",")) - {""}
        fields = req.arg("fields[profile]")
        keep = set(fields.split(",")) if fields else None
        plain = not additional and keep is None and not extra

        def enc(i: int) -> bytes:
            if plain:
                return self.profiles.encoded(i)
            p = self.profiles[i]
            attrs = dict(p["attributes"])
            if "subscriptions" in additional:
                attrs["subscriptions"] = self._subscriptions(i, attrs)
            if "predictive_analytics" in additional:
                attrs["predictive_analytics"] = {"historic_clv": attrs["properties"]["lifetime_value"],
                                                 "predicted_clv": None, "total_clv": None,
                                                 "historic_number_of_orders": attrs["properties"]["total_orders"],
                                                 "churn_probability": round((i % 100) / 100, 2)}
            if keep is not None:
                attrs = {k: v for k, v in attrs.items() if k in keep}
            if extra:
                attrs.update(extra[i])
            return encode({**p, "attributes": attrs})
        return enc

    def _profiles_by(self, key: str) -> tuple[list[datetime], list[int]]:
        """Visible profiles sorted by created|updated: (the times, the indexes), cached until the
        clock moves, so a page costs a bisection, not a pass over every profile."""
        n = self.visible_profiles()
        ck = (key, n)
        got = self._sorted_cache.get(ck)
        if got is None:
            pos = 0 if key == "created" else 1
            pairs = sorted((self._times(i)[pos], i) for i in range(n))
            got = ([t for t, _ in pairs], [i for _, i in pairs])
            self._sorted_cache[ck] = got
        return got

    def _profiles_by_id(self) -> list[int]:
        """Visible profile indexes in id order (ids are hashes: no profile is generated)."""
        n = self.visible_profiles()
        got = self._sorted_cache.get(("id", n))
        if got is None:
            got = sorted(range(n), key=self.profile_id)
            self._sorted_cache[("id", n)] = got
        return got

    def h_profiles(self, req: Request) -> Response:
        terms = parse_filter(req.arg("filter"))
        sort = req.arg("sort") or "id"
        allowed = {"id": {"any", "equals"}, "email": {"any", "equals"}, "phone_number": {"any", "equals"},
                   "external_id": {"any", "equals"}, "created": {"greater-than", "less-than"},
                   "updated": {"greater-than", "less-than"}}
        for t in terms:
            if t.op not in allowed.get(t.field, set()):
                raise _bad_filter(f"'{t.op}' is not a valid operator for field '{t.field}'")
            if t.field in ("created", "updated") and not isinstance(t.value, datetime):
                raise _bad_filter(f"{t.field} needs an unquoted datetime, got {t.value!r}")
        key = sort.lstrip("-") if sort.lstrip("-") in ("created", "updated") else "updated"
        keys, order = self._profiles_by(key)
        lo, hi = 0, len(order)
        rest = []
        for t in terms:
            if t.field == key and t.op == "greater-than":
                lo = max(lo, bisect.bisect_right(keys, t.value))
            elif t.field == key and t.op == "less-than":
                hi = min(hi, bisect.bisect_left(keys, t.value))
            else:
                rest.append(t)
        field = sort.lstrip("-")
        if field == "id" and not rest and (lo, hi) == (0, len(order)):
            idx = self._profiles_by_id()  # the default sort: cached, not re-sorted per page
        else:
            idx = order[lo:hi]  # a slice: a copy, so the cached order is never sorted in place
            if rest:
                idx = [i for i in idx if all(_match(t, self._profile_field(i, t.field)) for t in rest)]
            if field not in ("created", "updated"):
                idx.sort(key=lambda i: str(self._profile_field(i, field) or ""))
        if sort.startswith("-"):
            idx = idx[::-1]  # a copy: the cached orders stay as they are
        return self.page(req, View(idx, self._profile_doc(req)))

    def _profile_field(self, i: int, name: str) -> Any:
        created, updated = self._times(i)
        if name == "created":
            return created
        if name == "updated":
            return updated
        return field_of(self.profiles[i], name)

    # --- list and segment members -------------------------------------------------------------
    def _members(self, kind: str, k: int) -> list[tuple[datetime, int]]:
        """(joined_group_at, profile index) of group ``k``, sorted by join time."""
        ck = (kind, k, self.visible_profiles())
        got = self._sorted_cache.get(ck)
        if got is None:
            share = 20 + (k * 13) % 45  # percent of profiles in this group
            got = []
            for i in range(self.visible_profiles()):
                h = _h(self.seed, f"klaviyo-{kind}-{k}", i)
                if h % 100 < share:
                    created, _ = self._times(i)
                    span = max(1, int((max(self.sb.data_now(), created + timedelta(seconds=1)) - created).total_seconds()))
                    got.append((created + timedelta(seconds=(h >> 16) % span), i))
            got.sort()
            self._sorted_cache[ck] = got
        return got

    def _group_members(self, req: Request, kind: str, groups: list[dict[str, Any]]) -> Response:
        gid = req.params["id"]
        k = next((n for n, g in enumerate(groups) if g["id"] == gid), None)
        if k is None:
            raise HTTPError(404, f"A {kind} with id {gid} does not exist.", "not_found")
        members = self._members(kind, k)
        terms = parse_filter(req.arg("filter"))
        ops = {"greater-or-equal", "greater-than", "less-or-equal", "less-than"}
        for t in terms:
            if t.field == "joined_group_at" and t.op in ops and isinstance(t.value, datetime):
                members = [m for m in members if _match(t, m[0])]
            elif t.field in ("email", "phone_number", "profile_id") and t.op in ("any", "equals"):
                members = [m for m in members if _match(t, self._profile_field(m[1], "id" if t.field == "profile_id" else t.field))]
            else:
                raise _bad_filter(f"'{t.op}' is not a valid operator for field '{t.field}'")
        if req.arg("sort") == "-joined_group_at":
            members = members[::-1]
        joined = {i: {"joined_group_at": _iso(at)} for at, i in members}
        return self.page(req, View([i for _, i in members], self._profile_doc(req, joined)))

    def h_lists_id_profiles(self, req: Request) -> Response:
        return self._group_members(req, "list", self.lists)

    def h_segments_id_profiles(self, req: Request) -> Response:
        return self._group_members(req, "segment", self.segments)

    # --- events ---------------------------------------------------------------------------------
    def _event_time(self, i: int) -> datetime:
        if i < 0:
            return self.sb.anchor + timedelta(days=FUTURE_EVENT_DAYS[-i - 1])
        return self.event_start + timedelta(seconds=int(i * self.event_step))

    def _event_metric(self, i: int) -> int:
        return _METRIC_OF[(i * 2654435761 + self.seed) % len(_METRIC_OF)]

    def _event_profile(self, i: int) -> int:
        return (abs(i) * 40503 + self.seed * 7) % self.n_profiles

    def _make_event(self, i: int) -> dict[str, Any]:
        when = self._event_time(i)
        m = self._event_metric(i)
        pidx = self._event_profile(i)
        r = data.rng(self.seed, "klaviyo-event", i)
        product_index = r.randrange(max(1, self.scale.get("catalog_items", 12)))
        name, category, price = data.product(product_index)
        metric = METRICS[m]
        if metric in ("Placed Order", "Started Checkout", "Fulfilled Order"):
            qty = r.randint(1, 3)
            # Klaviyo's standard order properties: each item names its product and SKU.
            item = {"ProductID": f"SKU-{product_index:05d}", "SKU": f"SKU-{product_index:05d}",
                    "ProductName": name, "Quantity": qty, "ItemPrice": price}
            props: dict[str, Any] = {"$value": round(price * qty, 2), "OrderId": f"ORD-{abs(i):08d}",
                                     "Items": [item],
                                     "ItemNames": [name], "Categories": [category], "$currency_code": "EUR"}
        elif metric in ("Ordered Product", "Added to Cart", "Viewed Product"):
            props = {"$value": price, "ProductName": name, "ProductID": f"SKU-{r.randrange(1000):05d}",
                     "Categories": [category], "Price": price}
        elif "Email" in metric or "Text Message" in metric:
            props = {"Campaign Name": f"Campaign {r.randrange(1, 30)}", "Subject": f"News {r.randrange(99)}",
                     "$message": data.stable_id(self.seed, "klaviyo-campaign-message", r.randrange(30), length=6)}
            if metric == "Clicked Email":
                props["URL"] = f"https://shop.example.com/p/{r.randrange(100)}"
        elif metric == "Subscribed to List":
            props = {"List": self.lists[r.randrange(len(self.lists))]["attributes"]["name"], "$source": "form"}
        else:
            props = {"page": f"https://shop.example.com/{r.choice(['', 'sale', 'new', 'about'])}"}
        eid = data.stable_id(self.seed, "klaviyo-event", i, length=27)
        return {
            "type": "event", "id": eid,
            "attributes": {"timestamp": int(when.timestamp()), "event_properties": props,
                           "datetime": _iso(when), "uuid": str(uuid.UUID(int=_h(self.seed, "klaviyo-event-uuid", i) << 64 | abs(i)))},
            "relationships": {
                "profile": {"data": {"type": "profile", "id": self.profile_id(pidx)},
                            "links": {"self": f"https://a.klaviyo.com/api/events/{eid}/relationships/profile/",
                                      "related": f"https://a.klaviyo.com/api/events/{eid}/profile/"}},
                "metric": {"data": {"type": "metric", "id": self.metrics[m]["id"]},
                           "links": {"self": f"https://a.klaviyo.com/api/events/{eid}/relationships/metric/",
                                     "related": f"https://a.klaviyo.com/api/events/{eid}/metric/"}},
            },
            "links": {"self": f"https://a.klaviyo.com/api/events/{eid}/"},
        }

    def _event_encoded(self, i: int) -> bytes:
        if i >= 0:
            return self.events.encoded(i)
        return encode(self._make_event(i))

    def _event_index_at(self, t: datetime) -> int:
        """The first normal event index whose datetime is >= t."""
        secs = (t - self.event_start).total_seconds()
        i = max(0, int(secs / self.event_step) - 1)
        while self._event_time(i) < t:
            i += 1
        return i

    def h_events(self, req: Request) -> Response:
        terms = parse_filter(req.arg("filter"))
        visible = self._event_index_at(self.sb.data_now() + timedelta(seconds=1))
        lo, hi = 0, visible
        futures = [-(k + 1) for k in range(len(FUTURE_EVENT_DAYS))]
        rest = []
        for t in terms:
            if t.field in ("datetime", "timestamp") and t.op in ("greater-or-equal", "greater-than", "less-or-equal", "less-than"):
                if t.field == "timestamp":
                    if not isinstance(t.value, int | float):
                        raise _bad_filter(f"timestamp needs an integer, got {t.value!r}")
                    bound = datetime.fromtimestamp(t.value, tz=data.UTC)
                elif not isinstance(t.value, datetime):
                    raise _bad_filter(f"datetime needs an unquoted datetime, got {t.value!r}")
                else:
                    bound = t.value
                if t.op == "greater-or-equal":
                    lo = max(lo, self._event_index_at(bound))
                elif t.op == "greater-than":
                    lo = max(lo, self._event_index_at(bound + timedelta(seconds=1)))
                elif t.op == "less-than":
                    hi = min(hi, self._event_index_at(bound))
                else:
                    hi = min(hi, self._event_index_at(bound + timedelta(seconds=1)))
                futures = [f for f in futures if _match(Term(t.op, t.field, bound, False), self._event_time(f))]
            elif t.field in ("metric_id", "profile_id") and t.op == "equals":
                rest.append(t)
            elif t.field in ("profile", "metric") and t.op == "has":
                continue  # every seeded event has both
            else:
                raise _bad_filter(f"'{t.op}' is not a valid operator for field '{t.field}'")
        idx: Any = range(lo, max(lo, hi))
        for t in rest:
            if t.field == "metric_id":
                m = next((k for k, x in enumerate(self.metrics) if x["id"] == t.value), None)
                idx = [i for i in idx if self._event_metric(i) == m]
                futures = [f for f in futures if self._event_metric(f) == m]
            else:
                idx = [i for i in idx if self.profile_id(self._event_profile(i)) == t.value]
                futures = [f for f in futures if self.profile_id(self._event_profile(f)) == t.value]
        items = list(idx) + futures if len(idx) < 200_000 else _Concat(idx, futures)
        if req.arg("sort", "datetime").startswith("-"):
            items = list(reversed(list(items)))
        includes = set(",".join(req.args("include")).split(",")) - {""}
        fields = {k[7:-1]: set(v[0].split(",")) for k, v in req.query.items() if k.startswith("fields[")}

        def included(events: list[int]) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            if "metric" in includes:
                for m in sorted({self._event_metric(i) for i in events}):
                    out.append(self.metrics[m])
            if "profile" in includes:
                for p in sorted({self._event_profile(i) for i in events}):
                    out.append(self.profiles[p])
            return self._sparse(req, out) if fields else out

        return self.page(req, View(items, self._event_encoded),
                         included=included if includes else None)

    # --- the small collections ---------------------------------------------------------------------
    def h_metrics(self, req: Request) -> Response:
        return self.collection(req, self.metrics, allowed={"integration.name": {"equals"},
                                                           "integration.category": {"equals"}})

    def h_lists(self, req: Request) -> Response:
        return self.collection(req, self.lists, allowed={
            "name": {"any", "equals"}, "id": {"any", "equals"}, "created": {"greater-than"}, "updated": {"greater-than"}})

    def h_segments(self, req: Request) -> Response:
        return self.collection(req, self.segments, allowed={
            "name": {"any", "equals"}, "id": {"any", "equals"}, "created": {"greater-than"},
            "updated": {"greater-than"}, "is_active": {"any", "equals"}, "is_starred": {"equals"}})

    def h_campaigns(self, req: Request) -> Response:
        terms = parse_filter(req.arg("filter"))
        channel = next((t.value for t in terms if t.field == "messages.channel"), None)
        if channel not in CHANNELS:
            raise HTTPError(400, "A channel filter is required to list campaigns. Please provide either: "
                            "?filter=equals(messages.channel,'email') to list email campaigns, "
                            "?filter=equals(messages.channel,'sms') to list SMS campaigns, or "
                            "?filter=equals(messages.channel,'mobile_push') to list mobile push campaigns.",
                            "invalid", parameter="filter")
        items = [c for n, c in enumerate(self.campaigns) if CHANNELS[n % 3] == channel]
        if not any(t.field == "archived" for t in terms):  # archived ones only when asked for
            items = [c for c in items if not c["attributes"]["archived"]]
        if not req.arg("sort"):
            # Klaviyo returns campaigns in no particular order (MeltanoLabs/tap-klaviyo#156).
            items = sorted(items, key=lambda c: _h(self.seed, "klaviyo-campaign-order", hash(c["id"]) % 997))
        dt_ops = {"greater-or-equal", "greater-than", "less-or-equal", "less-than"}
        incl = set(",".join(req.args("include")).split(",")) - {""}
        return self.collection(req, items, allowed={
            "messages.channel": {"equals"}, "archived": {"equals"}, "id": {"any"}, "name": {"contains"},
            "status": {"any", "equals"}, "created_at": dt_ops, "scheduled_at": dt_ops, "updated_at": dt_ops,
        }, included=(lambda cs: [m for c in cs for m in self.campaign_messages[c["id"]]]) if "campaign-messages" in incl
            else None, handled=frozenset({"messages.channel"}))

    def h_campaigns_id_campaign_messages(self, req: Request) -> Response:
        msgs = self.campaign_messages.get(req.params["id"])
        if msgs is None:
            raise HTTPError(404, f"A campaign with id {req.params['id']} does not exist.", "not_found")
        return self.collection(req, msgs)

    _FLOW_DT = {"equals", "greater-or-equal", "greater-than", "less-or-equal", "less-than"}

    def h_flows(self, req: Request) -> Response:
        return self.collection(req, self.flows, allowed={
            "id": {"any"}, "name": {"contains", "ends-with", "equals", "starts-with"}, "status": {"equals"},
            "archived": {"equals"}, "created": self._FLOW_DT, "updated": self._FLOW_DT, "trigger_type": {"equals"}})

    def h_flows_id_flow_actions(self, req: Request) -> Response:
        actions = self.flow_actions.get(req.params["id"])
        if actions is None:
            raise HTTPError(404, f"A flow with id {req.params['id']} does not exist.", "not_found")
        return self.collection(req, actions, allowed={
            "id": {"any"}, "action_type": {"any", "equals"}, "status": {"equals"},
            "created": self._FLOW_DT, "updated": self._FLOW_DT})

    def h_flow_actions_id_flow_messages(self, req: Request) -> Response:
        msgs = self.flow_messages.get(req.params["id"])
        if msgs is None:
            raise HTTPError(404, f"A flow action with id {req.params['id']} does not exist.", "not_found")
        return self.collection(req, msgs, allowed={
            "id": {"any"}, "name": {"contains", "ends-with", "equals", "starts-with"},
            "created": self._FLOW_DT, "updated": self._FLOW_DT})

    def h_templates(self, req: Request) -> Response:
        return self.collection(req, self.templates, allowed={
            "id": {"any", "equals"}, "name": {"any", "contains", "equals"},
            "created": self._FLOW_DT, "updated": self._FLOW_DT})

    def h_tags(self, req: Request) -> Response:
        return self.collection(req, self.tags, allowed={"name": {"contains", "ends-with", "equals", "starts-with"}})

    def h_tag_groups(self, req: Request) -> Response:
        return self.collection(req, self.tag_groups, allowed={
            "name": {"contains", "ends-with", "equals", "starts-with"}, "exclusive": {"equals"}, "default": {"equals"}})

    def h_catalog_items(self, req: Request) -> Response:
        return self.collection(req, self.items, allowed={
            "ids": {"any"}, "category.id": {"equals"}, "title": {"contains"}, "published": {"equals"}})

    def h_catalog_variants(self, req: Request) -> Response:
        return self.collection(req, self.variants, allowed={
            "ids": {"any"}, "item.id": {"equals"}, "sku": {"equals"}, "title": {"contains"}, "published": {"equals"}})

    def h_catalog_categories(self, req: Request) -> Response:
        return self.collection(req, self.categories, allowed={"ids": {"any"}, "item.id": {"equals"}, "name": {"contains"}})

    def h_coupons(self, req: Request) -> Response:
        return self.collection(req, self.coupons)

    def h_coupon_codes(self, req: Request) -> Response:
        terms = parse_filter(req.arg("filter"))
        if not any(t.field in ("coupon.id", "profile.id") for t in terms):
            raise HTTPError(400, "A coupon/coupons or a profile/profiles must be provided as a filter.", "invalid",
                            parameter="filter")
        dt_ops = {"greater-or-equal", "greater-than", "less-or-equal", "less-than"}
        return self.collection(req, self.coupon_codes, allowed={
            "expires_at": dt_ops, "status": {"equals"}, "coupon.id": {"any", "equals"}, "profile.id": {"any", "equals"}})

    # --- metric aggregates ----------------------------------------------------------------------
    def h_metric_aggregates(self, req: Request) -> Response:
        body = req.json()
        attrs = (body.get("data") or {}).get("attributes") or {}
        for key in ("metric_id", "measurements", "filter"):
            if key not in attrs:
                raise HTTPError(400, f"'{key}' is a required field.", "invalid", pointer=f"/data/attributes/{key}")
        m = next((k for k, x in enumerate(self.metrics) if x["id"] == attrs["metric_id"]), None)
        if m is None:
            raise HTTPError(400, f"Metric {attrs['metric_id']} does not exist.", "invalid")
        terms = [t for f in attrs["filter"] for t in parse_filter(f)]
        start = next((t.value for t in terms if t.field == "datetime" and t.op == "greater-or-equal"), None)
        end = next((t.value for t in terms if t.field == "datetime" and t.op == "less-than"), None)
        if not isinstance(start, datetime) or not isinstance(end, datetime):
            raise HTTPError(400, "The filter must include a time range: greater-or-equal and less-than on datetime.",
                            "invalid", pointer="/data/attributes/filter")
        interval = attrs.get("interval", "day")
        step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1),
                "month": timedelta(days=30)}.get(interval)
        if step is None:
            raise HTTPError(400, f"Invalid interval {interval!r}.", "invalid", pointer="/data/attributes/interval")
        dates: list[datetime] = []
        t = start
        while t < end and len(dates) < 400:
            dates.append(t)
            t += step
        by = attrs.get("by") or []
        rows = []
        groups = [[]] if not by else [[f"{d} value {g}" for d in by] for g in ("A", "B")]
        visible = self._event_index_at(self.sb.data_now() + timedelta(seconds=1))
        totals = [sum(1 for i in range(self._event_index_at(d), min(visible, self._event_index_at(min(d + step, end))))
                      if self._event_metric(i) == m) for d in dates]
        for g, dims in enumerate(groups):
            # The first group gets the odd one out, so the groups add up to the metric's count.
            counts = [t // len(groups) + (1 if g < t % len(groups) else 0) for t in totals]
            rows.append({"dimensions": dims, "measurements": {
                name: [float(c if name != "sum_value" else round(c * 42.5, 2)) for c in counts]
                for name in attrs["measurements"]}})
        return Response({"data": {"type": "metric-aggregate", "id": str(uuid.uuid4()),
                                  "attributes": {"dates": [_iso(d) for d in dates], "data": rows},
                                  "links": {"self": f"{req.base_url}/api/metric-aggregates/"}},
                         "links": {"self": f"{req.base_url}/api/metric-aggregates/"}}, content_type=JSONAPI)


class _Concat:
    """A range of normal event indices followed by the few future-dated ones, without a list."""

    def __init__(self, rng: Any, tail: list[int]) -> None:
        self.rng, self.tail = rng, tail

    def __len__(self) -> int:
        return len(self.rng) + len(self.tail)

    def __getitem__(self, i: int) -> int:
        return self.rng[i] if i < len(self.rng) else self.tail[i - len(self.rng)]

    def __iter__(self) -> Any:
        yield from self.rng
        yield from self.tail
