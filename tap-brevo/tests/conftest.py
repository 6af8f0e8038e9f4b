"""Fixtures for tap-brevo's tests: a config pointing at the session sandbox."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def config(sandbox: Any) -> dict[str, Any]:
    """tap-brevo config for the (reset) session sandbox; limits are off there."""
    return {"api_key": sandbox.api_key, "api_url": sandbox.urls["brevo"], "rate_limit_plan": "off",
            "backoff_base_seconds": 0.05}


@pytest.fixture
def queries(sandbox: Any) -> Any:
    """Every Brevo request the session sandbox serves during the test: (path, query)."""
    seen: list[tuple[str, dict[str, list[str]]]] = []

    def observe(ex: Any) -> None:
        if ex.vendor == "brevo":
            seen.append((ex.path, ex.query))

    sandbox.sb.observers.append(observe)
    yield seen
    sandbox.sb.observers.remove(observe)
