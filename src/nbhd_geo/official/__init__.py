"""Official data in one call: ONS boundaries and lookups, IMD, census population, GP data.

* :func:`fetch_geography` — every layer a report needs for one district, written to one
  GeoPackage; :func:`read_geography` reads it back.
* :class:`ArcGISClient` — the ONS Open Geography Portal (services discovery with a
  pinned fallback, server-side filters, EPSG:27700, paging checked against the count).
* :func:`fetch_static` / :func:`fetch_file` — published files through one cache
  (``NBHD_GEO_DATA``) holding only verified files (complete, not an error page, known
  or first-pinned SHA-256), with bounded retries, resumable downloads and offline mode
  (``NBHD_GEO_OFFLINE=1``).
* :class:`FetchOptions` / :class:`Limits` — service roots, cache, accepted re-issues,
  and the bounds (retries, bytes, pages, features, time) of every request.
* :func:`check_sources` — what resolves today (``nbhd-geo fetch --check``).
* :func:`list_datasets` — every named dataset, its vintages, licence and request.

Examples
--------
>>> from nbhd_geo import official as data
>>> "wards" in set(data.list_datasets()["key"])
True
"""

from __future__ import annotations

from nbhd_geo.official.arcgis import ArcGISClient, Service
from nbhd_geo.official.bundle import Geography, check_vintages, read_geography, write_geography
from nbhd_geo.official.cache import Known, cache_dir, fetch_file, is_offline, verify_file
from nbhd_geo.official.check import check_sources
from nbhd_geo.official.errors import (
    ChecksumError,
    CountMismatchError,
    DataError,
    DownloadError,
    LimitError,
    OfflineError,
    ServiceError,
    ServiceNotFoundError,
)
from nbhd_geo.official.geography import choose_vintage, fetch_geography
from nbhd_geo.official.options import FetchOptions, Limits
from nbhd_geo.official.registry import PRODUCTS, STATIC, list_datasets
from nbhd_geo.official.static import fetch_static, read_census_population

__all__ = [
    "ArcGISClient",
    "Service",
    "FetchOptions",
    "Limits",
    "Known",
    "check_sources",
    "choose_vintage",
    "verify_file",
    "LimitError",
    "Geography",
    "fetch_geography",
    "read_geography",
    "write_geography",
    "check_vintages",
    "fetch_static",
    "fetch_file",
    "read_census_population",
    "list_datasets",
    "cache_dir",
    "is_offline",
    "PRODUCTS",
    "STATIC",
    "DataError",
    "DownloadError",
    "OfflineError",
    "ChecksumError",
    "ServiceError",
    "ServiceNotFoundError",
    "CountMismatchError",
]
