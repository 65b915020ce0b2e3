"""Published static files (gov.uk, Nomis, NHS England) by name, and their readers.

Examples
--------
>>> import tempfile
>>> from nbhd_geo.official.options import FetchOptions
>>> fetch_static("imd2025", options=FetchOptions(
...     static_base_url="http://127.0.0.1:9/static", offline=True,
...     cache_dir=tempfile.mkdtemp()))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
nbhd_geo.official.errors.OfflineError: http://127.0.0.1:9/static/File_7_IoD2025_...: offline ...
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from nbhd_geo.errors import ColumnError, InputError
from nbhd_geo.official.cache import fetch_file
from nbhd_geo.official.errors import DataError, DownloadError, OfflineError
from nbhd_geo.official.options import FetchOptions, Limits
from nbhd_geo.official.registry import STATIC, static_url

__all__ = ["fetch_static", "resolve_source", "read_census_population", "pick_member"]

log = logging.getLogger("nbhd_geo")

_URL = re.compile(r"^https?://", re.IGNORECASE)


def fetch_static(key: str, *, options: FetchOptions | None = None) -> Path:
    """Download (once, verified) the static dataset ``key`` and return its cached path.

    Parameters
    ----------
    key
        A key of :data:`~nbhd_geo.official.registry.STATIC` (``"imd2025"``...).
    options
        Where from (``static_base_url`` fetches ``<base>/<filename>`` instead of the
        publisher's URL), the cache, offline mode, accepted digests (``accept={key:
        sha256}``) and limits.

    Raises
    ------
    DataError
        Unknown key, or a dataset without a stable URL (pass your own file).
    ChecksumError
        The bytes are not a known version, nor the copy first fetched, nor accepted.
    """
    opts = options or FetchOptions()
    if key not in STATIC:
        raise DataError(f"unknown dataset {key!r}", argument="dataset",
                        fix=f"choose one of {sorted(STATIC)} (nbhd-geo fetch --list)")
    item = STATIC[key]
    url = static_url(item, opts.static_base_url)
    if url is None:
        raise DataError(
            f"{item.title} has no stable download address",
            argument=key,
            fix=f"download it from {item.landing} and pass its path (or URL)",
        )
    urls = [url] + ([] if url != item.url else list(item.alternates))
    for i, u in enumerate(urls):
        try:
            return fetch_file(u, filename=item.filename, sha256=opts.accept.get(key),
                              known=item.known, pin_key=key, cache_dir=opts.cache_dir,
                              offline=opts.offline, progress=opts.progress,
                              limits=opts.limits)
        except (DownloadError, OfflineError) as err:
            gone = isinstance(err, OfflineError) or "HTTP 404" in err.problem or \
                "HTTP 410" in err.problem
            if not gone or i == len(urls) - 1:
                raise
            log.warning("%s: %s; trying %s", key, err.problem, urls[i + 1])
    raise AssertionError("unreachable")  # pragma: no cover


def resolve_source(source: str | PathLike[str], *, argument: str,
                   options: FetchOptions | None = None) -> Path:
    r"""Turn a dataset key, a URL or a local path into a local path.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.csv"); _ = open(p, "w").write("x\n")
    >>> resolve_source(p, argument="imd") == Path(p)
    True
    """
    opts = options or FetchOptions()
    text = str(source)
    if text in STATIC:
        return fetch_static(text, options=opts)
    if _URL.match(text):
        return fetch_file(text, sha256=opts.accept.get(text), cache_dir=opts.cache_dir,
                          offline=opts.offline, progress=opts.progress, limits=opts.limits)
    path = Path(text).expanduser()
    if not path.exists():
        raise InputError(f"{text!r} is neither a dataset name, a URL nor an existing file",
                         argument=argument,
                         fix=f"pass a path, an http(s) URL or one of {sorted(STATIC)}")
    return path


def pick_member(path: Path, *, argument: str, want: str, prefer: str | None = None,
                limits: Limits | None = None) -> tuple[Any, str] | None:
    """Open the CSV of a zip whose name contains ``want`` (and ``prefer``, if several).

    Returns ``(binary file object, member name)``, or None when ``path`` is not a zip.
    A member that would inflate past ``max_decompressed`` is refused.

    Raises
    ------
    InputError
        No such CSV in the zip, or the member is too large or damaged.
    """
    if not zipfile.is_zipfile(path):
        return None
    limits = limits or Limits()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(f"is not a readable zip ({err})", argument=argument,
                         fix="download it again") from None
    names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
    pick = [n for n in names if want in Path(n).name.lower()]
    if prefer is not None and len(pick) > 1:
        pick = [n for n in pick if prefer in Path(n).name.lower()] or pick
    if not pick:
        zf.close()
        raise InputError(f"has no {want} CSV among {names}", argument=argument,
                         fix="pass the published zip or the CSV inside it")
    info = zf.getinfo(pick[0])
    if info.file_size > limits.max_decompressed:
        zf.close()
        raise InputError(f"its member {pick[0]} would inflate to {info.file_size:,} bytes, "
                         f"more than max_decompressed ({limits.max_decompressed:,})",
                         argument=argument, fix="check the file; raise Limits(max_decompressed"
                         "=...) if it is right")
    return zf.open(pick[0]), pick[0]


def _census_frame(path: Path) -> pd.DataFrame:
    member = pick_member(path, argument=str(path), want="lsoa")
    if member is not None:
        fh, _ = member
        try:
            with fh:
                return pd.read_csv(io.TextIOWrapper(fh, encoding="utf-8-sig"), dtype=str)
        except (zipfile.BadZipFile, EOFError, OSError, UnicodeDecodeError) as err:
            raise InputError(f"its LSOA CSV cannot be read ({type(err).__name__}: {err})",
                             argument=str(path), fix="download the zip again") from None
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
