"""The terms the planner's page may use beyond plain English, each explained once.

:data:`GLOSSARY` is printed as the page's glossary; :data:`SHORT_FORMS` are the
abbreviations, units and file kinds the page prints. A test reads every visible word of
a report and fails on one that is neither plain English (a dictionary word), nor here,
nor a place name, and on any of :data:`AVOID`.
"""

from __future__ import annotations

__all__ = ["AVOID", "GLOSSARY", "SHORT_FORMS"]

GLOSSARY: dict[str, str] = {
    "LSOA": "Lower layer Super Output Area: a census area of about 1,500 residents.",
    "MSOA": "Middle layer Super Output Area: a census area of about 8,000 residents.",
    "OA": "Output Area: the smallest census area, about 300 residents.",
    "Ward": "An electoral area of the council; each elects councillors.",
    "PCN": "Primary Care Network: GP practices working together; its footprint is where "
           "its patients live.",
    "Study area": "The district (or area) the report is about; statutory units mostly "
                  "outside it are left out.",
    "Main unit": "The statutory unit holding the largest share of a neighbourhood.",
    "Split": "The share of a neighbourhood outside its main unit: 0 % when it lies inside "
             "one unit.",
    "Area match": "How well the best set of whole units matches the neighbourhood: the area "
                  "both cover as a share of the area either covers.",
    "Edges within 50 m": "How much of the drawn edge and the edge of that set of units lie "
                         "within 50 m of each other.",
    "IMD decile": "Index of Multiple Deprivation (IMD), from the English Indices of "
                  "Deprivation (IoD) of the Ministry of Housing, Communities and Local "
                  "Government (MHCLG): national tenths of England's LSOAs, 1 = the most "
                  "deprived 10 %.",
    "Allocation": "Money shared so that every neighbourhood gets something, and more per "
                  "person where deprivation is greater.",
}

SHORT_FORMS: frozenset[str] = frozenset({
    "LSOA", "LSOAs", "MSOA", "MSOAs", "OA", "OAs", "PCN", "PCNs", "IMD", "IoD", "MHCLG",
    "GP", "NHS", "ONS", "EPSG", "ha", "km", "csv", "gpkg", "json", "pdf", "nbhd", "geo", "qgs",
    "decile", "deciles", "Decile", "Deciles", "IoD2019", "IoD2025",
})

AVOID: tuple[str, ...] = (
    "overlap score", "intersection over union", "proportionate universalism",
    "used exactly as drawn", "whole-unit set", "× its area", "sliver", "stand-in",
    "stands in", "1 of them lie ", "Boundary within 50 m", "Extra area included",
    "Sorting a \"",
)
