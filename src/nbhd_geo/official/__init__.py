"""Official data in one call: ONS boundaries and lookups, IMD, census population, GP data.

* :func:`fetch_geography` — every layer a report needs for one district, written to one
  GeoPackage; :func:`read_geography` reads it back.
* :class:`ArcGISClient` — the ONS Open Geography Portal (services discovery with a
  pinned fallback, server-side filters, EPSG:27700, paging checked against the count).
* :func:`fetch_static` / :func:`fetch_file` — published files through one cache
  (``NBHD_GEO_DATA``), with checksums, retries, resumable downloads and offline mode
  (``NBHD_GEO_OFFLINE=1``).
* :func:`list_datasets` — every named dataset, its vintages, licence and request.

Examples
--------
>>> from nbhd_geo import official as data
>>> "wards" in set(data.list_datasets()["key"])
True
"""

from __future__ import annotations

from nbhd_geo.official.arcgis import ArcGISClient, Service
from nbhd_geo.official.cache import cache_dir, fetch_file, is_offline
from nbhd_geo.official.errors import (
    ChecksumError,
    CountMismatchError,
    DataError,
    DownloadError,
    OfflineError,
    ServiceError,
    ServiceNotFoundError,
)
from nbhd_geo.official.geography import (
    Geography,
    check_vintages,
    fetch_geography,
    read_geography,
    write_geography,
)
from nbhd_geo.official.registry import PRODUCTS, STATIC, list_datasets
from nbhd_geo.official.static import fetch_static, read_census_population

__all__ = [
    "ArcGISClient",
    "Service",
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
