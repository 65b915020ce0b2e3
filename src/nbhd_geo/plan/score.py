"""Score footprint plans and check their hard constraints independently of the optimiser.

:func:`check_plan` shares no code with the optimiser: it rebuilds contiguity from the
geometries with a different formula (shared length = (P(a) + P(b) − P(a ∪ b)) / 2 on
shapes widened by half the tolerance) and re-adds the populations itself, so a bug in the
optimiser's adjacency or bookkeeping cannot hide a broken plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.overlay.apportion import apportion

__all__ = [
    "WHOLE_THRESHOLD",
    "read_threshold",
    "NeighbourhoodSplits",
    "neighbourhood_people",
    "pcn_alignment",
    "polsby_popper",
    "PlanCheck",
    "check_plan",
]


WHOLE_THRESHOLD = 0.95
"""The one definition of *kept whole*: a resident neighbourhood is kept whole by a plan
when at least this share of its area-apportioned residents live in one footprint.

Used to choose the recommended plan, in every scorecard, by the certified optimiser and
by :func:`check_plan`; each of them takes the threshold as a parameter (``whole_threshold``).
Area-apportioned residents are not exact (a unit's people are shared by area), so 100 %
would call a neighbourhood split for a sliver drawn over a boundary; 95 % allows for it.
"""


def read_threshold(value: Any, argument: str = "whole_threshold") -> float:
    """Check a kept-whole threshold: a share in (0.5, 1].

    Above one half, a neighbourhood can be whole in at most one footprint.

    Examples
    --------
    >>> read_threshold(0.9)
    0.9
    """
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = float("nan")
    if not 0.5 < t <= 1.0:
        raise NbhdGeoError(
            f"must be a share in (0.5, 1], got {value!r}", argument=argument,
            fix="pass e.g. 0.95 (95 % of a neighbourhood's residents in one footprint)",
        )
    return t


def _whole(in_main: np.ndarray, total: np.ndarray, threshold: float) -> np.ndarray:
    return np.asarray(in_main) >= threshold * np.asarray(total) * (1 - 1e-9) - 1e-6


def neighbourhood_people(
    neighbourhoods: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    *,
    population: str | pd.Series,
    unit_id: str | None = None,
    neighbourhood_id: str | None = None,
) -> pd.DataFrame:
    """People of each resident neighbourhood living in each unit.

    The exact crosswalk (:func:`nbhd_geo.apportion`) shares each unit's population by the
    share of it inside the neighbourhood; a unit's people are conserved exactly.

    Returns
    -------
    pandas.DataFrame
        ``neighbourhood``, ``unit``, ``people`` (rows with people > 0).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> units = gpd.GeoDataFrame({"code": ["A", "B"], "pop": [1000, 500]},
    ...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=27700)
    >>> nb = gpd.GeoDataFrame({"name": ["Oakfield"]},
    ...     geometry=[shapely.box(50, 0, 150, 100)], crs=27700)
    >>> neighbourhood_people(nb, units, population="pop", unit_id="code",
    ...                      neighbourhood_id="name")
      neighbourhood unit  people
    0      Oakfield    A   500.0
    1      Oakfield    B   250.0
    """
    ap = apportion(
        neighbourhoods, units, area_id=neighbourhood_id, unit_id=unit_id,
        unit_population=population,
    )
    t = ap.table.rename(
        columns={"area_id": "neighbourhood", "unit_id": "unit", "population": "people"}
    )[["neighbourhood", "unit", "people"]]
    return t[t["people"] > 0].reset_index(drop=True)


class NeighbourhoodSplits:
    """Fast split scores of many plans over one ``neighbourhood_people`` table.

    Parameters
    ----------
    people
        The table from :func:`neighbourhood_people`.
    unit_ids
        The units plans are given over (labels arrays align with it).
    threshold
        Kept-whole threshold (:data:`WHOLE_THRESHOLD`): a neighbourhood is whole when at
        least this share of its residents are in one footprint.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> people = pd.DataFrame({"neighbourhood": ["n1", "n1", "n2"],
    ...                        "unit": ["A", "B", "C"], "people": [300.0, 100.0, 50.0]})
    >>> s = NeighbourhoodSplits(people, np.array(["A", "B", "C"]))
    >>> s.score(np.array([0, 1, 1]))["residents_whole"]
    50.0
    >>> s.score(np.array([0, 0, 1]))["residents_whole"]
    450.0
    >>> NeighbourhoodSplits(people, np.array(["A", "B", "C"]), threshold=0.75).score(
    ...     np.array([0, 1, 1]))["residents_whole"]
    450.0
    """

    def __init__(self, people: pd.DataFrame, unit_ids: np.ndarray,
                 threshold: float = WHOLE_THRESHOLD) -> None:
        self.threshold = read_threshold(threshold)
        self.names, self.row = np.unique(people["neighbourhood"].to_numpy(), return_inverse=True)
        col = pd.Index(unit_ids).get_indexer(people["unit"].to_numpy())
        keep = col >= 0
        self.row, self.col = self.row[keep], col[keep]
        self.val = people["people"].to_numpy(float)[keep]
        self.total = np.bincount(self.row, weights=self.val, minlength=len(self.names))

    def matrix(self, labels: np.ndarray) -> np.ndarray:
        """People of each neighbourhood (rows) in each footprint (columns)."""
        codes, lab = np.unique(np.asarray(labels), return_inverse=True)
        out = np.zeros((len(self.names), len(codes)))
        np.add.at(out, (self.row, lab[self.col]), self.val)
        return out

    def score(self, labels: np.ndarray) -> dict[str, float]:
        """Residents kept whole (at ``threshold``), people off their main footprint, counts."""
        m = self.matrix(labels)
        mx = m.max(axis=1) if m.size else np.zeros(len(self.names))
        whole = _whole(mx, self.total, self.threshold)
        tot = float(self.total.sum())
        return {
            "residents_in_neighbourhoods": tot,
            "residents_whole": float(self.total[whole].sum()),
            "share_whole": float(self.total[whole].sum() / tot) if tot else float("nan"),
            "split_people": float((self.total - mx).sum()),
            "neighbourhoods_whole": int(whole.sum()),
            "neighbourhoods_split": int((~whole).sum()),
        }

    def table(self, labels: np.ndarray) -> pd.DataFrame:
        """Per neighbourhood: people, footprints touched, main footprint, kept whole."""
        codes = np.unique(np.asarray(labels))
        m = self.matrix(labels)
        mx = m.max(axis=1)
        return pd.DataFrame(
            {
                "neighbourhood": self.names,
                "people": self.total,
                "n_footprints": (m > 1e-9).sum(axis=1),
                "main_footprint": codes[m.argmax(axis=1)],
                "people_in_main": mx,
                "share_in_main": np.divide(mx, self.total, out=np.full(len(mx), np.nan),
                                           where=self.total > 0),
                "whole": _whole(mx, self.total, self.threshold),
            }
        )


def pcn_alignment(registrations: pd.DataFrame, assignment: pd.Series) -> dict[str, Any]:
    """Share of registered patients whose PCN is their footprint's main PCN.

    Parameters
    ----------
    registrations
        ``unit``, ``pcn``, ``patients`` (patients registered with the PCN living in the unit).
    assignment
        Footprint of each unit, indexed by unit id.

    Examples
    --------
    >>> regs = pd.DataFrame({"unit": ["A", "A", "B"], "pcn": ["P1", "P2", "P2"],
    ...                      "patients": [90, 10, 100]})
    >>> pcn_alignment(regs, pd.Series({"A": "F1", "B": "F2"}))["pcn_alignment"]
    0.95
    """
    t = registrations.assign(footprint=assignment.reindex(registrations["unit"]).to_numpy())
    t = t[t["footprint"].notna()]
    by = t.groupby(["footprint", "pcn"], sort=True)["patients"].sum()
    main = by.groupby(level="footprint").max()
    total = float(by.sum())
    return {
        "pcn_alignment": float(main.sum() / total) if total else float("nan"),
        "main_pcn": by.groupby(level="footprint").idxmax().map(lambda x: x[1]),
    }


def polsby_popper(geoms: Any) -> np.ndarray:
    """Polsby–Popper compactness 4πA / P² (1 for a disc).

    Examples
    --------
    >>> import shapely
    >>> polsby_popper([shapely.box(0, 0, 1, 1)]).round(3).tolist()
    [0.785]
    """
    g = np.asarray(geoms, dtype=object)
    per = shapely.length(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(per > 0, 4 * np.pi * shapely.area(g) / per**2, np.nan)


# --------------------------------------------------------------------------- checker


@dataclass(frozen=True)
class PlanCheck:
    """Result of :func:`check_plan`: ``ok`` and every problem found, plus per footprint.

    With ``people`` given, ``neighbourhoods`` has each neighbourhood's ``people``,
    ``people_in_main`` and ``whole`` (at ``whole_threshold``), and ``residents_whole`` /
    ``share_whole`` sum them, recomputed without the optimiser's code.
    """

    ok: bool
    problems: list[str]
    footprints: pd.DataFrame = field(default_factory=pd.DataFrame)
    neighbourhoods: pd.DataFrame = field(default_factory=pd.DataFrame)
    residents_whole: float = float("nan")
    share_whole: float = float("nan")


def _pieces(members: np.ndarray, pairs: set[tuple[int, int]]) -> int:
    parent = {int(m): int(m) for m in members}

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for a, b in pairs:
        if a in parent and b in parent:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return len({find(m) for m in parent})


def check_plan(
    units: gpd.GeoDataFrame,
    assignment: pd.Series | Mapping[Any, Any],
    *,
    population: str | pd.Series,
    size: tuple[float, float],
    unit_id: str | None = None,
    within: str | pd.Series | None = None,
    min_shared_m: float = 10.0,
    tol_m: float = 0.5,
    bridges: pd.DataFrame | None = None,
    people: pd.DataFrame | None = None,
    whole_threshold: float = WHOLE_THRESHOLD,
) -> PlanCheck:
    """Check a plan's hard constraints from scratch, and score it on the same definition.

    Checks: every unit in exactly one footprint (and no unknown units); each footprint's
    population within ``size``; each footprint rook-contiguous (shared boundary ≥
    ``min_shared_m``, gaps up to ``tol_m`` bridged; explicit ``bridges`` pairs count);
    each footprint inside one ``within`` group. With ``people`` (the
    :func:`neighbourhood_people` table), also counts the residents kept whole: a
    neighbourhood is whole when at least ``whole_threshold`` of its residents are in one
    footprint (:data:`WHOLE_THRESHOLD`).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> units = gpd.GeoDataFrame({"pop": [10, 10, 10]}, index=["a", "b", "c"],
    ...     geometry=[shapely.box(0, 0, 1e3, 1e3), shapely.box(1e3, 0, 2e3, 1e3),
    ...               shapely.box(3e3, 0, 4e3, 1e3)], crs=27700)
    >>> check_plan(units, {"a": 1, "b": 1, "c": 2}, population="pop", size=(5, 25)).ok
    True
    >>> check_plan(units, {"a": 1, "b": 2, "c": 1}, population="pop", size=(5, 25)).problems
    ["footprint 1 is in 2 pieces (units 'a', 'c')"]
    """
    prep = prepare_polygons(units, argument="units", id_col=unit_id)
    ids = pd.Index(prep.ids)
    assign = pd.Series(assignment)
    problems: list[str] = []
    if assign.index.has_duplicates:
        dup = assign.index[assign.index.duplicated()].unique().tolist()
        problems.append(f"units assigned more than once: {dup[:10]}")
        assign = assign[~assign.index.duplicated()]
    missing = ids.difference(assign.index)
    if len(missing):
        problems.append(f"units in no footprint: {missing.tolist()[:10]} ({len(missing)})")
    extra = assign.index.difference(ids)
    if len(extra):
        problems.append(f"assigned ids that are not units: {extra.tolist()[:10]}")
    if assign.isna().any():
        problems.append(f"units with a missing footprint: {assign.index[assign.isna()][:10]}")
    pop = (
        pd.to_numeric(prep.frame[population], errors="coerce").to_numpy(float)
        if isinstance(population, str)
        else pd.Series(population).reindex(ids).to_numpy(float)
    )
    if not np.isfinite(pop).all():
        raise NbhdGeoError(
            "population has gaps", argument="population", ids=ids[~np.isfinite(pop)],
            fix="fill every unit's population",
        )
    lab = assign.reindex(ids)
    known = lab.notna().to_numpy()
    fp = pd.DataFrame({"footprint": lab.to_numpy()[known], "pop": pop[known]})
    per = fp.groupby("footprint", sort=True)["pop"].agg(["sum", "size"])
    per.columns = ["population", "n_units"]
    lo, hi = size
    for name, row in per.iterrows():
        if not (lo - 1e-6 <= row["population"] <= hi + 1e-6):
            problems.append(
                f"footprint {name} holds {row['population']:,.0f} people, outside "
                f"{lo:,.0f}–{hi:,.0f}"
            )
    # contiguity, rebuilt here from the geometries
    half = tol_m / 2
    g = prep.geoms if half == 0 else shapely.buffer(prep.geoms, half, quad_segs=4)
    perim = shapely.length(g)
    pieces = []
    for name, idx in fp.groupby("footprint", sort=True).groups.items():
        members = np.flatnonzero(known)[np.asarray(idx)]
        pairs: set[tuple[int, int]] = set()
        sub = g[members]
        tree = shapely.STRtree(sub)
        a, b = tree.query(sub, predicate="intersects")
        for x, y in zip(a.tolist(), b.tolist(), strict=True):
            if x >= y:
                continue
            gu, gv = sub[x], sub[y]
            shared = (perim[members[x]] + perim[members[y]] - shapely.union(gu, gv).length) / 2
            if shared >= min_shared_m:
                pairs.add((int(members[x]), int(members[y])))
        if bridges is not None and len(bridges):
            ba = ids.get_indexer(bridges["unit_a"])
            bb = ids.get_indexer(bridges["unit_b"])
            pairs.update((int(x), int(y)) for x, y in zip(ba, bb, strict=True))
        k = _pieces(members, pairs)
        pieces.append(k)
        if k > 1:
            shown = ", ".join(repr(v) for v in ids[members][:10])
            problems.append(f"footprint {name} is in {k} pieces (units {shown})")
    per["pieces"] = pieces
    if within is not None:
        grp = (
            prep.frame[within].to_numpy()
            if isinstance(within, str)
            else pd.Series(within).reindex(ids).to_numpy()
        )
        fg = pd.DataFrame({"footprint": lab.to_numpy()[known], "group": grp[known]})
        n_groups = fg.groupby("footprint", sort=True)["group"].nunique()
        per["groups"] = n_groups
        for name in n_groups.index[n_groups > 1]:
            problems.append(f"footprint {name} crosses {n_groups[name]} 'within' groups")
    nb = pd.DataFrame()
    kept = share = float("nan")
    if people is not None:
        thr = read_threshold(whole_threshold)
        t = people.assign(footprint=assign.reindex(people["unit"]).to_numpy())
        tot = t.groupby("neighbourhood", sort=True)["people"].sum()
        by = t.dropna(subset=["footprint"]).groupby(["neighbourhood", "footprint"])["people"]
        main = by.sum().groupby(level="neighbourhood").max().reindex(tot.index, fill_value=0.0)
        nb = pd.DataFrame({"people": tot, "people_in_main": main})
        nb["whole"] = nb["people_in_main"] >= thr * nb["people"] * (1 - 1e-9) - 1e-6
        kept = float(nb.loc[nb["whole"], "people"].sum())
        share = kept / float(tot.sum()) if float(tot.sum()) > 0 else float("nan")
    return PlanCheck(ok=not problems, problems=problems, footprints=per, neighbourhoods=nb,
                     residents_whole=kept, share_whole=share)
