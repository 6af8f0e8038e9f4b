"""Value checks and conversions done before any request: emails, phones, dates, attribute types.

Brevo silently ignores an attribute value of the wrong type (brevo.md §3 createContact), so each
value is converted to its attribute's type here, and one that cannot be is reported, never sent.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timezone
from typing import Any

import phonenumbers

EMAIL_RE = re.compile(r"^[^@\s\"(),:;<>\[\]\\]+@[^@\s\"(),:;<>\[\]\\]+\.[^@\s\"(),:;<>\[\]\\]{2,}$")
EVENT_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|[T ])")
TRUE = {"true", "yes", "y", "1", "t", "on"}
FALSE = {"false", "no", "n", "0", "f", "off"}


class RejectError(ValueError):
    """A value that cannot be sent; ``reason`` is the reject reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def email(value: Any) -> str:
    text = str(value).strip()
    if not EMAIL_RE.match(text):
        raise RejectError("invalid_email", f"invalid email address {text!r}")
    return text


@functools.lru_cache(maxsize=65536)
def phone(value: str, default_country: str | None) -> str:
    """E.164 (``+33612345678``) with the phonenumbers library, or ``RejectError``."""
    text = str(value).strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_country)
    except phonenumbers.NumberParseException as exc:
        raise RejectError("invalid_phone", f"invalid phone number {value!r}: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        hint = "" if text.startswith("+") or default_country else " (no country code; set default_phone_country)"
        raise RejectError("invalid_phone", f"invalid phone number {value!r}{hint}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def as_date(value: Any) -> str:
    """``YYYY-MM-DD`` (Brevo's date attributes)."""
    if isinstance(value, datetime):
        return (value.astimezone(timezone.utc) if value.tzinfo else value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        m = _DATE_PREFIX.match(value.strip())
        if m:
            if "T" in value and ("+" in value[10:] or "-" in value[10:] or value.endswith("Z")):
                return parse_datetime(value).date().isoformat()
            # The shape is not enough: 2026-02-30 and 2026-13-01 must not reach Brevo.
            return date.fromisoformat(m.group(1)).isoformat()
    raise ValueError(f"{value!r} is not a date")


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip().replace("Z", "+00:00").replace(" ", "T", 1)
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def iso_with_offset(value: Any) -> str:
    """ISO 8601 with an offset (events' ``event_date``); naive values are taken as UTC."""
    return parse_datetime(value).isoformat()


def utc_z(value: Any) -> str:
    """``YYYY-MM-DDTHH:mm:ssZ`` in UTC (orders' ``createdAt``/``updatedAt``)."""
    return parse_datetime(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def attribute(value: Any, attr: dict[str, Any]) -> Any:
    """``value`` converted to ``attr``'s Brevo type; ``ValueError`` when it cannot be."""
    typ = attr.get("type") or ("category" if attr.get("enumeration") else "text")
    if typ == "date":
        return as_date(value)
    if typ == "float":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{value!r} is not a number")
        out = float(value)
        return int(out) if out.is_integer() and not isinstance(value, float) else out
    if typ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
            return value.strip().lower() in TRUE
        raise ValueError(f"{value!r} is not a boolean")
    if typ == "category":
        for e in attr.get("enumeration") or []:
            if value == e.get("value") and not isinstance(value, bool):
                return e["value"]
            if isinstance(value, str) and value.strip().lower() == str(e.get("label", "")).lower():
                return e["value"]
        raise ValueError(f"{value!r} is not one of the category's labels or values")
    if typ == "multiple-choice":
        items = value if isinstance(value, list) else [value]
        opts = set(attr.get("multiCategoryOptions") or [])
        if opts and not all(isinstance(i, str) and i in opts for i in items):
            raise ValueError(f"{value!r} is not among the options {sorted(opts)}")
        return items
    # text, id, user
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return value if isinstance(value, str) else str(value)
    raise ValueError(f"{type(value).__name__} value cannot go in a text attribute")


def type_from_schema(prop: dict[str, Any] | None) -> str:
    """The Brevo type to create an unknown attribute with, from its JSON schema."""
    prop = prop or {}
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    for alt in prop.get("anyOf", []) or []:
        t = alt.get("type")
        types += [t] if isinstance(t, str) else list(t or [])
        if alt.get("format") in ("date", "date-time"):
            return "date"
    if prop.get("format") in ("date", "date-time"):
        return "date"
    if "boolean" in types:
        return "boolean"
    if "number" in types or "integer" in types:
        return "float"
    return "text"
