"""Engagement coverage: how many drawings per 1,000 residents each statutory unit gave.

Engagement reaches some streets far more than others. :func:`engagement_coverage`
counts the drawings (or survey points) of each statutory unit (e.g. LSOA) and divides
by its residents. Each drawing counts once: for the unit of the respondent's home
when it is known (``home_col``), otherwise for the ground it covers, shared between
the units it overlaps by the share of its people (or area) in each. Units where few
were heard *and* deprivation is high are flagged ``unheard``: the places most likely
to be left out of a map drawn by those who turned up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo import settings
from nbhd_geo.errors import ColumnError, InputError, NbhdGeoError, ValidationError
from nbhd_geo.io.disclosure import complementary_cells, suppress_small_counts
from nbhd_geo.overlay.apportion import apportion
from nbhd_geo.voices._crs import crs_hint, prepare_layer, voices_crs
from nbhd_geo.voices.options import DEFAULT_UNHEARD, UnheardRule

__all__ = ["Coverage", "engagement_coverage"]

Spread = Literal["population", "area"]


@dataclass(frozen=True)
class Coverage:
    """The result of :func:`engagement_coverage`.

    Attributes
    ----------
    table
        One row per unit (index: unit id): ``population``, ``from_home`` (drawings
        whose respondent lives there), ``from_drawing`` (share of drawings without a
        home area, spread over the ground they cover), ``drawings`` (the sum),
        ``per_1000`` (drawings per 1,000 residents), ``imd_decile`` (if deprivation
        was given), ``low_coverage``, ``deprived`` and ``unheard``.
    conservation
        ``n_drawings`` counted, ``allocated`` (Σ ``drawings``), ``home_outside``
        (home area not among the units), ``outside_units`` (the part of drawings
        without a home area lying outside every unit) and ``unassigned`` (points
        outside every unit). ``allocated`` + the last three = ``n_drawings``.
    low_per_1000
        The coverage below which a unit counts as low.
    deprived_deciles
        IMD deciles counted as deprived (1 = most deprived 10 % nationally).
    spread
        How drawings without a home area were shared out.
    """

    table: pd.DataFrame
    conservation: dict[str, float]
    low_per_1000: float
    deprived_deciles: int
    spread: str

    def to_frame(self) -> pd.DataFrame:
        """Return the per-unit table (a copy, exact counts: not for publication)."""
        return self.table.copy()

    def published(self, threshold: int | None = None) -> pd.DataFrame:
        """Return the table for publication: drawing counts below ``threshold`` suppressed.

        Counts of drawings ``0 < x < threshold`` (default
        ``settings.small_count_threshold``) become ``"<10"``; the rate of a suppressed
        unit is blanked too, since rate × population would give the count back. A row
        shows its three counts or none (``drawings`` is the sum of the other two), and
        when only one row would be hidden the next smallest is hidden too
        (``"suppressed"`` where its count is not small), since the rows add up to the
        drawings counted. Populations are published ONS figures and are kept.
        """
        limit = settings.small_count_threshold if threshold is None else int(threshold)
        cols = ["from_home", "from_drawing", "drawings"]
        out = suppress_small_counts(self.table.reset_index(), cols, threshold=limit)
        hidden = np.zeros(len(out), dtype=bool)
        for col in cols:
            hidden |= out[col].astype(str).str.startswith("<").to_numpy()
        # A row's drawings are its two parts added up: with one of the three hidden, the
        # other two give it back, so a row shows all three or none.
        # The rows add up to a total printed beside the table (drawings counted), so one
        # hidden row alone would be that total minus the rest: hide the next smallest too.
        hidden |= complementary_cells(hidden, self.table["drawings"].to_numpy(float))
        for col in cols:
            value = self.table[col].to_numpy(float)
            text = np.array(out[col].tolist(), dtype=object)
            text[hidden & (value > 0) & (value < limit)] = f"<{limit}"
            text[hidden & (value >= limit)] = "suppressed"
            out[col] = text
        rate = self.table["per_1000"].round(1).to_numpy().astype(object)
        rate[hidden] = ""
        out["per_1000"] = rate
        out["population"] = self.table["population"].round(0).to_numpy()
        return out

    def unheard(self) -> pd.DataFrame:
        """Units flagged unheard, least covered first."""
        t = self.table[self.table["unheard"]]
        return t.sort_values(["per_1000", "population"], ascending=[True, False],
                             kind="stable")


def _deciles(deprivation: Any, ids: pd.Index) -> pd.Series | None:
    if deprivation is None:
        return None
    # An IMDTable (duck-typed: voices and deprivation are independent packages).
    if isinstance(getattr(deprivation, "long", None), pd.DataFrame):
        long = deprivation.long
        dec = long.loc[long["domain"] == "imd"].set_index("lsoa_code")["decile"]
    else:
        dec = pd.Series(deprivation)
    dec = pd.to_numeric(dec, errors="coerce").reindex(ids)
    bad = dec.isna() | ~dec.between(1, 10)
    if bad.any():
        raise NbhdGeoError("has no IMD decile (1-10) for some units", argument="deprivation",
                           ids=ids[bad.to_numpy()],
                           fix="pass deciles for every unit (same codes and LSOA vintage as "
                               "`units`), or an IMDTable of that vintage")
    return dec.astype(int)


def engagement_coverage(
    drawings: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    unit_population: str | pd.Series,
    unit_id: str | None = None,
    home_col: str | None = None,
    spread: Spread = "population",
    deprivation: Any = None,
    unheard: UnheardRule = DEFAULT_UNHEARD,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    crs: object | None = None,
) -> Coverage:
    """Count drawings per 1,000 residents by statutory unit and flag the unheard.

    Parameters
    ----------
    drawings
        Drawings (polygons) or survey responses (points), one per respondent, indexed
        by id. A point counts for the unit that holds it.
    units
        Statutory units (e.g. LSOAs) with a population.
    unit_population
        Column of ``units`` (or Series by unit id) with residents per unit.
    unit_id
        Id column of ``units``; ``None`` uses the index.
    home_col
        Optional column of ``drawings`` with the respondent's home unit id (e.g. home
        LSOA code). Where it is filled, the drawing counts for that unit; where it is
        empty, for the ground drawn.
    spread
        How a drawing without a home area is shared between the units it covers:
        ``"population"`` (default: by the residents of each unit inside it, from
        ``unit_population`` and, if given, the finer ``weights``) or ``"area"``. A
        drawing covering no residents falls back to area.
    deprivation
        IMD deciles per unit (Series by unit id, 1 = most deprived) or an
        :class:`~nbhd_geo.deprivation.imd.IMDTable` of the units' LSOA vintage.
    unheard
        :class:`~nbhd_geo.voices.options.UnheardRule`: coverage at or below
        ``low_per_1000`` drawings per 1,000 residents counts as low (by default the
        ``low_quantile``, 0.25, quantile of the units' coverage); units in national
        deciles ``1 … deprived_deciles`` (2) count as deprived.
    weights, weight_col
        Finer population (Output Areas, address points) for ``spread="population"``,
        as for :func:`nbhd_geo.apportion`.
    crs
        Projected working CRS; default: the drawings' CRS when projected, else the
        units' when projected, else ``settings.working_crs`` (only layers in degrees
        are moved to the British National Grid).

    Returns
    -------
    Coverage

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> lsoa = gpd.GeoDataFrame({"pop": [1000, 2000]}, index=["L1", "L2"],
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> d = gpd.GeoDataFrame({"home": ["L1", "L1", None]}, index=["d1", "d2", "d3"],
    ...     geometry=[shapely.box(0, 0, 50, 50)] * 2 + [shapely.box(50, 0, 150, 100)],
    ...     crs=27700)
    >>> cov = engagement_coverage(d, lsoa, unit_population="pop", home_col="home")
    >>> cov.table[["from_home", "from_drawing", "drawings", "per_1000"]].round(3)
             from_home  from_drawing  drawings  per_1000
    unit_id
    L1        2.0         0.333     2.333     2.333
    L2        0.0         0.667     0.667     0.333
    """
    if not isinstance(drawings, gpd.GeoDataFrame) or drawings.crs is None:
        raise InputError("must be a GeoDataFrame with a CRS", argument="drawings",
                         fix="read it with nbhd_geo.read_drawings or read_layer")
    if spread not in ("population", "area"):
        raise NbhdGeoError(f"unknown spread {spread!r}", argument="spread",
                           fix="use 'population' or 'area'")
    if home_col is not None and home_col not in drawings.columns:
        raise ColumnError(f"has no column {home_col!r}", argument="home_col",
                          fix=f"choose one of {[c for c in drawings.columns if c != 'geometry']}")
    if drawings.index.duplicated().any():
        raise NbhdGeoError("drawing ids are not unique", argument="drawings",
                           ids=drawings.index[drawings.index.duplicated()].unique(),
                           fix="read them with nbhd_geo.read_drawings, which makes ids unique")
    target = voices_crs(crs, drawings, units)
    u = prepare_layer(units, argument="units", id_col=unit_id, crs=target)
    ids = pd.Index(u.ids, name=u.id_name if u.id_name != "index" else "unit_id")
    pop = _pop_series(units, unit_population, ids)
    home = (drawings[home_col] if home_col is not None
            else pd.Series(pd.NA, index=drawings.index, dtype=object))
    has_home = home.notna().to_numpy() & home.astype("string").str.strip().ne("").fillna(
        False).to_numpy()
    home_known = has_home & home.isin(ids).to_numpy()
    from_home = home[home_known].value_counts().reindex(ids, fill_value=0).astype(float)
    rest = drawings[~has_home]
    geoms = np.asarray(rest.to_crs(target).geometry.array, dtype=object) if len(rest) else \
        np.zeros(0, dtype=object)
    is_point = shapely.get_type_id(geoms) == 0
    from_drawing = pd.Series(0.0, index=ids)
    unassigned = 0.0
    if is_point.any():
        tree = shapely.STRtree(u.geoms)
        ip, iu = tree.query(geoms[is_point], predicate="intersects")
        first = np.unique(ip, return_index=True)[1]  # one unit per point (first in order)
        from_drawing += np.bincount(iu[first], minlength=len(ids))
        unassigned = float(is_point.sum() - len(first))
    outside = 0.0
    poly = rest[~is_point]
    if len(poly):
        try:
            got = _spread(poly, u.frame.set_index(ids), ids, pop, spread, weights,
                          weight_col, target)
        except ValidationError as err:
            better = crs_hint(err, poly, "drawings", target)
            if better is None:
                raise
            raise better from err
        from_drawing += got.reindex(ids, fill_value=0.0)
        outside = float(len(poly) - got.sum())
    table = pd.DataFrame({"population": pop.to_numpy(), "from_home": from_home.to_numpy(),
                          "from_drawing": from_drawing.to_numpy()}, index=ids)
    table["drawings"] = table["from_home"] + table["from_drawing"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["per_1000"] = np.where(table["population"] > 0,
                                     1000 * table["drawings"] / table["population"], np.nan)
    low = (float(np.nanquantile(table["per_1000"], unheard.low_quantile))
           if unheard.low_per_1000 is None else float(unheard.low_per_1000))
    table["low_coverage"] = (table["per_1000"] <= low + 1e-12) & (table["population"] > 0)
    dec = _deciles(deprivation, ids)
    if dec is not None:
        table["imd_decile"] = dec.to_numpy()
        table["deprived"] = table["imd_decile"] <= unheard.deprived_deciles
        table["unheard"] = table["low_coverage"] & table["deprived"]
    else:
        table["deprived"] = False
        table["unheard"] = False
    conservation = {"n_drawings": float(len(drawings)), "allocated": float(table["drawings"].sum()),
                    "home_outside": float((has_home & ~home_known).sum()),
                    "outside_units": outside, "unassigned": unassigned}
    return Coverage(table=table, conservation=conservation, low_per_1000=low,
                    deprived_deciles=int(unheard.deprived_deciles), spread=spread)


def _pop_series(units: gpd.GeoDataFrame, unit_population: str | pd.Series,
                ids: pd.Index) -> pd.Series:
    if isinstance(unit_population, str):
        if unit_population not in units.columns:
            raise ColumnError(f"has no column {unit_population!r}", argument="unit_population",
                              fix=f"choose one of {[c for c in units.columns if c != 'geometry']}")
        out = pd.Series(units[unit_population].to_numpy(), index=ids)
    else:
        out = pd.Series(unit_population).reindex(ids)
    out = pd.to_numeric(out, errors="coerce").astype(float)
    bad = ~np.isfinite(out.to_numpy()) | (out.to_numpy() < 0)
    if bad.any():
        raise NbhdGeoError("unit population is missing, negative or not a number",
                           argument="unit_population", ids=ids[bad],
                           fix="give every unit a population ≥ 0")
    return out


def _spread(poly: gpd.GeoDataFrame, units: gpd.GeoDataFrame, ids: pd.Index, pop: pd.Series,
            spread: str, weights: gpd.GeoDataFrame | None, weight_col: str | None,
            target: object) -> pd.Series:
    """Share of each drawing in each unit (by people or area), summed per unit."""
    frame = gpd.GeoDataFrame(geometry=np.asarray(poly.geometry.array), crs=poly.crs)
    frame.index = pd.RangeIndex(len(frame), name="d")
    ap = apportion(frame, units, unit_population=pop, weights=weights, weight_col=weight_col,
                   crs=target)
    t = ap.table
    d_area = shapely.area(np.asarray(frame.to_crs(target).geometry.array))
    by_area = t["overlap_m2"].to_numpy() / d_area[t["area_id"].to_numpy()]
    if spread == "area":
        share = by_area
    else:
        people = t["population"].to_numpy()
        tot = np.bincount(t["area_id"].to_numpy(), weights=people, minlength=len(frame))
        inside = np.bincount(t["area_id"].to_numpy(), weights=by_area, minlength=len(frame))
        denom = tot[t["area_id"].to_numpy()]
        # people-weighted share of the part inside the units; no people: fall back to area
        share = np.where(denom > 0, people / np.where(denom > 0, denom, 1.0)
                         * inside[t["area_id"].to_numpy()], by_area)
    return pd.Series(share).groupby(t["unit_id"].to_numpy()).sum()
