"""``make demo``: a real migration from Klaviyo, Braze and Iterable into Brevo, on the local sandbox.

1. installs the Meltano plugins (once; ``make demo`` already built .venv);
2. starts the sandbox in the background (seeded, medium scale, realistic limits in fast mode,
   no faults), keeping Brevo's state in ``.demo/`` so a second demo continues the first;
3. runs ``meltano run`` for each ``*-to-brevo`` job, then ``brevo-to-jsonl`` to read Brevo back;
4. prints the reconciliation report (and fails if any record is unaccounted for);
5. stops the sandbox, even on failure.

A second ``make demo`` moves the sandbox's clock forward a day first, so only new and changed
records move: the report shows it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
JOBS = ["klaviyo-to-brevo", "braze-to-brevo", "iterable-to-brevo", "cdp-to-brevo"]


def plugin_env(port: int, workdir: Path, job: str) -> dict[str, str]:
    """Point every plugin at this sandbox and keep this demo's files together.

    Environment variables win over meltano.yml, so the same project serves a demo on any port.
    """
    base = f"http://127.0.0.1:{port}"
    return {
        "TAP_KLAVIYO_API_URL": f"{base}/klaviyo",
        "TAP_BRAZE_INSTANCE_URL": f"{base}/braze",
        "TAP_ITERABLE_API_URL": f"{base}/iterable/api",
        "TAP_BREVO_API_URL": f"{base}/brevo/v3",
        "TARGET_BREVO_API_URL": f"{base}/brevo/v3",
        "TARGET_BREVO_REJECTS_PATH": str(workdir / "rejects" / f"{job}.jsonl"),
        "TARGET_JSONL_DESTINATION_PATH": str(workdir / "output" / "brevo"),
        "MELTANO_DATABASE_URI": f"sqlite:///{workdir / 'meltano.db'}",
    }


def say(msg: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def meltano(*args: str, log: Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run meltano, streaming a short progress view and keeping the full log."""
    cmd = [str(BIN / "meltano"), *args]
    full_env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **(env or {})}
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=full_env) as proc:
        out = log.open("w") if log else None
        try:
            assert proc.stdout
            for line in proc.stdout:
                if out:
                    out.write(line)
                if _interesting(line):
                    print("    " + line.rstrip()[:200], flush=True)
        finally:
            if out:
                out.close()
    if proc.returncode:
        raise SystemExit(f"meltano {' '.join(args)} failed with exit code {proc.returncode}"
                         + (f"; full log: {log}" if log else ""))


def _interesting(line: str) -> bool:
    keys = ("summary", "Syncing", "ERROR", "error", "Block run completed", "Sync completed", "rejected")
    return any(k in line for k in keys) and "METRIC" not in line


def start_sandbox(scale: str, port: int, workdir: Path) -> subprocess.Popen:
    state = workdir / "sandbox-state.json"
    rerun = state.exists()
    cmd = [str(BIN / "sandbox"), "serve", "--port", str(port), "--seed", "42", "--scale", scale,
           "--rate-limits", "fast", "--state", str(state)]
    log = (workdir / "sandbox.log").open("w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the sandbox did not start (is port {port} in use?); see {workdir / 'sandbox.log'}")
    info = json.loads(line)
    say(f"sandbox up at {info['sandbox']} ({scale} scale, rate limits in fast mode)")
    if rerun:
        _post(port, "/_sandbox/advance", {"days": 1})
        say("second run: the sandbox clock moved one day forward; only new and changed records should move")
    return proc


def _post(port: int, path: str, body: dict) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback sandbox
        return json.loads(resp.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default=os.environ.get("DEMO_SCALE", "medium"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8765")))
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("DEMO_DIR", ROOT / ".demo")),
                        help="sandbox state, Meltano state, rejects, logs and read-back files")
    parser.add_argument("--fresh", action="store_true", help="forget earlier demo runs first")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir.resolve()
    if args.fresh:
        shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    logs = workdir / "logs"
    shutil.rmtree(logs, ignore_errors=True)  # the report covers this run only
    shutil.rmtree(workdir / "rejects", ignore_errors=True)
    shutil.rmtree(workdir / "output", ignore_errors=True)
    logs.mkdir()
    (workdir / "rejects").mkdir()
    if not (ROOT / ".meltano" / "extractors" / "tap-klaviyo").exists():
        say("installing the Meltano plugins (first run only)")
        meltano("install", log=workdir / "install.log")
    sandbox = start_sandbox(args.scale, args.port, workdir)
    started = time.time()
    try:
        for job in [*JOBS, "brevo-to-jsonl"]:
            say(f"meltano run {job}")
            t0 = time.time()
            meltano("run", job, log=logs / f"{job}.log", env=plugin_env(args.port, workdir, job))
            say(f"{job} done in {time.time() - t0:.0f}s")
        say("reconciliation")
        report = subprocess.run([str(BIN / "brevo-reconcile"), "--logs", str(logs),
                                 "--readback", str(workdir / "output" / "brevo")], cwd=ROOT, check=False)
        say(f"demo finished in {time.time() - started:.0f}s")
        return report.returncode
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(20)
        except subprocess.TimeoutExpired:
            sandbox.kill()
        say("sandbox stopped")


if __name__ == "__main__":
    sys.exit(main())
