"""Pull the figures out of run logs: tap metrics and the mapper's and target's summaries."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_DECODER = json.JSONDecoder()
# Meltano prefixes each plugin line with its name: "... [info     ] tap-klaviyo  METRIC: ...";
# structured logs carry "name=tap-klaviyo" instead.
_NAME = re.compile(r"\bname=(\S+)|^\S+ \[\w+\s*\] (\S+)\s")
SUMMARIES = ("map-brevo summary: ", "target-brevo summary: ")


@dataclass
class JobFigures:
    """What one job's log says happened."""

    name: str
    source: Counter[str] = field(default_factory=Counter)  # tap records per stream
    mapper: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    taps: set[str] = field(default_factory=set)


def _json_after(line: str, marker: str) -> Any:
    start = line.find(marker)
    if start < 0:
        return None
    try:
        value, _ = _DECODER.raw_decode(line, start + len(marker))
    except json.JSONDecodeError:
        return None
    return value


def parse_log(path: Path, name: str | None = None) -> JobFigures:
    """Read one job's log. Metrics are counted from the extractor only (Meltano tags each
    line with ``name=<plugin>``; a plain tap stderr has no tag and counts as the tap's)."""
    job = JobFigures(name or path.stem)
    with path.open(errors="replace") as f:
        for line in f:
            if "METRIC: " in line:
                match = _NAME.search(line)
                plugin = (match.group(1) or match.group(2)) if match else None
                if plugin and not plugin.startswith("tap-"):
                    continue
                metric = _json_after(line, "METRIC: ")
                if isinstance(metric, dict) and metric.get("metric") == "record_count":
                    job.source[metric.get("tags", {}).get("stream", "?")] += int(metric.get("value", 0))
                    if plugin:
                        job.taps.add(plugin)
                continue
            for marker in SUMMARIES:
                if marker in line:
                    summary = _json_after(line, marker)
                    if isinstance(summary, dict):
                        if marker.startswith("map-brevo"):
                            job.mapper = summary
                        else:
                            job.target = summary
    return job


def count_rejects(path: str | None) -> Counter[str]:
    """Reject lines per stream in target-brevo's rejects file."""
    counts: Counter[str] = Counter()
    if not path or not Path(path).exists():
        return counts
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                try:
                    counts[json.loads(line).get("stream", "?")] += 1
                except json.JSONDecodeError:
                    counts["(unreadable line)"] += 1
    return counts


def read_back(directory: Path) -> dict[str, int]:
    """Records per stream in a JSONL read-back (e.g. target-jsonl's ``<stream>-<time>.jsonl``)."""
    out: Counter[str] = Counter()
    if not directory.exists():
        return dict(out)
    for path in sorted(directory.glob("*.jsonl")):
        stream = re.sub(r"-\d{8}T\d{6}$", "", path.stem)
        with path.open("rb") as f:
            out[stream] += sum(1 for line in f if line.strip())
    return dict(out)
