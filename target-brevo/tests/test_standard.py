"""singer-sdk's standard target tests, run against a module-level sandbox (config at import time).

Their streams (``test_array_data``, ``TestCamelcase``...) carry no Brevo identifiers, so they are
routed to ``contacts`` with ``stream_types`` and their records become rejects: the suite checks
that the target reads every shape of input without crashing, and the reject path with it.
"""

from __future__ import annotations

import json
import tempfile
from importlib import resources
from pathlib import Path

import pytest
from singer_sdk.testing import get_target_test_class

from sandbox.app import Sandbox
from target_brevo.target import TargetBrevo

SB = Sandbox("brevo", scale="tiny").start(0)
STREAMS: dict[str, str] = {}
for f in resources.files("singer_sdk.testing.target_test_streams").iterdir():
    if f.name.endswith(".singer"):
        for line in f.read_text().splitlines():
            if line.strip().startswith("{") and '"SCHEMA"' in line:
                STREAMS[json.loads(line)["stream"]] = "contacts"

CONFIG = {
    "api_url": SB.urls()["brevo"],
    "api_key": SB.api_key,
    "stream_types": STREAMS,
    "rejects_path": str(Path(tempfile.mkdtemp()) / "standard-rejects.jsonl"),
    "import_poll_initial_seconds": 0.05,
}

StandardTests = get_target_test_class(TargetBrevo, config=CONFIG)


class TestTargetBrevoStandard(StandardTests):
    """The SDK suite, curated."""

    @pytest.mark.skip(reason="target-brevo keys contacts by email/ext_id/sms, not by the stream's "
                             "key_properties: a record lacking one is a missing_identifier reject, "
                             "not a MissingKeyPropertiesError crash (issue 3, behaviour 12)")
    def test_target_record_missing_key_property(self) -> None:
        """Skipped, see the reason."""
