"""Errors raised when footprints cannot be proposed from the inputs given.

Examples
--------
>>> from nbhd_geo.plan.errors import UnitTooLargeError
>>> err = UnitTooLargeError("1 unit holds more people than size[1] = 50000",
...     argument="size", ids=["E01011800"], fix="raise size[1] or split the unit")
>>> isinstance(err, ValueError)
True
"""

from __future__ import annotations

from nbhd_geo.errors import NbhdGeoError

__all__ = [
    "InfeasibleError",
    "UnitTooLargeError",
    "DisconnectedError",
    "PopulationError",
]


class InfeasibleError(NbhdGeoError):
    """No plan can meet the hard constraints (sizes, contiguity, nesting)."""


class UnitTooLargeError(InfeasibleError):
    """A unit alone holds more people than the largest footprint allowed."""


class DisconnectedError(InfeasibleError):
    """Units cannot be joined into contiguous footprints (islands too small to stand alone)."""


class PopulationError(NbhdGeoError):
    """The population column has gaps, negative values or is not numeric."""
