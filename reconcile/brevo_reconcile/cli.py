"""``brevo-reconcile``: one table per job, and a non-zero exit if any record is unaccounted for."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .parse import parse_log, read_back
from .report import check, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="brevo-reconcile", description=__doc__)
    parser.add_argument("--logs", nargs="+", required=True, type=Path,
                        help="job logs, or directories of them (one file per job, named after it)")
    parser.add_argument("--readback", type=Path, help="directory of tap-brevo output as JSONL (what Brevo holds)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of tables")
    args = parser.parse_args(argv)

    files = []
    for p in args.logs:
        if p.is_dir():
            files += sorted(x for x in p.rglob("*.log") if x.is_file())
        elif p.exists():
            files.append(p)
        else:
            parser.error(f"no such log: {p}")
    if not files:
        parser.error("no logs found")
    reports = [check(parse_log(f)) for f in files]
    readback = read_back(args.readback) if args.readback else None
    if args.json:
        print(json.dumps({
            "jobs": {r.job.name: {"source": r.job.source, "mapper": r.job.mapper, "target": r.job.target,
                                  "rejects_by_stream": r.rejects_by_stream, "problems": r.problems}
                     for r in reports},
            "readback": readback,
        }, indent=2, default=str))
    else:
        print(render(reports, readback))
    return 1 if any(r.problems for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
