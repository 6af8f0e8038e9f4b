"""tap-brevo: contacts/s over GET /contacts (1,000 per page, keyset on createdSince), API calls per record.

Starts its own Brevo sandbox with 100,000 contacts (``--scale small,brevo_contacts=100000``, limits
off), warms the sandbox's pages once, runs the tap as a subprocess on the ``contacts`` stream with
stdout to /dev/null, and reports contacts/s, API calls per 1,000 contacts and the tap's peak RSS.
Then it runs every other stream once (the seeded account at ``small``; ``list_contacts`` is opt-in
and left out) for records/s and API calls per record there, where most calls sit in the 100/h bucket.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import catalog

CONTACTS = int(os.environ.get("BENCH_BREVO_CONTACTS", "100000"))
BIN = Path(sys.executable).parent


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers={"api-key": "sandbox-key"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310
        return json.loads(r.read())


def _sync(tap: str, config: Path, catalog: Path) -> tuple[float, int]:
    """Run the tap; return (seconds, records) — records counted from a second, piped run would cost
    the pipe, so they are counted by the tap's own record_count metrics on stderr."""
    started = time.perf_counter()
    out = subprocess.run([tap, "--config", str(config), "--catalog", str(catalog)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True)
    elapsed = time.perf_counter() - started
    records = 0
    for line in out.stderr.splitlines():
        if '"metric":"record_count"' in line.replace(" ", ""):
            records += json.loads(line[line.index("{"):])["value"]
    return elapsed, records


def run() -> list[tuple[str, float]]:
    server = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "serve", "--port", "0", "--vendors", "brevo",
                               "--scale", f"small,brevo_contacts={CONTACTS}", "--rate-limits", "off"],
                              stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        base, url = info["sandbox"], info["urls"]["brevo"]
        total = _get(url + "/contacts?limit=1")["count"]
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp, "config.json")
            config.write_text(json.dumps({"api_key": "sandbox-key", "api_url": url, "rate_limit_plan": "off",
                                          "start_date": "2000-01-01T00:00:00Z"}))
            tap = str(BIN / "tap-brevo")
            Path(tmp, "contacts.json").write_text(json.dumps(catalog(tap, config, {"contacts"})))
            others = {s["tap_stream_id"] for s in catalog(tap, config, None)["streams"]} - {"contacts", "list_contacts"}
            Path(tmp, "others.json").write_text(json.dumps(catalog(tap, config, others)))
            before = _get(base + "/_sandbox/stats")["totals"].get("brevo", 0)
            elapsed, records = _sync(tap, config, Path(tmp, "contacts.json"))
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the tap: server not reaped
            calls = _get(base + "/_sandbox/stats")["totals"]["brevo"] - before
            before = _get(base + "/_sandbox/stats")["totals"]["brevo"]
            other_elapsed, other_records = _sync(tap, config, Path(tmp, "others.json"))
            other_calls = _get(base + "/_sandbox/stats")["totals"]["brevo"] - before
        assert records == total, f"tap emitted {records} contacts, the sandbox has {total}"
        return [
            (f"tap-brevo contacts, {total:,} contacts (records/s)", records / elapsed),
            ("tap-brevo contacts: API calls per 1,000 contacts", calls * 1000 / records),
            ("tap-brevo contacts: tap peak RSS (MB)", peak_mb),
            (f"tap-brevo 14 other streams, {other_records:,} records (records/s)", other_records / other_elapsed),
            ("tap-brevo 14 other streams: API calls per 1,000 records", other_calls * 1000 / other_records),
        ]
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:,.2f}")
