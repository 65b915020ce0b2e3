"""Maps for the report: the web map's GeoJSON and SVG outlines, and matplotlib maps.

Drawing only: each function takes geometries and values and returns a layer, an SVG or a
figure. The sections (:mod:`nbhd_geo.report.sections`) decide what to draw.
"""
