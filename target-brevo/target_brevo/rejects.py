"""The rejects file (JSONL, mode 0600) and the run's tallies for the stderr summary."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import msgspec

_encoder = msgspec.json.Encoder()


class Ledger:
    """Counts what happened to records and writes each reject as one JSON line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: IO[bytes] | None = None
        self._lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.would: Counter[str] = Counter()  # dry_run: what would have been written
        self.notes: list[str] = []
        self.started = time.monotonic()

    def reject(self, stream: str, key: Any, reason: str, message: str, record: Any,
               error_body: Any = None) -> None:
        line = {"stream": stream, "record_key": key, "reason": reason, "message": message,
                "brevo_error": error_body, "record": record}
        data = _encoder.encode(line) + b"\n"
        with self._lock:
            if self._file is None:
                # 0600: rejects hold personal data.
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.chmod(self.path, 0o600)
                self._file = os.fdopen(fd, "ab")
            self._file.write(data)
            self.rejected[reason] += 1

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def summary(self, api: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "records_received": dict(self.received),
            "records_accepted": dict(self.accepted),
            "records_rejected_by_reason": dict(self.rejected),
            "records_rejected": sum(self.rejected.values()),
            "records_skipped": dict(self.skipped),
            **api,
            "elapsed_seconds": round(time.monotonic() - self.started, 2),
        }
        if dry_run:
            out["dry_run_would_write"] = dict(self.would)
        if self.rejected:
            out["rejects_file"] = str(self.path)
        if self.notes:
            out["notes"] = self.notes
        return out
