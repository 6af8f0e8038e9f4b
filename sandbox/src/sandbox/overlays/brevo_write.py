"""Spec overlay for Brevo's write endpoints (target-brevo's side)."""

from __future__ import annotations

from typing import Any

OVERLAY: dict[str, Any] = {}
