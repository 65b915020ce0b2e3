"""Settings of the readers that travel together, validated once when they are made.

:func:`~nbhd_geo.io.read.read_layer` and :func:`~nbhd_geo.io.read.read_drawings` share
two groups of settings that most callers never touch, and drawings have a third. Each
group is a small frozen object checked when it is made, so a wrong value is reported
once, naming the setting at fault, and a caller who reads many files passes one object
instead of copying a block of keywords from call to call:

:class:`CoordOptions` (``coords=``)
    what to do with the coordinates: the working CRS, overriding a declared CRS,
    swapped axes, features outside the expected area;
:class:`CsvColumns` (``csv=``)
    which columns of a CSV file hold the geometry (WKT, or x and y);
:class:`PrivacyOptions` (``privacy=``, drawings only)
    which further columns pass the allowlist, or none of it at all.

The CRS to assume for a source without one (``crs=``) stays a plain keyword of both
readers: it is the setting a CSV or a bare GeoJSON needs most often.

Examples
--------
>>> CoordOptions(swap_xy=True, outside="reject")
CoordOptions(to_crs=None, override_crs=False, swap_xy=True, outside='reject')
>>> CsvColumns(x_col="easting", y_col="northing").x_col
'easting'
>>> PrivacyOptions(keep_columns=["ward"]).keep_columns
('ward',)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nbhd_geo.errors import ColumnError, CRSError, InputError
from nbhd_geo.io import crs as _crs

__all__ = ["CoordOptions", "CsvColumns", "PrivacyOptions", "Outside"]

Outside = Literal["raise", "reject"]


def check_column_name(value: Any, argument: str, fix: str) -> None:
    """Refuse anything but ``None`` or a non-empty string where a column name is wanted.

    Shared by every options object that names columns, so each refuses the same things
    (a number, an empty string, a list) with the same words.

    Examples
    --------
    >>> check_column_name("ward_name", "name", fix="…")
    >>> check_column_name("", "name", fix="name a column")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.ColumnError: name: must be a column name, not ''. Fix: name a column.
    """
    if value is not None and (not isinstance(value, str) or not value):
        raise ColumnError(f"must be a column name, not {value!r}", argument=argument, fix=fix)


def _check_flag(value: Any, argument: str, owner: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise InputError(f"must be True or False, not {value!r}", argument=argument,
                         fix=f"pass {owner}({argument}=True) or leave it out")
    return bool(value)


@dataclass(frozen=True)
class CoordOptions:
    """What the readers do with the coordinates of a source.

    Parameters
    ----------
    to_crs
        Working CRS (default :data:`nbhd_geo.settings.working_crs`, EPSG:27700, read
        when the file is read). Must be projected: areas are in square metres. The
        Great Britain bounds check only applies when it is EPSG:27700; for data
        outside Great Britain pass a local projected CRS (e.g. ``"EPSG:32618"`` for
        New York).
    override_crs
        Let the readers' ``crs=`` replace a CRS the source declares (when the declared
        one is wrong).
    swap_xy
        Swap x and y of every feature (for files written as latitude, longitude).
    outside
        ``"raise"`` (default): coordinates outside Great Britain, in swapped order or
        impossible for the CRS raise a :class:`~nbhd_geo.errors.CRSError` naming the
        ids. ``"reject"``: such features are rejected and reported instead.

    Raises
    ------
    CRSError
        ``to_crs`` is not a CRS, or is not projected.
    InputError
        ``outside`` is neither ``"raise"`` nor ``"reject"``, or a flag is not a bool.

    Examples
    --------
    >>> CoordOptions(to_crs="EPSG:32618").to_crs
    'EPSG:32618'
    >>> CoordOptions(outside="drop")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: outside: must be 'raise' or 'reject', not 'drop'. Fix: ...
    """

    to_crs: Any = None
    override_crs: bool = False
    swap_xy: bool = False
    outside: Outside = "raise"

    def __post_init__(self) -> None:
        if self.to_crs is not None:
            target = _crs.resolve_crs(self.to_crs, "to_crs", projected=True)
            if not target.is_projected:
                raise CRSError(f"working CRS {_crs.crs_label(target)} is not projected (areas "
                               "would be in square degrees)", argument="to_crs",
                               fix='pass a projected CRS in metres, e.g. "EPSG:27700"')
        object.__setattr__(self, "override_crs",
                           _check_flag(self.override_crs, "override_crs", "CoordOptions"))
        object.__setattr__(self, "swap_xy", _check_flag(self.swap_xy, "swap_xy", "CoordOptions"))
        if self.outside not in ("raise", "reject"):
            raise InputError(f"must be 'raise' or 'reject', not {self.outside!r}",
                             argument="outside",
                             fix="pass CoordOptions(outside='reject') to reject such features")


@dataclass(frozen=True)
class CsvColumns:
    """Which columns of a CSV file hold the geometry.

    Without them the readers look for a WKT column ``wkt``/``geometry``/``geom``, then
    for ``lon``/``lng``/``longitude``/``easting`` and ``lat``/``latitude``/``northing``.
    Other formats ignore these settings.

    Parameters
    ----------
    geometry_col
        The WKT column (it wins over ``x_col``/``y_col``).
    x_col, y_col
        The x (longitude/easting) and y (latitude/northing) columns of point data; the
        one not given is looked for as above.

    Raises
    ------
    ColumnError
        A column name is not a non-empty string (it is checked against the file when
        the file is read).

    Examples
    --------
    >>> CsvColumns(geometry_col="wkt")
    CsvColumns(geometry_col='wkt', x_col=None, y_col=None)
    >>> CsvColumns(x_col="")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.ColumnError: x_col: must be a column name, not ''. Fix: ...
    """

    geometry_col: str | None = None
    x_col: str | None = None
    y_col: str | None = None

    def __post_init__(self) -> None:
        for argument in ("geometry_col", "x_col", "y_col"):
            check_column_name(getattr(self, argument), argument,
                              fix=f"pass CsvColumns({argument}='…') with a column of the file, "
                                  "or leave it out to detect it")


@dataclass(frozen=True)
class PrivacyOptions:
    """What of a drawings file passes besides the id, the name column and the geometry.

    :func:`~nbhd_geo.io.read.read_drawings` keeps by allowlist: the id (as index), its
    ``name_col`` and the geometry, nothing else; ids holding an e-mail address, phone
    number, postcode or NHS number become keyed pseudonyms ``pid-…``, and such values
    inside the kept columns are blanked out.

    Parameters
    ----------
    keep_columns
        Further columns to keep (they are checked: personal data inside their values
        is blanked out). A column the file does not have is a
        :class:`~nbhd_geo.errors.ColumnError` when the file is read.
    keep_personal
        Keep every column and every id as read, unredacted (the report then lists no
        left-out columns). Outputs then carry whatever the source held.

    Raises
    ------
    InputError
        ``keep_columns`` is a single string or holds something other than names, or
        ``keep_personal`` is not a bool.

    Examples
    --------
    >>> PrivacyOptions(keep_columns=("ward", "age_band")).keep_columns
    ('ward', 'age_band')
    >>> PrivacyOptions(keep_columns="ward")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nbhd_geo.errors.InputError: keep_columns: must be a list of column names, not 'ward'. Fix: ...
    """

    keep_columns: Iterable[str] = ()
    keep_personal: bool = False

    def __post_init__(self) -> None:
        cols = self.keep_columns
        if isinstance(cols, str | bytes) or not isinstance(cols, Iterable):
            raise InputError(f"must be a list of column names, not {cols!r}",
                             argument="keep_columns",
                             fix=f"pass PrivacyOptions(keep_columns=[{cols!r}])")
        cols = tuple(cols)
        bad = [c for c in cols if not isinstance(c, str)]
        if bad:
            raise InputError(f"holds values that are not column names: {bad!r}",
                             argument="keep_columns", fix="pass column names as strings")
        object.__setattr__(self, "keep_columns", cols)
        object.__setattr__(self, "keep_personal",
                           _check_flag(self.keep_personal, "keep_personal", "PrivacyOptions"))


#: The readers' defaults for ``coords=``, ``csv=`` and ``privacy=``.
DEFAULT_COORDS = CoordOptions()
DEFAULT_CSV = CsvColumns()
DEFAULT_PRIVACY = PrivacyOptions()
