"""The sandbox server: one process, every vendor under its own prefix, plus ``/_sandbox``.

The HTTP stack is the standard library's ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive,
and JSON goes through msgspec. Pages are spliced from cached, pre-encoded records, so the
per-request cost is the stdlib's header parsing (~100 µs) and the sandbox serves far more
records per second than any tap can consume (see README and ``bench/``).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import data
from .faults import FaultInjector, FaultRule, parse_spec
from .http import JSON, HTTPError, Request, Response, decode, encode
from .ratelimit import RateLimiter, Verdict, Window, parse_scale
from .vendors.base import Vendor

log = logging.getLogger("sandbox")

VENDORS = {
    "klaviyo": "sandbox.vendors.klaviyo:Klaviyo",
    "braze": "sandbox.vendors.braze:Braze",
    "iterable": "sandbox.vendors.iterable:Iterable",
    "brevo": "sandbox.vendors.brevo:Brevo",
}
DEFAULT_KEY = "sandbox-key"


@dataclass
class Exchange:
    """One request and its answer, as the conformance fixture sees it."""

    vendor: str
    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    content_type: str
    response: bytes | None  # None when the body was streamed
    fault: str | None = None


def load_vendor(name: str) -> type[Vendor]:
    module, _, attr = VENDORS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


class Sandbox:
    def __init__(
        self,
        vendors: list[str] | str | None = None,
        *,
        seed: int = 42,
        scale: str | dict[str, int] | None = "small",
        rate_limits: str | float = "off",
        faults: str | list[FaultRule] | None = None,
        api_key: str = DEFAULT_KEY,
        state_path: str | os.PathLike[str] | None = None,
        anchor: datetime = data.ANCHOR,
    ) -> None:
        if isinstance(vendors, str):
            vendors = [v.strip() for v in vendors.split(",") if v.strip()]
        names = vendors or list(VENDORS)
        unknown = set(names) - set(VENDORS)
        if unknown:
            raise ValueError(f"unknown vendors {sorted(unknown)}; choose from {sorted(VENDORS)}")
        self.vendor_names = names
        self.seed = seed
        self.scale_spec = scale
        self.scale = data.parse_scale(scale)
        self.limiter = RateLimiter(parse_scale(rate_limits))
        self.initial_rate_scale = self.limiter.scale
        self.faults = FaultInjector(parse_spec(faults) if isinstance(faults, str) else faults, seed)
        self.api_key = api_key
        self.anchor = anchor
        self.offset = 0.0  # seconds the account clock was advanced
        self.state_path = Path(state_path) if state_path else None
        self.lock = threading.RLock()
        self._started = time.monotonic()
        self.observers: list[Callable[[Exchange], None]] = []
        self._stats: dict[str, Counter[str]] = defaultdict(Counter)
        self._limited: Counter[str] = Counter()
        self._build()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # --- lifecycle ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.vendors: dict[str, Vendor] = {n: load_vendor(n)(self) for n in self.vendor_names}
        self._by_prefix = sorted(((v.prefix, v) for v in self.vendors.values()), key=lambda p: -len(p[0]))
        if self.state_path and self.state_path.exists():
            self._load(self.state_path)

    def now(self) -> datetime:
        """The account's clock: it ticks in real time from the anchor, plus any ``advance``.

        Seeded data is laid out before ``data_now()`` (deterministic for a seed); objects that
        clients write are stamped with ``now()``, which keeps moving like a real account's.
        """
        return self.anchor + timedelta(seconds=self.offset + time.monotonic() - self._started)

    def data_now(self) -> datetime:
        """The instant seeded data is generated up to: the anchor plus ``advance`` offsets."""
        return self.anchor + timedelta(seconds=self.offset)

    def reset(self) -> None:
        with self.lock:
            self.offset = 0.0
            self._started = time.monotonic()
            self.faults.reset()
            self.limiter.scale = self.initial_rate_scale  # a test's rate_limits(...) must not leak
            self.limiter.reset()
            self._stats.clear()
            self._limited.clear()
            state_path, self.state_path = self.state_path, None
            self._build()
            self.state_path = state_path

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += seconds
            for vendor in self.vendors.values():
                vendor.advance(seconds)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path) if path else self.state_path
        if not target:
            raise ValueError("no state path: start with --state FILE or pass one")
        with self.lock:
            state = {"offset": self.offset, "seed": self.seed,
                     "vendors": {n: v.dump() for n, v in self.vendors.items()}}
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_bytes(encode(state))
        tmp.replace(target)
        return target

    def _load(self, path: Path) -> None:
        state = decode(path.read_bytes())
        if state.get("seed") != self.seed:
            log.warning("state file %s was written with seed %s, not %s", path, state.get("seed"), self.seed)
        self.offset = float(state.get("offset", 0.0))
        for name, vstate in state.get("vendors", {}).items():
            if name in self.vendors:
                self.vendors[name].load(vstate)

    # --- HTTP serving ---------------------------------------------------------------------------
    def start(self, port: int = 0, host: str = "127.0.0.1") -> Sandbox:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever_started(self) -> None:
        """Block until the server thread ends (it runs until ``stop``)."""
        assert self._thread, "call start() first"
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.state_path:
            self.save()

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else 0

    def urls(self) -> dict[str, str]:
        return {name: self.base_url + self.vendors[name].prefix + _API_SUFFIX.get(name, "")
                for name in self.vendor_names}

    # --- dispatch -------------------------------------------------------------------------------
    def dispatch(self, method: str, target: str, headers: Any, body: bytes) -> tuple[Response, str | None, FaultRule | None]:
        """Answer one request. Returns (response, vendor name, injected fault)."""
        split = urlsplit(target)
        path = split.path
        if path.startswith("/_sandbox"):
            return self._control(method, path, split.query, body), None, None
        for prefix, vendor in self._by_prefix:  # noqa: B007 - the loop finds the vendor
            if path == prefix or path.startswith(prefix + "/"):
                break
        else:
            return Response({"message": f"no vendor at {path}; try /_sandbox/config"}, 404), None, None
        sub = path[len(prefix):] or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        route, params, other = vendor.router.match(method, sub)
        req = Request(method, sub, query, headers, body, params, route.pattern if route else "",
                      self.base_url + prefix, split.query)
        fault = self.faults.pick(method, path)
        if fault and fault.kind in ("status", "ratelimit"):
            resp = self._fault_response(vendor, fault)
            self._count(vendor.name, req, resp.status)
            return resp, vendor.name, fault
        try:
            if route is None:
                raise HTTPError(405 if other else 404,
                                f"{'method not allowed' if other else 'no such endpoint'}: {method} {sub}",
                                "method_not_allowed" if other else "not_found")
            if route.auth:
                vendor.authenticate(req)
            verdict = None
            windows = vendor.buckets.get(route.bucket)
            if windows and self.limiter.enabled:
                key = f"{vendor.name}:{route.bucket}" + (f":{route.pattern}" if vendor.per_route_buckets else "")
                verdict = self.limiter.hit(key, windows)
                if not verdict.allowed:
                    self._limited[vendor.name] += 1
                    resp = vendor.too_many(verdict)
                    self._count(vendor.name, req, resp.status)
                    return resp, vendor.name, fault
            result = route.handler(req)
            resp = result if isinstance(result, Response) else Response(result)
            if verdict is not None:
                resp.headers.update(vendor.limit_headers(verdict))
        except HTTPError as exc:
            resp = vendor.error(exc)
        except Exception as exc:  # a sandbox bug must look like a vendor 500, and be visible
            log.exception("sandbox handler failed for %s %s", method, path)
            resp = vendor.error(HTTPError(500, f"sandbox internal error: {type(exc).__name__}: {exc}", "internal_error"))
        self._count(vendor.name, req, resp.status)
        return resp, vendor.name, fault

    def _fault_response(self, vendor: Vendor, fault: FaultRule) -> Response:
        if fault.kind == "ratelimit":
            self._limited[vendor.name] += 1
            # The vendor's own longest window, or a 1/s one for vendors without buckets.
            window = next(iter(vendor.buckets.values()), (Window(1, 1.0),))[-1]
            length = window.seconds / (self.limiter.scale or 1)
            now = time.time()
            reset = min(length, 2.0)  # injected storms stay short so tests finish quickly
            return vendor.too_many(Verdict(False, window.limit, 0, reset, now + reset, window))
        return vendor.error(HTTPError(fault.status or 500, f"injected fault: HTTP {fault.status}", "injected_fault"))

    def _count(self, vendor: str, req: Request, status: int) -> None:
        self._stats[vendor][f"{req.method} {req.route or req.path}|{status}"] += 1

    def stats(self) -> dict[str, Any]:
        requests: dict[str, dict[str, dict[str, int]]] = {}
        totals: dict[str, int] = {}
        for vendor, counter in list(self._stats.items()):
            per: dict[str, dict[str, int]] = {}
            for key, n in counter.items():
                endpoint, _, status = key.rpartition("|")
                per.setdefault(endpoint, {})[status] = n
            requests[vendor] = per
            totals[vendor] = sum(counter.values())
        return {
            "requests": requests,
            "totals": totals,
            "rate_limited": dict(self._limited),
            "faults": self.faults.snapshot(),
            "now": data.iso(self.now()),
        }

    def config(self) -> dict[str, Any]:
        return {
            "urls": self.urls(),
            "seed": self.seed,
            "scale": self.scale,
            "rate_limit_scale": self.limiter.scale,
            "now": data.iso(self.now()),
            "vendors": self.vendor_names,
        }

    # --- /_sandbox control endpoints ---------------------------------------------------------------
    def _control(self, method: str, path: str, query: str, body: bytes) -> Response:
        parts = path.strip("/").split("/")[1:]
        what = parts[0] if parts else "config"
        args = {k: v[0] for k, v in parse_qs(query).items()}
        payload = decode(body) if body.strip() else {}
        try:
            if what == "config":
                return Response(self.config())
            if what == "stats":
                return Response(self.stats())
            if what == "reset" and method == "POST":
                self.reset()
                return Response({"reset": True})
            if what == "faults":
                if method == "DELETE":
                    self.faults.set([])
                elif method == "POST":
                    rules = parse_spec(payload["spec"]) if "spec" in payload else [
                        FaultRule.from_dict(r) for r in payload.get("rules", [])]
                    (self.faults.set if payload.get("replace") else self.faults.add)(rules)
                return Response(self.faults.snapshot())
            if what == "store":
                names = parts[1:2] or self.vendor_names
                missing = [n for n in names if n not in self.vendors]
                if missing:
                    return Response({"message": f"vendor {missing[0]} is not served"}, 404)
                with self.lock:
                    views = {n: self.vendors[n].store() for n in names}
                return Response(views[names[0]] if parts[1:2] else views)
            if what == "advance" and method == "POST":
                seconds = float(payload.get("seconds", args.get("seconds", 0))) + 86400 * float(
                    payload.get("days", args.get("days", 0)))
                self.advance(seconds)
                return Response({"now": data.iso(self.now()), "advanced": seconds})
            if what == "save" and method == "POST":
                return Response({"saved": str(self.save(payload.get("path")))})
            if what == "rate-limits" and method in ("POST", "PUT"):
                self.limiter.scale = parse_scale(payload.get("mode", "off"))
                self.limiter.reset()
                return Response({"rate_limit_scale": self.limiter.scale})
        except (ValueError, KeyError, TypeError) as exc:
            return Response({"message": f"bad control request: {exc}"}, 400)
        return Response({"message": f"unknown control endpoint {method} {path}"}, 404)


# Plugins' api_url is the vendor's documented base URL shape: Iterable's includes /api.
_API_SUFFIX = {"iterable": "/api"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus delayed ACKs
    # add ~40 ms to every keep-alive request.
    disable_nagle_algorithm = True
    sandbox: Sandbox
    server_version = "sandbox"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # stats replace access logs
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sb = self.sandbox
        resp, vendor, fault = sb.dispatch(self.command, self.path, self.headers, body)
        if fault and fault.kind == "reset":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
        payload = resp.payload()
        if fault and fault.kind == "invalid_json":
            resp = Response(None, 200, {}, JSON)
            payload = b'{"data": [{"id": "trunc'
        if isinstance(payload, Iterator):
            self._observe(vendor, resp, None, fault, body)
            self._stream(resp, payload)
            return
        self._observe(vendor, resp, payload, fault, body)  # before writing: the client may check at once
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            if fault and fault.kind == "truncate":
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.wfile.write(payload)

    def _stream(self, resp: Response, chunks: Iterator[bytes]) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            for chunk in chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _observe(self, vendor: str | None, resp: Response, payload: bytes | None, fault: FaultRule | None,
                 body: bytes) -> None:
        sb = self.sandbox
        if not sb.observers or vendor is None:
            return
        split = urlsplit(self.path)
        prefix = sb.vendors[vendor].prefix
        sub = split.path[len(prefix):] or "/"
        route, _, _ = sb.vendors[vendor].router.match(self.command, sub)
        ex = Exchange(vendor, self.command, sub, route.pattern if route else "",
                      parse_qs(split.query, keep_blank_values=True),
                      {k.lower(): v for k, v in self.headers.items()}, body, resp.status,
                      resp.content_type, payload,
                      (fault.kind if fault.kind != "status" else str(fault.status)) if fault else None)
        for observer in list(sb.observers):
            observer(ex)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle  # noqa: N815 - stdlib names
