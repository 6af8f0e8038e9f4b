"""The whole pipe: tap-klaviyo | map-brevo | target-brevo against the sandbox.

Figures: end-to-end records/s (real load, rate limits off) and with target-brevo in dry run;
peak RSS of each process at 100,000 and 1,000,000 events; and pacing with realistic limits in
fast mode: wall time over the theoretical minimum (calls ÷ allowed rate) and 429s received.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from common import catalog
from common import start_sandbox as common_start

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
SMALL = int(os.environ.get("BENCH_PIPE_SMALL", "100000"))
LARGE = int(os.environ.get("BENCH_PIPE_LARGE", "1000000"))
PACING = int(os.environ.get("BENCH_PIPE_PACING", "250000"))


def start_sandbox(events: int, limits: str) -> tuple[subprocess.Popen, str]:
    proc, info = common_start("--vendors", "klaviyo,brevo", "--scale", f"small,profiles=2000,events={events}",
                              "--rate-limits", limits)
    return proc, info["sandbox"]


class PeakRSS(threading.Thread):
    """Polls VmHWM (the kernel's own peak) of a process until it exits."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb = pid, 0

    def run(self) -> None:
        path = Path(f"/proc/{self.pid}/status")
        while True:
            try:
                for line in path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except (OSError, ValueError):
                return
            time.sleep(0.1)


def run_pipe(base: str, tmp: Path, *, dry_run: bool, streams: set[str], target_extra: dict | None = None) -> dict:
    kcfg = tmp / "k.json"
    kcfg.write_text(json.dumps({"private_api_key": "sandbox-key", "api_url": base + "/klaviyo",
                                "start_date": "2020-01-01T00:00:00Z", "events_window_days": 800,
                                "pace_requests": False}))
    mcfg = tmp / "m.json"
    mcfg.write_text(json.dumps({"preset": "klaviyo"}))
    bcfg = tmp / "b.json"
    bcfg.write_text(json.dumps({"api_key": "sandbox-key", "api_url": base + "/brevo/v3", "dry_run": dry_run,
                                "rejects_path": str(tmp / "rejects.jsonl"), "create_missing_attributes": True,
                                **(target_extra or {})}))
    selected = tmp / "catalog.json"
    selected.write_text(json.dumps(catalog(str(BIN / "tap-klaviyo"), kcfg, streams)))
    t0 = time.perf_counter()
    tap = subprocess.Popen([str(BIN / "tap-klaviyo"), "--config", str(kcfg), "--catalog", str(selected)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    mapper = subprocess.Popen([str(BIN / "map-brevo"), "--config", str(mcfg)], stdin=tap.stdout,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    err = tmp / "target.err"
    with err.open("w") as errf:
        target = subprocess.Popen([str(BIN / "target-brevo"), "--config", str(bcfg)], stdin=mapper.stdout,
                                  stdout=subprocess.DEVNULL, stderr=errf)
        assert tap.stdout
        assert mapper.stdout
        tap.stdout.close()
        mapper.stdout.close()
        watchers = {name: PeakRSS(p.pid) for name, p in (("tap", tap), ("mapper", mapper), ("target", target))}
        for w in watchers.values():
            w.start()
        codes = [p.wait() for p in (tap, mapper, target)]
    elapsed = time.perf_counter() - t0
    if any(codes):
        raise RuntimeError(f"pipe failed with exit codes {codes}; see {err}")
    summary = next(json.loads(line.split("summary: ", 1)[1]) for line in err.read_text().splitlines()
                   if line.startswith("target-brevo summary: "))
    records = sum(summary["records_received"].values())
    return {"records": records, "elapsed": elapsed, "summary": summary,
            "rss_mb": {k: w.peak_kb / 1024 for k, w in watchers.items()}}


def minimum_seconds(base: str, scale: float) -> float:
    """The least wall time the calls made could take under each bucket's fixed windows."""
    from sandbox import Sandbox

    model = Sandbox("klaviyo,brevo", scale="tiny")
    stats = requests.get(base + "/_sandbox/stats", timeout=30).json()["requests"]
    per_bucket: dict[tuple[str, str], int] = {}
    for vendor, endpoints in stats.items():
        router = model.vendors[vendor].router
        for endpoint, statuses in endpoints.items():
            method, _, path = endpoint.partition(" ")
            route = next((r for r in router.routes if r.method == method and r.pattern == path), None)
            if route is None:
                continue
            key = (vendor, route.bucket + (f":{route.pattern}" if model.vendors[vendor].per_route_buckets else ""))
            per_bucket[key] = per_bucket.get(key, 0) + sum(n for s, n in statuses.items() if s != "429")
    best = 0.0
    for (vendor, key), calls in per_bucket.items():
        for window in model.vendors[vendor].buckets.get(key.split(":")[0], ()):
            best = max(best, (math.ceil(calls / window.limit) - 1) * window.seconds / scale)
    return best


def run() -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for n in (SMALL, LARGE):
            proc, base = start_sandbox(n, "off")
            # The sandbox's limits are off, so target-brevo's own pacing must be too (its default
            # is Brevo's real 100/h for /events/batch).
            unpaced = {"rate_limits": dict.fromkeys(("contacts", "events", "smtp", "default"), 1_000_000)}
            try:
                for dry in (False, True) if n == SMALL else (False,):
                    res = run_pipe(base, tmp, dry_run=dry, streams={"events"}, target_extra=unpaced)
                    label = f"{n // 1000}k events" + (", target dry run" if dry else "")
                    rows.append((f"pipe klaviyo→map→target, {label} (records/s)", res["records"] / res["elapsed"]))
                    if not dry:
                        for name, mb in res["rss_mb"].items():
                            rows.append((f"peak RSS {name}, {label} (MB)", mb))
                        rows.append((f"Brevo API calls per 1,000 records, {label}",
                                     1000 * res["summary"]["api_calls_total"] / max(1, res["records"])))
            finally:
                proc.terminate()
                proc.wait()
        proc, base = start_sandbox(PACING, "fast")
        try:
            # target-brevo paced to the sandbox's fast windows (Brevo's rates x600), as in the demo.
            fast = {"rate_limits": {"contacts": 6000, "events": 6000, "smtp": 50, "default": 16.6}}
            res = run_pipe(base, tmp, dry_run=False, streams={"events", "profiles"}, target_extra=fast)
            floor = minimum_seconds(base, 600.0)
            stats = requests.get(base + "/_sandbox/stats", timeout=30).json()
            rows.append(("pacing, fast limits: theoretical minimum (s)", floor))
            rows.append(("pacing, fast limits: wall time (s)", res["elapsed"]))
            rows.append(("pacing, fast limits: wall / minimum", res["elapsed"] / max(floor, 1e-9)))
            rows.append(("pacing, fast limits: 429s received", float(sum(stats["rate_limited"].values()))))
        finally:
            proc.terminate()
            proc.wait()
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:,.2f}")
    sys.exit(0)
