r"""Writing what leaves the analyst's hands: safe CSV, suppressed counts, staged folders.

* :func:`write_csv` neutralises spreadsheet formulas (the OWASP "CSV injection" rule:
  a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
  leading ``'``) and quotes every text cell, so a bare ``\r`` cannot split a row.
* :func:`publish_frame` suppresses small counts in every count column: populations
  (rounded to whole people), counts of drawers, patients; values below the threshold
  become ``"<10"``. Ratios of such counts (``pop_iou``, a mean agreement of drawings)
  are rounded to 2 decimals, and blanked (``"suppressed"``) in rows where a count
  was suppressed, since an unrounded ratio of small numbers gives them back.
* :func:`write_gpkg` writes a GeoPackage layer with the same suppression, personal
  columns dropped and column names that GeoPackage accepts.
* :func:`staged_output` builds an output folder beside the real one and moves it into
  place only when everything was written: a failed run leaves nothing half-published.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> table = pd.DataFrame({"name": ["=HYPERLINK(1)", "Belle Isle"], "population": [3.4, 120.6]})
>>> publish_frame(table)["population"].tolist()
['<10', '121']
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> print(write_csv(table, folder / "t.csv").read_text().splitlines()[1])
"'=HYPERLINK(1)",3.4
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nbhd_geo import settings
from nbhd_geo.errors import InputError
from nbhd_geo.io.disclosure import suppress_small_counts
from nbhd_geo.io.privacy import personal_column_reasons

__all__ = ["write_csv", "neutralise_formulas", "publish_frame", "count_columns", "write_gpkg",
           "staged_output", "check_output_folder", "escape_mathtext", "json_for_html",
           "PER_DRAWING_FILES", "SUPPRESSED"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Count columns found by name: people (populations, patients) and drawers.
_COUNT_NAME = re.compile(r"(population|people|patients|residents|registered|drawers|"
                         r"^n_drawings$|^n_excluded$|^n_voices$|^pop_(included|excluded|outside$|inside$))",
                         re.IGNORECASE)
# Ratios and shares of counts are not counts.
_NOT_COUNT = re.compile(r"(_iou|_share|_pct|_percent|_ratio|_rate|_density|share_|_score|"
                        r"^share$|_weighted_mean)$|_share_|^share", re.IGNORECASE)


def neutralise_formulas(value: Any) -> Any:
    """Make a text cell that a spreadsheet would run as a formula inert with ``'``.

    Examples
    --------
    >>> neutralise_formulas("=1+1"), neutralise_formulas("-2"), neutralise_formulas(-2)
    ("'=1+1", "'-2", -2)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    r"""Write ``df`` as CSV safe to open in a spreadsheet; return the path.

    Every text cell (and column name) starting with ``= + - @``, tab or carriage return
    gets a leading ``'``; every text cell is quoted (numbers are not), so commas,
    quotes, ``\n`` and a bare ``\r`` stay inside their cell.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = write_csv(pd.DataFrame({"a": ["x\ry", "@SUM(A1)"], "n": [1, 2]}),
    ...               pathlib.Path(tempfile.mkdtemp()) / "a.csv")
    >>> p.read_bytes()
    b'"a","n"\n"x\ry",1\n"\'@SUM(A1)",2\n'
    """
    path = Path(path)
    out = df.reset_index() if index else df.copy()
    out.columns = [neutralise_formulas(str(c)) for c in out.columns]
    for col in out.columns:
        series = out[col]
        if isinstance(series, pd.DataFrame):
            continue
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = series.map(neutralise_formulas)
    out.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    return path


def count_columns(df: pd.DataFrame, counts: Iterable[str] = ()) -> list[str]:
    """List the given count columns present in ``df``, plus those named like counts of people.

    Examples
    --------
    >>> import pandas as pd
    >>> count_columns(pd.DataFrame(columns=["population", "pop_iou", "n_drawings", "area"]))
    ['population', 'n_drawings']
    """
    given = [c for c in counts if c in df.columns]
    found = [c for c in df.columns if isinstance(c, str) and _COUNT_NAME.search(c)
             and not _NOT_COUNT.search(c)]
    return list(dict.fromkeys([*given, *found]))


def _suppress_text_lists(series: pd.Series, limit: int) -> pd.Series:
    """Cells such as ``"0.116; 42.5"`` (counts per part): each part rounded and suppressed."""
    def one(cell: Any) -> Any:
        if not isinstance(cell, str) or ";" not in cell:
            return cell
        parts = []
        for part in cell.split(";"):
            try:
                v = float(part)
            except ValueError:
                parts.append(part.strip())
                continue
            parts.append(f"<{limit}" if 0 < v < limit else str(int(round(v))))
        return "; ".join(parts)

    return series.map(one)


def publish_frame(df: pd.DataFrame, *, counts: Iterable[str] = (),
                  threshold: int | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` fit to publish: every count rounded, small ones suppressed.

    Parameters
    ----------
    df
        The table (not modified).
    counts
        Count columns to suppress, on top of those found by name (population, people,
        patients, drawers, ``n_drawings``; not shares or ratios of them).
    threshold
        Counts ``0 < x < threshold`` become ``"<threshold"`` (default
        ``settings.small_count_threshold``); ``0`` disables suppression (counts are
        still rounded to whole people).

    Examples
    --------
    >>> import pandas as pd
    >>> publish_frame(pd.DataFrame({"n_drawings": [1, 12], "share": [0.1, 0.9]}))
      n_drawings  share
    0        <10    0.1
    1         12    0.9
    """
    limit = settings.small_count_threshold if threshold is None else int(threshold)
    cols = count_columns(df, counts)
    text_lists = [c for c in cols if df[c].dtype == object
                  and df[c].map(lambda v: isinstance(v, str) and ";" in v).any()]
    numeric = [c for c in cols if c not in text_lists]
    out = suppress_small_counts(df, numeric, threshold=limit) if numeric else df.copy()
    for c in text_lists:
        out[c] = _suppress_text_lists(out[c], limit)
    return _protect_derived(out, numeric, limit)


# Ratios computed from counts of people or drawings: an unrounded one gives a count back.
_DERIVED = re.compile(r"(^pop_|population|people|patients|drawers|drawings|agreement|voices)",
                      re.IGNORECASE)
SUPPRESSED = "suppressed"
# Report files with one row per drawing: written only when individual drawings are asked for.
PER_DRAWING_FILES = ("outliers.csv",)


def _protect_derived(out: pd.DataFrame, counts: Sequence[str], limit: int) -> pd.DataFrame:
    """Ratios of counts: blanked where a count of the row is suppressed, else 2 decimals.

    A share or overlap of populations (``pop_iou``), or a mean agreement of a few
    drawings, is a ratio of small whole numbers: unrounded, it gives them back.
    """
    if limit <= 0:
        return out
    marker = f"<{limit}"
    small = np.zeros(len(out), dtype=bool)
    for c in counts:
        small |= (out[c].astype(str) == marker).to_numpy()
    # An area measure beside its population twin (``outside_share`` by
    # ``pop_outside_share``, ``iou`` by ``pop_iou``) is the same number wherever people are
    # spread by area within a unit: with the published population it gives the suppressed
    # count back, so in such rows it is blanked too (elsewhere it stays exact).
    twins = {c[4:] for c in out.columns if isinstance(c, str) and c.startswith("pop_")}
    for col in out.columns:
        if col in counts or not isinstance(col, str):
            continue
        derived = bool(_DERIVED.search(col))
        if not derived and col not in twins:
            continue
        if not pd.api.types.is_float_dtype(out[col]):
            if small.any() and not pd.api.types.is_numeric_dtype(out[col]):
                # Lists of shares written as text ("0.9987; 0.7838").
                numbers = out[col].astype(str).str.fullmatch(r"[\d.;\se+-]*\d[\d.;\se+-]*")
                hide = small & numbers.fillna(False).to_numpy(dtype=bool)
                out[col] = out[col].astype(object).where(~hide, SUPPRESSED)
            continue
        rounded = out[col].round(2) if derived else out[col]
        if small.any():
            out[col] = rounded.astype(object).where(~small, SUPPRESSED)
        else:
            out[col] = rounded
    return out


def _gpkg_columns(df: pd.DataFrame, geometry: str) -> pd.DataFrame:
    """Column names GeoPackage accepts: unique ignoring case, no ``fid``."""
    taken: set[str] = set()
    mapping = {}
    for col in df.columns:
        if col == geometry:
            continue
        name = str(col)
        low = name.lower()
        if low in taken or low in ("fid", geometry.lower()):
            k = 2
            while f"{name}_{k}".lower() in taken:
                k += 1
            name = f"{name}_{k}"
        taken.add(name.lower())
        if name != col:
            mapping[col] = name
    return df.rename(columns=mapping) if mapping else df


def write_gpkg(gdf: Any, path: str | Path, layer: str, *, counts: Iterable[str] = (),
               threshold: int | None = None, keep: Sequence[str] = (),
               drop_personal: bool = True) -> Path:
    """Write one GeoPackage layer fit to publish; return the path.

    Counts are suppressed as in :func:`publish_frame`, columns that look personal are
    dropped (except ``keep`` and those listed in ``gdf.attrs["keep_columns"]``, where
    the readers' callers record ``--keep-column``), and column names are made
    acceptable to GeoPackage (unique ignoring case, no ``fid``). The index is written
    as a column.

    Examples
    --------
    >>> import geopandas as gpd, shapely, tempfile, pathlib
    >>> g = gpd.GeoDataFrame({"population": [4.2], "email": ["a@b.org"]},
    ...                      geometry=[shapely.box(0, 0, 1, 1)], crs=27700)
    >>> p = write_gpkg(g, pathlib.Path(tempfile.mkdtemp()) / "x.gpkg", "areas")
    >>> gpd.read_file(p)[["population"]].to_dict("list")
    {'population': ['<10']}
    """
    import geopandas as gpd

    path = Path(path)
    names = [n for n in gdf.index.names if n is not None]
    if names:
        lower = {str(c).lower() for c in gdf.columns}
        clash = {n: f"{n}_index" for n in names if str(n).lower() in lower}
        frame = (gdf.rename_axis(index=[clash.get(n, n) for n in gdf.index.names])
                 if clash else gdf).reset_index()
    else:
        frame = gdf.reset_index(drop=True)
    geometry = frame.geometry.name
    if drop_personal:
        # Columns the user chose to keep on reading (--keep-column) travel in attrs.
        kept = [*keep, *gdf.attrs.get("keep_columns", ()), geometry]
        flagged = personal_column_reasons(frame, keep=kept)
        frame = frame.drop(columns=list(flagged))
    frame = publish_frame(frame, counts=counts, threshold=threshold)
    frame = _gpkg_columns(frame, geometry)
    frame = gpd.GeoDataFrame(frame, geometry=geometry, crs=gdf.crs)
    frame.to_file(path, layer=_safe_layer(layer), driver="GPKG")
    return path


def _safe_layer(name: str) -> str:
    return re.sub(r"[^\w-]", "_", str(name))[:60] or "layer"


_HTML_UNSAFE_IN_JSON = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                                       "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_for_html(text: str) -> str:
    r"""Make JSON text safe to place inside a ``<script>`` element of an HTML page.

    ``<``, ``>``, ``&``, U+2028 and U+2029 become ``\u`` escapes, which JSON reads as
    the same characters, so no value can close the script (``</script``), open a
    comment or a nested script (``<!--``, ``<script``: these make the HTML parser
    swallow the end tag and every script after it) or end a JavaScript line. Outside
    strings, JSON holds none of these characters, so the whole text can be escaped.

    Examples
    --------
    >>> import json
    >>> safe = json_for_html(json.dumps({"name": "Hollins <!--<script> Green"}))
    >>> safe
    '{"name": "Hollins \\u003c!--\\u003cscript\\u003e Green"}'
    >>> json.loads(safe)["name"]
    'Hollins <!--<script> Green'
    """
    return text.translate(_HTML_UNSAFE_IN_JSON)


def escape_mathtext(text: Any) -> str:
    r"""Return text for a matplotlib label: ``$`` escaped so it is never read as mathtext.

    Examples
    --------
    >>> escape_mathtext("$x$ street")
    '\\$x\\$ street'
    """
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


def check_output_folder(out: str | Path, *, overwrite: bool = False,
                        argument: str = "--out") -> None:
    """Check, before any computing, that ``out`` can receive a new output folder.

    Raises :class:`~nbhd_geo.errors.InputError` when ``out`` is a file, is a non-empty
    folder (unless ``overwrite``), or its nearest existing parent is not writable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_output_folder(pathlib.Path(tempfile.mkdtemp()) / "new" / "report")
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{str(out)!r} is a file, not a folder", argument=argument,
                         fix=f"use {argument} with a new folder name")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(f"folder {str(out)!r} is not empty", argument=argument,
                         fix=f"use {argument} with a new or empty folder, or add --overwrite "
                             "to replace it")
    parent = out.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write in {str(parent)!r}", argument=argument,
                         fix=f"use {argument} with a folder you can write to")


_LOCK_WAIT_S = 5.0
_RENAME_EXCHANGE = 2  # renameat2 flag (Linux): swap two paths in one atomic step


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(done == 0)


@contextmanager
def _folder_lock(out: Path, argument: str, wait_s: float) -> Iterator[None]:
    """Hold an exclusive lock beside ``out``: one writer per output folder.

    The lock file ``.<out>.lock`` is removed on release. A waiting run that then gets
    the lock of the removed file sees that the path no longer names it, and locks the
    file now there instead, so two runs never both hold the lock.
    """
    import fcntl
    import time

    lock = out.parent / f".{out.name}.lock"
    deadline = time.monotonic() + wait_s
    while True:
        handle = open(lock, "a+b")  # noqa: SIM115 - held for the whole body
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            if time.monotonic() >= deadline:
                raise InputError(
                    f"another nbhd-geo run is writing {str(out)!r}", argument=argument,
                    fix=f"wait for it to finish, or use {argument} with another folder"
                ) from None
            time.sleep(0.1)
            continue
        try:
            same = os.path.samestat(os.fstat(handle.fileno()), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()


def _recover(out: Path) -> None:
    """Undo what a run killed mid-way left beside ``out`` (called under the folder lock).

    A run killed between the two renames of the fallback swap left the previous
    report as ``.<out>.old-*`` and no ``out``: it is put back. Staging folders of
    killed runs (``.<out>.partial-*``) and old copies are removed.
    """
    parent = out.parent
    olds = sorted(parent.glob(f".{glob_escape(out.name)}.old-*"), key=lambda p: p.stat().st_mtime)
    if not out.exists() and olds:
        olds.pop().rename(out)
    for stale in [*olds, *parent.glob(f".{glob_escape(out.name)}.partial-*")]:
        shutil.rmtree(stale, ignore_errors=True)


def glob_escape(name: str) -> str:
    """Escape ``name`` for :meth:`pathlib.Path.glob`.

    Examples
    --------
    >>> glob_escape("report[1]")
    'report[[]1]'
    """
    import glob

    return glob.escape(name)


@contextmanager
def staged_output(out: str | Path, *, overwrite: bool = False,
                  argument: str = "--out", lock_wait_s: float = _LOCK_WAIT_S) -> Iterator[Path]:
    """Write an output folder in a temporary folder beside it; swap it into place at the end.

    One writer per folder: a lock file ``.<out>.lock`` beside ``out`` is held from the
    start to the end; a second run waits up to ``lock_wait_s`` seconds, then stops with
    an :class:`~nbhd_geo.errors.InputError` (exit 2 in the CLI). Under the lock, what
    killed runs left behind is cleaned (``.<out>.partial-*`` staging folders) or
    recovered (a previous report left as ``.<out>.old-*``), then the checks run:
    ``out`` must not be a file, must be empty unless ``overwrite`` (then it is
    replaced as a whole, stale files gone), and its parent must be writable. If the
    body raises, the staging folder is removed and ``out`` is left as it was.

    The new folder replaces the old one in one atomic step (Linux ``renameat2``
    exchange): at every moment ``out`` holds either the complete old or the complete
    new output. Where the system cannot exchange, two renames are used and a run
    killed between them is recovered by the next run.

    Parameters
    ----------
    out
        The output folder.
    overwrite
        Replace a non-empty ``out``.
    argument
        Name of the option in messages.
    lock_wait_s
        How long to wait for another run writing the same folder.

    Yields
    ------
    pathlib.Path
        The temporary folder to write into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "report"
    >>> with staged_output(target) as stage:
    ...     _ = (stage / "a.csv").write_text("x")
    >>> sorted(p.name for p in target.iterdir())
    ['a.csv']
    """
    out = Path(out)
    check_output_folder(out, overwrite=overwrite, argument=argument)
    out = out.resolve()
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write in {str(parent)!r} ({exc.strerror or exc})",
                         argument=argument,
                         fix=f"use {argument} with a folder you can write to") from None
    with _folder_lock(out, argument, lock_wait_s):
        _recover(out)
        # Again under the lock: a run that held it may have just written `out`.
        check_output_folder(out, overwrite=overwrite, argument=argument)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        try:
            yield stage
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        os.chmod(stage, 0o755)
        if out.exists() and _exchange(stage, out):
            shutil.rmtree(stage, ignore_errors=True)  # now the previous output
            return
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
            os.rmdir(old)
            out.rename(old)
        try:
            stage.rename(out)
        except OSError:
            if old is not None:
                old.rename(out)
            shutil.rmtree(stage, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
