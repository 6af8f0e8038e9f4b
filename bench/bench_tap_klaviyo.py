"""tap-klaviyo throughput against the sandbox (rate limits off): profiles and events records/s.

Starts its own sandbox process, runs the tap as a subprocess per stream with stdout to /dev/null,
and reports records/s, API calls per record (from /_sandbox/stats) and the tap's peak RSS.
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
PROFILES = int(os.environ.get("BENCH_KLAVIYO_PROFILES", "10000"))
EVENTS = int(os.environ.get("BENCH_KLAVIYO_EVENTS", "60000"))
HEADERS = {"Authorization": "Klaviyo-API-Key sandbox-key", "revision": "2026-07-15"}


def _python() -> str:
    return str(VENV / "python") if (VENV / "python").exists() else sys.executable


def _get(url: str) -> dict:
    return requests.get(url, timeout=30).json()


def _warm(url: str, path: str, size: int) -> None:
    """Walk the collection once so the sandbox has generated (and cached) every object."""
    with requests.Session() as http:
        nxt: str | None = f"{url}{path}?page%5Bsize%5D={size}"
        while nxt:
            nxt = http.get(nxt, headers=HEADERS, timeout=60).json()["links"].get("next")


def _calls(base: str) -> int:
    stats = _get(base + "/_sandbox/stats")
    return sum(sum(v.values()) if isinstance(v, dict) else v
               for v in stats["requests"].get("klaviyo", {}).values())


def _run_stream(base: str, url: str, stream: str, tmp: Path) -> tuple[int, float, int]:
    config = {"private_api_key": "sandbox-key", "api_url": url, "pace_requests": False,
              "start_date": "2020-01-01T00:00:00Z", "events_window_days": 400}
    (tmp / "config.json").write_text(json.dumps(config))
    selected = catalog([_python(), "-m", "tap_klaviyo"], tmp / "config.json", {stream})
    (tmp / "catalog.json").write_text(json.dumps(selected))
    calls0 = _calls(base)
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        subprocess.run([_python(), "-m", "tap_klaviyo", "--config", str(tmp / "config.json"),
                        "--catalog", str(tmp / "catalog.json")], stdout=devnull, stderr=subprocess.DEVNULL,
                       check=True)
    elapsed = time.perf_counter() - t0
    return _calls(base) - calls0, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def run() -> list[tuple[str, float]]:
    proc = subprocess.Popen([_python(), "-m", "sandbox.cli", "serve", "--port", "0", "--vendors", "klaviyo",
                             "--rate-limits", "off", "--scale", f"tiny,profiles={PROFILES},events={EVENTS}"],
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        base, url = info["sandbox"], info["urls"]["klaviyo"]
        out: list[tuple[str, float]] = []
        with tempfile.TemporaryDirectory() as tmp:
            for stream, count, size in (("profiles", PROFILES, 100), ("events", EVENTS, 1000)):
                _warm(url, f"/api/{stream}", size)
                calls, elapsed, rss = _run_stream(base, url, stream, Path(tmp))
                out += [(f"{stream} records/s", count / elapsed), (f"{stream} API calls per 1k records",
                                                                   1000 * calls / count)]
            out.append(("tap peak RSS MiB", rss / 1024))
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:,.1f}")
