"""Run a ``tap | map-brevo | target-brevo`` pipeline against a sandbox, and read Brevo back.

Shared by the reliability suites (R1 faults, R2 crash and resume). The three plugins run as
real subprocesses connected by OS pipes, exactly as Meltano runs them; the sandbox runs in the
test process, so what Brevo holds is read straight from its store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
KEY = "sandbox-key"

# The streams each preset routes to Brevo; the others are deselected so a run stays short.
STREAMS = {
    "klaviyo": {"profiles", "events", "list_members", "segment_members"},
    "braze": {"users"},
    "iterable": {"users", "list_users", "email_send", "email_open", "purchase", "custom_event"},
}

# Short timeouts and backoff: the suites inject slow responses and storms, and must stay fast.
TAP_CONFIG = {
    "klaviyo": lambda url: {
        "private_api_key": KEY, "api_url": url, "start_date": "2025-01-01T00:00:00Z",
        "events_window_days": 400, "request_timeout": 2, "max_retries": 10,
        "backoff_base_seconds": 0.05, "backoff_max_seconds": 1,
        # Only the fields the preset reads: subscriptions cost an extra lookup per profile page.
        "profiles_additional_fields": [],
    },
    "braze": lambda url: {
        "api_key": KEY, "instance_url": url, "start_date": "2025-01-01T00:00:00Z",
        "user_export_poll_seconds": 0.1, "request_timeout": 2, "max_retries": 10,
    },
    "iterable": lambda url: {
        "api_key": KEY, "api_url": url, "start_date": "2025-01-01T00:00:00Z",
        "export_window_days": 400, "request_timeout": 2, "max_retries": 10,
        "backoff_base_seconds": 0.05,
        "event_types": ["emailSend", "emailOpen", "purchase", "customEvent"],
        # The documented per-minute limits (exports 4/min) would make each run last minutes.
        "rate_limits": dict.fromkeys(("default", "export", "export_jobs", "list_users", "metrics", "user_fields"), 60000),
    },
}


def target_config(url: str, rejects: Path) -> dict[str, Any]:
    return {
        "api_key": KEY, "api_url": url, "rejects_path": str(rejects),
        "default_phone_country": "FR", "create_missing_attributes": True,
        "import_poll_initial_seconds": 0.05, "import_poll_max_seconds": 0.2,
        "request_timeout": 2, "max_retries": 10, "backoff_base_seconds": 0.05,
    }


@dataclass
class Run:
    """What one pipeline run left behind."""

    returncodes: tuple[int | None, int | None, int | None]
    states: list[dict[str, Any]]  # every STATE target-brevo printed, in order
    stderr: dict[str, str]
    rejects: list[dict[str, Any]]
    seconds: float
    killed: bool = False

    @property
    def ok(self) -> bool:
        return self.returncodes == (0, 0, 0)

    @property
    def summary(self) -> dict[str, Any]:
        for line in reversed(self.stderr["target"].splitlines()):
            if line.startswith("target-brevo summary: "):
                return json.loads(line.split(": ", 1)[1])
        raise AssertionError("target-brevo printed no summary:\n" + self.stderr["target"][-3000:])

    def explain(self) -> str:
        return "\n".join(f"--- {name} (rc {rc}) ---\n{err[-2500:]}" for (name, err), rc
                         in zip(self.stderr.items(), self.returncodes, strict=True))


@dataclass
class Pipeline:
    """One vendor's pipeline into Brevo, with its config files in ``workdir``."""

    vendor: str
    urls: dict[str, str]
    workdir: Path
    tap_overrides: dict[str, Any] = field(default_factory=dict)
    target_overrides: dict[str, Any] = field(default_factory=dict)
    runs: int = 0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.rejects = self.workdir / "rejects.jsonl"
        tap_cfg = TAP_CONFIG[self.vendor](self.urls[self.vendor]) | self.tap_overrides
        self.tap_json = self._write("tap.json", tap_cfg)
        self.map_json = self._write("map.json", {"preset": self.vendor})
        self.target_json = self._write(
            "target.json", target_config(self.urls["brevo"], self.rejects) | self.target_overrides)
        self.catalog = self.workdir / "catalog.json"
        self._discover()

    def _write(self, name: str, obj: Any) -> Path:
        path = self.workdir / name
        path.write_text(json.dumps(obj))
        return path

    def _discover(self) -> None:
        out = subprocess.run([BIN / f"tap-{self.vendor}", "--config", self.tap_json, "--discover"],
                             capture_output=True, check=True, timeout=60).stdout
        catalog = json.loads(out)
        wanted = STREAMS[self.vendor]
        for entry in catalog["streams"]:
            selected = entry["tap_stream_id"] in wanted
            for md in entry.get("metadata", []):
                if not md.get("breadcrumb"):
                    md["metadata"]["selected"] = selected
        self.catalog.write_text(json.dumps(catalog))

    def start(self, state: dict[str, Any] | None = None) -> RunningPipeline:
        self.runs += 1
        n = self.runs
        tap_cmd = [BIN / f"tap-{self.vendor}", "--config", self.tap_json, "--catalog", self.catalog]
        if state:
            tap_cmd += ["--state", self._write(f"state-{n}.json", state)]
        errs = {name: (self.workdir / f"{name}-{n}.err").open("wb") for name in ("tap", "map", "target")}
        # Each process in its own session, so a SIGKILL reaches it and nothing else.
        tap = subprocess.Popen(tap_cmd, stdout=subprocess.PIPE, stderr=errs["tap"], start_new_session=True)
        mapper = subprocess.Popen([BIN / "map-brevo", "--config", self.map_json], stdin=tap.stdout,
                                  stdout=subprocess.PIPE, stderr=errs["map"], start_new_session=True)
        target = subprocess.Popen([BIN / "target-brevo", "--config", self.target_json],
                                  stdin=mapper.stdout, stdout=subprocess.PIPE, stderr=errs["target"],
                                  start_new_session=True)
        assert tap.stdout
        assert mapper.stdout
        tap.stdout.close()  # the mapper and the target own the pipe ends now
        mapper.stdout.close()
        for f in errs.values():
            f.close()
        return RunningPipeline(self, n, (tap, mapper, target))

    def run(self, state: dict[str, Any] | None = None, timeout: float = 120) -> Run:
        return self.start(state).wait(timeout)

    def mapped(self) -> list[dict[str, Any]]:
        """The records ``tap | map-brevo`` produce (what target-brevo is given), with their stream."""
        out = self.workdir / "mapped.jsonl"
        with out.open("wb") as sink, (self.workdir / "mapped.err").open("wb") as err:
            tap = subprocess.Popen([BIN / f"tap-{self.vendor}", "--config", self.tap_json, "--catalog",
                                    self.catalog], stdout=subprocess.PIPE, stderr=err)
            mapper = subprocess.run([BIN / "map-brevo", "--config", self.map_json], stdin=tap.stdout,
                                    stdout=sink, stderr=err, check=False, timeout=120)
            assert tap.stdout
            tap.stdout.close()
            rcs = (tap.wait(60), mapper.returncode)
        assert rcs == (0, 0), (self.workdir / "mapped.err").read_text()[-2000:]
        records = []
        for line in out.read_text().splitlines():
            msg = json.loads(line)
            if msg.get("type") == "RECORD":
                records.append({"_stream": msg["stream"], **msg["record"]})
        return records

    def read_rejects(self) -> list[dict[str, Any]]:
        if not self.rejects.exists():
            return []
        return [json.loads(line) for line in self.rejects.read_text().splitlines() if line.strip()]


class RunningPipeline:
    """A pipeline in flight: its STATE lines are collected as the target prints them."""

    def __init__(self, pipeline: Pipeline, n: int, procs: tuple[subprocess.Popen, ...]) -> None:
        self.pipeline = pipeline
        self.n = n
        self.procs = procs
        self.started = time.monotonic()
        self.states: list[dict[str, Any]] = []
        self.killed = False
        self._reader = threading.Thread(target=self._read_states, daemon=True)
        self._reader.start()

    def _read_states(self) -> None:
        out = self.procs[2].stdout
        assert out
        for raw in out:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue  # a line cut by SIGKILL was never a saved state
            # Singer targets print the bare state value (a Meltano-style envelope is accepted too).
            if isinstance(msg, dict):
                self.states.append(msg["value"] if msg.get("type") == "STATE" else msg)

    def kill(self) -> None:
        """SIGKILL all three processes, as a crashed host or an OOM killer would."""
        self.killed = True
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)

    def done(self) -> bool:
        return all(p.poll() is not None for p in self.procs)

    def wait(self, timeout: float = 120) -> Run:
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill()
                self.wait(10)
                raise AssertionError(f"pipeline run {self.n} did not finish in {timeout}s") from None
        self._reader.join(10)
        wd = self.pipeline.workdir
        stderr = {name: (wd / f"{name}-{self.n}.err").read_text(errors="replace")
                  for name in ("tap", "map", "target")}
        return Run(tuple(p.returncode for p in self.procs), list(self.states), stderr,
                   self.pipeline.read_rejects(), time.monotonic() - self.started, self.killed)


# --- reading Brevo back ---------------------------------------------------------------------------
def contact_key(c: dict[str, Any]) -> str:
    """A contact's identity: email (case-insensitive), else EXT_ID, else SMS."""
    attrs = c.get("attributes") or {}
    if c.get("email"):
        return "email:" + c["email"].lower()
    if c.get("ext_id") or attrs.get("EXT_ID"):
        return "ext_id:" + str(c.get("ext_id") or attrs["EXT_ID"])
    return "sms:" + str(attrs.get("SMS"))


def brevo_view(store: dict[str, Any]) -> dict[str, Any]:
    """What Brevo holds, without server-side ids and write stamps, so two sandboxes compare.

    Lists are named, not numbered (ids depend on creation order); events form a multiset.
    """
    list_names = {lst["id"]: lst["name"] for lst in store["lists"]}
    contacts: dict[str, dict[str, Any]] = {}
    duplicates: list[str] = []
    for c in store["contacts"]:
        key = contact_key(c)
        if key in contacts:
            duplicates.append(key)
        contacts[key] = {
            "email": (c.get("email") or "").lower() or None,
            "attributes": c.get("attributes") or {},
            "emailBlacklisted": c.get("emailBlacklisted"),
            "smsBlacklisted": c.get("smsBlacklisted"),
            "lists": sorted(list_names.get(i, f"#{i}") for i in c.get("listIds", [])),
            "unsubscribed": sorted(list_names.get(i, f"#{i}") for i in c.get("listUnsubscribed", [])),
        }
    events = Counter(json.dumps(_strip(e), sort_keys=True) for e in store["events"])
    return {
        "contacts": contacts,
        "duplicate_contacts": duplicates,
        "list_names": Counter(lst["name"] for lst in store["lists"]),
        "events": events,
        "products": {p.get("id"): _strip(p) for p in store.get("products", [])},
        "orders": {o.get("id"): _strip(o) for o in store.get("orders", [])},
        "categories": {c.get("id"): _strip(c) for c in store.get("categories", [])},
    }


# Keys the server stamps on write: they differ between two sandboxes by construction.
_SERVER_KEYS = {"createdAt", "modifiedAt", "updatedAt", "created_at", "modified_at", "receivedAt",
                "contact_id", "contactId"}


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in _SERVER_KEYS}


def diff_contacts(got: dict[str, Any], want: dict[str, Any], limit: int = 5) -> str:
    """A short human diff between two ``brevo_view(...)["contacts"]``."""
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = [k for k in sorted(set(want) & set(got)) if want[k] != got[k]]
    lines = [f"missing {len(missing)}: {missing[:limit]}", f"extra {len(extra)}: {extra[:limit]}",
             f"changed {len(changed)}:"]
    for k in changed[:limit]:
        fields = sorted(f for f in set(want[k]) | set(got[k]) if want[k].get(f) != got[k].get(f))
        lines.append(f"  {k}: " + "; ".join(f"{f} want {want[k].get(f)!r} got {got[k].get(f)!r}"
                                            for f in fields))
    return "\n".join(lines)
