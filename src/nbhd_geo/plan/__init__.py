"""Propose neighbourhood footprints from whole statutory units.

- :func:`propose_footprints`: plans of contiguous footprints within a population range
  (e.g. 30–50k people) that keep resident neighbourhoods whole, as a small Pareto set;
- :class:`SearchOptions`, :class:`ContiguityOptions`: the search's and the adjacency's
  settings, each validated once;
- :func:`unit_contiguity`: rook adjacency with islands and enclaves reported;
- :func:`check_plan`: an independent check of a plan's hard constraints (and of the
  residents it keeps whole);
- :class:`Certificate`: the certified optimiser's plan and proven bound (the gap);
- :data:`WHOLE_THRESHOLD`: the one definition of a neighbourhood *kept whole* (at least
  95 % of its area-apportioned residents in one footprint; a parameter everywhere);
- :class:`NeighbourhoodSplits`, :func:`neighbourhood_people`: split scores for any plan
  (ours or another tool's) on the same inputs.
"""

from __future__ import annotations

from nbhd_geo.plan.contiguity import Contiguity, feasible_counts, unit_contiguity
from nbhd_geo.plan.errors import (
    DisconnectedError,
    InfeasibleError,
    PopulationError,
    UnitTooLargeError,
)
from nbhd_geo.plan.options import ContiguityOptions, SearchOptions
from nbhd_geo.plan.propose import Certificate, FootprintPlan, FootprintPlans, propose_footprints
from nbhd_geo.plan.score import (
    WHOLE_THRESHOLD,
    NeighbourhoodSplits,
    PlanCheck,
    check_plan,
    neighbourhood_people,
    pcn_alignment,
    polsby_popper,
)

__all__ = [
    "propose_footprints",
    "SearchOptions",
    "ContiguityOptions",
    "FootprintPlan",
    "FootprintPlans",
    "Certificate",
    "WHOLE_THRESHOLD",
    "unit_contiguity",
    "Contiguity",
    "feasible_counts",
    "check_plan",
    "PlanCheck",
    "NeighbourhoodSplits",
    "neighbourhood_people",
    "pcn_alignment",
    "polsby_popper",
    "InfeasibleError",
    "UnitTooLargeError",
    "DisconnectedError",
    "PopulationError",
]
