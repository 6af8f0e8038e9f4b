"""tap-iterable throughput through the synchronous export path (rate limits and pacing off).

Starts its own sandbox process, runs the tap as a subprocess over a few export streams (the
events types with the most records, and users), counts the RECORD lines it writes to a pipe,
and reports records/s, API calls per 1k records (from /_sandbox/stats) and the tap's peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import catalog

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
PROFILES = int(os.environ.get("BENCH_ITERABLE_PROFILES", "20000"))
EVENTS = int(os.environ.get("BENCH_ITERABLE_EVENTS", "400000"))
STREAMS = ["email_send", "custom_event", "email_open", "users"]
BUCKETS = ["default", "export", "export_jobs", "list_users", "metrics", "user_fields"]


def _python() -> str:
    return str(VENV / "python") if (VENV / "python").exists() else sys.executable


def _calls(base: str) -> int:
    stats = requests.get(base + "/_sandbox/stats", timeout=30).json()
    return stats["totals"].get("iterable", 0)


def _sync(base: str, url: str, tmp: Path) -> tuple[int, int, float, int]:
    config = {"api_key": "sandbox-key", "api_url": url, "start_date": "2024-11-01T00:00:00Z",
              "export_window_days": 30, "rate_limits": dict.fromkeys(BUCKETS, 1e9),
              "event_types": [s for s in STREAMS if s != "users"]}
    (tmp / "config.json").write_text(json.dumps(config))
    selected = catalog([_python(), "-m", "tap_iterable.tap"], tmp / "config.json", set(STREAMS))
    (tmp / "catalog.json").write_text(json.dumps(selected))
    calls0 = _calls(base)
    t0 = time.perf_counter()
    proc = subprocess.Popen([_python(), "-m", "tap_iterable.tap", "--config", str(tmp / "config.json"),
                             "--catalog", str(tmp / "catalog.json")], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    records, tail = 0, b""
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 20):  # count RECORD messages without parsing them
        data = tail + chunk
        records += data.count(b'"type":"RECORD"')
        tail = data[-20:]
        records -= tail.count(b'"type":"RECORD"')
    records += tail.count(b'"type":"RECORD"')
    if proc.wait() != 0:
        raise RuntimeError("tap-iterable failed")
    elapsed = time.perf_counter() - t0
    return records, _calls(base) - calls0, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def run() -> list[tuple[str, float]]:
    proc = subprocess.Popen([_python(), "-m", "sandbox.cli", "serve", "--port", "0", "--vendors", "iterable",
                             "--rate-limits", "off", "--scale", f"tiny,profiles={PROFILES},events={EVENTS}"],
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        base, url = info["sandbox"], info["urls"]["iterable"]
        with tempfile.TemporaryDirectory() as tmp:
            _sync(base, url, Path(tmp))  # warm the sandbox's record cache
            records, calls, elapsed, rss = _sync(base, url, Path(tmp))
        return [("sync export records/s", records / elapsed),
                ("sync export records per run", float(records)),
                ("API calls per 1k records", 1000 * calls / max(1, records)),
                ("tap peak RSS MiB", rss / 1024)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:,.1f}")
