"""Regenerate the README's per-plugin reference blocks: capabilities and settings from each
plugin's ``--about``, and the stream table from the plugin's own README.

``python scripts/readme.py`` rewrites README.md in place; ``--check`` exits 1 if it is stale
(tests/test_readme.py runs that, so the README cannot drift from the code).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLUGINS = {  # executable → its package directory
    "tap-klaviyo": "tap-klaviyo",
    "tap-braze": "tap-braze",
    "tap-iterable": "tap-iterable",
    "tap-brevo": "tap-brevo",
    "map-brevo": "mappings",
    "target-brevo": "target-brevo",
}
# singer-sdk's own settings, the same in every plugin: listed once instead of in every table.
SDK_SETTINGS = ("stream_maps", "stream_map_config", "faker_config", "flattening_", "batch_config",
                "add_record_metadata", "load_method", "validate_records", "batch_size_rows")
BLOCK = re.compile(r"(<!-- generated:(?P<name>[\w-]+) -->\n).*?(<!-- /generated:(?P=name) -->)", re.S)


def about(executable: str) -> tuple[dict, str]:
    exe = str(BIN / executable)
    as_json = json.loads(subprocess.run([exe, "--about", "--format=json"], capture_output=True, text=True,
                                        check=True).stdout)
    as_md = subprocess.run([exe, "--about", "--format=markdown"], capture_output=True, text=True,
                           check=True).stdout
    return as_json, as_md


def settings_table(markdown: str) -> str:
    section = markdown.split("## Settings", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    keep = rows[:2] + [r for r in rows[2:] if not r.split("|")[1].strip().startswith(SDK_SETTINGS)]
    return "\n".join(keep)


def streams_table(package_dir: str) -> str:
    text = (ROOT / package_dir / "README.md").read_text()
    match = re.search(r"^## Streams[^\n]*\n(?:(?!## )[^\n]*\n)*?((?:\|[^\n]*\n)+)", text, re.M)
    return match.group(1).rstrip("\n") if match else ""


def block(executable: str) -> str:
    info, markdown = about(executable)
    caps = ", ".join(f"`{c}`" for c in info.get("capabilities", []))
    parts = [f"**Capabilities:** {caps}", "", "**Settings** (from `--about --format=markdown`; singer-sdk's "
             "standard settings such as `stream_maps`, `flattening_*` and `batch_config` are omitted):", "",
             settings_table(markdown)]
    streams = streams_table(PLUGINS[executable])
    if streams:
        parts += ["", "**Streams** (keys and replication):", "", streams]
    return "\n".join(parts) + "\n"


def presets() -> str:
    """map-brevo's preset tables and how to write a mapping file, one heading level down."""
    text = (ROOT / "mappings" / "README.md").read_text()
    section = text[text.index("\n## Presets") + 1:text.index("\n## Options")]
    section = re.sub(r"^(#{2,3}) ", lambda h: "#" + h.group(1) + " ", section, flags=re.M)
    return section.rstrip("\n") + "\n"


def render(text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        name = m.group("name")
        return m.group(1) + (presets() if name == "presets" else block(name)) + m.group(3)

    return BLOCK.sub(replace, text)


def main() -> int:
    path = ROOT / "README.md"
    current = path.read_text()
    fresh = render(current)
    if "--check" in sys.argv:
        if fresh != current:
            print("README.md is stale: run `.venv/bin/python scripts/readme.py`", file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
