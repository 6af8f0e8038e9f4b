"""The README's settings and stream tables are generated from the plugins; they must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_reference_blocks_are_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme.py"), "--check"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_readme_keeps_the_two_commands_and_the_issue_order():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text
    assert "make test" in text
    order = ["## Two commands", "## How it fits together", "## Quick start with real accounts", "## Shell pipes",
             "## The plugins", "## Mapping presets", "## Rate limits", "## Guarantees", "## Troubleshooting",
             "## Running at scale"]
    positions = [text.index(h) for h in order]
    assert positions == sorted(positions)
