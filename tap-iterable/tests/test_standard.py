"""singer-sdk's standard tap tests, against a module-level sandbox (the suite needs its config at import)."""

from __future__ import annotations

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from sandbox.app import Sandbox
from sandbox.conformance import Conformance
from tap_iterable.client import RATE_LIMITS
from tap_iterable.tap import TapIterable

SB = Sandbox("iterable", scale="tiny").start(0)
CHECK = Conformance()  # the conformance fixture watches the session sandbox; this one watches SB
SB.observers.append(CHECK.observe)

TestTapIterable = get_tap_test_class(
    TapIterable,
    config={"api_key": SB.api_key, "api_url": SB.urls()["iterable"], "start_date": "2024-11-01T00:00:00Z",
            "export_window_days": 400, "rate_limits": dict.fromkeys(RATE_LIMITS, 1e7)},
    suite_config=SuiteConfig(max_records_limit=40),
)


def test_standard_suite_traffic_conforms_to_the_swagger():
    """Runs after the suite's class (same file, same worker): every exchange it made was valid."""
    assert CHECK.exchanges > 60
    CHECK.check()
