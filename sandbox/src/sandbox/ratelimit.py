"""Fixed-window rate limits per vendor bucket, as Klaviyo, Braze and Brevo describe theirs.

A bucket has one or more windows (Klaviyo: a 1 s burst and a 60 s steady window; Brevo:
per second and per hour). A request is refused when any window is full. Windows are
aligned to the epoch, so Braze's ``X-RateLimit-Reset`` (an epoch) is the same for everyone.

``scale`` divides every window's length: ``fast`` mode (600) turns an hour into six
seconds while keeping the counts, so pacing logic is exercised in seconds of wall time.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

SCALES = {"on": 1.0, "fast": 600.0, "off": 0.0}


def parse_scale(mode: str | float) -> float:
    """``on`` → 1, ``fast`` → 600, ``off`` → 0 (no limits), ``x60`` or a number → that factor."""
    if isinstance(mode, int | float):
        return float(mode)
    mode = str(mode).strip().lower()
    if mode in SCALES:
        return SCALES[mode]
    try:
        return float(mode.lstrip("x"))
    except ValueError:
        raise ValueError(f"--rate-limits must be on, off, fast or a factor like x60, got {mode!r}") from None


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float  # real vendor length, before scaling


@dataclass
class Verdict:
    allowed: bool
    limit: int  # of the reported window
    remaining: int
    reset: float  # seconds until the reported window resets (scaled)
    reset_at: float  # epoch of that reset
    window: Window | None = None


UNLIMITED = Verdict(True, 0, 0, 0.0, 0.0)


class RateLimiter:
    def __init__(self, scale: float = 0.0) -> None:
        self.scale = scale
        self._counts: dict[tuple[str, str, int], tuple[float, int]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.scale > 0

    def window_length(self, window: Window) -> float:
        return window.seconds / self.scale

    def hit(self, key: str, windows: tuple[Window, ...], now: float | None = None) -> Verdict:
        """Count one request against every window of ``key``.

        The reported window is the refusing one, else the longest (Klaviyo's headers
        describe the steady window; Brevo's the hourly one).
        """
        if not self.enabled or not windows:
            return UNLIMITED
        now = time.time() if now is None else now
        verdicts = []
        with self._lock:
            states = []
            for i, w in enumerate(windows):
                length = self.window_length(w)
                start = math.floor(now / length) * length
                slot = (key, w.seconds, i)
                begun, used = self._counts.get(slot, (start, 0))
                if begun != start:
                    used = 0
                states.append((slot, start, used, w, length))
            refused = [s for s in states if s[2] >= s[3].limit]
            if not refused:
                for slot, start, used, _w, _l in states:
                    self._counts[(slot)] = (start, used + 1)
                states = [(s, st, u + 1, w, ln) for s, st, u, w, ln in states]
            for _slot, start, used, w, length in refused or states:
                reset_at = start + length
                verdicts.append(Verdict(not refused, w.limit, max(0, w.limit - used),
                                        max(0.0, reset_at - now), reset_at, w))
        if refused:
            return max(verdicts, key=lambda v: v.reset)
        return max(verdicts, key=lambda v: v.window.seconds if v.window else 0)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def format_seconds(value: float, scale: float) -> str:
    """Whole seconds as the vendors send them; fractions only when windows are scaled down."""
    if scale <= 1:
        return str(max(0, math.ceil(value)))
    return f"{value:.3f}"
