"""Statistical disclosure control for published tables: small counts are suppressed.

Counts of people below a threshold (default ``settings.small_count_threshold`` = 10)
are replaced by ``"<10"`` in tables that leave the analyst's hands (report HTML and
CSV). Analysis objects keep the exact numbers; only what is published is suppressed.
Where a group's total is published, :func:`suppress_with_total` adds complementary
suppression so that the total minus the other cells gives no suppressed cell back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from nbhd_geo import settings
from nbhd_geo.errors import ColumnError

__all__ = ["complementary_cells", "suppress_small_counts", "suppress_with_total"]


def suppress_small_counts(
    df: pd.DataFrame,
    columns: Iterable[str],
    *,
    threshold: int | None = None,
    round_to: int = 0,
    suppress_zero: bool = False,
) -> pd.DataFrame:
    """Replace counts below ``threshold`` by ``"<threshold"`` in a copy of ``df``.

    Parameters
    ----------
    df
        The table to publish (not modified).
    columns
        Count columns (people, patients). Missing columns are an error.
    threshold
        Counts ``0 < x < threshold`` are suppressed; default
        ``settings.small_count_threshold`` (10). ``0`` disables suppression.
    round_to
        Decimals kept for the counts that are published (apportioned populations are
        fractional; whole people by default).
    suppress_zero
        Also suppress exact zeros.

    Returns
    -------
    pandas.DataFrame
        A copy; suppressed columns become text. ``attrs["suppressed"]`` holds the
        number of cells suppressed per column.

    Notes
    -----
    Primary suppression only: a suppressed cell can sometimes be recovered from a
    published total. Publish totals from the unsuppressed data with care.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"area": ["A", "B", "C"], "people": [1520.4, 7.2, 0.0]})
    >>> suppress_small_counts(t, ["people"])
      area people
    0    A   1520
    1    B    <10
    2    C      0
    """
    limit = settings.small_count_threshold if threshold is None else int(threshold)
    out = df.copy()
    counts: dict[str, int] = {}
    for col in columns:
        if col not in out.columns:
            raise ColumnError(
                f"no column {col!r} to suppress", argument="columns",
                fix=f"choose from {list(map(str, out.columns))}",
            )
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(float)
        small = (values < limit) & ((values > 0) | (suppress_zero & (values == 0)))
        small &= np.isfinite(values)
        rounded = np.round(values, round_to)
        text = [
            "" if not np.isfinite(v) else (f"{v:.{round_to}f}" if round_to else str(int(v)))
            for v in rounded
        ]
        out[col] = np.where(small, f"<{limit}", text)
        counts[col] = int(small.sum())
    out.attrs["suppressed"] = counts
    return out


def complementary_cells(hidden: np.ndarray, values: np.ndarray,
                        groups: np.ndarray | None = None) -> np.ndarray:
    """Cells to hide as well, so that no group has exactly one hidden cell.

    Where a group's cells add up to a published total, a lone hidden cell is the total
    minus the others; the smallest other non-zero cell of that group is hidden with it
    (first of equals).

    Parameters
    ----------
    hidden
        Boolean mask of the cells already hidden.
    values
        The cells' counts (NaN and 0 are never chosen).
    groups
        Group label per cell; ``None``: one group.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the extra cells (not including ``hidden``).

    Examples
    --------
    >>> import numpy as np
    >>> complementary_cells(np.array([True, False, False]), np.array([3.0, 40, 25])).tolist()
    [False, False, True]
    """
    hidden = np.asarray(hidden, dtype=bool)
    values = np.asarray(values, dtype=float)
    groups = np.zeros(len(values), dtype=int) if groups is None else np.asarray(groups)
    extra = np.zeros(len(values), dtype=bool)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        if hidden[rows].sum() != 1:
            continue
        others = rows[~hidden[rows] & np.isfinite(values[rows]) & (values[rows] > 0)]
        if len(others):
            extra[others[np.argmin(values[others])]] = True
    return extra


def suppress_with_total(
    df: pd.DataFrame,
    column: str,
    *,
    by: str | Sequence[str] | None = None,
    threshold: int | None = None,
) -> pd.DataFrame:
    """Suppress small counts, and a second cell wherever a published total would give one back.

    Within each group of rows (``by``; the whole table when None) whose counts add up
    to a total published elsewhere, a single suppressed cell equals the total minus
    the others. So when a group has exactly one suppressed cell, the smallest other
    non-zero cell is suppressed too (complementary suppression); that cell's value
    then cannot be told from the first one's.

    Parameters
    ----------
    df
        The table (not modified).
    column
        The count column.
    by
        Columns naming the groups that add up to a published total.
    threshold
        As for :func:`suppress_small_counts`.

    Returns
    -------
    pandas.DataFrame
        A copy with ``column`` as text: ``"<10"`` for small counts, ``"suppressed"``
        for the complementary cells (they are not small); ``attrs["suppressed"]``
        counts both.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ward": ["A", "A", "A", "B", "B"], "people": [3, 40, 25, 50, 60]})
    >>> suppress_with_total(t, "people", by="ward")["people"].tolist()
    ['<10', '40', 'suppressed', '50', '60']
    """
    limit = settings.small_count_threshold if threshold is None else int(threshold)
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(float)
    small = np.isfinite(values) & (values > 0) & (values < limit)
    groups = None if by is None else df.groupby(by, sort=False).ngroup().to_numpy()
    extra = complementary_cells(small, values, groups)
    out = suppress_small_counts(df, [column], threshold=limit)
    out[column] = np.where(extra, "suppressed", out[column].to_numpy(dtype=object))
    out.attrs["suppressed"] = {column: int((small | extra).sum())}
    return out
