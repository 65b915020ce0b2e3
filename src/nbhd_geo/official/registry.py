"""Named datasets and their vintages, with a pinned fallback registry.

Two kinds of dataset:

* :class:`Product` — a family of ONS Open Geography Portal ArcGIS REST services, one
  per vintage. ONS has named them in two styles: the long one up to 2024
  (``Wards_December_2024_Boundaries_UK_BGC``) and a short one since 2025
  (``WD_MAY_2025_UK_BGC_V2``, ``LAD_DEC_2025_UK_BGC``); both are matched, case
  apart, with an optional ``_V<n>`` re-issue number (the highest wins). A name only
  makes a service a *candidate*: :class:`~nbhd_geo.official.ArcGISClient` confirms it
  by its fields and extent. ``pinned`` lists service names known to exist, used when
  the listing cannot be read.
* :class:`StaticFile` — a published file (gov.uk, NHS England, Nomis) with a fixed URL
  and, where the file never changes, a pinned SHA-256. Files without a stable URL
  (NHS monthly registrations) have ``url=None``: pass your own file or URL.

Base URLs are configurable: ``NBHD_GEO_ARCGIS_URL`` replaces the ArcGIS services root
and ``NBHD_GEO_STATIC_URL`` makes every static file come from ``<base>/<filename>``
(used by the tests to point everything at ``127.0.0.1``).

Examples
--------
>>> PRODUCTS["wards"].parse("WD_MAY_2025_UK_BGC_V2")
ServiceVersion(year=2025, month=5, version=2, name='WD_MAY_2025_UK_BGC_V2')
>>> PRODUCTS["wards"].parse("Wards_December_2024_Boundaries_UK_BGC").label
'December 2024'
>>> PRODUCTS["wards"].parse("WD_MAY_2025_UK_BSC") is None
True
>>> PRODUCTS["lsoa21_ward_lad"].parse("LSOA21_WD24_LAD24_EW_LU").year
2024
>>> PRODUCTS["wards"].field("code", 2024)
'WD24CD'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from nbhd_geo.official.cache import Known

__all__ = [
    "ARCGIS_URL",
    "OGL",
    "Product",
    "ServiceVersion",
    "StaticFile",
    "PRODUCTS",
    "STATIC",
    "arcgis_url",
    "static_url",
    "list_datasets",
]

#: ONS Open Geography Portal: the ArcGIS Online organisation that hosts its services.
ARCGIS_URL = "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"

#: Open Government Licence v3.0.
OGL = "Open Government Licence v3.0 (https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/)"
_ONS_ATTR = ("Source: Office for National Statistics licensed under the Open Government "
             "Licence v.3.0. Contains OS data © Crown copyright and database right {year}")
_ONS_LU_ATTR = ("Source: Office for National Statistics licensed under the Open Government "
                "Licence v.3.0")

_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]
_MONTHS = {m.lower(): i for i, m in enumerate(_MONTH_NAMES, start=1)} | {
    m[:3].lower(): i for i, m in enumerate(_MONTH_NAMES, start=1)}


@dataclass(frozen=True, order=True)
class ServiceVersion:
    """One service of a product, with the vintage read from its name.

    Ordered by (year, month, version): the largest is the newest.
    """

    year: int
    month: int
    version: int
    name: str = field(compare=False)

    @property
    def yy(self) -> str:
        """Two-digit year, as in ONS field names (``WD24CD``)."""
        return f"{self.year % 100:02d}"

    @property
    def label(self) -> str:
        """Human-readable vintage, e.g. ``"May 2025"``."""
        if 1 <= self.month <= 12:
            return f"{_MONTH_NAMES[self.month - 1]} {self.year}"
        return str(self.year)


@dataclass(frozen=True)
class Product:
    """A family of ONS ArcGIS services, one per vintage.

    Attributes
    ----------
    key
        Short name (``"wards"``).
    title
        What it is.
    patterns
        Regular expressions matching the service names (case-insensitive, whole
        name); groups ``year`` (2 or 4 digits), optional ``month`` and ``ver``.
    fields
        Role -> field name template, ``{yy}`` standing for the two-digit year
        (``{"code": "WD{yy}CD", "name": "WD{yy}NM"}``). The roles in ``required``
        must be fields of a service for it to be used.
    geometry
        False for lookup tables.
    pinned
        Known service names (fallback when the directory listing cannot be read).
    geography
        The geography the rows are (``"LSOA21"``, ``"WD"``...).
    landing
        The Open Geography Portal page a person can check.
    """

    key: str
    title: str
    patterns: tuple[str, ...]
    fields: dict[str, str]
    geometry: bool
    pinned: tuple[str, ...]
    geography: str
    landing: str = "https://geoportal.statistics.gov.uk/"
    layer: int = 0
    required: tuple[str, ...] = ("code",)

    def parse(self, name: str) -> ServiceVersion | None:
        """Return the vintage of service ``name``, or None when it is not of this product."""
        for pattern in self.patterns:
            m = re.fullmatch(pattern, name, flags=re.IGNORECASE)
            if m:
                break
        else:
            return None
        groups = m.groupdict()
        year = int(groups["year"])
        year = year + 2000 if year < 100 else year
        month = _MONTHS.get((groups.get("month") or "").lower(), 0)
        ver = int(groups.get("ver") or 0)
        return ServiceVersion(year, month, ver, name)

    def field(self, role: str, year: int) -> str:
        """Field name for ``role`` in the service of ``year``."""
        return self.fields[role].format(yy=f"{year % 100:02d}")

    @property
    def licence(self) -> str:
        """Licence of every ONS product."""
        return OGL

    def attribution(self, year: int) -> str:
        """Return the attribution statement to print with the data."""
        return (_ONS_ATTR if self.geometry else _ONS_LU_ATTR).format(year=year)


@dataclass(frozen=True)
class StaticFile:
    """A published file with a fixed URL (or none, for files to be supplied by the user).

    Attributes
    ----------
    key, title
        Short name and description.
    url
        Default address; None when the publisher has no stable URL.
    filename
        Name under ``NBHD_GEO_STATIC_URL`` and in the cache.
    known
        The published versions (:class:`~nbhd_geo.official.cache.Known`: SHA-256 and
        size) the project has checked; other bytes are refused with the fix. Empty
        when no copy could be checked: the first digest downloaded is then pinned in
        the cache (``pins.json``) and a different one later is refused until accepted
        (``--accept KEY=SHA256``).
    alternates
        Other addresses the same file is published at (tried when the first is gone).
    vintage, geography
        E.g. ``"IoD2025"`` on ``"LSOA21"``.
    landing, publisher, attribution
        Where a person finds it, who publishes it, what to print with it.
    """

    key: str
    title: str
    url: str | None
    filename: str
    vintage: str
    geography: str
    landing: str
    publisher: str
    attribution: str
    known: tuple[Known, ...] = ()
    alternates: tuple[str, ...] = ()
    licence: str = OGL


_M = r"(?:(?P<month>January|April|May|July|December)_)?"
_MS = r"(?:(?P<month>JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)_)?"
_V = r"(?:_[vV](?P<ver>\d+))?"


def _bnd(key: str, title: str, stems: tuple[str, str], code: str, name: str,
         pinned: tuple[str, ...], geography: str, *, res: str = "BGC",
         area: str = "UK") -> Product:
    long_area = {"UK": "_Boundaries_UK_", "EW": "_Boundaries_EW_",
                 "EN": "_(?:Boundaries_)?EN_"}[area]
    return Product(key, title, (rf"{stems[0]}_{_M}(?P<year>20\d\d){long_area}{res}{_V}",
                                rf"{stems[1]}_{_MS}(?P<year>20\d\d)_{area}_{res}{_V}"),
                   {"code": code, "name": name}, True, pinned, geography)


# Pinned names are services known to exist on the ONS portal (checked against public code
# that queries them); the newest are in the short style ONS adopted in 2025.
_WARDS_FULL = ("WD_DEC_2025_UK_BFC", "WD_MAY_2025_UK_BFC", "Wards_December_2024_Boundaries_UK_BFC")
_LADS_FULL = ("LAD_MAY_2025_UK_BFC_V2", "Local_Authority_Districts_December_2024_Boundaries_UK_BFC")
_WARDS = ("WD_DEC_2025_UK_BGC", "WD_MAY_2025_UK_BGC_V2",
          "Wards_December_2024_Boundaries_UK_BGC", "Wards_May_2024_Boundaries_UK_BGC",
          "Wards_December_2023_Boundaries_UK_BGC", "Wards_December_2022_Boundaries_UK_BGC")
_LADS = ("LAD_DEC_2025_UK_BGC", "LAD_MAY_2025_UK_BGC_V2",
         "Local_Authority_Districts_December_2024_Boundaries_UK_BGC",
         "Local_Authority_Districts_May_2024_Boundaries_UK_BGC")
_LOOKUP_FIELDS = {"lsoa": "LSOA21CD", "lsoa_name": "LSOA21NM", "ward": "WD{yy}CD",
                  "ward_name": "WD{yy}NM", "lad": "LAD{yy}CD", "lad_name": "LAD{yy}NM"}

PRODUCTS: dict[str, Product] = {p.key: p for p in [
    Product("oa21", "Output Areas (2021) boundaries, generalised (20 m) clipped",
            (rf"Output_Areas_{_M}(?P<year>2021)_(?:Boundaries_)?EW_BGC{_V}",
             rf"OA_{_MS}(?P<year>2021)_EW_BGC{_V}"),
            {"code": "OA21CD"}, True, ("Output_Areas_2021_EW_BGC_V2",), "OA21"),
    Product("oa21_full", "Output Areas (2021) boundaries, full resolution clipped",
            (rf"Output_Areas_{_M}(?P<year>2021)_(?:Boundaries_)?EW_BFC{_V}",
             rf"OA_{_MS}(?P<year>2021)_EW_BFC{_V}"),
            {"code": "OA21CD"}, True, ("Output_Areas_2021_EW_BFC_V8",), "OA21"),
    _bnd("lsoa21", "Lower layer Super Output Areas (2021) boundaries, generalised clipped",
         ("Lower_layer_Super_Output_Areas", "LSOA"), "LSOA21CD", "LSOA21NM",
         ("Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5",), "LSOA21",
         area="EW"),
    _bnd("lsoa21_full", "Lower layer Super Output Areas (2021) boundaries, full resolution",
         ("Lower_layer_Super_Output_Areas", "LSOA"), "LSOA21CD", "LSOA21NM",
         ("Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BFC_V10",), "LSOA21",
         res="BFC", area="EW"),
    _bnd("msoa21", "Middle layer Super Output Areas (2021) boundaries, generalised clipped",
         ("Middle_layer_Super_Output_Areas", "MSOA"), "MSOA21CD", "MSOA21NM",
         ("Middle_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V3",), "MSOA21",
         area="EW"),
    _bnd("msoa21_full", "Middle layer Super Output Areas (2021) boundaries, full resolution",
         ("Middle_layer_Super_Output_Areas", "MSOA"), "MSOA21CD", "MSOA21NM",
         ("Middle_layer_Super_Output_Areas_December_2021_Boundaries_EW_BFC_V7",), "MSOA21",
         res="BFC", area="EW"),
    _bnd("wards", "Electoral wards boundaries, generalised clipped (each vintage from 2022)",
         ("Wards", "WD"), "WD{yy}CD", "WD{yy}NM", _WARDS, "WD"),
    _bnd("wards_full", "Electoral wards boundaries, full resolution clipped",
         ("Wards", "WD"), "WD{yy}CD", "WD{yy}NM",
         _WARDS_FULL, "WD", res="BFC"),
    _bnd("lad", "Local Authority Districts boundaries, generalised clipped",
         ("Local_Authority_Districts", "LAD"), "LAD{yy}CD", "LAD{yy}NM", _LADS, "LAD"),
    _bnd("lad_full", "Local Authority Districts boundaries, full resolution clipped",
         ("Local_Authority_Districts", "LAD"), "LAD{yy}CD", "LAD{yy}NM",
         _LADS_FULL, "LAD", res="BFC"),
    _bnd("icb", "Integrated Care Boards boundaries, generalised clipped",
         ("Integrated_Care_Boards", "ICB"), "ICB{yy}CD", "ICB{yy}NM",
         ("Integrated_Care_Boards_April_2023_EN_BGC",), "ICB", area="EN"),
    _bnd("sicbl", "Sub Integrated Care Board Locations boundaries, generalised clipped",
         ("Sub_ICB_Locations", "SICBL"), "SICBL{yy}CD", "SICBL{yy}NM",
         ("Sub_ICB_Locations_April_2023_EN_BGC",), "SICBL", area="EN"),
    Product("lsoa21_ward_lad", "Lookup LSOA (2021) -> electoral ward -> LAD (best fit)",
            (rf"LSOA21_WD(?P<year>\d\d)_LAD(?P=year)_EW_LU{_V}",),
            _LOOKUP_FIELDS, False, ("LSOA21_WD25_LAD25_EW_LU_v2", "LSOA21_WD24_LAD24_EW_LU"),
            "LSOA21", required=("lsoa", "ward", "lad")),
    Product("lsoa21_icb", "Lookup LSOA (2021) -> sub-ICB location -> ICB -> LAD",
            (rf"LSOA21_SICBL(?P<year>\d\d)_ICB(?P=year)_LAD(?P=year)_EN_LU{_V}",),
            {"lsoa": "LSOA21CD", "sicbl": "SICBL{yy}CD", "sicbl_name": "SICBL{yy}NM",
             "icb": "ICB{yy}CD", "icb_name": "ICB{yy}NM", "lad": "LAD{yy}CD"},
            False, ("LSOA21_SICBL23_ICB23_LAD23_EN_LU",), "LSOA21",
            required=("lsoa", "icb")),
    Product("lsoa11_lsoa21", "Lookup LSOA (2011) -> LSOA (2021) -> LAD (2022), exact fit",
            (rf"LSOA11_LSOA21_LAD(?P<year>22)_EW_LU{_V}",),
            {"lsoa11": "LSOA11CD", "lsoa21": "LSOA21CD", "change": "CHGIND",
             "lad": "LAD22CD"},
            False, ("LSOA11_LSOA21_LAD22_EW_LU_v5",), "LSOA11",
            required=("lsoa11", "lsoa21", "change")),
]}

_GOVUK = "https://assets.publishing.service.gov.uk"
_IOD_ATTR = ("Ministry of Housing, Communities and Local Government, English Indices of "
             "Deprivation {y}, licensed under the Open Government Licence v3.0")

STATIC: dict[str, StaticFile] = {s.key: s for s in [
    StaticFile(
        "imd2025", "English Indices of Deprivation 2025, File 7: all ranks, scores, deciles "
        "and population denominators by LSOA (2021)",
        f"{_GOVUK}/media/68ff5daabcb10f6bf9bef911/"
        "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",
        "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",
        "IoD2025", "LSOA21",
        "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2025",
        "MHCLG", _IOD_ATTR.format(y=2025),
        # Public code downloads File 7 from two gov.uk media addresses; the second is
        # tried when the first is gone. Their digests could not be checked when this
        # was written (no network), so the first copy fetched is pinned in the cache.
        alternates=(f"{_GOVUK}/media/691ded56d140bbbaa59a2a7d/"
                    "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv",)),
    StaticFile(
        "imd2019", "English Indices of Deprivation 2019, File 7: all ranks, scores, deciles "
        "and population denominators by LSOA (2011)",
        f"{_GOVUK}/government/uploads/system/uploads/attachment_data/file/845345/"
        "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv",
        "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv",
        "IoD2019", "LSOA11",
        "https://www.gov.uk/government/statistics/english-indices-of-deprivation-2019",
        "MHCLG", _IOD_ATTR.format(y=2019)),
    StaticFile(
        "census2021_ts001", "Census 2021 TS001 usual residents (bulk: OA, LSOA, MSOA, LAD)",
        "https://www.nomisweb.co.uk/output/census/2021/census2021-ts001.zip",
        "census2021-ts001.zip", "Census2021", "LSOA21",
        "https://www.nomisweb.co.uk/sources/census_2021_bulk", "ONS (via Nomis)",
        "Source: Office for National Statistics, Census 2021 (TS001), licensed under the "
        "Open Government Licence v3.0"),
    StaticFile(
        "gp_registrations", "Patients registered at a GP practice, by practice and LSOA "
        "(NHS England, quarterly zip gp-reg-pat-prac-lsoa-male-female-<Mon>-<YY>.zip with "
        "all/male/female CSVs, the 'all' one is read; LSOA 2011 codes before 2023, LSOA "
        "2021 after)",
        None, "gp-reg-pat-prac-lsoa-all.csv", "quarterly", "LSOA21",
        "https://digital.nhs.uk/data-and-information/publications/statistical/"
        "patients-registered-at-a-gp-practice", "NHS England",
        "NHS England, Patients Registered at a GP Practice, licensed under the Open "
        "Government Licence v3.0"),
    StaticFile(
        "epcn", "ODS ePCN: practices -> Primary Care Networks (current)",
        "https://digital.nhs.uk/binaries/content/assets/website-assets/services/ods/"
        "data-downloads-other-nhs-organisations/epcn.zip", "ePCN.zip", "current",
        "practice",
        "https://digital.nhs.uk/services/organisation-data-service/export-data-files/"
        "csv-downloads/gp-and-gp-practice-related-data", "NHS England (ODS)",
        "NHS England Organisation Data Service, licensed under the Open Government "
        "Licence v3.0"),
    StaticFile(
        "epraccur", "ODS epraccur: GP practices with postcodes and status (current)",
        "https://files.digital.nhs.uk/assets/ods/current/epraccur.zip", "epraccur.zip",
        "current", "practice",
        "https://digital.nhs.uk/services/organisation-data-service/export-data-files/"
        "csv-downloads/gp-and-gp-practice-related-data", "NHS England (ODS)",
        "NHS England Organisation Data Service, licensed under the Open Government "
        "Licence v3.0"),
]}


def arcgis_url(base_url: str | None = None) -> str:
    """ArcGIS services root: ``base_url``, else ``NBHD_GEO_ARCGIS_URL``, else ONS's.

    Examples
    --------
    >>> arcgis_url("http://127.0.0.1:8000/arcgis/rest/services/")
    'http://127.0.0.1:8000/arcgis/rest/services'
    """
    return (base_url or os.environ.get("NBHD_GEO_ARCGIS_URL") or ARCGIS_URL).rstrip("/")


def static_url(item: StaticFile, base_url: str | None = None) -> str | None:
    """Where to download ``item``: ``<base>/<filename>`` when a base is set, else its URL.

    The base is ``base_url``, else ``NBHD_GEO_STATIC_URL``.

    Examples
    --------
    >>> static_url(STATIC["imd2025"], "http://127.0.0.1:1/static")  # doctest: +ELLIPSIS
    'http://127.0.0.1:1/static/File_7_IoD2025_All_...csv'
    """
    base = base_url or os.environ.get("NBHD_GEO_STATIC_URL")
    if base:
        return f"{base.rstrip('/')}/{item.filename}"
    return item.url


def list_datasets(kind: Literal["all", "arcgis", "static"] = "all") -> pd.DataFrame:
    """Every named dataset: key, kind, title, vintage(s), licence and the request it makes.

    Examples
    --------
    >>> t = list_datasets()
    >>> {"wards", "lsoa21", "imd2025", "census2021_ts001"} <= set(t["key"])
    True
    """
    rows = []
    if kind in ("all", "arcgis"):
        for p in PRODUCTS.values():
            rows.append({
                "key": p.key, "kind": "arcgis", "title": p.title,
                "vintages": ", ".join(v.label for v in sorted(
                    (v for v in map(p.parse, p.pinned) if v is not None), reverse=True)),
                "request": f"{ARCGIS_URL}/<newest {p.key} service>/FeatureServer/{p.layer}"
                           "/query?where=...&outFields=*&outSR=27700&f=json",
                "licence": OGL, "publisher": "ONS Open Geography Portal",
            })
    if kind in ("all", "static"):
        for s in STATIC.values():
            rows.append({
                "key": s.key, "kind": "static", "title": s.title, "vintages": s.vintage,
                "request": f"GET {s.url}" if s.url else f"(your file; see {s.landing})",
                "licence": s.licence, "publisher": s.publisher,
            })
    return pd.DataFrame(rows)
