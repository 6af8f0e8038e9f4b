"""Brevo's read endpoints (what tap-brevo calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import data
from ...http import HTTPError, Request, Response

if TYPE_CHECKING:
    from . import Brevo


def register(v: Brevo) -> None:
    def get_contacts(req: Request) -> Response:
        limit = req.int_arg("limit", 50, minimum=0, maximum=1000)
        offset = req.int_arg("offset", 0, minimum=0)
        contacts = list(v.db.contacts.values())
        for name, attr in (("modifiedSince", "modified_at"), ("createdSince", "created_at")):
            raw = req.arg(name)
            if raw:
                try:
                    since = data.parse_dt(raw)
                except ValueError:
                    raise HTTPError(400, f"{name} is not a valid date-time: {raw}", "invalid_parameter") from None
                if since.tzinfo is None:
                    raise HTTPError(400, f"{name} must carry a timezone", "invalid_parameter")
                contacts = [c for c in contacts if getattr(c, attr) >= since]
        contacts.sort(key=lambda c: c.id, reverse=req.arg("sort", "desc") == "desc")
        page = contacts[offset:offset + limit]
        return Response({"contacts": [c.to_api() for c in page], "count": len(contacts)})

    v.endpoint("GET", "/contacts", get_contacts)
