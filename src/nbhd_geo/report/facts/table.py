"""Named facts behind the board summary: each computed once, exact beside rounded.

Every figure or list the board summary prints is a :class:`Fact` in one
:class:`Facts` table: its key (``"n_neighbourhoods"``, ``"most_deprived"``), its exact
value (unrounded number, or the ordered names) and the text printed. The sentences are
rendered from these facts only, the table is written beside the page
(``board_facts.csv``), and a test recomputes each one from the published tables.

Totals whose parts are printed are rounded so the printed parts add up to the printed
total (:func:`round_parts`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Fact", "Facts", "people_step", "round_parts"]


@dataclass(frozen=True)
class Fact:
    """One figure or list of the board summary.

    Attributes
    ----------
    key
        Stable name (``"people_covered"``).
    exact
        The value before rounding: a number, or a tuple of names in printed order.
    shown
        The text printed for it.
    """

    key: str
    exact: Any
    shown: str


class Facts:
    """An ordered table of :class:`Fact` (keys unique).

    Examples
    --------
    >>> f = Facts()
    >>> f.add("n", 148, "148").shown
    '148'
    >>> f["n"].exact, len(f)
    (148, 1)
    """

    def __init__(self) -> None:
        self._facts: dict[str, Fact] = {}

    def add(self, key: str, exact: Any, shown: str) -> Fact:
        """Record a fact (a key is computed once: adding it twice is an error)."""
        if key in self._facts:
            raise KeyError(f"fact {key!r} computed twice")
        fact = Fact(key, exact, shown)
        self._facts[key] = fact
        return fact

    def __getitem__(self, key: str) -> Fact:
        return self._facts[key]

    def __contains__(self, key: object) -> bool:
        return key in self._facts

    def __iter__(self) -> Iterator[Fact]:
        return iter(self._facts.values())

    def __len__(self) -> int:
        return len(self._facts)

    def to_frame(self) -> pd.DataFrame:
        """Return the facts as a table: ``key, exact, shown`` (lists joined by ``"; "``)."""
        def _exact(v: Any) -> Any:
            if isinstance(v, tuple | list):
                return "; ".join(str(x) for x in v)
            return v

        return pd.DataFrame([{"key": f.key, "exact": _exact(f.exact), "shown": f.shown}
                             for f in self], columns=["key", "exact", "shown"])


def people_step(value: float) -> int:
    """Return the rounding step for people: 10 below 10,000, else 100.

    Examples
    --------
    >>> people_step(9_999), people_step(10_000)
    (10, 100)
    """
    return 10 if abs(value) < 10_000 else 100


def round_parts(parts: Sequence[float], step: float) -> list[float]:
    """Round parts to ``step`` so they add up to their rounded total (largest remainder).

    Parameters
    ----------
    parts
        Non-negative values.
    step
        Rounding step (e.g. 10 people, or 0.1 ha).

    Returns
    -------
    list of float
        Multiples of ``step`` whose sum is ``round(sum(parts) / step) * step``.

    Examples
    --------
    >>> round_parts([548_740.0, 7_880.0], 100)
    [548700.0, 7900.0]
    >>> sum(round_parts([1.4, 1.4, 1.4], 1))
    4.0
    """
    vals = np.asarray(parts, dtype=float) / step
    total = int(round(float(vals.sum())))
    low = np.floor(vals)
    short = total - int(low.sum())
    order = np.argsort(-(vals - low), kind="stable")
    out = low.copy()
    if short > 0:
        out[order[:short]] += 1
    elif short < 0:  # cannot happen for non-negative parts; kept total-preserving anyway
        out[order[::-1][: -short]] -= 1
    return [float(v * step) for v in out]


def is_missing(value: Any) -> bool:
    """Return ``True`` for ``None`` and NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value))
