"""Brevo's overlay: the common part plus each side's, merged key by key."""

from __future__ import annotations

from typing import Any

from . import brevo_common, brevo_read, brevo_write


def _merge(*overlays: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for overlay in overlays:
        for key, value in overlay.items():
            if isinstance(value, list):
                out.setdefault(key, []).extend(value)
            else:
                out.setdefault(key, {}).update(value)
    return out


OVERLAY = _merge(brevo_common.OVERLAY, brevo_read.OVERLAY, brevo_write.OVERLAY)
