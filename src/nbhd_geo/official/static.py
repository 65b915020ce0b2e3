"""Published static files (gov.uk, Nomis, NHS England) by name, and their readers.

Examples
--------
>>> import tempfile
>>> fetch_static("imd2025", base_url="http://127.0.0.1:9/static", offline=True,
...              cache_dir=tempfile.mkdtemp())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nbhd_geo.official.errors.OfflineError: http://127.0.0.1:9/static/File_7_IoD2025_...: offline ...
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import pandas as pd

from nbhd_geo.errors import ColumnError, InputError
from nbhd_geo.official.cache import fetch_file
from nbhd_geo.official.errors import DataError
from nbhd_geo.official.registry import STATIC, static_url

__all__ = ["fetch_static", "resolve_source", "read_census_population"]

_URL = re.compile(r"^https?://", re.IGNORECASE)


def fetch_static(
    key: str,
    *,
    base_url: str | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    sha256: str | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool = True,
    retries: int = 4,
    backoff: float = 0.5,
) -> Path:
    """Download (once) the static dataset ``key`` and return its cached path.

    Parameters
    ----------
    key
        A key of :data:`~nbhd_geo.official.registry.STATIC` (``"imd2025"``...).
    base_url
        Fetch ``<base_url>/<filename>`` instead of the publisher's URL (default
        ``NBHD_GEO_STATIC_URL``).
    sha256, checksums
        A digest to require, or a mapping key -> digest; default the pinned one.
    cache_dir, offline, progress, retries, backoff
        As :func:`nbhd_geo.official.cache.fetch_file`.

    Raises
    ------
    DataError
        Unknown key, or a dataset without a stable URL (pass your own file).
    """
    if key not in STATIC:
        raise DataError(f"unknown dataset {key!r}", argument="dataset",
                        fix=f"choose one of {sorted(STATIC)} (nbhd-geo fetch --list)")
    item = STATIC[key]
    url = static_url(item, base_url)
    if url is None:
        raise DataError(
            f"{item.title} has no stable download address",
            argument=key,
            fix=f"download it from {item.landing} and pass its path (or URL)",
        )
    digest = sha256 or (checksums or {}).get(key) or item.sha256
    return fetch_file(url, filename=item.filename, sha256=digest, cache_dir=cache_dir,
                      offline=offline, progress=progress, retries=retries, backoff=backoff)


def resolve_source(
    source: str | PathLike[str],
    *,
    argument: str,
    base_url: str | None = None,
    cache_dir: str | PathLike[str] | None = None,
    offline: bool | None = None,
    checksums: Mapping[str, str] | None = None,
    progress: bool = True,
    retries: int = 4,
    backoff: float = 0.5,
) -> Path:
    r"""Turn a dataset key, a URL or a local path into a local path.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv"); _ = open(p, "w").write("x\\n")
    >>> resolve_source(p, argument="imd") == Path(p)
    True
    """
    text = str(source)
    if text in STATIC:
        return fetch_static(text, base_url=base_url, cache_dir=cache_dir, offline=offline,
                            checksums=checksums, progress=progress, retries=retries,
                            backoff=backoff)
    if _URL.match(text):
        return fetch_file(text, cache_dir=cache_dir, offline=offline, progress=progress,
                          retries=retries, backoff=backoff)
    path = Path(text).expanduser()
    if not path.exists():
        raise InputError(f"{text!r} is neither a dataset name, a URL nor an existing file",
                         argument=argument,
                         fix=f"pass a path, an http(s) URL or one of {sorted(STATIC)}")
    return path


def _census_frame(path: Path) -> pd.DataFrame:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
            pick = [n for n in names if "lsoa" in Path(n).name.lower()]
            if not pick:
                raise InputError(f"has no LSOA CSV among {names}", argument=str(path),
                                 fix="pass the Nomis bulk TS001 zip or its -lsoa.csv file")
            with zf.open(pick[0]) as fh:
                return pd.read_csv(io.TextIOWrapper(fh, encoding="utf-8-sig"), dtype=str)
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig")


def read_census_population(path: str | PathLike[str]) -> pd.Series:
    r"""Census 2021 usual residents by LSOA (2021), as a Series indexed by LSOA code.

    Reads the Nomis bulk file (``census2021-ts001.zip`` or its ``-lsoa.csv``: columns
    ``geography code`` and ``Residence type: Total; measures: Value``) or a tidy CSV
    with ``lsoa21_code`` and ``usual_residents_total``.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c.csv")
    >>> _ = open(p, "w").write("lsoa21_code,usual_residents_total\nE01000001,1477\n")
    >>> read_census_population(p).to_dict()
    {'E01000001': 1477.0}
    """
    path = Path(path)
    frame = _census_frame(path)
    cols = {c.strip().lower(): c for c in frame.columns}
    code = cols.get("geography code") or cols.get("lsoa21_code") or cols.get("lsoa21cd")
    value = next((c for k, c in cols.items() if k.startswith("residence type: total")), None)
    value = value or cols.get("usual_residents_total") or cols.get("observation")
    if code is None or value is None:
        raise ColumnError(
            f"cannot find the LSOA code and usual residents columns among {list(frame.columns)}",
            argument=str(path),
            fix="pass Nomis TS001 (geography code; Residence type: Total; measures: Value) "
            "or a CSV with lsoa21_code, usual_residents_total",
        )
    values = pd.to_numeric(frame[value].str.replace(",", ""), errors="coerce")
    out = pd.Series(values.to_numpy(float), index=frame[code].str.strip(), name="population")
    out.index.name = "lsoa_code"
    return out[~out.index.duplicated()]
