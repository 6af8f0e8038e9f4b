"""Brevo's write endpoints (what target-brevo calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from . import Brevo


def register(v: Brevo) -> None:
    """Write endpoints arrive with target-brevo."""
