"""Routing constants; a region's road-graph settings are ``region.graph``
(:class:`waitless.domain.graph_settings.GraphSettings`)."""

from __future__ import annotations

# Used only for highway classes a region's ``default_speeds_kph`` does not name.
FALLBACK_SPEED_KPH = 40.0
MODES = ("drive", "walk")
