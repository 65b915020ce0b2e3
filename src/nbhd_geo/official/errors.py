"""Errors raised while fetching official data.

Every class derives from :class:`nbhd_geo.errors.NbhdGeoError`, so the command line
prints them as one message (argument, problem, fix) with exit status 2. Each names the
URL at fault and what to do about it.

Examples
--------
>>> from nbhd_geo.official.errors import OfflineError
>>> err = OfflineError("not in the cache", argument="https://example.org/a.csv",
...                    fix="run once with network access")
>>> isinstance(err, ValueError), str(err)
(True, 'https://example.org/a.csv: not in the cache. Fix: run once with network access.')
"""

from __future__ import annotations

from nbhd_geo.errors import NbhdGeoError

__all__ = [
    "DataError",
    "DownloadError",
    "OfflineError",
    "ChecksumError",
    "ServiceError",
    "ServiceNotFoundError",
    "CountMismatchError",
    "LimitError",
]


class DataError(NbhdGeoError):
    """Base class of the errors of :mod:`nbhd_geo.official`."""


class DownloadError(DataError):
    """A download failed (HTTP error, connection refused, truncated body, retries spent)."""


class LimitError(DownloadError):
    """A download passed one of its :class:`~nbhd_geo.official.Limits` (bytes, time, pages).

    Never retried: the same server would send the same thing again.
    """


class OfflineError(DataError):
    """Offline mode is on and the file or response is not in the cache."""


class ChecksumError(DataError):
    """A downloaded file does not match its pinned SHA-256."""


class ServiceError(DataError):
    """An ArcGIS REST service answered with an error body (``{"error": {...}}``)."""


class ServiceNotFoundError(DataError):
    """No service of a product (or of the vintage asked for) could be found."""


class CountMismatchError(DataError):
    """Paged results do not add up to the count the server reports (``returnCountOnly``)."""
