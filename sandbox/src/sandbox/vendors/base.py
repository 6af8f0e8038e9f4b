"""What every vendor fake shares: routes, auth, error bodies, rate-limit headers, state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..http import HTTPError, Request, Response, Router
from ..ratelimit import Verdict, Window

if TYPE_CHECKING:
    from ..app import Sandbox


class Vendor:
    """Base class of one vendor's fake API.

    Subclasses set ``name``/``prefix``, declare ``buckets`` (name → windows), register their
    endpoints in ``setup()`` with ``self.route(...)``, and override the vendor-specific
    hooks: ``authenticate``, ``error``, ``limit_headers`` and ``too_many``.
    """

    name = "vendor"
    prefix = "/vendor"
    buckets: dict[str, tuple[Window, ...]] = {}
    # When true, each route counts against its own copy of its bucket (Klaviyo's limits are
    # per endpoint); when false a bucket is shared by all its routes (Brevo, Braze groups).
    per_route_buckets = False

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.router = Router()
        self.setup()

    # --- declarations ------------------------------------------------------------------------
    def setup(self) -> None:
        """Register routes and build seeded data. Called once, and again on reset."""

    def route(self, method: str, pattern: str, handler: Callable[[Request], Any], *,
              bucket: str = "default", auth: bool = True) -> None:
        self.router.add(method.upper(), pattern, handler, bucket, auth)

    # --- vendor-specific hooks -----------------------------------------------------------------
    def authenticate(self, req: Request) -> None:
        """Raise ``HTTPError`` (answered through ``error``) when credentials are wrong."""

    def error(self, exc: HTTPError) -> Response:
        """The vendor's own error body for ``exc``."""
        return Response({"message": exc.message, "code": exc.code}, exc.status)

    def limit_headers(self, verdict: Verdict) -> dict[str, str]:
        """Rate-limit headers on an allowed response."""
        return {}

    def too_many(self, verdict: Verdict) -> Response:
        """The vendor's 429, with its headers."""
        return self.error(HTTPError(429, "Too Many Requests", "too_many_requests"))

    def not_found(self, req: Request) -> Response:
        return self.error(HTTPError(404, f"no such endpoint: {req.method} {req.path}", "not_found"))

    # --- state -------------------------------------------------------------------------------
    def store(self) -> dict[str, Any]:
        """Everything written to this vendor, for tests to read back."""
        return {}

    def dump(self) -> dict[str, Any]:
        """What survives a restart with ``--state`` (written objects, not seeded data)."""
        return {}

    def load(self, state: dict[str, Any]) -> None:
        """Restore what ``dump`` returned."""

    def advance(self, seconds: float) -> None:
        """The account's clock moved forward: new and changed source records may appear."""

    # --- helpers for subclasses -------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self.sb.seed

    @property
    def scale(self) -> dict[str, int]:
        return self.sb.scale
