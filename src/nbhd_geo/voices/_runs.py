"""Drawings as fixed run events on a grid, so re-weighted cores cost one cumulative sum.

Bootstrap resamples and permutations only change the *weight* of each drawing, never
its shape. The drawings are rasterised once (cell-centre rule, as in
:func:`nbhd_geo.voices.consensus.consensus`), every run ``[c0, c1)`` becomes a ``+w`` event
at ``c0`` and a ``-w`` event at ``c1``, and the events are sorted once by
``(name, row, column)``. For any weight vector the count of drawings covering each
*elementary piece* (between two consecutive events of a row) is then one cumulative
sum over the fixed events, so a resample is ``O(events)`` with no sorting, and its
result is a boolean mask over the same fixed pieces: frequencies, IoUs and areas are
plain vector operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.voices import _grid
from nbhd_geo.voices._grid import Grid
from nbhd_geo.voices.consensus import auto_cell_size, checked_drawings, drawing_weights

__all__ = ["DrawingRuns", "prepared_drawings", "EPS"]

EPS = 1e-9


def prepared_drawings(drawings: gpd.GeoDataFrame, *, by: str, argument: str = "drawings",
                      crs: object | None = None,
                      weight_col: str | None = None) -> tuple[gpd.GeoDataFrame, np.ndarray,
                                                              np.ndarray, CRS]:
    """Check drawings; return (frame in the working CRS, names, weights, target CRS).

    Drawings without a name are dropped here (callers report how many).
    """
    frame, target = checked_drawings(drawings, by=by, weight_col=weight_col, crs=crs,
                                     argument=argument)
    named = ~(frame[by].isna() | frame[by].astype("string").str.strip().eq("")).to_numpy()
    frame = frame[named]
    return frame, frame[by].astype(str).to_numpy(), drawing_weights(frame, weight_col), target


@dataclass(frozen=True)
class DrawingRuns:
    """Rasterised drawings as sorted events and fixed elementary pieces.

    Attributes
    ----------
    grid
        The grid (cell-centre rule).
    names
        Sorted unique names; ``code`` indexes it.
    code
        Name code per drawing.
    ev_drawing, ev_sign
        Drawing position and ±1 per event, in sorted order.
    piece_event
        For each piece, the event after which its count is read.
    piece_name, piece_row, piece_c0, piece_c1
        The pieces (runs of cells) per name.
    """

    grid: Grid
    names: pd.Index
    code: np.ndarray
    ev_drawing: np.ndarray
    ev_sign: np.ndarray
    piece_event: np.ndarray
    piece_name: np.ndarray
    piece_row: np.ndarray
    piece_c0: np.ndarray
    piece_c1: np.ndarray

    @classmethod
    def build(cls, geoms: np.ndarray, names: np.ndarray,
              cell_size: float | None = None, grid: Grid | None = None) -> DrawingRuns:
        """Rasterise ``geoms`` (projected) labelled ``names`` on a grid."""
        geoms = np.asarray(geoms, dtype=object)
        codes, uniq = pd.factorize(np.asarray(names), sort=True)
        if grid is None:
            cell = auto_cell_size(shapely.area(geoms)) if cell_size is None else float(cell_size)
            if not np.isfinite(cell) or cell <= 0:
                raise NbhdGeoError(f"must be a positive number of metres, got {cell_size!r}",
                                   argument="cell_size", fix="pass e.g. cell_size=25.0 or None")
            grid = Grid.covering(shapely.total_bounds(geoms), cell)
        gi, row, c0, c1 = _grid.rasterise(geoms, grid)
        name = codes[gi]
        e_name = np.concatenate([name, name])
        e_row = np.concatenate([row, row])
        e_col = np.concatenate([c0, c1])
        e_sign = np.concatenate([np.ones(len(gi)), -np.ones(len(gi))])
        e_draw = np.concatenate([gi, gi])
        order = np.lexsort((e_draw, e_sign, e_col, e_row, e_name))
        e_name, e_row, e_col = e_name[order], e_row[order], e_col[order]
        nxt = ((e_name[1:] == e_name[:-1]) & (e_row[1:] == e_row[:-1])
               & (e_col[1:] > e_col[:-1]))
        at = np.flatnonzero(nxt)
        return cls(grid=grid, names=pd.Index(uniq, name="name"), code=codes.astype(np.int64),
                   ev_drawing=e_draw[order].astype(np.int64), ev_sign=e_sign[order],
                   piece_event=at, piece_name=e_name[at].astype(np.int64),
                   piece_row=e_row[at].astype(np.int64), piece_c0=e_col[at].astype(np.int64),
                   piece_c1=e_col[at + 1].astype(np.int64))

    @property
    def n_names(self) -> int:
        """Number of names."""
        return len(self.names)

    @property
    def piece_area(self) -> np.ndarray:
        """Area of each piece in m²."""
        return (self.piece_c1 - self.piece_c0) * self.grid.cell**2

    def counts(self, weight: np.ndarray) -> np.ndarray:
        """Weighted number of drawings covering each piece (``weight`` per drawing)."""
        val = np.cumsum(weight[self.ev_drawing] * self.ev_sign)
        return val[self.piece_event]

    def totals(self, weight: np.ndarray) -> np.ndarray:
        """Weighted drawers per name."""
        return np.bincount(self.code, weights=weight, minlength=self.n_names)

    def core(self, weight: np.ndarray, threshold: float) -> np.ndarray:
        """Boolean mask of pieces in each name's core (agreement ≥ ``threshold``)."""
        tot = self.totals(weight)
        scale = max(float(np.abs(weight).max(initial=1.0)), 1.0)
        c = self.counts(weight)
        return (c > EPS * scale) & (c >= threshold * tot[self.piece_name] - EPS * scale)

    def area(self, mask: np.ndarray) -> np.ndarray:
        """Area per name of the pieces in ``mask``."""
        return np.bincount(self.piece_name, weights=self.piece_area * mask,
                           minlength=self.n_names)

    def iou(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """IoU per name of two piece masks (NaN where both are empty)."""
        inter = self.area(a & b)
        union = self.area(a | b)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, inter / np.where(union > 0, union, 1.0), np.nan)

    def geometry(self, mask: np.ndarray) -> np.ndarray:
        """One (Multi)Polygon per name: the union of its pieces in ``mask``."""
        return _grid.runs_to_geometry(self.piece_row[mask], self.piece_c0[mask],
                                      self.piece_c1[mask], self.grid,
                                      self.piece_name[mask], self.n_names)

    def resample(self, rng: np.random.Generator) -> np.ndarray:
        """Bootstrap counts per drawing: each name's drawings drawn with replacement."""
        n = np.bincount(self.code, minlength=self.n_names)
        order = np.argsort(self.code, kind="stable")
        start = np.concatenate([[0], np.cumsum(n)[:-1]])
        pick = start[self.code] + np.floor(rng.random(len(self.code)) * n[self.code]
                                           ).astype(np.int64)
        return np.bincount(order[pick], minlength=len(self.code)).astype(float)
