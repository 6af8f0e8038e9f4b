"""Value access and coercion: dotted paths, type hints, dates, names."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from collections.abc import Callable
from typing import Any

MISSING: Any = type("Missing", (), {"__repr__": lambda _: "MISSING"})()
"""A field absent from the record (as opposed to present and null)."""

Getter = Callable[[dict], Any]


@functools.lru_cache(maxsize=1024)
def getter(path: str) -> Getter:
    """Compile a dotted path into a fast accessor: MISSING when absent, None when a parent is null."""
    parts = path.split(".")
    if len(parts) == 1:
        k = parts[0]
        return lambda r: r.get(k, MISSING)
    if len(parts) == 2:
        a, b = parts

        def get2(r: dict) -> Any:
            v = r.get(a, MISSING)
            if v.__class__ is dict:
                return v.get(b, MISSING)
            return None if v is None else MISSING

        return get2

    def get_n(r: dict) -> Any:
        v: Any = r
        for p in parts:
            if v.__class__ is not dict:
                return None if v is None else MISSING
            v = v.get(p, MISSING)
            if v is MISSING:
                return MISSING
        return v

    return get_n


def coalesce(paths: list[str]) -> Getter:
    """First non-null value among the paths (a stated precedence)."""
    if len(paths) == 1:
        return getter(paths[0])
    getters = [getter(p) for p in paths]

    def first(r: dict) -> Any:
        seen = MISSING
        for g in getters:
            v = g(r)
            if v is not None and v is not MISSING:
                return v
            if v is None:
                seen = None
        return seen

    return first


def schema_at(schema: dict, path: str) -> dict | None:
    """The JSON schema of a dotted path inside an object schema, if the schema says."""
    s: Any = schema
    for p in path.split("."):
        props = s.get("properties") if isinstance(s, dict) else None
        if not isinstance(props, dict) or p not in props:
            return None
        s = props[p]
    return s if isinstance(s, dict) else None


def nullable(schema: dict | None) -> dict:
    """A copy of a property schema that also admits null (values may be null after mapping)."""
    if not schema:
        return {}
    s = dict(schema)
    t = s.get("type")
    if isinstance(t, str) and t != "null":
        s["type"] = [t, "null"]
    elif isinstance(t, list) and "null" not in t:
        s["type"] = [*t, "null"]
    elif "anyOf" in s and not any(x.get("type") == "null" for x in s["anyOf"] if isinstance(x, dict)):
        s["anyOf"] = [*s["anyOf"], {"type": "null"}]
    return s


# --- dates ---------------------------------------------------------------------------------------
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_SPACED_OFFSET = re.compile(r" ?([+-]\d{2}):?(\d{2})$")


def _from_epoch(v: float) -> dt.datetime:
    # Millisecond epochs (Iterable, Braze) are told apart from second epochs by size.
    secs = v / 1000 if abs(v) > 1e11 else v
    return dt.datetime.fromtimestamp(secs, tz=dt.timezone.utc)


_EPOCH_RE = re.compile(r"^\d{9,13}$")


def to_datetime(v: Any) -> str:
    """Normalise a timestamp (ISO 8601, `YYYY-MM-DD HH:MM:SS +00:00`, epoch s/ms) to ISO 8601."""
    if isinstance(v, str) and _EPOCH_RE.match(v):
        v = int(v)  # exports sometimes print epochs as strings
    if v.__class__ is str and len(v) == 25 and v[10] == "T" and v[19] in "+-" and v[22] == ":":
        try:  # already canonical (`2024-01-01T12:00:00+00:00`): validate only
            dt.datetime.fromisoformat(v)
        except ValueError as exc:
            msg = f"{v!r} is not a valid date-time ({exc})"
            raise ValueError(msg) from None
        return v
    if isinstance(v, str):
        s = v.strip()
        if s.endswith(("Z", "z")):
            s = s[:-1] + "+00:00"
        elif s.find(" ", 11) != -1:  # `2024-01-01 12:00:00 +00:00` (Iterable exports)
            s = _SPACED_OFFSET.sub(r"\1:\2", s)
        try:
            parsed = dt.datetime.fromisoformat(s)
        except ValueError as exc:
            msg = f"{v!r} is not a valid date-time ({exc})"
            raise ValueError(msg) from None
        return parsed.isoformat()
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return _from_epoch(v).isoformat()
    msg = f"{v!r} is not a date-time"
    raise ValueError(msg)


def to_date(v: Any) -> str:
    """A Brevo date attribute value, `YYYY-MM-DD`; impossible dates (Feb 30) are refused."""
    if isinstance(v, str) and _EPOCH_RE.match(v):
        v = int(v)
    if isinstance(v, str):
        m = _DATE_RE.match(v)
        if not m:
            msg = f"{v!r} is not a date (expected YYYY-MM-DD or ISO 8601)"
            raise ValueError(msg)
        try:
            dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            msg = f"{v!r} is not a valid date ({exc})"
            raise ValueError(msg) from None
        if len(v) > 10:
            to_datetime(v)  # the time part must be valid too (no 25:00)
        return v[:10]
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return _from_epoch(v).date().isoformat()
    msg = f"{v!r} is not a date"
    raise ValueError(msg)


def to_number(v: Any) -> int | float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, float) and not math.isfinite(v):
            msg = f"{v!r} is not a finite number"
            raise ValueError(msg)
        return v
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s)
        except ValueError:
            pass
        try:
            f = float(s)
        except ValueError:
            f = math.nan
        if math.isfinite(f):
            return f
    msg = f"{v!r} is not a number"
    raise ValueError(msg)


_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


def to_boolean(v: Any) -> bool:
    if v is True or v is False:
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    msg = f"{v!r} is not a boolean"
    raise ValueError(msg)


def to_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is True or v is False:
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=str)


COERCE: dict[str, Callable[[Any], Any]] = {
    "date": to_date, "number": to_number, "boolean": to_boolean, "text": to_text,
}
HINT_SCHEMA: dict[str, dict] = {
    "date": {"type": ["string", "null"], "format": "date"},
    "number": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "text": {"type": ["string", "null"]},
}


# --- names ---------------------------------------------------------------------------------------
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_KEY_OK = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def snake_case(name: str) -> str:
    """`Viewed Product` -> `viewed_product`, `addToCart` -> `add_to_cart`."""
    return _NON_WORD.sub("_", _CAMEL.sub(r"\1_\2", name)).strip("_").lower()[:255]


_KEY_CACHE: dict[Any, str] = {}


def _clean_key(k: Any) -> str:
    ck = _KEY_CACHE.get(k)
    if ck is None:
        ks = str(k)
        ck = ks if _KEY_OK.match(ks) else (_NON_WORD.sub("_", ks).strip("_")[:255] or "_")
        if len(_KEY_CACHE) < 100_000:  # property names repeat; bound the memo for odd inputs
            _KEY_CACHE[k] = ck
    return ck


def clean_keys(v: Any) -> Any:
    """Make object keys acceptable as Brevo event-property keys (letters, digits, `_`, `-`)."""
    if v.__class__ is dict:
        cache = _KEY_CACHE
        out = {}
        for k, x in v.items():
            nk = cache.get(k) or _clean_key(k)
            out[nk] = clean_keys(x) if x.__class__ is dict or x.__class__ is list else x
        return out
    if v.__class__ is list:
        return [clean_keys(x) if x.__class__ is dict or x.__class__ is list else x for x in v]
    return v
