"""Load, validate and merge mapping layers: preset, mapping file, inline config.

Every layer has the same shape (see the presets). Each layer is validated on its own so an error
names the file (or config) and the key it came from; the merged result keeps, for every field
mapping, where it was written, so conflicts found after merging still point at a file and key.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import simpleeval
import yaml

PRESETS = ("klaviyo", "braze", "iterable", "brevo", "generic")
OBJECT_TYPES = ("contacts", "events", "list_memberships", "categories", "products", "orders")
TYPE_HINTS = ("date", "number", "boolean", "text")
POLICIES = {
    "unmapped_fields": ("drop", "pass_through", "error"),
    "event_name_policy": ("keep", "snake_case", "drop"),
    "unrouted_streams": ("pass_through", "drop"),
    "unmapped_lists": ("name", "drop", "error"),
    "invalid_values": ("warn", "error"),
}
LAYER_KEYS = (
    "prefix", *POLICIES, "lists", "list_map", "type_hints", "field_mapping", "precedence",
    "event_mapping", "static_lists", "list_rules", "stream_routing",
)
# Contact fields the target takes at the top level rather than as attributes.
CONTACT_TOP_LEVEL = {"email": "email", "EMAIL": "email", "ext_id": "ext_id", "EXT_ID": "ext_id",
                     "sms": "sms", "SMS": "sms", "email_blacklisted": "email_blacklisted",
                     "sms_blacklisted": "sms_blacklisted", "deleted": "deleted"}
ROUTE_KEYS = {
    "contacts": {"type", "output", "where", "fields", "precedence", "static_lists", "list_rules",
                 "source_lists", "ignore"},
    "events": {"type", "output", "where", "each", "event_name", "event_date", "identifiers",
               "event_properties", "contact_properties", "ignore"},
    "list_memberships": {"type", "output", "where", "each", "list", "identifiers", "action", "ignore"},
}
GENERIC_ROUTE_KEYS = {"type", "output", "where", "each", "fields", "set", "precedence", "ignore"}
EVENT_IDENTIFIERS = ("email_id", "ext_id", "phone_id", "contact_id", "whatsapp_id", "landline_number_id")
MEMBER_IDENTIFIERS = ("email", "ext_id", "sms")
EVENT_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
SNAKE_FIELD_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PATH_RE = re.compile(r"^[^.\s][^.]*(\.[^.]+)*$")
# Brevo does not publish its attribute-name rules (UNVERIFIED in shared/docs/api/brevo.md): this
# default is what its UI accepts; the `attribute_name_pattern` setting overrides it.
DEFAULT_ATTRIBUTE_PATTERN = r"^[A-Z][A-Z0-9_]{0,49}$"


class MappingError(Exception):
    """A configuration or input problem, reported as one line without a traceback."""


def where(origin: str, key: str) -> str:
    """Render an error location: the file (or config) and the dotted key."""
    return f"{origin}, key `{key}`" if key else origin


@dataclass
class Sourced:
    """A value with the file and key it was written at."""

    value: Any
    origin: str
    key: str

    def fail(self, problem: str) -> MappingError:
        """Build an error located at this value."""
        return MappingError(f"{where(self.origin, self.key)}: {problem}")


@dataclass
class Merged:
    """The effective mapping after layering preset, mapping file and inline config."""

    settings: dict[str, Sourced] = field(default_factory=dict)
    lists: dict[str, Sourced] = field(default_factory=dict)
    list_map: dict[str, Sourced] = field(default_factory=dict)
    type_hints: dict[str, Sourced] = field(default_factory=dict)
    # source path -> Sourced(target); per-stream overrides keyed by stream name
    field_mapping: dict[str, Sourced] = field(default_factory=dict)
    stream_fields: dict[str, dict[str, Sourced]] = field(default_factory=dict)
    precedence: dict[str, Sourced] = field(default_factory=dict)
    event_mapping: dict[str, Sourced] = field(default_factory=dict)
    static_lists: Sourced | None = None
    list_rules: dict[str, Sourced] = field(default_factory=dict)
    stream_routing: dict[str, Sourced] = field(default_factory=dict)

    def setting(self, name: str, default: Any = None) -> Any:
        """An effective scalar setting."""
        s = self.settings.get(name)
        return default if s is None or s.value is None else s.value


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def load_preset(name: Any, origin: str) -> dict:
    """Read a preset's YAML from the package data."""
    if not isinstance(name, str) or name not in PRESETS:
        msg = (f"{where(origin, 'preset')}: unknown preset {name!r}{_suggest(name, PRESETS)}; "
               f"known presets: {', '.join(PRESETS)}")
        raise MappingError(msg)
    text = resources.files("map_brevo.presets").joinpath(f"{name}.yaml").read_text("utf-8")
    return yaml.safe_load(text) or {}


def load_mapping_file(path: str) -> dict:
    """Read a user mapping file, with located errors for unreadable or malformed YAML."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except OSError as exc:
        msg = f"mapping file {path}: cannot read it ({exc.strerror or exc})"
        raise MappingError(msg) from None
    except UnicodeDecodeError:
        msg = f"mapping file {path}: not UTF-8 text"
        raise MappingError(msg) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"mapping file {path}: invalid YAML{loc}: {problem}"
        raise MappingError(msg) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        msg = f"mapping file {path}: the top level must be a mapping of settings, got {type(data).__name__}"
        raise MappingError(msg)
    return data


class Validator:
    """Checks one layer and folds it into the merged mapping."""

    def __init__(self, attribute_pattern: str) -> None:
        try:
            self.attr_re = re.compile(attribute_pattern)
        except re.error as exc:
            msg = f"config, key `attribute_name_pattern`: not a regular expression ({exc})"
            raise MappingError(msg) from None
        self.attr_pattern = attribute_pattern

    # --- leaf checks ----------------------------------------------------------------------------
    def attribute(self, name: Any, origin: str, key: str, *, allow_top: bool = True) -> str:
        """A Brevo contact attribute (or a top-level contact field) name."""
        if not isinstance(name, str):
            msg = f"{where(origin, key)}: target must be a string attribute name, got {name!r}"
            raise MappingError(msg)
        if allow_top and name in CONTACT_TOP_LEVEL:
            return name
        if not self.attr_re.match(name):
            hint = f" (try `{sanitise_attribute(name)}`)" if sanitise_attribute(name) else ""
            msg = (f"{where(origin, key)}: {name!r} is not a valid Brevo attribute name: it must match "
                   f"{self.attr_pattern} (upper-case letters, digits and underscores){hint}")
            raise MappingError(msg)
        return name

    @staticmethod
    def path(p: Any, origin: str, key: str) -> str:
        """A dotted source path."""
        if not isinstance(p, str) or not p or not PATH_RE.match(p):
            msg = f"{where(origin, key)}: {p!r} is not a source path (dotted field names, e.g. `location.city`)"
            raise MappingError(msg)
        return p

    def paths(self, p: Any, origin: str, key: str) -> list[str]:
        """One path or an ordered list of paths (first non-null wins)."""
        if isinstance(p, list) and p:
            return [self.path(x, origin, f"{key}[{i}]") for i, x in enumerate(p)]
        return [self.path(p, origin, key)]

    def value_spec(self, v: Any, origin: str, key: str) -> Any:
        """A path, a list of paths, or a constant `{value: X}`."""
        if isinstance(v, dict):
            if set(v) != {"value"}:
                msg = f"{where(origin, key)}: a constant is written `{{value: ...}}`, got keys {sorted(v)}"
                raise MappingError(msg)
            return v
        return self.paths(v, origin, key)

    @staticmethod
    def targets(tgt: Any, origin: str, key: str) -> list[Any]:
        """One target, or a list of targets for one source (e.g. `userId: [ITERABLE_ID, ext_id]`)."""
        if isinstance(tgt, list):
            if not tgt:
                msg = f"{where(origin, key)}: an empty list of targets; use null to remove the mapping"
                raise MappingError(msg)
            return tgt
        return [tgt]

    @staticmethod
    def snake(name: Any, origin: str, key: str) -> str:
        if not isinstance(name, str) or not SNAKE_FIELD_RE.match(name):
            msg = f"{where(origin, key)}: expected a snake_case field name, got {name!r}"
            raise MappingError(msg)
        return name

    @staticmethod
    def rule(expr: Any, origin: str, key: str) -> Any:
        """A list rule: a simpleeval expression that must parse."""
        if not isinstance(expr, str) or not expr.strip():
            msg = f"{where(origin, key)}: a rule must be an expression string, e.g. \"LTV >= 500\""
            raise MappingError(msg)
        try:
            tree = simpleeval.SimpleEval().parse(expr)
        except SyntaxError as exc:
            msg = f"{where(origin, key)}: rule {expr!r} does not parse: {exc.msg}"
            raise MappingError(msg) from None
        if not isinstance(tree, ast.Expr):
            msg = f"{where(origin, key)}: rule {expr!r} does not parse: it must be one expression (a statement or assignment is not a rule)"
            raise MappingError(msg)
        return tree

    @staticmethod
    def list_ref(v: Any, origin: str, key: str) -> int | str:
        if isinstance(v, bool) or not isinstance(v, (int, str)) or (isinstance(v, int) and v <= 0) or v == "":
            msg = f"{where(origin, key)}: a Brevo list is a positive id or a list name, got {v!r}"
            raise MappingError(msg)
        return v

    @staticmethod
    def mapping(v: Any, origin: str, key: str) -> dict:
        if not isinstance(v, dict):
            msg = f"{where(origin, key)}: expected a mapping, got {type(v).__name__}"
            raise MappingError(msg)
        return v

    # --- routes ---------------------------------------------------------------------------------
    def route(self, stream: str, raw: Any, origin: str, key: str) -> list[dict] | None:
        """Normalise a stream route to a list of route dicts (None = drop the stream)."""
        if raw is None or raw == "drop":
            return None
        items = raw if isinstance(raw, list) else [raw]
        out = []
        for i, item in enumerate(items):
            k = f"{key}[{i}]" if isinstance(raw, list) else key
            if isinstance(item, str):
                item = {"type": item}  # noqa: PLW2901 - shorthand `stream: contacts`
            self.mapping(item, origin, k)
            typ = item.get("type")
            if typ not in OBJECT_TYPES:
                msg = (f"{where(origin, k + '.type')}: unknown object type {typ!r}{_suggest(typ, OBJECT_TYPES)}; "
                       f"target-brevo takes {', '.join(OBJECT_TYPES)} (or `drop`)")
                raise MappingError(msg)
            allowed = ROUTE_KEYS.get(typ, GENERIC_ROUTE_KEYS)
            for rk in item:
                if rk not in allowed:
                    msg = (f"{where(origin, f'{k}.{rk}')}: unknown route key for {typ}{_suggest(rk, allowed)}; "
                           f"allowed: {', '.join(sorted(allowed))}")
                    raise MappingError(msg)
            out.append(self._route_body(typ, item, origin, k))
        return out

    def _route_body(self, typ: str, item: dict, origin: str, k: str) -> dict:
        r: dict[str, Any] = {"type": typ, "origin": origin, "key": k}
        if "output" in item:
            o = item["output"]
            if not isinstance(o, str) or not o.endswith(typ):
                msg = f"{where(origin, k + '.output')}: the output stream name must end with `{typ}` so target-brevo can tell its type, got {o!r}"
                raise MappingError(msg)
            r["output"] = o
        if "each" in item:
            r["each"] = self.path(item["each"], origin, k + ".each")
        if item.get("where") is not None:
            r["where"] = (item["where"], self.rule(item["where"], origin, k + ".where"))
        r["ignore"] = [self.path(p, origin, f"{k}.ignore[{i}]") for i, p in enumerate(item.get("ignore") or [])]
        if typ == "contacts" or typ not in ROUTE_KEYS:
            fields = self.mapping(item.get("fields") or {}, origin, k + ".fields")
            r["fields"] = {}
            for src, tgt in fields.items():
                fk = f"{k}.fields.{src}"
                self.path(src, origin, fk)
                if tgt is not None:
                    for one in self.targets(tgt, origin, fk):
                        if typ == "contacts":
                            self.attribute(one, origin, fk)
                        elif not isinstance(one, str) or not SNAKE_FIELD_RE.match(one):
                            msg = f"{where(origin, fk)}: {typ} fields are snake_case names of Brevo's ecommerce API, got {one!r}"
                            raise MappingError(msg)
                r["fields"][src] = Sourced(tgt, origin, fk)
            r["precedence"] = self.precedence(item.get("precedence") or {}, origin, k + ".precedence",
                                              contacts=typ == "contacts")
        if typ in ("categories", "products", "orders"):
            r["set"] = {}
            for tgt, v in self.mapping(item.get("set") or {}, origin, k + ".set").items():
                sk = f"{k}.set.{tgt}"
                if not isinstance(tgt, str) or not SNAKE_FIELD_RE.match(tgt):
                    msg = f"{where(origin, sk)}: {typ} fields are snake_case names of Brevo's ecommerce API, got {tgt!r}"
                    raise MappingError(msg)
                if any(tgt in self.targets(t.value, origin, sk) for t in r["fields"].values() if t.value is not None):
                    msg = f"{where(origin, sk)}: {tgt!r} is also a target in `fields`; set it in one place"
                    raise MappingError(msg)
                if isinstance(v, dict) and "each" in v:
                    if set(v) != {"each", "fields"} or not isinstance(v["fields"], dict):
                        msg = f"{where(origin, sk)}: an array is written `{{each: path, fields: {{path: field}}}}`"
                        raise MappingError(msg)
                    r["set"][tgt] = {"each": self.path(v["each"], origin, sk + ".each"),
                                     "fields": {self.path(p, origin, f"{sk}.fields.{p}"): self.snake(f, origin, f"{sk}.fields.{p}")
                                                for p, f in v["fields"].items()}}
                elif isinstance(v, dict) and set(v) != {"value"}:  # a nested object, e.g. identifiers
                    r["set"][tgt] = {"object": {self.snake(sub, origin, f"{sk}.{sub}"): self.value_spec(sv, origin, f"{sk}.{sub}")
                                                for sub, sv in v.items()}}
                else:
                    r["set"][tgt] = self.value_spec(v, origin, sk)
        if typ == "contacts":
            if "static_lists" in item:
                r["static_lists"] = self.static_lists(item["static_lists"], origin, k + ".static_lists")
            r["list_rules"] = self.list_rules(item.get("list_rules") or {}, origin, k + ".list_rules")
            if item.get("source_lists") is not None:
                r["source_lists"] = self.paths(item["source_lists"], origin, k + ".source_lists")
        elif typ == "events":
            for req in ("event_name", "identifiers"):
                if req not in item:
                    msg = f"{where(origin, k)}: an events route needs `{req}`"
                    raise MappingError(msg)
            r["event_name"] = self.value_spec(item["event_name"], origin, k + ".event_name")
            if item.get("event_date") is not None:
                r["event_date"] = self.value_spec(item["event_date"], origin, k + ".event_date")
            r["identifiers"] = self.identifiers(item["identifiers"], EVENT_IDENTIFIERS, origin, k)
            r["event_properties"] = self.properties(item.get("event_properties"), origin, k + ".event_properties")
            r["contact_properties"] = {}
            for attr, p in self.mapping(item.get("contact_properties") or {}, origin, k + ".contact_properties").items():
                ck = f"{k}.contact_properties.{attr}"
                r["contact_properties"][self.attribute(attr, origin, ck, allow_top=False)] = self.paths(p, origin, ck)
        elif typ == "list_memberships":
            if "list" not in item or "identifiers" not in item:
                msg = f"{where(origin, k)}: a list_memberships route needs `list` and `identifiers`"
                raise MappingError(msg)
            r["list"] = self.value_spec(item["list"], origin, k + ".list")
            r["identifiers"] = self.identifiers(item["identifiers"], MEMBER_IDENTIFIERS, origin, k)
            action = item.get("action", {"value": "add"})
            if isinstance(action, str) and action in ("add", "remove"):
                action = {"value": action}
            r["action"] = self.value_spec(action, origin, k + ".action")
        return r

    def identifiers(self, v: Any, allowed: tuple, origin: str, k: str) -> dict[str, list[str]]:
        self.mapping(v, origin, k + ".identifiers")
        out = {}
        for name, p in v.items():
            ik = f"{k}.identifiers.{name}"
            if name not in allowed:
                msg = f"{where(origin, ik)}: unknown identifier{_suggest(name, allowed)}; allowed: {', '.join(allowed)}"
                raise MappingError(msg)
            out[name] = self.paths(p, origin, ik)
        if not out:
            msg = f"{where(origin, k + '.identifiers')}: at least one identifier is needed"
            raise MappingError(msg)
        return out

    def properties(self, v: Any, origin: str, k: str) -> list[Any]:
        """event_properties: an object path, a {key: path} mapping, or a list of those merged in order."""
        if v is None:
            return []
        parts = v if isinstance(v, list) else [v]
        out: list[Any] = []
        for i, part in enumerate(parts):
            pk = f"{k}[{i}]" if isinstance(v, list) else k
            if isinstance(part, dict):
                out.append({name: self.paths(p, origin, f"{pk}.{name}") for name, p in part.items()})
            else:
                out.append(self.path(part, origin, pk))
        return out

    def precedence(self, v: Any, origin: str, k: str, *, contacts: bool = True) -> dict[str, Sourced]:
        self.mapping(v, origin, k)
        out = {}
        for tgt, paths in v.items():
            pk = f"{k}.{tgt}"
            if contacts:
                self.attribute(tgt, origin, pk)
            if not isinstance(paths, list) or len(paths) < 2:
                msg = f"{where(origin, pk)}: a precedence is an ordered list of two or more source paths (first non-null wins)"
                raise MappingError(msg)
            out[tgt] = Sourced(self.paths(paths, origin, pk), origin, pk)
        return out

    def static_lists(self, v: Any, origin: str, k: str) -> Sourced:
        if not isinstance(v, list):
            msg = f"{where(origin, k)}: expected a list of list names or ids"
            raise MappingError(msg)
        return Sourced([self.list_ref(x, origin, f"{k}[{i}]") for i, x in enumerate(v)], origin, k)

    def list_rules(self, v: Any, origin: str, k: str) -> dict[str, Sourced]:
        self.mapping(v, origin, k)
        out = {}
        for name, expr in v.items():
            rk = f"{k}.{name}"
            self.list_ref(name, origin, rk)
            out[str(name)] = Sourced(None if expr is None else (expr, self.rule(expr, origin, rk)), origin, rk)
        return out

    # --- a whole layer --------------------------------------------------------------------------
    def fold(self, merged: Merged, layer: dict, origin: str) -> None:
        """Validate one layer and merge it over what is already there."""
        for key in layer:
            if key not in LAYER_KEYS and not str(key).startswith("x-"):
                msg = f"{where(origin, str(key))}: unknown setting{_suggest(key, LAYER_KEYS)}; known: {', '.join(LAYER_KEYS)}"
                raise MappingError(msg)
        for name, choices in POLICIES.items():
            if layer.get(name) is not None:
                if layer[name] not in choices:
                    msg = f"{where(origin, name)}: {layer[name]!r} is not one of {', '.join(choices)}"
                    raise MappingError(msg)
                merged.settings[name] = Sourced(layer[name], origin, name)
        if layer.get("prefix") is not None:
            p = layer["prefix"]
            if not isinstance(p, str) or (p and not SNAKE_FIELD_RE.match(p)):
                msg = f"{where(origin, 'prefix')}: the stream prefix must be a snake_case word, got {p!r}"
                raise MappingError(msg)
            merged.settings["prefix"] = Sourced(p, origin, "prefix")
        for name, v in self.mapping(layer.get("lists") or {}, origin, "lists").items():
            merged.lists[str(name)] = Sourced(None if v is None else self.list_ref(v, origin, f"lists.{name}"), origin, f"lists.{name}")
        for src, v in self.mapping(layer.get("list_map") or {}, origin, "list_map").items():
            merged.list_map[str(src)] = Sourced(None if v is None else self.list_ref(v, origin, f"list_map.{src}"), origin, f"list_map.{src}")
        for attr, hint in self.mapping(layer.get("type_hints") or {}, origin, "type_hints").items():
            hk = f"type_hints.{attr}"
            self.attribute(attr, origin, hk, allow_top=False)
            if hint is not None and hint not in TYPE_HINTS:
                msg = f"{where(origin, hk)}: unknown type hint {hint!r}{_suggest(hint, TYPE_HINTS)}; use one of {', '.join(TYPE_HINTS)}"
                raise MappingError(msg)
            merged.type_hints[attr] = Sourced(hint, origin, hk)
        for src, tgt in self.mapping(layer.get("field_mapping") or {}, origin, "field_mapping").items():
            fk = f"field_mapping.{src}"
            if isinstance(tgt, dict):  # per-stream form: {stream: {path: TARGET}}
                per = merged.stream_fields.setdefault(str(src), {})
                for p, t in tgt.items():
                    pk = f"{fk}.{p}"
                    self.path(p, origin, pk)
                    if t is not None:
                        for one in self.targets(t, origin, pk):
                            self.attribute(one, origin, pk)
                    per[p] = Sourced(t, origin, pk)
                continue
            self.path(src, origin, fk)
            if tgt is not None:
                for one in self.targets(tgt, origin, fk):
                    self.attribute(one, origin, fk)
            merged.field_mapping[src] = Sourced(tgt, origin, fk)
        merged.precedence.update(self.precedence(layer.get("precedence") or {}, origin, "precedence"))
        for name, v in self.mapping(layer.get("event_mapping") or {}, origin, "event_mapping").items():
            ek = f"event_mapping.{name}"
            if v is not None and (not isinstance(v, str) or not EVENT_NAME_RE.match(v)):
                msg = (f"{where(origin, ek)}: {v!r} is not a valid Brevo event name (1-255 letters, digits, "
                       f"`_` or `-`); use null to drop the event")
                raise MappingError(msg)
            merged.event_mapping[str(name)] = Sourced(v, origin, ek)
        if layer.get("static_lists") is not None:
            merged.static_lists = self.static_lists(layer["static_lists"], origin, "static_lists")
        merged.list_rules.update(self.list_rules(layer.get("list_rules") or {}, origin, "list_rules"))
        for stream, raw in self.mapping(layer.get("stream_routing") or {}, origin, "stream_routing").items():
            rk = f"stream_routing.{stream}"
            merged.stream_routing[str(stream)] = Sourced(self.route(str(stream), raw, origin, rk), origin, rk)


def sanitise_attribute(name: str) -> str:
    """Upper-case a source field name and keep only what Brevo accepts in attribute names."""
    s = re.sub(r"[^A-Z0-9_]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).upper()).strip("_")
    if s and not s[0].isalpha():
        s = "F_" + s
    return s[:50]


def build(config: dict) -> Merged:
    """Validate and merge: preset, then mapping file, then inline config."""
    validator = Validator(config.get("attribute_name_pattern") or DEFAULT_ATTRIBUTE_PATTERN)
    merged = Merged()
    preset = config.get("preset") or "generic"
    validator.fold(merged, load_preset(preset, "config"), f"preset {preset}")
    if config.get("mapping_file"):
        path = config["mapping_file"]
        validator.fold(merged, load_mapping_file(path), f"mapping file {path}")
    inline = {k: config[k] for k in LAYER_KEYS if config.get(k) is not None}
    validator.fold(merged, inline, "config")
    return merged
