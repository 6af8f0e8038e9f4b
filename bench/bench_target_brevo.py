"""Benchmark target-brevo: dry-run throughput, API calls per 100k records, peak RSS.

* dry-run records/s for contacts and events: `target-brevo --config dry.json < file > /dev/null`,
  whole-process wall time including start-up (reads only: the attribute list);
* API calls per 100k contacts and per 100k events: a real load into a sandbox subprocess with
  rate limits off, counted from `/_sandbox/stats` (imports, process polls and report downloads,
  attribute and list reads included);
* peak RSS of the target (dry run, contacts) at 100k and 1M records, the input streamed from a
  generator process so the file never sits on disk.

Run alone: .venv/bin/python bench/bench_target_brevo.py [N]   (N = records for the rates, default 200k)
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PY = sys.executable
BIN = str(Path(PY).parent / "target-brevo")

CONTACT_SCHEMA = {"type": "SCHEMA", "stream": "contacts", "key_properties": ["email"], "schema": {
    "type": "object", "properties": {
        "email": {"type": "string"}, "ext_id": {"type": ["string", "null"]},
        "FIRSTNAME": {"type": ["string", "null"]}, "LASTNAME": {"type": ["string", "null"]},
        "sms": {"type": ["string", "null"]}, "list_ids": {"type": ["array", "null"], "items": {"type": "integer"}},
        "attributes": {"type": ["object", "null"]}}}}
EVENT_SCHEMA = {"type": "SCHEMA", "stream": "events", "key_properties": [], "schema": {
    "type": "object", "properties": {
        "event_name": {"type": "string"}, "event_date": {"type": "string"}, "identifiers": {"type": "object"},
        "event_properties": {"type": ["object", "null"]}}}}

# A generator script (run as its own process for the 1M-record stream).
GEN = r'''
import json, sys
n, kind = int(sys.argv[1]), sys.argv[2]
w = sys.stdout.write
w(sys.argv[3] + "\n")
if kind == "contacts":
    for i in range(n):
        w('{"type":"RECORD","stream":"contacts","record":{"email":"user%d@example.com","ext_id":"X%d",'
          '"FIRSTNAME":"First%d","LASTNAME":"Martin","list_ids":[2],"attributes":{"OPT_IN":true}}}\n' % (i, i, i))
        if i % 10000 == 9999:
            w('{"type":"STATE","value":{"bookmarks":{"contacts":%d}}}\n' % i)
else:
    for i in range(n):
        w('{"type":"RECORD","stream":"events","record":{"event_name":"page_view",'
          '"event_date":"2026-01-02T03:04:05+01:00","identifiers":{"email_id":"user%d@example.com"},'
          '"event_properties":{"path":"/p/%d","n":%d}}}\n' % (i % 5000, i, i))
w('{"type":"STATE","value":{"done":true}}\n')
'''


def start_sandbox() -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen([PY, "-m", "sandbox.cli", "serve", "--port", "0", "--rate-limits", "off",
                             "--scale", "tiny", "--vendors", "brevo"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info["sandbox"], info["urls"]["brevo"]


def calls_by_endpoint(base: str) -> dict[str, int]:
    with urllib.request.urlopen(base + "/_sandbox/stats", timeout=10) as r:  # noqa: S310 - local sandbox
        per = json.load(r)["requests"].get("brevo", {})
    return {endpoint: sum(statuses.values()) for endpoint, statuses in per.items()}


def generate(tmp: Path, n: int, kind: str) -> Path:
    path = tmp / f"{kind}-{n}.jsonl"
    schema = json.dumps(CONTACT_SCHEMA if kind == "contacts" else EVENT_SCHEMA)
    with path.open("w") as f:
        subprocess.run([PY, "-c", GEN, str(n), kind, schema], stdout=f, check=True)
    return path


def run_target(config: Path, source: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the target process, its stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with source.open() as f:
        proc = subprocess.run([BIN, "--config", str(config)], stdin=f, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stderr


def peak_rss_mb(config: Path, n: int) -> float:
    """Peak RSS of one target run fed by a generator pipe (measured in a fresh wrapper process)."""
    schema = json.dumps(CONTACT_SCHEMA)
    wrapper = (
        "import resource, subprocess, sys\n"
        f"gen = subprocess.Popen([{PY!r}, '-c', {GEN!r}, '{n}', 'contacts', {schema!r}], stdout=subprocess.PIPE)\n"
        f"subprocess.run([{BIN!r}, '--config', {str(config)!r}], stdin=gen.stdout, stdout=subprocess.DEVNULL,"
        " stderr=subprocess.DEVNULL, check=True)\n"
        "gen.wait()\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([PY, "-c", wrapper], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


def run(n: int = 200_000) -> list[tuple[str, float]]:
    sandbox, base, url = start_sandbox()
    results: list[tuple[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            dry = tmp / "dry.json"
            dry.write_text(json.dumps({"api_url": url, "api_key": "sandbox-key", "dry_run": True,
                                       "rejects_path": str(tmp / "dry-rejects.jsonl")}))
            live = tmp / "live.json"
            # The sandbox's limits are off, so the client's pacing is lifted too (calls are counted,
            # not timed): /events/batch is in Brevo's 100/h bucket on a real account.
            live.write_text(json.dumps({"api_url": url, "api_key": "sandbox-key", "import_poll_initial_seconds": 1.0,
                                        "rate_limits": {"contacts": 1000, "events": 1000, "default": 1000},
                                        "rejects_path": str(tmp / "live-rejects.jsonl")}))
            for kind in ("contacts", "events"):
                src = generate(tmp, n, kind)
                wall, cpu, _ = run_target(dry, src)
                results.append((f"dry_run {kind} records/s ({n:,}, wall incl. start-up)", round(n / wall)))
                # On a shared machine the wall figure moves with other load; CPU time does not.
                results.append((f"dry_run {kind} records per CPU-second", round(n / cpu)))
                src.unlink()
            for kind in ("contacts", "events"):
                src = generate(tmp, 100_000, kind)
                before = calls_by_endpoint(base)
                _, _, log = run_target(live, src)
                after = calls_by_endpoint(base)
                delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
                results.append((f"API calls per 100k {kind} (real load)", sum(delta.values())))
                if kind == "contacts":
                    sent = sum(int(m) for m in re.findall(r"for \d+ contacts \((\d+) bytes\)", log))
                    results.append(("  of which POST /contacts/import", delta.get("POST /contacts/import", 0)))
                    results.append(("  of which GET /processes/{id}", delta.get("GET /processes/{processId}", 0)))
                    results.append(("  lower bound ceil(import bytes / 8 MB)", math.ceil(sent / 8_000_000)))
                else:
                    results.append(("  ceil(N / events_batch_size 500)", math.ceil(100_000 / 500)))
                src.unlink()
            for count in (100_000, 1_000_000):
                results.append((f"peak RSS MB, dry run, {count:,} contacts", round(peak_rss_mb(dry, count), 1)))
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    return results


if __name__ == "__main__":
    N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for name, value in run(N):
        print(f"{name}: {value}")
