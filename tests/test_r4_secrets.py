"""R4 secrets: no plugin ever shows its API key, even at DEBUG, even on failing requests.

Every plugin runs as a subprocess with ``LOGLEVEL=DEBUG`` and a ``SINGER_SDK_LOG_CONFIG`` that also
writes every logger (urllib3 and requests included) to a log file, against a sandbox started with a
distinctive key: the 4 taps with injected 5xx and 429 faults (so retries log), the pipe
tap-klaviyo | map-brevo | target-brevo (import with a 5xx and a 429), and every plugin again with a
wrong key (401). Then every byte of stdout, stderr, the log files, the state and the rejects is
searched for the keys, raw, URL-encoded and base64-encoded. Nothing may match.

A plain ``http://`` api_url to a non-loopback host is refused by every plugin that takes one, with
one clear line, no traceback, and no connection attempted (a proxy listener would see it).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from sandbox.app import Sandbox
from sandbox.faults import parse_spec

BIN = Path(sys.executable).parent
# '+' and '/' make the URL-encoded and the raw forms differ, so both are really searched.
KEY = "sk-LEAKCHECK+7f3a/9c21"
WRONG = "sk-LEAKWRONG+51d0/e8b4"
CLIENT_SECRET = "cs-LEAKCLIENT+3b9e/77aa"  # tap-klaviyo OAuth: the refresh token is KEY + "-refresh"
TAPS = ("tap-klaviyo", "tap-braze", "tap-iterable", "tap-brevo")
# Faults per vendor: one 5xx and one 429 each, on endpoints the runs below call.
FAULTS = ("503#1~^/klaviyo/api/lists,ratelimit#1~^/klaviyo/api/tags,"
          "503#1~^/braze/campaigns/list,ratelimit#1~^/braze/segments/list,"
          "503#1~^/iterable/api/channels,ratelimit#1~^/iterable/api/export/data.json,"
          "503#1~^/brevo/v3/contacts$,ratelimit#1~^/brevo/v3/senders,"
          "503#1~^/brevo/v3/contacts/import,ratelimit#1~^/brevo/v3/processes/")
ITERABLE_NO_PACING = dict.fromkeys(("default", "export", "export_jobs", "list_users", "metrics", "user_fields"), 1e7)


def needles(key: str) -> list[bytes]:
    """The key as it could leak: raw, URL-encoded, base64 at every alignment, and its distinctive middle."""
    raw = key.encode()
    found = {raw, quote(key, safe="").encode(), quote_plus(key).encode(), key.split("+", maxsplit=1)[0].encode()}
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        for pad in range(3):
            text = enc(b"\0" * pad + raw)
            # the characters that depend on the key's bytes alone (not on a neighbour or the padding)
            core = text[4 if pad else 0: -4]
            found.add(core)
    return sorted(found)


NEEDLES = needles(KEY) + needles(WRONG) + needles(CLIENT_SECRET)


def leaks(data: bytes) -> list[str]:
    return [n.decode() for n in NEEDLES if n in data]


def tap_config(name: str, urls: dict[str, str], key: str) -> dict[str, Any]:
    return {
        "tap-klaviyo": {"private_api_key": key, "api_url": urls["klaviyo"], "start_date": "2026-10-01T00:00:00Z",
                        "backoff_base_seconds": 0.01},
        "tap-braze": {"api_key": key, "instance_url": urls["braze"], "start_date": "2026-11-01T00:00:00Z",
                      "user_export_poll_seconds": 0.1},
        "tap-iterable": {"api_key": key, "api_url": urls["iterable"], "start_date": "2024-11-01T00:00:00Z",
                         "end_date": "2025-06-01T00:00:00Z", "export_window_days": 400, "event_types": ["purchase"],
                         "rate_limits": ITERABLE_NO_PACING, "backoff_base_seconds": 0.01, "max_retries": 3,
                         "async_poll_seconds": 0.02},
        "tap-brevo": {"api_key": key, "api_url": urls["brevo"], "rate_limit_plan": "off", "backoff_base_seconds": 0.05},
    }[name]


def target_config(url: str, key: str, work: Path) -> dict[str, Any]:
    return {"api_url": url, "api_key": key, "rejects_path": str(work / "rejects.jsonl"), "contacts_mode": "import",
            "import_poll_initial_seconds": 0.05, "backoff_base_seconds": 0.01, "default_list_ids": [2],
            # no client-side pacing: the free plan's 100/h default bucket would make this run wait minutes
            "rate_limits": dict.fromkeys(("contacts", "events", "smtp", "default"), 1000)}


MAP_CONFIG = {"preset": "klaviyo", "lists": {"all_contacts": 2, "subscribers": 3, "high_value": 4}}


class Runner:
    """Runs plugins at DEBUG in their own work dirs; keeps every output file for the leak search."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.configs = root / "configs"  # the one place the key may be: kept out of the search
        self.configs.mkdir()
        self.results: dict[str, dict[str, Any]] = {}

    def run(self, run_id: str, tool: str, config: dict[str, Any], stdin: bytes = b"",
            args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> dict[str, Any]:
        work = self.root / run_id
        work.mkdir()
        cfg = self.configs / f"{run_id}.json"
        cfg.write_text(json.dumps(config))
        log_cfg = self.configs / f"{run_id}.logging.json"  # YAML is a superset of JSON
        log_cfg.write_text(json.dumps({
            "version": 1, "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {
                "file": {"class": "logging.FileHandler", "filename": str(work / "debug.log"), "formatter": "plain",
                         "level": "DEBUG"},
                "console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "plain",
                            "level": "DEBUG"}},
            "root": {"level": "DEBUG", "handlers": ["file", "console"]},
            "loggers": {"urllib3": {"level": "DEBUG"}, "requests": {"level": "DEBUG"}}}))
        full_env = {**os.environ, "LOGLEVEL": "DEBUG", "SINGER_SDK_LOG_CONFIG": str(log_cfg), **(env or {})}
        proc = subprocess.run([str(BIN / tool), "--config", str(cfg), *args], input=stdin, capture_output=True,
                              timeout=240, check=False, cwd=work, env=full_env)
        (work / "stdout").write_bytes(proc.stdout)
        (work / "stderr").write_bytes(proc.stderr)
        states = [line for line in proc.stdout.splitlines() if b'"STATE"' in line or tool == "target-brevo"]
        (work / "state.jsonl").write_bytes(b"\n".join(states))
        out = {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "work": work}
        self.results[run_id] = out
        return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    good = Sandbox(scale="tiny", rate_limits="off", api_key=KEY).start(0)
    other = Sandbox(scale="tiny", rate_limits="off", api_key=KEY).start(0)  # for the wrong-key runs: no faults
    try:
        for sb in (good, other):
            sb.vendors["braze"].export_delay = 0.2
            sb.vendors["brevo"].import_delay = 0.05
        good.faults.set(parse_spec(FAULTS))
        r = Runner(tmp_path_factory.mktemp("r4"))
        urls, other_urls = good.urls(), other.urls()

        def pipe() -> None:
            tap = r.run("pipe-tap-klaviyo", "tap-klaviyo", tap_config("tap-klaviyo", urls, KEY))
            mapped = r.run("pipe-map-brevo", "map-brevo", MAP_CONFIG, stdin=tap["stdout"])
            r.run("pipe-target-brevo", "target-brevo", target_config(urls["brevo"], KEY, r.root / "pipe-target-brevo"),
                  stdin=mapped["stdout"])

        def wrong(tool: str) -> None:
            if tool == "target-brevo":
                text = b'{"type":"SCHEMA","stream":"contacts","schema":{"type":"object","properties":{"email":' \
                       b'{"type":"string"}}},"key_properties":[]}\n{"type":"RECORD","stream":"contacts","record":' \
                       b'{"email":"a@example.com"}}\n'
                r.run("wrong-key-target-brevo", tool,
                      target_config(other_urls["brevo"], WRONG, r.root / "wrong-key-target-brevo"), stdin=text)
            else:
                r.run(f"wrong-key-{tool}", tool, tap_config(tool, other_urls, WRONG))

        def other_secrets() -> None:
            # the other secret settings: tap-klaviyo's OAuth refresh (Basic client auth, then Bearer tokens
            # the sandbox issues) and tap-brevo's access_token (Bearer)
            r.run("tap-klaviyo-oauth", "tap-klaviyo", {
                "refresh_token": KEY + "-refresh", "client_id": "r4-client", "client_secret": CLIENT_SECRET,
                "api_url": urls["klaviyo"], "start_date": "2026-10-01T00:00:00Z", "backoff_base_seconds": 0.01})
            r.run("tap-brevo-bearer", "tap-brevo", {"access_token": KEY, "api_url": urls["brevo"],
                                                    "rate_limit_plan": "off", "backoff_base_seconds": 0.05})

        jobs = [pipe, other_secrets, *[(lambda t=t: r.run(t, t, tap_config(t, urls, KEY))) for t in TAPS if t != "tap-klaviyo"],
                *[(lambda t=t: wrong(t)) for t in (*TAPS, "target-brevo")]]
        with ThreadPoolExecutor(3) as pool:
            for f in [pool.submit(j) for j in jobs]:
                f.result()
        r.faults = good.stats()["faults"]  # type: ignore[attr-defined]
        # the OAuth access tokens the sandbox issued are secrets too
        r.issued = sorted(good.vendors["klaviyo"].tokens)  # type: ignore[attr-defined]
        NEEDLES.extend(t.encode() for t in r.issued)  # type: ignore[attr-defined]
        yield r
    finally:
        good.stop()
        other.stop()


GOOD_RUNS = ["pipe-tap-klaviyo", "tap-braze", "tap-iterable", "tap-brevo", "pipe-map-brevo", "pipe-target-brevo",
             "tap-klaviyo-oauth", "tap-brevo-bearer"]
WRONG_RUNS = [f"wrong-key-{t}" for t in (*TAPS, "target-brevo")]


def test_needles_cover_the_encodings() -> None:
    assert quote(KEY, safe="").encode() in NEEDLES
    assert any(n in base64.b64encode(b"Bearer " + KEY.encode()) for n in NEEDLES)
    assert any(n in base64.b64encode(b"x:" + KEY.encode() + b":y") for n in NEEDLES)
    assert leaks(b"nothing here") == []


@pytest.mark.parametrize("run_id", GOOD_RUNS)
def test_good_run_at_debug_leaks_nothing(run_id: str, runs: Runner) -> None:
    res = runs.results[run_id]
    assert res["rc"] == 0, res["stderr"][-3000:].decode("utf-8", "replace")
    log = (res["work"] / "debug.log").read_bytes()
    assert b" DEBUG " in log, "debug logging was not on"
    if run_id != "pipe-map-brevo":
        assert b"urllib3.connectionpool" in log  # request lines were logged, so a key in a URL would show
    if run_id != "pipe-target-brevo":
        assert b'"RECORD"' in res["stdout"].replace(b" ", b"")
    for path in sorted(res["work"].rglob("*")):
        if path.is_file():
            assert leaks(path.read_bytes()) == [], f"{run_id}: the key is in {path.name}"


def test_oauth_tokens_were_issued_and_searched(runs: Runner) -> None:
    assert runs.issued  # type: ignore[attr-defined]
    assert all(t.encode() in NEEDLES for t in runs.issued)  # type: ignore[attr-defined]


def test_faults_fired_so_retries_were_logged(runs: Runner) -> None:
    faults = runs.faults  # type: ignore[attr-defined]
    assert faults["total"] >= 8, faults
    text = b"".join((runs.results[r]["work"] / "debug.log").read_bytes() for r in GOOD_RUNS).lower()
    assert b"429" in text
    assert b"503" in text


def test_pipe_wrote_rejects_and_state_without_the_key(runs: Runner) -> None:
    res = runs.results["pipe-target-brevo"]
    summary = json.loads(next(x for x in res["stderr"].decode().splitlines()
                              if x.startswith("target-brevo summary: ")).split(": ", 1)[1])
    assert summary["records_accepted"].get("klaviyo_contacts", 0) > 0
    assert summary["retries"] >= 1
    assert summary["rate_limited_429"] >= 1
    assert res["stdout"].strip(), "no STATE came out of the target"
    rejects = res["work"] / "rejects.jsonl"
    if rejects.exists():
        assert leaks(rejects.read_bytes()) == []


@pytest.mark.parametrize("run_id", WRONG_RUNS)
def test_wrong_key_is_a_401_that_names_no_key(run_id: str, runs: Runner) -> None:
    res = runs.results[run_id]
    err = res["stderr"].decode("utf-8", "replace")
    assert res["rc"] != 0
    assert "401" in err or "nauthori" in err, err[-2000:]
    for path in sorted(res["work"].rglob("*")):
        if path.is_file():
            assert leaks(path.read_bytes()) == [], f"{run_id}: the key is in {path.name}"


@pytest.mark.parametrize("tool", [*TAPS, "target-brevo"])
def test_wrong_key_ends_with_one_clear_line_and_no_traceback(tool: str, runs: Runner) -> None:
    err = runs.results[f"wrong-key-{tool}"]["stderr"].decode("utf-8", "replace")
    assert "Traceback (most recent call last)" not in err, err[-1500:]
    assert "401" in err.strip().splitlines()[-1]


# --- plain http to a non-loopback host -----------------------------------------------------------
class Listener:
    """A TCP listener used as HTTP(S)_PROXY: any connection a plugin attempts ends up here."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


PLAIN = "http://example.com"
HTTP_CONFIGS = {
    "tap-klaviyo": {"private_api_key": KEY, "api_url": PLAIN, "start_date": "2026-10-01T00:00:00Z"},
    "tap-braze": {"api_key": KEY, "instance_url": PLAIN + "/braze", "start_date": "2026-11-01T00:00:00Z"},
    "tap-iterable": {"api_key": KEY, "api_url": PLAIN + "/api", "start_date": "2026-11-01T00:00:00Z"},
    "tap-brevo": {"api_key": KEY, "api_url": PLAIN + "/v3"},
    "target-brevo": {"api_key": KEY, "api_url": PLAIN + "/v3"},
}


@pytest.fixture(scope="module")
def http_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, dict[str, Any]], int]:
    proxy = Listener()
    r = Runner(tmp_path_factory.mktemp("r4-http"))
    env = {"HTTP_PROXY": f"http://127.0.0.1:{proxy.port}", "HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}",
           "http_proxy": f"http://127.0.0.1:{proxy.port}", "https_proxy": f"http://127.0.0.1:{proxy.port}",
           "NO_PROXY": "", "no_proxy": ""}
    contact = (b'{"type":"SCHEMA","stream":"contacts","schema":{"type":"object","properties":{}},'
               b'"key_properties":[]}\n')
    try:
        # The sensor works: a request to the plain-http host through these proxies reaches the listener.
        probe = subprocess.run([sys.executable, "-c", "import requests\ntry: requests.get('http://example.com/', "
                                "timeout=2)\nexcept requests.RequestException: pass"], env={**os.environ, **env},
                               timeout=30, check=False)
        assert probe.returncode == 0
        assert proxy.connections == 1
        proxy.connections = 0
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda t: r.run(f"http-{t}", t, HTTP_CONFIGS[t], stdin=contact, env=env), HTTP_CONFIGS))
    finally:
        proxy.close()
    return r.results, proxy.connections


@pytest.mark.parametrize("tool", list(HTTP_CONFIGS))
def test_plain_http_to_a_remote_host_is_refused(tool: str, http_runs: tuple[dict[str, dict[str, Any]], int]) -> None:
    results, _ = http_runs
    res = results[f"http-{tool}"]
    err = res["stderr"].decode("utf-8", "replace")
    assert res["rc"] != 0, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    assert res["stdout"] == b""
    errors = [x for x in err.splitlines() if "https" in x.lower() and ("http" in x.lower())]
    assert errors, err[-2000:]
    assert "example.com" in errors[-1] or "api_url" in errors[-1] or "instance_url" in errors[-1], errors[-1]
    assert leaks(res["stderr"]) == []


def test_plain_http_attempts_no_connection(http_runs: tuple[dict[str, dict[str, Any]], int]) -> None:
    _, connections = http_runs
    assert connections == 0
