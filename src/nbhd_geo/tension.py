"""Deprecated alias of :mod:`nbhd_geo.measures` (moved in 0.2)."""

from nbhd_geo._deprecated import alias

alias(__name__, "nbhd_geo.measures", call="tension")
