"""The page: assemble the sections into ``index.html`` (templates, assets) and print the PDF.

:func:`~nbhd_geo.report.page.assemble.write_page` runs the page's sections on the facts
and renders ``templates/planner.html.j2``; :mod:`~nbhd_geo.report.page.pdf` prints it
with headless Chromium; :mod:`~nbhd_geo.report.page.html` is the matplotlib report
(:func:`~nbhd_geo.report.page.html.render_report`).
"""
