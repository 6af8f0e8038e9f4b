"""Spec overlay for klaviyo (see the package docstring for the keys)."""

from __future__ import annotations

from typing import Any

OVERLAY: dict[str, Any] = {}
