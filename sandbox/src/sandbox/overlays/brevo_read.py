"""Spec overlay for Brevo's read endpoints (tap-brevo's side)."""

from __future__ import annotations

from typing import Any

OVERLAY: dict[str, Any] = {}
