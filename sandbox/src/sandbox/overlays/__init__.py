"""Per-vendor corrections to the vendored specs, each with its reason.

Each vendor module defines ``OVERLAY``, a dict with any of:

* ``operations``: ``{(METHOD, template): operation}`` for endpoints newer than the vendored spec;
* ``schemas``: extra component schemas those operations reference;
* ``responses``: ``{(METHOD, template, status): schema}`` replacing a response schema that is
  wrong or too weak in the spec (Braze's bare ``type: object``);
* ``common_responses``: ``{"401" or "5XX": schema}`` for statuses the vendor documents on every
  endpoint but the spec leaves off some operations;
* ``status_overrides``: ``{"429": schema}`` replacing the spec's schema for a status everywhere;
* ``patches``: ``[(json_pointer, value, reason)]`` fixing a spec defect in place;
* ``ignored_params``: ``{(METHOD, template): {names}}`` documented parameters the spec lacks.
"""

from __future__ import annotations

from typing import Any

from . import braze, brevo, iterable, klaviyo

OVERLAYS: dict[str, dict[str, Any]] = {
    "klaviyo": klaviyo.OVERLAY,
    "braze": braze.OVERLAY,
    "iterable": iterable.OVERLAY,
    "brevo": brevo.OVERLAY,
}
