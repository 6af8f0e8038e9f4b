"""Singer line I/O for the mapper: bytes in and out, located errors, no flush per line."""

from __future__ import annotations

import sys
import typing as t
from collections import Counter

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerReader, GenericSingerWriter
from singer_sdk.singerlib.exceptions import InvalidInputLine

from map_brevo.spec import MappingError

# Floats are read as floats (not Decimal): a JSON number with up to 15 significant digits is written
# back with the same digits, and Decimal decoding would cost a third of the throughput.
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder(decimal_format="number").encode


class FastReader(GenericSingerReader[bytes]):
    """Reads Singer lines as bytes; a bad line stops the run with its line number."""

    def __init__(self) -> None:
        super().__init__()
        self.current_line: bytes = b""
        self.line_number = 0

    @property
    def default_input(self) -> t.IO[bytes]:
        return sys.stdin.buffer

    def deserialize_json(self, line: bytes) -> dict:
        return _decode(line)

    def process_lines(self, file_input: t.IO[t.Any] | None,
                      callbacks: dict[str, t.Callable[[dict], None]]) -> Counter[str]:
        """Dispatch each line to its callback, turning any problem into a located MappingError."""
        stats: Counter[str] = Counter()
        source = file_input or self.default_input
        # Read bytes even from a text-mode --input file: a text wrapper decodes ahead in chunks, so
        # a bad byte would be reported at the wrong line; msgspec checks UTF-8 line by line.
        it = iter(getattr(source, "buffer", source))
        n = 0
        while True:
            try:
                line = next(it)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:  # text-mode --input files decode while iterating
                msg = f"input line {n + 1}: not valid UTF-8 ({exc.reason} at byte {exc.start})"
                raise MappingError(msg) from None
            n += 1
            self.line_number = n
            raw = line.encode("utf-8") if isinstance(line, str) else line
            if not raw.strip():
                continue
            self.current_line = raw if raw.endswith(b"\n") else raw + b"\n"
            try:
                message = _decode(raw)
            except msgspec.DecodeError as exc:
                problem = str(exc)
                kind = "not valid UTF-8" if "UTF-8" in problem else "malformed JSON"
                msg = f"input line {n}: {kind} ({problem}): {raw[:120]!r}"
                raise MappingError(msg) from None
            if not isinstance(message, dict) or "type" not in message:
                msg = f"input line {n}: not a Singer message (a JSON object with a `type`): {raw[:120]!r}"
                raise MappingError(msg)
            kind = message["type"]
            callback = callbacks.get(kind)
            if callback is None:
                msg = f"input line {n}: unknown message type {kind!r}"
                raise MappingError(msg)
            try:
                callback(message)
            except MappingError as exc:
                msg = f"input line {n}: {exc}"
                raise MappingError(msg) from None
            except (InvalidInputLine, KeyError, TypeError, AttributeError) as exc:
                what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
                msg = f"input line {n}: malformed {kind} message ({what}): {raw[:120]!r}"
                raise MappingError(msg) from None
            stats[kind] += 1
        return stats


class FastWriter(GenericSingerWriter[bytes, t.Any]):
    """Writes encoded lines to stdout's buffer; flushed on STATE and at the end of input."""

    def __init__(self, out: t.IO[bytes] | None = None) -> None:
        self.out = out

    def _stream(self) -> t.IO[bytes]:
        return self.out if self.out is not None else sys.stdout.buffer

    def serialize_message(self, message: t.Any) -> bytes:
        return _encode(message.to_dict()) + b"\n"

    def write_message(self, message: t.Any) -> None:
        self._stream().write(self.serialize_message(message))

    def write_raw(self, line: bytes) -> None:
        self._stream().write(line)

    def flush(self) -> None:
        self._stream().flush()
