"""The report's facts: what the page says, computed once as plain data.

Nothing here writes HTML. :mod:`~nbhd_geo.report.facts.table` holds the one table of
printed figures (``board_facts.csv``); :mod:`~nbhd_geo.report.facts.page` the planner
page's data per neighbourhood and layer; :mod:`~nbhd_geo.report.facts.deprivation`,
:mod:`~nbhd_geo.report.facts.study_area` and :mod:`~nbhd_geo.report.facts.heard` the
figures of their sections; :mod:`~nbhd_geo.report.facts.wording` how a number is printed;
:mod:`~nbhd_geo.report.facts.report` (:class:`~nbhd_geo.report.facts.report.ReportFacts`)
what every section reads.
"""

from __future__ import annotations

from nbhd_geo.report.facts.table import Fact, Facts, is_missing, people_step, round_parts

__all__ = ["Fact", "Facts", "is_missing", "people_step", "round_parts"]
