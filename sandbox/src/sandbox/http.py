"""Request/response objects and routing shared by every vendor fake."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import msgspec

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

JSON = "application/json"


def encode(obj: Any) -> bytes:
    """Serialise to compact JSON (msgspec: the sandbox's hot path)."""
    return _encoder.encode(obj)


def decode(raw: bytes | str) -> Any:
    return _decoder.decode(raw)


class Raw(bytes):
    """Already-encoded JSON, spliced verbatim into a page (see ``json_array``)."""


def json_array(items: Iterable[bytes]) -> Raw:
    """Join pre-encoded JSON values into one JSON array without re-encoding them."""
    return Raw(b"[" + b",".join(items) + b"]")


class HTTPError(Exception):
    """Raised by a handler to answer with the vendor's own error body."""

    def __init__(self, status: int, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra


@dataclass
class Request:
    method: str
    path: str  # below the vendor prefix, e.g. "/api/profiles"
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # path parameters
    route: str = ""  # the matched route pattern, e.g. "/api/profiles/{id}"
    base_url: str = ""  # scheme://host:port + vendor prefix, for building next links
    raw_query: str = ""

    def arg(self, name: str, default: Any = None) -> Any:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def int_arg(self, name: str, default: int, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        """An integer query parameter; out-of-range or non-numeric values are a 400."""
        raw = self.arg(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise HTTPError(400, f"{name} must be an integer, got {raw!r}",
                            "invalid_parameter", parameter=name) from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise HTTPError(400, f"{name} must be between {minimum} and {maximum}, got {value}",
                            "out_of_range", parameter=name)
        return value

    def json(self) -> Any:
        if not self.body:
            raise HTTPError(400, "request body is missing", "missing_parameter")
        try:
            return decode(self.body)
        except msgspec.DecodeError as exc:
            raise HTTPError(400, f"request body is not valid JSON: {exc}", "bad_request") from None

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"))


@dataclass
class Response:
    """What a handler returns.

    ``body`` may be a JSON-able object, ``Raw``/``bytes``/``str`` (sent as is), or an
    iterator of ``bytes`` chunks (streamed with chunked transfer encoding, so a large
    export never sits in memory).
    """

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON

    def payload(self) -> bytes | Iterator[bytes]:
        body = self.body
        if body is None:
            return b""
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode()
        if isinstance(body, Iterator):
            return body
        return encode(body)


Handler = Callable[[Request], Response | Any]

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass
class Route:
    method: str
    pattern: str
    handler: Handler
    bucket: str
    auth: bool
    regex: re.Pattern[str] | None


class Router:
    """Matches ``(method, path)`` to a route: static paths by dict, templated ones by regex."""

    def __init__(self) -> None:
        self._static: dict[tuple[str, str], Route] = {}
        self._dynamic: list[Route] = []
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, bucket: str, auth: bool) -> None:
        regex = None
        if "{" in pattern:
            regex = re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}")) + "/?$")
        route = Route(method, pattern, handler, bucket, auth, regex)
        self.routes.append(route)
        if regex is None:
            self._static[(method, pattern.rstrip("/") or "/")] = route
        else:
            self._dynamic.append(route)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Return (route, path params, path_exists_for_other_method)."""
        key = path.rstrip("/") or "/"
        route = self._static.get((method, key))
        if route:
            return route, {}, True
        other = False
        for route in self._dynamic:
            m = route.regex.match(path) if route.regex else None
            if m:
                if route.method == method:
                    return route, m.groupdict(), True
                other = True
        if any(k[1] == key for k in self._static):
            other = True
        return None, {}, other
