"""tap-braze: users/s through the segment export path (POST export → poll → ZIP → JSON lines → RECORDs).

Starts its own sandbox (100,000 users at ``large``), exports the "All Users" segment once so the
sandbox's ZIP is ready (its generation rate is reported apart), then runs the tap as a subprocess on
that segment with stdout to /dev/null, and reports users/s, API calls per 1,000 users and the tap's
peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from common import catalog

from tap_braze.streams import DEFAULT_USER_FIELDS

SCALE = os.environ.get("BENCH_BRAZE_SCALE", "large")
BIN = Path(sys.executable).parent
AUTH = {"Authorization": "Bearer sandbox-key"}


def _get(url: str, headers: dict[str, str] | None = None) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:  # noqa: S310
        return json.loads(r.read())


def _warm(url: str, segment_id: str) -> float:
    """Export the segment once, so the sandbox's file is ready: the tap's run then measures the tap.

    Returns the sandbox's generation time (it keeps the finished ZIP for identical exports).
    """
    body = json.dumps({"segment_id": segment_id, "fields_to_export": DEFAULT_USER_FIELDS, "output_format": "zip"})
    started = time.perf_counter()
    request = urllib.request.Request(url + "/users/export/segment", data=body.encode(), method="POST",  # noqa: S310
                                     headers={**AUTH, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
        file_url = json.loads(r.read())["url"]
    while True:
        try:
            with urllib.request.urlopen(file_url, timeout=60) as r:  # noqa: S310
                while r.read(1 << 20):
                    pass
                return time.perf_counter() - started
        except urllib.error.HTTPError:
            time.sleep(0.1)


def run() -> list[tuple[str, float]]:
    env = {**os.environ, "SANDBOX_BRAZE_EXPORT_DELAY": "0"}
    server = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "serve", "--port", "0", "--vendors", "braze",
                               "--scale", SCALE, "--rate-limits", "off"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        info = json.loads(server.stdout.readline())
        base, url = info["sandbox"], info["urls"]["braze"]
        segment = _get(url + "/segments/list", AUTH)["segments"][0]
        generation = _warm(url, segment["id"])
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp, "config.json")
            config.write_text(json.dumps({"api_key": "sandbox-key", "instance_url": url, "user_export_poll_seconds": 0.2,
                                          "user_export_segment_ids": [segment["id"]]}))
            tap = str(BIN / "tap-braze")
            Path(tmp, "catalog.json").write_text(json.dumps(catalog(tap, config, {"users"})))
            before = _get(base + "/_sandbox/stats")["totals"].get("braze", 0)
            started = time.perf_counter()
            subprocess.run([tap, "--config", str(config), "--catalog", str(Path(tmp, "catalog.json"))],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            elapsed = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the tap: the server is not reaped yet
        calls = _get(base + "/_sandbox/stats")["totals"]["braze"] - before
        users = _get(base + "/_sandbox/config")["scale"]["profiles"]
        return [
            (f"tap-braze users via segment export, {users:,} users (users/s)", users / elapsed),
            ("tap-braze users export: API calls per 1,000 users", calls * 1000 / users),
            ("sandbox Braze export ZIP generation (users/s)", users / generation),
            ("tap-braze users export: tap peak RSS (MB)", peak_mb),
        ]
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:,.2f}")
