"""Brevo's write endpoints (what target-brevo calls), with Brevo's own semantics.

Behaviours the target must cope with, reproduced here (see shared/docs/api/brevo.md):

* ``POST /contacts/import`` is asynchronous: it answers ``202 {processId}`` and the import runs
  after a delay (``Brevo.import_delay`` seconds plus a little per row); ``GET /processes/{id}``
  then shows ``completed`` with ``info.import`` report CSV URLs for invalid and duplicate rows.
* Email, EXT_ID and SMS are unique; a clash answers ``duplicate_parameter`` (or, as Brevo did in
  2026, ``invalid_parameter``: ``Brevo.duplicate_code``) with ``metadata.duplicate_identifiers``.
* Attribute values of the wrong type, and unknown attributes, are silently ignored.
* ``POST /contacts/batch`` is all-or-nothing: one unknown contact fails the whole call with a 404
  naming the missing indexes.
* List add/remove take at most 150 identifiers; ``POST /events/batch`` answers 207 on partial
  success; ecommerce batches have their caps (categories 100, products 100, orders 1000).
"""

from __future__ import annotations

import os
import re
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ... import data
from ...http import HTTPError, Request, Response, encode
from .store import Contact, Store

if TYPE_CHECKING:
    from . import Brevo

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SMS_RE = re.compile(r"^\+?[0-9]{6,16}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EVENT_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ORDER_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
LIST_CAP = 150
MAX_IMPORT_BYTES = 10 * 1024 * 1024
ATTRIBUTE_CATEGORIES = ("normal", "transactional", "category", "calculated", "global")
# Which attribute types each category accepts (brevo.md "Attributes").
TYPE_RULES = {
    "normal": {"text", "date", "float", "boolean", "multiple-choice", "user"},
    "transactional": {"text", "date", "float", "boolean", "id"},
    "category": {"category"},
    "calculated": set(),
    "global": set(),
}
REPORTS = ("invalid_emails", "duplicate_contact_id", "duplicate_ext_id", "duplicate_email_id",
           "duplicate_phone_id", "duplicate_whatsapp_id", "duplicate_landline_number_id")


def _iso(dt: datetime) -> str:
    return data.iso(dt, millis=True)


def valid_value(attr: dict[str, Any] | None, value: Any) -> bool:
    """Whether Brevo would store ``value`` in ``attr`` (it silently ignores the others)."""
    if attr is None:
        return False  # unknown attributes are ignored too
    typ = attr.get("type")
    if typ in ("text", "id", "user"):
        return isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))
    if typ == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if typ == "boolean":
        return isinstance(value, bool)
    if typ == "date":
        return isinstance(value, str) and bool(DATE_RE.match(value))
    if typ == "category":
        return isinstance(value, int) and not isinstance(value, bool) and any(
            e["value"] == value for e in attr.get("enumeration", []))
    if typ == "multiple-choice":
        opts = set(attr.get("multiCategoryOptions", []))
        return isinstance(value, list) and all(isinstance(v, str) and v in opts for v in value)
    return False


def register(v: Brevo) -> None:
    # Seconds before an import runs (Brevo's take seconds to minutes); tests shorten it.
    v.import_delay = float(os.environ.get("SANDBOX_BREVO_IMPORT_DELAY", "0.5"))
    v.fail_imports = 0  # the next N imports end "failed" (Brevo's current status enum has it)
    v.import_delay_per_row = 0.00002
    v.duplicate_code = "duplicate_parameter"  # Brevo answered invalid_parameter in 2026
    v.events_batch_max = 1000  # UNVERIFIED in Brevo's docs
    v.import_reports: dict[tuple[int, str], str] = {}

    def now() -> datetime:
        return v.sb.now().astimezone(timezone.utc)

    def maybe(method: str, path: str, handler: Any) -> None:
        """Register unless the read side already serves this route (tap-brevo's owner may)."""
        if not any(r.method == method and r.pattern == path for r in v.router.routes):
            v.endpoint(method, path, handler)

    def lock() -> Any:
        return v.sb.lock

    def body(req: Request) -> dict[str, Any]:
        payload = req.json()
        if not isinstance(payload, dict):
            raise HTTPError(400, "request body must be a JSON object", "bad_request")
        return payload

    # --- attributes --------------------------------------------------------------------------
    def get_attributes(req: Request) -> Any:
        out = []
        for a in v.db.attributes.values():
            item = {"name": a["name"], "category": a["category"]}
            if a.get("type"):
                item["type"] = a["type"]
            if a.get("enumeration"):
                item["enumeration"] = a["enumeration"]
            if a.get("multiCategoryOptions"):
                item["multiCategoryOptions"] = a["multiCategoryOptions"]
            out.append(item)
        return {"attributes": out}

    def create_attribute(req: Request) -> Response:
        category = req.params["attributeCategory"]
        name = req.params["attributeName"].upper()
        payload = body(req) if req.body else {}
        if category not in ATTRIBUTE_CATEGORIES:
            raise HTTPError(400, f"Invalid attribute category: {category}", "invalid_parameter")
        typ = payload.get("type") or ("category" if category == "category" else "text")
        if category in ("calculated", "global"):
            if not payload.get("value"):
                raise HTTPError(400, "value is required for calculated and global attributes", "missing_parameter")
            typ = None
        elif typ not in TYPE_RULES[category]:
            raise HTTPError(400, f"Attribute type {typ} is not allowed in category {category}", "invalid_parameter")
        if category == "category" and not payload.get("enumeration"):
            raise HTTPError(400, "enumeration is required for category attributes", "missing_parameter")
        if typ == "multiple-choice" and not payload.get("multiCategoryOptions"):
            raise HTTPError(400, "multiCategoryOptions is required for multiple-choice attributes",
                            "missing_parameter")
        with lock():
            if name in v.db.attributes:
                raise HTTPError(400, "Attribute name already exists", "duplicate_parameter")
            attr: dict[str, Any] = {"name": name, "category": category}
            if typ:
                attr["type"] = typ
            for key in ("enumeration", "multiCategoryOptions", "value", "isRecurring"):
                if key in payload:
                    attr[key] = payload[key]
            v.db.attributes[name] = attr
        return Response(None, 201)

    maybe("GET", "/contacts/attributes", get_attributes)
    v.endpoint("POST", "/contacts/attributes/{attributeCategory}/{attributeName}", create_attribute)

    # --- folders and lists -----------------------------------------------------------------------
    def counts(list_id: int) -> dict[str, int]:
        members = [c for c in v.db.contacts.values() if list_id in c.list_ids]
        black = sum(1 for c in members if c.email_blacklisted)
        return {"totalBlacklisted": black, "totalSubscribers": len(members) - black,
                "uniqueSubscribers": len(members)}

    def list_view(lst: dict[str, Any]) -> dict[str, Any]:
        return {**lst, **counts(lst["id"])}

    def folder_view(folder: dict[str, Any]) -> dict[str, Any]:
        lists = [lst["id"] for lst in v.db.lists.values() if lst["folderId"] == folder["id"]]
        total = {"totalBlacklisted": 0, "totalSubscribers": 0, "uniqueSubscribers": 0}
        for lid in lists:
            for k, n in counts(lid).items():
                total[k] += n
        return {**folder, **total}

    def page(req: Request, items: list[Any], default: int) -> tuple[list[Any], int]:
        limit = req.int_arg("limit", default, minimum=0, maximum=50)
        offset = req.int_arg("offset", 0, minimum=0)
        items = sorted(items, key=lambda x: x["id"], reverse=req.arg("sort", "desc") == "desc")
        return items[offset:offset + limit], len(items)

    def create_folder(req: Request) -> Response:
        name = (body(req).get("name") or "").strip()
        if not name:
            raise HTTPError(400, "name is missing", "missing_parameter")
        with lock():
            folder = v.db.new_folder(name)
        return Response({"id": folder["id"]}, 201)

    def get_folders(req: Request) -> Any:
        items, count = page(req, list(v.db.folders.values()), 10)
        return {"folders": [folder_view(f) for f in items], "count": count}

    def get_folder(req: Request) -> Any:
        folder = v.db.folders.get(_int(req.params["folderId"], "folderId"))
        if folder is None:
            raise HTTPError(404, "Folder ID does not exist", "document_not_found")
        return folder_view(folder)

    def create_list(req: Request) -> Response:
        payload = body(req)
        name = (payload.get("name") or "").strip()
        folder_id = payload.get("folderId")
        if not name:
            raise HTTPError(400, "name is missing", "missing_parameter")
        if not isinstance(folder_id, int) or folder_id not in v.db.folders:
            raise HTTPError(400, "Invalid folder ID" if folder_id is not None else "folderId is missing",
                            "invalid_parameter" if folder_id is not None else "missing_parameter")
        with lock():
            lst = v.db.new_list(name, folder_id, now())
        return Response({"id": lst["id"]}, 201)

    def get_lists(req: Request) -> Any:
        items, count = page(req, list(v.db.lists.values()), 10)
        return {"lists": [list_view(lst) for lst in items], "count": count}

    def get_list(req: Request) -> Any:
        lst = v.db.lists.get(_int(req.params["listId"], "listId"))
        if lst is None:
            raise HTTPError(404, "List ID does not exist", "document_not_found")
        return list_view(lst)

    def folder_lists(req: Request) -> Any:
        fid = _int(req.params["folderId"], "folderId")
        if fid not in v.db.folders:
            raise HTTPError(404, "Folder ID does not exist", "document_not_found")
        items, count = page(req, [lst for lst in v.db.lists.values() if lst["folderId"] == fid], 10)
        return {"lists": [{k: x[k] for k in ("id", "name")} | counts(x["id"]) for x in items], "count": count}

    def list_contacts(req: Request) -> Any:
        list_id = _int(req.params["listId"], "listId")
        if list_id not in v.db.lists:
            raise HTTPError(404, "List ID does not exist", "document_not_found")
        limit = req.int_arg("limit", 50, minimum=0, maximum=500)
        offset = req.int_arg("offset", 0, minimum=0)
        members = sorted((c for c in v.db.contacts.values() if list_id in c.list_ids), key=lambda c: c.id,
                         reverse=req.arg("sort", "desc") == "desc")
        return {"contacts": [c.to_api() for c in members[offset:offset + limit]], "count": len(members)}

    v.endpoint("POST", "/contacts/folders", create_folder)
    maybe("GET", "/contacts/folders", get_folders)
    maybe("GET", "/contacts/folders/{folderId}", get_folder)
    maybe("GET", "/contacts/folders/{folderId}/lists", folder_lists)
    v.endpoint("POST", "/contacts/lists", create_list)
    maybe("GET", "/contacts/lists", get_lists)
    maybe("GET", "/contacts/lists/{listId}", get_list)
    maybe("GET", "/contacts/lists/{listId}/contacts", list_contacts)

    def membership(req: Request, add: bool) -> Response:
        list_id = _int(req.params["listId"], "listId")
        payload = body(req)
        with lock():
            if list_id not in v.db.lists:
                raise HTTPError(404, "List ID does not exist", "document_not_found")
            if not add and payload.get("all") is True:
                for c in v.db.contacts.values():
                    c.list_ids.discard(list_id)
                pid = new_process("REMOVE_LIST_CONTACTS", status="completed")
                return Response({"contacts": {"processId": pid}}, 201)
            keys = [k for k in ("emails", "ids", "extIds") if k in payload]
            if len(keys) != 1:
                raise HTTPError(400, "Provide exactly one of emails, ids or extIds", "invalid_parameter")
            values = payload[keys[0]]
            if not isinstance(values, list) or not values:
                raise HTTPError(400, f"{keys[0]} must be a non-empty array", "invalid_parameter")
            if len(values) > LIST_CAP:
                raise HTTPError(400, f"You can add or remove at most {LIST_CAP} contacts at a time; "
                                     "use /contacts/import for bulk", "out_of_range")
            id_type = {"emails": "email_id", "ids": "contact_id", "extIds": "ext_id"}[keys[0]]
            success, failure, changed = [], [], 0
            for value in values:
                c = v.db.find(str(value), id_type)
                if c is None:
                    failure.append(value)
                    continue
                if add:
                    changed += list_id not in c.list_ids
                    c.list_ids.add(list_id)
                    c.unsubscribed_list_ids.discard(list_id)
                else:
                    changed += list_id in c.list_ids
                    c.list_ids.discard(list_id)
                c.modified_at = now()
                success.append(value)
            if not changed:
                what = "already in list" if add else "not in list"
                raise HTTPError(400, f"Contact {what} and/or does not exist", "invalid_parameter")
        return Response({"contacts": {"success": success, "failure": failure, "total": len(values)}}, 201)

    v.endpoint("POST", "/contacts/lists/{listId}/contacts/add", lambda r: membership(r, True))
    v.endpoint("POST", "/contacts/lists/{listId}/contacts/remove", lambda r: membership(r, False))

    # --- contacts --------------------------------------------------------------------------------
    def duplicate(names: list[str], message: str | None = None) -> HTTPError:
        what = names[0]
        return HTTPError(400, message or f"Unable to update contact, {what} is already associated with another Contact",
                         v.duplicate_code, metadata={"duplicate_identifiers": names})

    def check_sms(sms: Any) -> None:
        if sms is not None and not (isinstance(sms, str) and SMS_RE.match(sms)):
            raise HTTPError(400, "Invalid phone number", "invalid_parameter")

    def apply(c: Contact, payload: dict[str, Any], *, empty: bool = False) -> None:
        """Write attributes, flags and lists to ``c`` (identifiers are handled by the caller)."""
        for name, value in (payload.get("attributes") or {}).items():
            key = name.upper()
            if key in ("EMAIL", "SMS", "EXT_ID"):
                continue
            if value is None or value == "":
                if empty:
                    c.attributes.pop(key, None)
                continue
            if valid_value(v.db.attributes.get(key), value):
                c.attributes[key] = value
        for flag, attr in (("emailBlacklisted", "email_blacklisted"), ("smsBlacklisted", "sms_blacklisted")):
            if isinstance(payload.get(flag), bool):
                setattr(c, attr, payload[flag])
        for lid in payload.get("listIds") or []:
            if lid in v.db.lists:
                c.list_ids.add(lid)
        for lid in payload.get("unlinkListIds") or []:
            c.list_ids.discard(lid)
        c.modified_at = now()

    def set_identifiers(c: Contact | None, email: str | None, ext_id: str | None, sms: str | None,
                        conflict_message: str | None = None) -> Contact:
        """Create ``c`` or change its identifiers, enforcing uniqueness."""
        clash = v.db.conflicts(email, ext_id, sms, exclude=c.id if c else None)
        if clash:
            raise duplicate(clash, conflict_message)
        if c is None:
            attrs = {"SMS": sms} if sms else {}
            return v.db.new_contact(now(), email, ext_id, attrs)
        old = (c.email, c.ext_id, c.sms)
        if email:
            c.email = email
        if ext_id:
            c.ext_id = ext_id
        if sms:
            c.attributes["SMS"] = sms
        v.db.reindex(c, old)
        return c

    def create_contact(req: Request) -> Response:
        payload = body(req)
        attrs = {k.upper(): val for k, val in (payload.get("attributes") or {}).items()}
        email = payload.get("email") or attrs.get("EMAIL")
        ext_id = payload.get("ext_id") or attrs.get("EXT_ID")
        sms = attrs.get("SMS")
        if email is not None and not EMAIL_RE.match(str(email)):
            raise HTTPError(400, "Invalid email address", "invalid_parameter")
        check_sms(sms)
        if not (email or ext_id or sms):
            raise HTTPError(400, "Please provide Email or SMS attribute value to create user", "missing_parameter")
        with lock():
            existing = primary(v.db, email, ext_id, sms)
            if existing and not payload.get("updateEnabled"):
                names = [n for n, val, kind in (("email", email, "email_id"), ("ext_id", ext_id, "ext_id"),
                                                ("SMS", sms, "phone_id")) if val and v.db.find(val, kind)]
                raise duplicate(names, "Contact already exist")
            c = set_identifiers(existing, email, ext_id, sms)
            apply(c, payload)
        return Response({"id": c.id}, 201) if existing is None else Response(None, 204)

    def find_or_404(req: Request) -> Contact:
        id_type = req.arg("identifierType")
        c = v.db.find(unquote(req.params["identifier"]), id_type)  # emails arrive URL-encoded
        if c is None:
            raise HTTPError(404, "Contact does not exist", "document_not_found")
        return c

    def get_contact(req: Request) -> Any:
        c = find_or_404(req)
        return {**c.to_api(), "statistics": {}}

    def update_contact(req: Request) -> Response:
        payload = body(req)
        attrs = {k.upper(): val for k, val in (payload.get("attributes") or {}).items()}
        email, sms, ext_id = attrs.get("EMAIL"), attrs.get("SMS"), payload.get("ext_id") or attrs.get("EXT_ID")
        if email is not None and not EMAIL_RE.match(str(email)):
            raise HTTPError(400, "Invalid email address", "invalid_parameter")
        check_sms(sms)
        with lock():
            c = find_or_404(req)
            set_identifiers(c, email, ext_id, sms)
            apply(c, payload)
        return Response(None, 204)

    def delete_contact(req: Request) -> Response:
        with lock():
            v.db.delete(find_or_404(req))
        return Response(None, 204)

    def batch_contacts(req: Request) -> Response:
        items = body(req).get("contacts")
        if not isinstance(items, list) or not items:
            raise HTTPError(400, "contacts must be a non-empty array", "invalid_parameter")
        with lock():
            found, missing = [], []
            for i, item in enumerate(items):
                ids = [(k, item.get(k)) for k in ("email", "id", "sms") if item.get(k) is not None]
                if len(ids) != 1:
                    raise HTTPError(400, f"contact at index {i} needs exactly one of email, id or sms",
                                    "invalid_parameter")
                kind, value = ids[0]
                c = v.db.find(str(value), {"email": "email_id", "id": "contact_id", "sms": "phone_id"}[kind])
                (found.append((c, item)) if c else missing.append(i))
            if missing:
                # All or nothing: nothing is updated (brevo.md pitfall 1).
                raise HTTPError(404, "No contact found for indexes " + ",".join(map(str, missing)),
                                "document_not_found")
            for c, item in found:
                clash = v.db.conflicts(None, item.get("ext_id"), (item.get("attributes") or {}).get("SMS"),
                                       exclude=c.id)
                if clash:
                    raise HTTPError(400, f"Unable to update contact, {clash[0]} is already associated "
                                         "with another Contact", "invalid_parameter")
            for c, item in found:
                set_identifiers(c, None, item.get("ext_id"), (item.get("attributes") or {}).get("SMS"))
                apply(c, item)
        return Response(None, 204)

    maybe("GET", "/contacts/{identifier}", get_contact)
    v.endpoint("POST", "/contacts", create_contact)
    v.endpoint("PUT", "/contacts/{identifier}", update_contact)
    v.endpoint("DELETE", "/contacts/{identifier}", delete_contact)
    v.endpoint("POST", "/contacts/batch", batch_contacts)

    # --- imports and processes ---------------------------------------------------------------------
    def new_process(name: str, status: str = "queued") -> int:
        pid = next(v.db.process_ids)
        v.db.processes[pid] = {"id": pid, "name": name, "status": status}
        return pid

    def import_contacts(req: Request) -> Response:
        if len(req.body) > MAX_IMPORT_BYTES:
            raise HTTPError(400, "The file or body exceeds the 10 MB limit; use fileUrl", "out_of_range")
        payload = body(req)
        sources = [k for k in ("fileUrl", "fileBody", "jsonBody") if payload.get(k) is not None]
        if len(sources) != 1:
            raise HTTPError(400, "Provide exactly one of fileUrl, fileBody or jsonBody", "invalid_parameter")
        if sources[0] == "fileUrl":
            raise HTTPError(400, "fileUrl cannot be fetched from the sandbox; use jsonBody or fileBody",
                            "invalid_parameter")
        rows = payload["jsonBody"] if sources[0] == "jsonBody" else _csv_rows(payload["fileBody"])
        if not isinstance(rows, list) or not rows:
            raise HTTPError(400, "We could not find any valid email or SMS or Contact ID in the file",
                            "invalid_parameter")
        list_ids = payload.get("listIds") or []
        with lock():
            if payload.get("newList"):
                nl = payload["newList"]
                if not nl.get("listName") or nl.get("folderId") not in v.db.folders:
                    raise HTTPError(400, "newList needs listName and an existing folderId", "invalid_parameter")
                list_ids = [v.db.new_list(nl["listName"], nl["folderId"], now())["id"]]
            if not list_ids:
                raise HTTPError(400, "listIds or newList is mandatory", "missing_parameter")
            unknown = [lid for lid in list_ids if lid not in v.db.lists]
            if unknown:
                raise HTTPError(404, f"List ID(s) {unknown} do not exist", "document_not_found")
            pid = new_process("IMPORTUSER")
        delay = v.import_delay + v.import_delay_per_row * len(rows)
        db = v.db  # a reset between tests must not receive this import
        timer = threading.Timer(delay, run_import, (db, pid, rows, list_ids, payload, req.base_url))
        timer.daemon = True
        timer.start()
        return Response({"processId": pid}, 202)

    def run_import(db: Store, pid: int, rows: list[Any], list_ids: list[int], payload: dict[str, Any],
                   base_url: str) -> None:
        with lock():
            if db is not v.db or pid not in db.processes:
                return
            if v.fail_imports > 0:
                v.fail_imports -= 1
                db.processes[pid]["status"] = "failed"
                return
            reports: dict[str, list[str]] = {}
            seen: dict[str, set[str]] = {"email": set(), "ext_id": set(), "sms": set()}
            update = payload.get("updateExistingContacts", True)
            empty = payload.get("emptyContactsAttributes", False) and update
            for row in rows:
                attrs = {k.upper(): val for k, val in ((row.get("attributes") or {}) if isinstance(row, dict)
                                                       else {}).items()}
                email = row.get("email") if isinstance(row, dict) else None
                email = email or attrs.get("EMAIL")
                ext_id, sms = attrs.get("EXT_ID"), attrs.get("SMS")
                line = f"{email or ''};{sms or ''};{ext_id or ''}"
                if (email and not EMAIL_RE.match(str(email))) or (sms and not SMS_RE.match(str(sms))) \
                        or not (email or ext_id or sms):
                    reports.setdefault("invalid_emails", []).append(line)
                    continue
                dup = next((rep for key, val, rep in (("email", email and email.lower(), "duplicate_email_id"),
                                                      ("ext_id", ext_id, "duplicate_ext_id"),
                                                      ("sms", sms, "duplicate_phone_id"))
                            if val and val in seen[key]), None)
                if dup:
                    reports.setdefault(dup, []).append(line)
                    continue
                for key, val in (("email", email and email.lower()), ("ext_id", ext_id), ("sms", sms)):
                    if val:
                        seen[key].add(val)
                existing = primary(db, email, ext_id, sms)
                if existing and not update:
                    continue
                clash = db.conflicts(email, ext_id, sms, exclude=existing.id if existing else None)
                if clash:
                    rep = {"email": "duplicate_email_id", "ext_id": "duplicate_ext_id"}.get(clash[0],
                                                                                        "duplicate_phone_id")
                    reports.setdefault(rep, []).append(line)
                    continue
                c = set_identifiers(existing, email, ext_id, sms)
                apply(c, {"attributes": attrs, "listIds": list_ids,
                          **({"emailBlacklisted": True} if payload.get("emailBlacklist") else {}),
                          **({"smsBlacklisted": True} if payload.get("smsBlacklist") else {})}, empty=empty)
            info = {}
            for name in REPORTS:
                if name in reports:
                    v.import_reports[(pid, name)] = "EMAIL;SMS;EXT_ID\n" + "\n".join(reports[name]) + "\n"
                    info[name] = f"{base_url}/_reports/imports/{pid}/{name}.csv"
                else:
                    info[name] = None
            db.processes[pid].update(status="completed", info={"import": info})

    def get_process(req: Request) -> Any:
        proc = v.db.processes.get(_int(req.params["processId"], "processId"))
        if proc is None:
            raise HTTPError(404, "Process ID does not exist", "document_not_found")
        return proc

    def get_report(req: Request) -> Response:
        text = v.import_reports.get((_int(req.params["processId"], "processId"),
                                     req.params["report"].removesuffix(".csv")))
        if text is None:
            raise HTTPError(404, "Report not found", "document_not_found")
        return Response(text, 200, content_type="text/csv")

    v.endpoint("POST", "/contacts/import", import_contacts)
    maybe("GET", "/processes/{processId}", get_process)
    # Brevo serves these from its file host (presigned URLs, no api-key); see overlays/brevo_write.
    # Their own bucket (no limit): they are not API calls on Brevo's side.
    v.route("GET", "/_reports/imports/{processId}/{report}", get_report, bucket="files", auth=False)

    # --- events ----------------------------------------------------------------------------------
    def check_event(e: Any) -> str | None:
        """Brevo's validation of one event; the message, or None when it is valid."""
        if not isinstance(e, dict):
            return "event must be an object"
        name = e.get("event_name")
        if not isinstance(name, str) or not EVENT_NAME_RE.match(name):
            return "event_name is required: at most 255 characters, alphanumeric, - and _ only"
        ids = e.get("identifiers")
        if not isinstance(ids, dict) or not any(ids.get(k) for k in (
                "email_id", "phone_id", "whatsapp_id", "landline_number_id", "ext_id", "contact_id")):
            return "identifiers must contain at least one identifier"
        if ids.get("contact_id") and int(ids["contact_id"]) not in v.db.contacts:
            return "Record(s) for identifier not found"
        if ids.get("email_id") and not EMAIL_RE.match(str(ids["email_id"])):
            return "Invalid email_id"
        if len(encode(e.get("event_properties") or {})) > 50 * 1024:
            return "event_properties must not exceed 50 KB"
        if e.get("event_date") is not None:
            try:
                data.parse_dt(str(e["event_date"]))
            except ValueError:
                return f"Invalid event_date: {e['event_date']}"
        return None

    def store_event(e: dict[str, Any]) -> None:
        ids = e["identifiers"]
        c = None
        if ids.get("contact_id"):
            c = v.db.contacts.get(int(ids["contact_id"]))
        for key, kind in (("email_id", "email_id"), ("ext_id", "ext_id"), ("phone_id", "phone_id")):
            if c is None and ids.get(key):
                c = v.db.find(str(ids[key]), kind)
        if c is None and (ids.get("email_id") or ids.get("ext_id") or ids.get("phone_id")):
            # Brevo creates the contact an event names when it does not exist yet.
            email, ext_id, sms = ids.get("email_id"), ids.get("ext_id"), ids.get("phone_id")
            if not v.db.conflicts(email, ext_id, sms):
                c = v.db.new_contact(now(), email, ext_id, {"SMS": sms} if sms else {})
        if c is not None and e.get("contact_properties"):
            apply(c, {"attributes": e["contact_properties"]})
        v.db.events.append({
            "event_name": e["event_name"], "event_date": e.get("event_date") or _iso(now()),
            "contact_id": c.id if c else None, "identifiers": ids,
            "event_properties": e.get("event_properties") or {},
            "contact_properties": e.get("contact_properties") or {},
            "object": e.get("object"), "created_at": _iso(now())})

    def create_event(req: Request) -> Response:
        e = body(req)
        problem = check_event(e)
        if problem:
            raise HTTPError(400, problem, "invalid_parameter")
        with lock():
            store_event(e)
        return Response(None, 204)

    def batch_events(req: Request) -> Response:
        events = body(req).get("events")
        if not isinstance(events, list) or not events:
            raise HTTPError(400, "events must be a non-empty array", "invalid_parameter")
        if len(events) > v.events_batch_max:
            raise HTTPError(400, f"At most {v.events_batch_max} events per batch", "out_of_range")
        errors = []
        with lock():
            for i, e in enumerate(events):
                problem = check_event(e)
                if problem:
                    errors.append({"index": i, "event_name": e.get("event_name") if isinstance(e, dict) else None,
                                   "message": problem})
                else:
                    store_event(e)
        ok = len(events) - len(errors)
        if errors:
            return Response({"message": "Batch partially accepted.", "successCount": ok,
                             "failureCount": len(errors), "errors": errors}, 207)
        return Response({"message": "Batch accepted. Valid events have been added to the processing queue.",
                         "count": ok}, 202)

    v.endpoint("POST", "/events", create_event)
    v.endpoint("POST", "/events/batch", batch_events)

    # --- ecommerce -------------------------------------------------------------------------------
    def batch_upsert(req: Request, key: str, cap: int, table: dict[str, dict[str, Any]],
                     required: tuple[str, ...]) -> Response:
        payload = body(req)
        items = payload.get(key)
        if not isinstance(items, list) or not items:
            raise HTTPError(400, f"{key} must be a non-empty array", "invalid_parameter")
        if len(items) > cap:
            raise HTTPError(400, f"At most {cap} {key} per request", "out_of_range")
        ids = [str(it.get("id")) for it in items]
        if len(set(ids)) != len(ids):
            raise HTTPError(400, f"Duplicate {key[:-1]} id in the payload", "duplicate_parameter")
        update = bool(payload.get("updateEnabled"))
        created = updated = 0
        with lock():
            for it in items:
                old = table.get(str(it["id"]))
                if old is not None and not update:
                    raise HTTPError(400, f"{key[:-1].capitalize()} {it['id']} already exists; "
                                         "set updateEnabled to update it", "duplicate_parameter")
                missing = [f for f in required if it.get(f) in (None, "") and old is None]
                if missing:
                    raise HTTPError(400, f"{missing[0]} is mandatory when creating {key[:-1]} {it['id']}",
                                    "missing_parameter")
            for it in items:
                old = table.get(str(it["id"]))
                stamp = _iso(now())
                obj = {**(old or {}), **{k: val for k, val in it.items() if k != "updateEnabled"},
                       "id": str(it["id"]), "modifiedAt": stamp}
                obj.setdefault("createdAt", stamp)
                table[obj["id"]] = obj
                created += old is None
                updated += old is not None
        return Response({"createdCount": created, "updatedCount": updated}, 201)

    def batch_orders(req: Request) -> Response:
        payload = body(req)
        orders = payload.get("orders")
        if not isinstance(orders, list) or not orders:
            raise HTTPError(400, "orders must be a non-empty array", "invalid_parameter")
        if len(orders) > 1000:
            raise HTTPError(400, "At most 1000 orders per request", "out_of_range")
        for o in orders:
            for f in ("createdAt", "updatedAt"):
                if not ORDER_DATE_RE.match(str(o.get(f, ""))):
                    raise HTTPError(400, f"order {o.get('id')}: {f} must be UTC YYYY-MM-DDTHH:mm:ssZ",
                                    "invalid_parameter")
        with lock():
            for o in orders:
                # Orders are keyed by id: a replay overwrites, it does not duplicate.
                v.db.orders[str(o["id"])] = {**o, "historical": payload.get("historical", True)}
            batch_id = next(v.db.process_ids)
        return Response({"batchId": batch_id, "count": len(orders)}, 202)

    v.endpoint("POST", "/categories/batch",
               lambda r: batch_upsert(r, "categories", 100, v.db.categories, ("name",)))
    v.endpoint("POST", "/products/batch", lambda r: batch_upsert(r, "products", 100, v.db.products, ("name",)))
    v.endpoint("POST", "/orders/status/batch", batch_orders)


def primary(db: Store, email: str | None, ext_id: str | None, sms: str | None) -> Contact | None:
    """The contact a write is about: by email when given, else EXT_ID, else SMS.

    The other identifiers are then checked for uniqueness, so an email that is new with an SMS
    that another contact owns is a duplicate error, not an update of that other contact.
    """
    if email:
        return db.find(email, "email_id")
    if ext_id:
        return db.find(ext_id, "ext_id")
    return db.find(sms, "phone_id") if sms else None


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise HTTPError(400, f"{name} must be an integer", "invalid_parameter") from None


def _csv_rows(text: str) -> list[dict[str, Any]]:
    """``fileBody``: semicolon-separated CSV with a header of attribute names."""
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    if not lines or (";" not in lines[0] and "EMAIL" not in lines[0].upper()):
        return []
    head = [h.strip().upper() for h in lines[0].split(";")]
    rows = []
    for ln in lines[1:]:
        cells = dict(zip(head, (c.strip() for c in ln.split(";")), strict=False))
        rows.append({"email": cells.pop("EMAIL", None) or None, "attributes": {k: x for k, x in cells.items() if x}})
    return rows
