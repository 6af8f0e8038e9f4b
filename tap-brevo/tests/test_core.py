"""singer-sdk's standard tap tests, against a module-level Brevo sandbox whose traffic is spec-checked."""

from __future__ import annotations

from singer_sdk.testing import get_tap_test_class

from sandbox.app import Sandbox
from sandbox.conformance import Conformance
from tap_brevo.tap import TapBrevo
from tap_brevo.testing import select

SB = Sandbox("brevo", scale="tiny").start(0)
CHECKER = Conformance()
SB.observers.append(CHECKER.observe)
CONFIG = {"api_key": SB.api_key, "api_url": SB.urls()["brevo"], "rate_limit_plan": "off"}

# Every stream selected, list_contacts included (it is off by default: one walk per list).
TestTapBrevo = get_tap_test_class(TapBrevo, config=CONFIG, catalog=select(TapBrevo(config=CONFIG), None))


def test_standard_tests_traffic_conforms_to_brevos_spec():
    """Runs after the class above (same file, same worker): every exchange it caused was valid."""
    assert CHECKER.exchanges > 16
    CHECKER.check()
