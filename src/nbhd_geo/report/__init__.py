"""The overlap report planners read, built on :mod:`nbhd_geo.reconcile`: sections, page, PDF.

The top of the library: it may import every analysis package; only :mod:`nbhd_geo.cli` imports it.
"""

from __future__ import annotations

from nbhd_geo.report.demo import (
    run_demo,
)
from nbhd_geo.report.overlap import (
    OverlapReport,
    overlap_report,
)
from nbhd_geo.report.page.html import (
    neighbourhood_paragraph,
    render_report,
)
from nbhd_geo.report.sections.base import (
    Section,
    SectionResult,
    figure_to_data_uri,
    table_html,
)
from nbhd_geo.report.sections.consensus import consensus_section
from nbhd_geo.report.sections.deprivation import deprivation_section

__all__ = [
    "Section",
    "figure_to_data_uri",
    "neighbourhood_paragraph",
    "render_report",
    "table_html",
    "map_overlap",
    "map_layers",
    "map_choropleth",
    "save_show",
    "plot_consensus",
    "SectionResult",
    "consensus_section",
    "deprivation_section",
    "OverlapReport",
    "overlap_report",
    "run_demo",
]

_LAZY = {"map_choropleth": "maps.plot", "map_layers": "maps.plot", "map_overlap": "maps.plot",
         "save_show": "maps.plot", "plot_consensus": "maps.plot_consensus"}


def __getattr__(name: str) -> object:
    """Import the matplotlib map helpers only when used (keeps the CLI fast to start)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"nbhd_geo.report.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'nbhd_geo.report' has no attribute {name!r}")
