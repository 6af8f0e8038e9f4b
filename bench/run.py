"""``make bench``: run every benchmark module three times and write bench/RESULTS.md.

Each ``bench/bench_*.py`` (and ``sandbox_throughput.py``) exposes ``run() -> [(figure, value)]``.
The report gives the median of the runs for each figure, with the machine, date and commit.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def modules() -> list[Path]:
    """All benchmarks, or those ``BENCH_ONLY`` names (comma-separated parts of their names)."""
    only = [x for x in os.environ.get("BENCH_ONLY", "").split(",") if x]
    found = [HERE / "sandbox_throughput.py", *sorted(HERE.glob("bench_*.py"))]
    return [p for p in found if not only or any(o in p.stem for o in only)]


def run_isolated(path: Path) -> list[tuple[str, float]]:
    """One run of one benchmark in a fresh process: peak-RSS figures read from
    RUSAGE_CHILDREN then cover only that benchmark's own children."""
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import importlib.util as u; "
            "s = u.spec_from_file_location('b', sys.argv[2]); m = u.module_from_spec(s); "
            "s.loader.exec_module(m); print('BENCH-ROWS ' + json.dumps(m.run()))")
    out = subprocess.run([sys.executable, "-c", code, str(HERE), str(path)], capture_output=True, text=True,
                         check=False)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH-ROWS "):
            return [tuple(row) for row in json.loads(line[len("BENCH-ROWS "):])]
    raise RuntimeError(f"{path.name} failed: {out.stderr.strip().splitlines()[-1:] or out.returncode}")


def kept_rows(names: set[str]) -> list[str]:
    """With BENCH_KEEP=1, the rows of benchmarks not run this time, from the current report."""
    report = HERE / "RESULTS.md"
    if not os.environ.get("BENCH_KEEP") or not report.exists():
        return []
    return [line for line in report.read_text().splitlines()
            if line.startswith("| ") and not line.startswith(("| benchmark", "|---"))
            and line.split("|")[1].strip() not in names]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def main() -> int:
    results: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    failures = []
    chosen = modules()
    for path in chosen:
        for i in range(RUNS):
            t0 = time.time()
            try:
                rows = run_isolated(path)
            except Exception as exc:  # one broken benchmark must not hide the others
                failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
                break
            for name, value in rows:
                results[path.stem][name].append(value)
            print(f"{path.name} run {i + 1}/{RUNS}: {time.time() - t0:.1f}s", file=sys.stderr)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE, check=False).stdout.strip()
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- Commit: {commit or 'unknown'}",
        f"- Machine: {machine()}",
        f"- Median of {RUNS} runs per figure; sandbox in its own process, rate limits off unless a figure says otherwise.",
        "",
        "| benchmark | figure | median | runs |",
        "|---|---|---:|---|",
    ]
    lines += kept_rows({p.stem for p in chosen})
    for bench, figures in results.items():
        for name, values in figures.items():
            runs = ", ".join(fmt(v) for v in values)
            lines.append(f"| {bench} | {name} | {fmt(statistics.median(values))} | {runs} |")
    if failures:
        lines += ["", "## Failed benchmarks", "", *[f"- {f}" for f in failures]]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
