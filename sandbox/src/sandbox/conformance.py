"""Check sandbox traffic against the vendors' official specs, in both directions.

``Conformance.observe`` receives every ``Exchange`` the sandbox serves. It checks the request
(known operation, required and known query parameters, parameter types, required headers,
JSON body) and the response (declared status, body schema) against the spec in
``shared/specs``. Schemas are validated with openapi-schema-validator (OAS 3.0 dialect, which
also reads Swagger 2.0's schema objects). Where a spec lacks an endpoint or is wrong, the
vendor's overlay in ``sandbox.overlays`` supplies the documented shape, with a reason.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .app import Exchange
from .http import decode
from .overlays import OVERLAYS

SPEC_FILES = {
    "klaviyo": "klaviyo/stable.json",
    "braze": "braze/openapi-spec.json",
    "iterable": "iterable/iterable-swagger-api-docs.json",
    "brevo": "brevo/swagger_definition_v3.yml",
}


def specs_dir() -> Path:
    """``shared/specs`` beside the repository (or ``$SANDBOX_SPECS``)."""
    env = os.environ.get("SANDBOX_SPECS")
    if env:
        return Path(env)
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for parent in start.parents:
            for candidate in (parent / "shared" / "specs", parent.parent / "shared" / "specs"):
                if (candidate / "brevo").is_dir():
                    return candidate
    raise FileNotFoundError("vendor specs not found: expected ../shared/specs beside the repo, or set SANDBOX_SPECS")


class _NoDates(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):
    """YAML loader that keeps timestamps as strings, as JSON Schema expects."""


_NoDates.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Operation:
    method: str
    template: str
    regex: re.Pattern[str]
    pointer: str  # JSON pointer of the operation object
    op: dict[str, Any]
    params: list[dict[str, Any]]


class Spec:
    """One vendor's spec: operation lookup and schema validators."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        path = specs_dir() / SPEC_FILES[vendor]
        text = path.read_text()
        self.doc = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_NoDates)  # noqa: S506
        self.swagger2 = "swagger" in self.doc
        overlay = OVERLAYS.get(vendor, {})
        for (method, template), op in overlay.get("operations", {}).items():
            self.doc.setdefault("paths", {}).setdefault(template, {})[method.lower()] = op
        for name, schema in overlay.get("schemas", {}).items():
            self.doc.setdefault("components", {}).setdefault("schemas", {})[name] = schema
        for pointer, value, _reason in overlay.get("patches", []):
            *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
            node = self.doc
            for key in parents:
                node = node[key]
            node[last] = value
        self.registry = Registry().with_resource(
            "urn:spec", Resource.from_contents(self.doc, default_specification=DRAFT4))
        self.ops: list[Operation] = []
        for template, item in self.doc["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "/?$")
                esc = template.replace("~", "~0").replace("/", "~1")
                params = [self.deref(p) for p in [*shared, *op.get("parameters", [])]]
                # YAML reads `200:` as an int; statuses are strings everywhere else.
                op["responses"] = {str(k): v for k, v in op.get("responses", {}).items()}
                self.ops.append(Operation(method.upper(), template, rx, f"/paths/{esc}/{method}", op, params))
        # Static templates first, so /contacts/batch is not taken for /contacts/{identifier}.
        self.ops.sort(key=lambda o: o.template.count("{"))
        self.response_overrides: dict[tuple[str, str, str], dict[str, Any]] = overlay.get("responses", {})
        self.status_overrides: dict[str, dict[str, Any]] = overlay.get("status_overrides", {})
        self.common_responses: dict[str, dict[str, Any]] = overlay.get("common_responses", {})
        self.ignored_params: dict[tuple[str, str], set[str]] = overlay.get("ignored_params", {})

    def deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            node = self.registry.resolver("urn:spec").lookup("urn:spec" + node["$ref"]).contents
        return node

    def find(self, method: str, path: str) -> Operation | None:
        for op in self.ops:
            if op.method == method and op.regex.match(path):
                return op
        return None

    @functools.lru_cache(maxsize=2048)  # noqa: B019 - specs live for the whole test session
    def validator(self, pointer: str) -> OAS30Validator:
        return OAS30Validator({"$ref": "urn:spec#" + pointer}, registry=self.registry)

    def schema_errors(self, pointer: str, instance: Any, limit: int = 20) -> list[str]:
        errors = []
        for err in self.validator(pointer).iter_errors(instance):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            errors.append(f"{where}: {err.message[:300]}")
            if len(errors) >= limit:
                break
        return errors


@functools.cache
def load_spec(vendor: str) -> Spec:
    return Spec(vendor)


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    typ = schema.get("type")
    try:
        if typ == "integer":
            return int(value)
        if typ == "number":
            return float(value)
        if typ == "boolean":
            return {"true": True, "false": False}.get(value.lower(), value)
    except ValueError:
        return value
    return value


class Conformance:
    """Collects violations from observed traffic; ``check()`` raises if any were unexpected."""

    def __init__(self, vendors: set[str] | None = None) -> None:
        self.vendors = vendors
        self.violations: list[str] = []
        self.expected: list[re.Pattern[str]] = []
        self.seen_expected: set[int] = set()
        self.exchanges = 0
        self._lock = threading.Lock()

    def expect(self, pattern: str) -> None:
        """Declare a violation a test provokes on purpose; it must then occur."""
        self.expected.append(re.compile(pattern))

    def observe(self, ex: Exchange) -> None:
        if self.vendors and ex.vendor not in self.vendors:
            return
        problems = check_exchange(ex)
        with self._lock:
            self.exchanges += 1
            for p in problems:
                for i, rx in enumerate(self.expected):
                    if rx.search(p):
                        self.seen_expected.add(i)
                        break
                else:
                    self.violations.append(p)

    def check(self) -> None:
        missing = [rx.pattern for i, rx in enumerate(self.expected) if i not in self.seen_expected]
        msgs = []
        if self.violations:
            msgs.append(f"{len(self.violations)} spec violation(s):\n  " + "\n  ".join(self.violations[:20]))
        if missing:
            msgs.append(f"expected violations that did not occur: {missing}")
        if msgs:
            raise AssertionError("\n".join(msgs))


def check_exchange(ex: Exchange) -> list[str]:
    """Every way this request or its response departs from the vendor's spec."""
    spec = load_spec(ex.vendor)
    where = f"{ex.vendor} {ex.method} {ex.path}"
    op = spec.find(ex.method, ex.path)
    if op is None:
        return [f"{where}: request: operation not in spec"]
    out = [f"{where}: request: {p}" for p in _check_request(spec, op, ex)]
    if ex.fault is None:
        out += [f"{where}: response {ex.status}: {p}" for p in _check_response(spec, op, ex)]
    return out


def _check_request(spec: Spec, op: Operation, ex: Exchange) -> list[str]:
    problems = []
    query_params = {p["name"]: p for p in op.params if p.get("in") == "query"}
    ignored = spec.ignored_params.get((op.method, op.template), set())
    for p in op.params:
        if p.get("in") == "header" and p.get("required") and p["name"].lower() not in ex.headers \
                and p["name"].lower() not in ("authorization", "api-key", "content-type"):
            problems.append(f"missing required header {p['name']}")
        if p.get("in") == "query" and p.get("required") and p["name"] not in ex.query:
            problems.append(f"missing required query parameter {p['name']}")
    for name, values in ex.query.items():
        p = query_params.get(name)
        if p is None:
            if name not in ignored:
                problems.append(f"unknown query parameter {name}")
            continue
        schema = p.get("schema", p)  # Swagger 2.0 puts type on the parameter itself
        schema = spec.deref(schema)
        if schema.get("type") == "array":
            items = spec.deref(schema.get("items", {}))
            flat = [x for v in values for x in (v.split(",") if p.get("explode") is False or spec.swagger2 or "," in v else [v])]
            vals = [_coerce(x, items) for x in flat]
            sub = items
        else:
            vals = [_coerce(v, schema) for v in values]
            sub = schema
        clean = {k: v for k, v in sub.items() if k in {"type", "enum", "minimum", "maximum", "format", "pattern", "maxLength", "minLength"}}
        if clean.get("format") in ("int64", "int32", "date-time", "date"):
            clean.pop("format")
        for v in vals:
            errs = list(OAS30Validator(clean).iter_errors(v))
            if errs:
                problems.append(f"query parameter {name}={v!r}: {errs[0].message}")
    body_pointer = _request_body_pointer(spec, op, ex)
    if body_pointer and ex.body:
        try:
            instance = decode(ex.body)
        except Exception:
            problems.append("request body is not JSON")
        else:
            problems += [f"body {e}" for e in spec.schema_errors(body_pointer, instance)]
    elif body_pointer and _body_required(spec, op) and not ex.body:
        problems.append("missing required request body")
    return problems


def _body_required(spec: Spec, op: Operation) -> bool:
    if spec.swagger2:
        return any(p.get("in") == "body" and p.get("required") for p in op.params)
    rb = spec.deref(op.op.get("requestBody", {}))
    return bool(rb.get("required"))


def _request_body_pointer(spec: Spec, op: Operation, ex: Exchange) -> str | None:
    if spec.swagger2:
        for i, p in enumerate(op.op.get("parameters", [])):
            if spec.deref(p).get("in") == "body":
                return f"{op.pointer}/parameters/{i}/schema"
        return None
    rb = op.op.get("requestBody")
    if not rb:
        return None
    if "$ref" in rb:
        return rb["$ref"].lstrip("#") + "/content/" + _media(spec.deref(rb).get("content", {}))
    media = _media(rb.get("content", {}))
    return f"{op.pointer}/requestBody/content/{media}/schema" if media else None


def _media(content: dict[str, Any]) -> str:
    for m in content:
        if "json" in m:
            return m.replace("~", "~0").replace("/", "~1")
    return ""


def _check_response(spec: Spec, op: Operation, ex: Exchange) -> list[str]:
    override = spec.response_overrides.get((op.method, op.template, str(ex.status)),
                                           spec.status_overrides.get(str(ex.status)))
    responses = op.op.get("responses", {})
    key = next((k for k in (str(ex.status), f"{str(ex.status)[0]}XX", "default") if k in responses), None)
    if key is None and override is None:
        # Statuses a vendor documents for every endpoint (auth, rate limits, outages).
        common = spec.common_responses
        override = common.get(str(ex.status), common.get(f"{str(ex.status)[0]}XX"))
    if key is None and override is None:
        return [f"status {ex.status} is not declared (declared: {sorted(responses)})"]
    if ex.response is None or "json" not in ex.content_type or not ex.response:
        return []
    try:
        instance = decode(ex.response)
    except Exception:
        return ["body is not JSON"]
    if override is not None:
        errs = []
        for err in OAS30Validator(override, registry=spec.registry).iter_errors(instance):
            errs.append(f"{'/'.join(map(str, err.absolute_path)) or '(root)'}: {err.message[:300]}")
            if len(errs) >= 20:
                break
        return errs
    esc_key = key
    resp = responses[key]
    base = f"{op.pointer}/responses/{esc_key}"
    if "$ref" in resp:
        base = resp["$ref"].lstrip("#")
        resp = spec.deref(resp)
    if spec.swagger2:
        return spec.schema_errors(base + "/schema", instance) if "schema" in resp else []
    media = _media(resp.get("content", {}))
    if not media:
        return []
    return spec.schema_errors(f"{base}/content/{media}/schema", instance)
