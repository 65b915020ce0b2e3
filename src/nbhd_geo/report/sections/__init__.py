"""The sections of the report page, one module each, all of one shape.

Each module has ``build(facts: ReportFacts) -> SectionOutput``
(:class:`~nbhd_geo.report.sections.base.ReportSection`): it reads the facts
(:mod:`nbhd_geo.report.facts`), writes the tables it publishes, and returns its HTML
fragment (from its template in ``templates/``) and any map layers.

In page order: :mod:`~nbhd_geo.report.sections.board` (board summary),
:mod:`~nbhd_geo.report.sections.index` (every neighbourhood), the map (the page's own,
:mod:`nbhd_geo.report.page.map`), :mod:`~nbhd_geo.report.sections.voices` (who was heard,
councillors' view), :mod:`~nbhd_geo.report.sections.plan` (proposed footprints),
:mod:`~nbhd_geo.report.sections.details` (neighbourhood by neighbourhood) and
:mod:`~nbhd_geo.report.sections.appendix` (methods and checks, with the
:mod:`~nbhd_geo.report.sections.consensus` fragment and the
:mod:`~nbhd_geo.report.sections.glossary`). :mod:`~nbhd_geo.report.sections.deprivation` is
the matplotlib report's deprivation section.
"""
