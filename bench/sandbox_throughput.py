"""Sandbox list throughput: records/s served on one core, warm cache, pages of 100 and 1000.

The sandbox runs in its own process (one core); the client reads raw bytes with http.client and
counts records from the known page size, so the figure is the server's, not a JSON parser's.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from urllib.parse import urlsplit


def start(scale: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "serve", "--port", "0", "--vendors", "klaviyo,brevo", "--scale", scale,
                             "--rate-limits", "off"], stdout=subprocess.PIPE, text=True)
    return proc, json.loads(proc.stdout.readline())["sandbox"]


def measure(base: str, path: str, headers: dict[str, str], page_param: str, size: int, total: int,
            offset_param: str | None = None) -> float:
    """Read ``total`` records in pages of ``size``; Klaviyo pages by cursor, the others by offset."""
    from sandbox.vendors.klaviyo import cursor_for

    netloc = urlsplit(base).netloc
    conn = http.client.HTTPConnection(netloc)
    pages = total // size
    t0 = time.perf_counter()
    for p in range(pages):
        if offset_param:
            query = f"{page_param}={size}&{offset_param}={p * size}"
        else:
            query = f"{page_param}={size}" + (f"&page%5Bcursor%5D={cursor_for(p * size)}" if p else "")
        conn.request("GET", f"{path}?{query}", headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
    return pages * size / (time.perf_counter() - t0)


def run() -> list[tuple[str, float]]:
    proc, base = start("large")
    try:
        rows = []
        brevo = {"api-key": "sandbox-key"}
        # Brevo contacts are materialised; seed enough of them via the scale knob.
        for size in (100, 1000):
            measure(base, "/brevo/v3/contacts", brevo, "limit", size, 10_000, "offset")  # warm
            rate = measure(base, "/brevo/v3/contacts", brevo, "limit", size, 10_000, "offset")
            rows.append((f"sandbox Brevo /contacts, {size}/page (records/s)", rate))
        klaviyo = {"Authorization": "Klaviyo-API-Key sandbox-key", "revision": "2026-07-15"}
        # Klaviyo profiles are generated lazily: the first read is cold, the second warm.
        cold = measure(base, "/klaviyo/api/profiles", klaviyo, "page[size]", 100, 20_000)
        warm = measure(base, "/klaviyo/api/profiles", klaviyo, "page[size]", 100, 20_000)
        rows.append(("sandbox Klaviyo /api/profiles, 100/page, cold (records/s)", cold))
        rows.append(("sandbox Klaviyo /api/profiles, 100/page, warm (records/s)", warm))
        return rows
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:,.0f}")
