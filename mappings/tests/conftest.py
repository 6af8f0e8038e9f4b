"""Helpers: run map-brevo in-process on Singer lines and read back what it wrote."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from map_brevo.io import FastWriter
from map_brevo.mapper import MapBrevo

FIXTURES = Path(__file__).parent / "fixtures"


class Run:
    """The output of one mapper run: messages, records by stream, schemas, summary."""

    def __init__(self, raw: bytes, mapper: MapBrevo) -> None:
        self.raw = raw
        self.lines = raw.decode("utf-8").splitlines()
        self.messages = [json.loads(x) for x in self.lines]
        self.mapper = mapper
        self.summary = mapper.summary()

    def records(self, stream: str) -> list[dict]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def schema(self, stream: str) -> dict:
        return next(m for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)

    def streams(self) -> list[str]:
        return list(dict.fromkeys(m["stream"] for m in self.messages if "stream" in m))


def to_lines(messages: list[dict] | bytes | str) -> bytes:
    if isinstance(messages, bytes):
        return messages
    if isinstance(messages, str):
        return messages.encode("utf-8")
    return b"".join(json.dumps(m).encode() + b"\n" for m in messages)


@pytest.fixture
def run_map():
    """run_map(config, messages_or_bytes) -> Run."""

    def run(config: dict, messages: list[dict] | bytes | str) -> Run:
        out = io.BytesIO()
        mapper = MapBrevo(config=config, message_writer=FastWriter(out=out))
        mapper.listen(io.BytesIO(to_lines(messages)))
        return Run(out.getvalue(), mapper)

    return run


@pytest.fixture
def fixture_lines():
    def read(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    return read
