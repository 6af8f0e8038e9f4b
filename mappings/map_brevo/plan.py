"""Compile the merged mapping into per-stream transforms and output schemas.

Routes are compiled once per input SCHEMA into flat lists of (name, getter, coercer) so the
per-record work is a handful of dict lookups.
"""

from __future__ import annotations

import fnmatch
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from map_brevo import fastpath
from map_brevo import values as vals
from map_brevo.spec import CONTACT_TOP_LEVEL, MappingError, Merged, Sourced, sanitise_attribute

logger = logging.getLogger("map-brevo")
DROP: Any = object()
LIST_ID_SCHEMA = {"type": ["array", "null"], "items": {"type": "integer"}}
LIST_NAME_SCHEMA = {"type": ["array", "null"], "items": {"type": "string"}}
STR_OR_NULL = {"type": ["string", "null"]}
OBJ_OR_NULL = {"type": ["object", "null"]}


class RecordError(MappingError):
    """A problem with one record; the reader adds the input line number."""


@dataclass
class Output:
    """One output stream of a bound route."""

    stream: str
    schema: dict
    key_properties: list[str]
    bookmark_properties: list[str] | None


class Plan:
    """The effective mapping: settings, list tables, and routes by stream."""

    def __init__(self, merged: Merged, *, carry_keys: bool = True) -> None:
        self.m = merged
        self.prefix: str = merged.setting("prefix", "")
        self.unmapped_fields: str = merged.setting("unmapped_fields", "drop")
        self.event_name_policy: str = merged.setting("event_name_policy", "snake_case")
        self.unrouted: str = merged.setting("unrouted_streams", "pass_through")
        self.unmapped_lists: str = merged.setting("unmapped_lists", "name")
        self.invalid_values: str = merged.setting("invalid_values", "warn")
        self.carry_keys = carry_keys
        self.lists = {k: s.value for k, s in merged.lists.items() if s.value is not None}
        self.list_map = {k: s.value for k, s in merged.list_map.items() if s.value is not None}
        self.hints = {k: s.value for k, s in merged.type_hints.items() if s.value is not None}
        self.event_map = {k: (DROP if s.value is None else s.value) for k, s in merged.event_mapping.items()}
        self.stats: Counter[str] = Counter()
        self.warned: set[str] = set()
        exact, globs = {}, []
        for pattern, s in merged.stream_routing.items():
            if any(c in pattern for c in "*?["):
                globs.append((pattern, s))
            else:
                exact[pattern] = s
        self.exact, self.globs = exact, globs
        self._name_outputs()
        # Conflicts for named streams are found now, before any record flows.
        for stream, s in [*exact.items(), *globs]:
            for r in s.value or []:
                if r["type"] == "contacts" or r["type"] in ("categories", "products", "orders"):
                    self.fields_for(stream, r)

    def _name_outputs(self) -> None:
        by_type: Counter[str] = Counter()
        for _, s in [*self.exact.items(), *self.globs]:
            for r in s.value or []:
                by_type[r["type"]] += 1
        seen: dict[str, str] = {}
        for stream, s in self.exact.items():
            for r in s.value or []:
                if "output" not in r:
                    alone = by_type[r["type"]] == 1
                    r["output"] = self.out_name(r["type"] if alone else f"{stream}_{r['type']}")
                where = f"{r['origin']}, key `{r['key']}`"
                if r["output"] in seen:
                    msg = (f"{where}: output stream {r['output']!r} is also produced by {seen[r['output']]}; "
                           f"give one of them its own `output` name")
                    raise MappingError(msg)
                seen[r["output"]] = where

    def out_name(self, base: str) -> str:
        return f"{self.prefix}_{base}" if self.prefix else base

    def routes_for(self, stream: str) -> list[dict] | None:
        """The routes of a stream; None when no route covers it; [] when it is routed to `drop`."""
        s = self.exact.get(stream)
        if s is None:
            for pattern, gs in self.globs:
                if fnmatch.fnmatchcase(stream, pattern):
                    s = gs
                    break
        if s is None:
            return None
        routes = []
        for r in s.value or []:
            if "output" not in r:
                r = {**r, "output": self.out_name(stream if stream == r["type"] else f"{stream}_{r['type']}")}  # noqa: PLW2901
            routes.append(r)
        return routes

    # --- field mappings ---------------------------------------------------------------------------
    def fields_for(self, stream: str, route: dict) -> list[tuple[str, list[str], str]]:
        """(target, [paths], origin) per target, with duplicate targets checked for a precedence."""
        contacts = route["type"] == "contacts"
        layered: dict[str, Sourced] = {}
        if contacts:
            layered.update(self.m.field_mapping)
        layered.update(route.get("fields", {}))
        if contacts:
            layered.update(self.m.stream_fields.get(stream, {}))
        precedence: dict[str, Sourced] = {}
        if contacts:
            precedence.update(self.m.precedence)
        precedence.update(route.get("precedence", {}))
        norm = (lambda t: CONTACT_TOP_LEVEL.get(t, t)) if contacts else (lambda t: t)
        prec = {norm(t): s for t, s in precedence.items()}
        by_target: dict[str, list[tuple[str, Sourced]]] = {}
        for src, s in layered.items():
            if s.value is not None:
                for one in s.value if isinstance(s.value, list) else [s.value]:
                    by_target.setdefault(norm(one), []).append((src, s))
        out = []
        for tgt, srcs in by_target.items():
            if tgt in prec:
                out.append((tgt, prec[tgt].value, prec[tgt].origin))
                continue
            if len(srcs) > 1:
                names = ", ".join(f"`{p}`" for p, _ in srcs)
                second = srcs[-1][1]
                msg = (f"two source fields ({names}) map to {tgt!r} without a stated precedence; "
                       f"add `precedence: {{{tgt}: [{', '.join(p for p, _ in srcs)}]}}` "
                       f"(first non-null wins) or set one of them to null")
                raise second.fail(msg)
            out.append((tgt, [srcs[0][0]], srcs[0][1].origin))
        for tgt, s in prec.items():
            if tgt not in by_target:
                out.append((tgt, s.value, s.origin))
        return out

    # --- lists ------------------------------------------------------------------------------------
    def resolve_list(self, ref: Any) -> tuple[int | None, str | None]:
        """A list name or id -> (list_id, list_name), through the `lists` table."""
        v = self.lists.get(str(ref), ref)
        if isinstance(v, int):
            return v, None
        return None, str(v)

    def map_source_list(self, src: Any, where: str) -> tuple[int | None, str | None] | None:
        """A source list/segment id -> Brevo list, through `list_map` then `lists`."""
        key = str(src)
        if key in self.list_map:
            return self.resolve_list(self.list_map[key])
        if self.unmapped_lists == "error":
            msg = f"{where}: source list {key!r} has no entry in `list_map` and unmapped_lists is `error`"
            raise RecordError(msg)
        if self.unmapped_lists == "drop":
            self.stats["list_unmapped_dropped"] += 1
            return None
        self.stats["list_unmapped_by_name"] += 1
        return None, key

    # --- binding ----------------------------------------------------------------------------------
    def bind(self, stream: str, schema: dict, keys: list[str], bookmarks: list[str] | None,
             routes: list[dict]) -> list[Bound]:
        return [Bound(self, stream, r, schema, keys or [], bookmarks or []) for r in routes]


class Bound:
    """One route compiled against one input schema."""

    def __init__(self, plan: Plan, stream: str, route: dict, schema: dict, keys: list[str],
                 bookmarks: list[str]) -> None:
        self.plan, self.stream, self.route = plan, stream, route
        self.type = route["type"]
        self.in_schema = schema
        self.each = vals.getter(route["each"]) if route.get("each") else None
        each_schema = vals.schema_at(schema, route["each"]) if route.get("each") else None
        self.item_schema = (each_schema or {}).get("items") or {} if self.each else schema
        self.out_stream = route["output"]
        self.invalid = plan.invalid_values
        self.used: set[str] = set()
        props: dict[str, Any] = {}
        # Keys and replication keys are carried as `source_<name>` so the output's key_properties
        # and bookmark_properties point at fields that exist in every output record.
        self.carried: list[tuple[str, vals.Getter]] = []
        self.carried_paths: list[tuple[str, str]] = []
        out_keys, out_bookmarks = [], []
        if plan.carry_keys:
            for k in dict.fromkeys([*keys, *bookmarks]):
                name = f"source_{k}"
                self.carried.append((name, vals.getter(f"parent.{k}" if self.each else k)))
                self.carried_paths.append((name, f"parent.{k}" if self.each else k))
                props[name] = vals.nullable(vals.schema_at(schema, k)) or {}
                self.used.add(k)
            out_keys = [f"source_{k}" for k in keys]
            out_bookmarks = [f"source_{k}" for k in bookmarks]
        self.transform: Callable[[dict], Iterator[dict]]
        build = {"contacts": self._contacts, "events": self._events,
                 "list_memberships": self._memberships}.get(self.type, self._generic)
        build(props)
        if route.get("where"):
            self._filter(*route["where"])
        self.used.update(route.get("ignore", []))
        self._check_unmapped()
        self.output = Output(self.out_stream, {"type": "object", "properties": props},
                             out_keys, out_bookmarks or None)

    # --- helpers ----------------------------------------------------------------------------------
    def _filter(self, expr: str, tree: Any) -> None:
        """Keep only the records the route's `where` rule accepts (counted in the summary)."""
        current: list[dict] = [{}]

        def get(path: str, default: Any = None) -> Any:
            v = vals.getter(path)(current[0])
            return default if v is vals.MISSING or v is None else v

        rule = fastpath.compile_rule(expr, tree, get)
        inner, stats, tag = self.transform, self.plan.stats, f"filtered_out:{self.out_stream}"

        def filtered(rec: dict) -> Any:
            current[0] = rec
            try:
                keep = rule(rec)
            except Exception:  # a rule that cannot be evaluated on this record does not match
                keep = False
            if keep:
                return inner(rec)
            stats[tag] += 1
            return ()

        self.transform = filtered

    def _path(self, p: str) -> str:
        return p[len("parent."):] if self.each and p.startswith("parent.") else p

    def _use(self, paths: list[str]) -> vals.Getter:
        for p in paths:
            self.used.add(self._path(p).split(".")[0] if not self.each or p.startswith("parent.") else self.route["each"])
        return vals.coalesce(paths)

    def _src_schema(self, paths: list[str]) -> dict | None:
        for p in paths:
            if self.each and p.startswith("parent."):
                s = vals.schema_at(self.in_schema, p[len("parent."):])
            else:
                s = vals.schema_at(self.item_schema, p)
            if s:
                return s
        return None

    def _value_spec(self, spec: Any) -> vals.Getter:
        if isinstance(spec, dict):
            const = spec["value"]
            return lambda _r: const
        return self._use(spec)

    def _bad(self, field: str, rec: dict, exc: Exception) -> None:
        """An invalid value: reported with stream, record key and field; dropped or fatal."""
        keys = {n: g(rec) for n, g in self.carried if g(rec) is not vals.MISSING}
        where = f"stream {self.stream!r}, record {keys or '(no key)'}, field {field!r}"
        if self.invalid == "error":
            msg = f"{where}: {exc}"
            raise RecordError(msg)
        self.plan.stats[f"invalid_value:{self.stream}.{field}"] += 1
        tag = f"{self.stream}.{field}"
        if tag not in self.plan.warned:
            self.plan.warned.add(tag)
            logger.warning("%s: %s; the value is left out (invalid_values: warn)", where, exc)

    def _items(self, rec: dict) -> list[dict]:
        if not self.each:
            return [rec]
        arr = self.each(rec)
        if arr.__class__ is not list:
            return []
        return [{**x, "parent": rec} if x.__class__ is dict else {"value": x, "parent": rec} for x in arr]

    def _check_unmapped(self) -> None:
        if self.plan.unmapped_fields != "error" or self.each:
            return
        unmapped = [k for k in (self.in_schema.get("properties") or {}) if k not in self.used]
        if unmapped:
            msg = (f"stream {self.stream!r} ({self.route['origin']}, key `{self.route['key']}`): source fields "
                   f"{', '.join(unmapped)} are not mapped and unmapped_fields is `error`; map them, list them "
                   f"under the route's `ignore`, or set unmapped_fields to drop or pass_through")
            raise MappingError(msg)

    def _passthrough(self, taken: set[str]) -> list[tuple[str, str]]:
        """(source path, ATTRIBUTE) for unmapped fields, nested objects flattened with `_`."""
        out: list[tuple[str, str]] = []

        def walk(schema: dict, prefix: str) -> None:
            for name, sub in (schema.get("properties") or {}).items():
                path = f"{prefix}{name}"
                if not prefix and name in self.used:
                    if any(u.startswith(path + ".") for u in self._all_paths):
                        walk(sub, path + ".")
                    continue
                if path in self._all_paths:
                    continue
                if isinstance(sub, dict) and isinstance(sub.get("properties"), dict) and sub["properties"]:
                    walk(sub, path + ".")
                    continue
                attr = sanitise_attribute(path.replace(".", "_"))
                if attr and attr not in taken:
                    taken.add(attr)
                    out.append((path, attr))

        walk(self.in_schema, "")
        return out

    # --- contacts ---------------------------------------------------------------------------------
    def _contacts(self, props: dict) -> None:
        plan = self.plan
        fields = plan.fields_for(self.stream, self.route)
        self._all_paths = {p for _, paths, _ in fields for p in paths}
        # (target, paths, hint, coercer) for top-level contact fields and for attributes
        top: list[tuple[str, list[str], str | None, Any]] = []
        attrs: list[tuple[str, list[str], str | None, Any]] = []
        attr_props: dict[str, Any] = {}
        for tgt, paths, _origin in fields:
            self._use(paths)
            hint = plan.hints.get(tgt)
            if tgt in CONTACT_TOP_LEVEL.values():
                flag = tgt in ("email_blacklisted", "sms_blacklisted", "deleted")
                top.append((tgt, paths, "boolean" if flag else "text", vals.to_boolean if flag else vals.to_text))
                props[tgt] = {"type": ["boolean", "null"]} if flag else dict(STR_OR_NULL)
            else:
                attrs.append((tgt, paths, hint, vals.COERCE[hint] if hint else None))
                attr_props[tgt] = dict(vals.HINT_SCHEMA[hint]) if hint else vals.nullable(self._src_schema(paths))
        if plan.unmapped_fields == "pass_through":
            for path, attr in self._passthrough(set(attr_props) | set(props)):
                hint = plan.hints.get(attr)
                src = vals.schema_at(self.in_schema, path) or {}
                types = src.get("type") if isinstance(src.get("type"), list) else [src.get("type")]
                if not hint and {"object", "array"} & set(types):
                    hint = "text"  # Brevo attributes are scalars: nested values travel as JSON text
                attrs.append((attr, [path], hint, vals.COERCE[hint] if hint else None))
                attr_props[attr] = dict(vals.HINT_SCHEMA[hint]) if hint else vals.nullable(src)
        props["attributes"] = {"type": "object", "properties": attr_props}
        # Lists
        route = self.route
        static = route.get("static_lists") or plan.m.static_lists
        static_ids, static_names = [], []
        for ref in (static.value if isinstance(static, Sourced) else static) or []:
            lid, lname = plan.resolve_list(ref)
            (static_ids.append(lid) if lid is not None else static_names.append(lname))
        current: list[dict] = [{}]

        def get(path: str, default: Any = None) -> Any:
            v = vals.getter(path)(current[0])
            return default if v is vals.MISSING or v is None else v

        rules = []
        # Names the rules read; None when one needs simpleeval and so every name.
        rule_names: set[str] | None = set()
        for name, s in {**plan.m.list_rules, **route.get("list_rules", {})}.items():
            if s.value is not None:
                rules.append((name, plan.resolve_list(name), fastpath.compile_rule(s.value[0], s.value[1], get)))
                used = fastpath.rule_names(s.value[1])
                rule_names = None if used is None or rule_names is None else rule_names | used
        names_read = tuple(rule_names) if rule_names is not None else None
        missing = vals.MISSING
        src_lists = self._use(route["source_lists"]) if route.get("source_lists") else None
        has_lists = bool(static_ids or static_names or rules or src_lists)
        if has_lists:
            props["list_ids"] = LIST_ID_SCHEMA
            props["list_names"] = LIST_NAME_SCHEMA
        stats = plan.stats
        stream = self.stream

        def lists(rec: dict, out: dict, a: dict) -> None:
            ids = list(static_ids)
            names = list(static_names)
            if rules:
                current[0] = rec
                if names_read is None:
                    env = {**rec, **out, **a}
                else:  # only the names the rules read: attributes, then contact fields, then source
                    env = {}
                    for n in names_read:
                        v = a.get(n, missing)
                        if v is missing:
                            v = out.get(n, missing)
                            if v is missing:
                                v = rec.get(n, missing)
                                if v is missing:
                                    continue
                        env[n] = v
                for lname, (lid, lnm), rule in rules:
                    try:
                        hit = rule(env)
                    except Exception:  # a rule that cannot be evaluated on this record (a null, a missing name) is not a match
                        stats[f"rule_not_evaluable:{lname}"] += 1
                        continue
                    if hit:
                        (ids.append(lid) if lid is not None else names.append(lnm))
            if src_lists is not None:
                sv = src_lists(rec)
                for one in (sv if sv.__class__ is list else [sv]):
                    if one is None or one is vals.MISSING:
                        continue
                    got = plan.map_source_list(one, f"stream {stream!r}")
                    if got:
                        (ids.append(got[0]) if got[0] is not None else names.append(got[1]))
            out["list_ids"] = list(dict.fromkeys(ids))
            out["list_names"] = list(dict.fromkeys(names)) or None

        em = fastpath.Emitter()
        em.env["bad"] = self._bad
        em.lines += ["def contacts(rec):", "    out = {}"]
        for cname, path in self.carried_paths:
            em.access([path], "    ")
            em.lines.append(f"    out[{cname!r}] = None if v is M else v")
        for tgt, paths, hint, coerce in top:
            em.field(tgt, "out", paths, hint, coerce)
        em.lines.append("    a = {}")
        for tgt, paths, hint, coerce in attrs:
            em.field(tgt, "a", paths, hint, coerce)
        em.lines.append("    out['attributes'] = a")
        if has_lists:
            em.env["lists"] = lists
            em.lines.append("    lists(rec, out, a)")
        em.lines.append("    return (out,)")
        self.transform = em.build("contacts")

    # --- events -----------------------------------------------------------------------------------
    def _events(self, props: dict) -> None:
        plan, route = self.plan, self.route
        name_of = self._value_spec(route["event_name"])
        date_of = self._value_spec(route["event_date"]) if route.get("event_date") else None
        ids = [(k, self._use(p)) for k, p in route["identifiers"].items()]
        cprops = []
        for attr, paths in route.get("contact_properties", {}).items():
            hint = plan.hints.get(attr)
            cprops.append((attr, self._use(paths), vals.COERCE[hint] if hint else None))
        parts: list[Any] = []
        for part in route.get("event_properties", []):
            if isinstance(part, dict):
                parts.append([(k, self._use(p)) for k, p in part.items()])
            else:
                parts.append(self._use([part]))
        props.update({
            "event_name": {"type": "string"},
            "event_date": {"type": ["string", "null"], "format": "date-time"},
            "identifiers": {"type": "object",
                            "properties": {k: {"type": ["string", "integer", "null"]} for k, _ in ids}},
            "event_properties": OBJ_OR_NULL,
        })
        if cprops:
            props["contact_properties"] = {"type": "object", "properties": {
                a: dict(vals.HINT_SCHEMA[plan.hints[a]]) if a in plan.hints else {} for a, _, _ in cprops}}
        names_cache: dict[Any, Any] = {}
        emap, policy, stats = plan.event_map, plan.event_name_policy, plan.stats
        stream = self.stream

        def resolve(raw: Any) -> Any:
            if raw in emap:
                return emap[raw]
            if policy == "drop":
                return DROP
            name = str(raw) if policy == "keep" else vals.snake_case(str(raw))
            return name or DROP

        carried, bad, items = self.carried, self._bad, self._items
        clean = vals.clean_keys

        def events(rec: dict) -> Iterator[dict]:
            for item in items(rec):
                raw = name_of(item)
                if raw is None or raw is vals.MISSING:
                    stats[f"events_without_name:{stream}"] += 1
                    continue
                name = names_cache.get(raw)
                if name is None:
                    name = names_cache[raw] = resolve(raw)
                if name is DROP:
                    if raw not in emap:
                        stats[f"events_dropped_by_policy:{raw}"] += 1
                    else:
                        stats[f"events_dropped_by_mapping:{raw}"] += 1
                    continue
                out: dict[str, Any] = {}
                for cname, g in carried:
                    v = g(item)
                    out[cname] = None if v is vals.MISSING else v
                out["event_name"] = name
                d = None
                if date_of is not None:
                    d = date_of(item)
                    if d is vals.MISSING or d is None:
                        d = None
                    else:
                        try:
                            d = vals.to_datetime(d)
                        except ValueError as exc:
                            bad("event_date", item, exc)
                            d = None
                out["event_date"] = d
                ident = {}
                for k, g in ids:
                    v = g(item)
                    if v is not None and v is not vals.MISSING:
                        ident[k] = v
                if not ident:
                    stats[f"events_without_identifier:{stream}"] += 1
                out["identifiers"] = ident
                if cprops:
                    cp = {}
                    for a, g, coerce in cprops:
                        v = g(item)
                        if v is not vals.MISSING:
                            if v is not None and coerce is not None:
                                try:
                                    v = coerce(v)
                                except ValueError as exc:
                                    bad(a, item, exc)
                                    continue
                            cp[a] = v
                    out["contact_properties"] = cp
                ep: dict[str, Any] = {}
                for part in parts:
                    if part.__class__ is list:
                        for k, g in part:
                            v = g(item)
                            if v is not vals.MISSING:
                                ep[k] = v
                    else:
                        v = part(item)
                        if v.__class__ is dict:
                            ep.update(v)
                out["event_properties"] = clean(ep)
                yield out

        self.transform = events

    # --- list memberships -------------------------------------------------------------------------
    def _memberships(self, props: dict) -> None:
        plan, route = self.plan, self.route
        list_of = self._value_spec(route["list"])
        action_of = self._value_spec(route["action"])
        ids = [(k, self._use(p)) for k, p in route["identifiers"].items()]
        props.update({"list_id": {"type": ["integer", "null"]}, "list_name": STR_OR_NULL,
                      "action": {"type": "string", "enum": ["add", "remove"]}})
        for k, _ in ids:
            props[k] = STR_OR_NULL
        carried, stats, stream, bad, items = self.carried, plan.stats, self.stream, self._bad, self._items

        def memberships(rec: dict) -> Iterator[dict]:
            for item in items(rec):
                src = list_of(item)
                if src is None or src is vals.MISSING:
                    stats[f"memberships_without_list:{stream}"] += 1
                    continue
                got = plan.map_source_list(src, f"stream {stream!r}")
                if got is None:
                    continue
                ident = None
                for k, g in ids:
                    v = g(item)
                    if v is not None and v is not vals.MISSING:
                        ident = (k, v)
                        break
                if ident is None:
                    stats[f"memberships_without_identifier:{stream}"] += 1
                    continue
                action = action_of(item)
                if action not in ("add", "remove"):
                    bad("action", item, ValueError(f"{action!r} is not add or remove"))
                    continue
                out: dict[str, Any] = {}
                for cname, g in carried:
                    v = g(item)
                    out[cname] = None if v is vals.MISSING else v
                out["list_id"], out["list_name"] = got
                out[ident[0]] = ident[1]
                out["action"] = action
                yield out

        self.transform = memberships

    # --- categories, products, orders -------------------------------------------------------------
    @staticmethod
    def _object(parts: list[tuple[str, vals.Getter]]) -> vals.Getter:
        def build(rec: dict) -> dict:
            out = {}
            for sub, g in parts:
                v = g(rec)
                if v is not None and v is not vals.MISSING:
                    out[sub] = v
            return out

        return build

    def _array(self, spec_: dict) -> vals.Getter:
        """An array of objects re-keyed element by element (e.g. order lines -> Brevo products)."""
        arr_of = self._use([spec_["each"]])
        fields = [(f, vals.getter(p)) for p, f in spec_["fields"].items()]

        def remap(rec: dict) -> Any:
            arr = arr_of(rec)
            if arr.__class__ is not list:
                return arr
            out = []
            for x in arr:
                if x.__class__ is dict:
                    o = {}
                    for f, g in fields:
                        v = g(x)
                        if v is not vals.MISSING:
                            o[f] = v
                    out.append(o)
            return out

        return remap

    def _generic(self, props: dict) -> None:
        fields = self.plan.fields_for(self.stream, self.route)
        self._all_paths = {p for _, paths, _ in fields for p in paths}
        getters = []
        for tgt, paths, _ in fields:
            getters.append((tgt, self._use(paths)))
            props[tgt] = vals.nullable(self._src_schema(paths))
        for tgt, spec_ in self.route.get("set", {}).items():
            if isinstance(spec_, dict) and "each" in spec_:
                getters.append((tgt, self._array(spec_)))
                item_schema = ((self._src_schema([spec_["each"]]) or {}).get("items") or {})
                props[tgt] = {"type": ["array", "null"], "items": {"type": "object", "properties": {
                    f: vals.nullable(vals.schema_at(item_schema, p)) for p, f in spec_["fields"].items()}}}
            elif isinstance(spec_, dict) and "object" in spec_:
                parts = [(sub, self._value_spec(sv)) for sub, sv in spec_["object"].items()]
                getters.append((tgt, self._object(parts)))
                props[tgt] = {"type": ["object", "null"], "properties": {
                    sub: (vals.nullable(self._src_schema(sv)) if isinstance(sv, list) else {})
                    for sub, sv in spec_["object"].items()}}
            elif isinstance(spec_, dict):
                getters.append((tgt, self._value_spec(spec_)))
                const = spec_["value"]
                props[tgt] = {} if const is None else {"type": {bool: "boolean", int: "integer", float: "number",
                                                                str: "string"}.get(type(const), "object")}
            else:
                getters.append((tgt, self._use(spec_)))
                props[tgt] = vals.nullable(self._src_schema(spec_))
        if self.plan.unmapped_fields == "pass_through":
            for name, sub in (self.in_schema.get("properties") or {}).items():
                if name not in self.used and name not in props:
                    getters.append((name, vals.getter(name)))
                    props[name] = vals.nullable(sub)
        # Brevo's ecommerce dates (created_at, updated_at, deleted_at) are normalised to ISO 8601
        # here, so `2024-01-01 12:00:00 +00:00` or an epoch reaches the target in one form.
        dated = {name for name, _ in getters if name.endswith("_at")}
        for name in dated:
            props[name] = {"type": ["string", "null"], "format": "date-time"}
        carried, items, bad = self.carried, self._items, self._bad

        def generic(rec: dict) -> Iterator[dict]:
            for item in items(rec):
                out: dict[str, Any] = {}
                for cname, g in carried:
                    v = g(item)
                    out[cname] = None if v is vals.MISSING else v
                for name, g in getters:
                    v = g(item)
                    if v is not vals.MISSING:
                        if v is not None and name in dated:
                            try:
                                v = vals.to_datetime(v)
                            except ValueError as exc:
                                bad(name, item, exc)
                                continue
                        out[name] = v
                yield out

        self.transform = generic
