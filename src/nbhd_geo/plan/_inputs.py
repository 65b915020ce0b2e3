"""Input checks for the planner and the cell/atom arrays the optimiser works on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import ColumnError, NbhdGeoError
from nbhd_geo.plan._search import Problem
from nbhd_geo.plan.contiguity import Contiguity, _components
from nbhd_geo.plan.errors import PopulationError

__all__ = ["read_size", "read_population", "read_within", "read_pcn", "build_cells", "Cells"]


def read_size(size: Any) -> tuple[float, float]:
    """Check ``(lower, upper)`` people per footprint."""
    try:
        lo, hi = (float(x) for x in size)
    except (TypeError, ValueError):
        lo, hi = np.nan, np.nan
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
        raise NbhdGeoError(
            f"must be (lower, upper) people with 0 ≤ lower < upper, got {size!r}",
            argument="size",
            fix="pass e.g. size=(30_000, 50_000)",
        )
    return lo, hi


def read_population(frame: pd.DataFrame, population: Any, ids: np.ndarray) -> np.ndarray:
    """Read the population per unit as float, naming every gap, negative or non-number."""
    if isinstance(population, str):
        if population not in frame.columns:
            raise ColumnError(
                f"has no column {population!r}",
                argument="units",
                fix=f"pass population= one of {[c for c in frame.columns if c != 'geometry']}",
            )
        raw = frame[population]
    else:
        raw = pd.Series(population)
        raw = raw.reindex(pd.Index(ids)) if not raw.index.equals(pd.Index(ids)) else raw
    values = pd.to_numeric(pd.Series(np.asarray(raw, dtype=object)), errors="coerce").to_numpy(
        float
    )
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise PopulationError(
            f"{int(bad.sum())} unit(s) have a missing, negative or non-numeric population",
            argument="population",
            ids=ids[bad],
            fix="give every unit a population ≥ 0 (e.g. Census 2021 usual residents); "
            "drop units that are not to be planned",
        )
    return values


def read_within(
    frame: pd.DataFrame, within: Any, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return a district/ICB group code per unit (one group when ``within`` is None)."""
    if within is None:
        return np.zeros(len(ids), dtype=np.int64), np.array(["all units"], dtype=object)
    if isinstance(within, str):
        if within not in frame.columns:
            raise ColumnError(
                f"has no column {within!r}", argument="within",
                fix="pass a column of units naming each unit's district or ICB",
            )
        raw = frame[within]
    else:
        raw = pd.Series(within).reindex(pd.Index(ids))
    values = np.asarray(raw, dtype=object)
    bad = pd.isna(raw).to_numpy()
    if bad.any():
        raise NbhdGeoError(
            f"{int(bad.sum())} unit(s) have no district", argument="within", ids=ids[bad],
            fix="give every unit its district or ICB code",
        )
    codes, names = pd.factorize(pd.Series(values.astype(str)), sort=True)
    return codes.astype(np.int64), np.asarray(names, dtype=object)


def read_pcn(pcn: Any, ids: np.ndarray) -> pd.DataFrame:
    """Read GP registrations as ``unit``, ``pcn``, ``patients`` for units of the layer."""
    if hasattr(pcn, "assignments"):
        frame = pcn.assignments.rename(columns={"lsoa": "unit", "org": "pcn"})
    elif isinstance(pcn, pd.DataFrame):
        frame = pcn.rename(columns={"lsoa": "unit", "lsoa21_code": "unit", "org": "pcn"})
    else:
        raise NbhdGeoError(
            f"must be a DataFrame or PCNFootprints, got {type(pcn).__name__}",
            argument="pcn", fix="pass a table with unit, pcn and patients columns",
        )
    missing = [c for c in ("unit", "pcn", "patients") if c not in frame.columns]
    if missing:
        raise ColumnError(
            f"lacks column(s) {missing}", argument="pcn",
            fix="name the columns unit (or lsoa), pcn (or org) and patients",
        )
    out = frame[["unit", "pcn", "patients"]].copy()
    out["patients"] = pd.to_numeric(out["patients"], errors="coerce").fillna(0.0)
    out = out[out["unit"].isin(ids) & (out["patients"] > 0)]
    return out.groupby(["unit", "pcn"], as_index=False, sort=True)["patients"].sum()


@dataclass
class Piece:
    """A connected, nested set of units planned on its own."""

    units: np.ndarray  # positions in the layer
    cell_of_unit: np.ndarray  # local cell index of each of those units
    prob: Problem


@dataclass
class Cells:
    """Pieces to plan (one per district and island)."""

    pieces: list[Piece]
    host: np.ndarray  # the unit each unit travels with (itself unless an enclave)


def _lists(idx: np.ndarray, rows: np.ndarray, vals: np.ndarray, n: int) -> tuple[list, list]:
    order = np.lexsort((rows, idx))
    idx, rows, vals = idx[order], rows[order], vals[order]
    cuts = np.searchsorted(idx, np.arange(n + 1))
    return (
        [rows[cuts[c] : cuts[c + 1]] for c in range(n)],
        [vals[cuts[c] : cuts[c + 1]] for c in range(n)],
    )


def _sum_pairs(c: np.ndarray, r: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    if len(c) == 0:
        return c, r, v
    key = pd.DataFrame({"c": c, "r": r, "v": v}).groupby(["c", "r"], sort=True)["v"].sum()
    return (
        key.index.get_level_values(0).to_numpy(np.int64),
        key.index.get_level_values(1).to_numpy(np.int64),
        key.to_numpy(float),
    )


def build_cells(
    ids: np.ndarray,
    geoms: np.ndarray,
    pop: np.ndarray,
    groups: np.ndarray,
    contig: Contiguity,
    people: pd.DataFrame | None,
    regs: pd.DataFrame | None,
    size: tuple[float, float],
    atom_cap: float = 0.5,
    threshold: float = 0.95,
) -> Cells:
    """Merge enclaves into hosts, find atoms, split into pieces and build problems."""
    n = len(ids)
    pos = pd.Index(ids)
    host = np.arange(n)
    for u, h in zip(contig.enclaves["unit"], contig.enclaves["host"], strict=True):
        a, b = pos.get_loc(u), pos.get_loc(h)
        if groups[a] == groups[b]:
            host[a] = b
    for _ in range(n):  # follow chains of enclaves
        nxt = host[host]
        if (nxt == host).all():
            break
        host = nxt
    ei = contig.edges["i"].to_numpy()
    ej = contig.edges["j"].to_numpy()
    el = contig.edges["shared_m"].to_numpy(float)
    same = groups[ei] == groups[ej]
    piece_of = _components(n, ei[same], ej[same])

    # atoms: every unit a resident neighbourhood touches, merged (largest neighbourhood
    # first) while the merged group stays below the cap, then split into rook-connected
    # parts: region growing starts from whole neighbourhoods, local search moves them whole
    atom = np.arange(n)
    nb_row = nb_col = np.zeros(0, dtype=np.int64)
    nb_val = np.zeros(0)
    n_nb = 0
    if people is not None and len(people):
        names, nb_row = np.unique(people["neighbourhood"].to_numpy(), return_inverse=True)
        n_nb = len(names)
        nb_col = pos.get_indexer(people["unit"].to_numpy())
        nb_val = people["people"].to_numpy(float)
        totals = np.bincount(nb_row, weights=nb_val, minlength=n_nb)
        parent = np.arange(n)
        apop = pop.copy()

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return int(a)

        cap = atom_cap * size[1]
        for r in np.lexsort((np.arange(n_nb), -totals)).tolist():
            us = nb_col[nb_row == r]
            us = us[groups[us] == groups[us[np.argmax(pop[us])]]]
            roots = sorted({find(int(u)) for u in us.tolist()})
            if len(roots) < 2 or apop[roots].sum() > cap:
                continue
            for x in roots[1:]:
                parent[x] = roots[0]
            apop[roots[0]] = apop[roots].sum()
        root = np.array([find(u) for u in range(n)])
        keep = (root[ei] == root[ej]) & same
        atom = _components(n, ei[keep], ej[keep])
    atom = atom[host]  # an enclave is in its host's atom

    pc_row = pc_col = np.zeros(0, dtype=np.int64)
    pc_val = np.zeros(0)
    n_pcn = 0
    if regs is not None and len(regs):
        _, pc_row = np.unique(regs["pcn"].astype(str).to_numpy(), return_inverse=True)
        n_pcn = int(pc_row.max() + 1)
        pc_col = pos.get_indexer(regs["unit"].to_numpy())
        pc_val = regs["patients"].to_numpy(float)

    xy = shapely.get_coordinates(shapely.point_on_surface(geoms))
    pieces = []
    for p in range(int(piece_of.max()) + 1):
        units = np.flatnonzero(piece_of == p)
        cell_roots, cell_of_unit = np.unique(host[units], return_inverse=True)
        local = np.full(n, -1)
        local[units] = cell_of_unit
        nc = len(cell_roots)
        cpop = np.bincount(cell_of_unit, weights=pop[units], minlength=nc)
        m = (local[ei] >= 0) & (local[ej] >= 0)
        a, b = local[ei[m]], local[ej[m]]
        ln = el[m]
        diff = a != b
        src = np.concatenate([a[diff], b[diff]])
        dst = np.concatenate([b[diff], a[diff]])
        src, dst, lens = _sum_pairs(src, dst, np.concatenate([ln[diff], ln[diff]]))
        nbrs, nlen = _lists(src, dst, lens, nc)
        sel = local[nb_col] >= 0 if len(nb_col) else np.zeros(0, dtype=bool)
        c, r, v = _sum_pairs(local[nb_col[sel]], nb_row[sel], nb_val[sel])
        nb_rows, nb_vals = _lists(c, r, v, nc)
        nb_total = np.bincount(nb_row, weights=nb_val, minlength=n_nb)
        sel = local[pc_col] >= 0 if len(pc_col) else np.zeros(0, dtype=bool)
        c, r, v = _sum_pairs(local[pc_col[sel]], pc_row[sel], pc_val[sel])
        pc_rows, pc_vals = _lists(c, r, v, nc)
        prob = Problem(
            pop=cpop, nbrs=nbrs, nlen=nlen, xy=xy[cell_roots], atoms=atom[cell_roots],
            nb_rows=nb_rows, nb_vals=nb_vals, nb_total=nb_total,
            pc_rows=pc_rows, pc_vals=pc_vals, n_pcn=n_pcn, size=size, threshold=threshold,
        )
        pieces.append(Piece(units=units, cell_of_unit=cell_of_unit, prob=prob))
    return Cells(pieces=pieces, host=host)
