"""Benchmark map-brevo: klaviyo preset throughput (records/s), peak RSS.

The input is Klaviyo-shaped tap output (profiles and events, as tap-klaviyo writes them) generated
in a temporary file, so the figure is the mapper's alone: `map-brevo < file > /dev/null`, whole
process wall time including start-up. The mapper makes no API calls.
Run alone: .venv/bin/python bench/bench_map_brevo.py [N]
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "map-brevo"

PROFILE_SCHEMA = {"type": "SCHEMA", "stream": "profiles", "key_properties": ["id"], "bookmark_properties": ["updated"],
                  "schema": {"type": "object", "properties": {
                      "id": {"type": "string"}, "email": {"type": ["string", "null"]},
                      "phone_number": {"type": ["string", "null"]}, "external_id": {"type": ["string", "null"]},
                      "first_name": {"type": ["string", "null"]}, "last_name": {"type": ["string", "null"]},
                      "organization": {"type": ["string", "null"]}, "title": {"type": ["string", "null"]},
                      "locale": {"type": ["string", "null"]}, "created": {"type": ["string", "null"]},
                      "updated": {"type": "string"},
                      "location": {"type": ["object", "null"], "properties": {
                          k: {"type": ["string", "null"]} for k in ("address1", "city", "country", "region", "zip", "timezone")}},
                      "properties": {"type": ["object", "null"], "additionalProperties": True}}}}
EVENT_SCHEMA = {"type": "SCHEMA", "stream": "events", "key_properties": ["id"], "bookmark_properties": ["datetime"],
                "schema": {"type": "object", "properties": {
                    "id": {"type": "string"}, "datetime": {"type": "string"}, "metric_name": {"type": "string"},
                    "profile_id": {"type": "string"}, "profile_email": {"type": ["string", "null"]},
                    "event_properties": {"type": "object"}}}}
METRICS = ["Placed Order", "Viewed Product", "Opened Email", "Clicked Email", "Received Email", "Added to Cart"]


def make_input(path: Path, n: int, events_share: float = 0.5) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps(PROFILE_SCHEMA) + "\n" + json.dumps(EVENT_SCHEMA) + "\n")
        for i in range(n):
            if rng.random() < events_share:
                rec = {"id": f"ev{i}", "datetime": f"2026-11-{1 + i % 28:02d}T10:{i % 60:02d}:00+00:00",
                       "metric_name": METRICS[i % len(METRICS)], "profile_id": f"01P{i:08d}",
                       "profile_email": f"user{i}@example.com",
                       "event_properties": {"$value": round(rng.random() * 200, 2), "OrderId": str(i), "Items": ["SKU-1"]}}
                f.write(json.dumps({"type": "RECORD", "stream": "events", "record": rec}) + "\n")
                continue
            rec = {"id": f"01P{i:08d}", "email": f"user{i}@example.com", "phone_number": "+33612345678" if i % 3 else None,
                   "external_id": None, "first_name": "Chloé", "last_name": "Martin", "organization": "Atelier",
                   "title": None, "locale": "fr-FR", "created": "2025-03-02T08:15:00+01:00",
                   "updated": f"2026-11-{1 + i % 28:02d}T10:00:00+00:00",
                   "location": {"address1": None, "city": "Paris", "country": "France", "region": "IDF", "zip": "75011",
                                "timezone": "Europe/Paris"},
                   "properties": {"lifetime_value": round(rng.random() * 1000, 2), "total_orders": i % 9,
                                  "last_order_date": "2026-10-28T18:42:11+01:00", "preferred_channel": "email"}}
            f.write(json.dumps({"type": "RECORD", "stream": "profiles", "record": rec}) + "\n")
            if i % 10_000 == 0:
                f.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"profiles": {"replication_key_value": rec["updated"]}}}}) + "\n")


def measure(inp: Path, config: Path, n: int) -> tuple[float, float]:
    """(records/s by wall clock, records/s by the child's CPU time), start-up included in both."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with inp.open("rb") as fin, open(os.devnull, "wb") as fout:
        subprocess.run([str(BIN), "--config", str(config)], stdin=fin, stdout=fout, stderr=subprocess.DEVNULL,
                       check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return n / wall, n / cpu


def run(n: int = 150_000) -> list[tuple[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        config = d / "config.json"
        config.write_text(json.dumps({"preset": "klaviyo"}))
        results: list[tuple[str, float]] = []
        for label, share in (("profiles", 0.0), ("profiles+events", 0.5)):
            inp = d / f"{label}.jsonl"
            make_input(inp, n, share)
            runs = [measure(inp, config, n) for _ in range(3)]
            wall = sorted(r[0] for r in runs)[1]
            cpu = sorted(r[1] for r in runs)[1]
            results.append((f"map-brevo klaviyo {label} records/s wall (median of 3, {n} records, incl. start-up)", wall))
            # The machine is shared: CPU-time throughput is the figure that does not depend on the
            # other processes competing for the two cores.
            results.append((f"map-brevo klaviyo {label} records/s per CPU-second (median of 3)", cpu))
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        results.append(("map-brevo peak RSS MB", rss_kb / 1024))
        results.append(("map-brevo API calls per record", 0.0))
        return results


if __name__ == "__main__":
    for name, value in run(int(sys.argv[1]) if len(sys.argv) > 1 else 150_000):
        print(f"{name}: {value:,.1f}")
