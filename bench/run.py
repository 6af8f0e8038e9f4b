"""``make bench``: run every benchmark module three times and write bench/RESULTS.md.

Each ``bench/bench_*.py`` (and ``sandbox_throughput.py``) exposes ``run() -> [(figure, value)]``.
The report gives the median of the runs for each figure, with the machine, date and commit.
"""

from __future__ import annotations

import importlib.util
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
    only = os.environ.get("BENCH_ONLY")
    found = [HERE / "sandbox_throughput.py", *sorted(HERE.glob("bench_*.py"))]
    return [p for p in found if not only or only in p.stem]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader
    spec.loader.exec_module(module)
    return module


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
    for path in modules():
        module = load(path)
        for i in range(RUNS):
            t0 = time.time()
            try:
                rows = module.run()
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
