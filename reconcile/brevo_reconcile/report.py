"""Stage-by-stage checks and the printed report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .parse import JobFigures, count_rejects


@dataclass
class JobReport:
    job: JobFigures
    rejects_by_stream: Counter[str]
    problems: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)


def _total(d: dict[str, int] | None) -> int:
    return sum((d or {}).values())


def _fmt(d: dict[str, Any] | None, limit: int = 8) -> str:
    if not d:
        return ""
    items = sorted(d.items(), key=lambda kv: -kv[1] if isinstance(kv[1], int) else 0)
    text = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in items[:limit])
    return text + (f", +{len(items) - limit} more" if len(items) > limit else "")


def _compare(problems: list[str], stage: str, left: dict[str, int], right: dict[str, int],
             left_name: str, right_name: str) -> None:
    for stream in sorted(set(left) | set(right)):
        a, b = left.get(stream, 0), right.get(stream, 0)
        if a != b:
            problems.append(f"{stage}: stream {stream}: {left_name} {a:,} but {right_name} {b:,} "
                            f"({abs(a - b):,} record(s) unaccounted for)")


def check(job: JobFigures) -> JobReport:
    target = job.target or {}
    report = JobReport(job, count_rejects(target.get("rejects_file")))
    rows, problems = report.rows, report.problems
    rows.append(("source records", f"{_total(job.source):,}  ({_fmt(job.source)})"))
    if job.mapper is not None:
        m = job.mapper
        rows.append(("mapped records", f"{_total(m.get('records_out')):,}  ({_fmt(m.get('records_out'))})"))
        dropped = {**{f"stream {k}": v for k, v in (m.get("streams_dropped") or {}).items()}}
        if m.get("events_dropped"):
            dropped["events (name policy)"] = m["events_dropped"]
        if dropped:
            rows.append(("dropped by mapping", _fmt(dropped)))
        if job.source:
            _compare(problems, "tap → map-brevo", dict(job.source), m.get("records_in") or {},
                     "extracted", "mapper received")
    if job.target is not None:
        received = target.get("records_received") or {}
        accepted = target.get("records_accepted") or {}
        skipped = target.get("records_skipped") or {}
        rejected = target.get("records_rejected", 0)
        for kind in ("contacts", "events", "list_memberships", "categories", "products", "orders"):
            streams = [s for s in received if s == kind or s.endswith("_" + kind)]
            if not streams:
                continue
            r = sum(received[s] for s in streams)
            a = sum(accepted.get(s, 0) for s in streams)
            j = sum(report.rejects_by_stream.get(s, 0) for s in streams)
            k = sum(skipped.get(s, 0) for s in streams)
            label = {"events": "events sent", "list_memberships": "list memberships"}.get(kind, kind)
            rows.append((label, f"received {r:,}, accepted {a:,}, rejected {j:,}" + (f", skipped {k:,}" if k else "")))
        if target.get("records_rejected_by_reason"):
            rows.append(("rejected by reason", _fmt(target["records_rejected_by_reason"])))
        if target.get("dry_run_would_write"):
            rows.append(("dry run would write", _fmt(target["dry_run_would_write"])))
        calls = target.get("api_calls") or target.get("api_calls_by_endpoint")
        if isinstance(calls, dict):
            rows.append(("API calls", f"{_total(calls):,}  ({_fmt(calls, 6)})"))
        for key in ("rate_limited_429", "http_429", "429s"):
            if key in target:
                rows.append(("429s", f"{target[key]}"))
                break
        if "retries" in target:
            rows.append(("retries", str(target["retries"])))
        if "elapsed_seconds" in target:
            rows.append(("time", f"{target['elapsed_seconds']:.1f}s (target)"))
        if job.mapper is not None:
            _compare(problems, "map-brevo → target-brevo", job.mapper.get("records_out") or {}, received,
                     "mapper emitted", "target received")
        outcome = Counter(accepted)
        outcome.update(report.rejects_by_stream)
        outcome.update(skipped)
        if not target.get("dry_run_would_write"):
            _compare(problems, "target-brevo", received, dict(outcome), "received", "accepted+rejected+skipped")
        if _total(report.rejects_by_stream) != rejected:
            problems.append(f"rejects file: summary says {rejected:,} rejected, the file holds "
                            f"{_total(report.rejects_by_stream):,} line(s)")
    elif job.mapper is not None:
        problems.append("no target-brevo summary in the log: the load did not finish")
    return report


def render(reports: list[JobReport], readback: dict[str, int] | None) -> str:
    out = []
    for rep in reports:
        out.append(f"\n== {rep.job.name} ==")
        width = max((len(k) for k, _ in rep.rows), default=10)
        out += [f"  {k:<{width}}  {v}" for k, v in rep.rows]
        if rep.problems:
            out += ["  UNACCOUNTED:"] + [f"    - {p}" for p in rep.problems]
        else:
            out.append("  every record accounted for")
    if readback is not None:
        out.append("\n== what Brevo holds now (read back with tap-brevo) ==")
        out += [f"  {k:<24}{v:,}" for k, v in sorted(readback.items())] or ["  (nothing read back)"]
    bad = sum(len(r.problems) for r in reports)
    out.append("\nRESULT: " + ("every record accounted for" if not bad else f"{bad} unexplained difference(s)"))
    return "\n".join(out)
