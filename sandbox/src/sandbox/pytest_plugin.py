"""Pytest fixtures: an in-process sandbox on a free port, and the spec-conformance recorder.

* ``sandbox_server`` (session): one ``Sandbox`` per test process (tiny scale, limits off).
* ``sandbox`` (function): that server, reset before the test: ``sandbox.urls["brevo"]``,
  ``sandbox.stats()``, ``sandbox.store("brevo")``, ``sandbox.faults("503#2")``, ``sandbox.sb``.
* ``make_sandbox(**options)``: a separate server with its own options, stopped after the test.
* ``conformance``: checks every exchange with the vendors' specs during the test and fails it
  on any violation; ``conformance.expect(regex)`` declares one the test provokes on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .app import Sandbox
from .faults import FaultRule, parse_spec

# The credentials each vendor expects, with the sandbox's key.
AUTH_HEADERS = {
    "klaviyo": {"Authorization": "Klaviyo-API-Key {key}", "revision": "2026-07-15"},
    "braze": {"Authorization": "Bearer {key}"},
    "iterable": {"Api-Key": "{key}"},
    "brevo": {"api-key": "{key}"},
}


class Handle:
    """A test's view of a running sandbox."""

    def headers(self, vendor: str) -> dict[str, str]:
        """Valid auth headers for ``vendor``."""
        return {k: v.format(key=self.sb.api_key) for k, v in AUTH_HEADERS[vendor].items()}

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb

    @property
    def urls(self) -> dict[str, str]:
        return self.sb.urls()

    @property
    def base_url(self) -> str:
        return self.sb.base_url

    @property
    def api_key(self) -> str:
        return self.sb.api_key

    def stats(self) -> dict[str, Any]:
        return self.sb.stats()

    def store(self, vendor: str) -> dict[str, Any]:
        with self.sb.lock:
            return self.sb.vendors[vendor].store()

    def faults(self, spec: str | list[dict[str, Any]], *, replace: bool = True) -> None:
        rules = parse_spec(spec) if isinstance(spec, str) else [FaultRule.from_dict(r) for r in spec]
        (self.sb.faults.set if replace else self.sb.faults.add)(rules)

    def rate_limits(self, mode: str | float) -> None:
        from .ratelimit import parse_scale

        self.sb.limiter.scale = parse_scale(mode)
        self.sb.limiter.reset()

    def advance(self, seconds: float = 0, days: float = 0) -> None:
        self.sb.advance(seconds + days * 86400)

    def requests(self, vendor: str) -> dict[str, dict[str, int]]:
        """Request counts per endpoint and status for one vendor."""
        return self.stats()["requests"].get(vendor, {})


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    sb = Sandbox(scale="tiny", rate_limits="off").start(0)
    yield sb
    sb.stop()


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Handle:
    sandbox_server.reset()
    return Handle(sandbox_server)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Handle]]:
    started: list[Sandbox] = []

    def factory(**options: Any) -> Handle:
        options.setdefault("scale", "tiny")
        sb = Sandbox(**options).start(0)
        started.append(sb)
        return Handle(sb)

    yield factory
    for sb in started:
        sb.stop()


@pytest.fixture
def conformance(sandbox_server: Sandbox) -> Iterator[Any]:
    """Record the session sandbox's traffic (and any ``make_sandbox`` one via ``.attach``)."""
    from .conformance import Conformance

    checker = Conformance()
    attached = [sandbox_server]

    def attach(handle: Handle | Sandbox) -> None:
        sb = handle.sb if isinstance(handle, Handle) else handle
        sb.observers.append(checker.observe)
        attached.append(sb)

    checker.attach = attach  # type: ignore[attr-defined]
    sandbox_server.observers.append(checker.observe)
    yield checker
    for sb in attached:
        if checker.observe in sb.observers:
            sb.observers.remove(checker.observe)
    checker.check()
