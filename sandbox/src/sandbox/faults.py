"""Fault injection: by probability or by script, per vendor and path.

A rule in the CLI grammar is ``KIND[:ARG][@PROB][#COUNT][+SKIP][~PATH_REGEX]``, rules separated
by commas. KIND is one of:

* a status code (``503``), answered with the vendor's own error body;
* ``ratelimit``: the vendor's real 429 (body and headers);
* ``reset``: the connection is dropped without a response;
* ``slow:SECONDS``: the response is delayed;
* ``truncate``: the body is cut in half (the declared length stays whole);
* ``invalid_json``: a 200 whose body is not JSON.

``@0.1`` fires on 10% of matching requests; ``#3`` fires on the next three (a script);
``+2`` lets two matching requests through first. Without ``@`` or ``#`` a rule fires always.
``~/api/profiles`` limits the rule to paths matching the regex (vendor prefix included, so
``~^/klaviyo/`` selects one vendor).
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("sandbox.faults")

KINDS = {"status", "ratelimit", "reset", "slow", "truncate", "invalid_json"}
_RULE = re.compile(
    r"^(?P<kind>[a-z_]+|\d{3})(?::(?P<arg>[\d.]+))?(?:@(?P<prob>[\d.]+))?(?:#(?P<count>\d+))?"
    r"(?:\+(?P<skip>\d+))?(?:~(?P<path>.+))?$"
)


@dataclass
class FaultRule:
    kind: str
    status: int | None = None
    delay: float = 0.0
    probability: float | None = None
    count: int | None = None  # fires this many more times, then retires
    skip: int = 0  # matching requests let through before the rule starts
    path: str | None = None  # regex over "/vendor-prefix/path"
    method: str | None = None
    _regex: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)} or a status code")
        if self.kind == "status" and not self.status:
            raise ValueError("a status fault needs a status code")
        self._regex = re.compile(self.path) if self.path else None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FaultRule:
        d = dict(d)
        kind = str(d.pop("kind", "status"))
        if kind.isdigit():
            d.setdefault("status", int(kind))
            kind = "status"
        allowed = {"status", "delay", "probability", "count", "skip", "path", "method"}
        unknown = set(d) - allowed
        if unknown:
            raise ValueError(f"unknown fault rule fields {sorted(unknown)}")
        return cls(kind=kind, **d)

    def matches(self, method: str, full_path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self._regex or bool(self._regex.search(full_path))

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_") and v not in (None, 0, 0.0)}


def parse_spec(spec: str | None) -> list[FaultRule]:
    rules = []
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        m = _RULE.match(part)
        if not m:
            raise ValueError(f"cannot parse fault rule {part!r}; expected KIND[:ARG][@PROB][#COUNT][+SKIP][~PATH]")
        kind, arg = m["kind"], m["arg"]
        status = None
        if kind.isdigit():
            status, kind = int(kind), "status"
        rules.append(FaultRule(
            kind=kind,
            status=status,
            delay=float(arg) if arg and kind == "slow" else (1.0 if kind == "slow" else 0.0),
            probability=float(m["prob"]) if m["prob"] else None,
            count=int(m["count"]) if m["count"] else None,
            skip=int(m["skip"]) if m["skip"] else 0,
            path=m["path"],
        ))
    return rules


class FaultInjector:
    """Decides, per request, which fault (if any) to inject, and keeps a log of each one."""

    def __init__(self, rules: list[FaultRule] | None = None, seed: int = 0) -> None:
        self.rules: list[FaultRule] = list(rules or [])
        self._rng = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=500)

    def set(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self.rules = list(rules)

    def add(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self.rules.extend(rules)

    def pick(self, method: str, full_path: str) -> FaultRule | None:
        if not self.rules:
            return None
        with self._lock:
            for rule in self.rules:
                if not rule.matches(method, full_path):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.count is not None:
                    if rule.count <= 0:
                        continue
                    if rule.probability is not None and self._rng.random() >= rule.probability:
                        continue
                    rule.count -= 1
                elif rule.probability is not None and self._rng.random() >= rule.probability:
                    continue
                label = rule.kind if rule.kind != "status" else str(rule.status)
                self.counts[label] += 1
                entry = {"kind": label, "method": method, "path": full_path}
                self.recent.append(entry)
                log.warning("injected fault %s on %s %s", label, method, full_path)
                return rule
            self.rules = [r for r in self.rules if r.count is None or r.count > 0]
        return None

    def reset(self) -> None:
        with self._lock:
            self.rules.clear()
            self.counts.clear()
            self.recent.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self.counts.values()),
                "by_kind": dict(self.counts),
                "recent": list(self.recent)[-50:],
                "active_rules": [r.describe() for r in self.rules],
            }
