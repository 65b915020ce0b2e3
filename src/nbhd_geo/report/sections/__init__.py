"""The sections of the report page, one module each.

Each section reads the facts (:mod:`nbhd_geo.report.facts`) and returns what the page
shows and the tables it wrote (:mod:`~nbhd_geo.report.sections.base`).
"""
