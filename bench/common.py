"""What the benchmarks share: a sandbox in its own process, and a catalog with chosen streams."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def start_sandbox(*args: str) -> tuple[subprocess.Popen[str], dict]:
    """``sandbox serve --port 0 ARGS...`` in its own process (one core); returns it and its info line."""
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.cli", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def catalog(tap: list[str] | str, config: Path, streams: set[str] | None) -> dict:
    """The tap's discovered catalog with only ``streams`` selected (all when None)."""
    cmd = [tap] if isinstance(tap, str) else list(tap)
    found = json.loads(subprocess.run([*cmd, "--config", str(config), "--discover"], capture_output=True,
                                      text=True, check=True).stdout)
    for entry in found["streams"]:
        for md in entry["metadata"]:
            if not md["breadcrumb"]:
                md["metadata"]["selected"] = streams is None or entry["tap_stream_id"] in streams
    return found
