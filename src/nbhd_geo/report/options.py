"""Settings of :func:`~nbhd_geo.report.overlap.overlap_report` that travel together.

Each group is a small frozen dataclass checked when it is made, so a wrong value is
refused before any computing, with the setting named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from nbhd_geo.errors import InputError

__all__ = ["AllocationOptions", "DeprivationOptions", "DrawingOptions", "LabelOptions",
           "PageOptions", "PopulationOptions"]


@dataclass(frozen=True)
class AllocationOptions:
    """Share a budget by deprivation (see :func:`nbhd_geo.allocate`).

    Attributes
    ----------
    budget
        Whole pounds, more than 0.
    floor_share
        Share of the budget given to every neighbourhood as the same amount per person.
    gradient
        The rest is shared by people weighted ``1 + gradient · need`` (need scaled 0 for
        the least deprived to 1 for the most).

    Examples
    --------
    >>> AllocationOptions(1_000_000).gradient
    1.0
    >>> try:
    ...     AllocationOptions(0)
    ... except InputError as err:
    ...     print(str(err).split(".")[0])
    budget: must be more than £0, not £0
    """

    budget: int
    floor_share: float = 0.2
    gradient: float = 1.0

    def __post_init__(self) -> None:
        if not self.budget > 0:
            raise InputError(f"must be more than £0, not £{self.budget:,}", argument="budget",
                             fix="give the whole pounds to share")
        if not 0 <= self.floor_share <= 1:
            raise InputError(f"must be between 0 and 1, not {self.floor_share}",
                             argument="floor_share", fix="e.g. 0.2 for a fifth")
        if not self.gradient >= 0:
            raise InputError(f"must be 0 or more, not {self.gradient}", argument="gradient",
                             fix="e.g. 1 (the most deprived get twice the rest per person)")


@dataclass(frozen=True)
class DeprivationOptions:
    """The indices to report deprivation by, and an optional allocation.

    Attributes
    ----------
    imd
        An :class:`~nbhd_geo.deprivation.imd.IMDTable`.
    layer
        The layer holding LSOAs of the indices' vintage.
    allocation
        Share a budget by deprivation (``allocation.csv``).
    """

    imd: Any
    layer: str = "lsoa"
    allocation: AllocationOptions | None = None


@dataclass(frozen=True)
class PopulationOptions:
    """Where people live: a finer population layer and how the page describes it.

    Attributes
    ----------
    weights
        OA polygons or address points with counts (``None``: the layers' own counts).
    column
        The count column of ``weights``.
    note
        Where the population came from, in words (shown on the board summary).

    Examples
    --------
    >>> PopulationOptions(note="Census 2021").note
    'Census 2021'
    """

    weights: gpd.GeoDataFrame | None = None
    column: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.weights is not None and not self.column:
            raise InputError("a population layer needs its count column", argument="column",
                             fix="name the column of counts, e.g. PopulationOptions(points, "
                                 "'count')")
        if self.weights is not None and self.column not in self.weights.columns:
            raise InputError(f"no column {self.column!r} in the population layer",
                             argument="column",
                             fix=f"choose from {[c for c in self.weights.columns]}")


@dataclass(frozen=True)
class DrawingOptions:
    """The drawings behind the areas: how they were read, their consensus, what to publish.

    Attributes
    ----------
    drawings
        The repaired drawings the areas came from (when the areas are consensus cores).
    consensus
        The :class:`~nbhd_geo.voices.consensus.Consensus` of ``drawings``: adds the "many
        voices" section (agreement maps, disputed ground, outlier list),
        ``consensus_summary.csv``, ``outliers.csv`` and layer ``consensus_zones``.
    read_report
        Per-feature read report(s) of the inputs, written as ``read_report.csv``.
    include_drawings
        Also write each individual drawing (layer ``drawings`` of ``layers.gpkg``) and the
        per-drawing ``outliers.csv``. Off by default: one row per drawing tells how many
        people drew each name, however the counts are suppressed elsewhere.

    Examples
    --------
    >>> DrawingOptions().include_drawings
    False
    """

    drawings: gpd.GeoDataFrame | None = None
    consensus: Any = None
    read_report: pd.DataFrame | None = None
    include_drawings: bool = False


@dataclass(frozen=True)
class LabelOptions:
    """How neighbourhoods and statutory units are named in the text and tables.

    Attributes
    ----------
    areas
        Column of the areas naming each one (default: the id).
    units
        Layer name -> column naming its units (default: a ``*NM``/``*_name`` column).
    """

    areas: str | None = None
    units: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PageOptions:
    """The page's title, opening paragraphs and what its text leads with.

    Attributes
    ----------
    title
        Page title.
    intro
        Paragraphs at the top of the board summary.
    extra_sections
        More sections (legacy :class:`~nbhd_geo.report.sections.base.Section`) in the appendix.
    primary
        The layer described in each paragraph's best-fit sentence (default: first).
    threshold
        Small-count threshold (default ``settings.small_count_threshold``).
    sample_data
        The inputs are the bundled fictional sample town (the footer says so).
    """

    title: str = "Neighbourhood overlap report"
    intro: Sequence[str] = ()
    extra_sections: Sequence[Any] = ()
    primary: str | None = None
    threshold: int | None = None
    sample_data: bool = False
