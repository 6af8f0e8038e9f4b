"""The API key never reaches records, state or logs (the PyPI peer writes it into every record)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_brevo.tap import TapBrevo
from tap_brevo.testing import run_tap

SECRET = "xkeysib-SECRET0123456789abcdef-TEST"


def test_key_is_nowhere_in_output_state_or_debug_logs(make_sandbox, conformance):
    sb = make_sandbox(vendors="brevo", api_key=SECRET)
    conformance.attach(sb)
    sb.faults("503#1~^/brevo/v3/contacts$")  # an error and a retry get logged too
    run = run_tap({"api_key": SECRET, "api_url": sb.urls["brevo"], "rate_limit_plan": "off",
                   "backoff_base_seconds": 0.05}, None, level=logging.DEBUG)
    assert sum(len(v) for v in run.records.values()) > 100
    assert SECRET not in run.stdout
    assert SECRET not in json.dumps(run.state)
    assert SECRET not in run.log
    assert "retry" in run.log  # the log did capture the 503's handling


def test_key_is_not_in_the_cli_output_at_debug(make_sandbox, tmp_path):
    sb = make_sandbox(vendors="brevo", api_key=SECRET)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": SECRET, "api_url": sb.urls["brevo"], "rate_limit_plan": "off"}))
    env = {**os.environ, "LOGLEVEL": "DEBUG"}
    out = subprocess.run([sys.executable, "-m", "tap_brevo.tap", "--config", str(config)], capture_output=True,
                         text=True, env=env, timeout=120, check=True)
    assert '"type":"RECORD"' in out.stdout.replace(" ", "")
    assert SECRET not in out.stdout
    assert SECRET not in out.stderr
    about = subprocess.run([sys.executable, "-m", "tap_brevo.tap", "--about", "--format=json"], capture_output=True,
                           text=True, timeout=60, check=True)
    settings = json.loads(about.stdout)["settings"]["properties"]
    assert settings["api_key"].get("secret") is True
    assert settings["access_token"].get("secret") is True


def test_oauth_access_token_is_sent_as_bearer(sandbox, config, conformance):
    run = run_tap({k: v for k, v in config.items() if k != "api_key"} | {"access_token": sandbox.api_key},
                  ["senders"])
    assert len(run.records["senders"]) == 3


def test_wrong_key_is_a_clear_error_without_the_key(sandbox, config):
    with pytest.raises(Exception, match=r"HTTP 401 .*unauthorized.*check api_key") as info:
        run_tap({**config, "api_key": SECRET}, ["senders"])
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(("url", "ok"), [("http://api.brevo.com/v3", False), ("http://10.0.0.5/v3", False),
                                         ("http://127.0.0.1:1/v3", True), ("http://localhost:1/v3", True),
                                         ("http://[::1]:1/v3", True), ("https://api.brevo.com/v3", True)])
def test_plain_http_is_refused_unless_loopback(url, ok):
    if ok:
        TapBrevo(config={"api_key": SECRET, "api_url": url}, parse_env_config=False)
    else:
        with pytest.raises(ConfigValidationError, match="api_url must use https"):
            TapBrevo(config={"api_key": SECRET, "api_url": url}, parse_env_config=False)


def test_cli_refuses_plain_http_with_one_line_and_no_traceback(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": SECRET, "api_url": "http://api.brevo.com/v3"}))
    out = subprocess.run([sys.executable, "-m", "tap_brevo.tap", "--config", str(config)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode != 0
    assert out.stdout == ""
    assert "api_url must use https (plain http only for a loopback host), got http://api.brevo.com" in out.stderr
    assert "Traceback" not in out.stderr
    assert SECRET not in out.stderr
