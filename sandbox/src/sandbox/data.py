"""Deterministic, realistic and messy seed data, generated lazily by index.

Every object is a pure function of ``(seed, kind, index)``: the same seed gives the same
account, and a scale of a million events costs no memory until a page is asked for.
A bounded cache keeps recently served objects (already JSON-encoded) so that repeated
reads of the same pages, as benchmarks and tests do, are cheap.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .http import encode

UTC = timezone.utc

# Default "now" of a sandbox account: fixed, so that a seed always gives the same timestamps.
ANCHOR = datetime(2026, 11, 30, tzinfo=UTC)

SCALES: dict[str, dict[str, int]] = {
    # profiles: people per vendor; events: behavioural events per vendor; the rest derive from these.
    "tiny": {"profiles": 60, "events": 400, "lists": 4, "campaigns": 8, "catalog_items": 12},
    "small": {"profiles": 500, "events": 5_000, "lists": 6, "campaigns": 25, "catalog_items": 60},
    "medium": {"profiles": 10_000, "events": 50_000, "lists": 8, "campaigns": 60, "catalog_items": 300},
    "large": {"profiles": 100_000, "events": 1_000_000, "lists": 12, "campaigns": 200, "catalog_items": 2_000},
}


def parse_scale(spec: str | dict[str, int] | None) -> dict[str, int]:
    """``small``, or ``small,profiles=2000``, or ``profiles=100,events=1000`` (over ``tiny``)."""
    if isinstance(spec, dict):
        return {**SCALES["tiny"], **spec}
    out = dict(SCALES["small"])
    parts = [p.strip() for p in (spec or "small").split(",") if p.strip()]
    if parts and "=" in parts[0]:
        out = dict(SCALES["tiny"])
    for part in parts:
        if "=" in part:
            key, _, value = part.partition("=")
            out[key.strip()] = int(value.replace("_", ""))
        elif part in SCALES:
            out = dict(SCALES[part])
        else:
            raise ValueError(f"unknown scale {part!r}; use one of {sorted(SCALES)} or name=count")
    return out


def rng(seed: int, kind: str, index: int) -> random.Random:
    """An independent generator for one object."""
    digest = hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


class FastRandom:
    """A cheap deterministic generator for hot paths: draws 32-bit slices of a BLAKE2 stream.

    Seeding ``random.Random`` costs more than making a whole record, so per-object generation
    in the sandbox uses this instead. It implements the few methods the generators need.
    """

    __slots__ = ("_digest", "_left", "_n")

    def __init__(self, key: str) -> None:
        self._digest = hashlib.blake2b(key.encode(), digest_size=64).digest()
        self._n = int.from_bytes(self._digest, "big")
        self._left = 16

    def _draw(self) -> int:
        if not self._left:
            self._digest = hashlib.blake2b(self._digest, digest_size=64).digest()
            self._n = int.from_bytes(self._digest, "big")
            self._left = 16
        self._left -= 1
        v = self._n & 0xFFFFFFFF
        self._n >>= 32
        return v

    def random(self) -> float:
        return self._draw() / 4294967296.0

    def choice(self, seq: Any) -> Any:
        return seq[self._draw() * len(seq) >> 32]

    def randrange(self, start: int, stop: int | None = None) -> int:
        if stop is None:
            start, stop = 0, start
        span = stop - start
        if span <= 1 << 32:
            return start + (self._draw() * span >> 32)
        return start + (((self._draw() << 32) | self._draw()) * span >> 64)

    def randint(self, a: int, b: int) -> int:
        return self.randrange(a, b + 1)

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def sample(self, population: Any, k: int) -> list[Any]:
        pool = list(population)
        return [pool.pop(self.randrange(len(pool))) for _ in range(k)]


def stable_id(seed: int, kind: str, index: int, length: int = 26, alphabet: str = "base32") -> str:
    """A vendor-looking opaque id, stable for (seed, kind, index).

    ``base32`` gives ULID-like upper-case ids (Klaviyo); ``hex`` gives lower-case hex (Braze).
    """
    digest = hashlib.blake2b(f"{seed}:{kind}:{index}".encode(), digest_size=max(20, length // 2 + 1)).digest()
    if alphabet == "hex":
        return digest.hex()[:length]
    if alphabet == "base32":
        return base64.b32encode(digest).decode()[:length]
    n = int.from_bytes(digest, "big")  # any other alphabet: digits of the hash in that base
    chars = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return "".join(chars)


def iso(dt: datetime, *, offset_minutes: int = 0, millis: bool = False) -> str:
    """ISO-8601 with an explicit offset (``Z`` for UTC), optionally with milliseconds."""
    if offset_minutes:
        dt = dt.astimezone(timezone(timedelta(minutes=offset_minutes)))
    elif dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    text = dt.isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z") if not offset_minutes else text


def parse_dt(text: str) -> datetime:
    """Parse the ISO-8601 forms vendors accept (``Z``, offsets, dates)."""
    text = text.strip().replace(" ", "T", 1) if "T" not in text and " " in text.strip() else text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def spread(r: random.Random | FastRandom, start: datetime, end: datetime) -> datetime:
    """A random instant in [start, end), whole seconds."""
    span = max(1, int((end - start).total_seconds()))
    return start + timedelta(seconds=r.randrange(span))


# --- people -----------------------------------------------------------------------------------

FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Hugo", "Léa", "Zoë", "Jörg",
         "Søren", "Chloé", "Mateo", "Aiko", "Priya", "Óscar", "Élodie", "Kwame", "Anaïs", "Björn",
         "Siobhán", "Nguyễn", "José", "Fatima", "Yusuf", "Ines", "Raphaël", "Greta", "Amara"]
LAST = ["Smith", "Martin", "Müller", "García", "Dubois", "Rossi", "Kowalski", "O'Brien", "Nakamura",
        "Patel", "Silva", "Johansson", "Lefèvre", "Nguyen", "Schmidt", "Fernández", "Brown", "Şahin",
        "Van der Berg", "Petit", "Novák", "Dąbrowski", "Okafor", "Lindqvist", "Moreau", "Costa"]
DOMAINS = ["example.com", "mail.example.org", "example.net", "shop.example.co.uk", "exämple.de"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Soylent SA", "Hooli", "Vandelay Industries", None]
TITLES = ["Marketing Manager", "CEO", "Developer", "Buyer", "Student", None]


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    country: str  # ISO 3166-1 alpha-2
    country_name: str
    zip: str
    tz_minutes: int
    timezone: str
    locale: str


PLACES = [
    Place("New York", "NY", "US", "United States", "10001", -300, "America/New_York", "en-US"),
    Place("San Francisco", "CA", "US", "United States", "94103", -480, "America/Los_Angeles", "en-US"),
    Place("Paris", "Île-de-France", "FR", "France", "75011", 60, "Europe/Paris", "fr-FR"),
    Place("Lyon", "Auvergne-Rhône-Alpes", "FR", "France", "69002", 60, "Europe/Paris", "fr-FR"),
    Place("London", "England", "GB", "United Kingdom", "SW1A 1AA", 0, "Europe/London", "en-GB"),
    Place("Berlin", "Berlin", "DE", "Germany", "10115", 60, "Europe/Berlin", "de-DE"),
    Place("München", "Bayern", "DE", "Germany", "80331", 60, "Europe/Berlin", "de-DE"),
    Place("Madrid", "Madrid", "ES", "Spain", "28013", 60, "Europe/Madrid", "es-ES"),
    Place("Bengaluru", "Karnataka", "IN", "India", "560001", 330, "Asia/Kolkata", "en-IN"),
]

# Real mobile ranges per country: (E.164 prefix, national trunk prefix, national number length,
# range prefixes, local grouping). Every generated number is valid for its country.
_MOBILE = {
    "US": ("+1", "", 10, ["212", "415", "646", "312", "617", "305", "206", "512"], (3, 3, 4)),
    "FR": ("+33", "0", 9, ["60", "61", "62", "64", "65", "66", "67", "68", "73", "75", "76", "77", "78"],
           (2, 2, 2, 2, 2)),
    "GB": ("+44", "0", 10, ["74", "75", "78"], (5, 6)),
    "DE": ("+49", "0", 11, ["151", "160", "170", "176"], (4, 8)),
    "ES": ("+34", "", 9, ["6"], (3, 3, 3)),
    "IN": ("+91", "0", 10, ["98", "99", "97", "94"], (5, 5)),
}


def phone(r: random.Random | FastRandom, country: str) -> tuple[str, str]:
    """A valid mobile number as (E.164, the local format a person would type)."""
    cc, trunk, length, prefixes, groups = _MOBILE[country]
    prefix = r.choice(prefixes)
    digits = length - len(prefix)
    if country == "US":  # exchange codes cannot start with 0/1; avoid 555
        rest = str(r.randint(201, 989)) + str(r.randrange(10_000)).zfill(4)
        rest = rest.replace("555", "556", 1)
    else:
        rest = str(r.randrange(10**digits)).zfill(digits)
    national = prefix + rest
    e164 = cc + national
    local_digits = trunk + national
    parts, i = [], 0
    for g in groups:
        parts.append(local_digits[i:i + g])
        i += g
    if i < len(local_digits):
        parts[-1] += local_digits[i:]
    local = " ".join(p for p in parts if p)
    if country == "US":
        local = f"({national[:3]}) {national[3:6]}-{national[6:]}"
    return e164, local


_ASCII = str.maketrans("àáâäãåçèéêëìíîïñòóôöõøùúûüýÿšşąłńśźżčřžőűăệễ", "aaaaaaceeeeiiiinoooooouuuuyyssalnszzcrzouaee",
                       " '-æœß")


def slug(text: str) -> str:
    """An email-safe local part from a name (accents folded, punctuation dropped)."""
    out = text.lower().translate(_ASCII)
    return out if out.isascii() and out.isalnum() else ("".join(c for c in out if c.isascii() and c.isalnum()) or "user")


@dataclass
class Person:
    """A person as every vendor's generator sees them; vendors shape it into their own record."""

    index: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone_e164: str | None
    phone_local: str | None
    place: Place
    company: str | None
    title: str | None
    created: datetime
    updated: datetime
    tz_offset: int  # minutes; the offset the vendor printed timestamps with, for messy rows
    lifetime_value: float
    orders: int
    last_order: datetime | None
    language: str
    subscribed: bool
    external_id: str


def person(seed: int, index: int, *, start: datetime | None = None, end: datetime = ANCHOR,
           kind: str = "person") -> Person:
    """One realistic, sometimes messy person.

    About 8% have no first name, 5% no email (phone-only), 30% of phones are in local format,
    names include non-ASCII letters, and every 40th person shares an email with another one in
    different case (a duplicate across identifiers, as imported lists often have).
    """
    r = FastRandom(f"{seed}:{kind}:{index}")
    start = start or end - timedelta(days=730)
    place = r.choice(PLACES)
    first = r.choice(FIRST) if r.random() > 0.08 else None
    last = r.choice(LAST) if r.random() > 0.05 else None
    local = f"{slug(first or 'contact')}.{slug(last or 'x')}{index}"
    email = f"{local}@{r.choice(DOMAINS[:4])}"
    if index % 40 == 39:  # duplicate identifier: same mailbox as person index-1, other case
        prev = person(seed, index - 1, start=start, end=end, kind=kind)
        email = (prev.email or email).upper()
    elif r.random() < 0.05:
        email = None
    e164, local_phone = phone(r, place.country) if r.random() > 0.25 else (None, None)
    created = spread(r, start, end - timedelta(hours=1))
    updated = spread(r, created, end)
    orders = r.choice([0, 0, 0, 1, 1, 2, 3, 5, 8, 13])
    ltv = round(orders * r.uniform(9, 240), 2)
    last_order = spread(r, created, end) if orders else None
    return Person(
        index=index,
        first_name=first,
        last_name=last,
        email=email,
        phone_e164=e164,
        phone_local=local_phone if r.random() < 0.3 else e164,
        place=place,
        company=r.choice(COMPANIES),
        title=r.choice(TITLES),
        created=created,
        updated=updated,
        tz_offset=place.tz_minutes if r.random() < 0.2 else 0,
        lifetime_value=ltv,
        orders=orders,
        last_order=last_order,
        language=place.locale.split("-")[0],
        subscribed=r.random() < 0.8,
        external_id=f"cust-{seed}-{index:07d}",
    )


PRODUCTS = [
    ("Linen Shirt", "Apparel", 49.0), ("Trail Shoes", "Footwear", 119.0), ("Coffee Beans 1kg", "Grocery", 24.5),
    ("Wireless Earbuds", "Electronics", 89.99), ("Yoga Mat", "Sports", 35.0), ("Ceramic Mug", "Home", 14.0),
    ("Rain Jacket", "Apparel", 159.0), ("Desk Lamp", "Home", 59.0), ("Sunglasses", "Accessories", 75.0),
    ("Backpack 28L", "Accessories", 99.0), ("Green Tea", "Grocery", 12.0), ("Smart Watch", "Electronics", 249.0),
]


def product(index: int) -> tuple[str, str, float]:
    """(name, category, price) for catalogue entry ``index``; names repeat with a size suffix."""
    name, category, price = PRODUCTS[index % len(PRODUCTS)]
    size = index // len(PRODUCTS)
    return (f"{name} #{size}" if size else name), category, price


# --- lazy tables --------------------------------------------------------------------------------


class LazyTable:
    """``count`` objects made on demand by ``make(index)``, with a bounded cache.

    ``encoded(i)`` returns the object's JSON bytes, so list endpoints can splice pages
    together without re-encoding (see ``http.json_array``).
    """

    def __init__(self, count: int, make: Callable[[int], Any], cache_size: int = 200_000) -> None:
        self.count = count
        self.make = make
        self.cache_size = cache_size
        self._objects: dict[int, Any] = {}
        self._bytes: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Any:
        obj = self._objects.get(index)
        if obj is None:
            if not 0 <= index < self.count:
                raise IndexError(index)
            obj = self.make(index)
            self._remember(self._objects, index, obj)
        return obj

    def encoded(self, index: int) -> bytes:
        raw = self._bytes.get(index)
        if raw is None:
            raw = encode(self[index])
            self._remember(self._bytes, index, raw)
        return raw

    def __iter__(self) -> Iterator[Any]:
        for i in range(self.count):
            yield self[i]

    def _remember(self, cache: dict[int, Any], index: int, value: Any) -> None:
        if len(cache) >= self.cache_size:
            with self._lock:  # drop the older half; cheaper than LRU bookkeeping per hit
                for key in list(cache)[: self.cache_size // 2]:
                    cache.pop(key, None)
        cache[index] = value

    def invalidate(self, index: int | None = None) -> None:
        if index is None:
            self._objects.clear()
            self._bytes.clear()
        else:
            self._objects.pop(index, None)
            self._bytes.pop(index, None)
