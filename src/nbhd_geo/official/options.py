"""How downloads behave: retries, limits and where data comes from, in two small dataclasses.

:class:`Limits` bounds every request a fetch makes, so that a busy, broken or hostile
server ends in a clear :class:`~nbhd_geo.official.errors.DataError` (exit status 2 on
the command line) instead of unbounded memory, disk or time:

=====================  ==============================================================
``retries``            attempts after the first, on connection errors, 429, 5xx and
                       ArcGIS error bodies sent with HTTP 200
``backoff``            first wait in seconds, doubled each time (``Retry-After`` wins)
``max_retry_time``     seconds one request may spend waiting between attempts in all
``timeout``            seconds of silence on a connection before it counts as failed
``max_bytes``          bytes received (on the wire) by one download or answer, and
                       the size of a downloaded file
``max_decompressed``   bytes after decoding (``Content-Encoding: gzip``, a zip member)
``max_json_bytes``     decoded bytes of one JSON answer (it is parsed in memory)
``max_pages``          pages of one ArcGIS query
``max_features``       features of one ArcGIS query
``max_seconds``        wall time of one download or one paged query
=====================  ==============================================================

:class:`FetchOptions` adds where data comes from and goes to (service roots, cache,
offline mode, accepted re-issues of published files) and the page size.

Examples
--------
>>> Limits(retries=2, backoff=0.01).retries
2
>>> Limits(max_pages=0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nbhd_geo.errors.InputError: max_pages: must be at least 1, not 0. Fix: ...
>>> FetchOptions(accept={"imd2025": "AB" * 32}).accept["imd2025"][:4]
'abab'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from os import PathLike
from typing import Any

from nbhd_geo.errors import InputError

__all__ = ["Limits", "FetchOptions", "MiB"]

MiB = 1 << 20
_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Limits:
    """Bounds on retries, bytes, pages, features and time for every request (see module)."""

    retries: int = 6
    backoff: float = 1.0
    max_retry_time: float = 180.0
    timeout: float = 60.0
    max_bytes: int = 1024 * MiB
    max_decompressed: int = 512 * MiB
    max_json_bytes: int = 128 * MiB
    max_pages: int = 2000
    max_features: int = 500_000
    max_seconds: float = 1800.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            least = 0 if f.name in ("retries", "backoff") else 1
            if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
                raise InputError(f"must be at least {least}, not {value!r}", argument=f.name,
                                 fix=f"pass a number >= {least} (default {f.default})")

    def replace(self, **changes: Any) -> Limits:
        """Return a copy with ``changes`` (validated again).

        Examples
        --------
        >>> Limits().replace(max_pages=5).max_pages
        5
        """
        return Limits(**({f.name: getattr(self, f.name) for f in fields(self)} | changes))


def _accept(value: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, digest in (value or {}).items():
        d = str(digest).strip().lower()
        if not _HEX.match(d):
            raise InputError(f"{d!r} is not a SHA-256 (64 hexadecimal digits)",
                             argument=f"accept[{key!r}]",
                             fix="copy the digest printed in the checksum message")
        out[str(key)] = d
    return out


@dataclass(frozen=True)
class FetchOptions:
    """Where data comes from and goes to, and the :class:`Limits` of every request.

    Attributes
    ----------
    base_url, static_base_url
        ArcGIS services root and static files root (default ``NBHD_GEO_ARCGIS_URL``,
        ``NBHD_GEO_STATIC_URL``, else the publishers').
    cache_dir
        Cache folder (default ``NBHD_GEO_DATA``, else ``~/.cache/nbhd_geo``).
    offline
        Use only verified cached files (default ``NBHD_GEO_OFFLINE``).
    accept
        ``{dataset key or URL: sha256}``: the bytes to accept for a published file,
        e.g. a re-issue whose digest a checksum error printed.
    progress
        Progress bars for downloads.
    page_size
        ``resultRecordCount`` per ArcGIS page (the server may cap it lower).
    limits
        See :class:`Limits`.
    """

    base_url: str | None = None
    static_base_url: str | None = None
    cache_dir: str | PathLike[str] | None = None
    offline: bool | None = None
    accept: Mapping[str, str] = field(default_factory=dict)
    progress: bool = True
    page_size: int = 2000
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "accept", _accept(self.accept))
        if isinstance(self.page_size, bool) or not isinstance(self.page_size, int) or \
                self.page_size < 1:
            raise InputError(f"must be a positive integer, not {self.page_size!r}",
                             argument="page_size", fix="pass e.g. page_size=2000")
        if not isinstance(self.limits, Limits):
            raise InputError("must be a nbhd_geo.official.Limits", argument="limits",
                             fix="pass limits=Limits(retries=..., max_bytes=...)")
