from __future__ import annotations

import pytest


@pytest.fixture
def config(sandbox, tmp_path, conformance):
    """Target settings against the per-test sandbox; every exchange is checked against the spec."""
    sandbox.sb.vendors["brevo"].import_delay = 0.05
    return {
        "api_url": sandbox.urls["brevo"],
        "api_key": sandbox.api_key,
        "rejects_path": str(tmp_path / "rejects.jsonl"),
        "import_poll_initial_seconds": 0.05,
        "backoff_base_seconds": 0.01,
    }
