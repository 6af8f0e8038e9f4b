"""Helpers for tests and benchmarks: Singer messages and an in-process run of the target."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "email": {"type": ["string", "null"]},
        "ext_id": {"type": ["string", "null"]},
        "sms": {"type": ["string", "null"]},
        "attributes": {"type": ["object", "null"], "additionalProperties": True},
        "list_ids": {"type": ["array", "null"], "items": {"type": "integer"}},
        "unlink_list_ids": {"type": ["array", "null"], "items": {"type": "integer"}},
        "list_names": {"type": ["array", "null"], "items": {"type": "string"}},
        "email_blacklisted": {"type": ["boolean", "null"]},
        "sms_blacklisted": {"type": ["boolean", "null"]},
        "deleted": {"type": ["boolean", "null"]},
        "FIRSTNAME": {"type": ["string", "null"]},
        "LASTNAME": {"type": ["string", "null"]},
    },
}
EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event_name": {"type": "string"},
        "event_date": {"type": ["string", "null"], "format": "date-time"},
        "identifiers": {"type": "object"},
        "contact_properties": {"type": ["object", "null"]},
        "event_properties": {"type": ["object", "null"]},
    },
}


def schema(stream: str, properties: dict[str, Any] | None = None, key: list[str] | None = None,
           base: dict[str, Any] | None = None) -> dict[str, Any]:
    sch = base or {"type": "object", "properties": properties or {}}
    return {"type": "SCHEMA", "stream": stream, "schema": sch, "key_properties": key or []}


def record(stream: str, rec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": rec}


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def lines(messages: list[Any]) -> str:
    return "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)


@dataclass
class Result:
    stdout: str
    stderr: str
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def states(self) -> list[Any]:
        return [json.loads(x) for x in self.stdout.splitlines() if x.strip()]

    @property
    def summary(self) -> dict[str, Any]:
        for line in self.stderr.splitlines():
            if line.startswith("target-brevo summary: "):
                return json.loads(line.split(": ", 1)[1])
        raise AssertionError("no summary on stderr")


def run(config: dict[str, Any], messages: list[Any]) -> Result:
    """Run the target in-process on ``messages``; exceptions propagate."""
    from .target import TargetBrevo

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        target = TargetBrevo(config=config, validate_config=True)
        target.listen(io.StringIO(lines(messages)))
    path = Path(config.get("rejects_path", "target-brevo-rejects.jsonl"))
    rejects = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    return Result(out.getvalue(), err.getvalue(), rejects)
