"""singer-sdk's standard tap tests against a module-level sandbox (the suite needs config at import)."""

from __future__ import annotations

import requests
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from sandbox.app import Sandbox
from sandbox.conformance import Conformance
from tap_klaviyo.tap import TapKlaviyo

SB = Sandbox("klaviyo", scale="tiny").start(0)
CHECK = Conformance()
SB.observers.append(CHECK.observe)
URL = SB.urls()["klaviyo"]
_METRICS = requests.get(URL + "/api/metrics", headers={"Authorization": f"Klaviyo-API-Key {SB.api_key}",
                                                      "revision": "2026-07-15"}, timeout=10).json()["data"]
CONFIG = {"private_api_key": SB.api_key, "api_url": URL, "start_date": "2024-01-01T00:00:00Z",
          # The opt-in stream, so the suite checks it too.
          "metric_aggregates": [{"metric_id": _METRICS[0]["id"], "interval": "month"}],
          "metric_aggregates_window_days": 800}

TestTapKlaviyo = get_tap_test_class(TapKlaviyo, config=CONFIG, suite_config=SuiteConfig(max_records_limit=50))


def test_standard_suite_traffic_conforms_to_the_spec() -> None:
    TapKlaviyo(config=CONFIG)  # the suite above ran its syncs against SB in this process
    CHECK.check()
