"""What every section of the page reads: :class:`ReportFacts`.

The page's facts (:class:`~nbhd_geo.report.facts.page.PlannerPage`) with the inputs the
report was given and the folder its tables go to. A section
(:class:`~nbhd_geo.report.sections.base.ReportSection`) takes one and returns its HTML
fragment and the tables it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from nbhd_geo.reconcile import LayerSpec
from nbhd_geo.report.facts.page import PlannerPage, index_rows
from nbhd_geo.report.options import DeprivationOptions, DrawingOptions, PopulationOptions

__all__ = ["ReportFacts"]


@dataclass
class ReportFacts:
    """The facts a section reads.

    Attributes
    ----------
    page
        The page's facts: neighbourhoods, layers, people, deprivation, texts.
    out
        The folder the report is written to (a section writes its tables here).
    layers
        The statutory layers with their populations.
    crosswalks
        Layer name -> the report's crosswalk of the areas with that layer (reused).
    drawings
        The drawings, their consensus and read report.
    population
        The finer population layer, if any.
    deprivation
        The indices and their LSOA layer, if given.
    primary
        The layer the page leads with.
    propose
        ``(min, max)`` people per proposed footprint, or ``None``.
    sections
        What the sections run so far gave (their fragments, tables and map layers).
    files
        Names of every file of the report (listed in the appendix).
    """

    page: PlannerPage
    out: Path
    layers: Sequence[LayerSpec] = ()
    crosswalks: Mapping[str, Any] = field(default_factory=dict)
    drawings: DrawingOptions = field(default_factory=DrawingOptions)
    population: PopulationOptions = field(default_factory=PopulationOptions)
    deprivation: DeprivationOptions | None = None
    primary: str | None = None
    propose: tuple[float, float] | None = None
    sections: list[Any] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        """One row per neighbourhood (:func:`~nbhd_geo.report.facts.page.index_rows`)."""
        return index_rows(self.page)

    @property
    def imd(self) -> Any:
        """The indices of deprivation, or ``None``."""
        return self.deprivation.imd if self.deprivation is not None else None

    @property
    def imd_layer(self) -> str:
        """The layer holding the indices' LSOAs."""
        return self.deprivation.layer if self.deprivation is not None else "lsoa"
