"""A councillor's view: which named neighbourhoods each ward holds, and how much of them.

Residents name neighbourhoods; councillors represent wards. :func:`councillor_view`
cuts every neighbourhood (drawn, or a consensus core) by the wards and counts the
people in each piece, apportioning statutory units (LSOAs, or Output Areas) by where
their people live. For each ward it says which neighbourhoods it holds and with what
share of *their* people ("72 % of Old Town's residents live in Castle ward"), and what
share of the ward's own people live in each.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import NbhdGeoError, NbhdGeoWarning, format_ids
from nbhd_geo.overlay.apportion import apportion, check_reuse
from nbhd_geo.overlay.crosswalk import crosswalk as _crosswalk
from nbhd_geo.voices._crs import prepare_layer, voices_crs
from nbhd_geo.voices.options import (
    DEFAULT_REUSE,
    DEFAULT_WARD_COLUMNS,
    ReusedCrosswalks,
    WardColumns,
)

__all__ = ["CouncillorView", "councillor_view"]


@dataclass(frozen=True)
class CouncillorView:
    """The result of :func:`councillor_view`.

    Attributes
    ----------
    table
        One row per (ward, neighbourhood) overlapping: ``ward``, ``ward_name``,
        ``neighbourhood``, ``area_m2``, ``population`` (people in both),
        ``share_of_neighbourhood`` (of the neighbourhood's people), ``share_of_ward``
        (of the ward's people) and ``held`` (``share_of_neighbourhood`` ≥
        ``min_share``).
    wards
        Per ward: ``ward_name``, ``population``, ``n_neighbourhoods`` held,
        ``population_in_neighbourhoods`` (Σ over held ones; more than the ward's
        population where neighbourhoods overlap) and ``summary`` (plain words).
    neighbourhoods
        Per neighbourhood: ``population``, ``n_wards`` (wards holding ≥
        ``min_share``), ``largest_ward``, ``largest_share`` and ``note`` (why the
        shares are missing: the neighbourhood touches no ward, or holds no residents
        of ``units``, so its shares are 0 / 0; ``""`` otherwise). Such neighbourhoods
        also raise a :class:`~nbhd_geo.errors.NbhdGeoWarning` naming them.
    min_share
        The share of a neighbourhood's people a ward must hold to count.
    weighted_by
        How people were placed: ``"area"`` (units by area), ``"points"`` (units
        shared by address points) or ``"fine polygons"`` (the finer layer's counts).
    """

    table: pd.DataFrame
    wards: pd.DataFrame
    neighbourhoods: pd.DataFrame
    min_share: float
    weighted_by: str

    def to_frame(self) -> pd.DataFrame:
        """Return the (ward, neighbourhood) table (a copy)."""
        return self.table.copy()


def councillor_view(
    neighbourhoods: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    unit_population: str | pd.Series,
    name_col: str | None = None,
    ward_cols: WardColumns = DEFAULT_WARD_COLUMNS,
    unit_id: str | None = None,
    weights: gpd.GeoDataFrame | None = None,
    weight_col: str | None = None,
    min_share: float = 0.05,
    crs: object | None = None,
    reuse: ReusedCrosswalks = DEFAULT_REUSE,
) -> CouncillorView:
    """Per ward: the named neighbourhoods it holds, with the share of their people.

    Parameters
    ----------
    neighbourhoods
        One polygon per named neighbourhood (e.g. the 50 % consensus cores, or
        best-fit areas); they may overlap each other.
    wards
        Electoral wards.
    units
        Statutory units with a population (LSOAs, or Output Areas), apportioned to
        each neighbourhood ∩ ward piece with :func:`nbhd_geo.apportion`.
    unit_population
        Column of ``units`` (or Series by unit id) with residents.
    name_col
        Neighbourhood name column; ``None`` uses the index.
    ward_cols
        :class:`~nbhd_geo.voices.options.WardColumns`: the ward ``code`` and (optional)
        ``name`` columns; by default the index is the code, and names are the codes.
    unit_id
        Unit id column; ``None`` uses the index.
    weights, weight_col
        Finer population to count people by where they live: address points with
        counts share each unit's ``unit_population`` as in :func:`nbhd_geo.apportion`;
        finer polygons (Output Areas) are counted directly, each spread evenly over
        its area (their own totals are used, not ``unit_population``).
    min_share
        A ward *holds* a neighbourhood when it has at least this share of its people
        (default 5 %, so slivers along a boundary are not listed).
    crs
        Projected working CRS; default: the first projected CRS of
        ``neighbourhoods``, ``wards``, ``units``, else ``settings.working_crs``.
    reuse
        :class:`~nbhd_geo.voices.options.ReusedCrosswalks`: the crosswalks of
        ``neighbourhoods`` × ``wards`` and ``neighbourhoods`` × ``units`` already
        computed (e.g. by the overlap report), reused instead of intersecting the same
        layers again.

    Returns
    -------
    CouncillorView

    Notes
    -----
    The people of a piece ``N ∩ W`` are ``Σ_u pop(u) · w(N ∩ W ∩ u) / w(u)`` with
    ``w`` the weighting population (area by default); those of ``N`` are computed the
    same way, so the shares of a neighbourhood over wards that tile it sum to 1.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> lsoa = gpd.GeoDataFrame({"pop": [1000, 2000]}, index=["L1", "L2"],
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]},
    ...     geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 200, 100)], crs=27700)
    >>> nbhd = gpd.GeoDataFrame({"name": ["Oakfield"]},
    ...     geometry=[shapely.box(50, 0, 200, 100)], crs=27700)
    >>> v = councillor_view(nbhd, wards, lsoa, unit_population="pop", name_col="name",
    ...                     ward_cols=WardColumns(code="ward"))
    >>> v.table[["ward", "neighbourhood", "population", "share_of_neighbourhood",
    ...          "share_of_ward"]].round(3)
      ward neighbourhood  population  share_of_neighbourhood  share_of_ward
    0   W1      Oakfield      1500.0                     0.6          0.75
    1   W2      Oakfield      1000.0                     0.4          1.00
    >>> print(v.wards.loc["W1", "summary"])
    W1 holds 1 neighbourhood: Oakfield (60% of its people).
    """
    if not 0 <= min_share <= 1:
        raise NbhdGeoError(f"must be a share in [0, 1], got {min_share!r}",
                           argument="min_share", fix="pass e.g. min_share=0.05")
    ward_id, ward_name = ward_cols.code, ward_cols.name
    crosswalk, unit_crosswalk = reuse.wards, reuse.units
    target = voices_crs(crs, neighbourhoods, wards, units)
    nb = prepare_layer(neighbourhoods, argument="neighbourhoods", id_col=name_col, crs=target)
    wd = prepare_layer(wards, argument="wards", id_col=ward_id, crs=target)
    names = wd.frame[ward_name].astype(str).to_numpy() if ward_name else wd.ids.astype(str)
    if crosswalk is not None:  # the caller's neighbourhoods x wards: not intersected again
        cw = check_reuse(crosswalk, nb.ids, wd.ids)
    else:
        cw = _crosswalk(nb.frame, wd.frame, source_id=name_col, target_id=ward_id, crs=target,
                        sliver_tol_m2=0.0)
    t = cw.table
    inb = pd.Index(nb.ids).get_indexer(t["source_id"])
    iwd = pd.Index(wd.ids).get_indexer(t["target_id"])
    pieces = shapely.intersection(nb.geoms[inb], wd.geoms[iwd])
    pieces = np.array([_polygonal(g) for g in pieces], dtype=object)
    ok = ~shapely.is_empty(pieces)
    piece_frame = gpd.GeoDataFrame({"pid": np.arange(len(pieces))[ok]},
                                   geometry=pieces[ok], crs=target)
    fine = weights is not None and not bool(
        (shapely.get_type_id(np.asarray(weights.geometry.array)) == 0).all())
    if fine and weights is not None:
        # finer polygons with counts (Output Areas): their own people, spread by area
        # inside each one. (Sharing the units' totals by them would intersect every
        # piece with every unit, and GEOS turns the exact engine's 1e-9 m² overlaps
        # into lines there.)
        kw: dict[str, Any] = {"unit_population": weight_col, "crs": target}
        layer = weights.reset_index(drop=True)
    else:
        kw = {"unit_id": unit_id, "unit_population": unit_population, "weights": weights,
              "weight_col": weight_col, "crs": target}
        layer = units
    ap_piece = apportion(piece_frame, layer, area_id="pid", **kw)
    ap_nb = apportion(nb.frame, layer, area_id=name_col,
                      crosswalk=None if fine else unit_crosswalk, **kw)
    ap_wd = apportion(wd.frame, layer, area_id=ward_id, **kw)
    piece_pop = (ap_piece.table.groupby("area_id")["population"].sum()
                 .reindex(np.arange(len(pieces)), fill_value=0.0).to_numpy())
    nb_pop = ap_nb.by_area()["population"].reindex(nb.ids, fill_value=0.0)
    wd_pop = ap_wd.by_area()["population"].reindex(wd.ids, fill_value=0.0)
    table = pd.DataFrame({"ward": t["target_id"].to_numpy(), "ward_name": names[iwd],
                          "neighbourhood": t["source_id"].to_numpy(),
                          "area_m2": t["area_m2"].to_numpy(), "population": piece_pop})
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share_of_neighbourhood"] = piece_pop / nb_pop.to_numpy()[inb]
        table["share_of_ward"] = piece_pop / wd_pop.to_numpy()[iwd]
    table["held"] = table["share_of_neighbourhood"] >= min_share - 1e-12
    table = table.sort_values(["ward", "share_of_neighbourhood", "neighbourhood"],
                              ascending=[True, False, True], kind="stable").reset_index(drop=True)
    return CouncillorView(table=table, wards=_wards(table, wd.ids, names, wd_pop),
                          neighbourhoods=_neighbourhoods(table, nb.ids, nb_pop),
                          min_share=float(min_share),
                          weighted_by="fine polygons" if fine else ap_piece.by)


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    if shapely.get_type_id(g) in (3, 6):
        return g
    parts = shapely.get_parts(g)
    polys = parts[np.isin(shapely.get_type_id(parts), (3, 6))]
    return shapely.union_all(polys) if len(polys) else shapely.Polygon()


def _wards(table: pd.DataFrame, ids: np.ndarray, names: np.ndarray,
           pop: pd.Series) -> pd.DataFrame:
    held = table[table["held"]]
    out = pd.DataFrame({"ward_name": names, "population": pop.to_numpy()},
                       index=pd.Index(ids, name="ward"))
    out["n_neighbourhoods"] = held.groupby("ward").size().reindex(ids, fill_value=0).to_numpy()
    out["population_in_neighbourhoods"] = (held.groupby("ward")["population"].sum()
                                           .reindex(ids, fill_value=0.0).to_numpy())
    text = []
    for w, name in zip(ids, names, strict=True):
        h = held[held["ward"] == w]
        if not len(h):
            text.append(f"{name} holds no named neighbourhood.")
            continue
        parts = ", ".join(f"{r.neighbourhood} ({r.share_of_neighbourhood:.0%} of its people)"
                          for r in h.itertuples())
        noun = "neighbourhood" if len(h) == 1 else "neighbourhoods"
        text.append(f"{name} holds {len(h)} {noun}: {parts}.")
    out["summary"] = text
    return out


def _neighbourhoods(table: pd.DataFrame, ids: np.ndarray, pop: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame({"population": pop.to_numpy()}, index=pd.Index(ids, name="neighbourhood"))
    held = table[table["held"]]
    out["n_wards"] = held.groupby("neighbourhood").size().reindex(ids, fill_value=0).to_numpy()
    top = (table.sort_values(["neighbourhood", "share_of_neighbourhood", "ward"],
                             ascending=[True, False, True], kind="stable")
           .groupby("neighbourhood").head(1).set_index("neighbourhood"))
    out["largest_ward"] = top["ward"].reindex(ids).to_numpy()
    out["largest_share"] = top["share_of_neighbourhood"].reindex(ids).to_numpy()
    in_ward = pd.Index(ids).isin(table["neighbourhood"])
    people = out["population"].to_numpy() > 0
    out["note"] = np.where(~in_ward, "touches no ward: no shares",
                           np.where(~people, "no residents of any unit inside it: shares "
                                             "undefined (NaN)", ""))
    empty = out.index[~in_ward | ~people]
    if len(empty):
        warnings.warn(NbhdGeoWarning(
            f"{len(empty)} neighbourhoods touch no ward or hold no residents of `units`, so "
            f"their shares are NaN (see the `note` column): {format_ids(empty)}. Check that "
            "the layers cover the same place (and CRS)"), stacklevel=3)
    return out
