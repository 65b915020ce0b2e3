"""Propose neighbourhood footprints (e.g. 30–50k people) from whole statutory units.

See :func:`propose_footprints`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import cycle, islice
from os import PathLike
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.errors import InputError, NbhdGeoError
from nbhd_geo.io.layers import prepare_polygons
from nbhd_geo.plan import _search
from nbhd_geo.plan._inputs import (
    Cells,
    build_cells,
    read_pcn,
    read_population,
    read_size,
    read_within,
)
from nbhd_geo.plan.contiguity import Contiguity, feasible_counts, link_islands, unit_contiguity
from nbhd_geo.plan.errors import InfeasibleError, UnitTooLargeError
from nbhd_geo.plan.exact import solve_exact
from nbhd_geo.plan.options import (
    DEFAULT_CONTIGUITY,
    DEFAULT_SEARCH,
    ContiguityOptions,
    SearchOptions,
)
from nbhd_geo.plan.score import (
    WHOLE_THRESHOLD,
    NeighbourhoodSplits,
    neighbourhood_people,
    pcn_alignment,
    polsby_popper,
    read_threshold,
)

__all__ = ["FootprintPlan", "FootprintPlans", "Certificate", "propose_footprints"]

log = logging.getLogger("nbhd_geo")

WEIGHTINGS = [
    _search.Weights(),
    _search.Weights(split=1.0, pcn=0.5, cut=0.3, bal=0.05),
    _search.Weights(split=1.0, pcn=0.5, cut=0.05, bal=0.6),
    _search.Weights(split=0.3, pcn=1.5, cut=0.05, bal=0.05),
    _search.Weights(split=2.0, pcn=0.2, cut=0.01, bal=0.01),
]


@dataclass(frozen=True)
class FootprintPlan:
    """One proposed plan.

    Attributes
    ----------
    name
        ``"plan_1"``, ``"plan_2"``, ... (plan_1 keeps the most residents whole).
    footprints
        One row per footprint (EPSG:27700): ``footprint``, ``population``, ``n_units``,
        ``area_km2``, ``polsby_popper``, ``main_pcn`` (if PCNs given), geometry.
    assignment
        ``unit`` → ``footprint``, one row per unit.
    scorecard
        The plan's measures (see :attr:`FootprintPlans.scorecards`).
    neighbourhoods
        Per resident neighbourhood: people, footprints touched, main footprint, ``whole``.
    """

    name: str
    footprints: gpd.GeoDataFrame
    assignment: pd.DataFrame
    scorecard: pd.Series
    neighbourhoods: pd.DataFrame


@dataclass(frozen=True)
class Certificate:
    """How good the recommended plan is, as proven by the CP-SAT solver.

    Attributes
    ----------
    residents_in_neighbourhoods
        Residents of all neighbourhoods (the denominator of the shares).
    residents_whole, share_whole
        Kept whole by the solver's plan (at ``threshold``).
    bound, share_bound
        Proven upper bound: no plan meeting the hard constraints keeps more residents
        whole (up to 1/100 person of rounding per unit).
    gap
        ``share_bound − share_whole`` (0 when proven optimal).
    status
        ``"optimal"`` (proven), ``"feasible"`` (time limit hit; the gap is what is left)
        or ``"hint"`` (the solver found nothing better than the heuristic's plan).
    seconds
        Wall time in the solver.
    threshold
        The kept-whole threshold used.
    """

    residents_in_neighbourhoods: float
    residents_whole: float
    share_whole: float
    bound: float
    share_bound: float
    gap: float
    status: str
    seconds: float
    threshold: float

    def summary(self) -> str:
        """One line for a reader, e.g. ``"82.1 % kept whole; at most 84.0 % possible"``."""
        if self.status == "optimal":
            return f"{self.share_whole:.1%} of residents kept whole: proven the most possible"
        return (f"{self.share_whole:.1%} of residents kept whole; no plan can keep more than "
                f"{self.share_bound:.1%} (gap {100 * self.gap:.1f} points)")


@dataclass(frozen=True)
class FootprintPlans:
    """Proposed plans: a small Pareto set over the objectives.

    Attributes
    ----------
    plans
        Up to ``n_plans`` non-dominated plans: the best on each objective, then the next
        best at keeping neighbourhoods whole; ordered by residents kept whole (most first).
    candidates
        Scorecards of every distinct feasible plan the runs found, ``pareto`` marking
        the non-dominated ones and ``solver`` the certified optimiser's plan (``run`` −1
        when only the solver found it).
    contiguity
        The unit adjacency used (edges, islands, bridges, enclaves).
    size
        The population bounds.
    certificate
        The solver's proof of how good ``plans[0]`` is (``None`` without neighbourhoods
        or with ``SearchOptions(time_limit=0)``).
    whole_threshold
        The kept-whole threshold every scorecard uses.
    """

    plans: list[FootprintPlan]
    candidates: pd.DataFrame
    contiguity: Contiguity
    size: tuple[float, float]
    certificate: Certificate | None = None
    whole_threshold: float = WHOLE_THRESHOLD

    def to_frame(self) -> pd.DataFrame:
        """Scorecards of the plans, one row each."""
        return pd.DataFrame([p.scorecard for p in self.plans]).set_index("plan")

    def best(self) -> FootprintPlan:
        """Return the plan keeping the most neighbourhood residents whole."""
        return self.plans[0]

    def to_gpkg(self, path: str | PathLike[str]) -> list[str]:
        """Write each plan's footprints (and unit table) as GeoPackage layers."""
        written = []
        for p in self.plans:
            p.footprints.to_file(path, layer=p.name, driver="GPKG", engine="pyogrio")
            written.append(p.name)
        return written


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Renumber footprints 1.. in order of their first unit (stable across runs)."""
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first, kind="stable")
    mapping = np.empty(labels.max() + 1, dtype=np.int64)
    mapping[np.unique(labels)[order]] = np.arange(1, len(order) + 1)
    return mapping[labels]


def _pareto(card: pd.DataFrame, objectives: list[str]) -> np.ndarray:
    vals = card[objectives].to_numpy(float)
    keep = np.ones(len(vals), dtype=bool)
    for i in range(len(vals)):
        worse = (vals <= vals[i]).all(axis=1) & (vals < vals[i]).any(axis=1)
        keep[i] = not worse.any()
    return keep


def propose_footprints(
    units: gpd.GeoDataFrame,
    *,
    population: str | pd.Series,
    neighbourhoods: gpd.GeoDataFrame | None = None,
    pcn: Any = None,
    size: tuple[float, float] = (30_000, 50_000),
    within: str | pd.Series | None = None,
    n_plans: int = 5,
    unit_id: str | None = None,
    neighbourhood_id: str | None = None,
    whole_threshold: float = WHOLE_THRESHOLD,
    contiguity: ContiguityOptions = DEFAULT_CONTIGUITY,
    search: SearchOptions = DEFAULT_SEARCH,
) -> FootprintPlans:
    """Propose footprints of whole units that keep resident neighbourhoods whole.

    Parameters
    ----------
    units
        Statutory units (LSOAs, OAs) as polygons; reprojected to EPSG:27700 on a copy.
    population
        Column of ``units`` (or Series by unit id) with each unit's population.
    neighbourhoods
        Resident neighbourhoods (polygons, may overlap). Their people in each unit come
        from the exact crosswalk (:func:`nbhd_geo.apportion`).
    pcn
        GP registrations by unit: a DataFrame with ``unit`` (or ``lsoa``), ``pcn`` (or
        ``org``) and ``patients``, or a :class:`nbhd_geo.PCNFootprints`.
    size
        ``(lower, upper)`` people per footprint (hard constraint).
    within
        Column (or Series by unit id) naming a district/ICB per unit: footprints never
        cross it.
    n_plans
        Largest number of plans returned (a Pareto set may be smaller).
    unit_id, neighbourhood_id
        Id columns (``None``: the index).
    whole_threshold
        A neighbourhood is *kept whole* when at least this share of its area-apportioned
        residents live in one footprint (default 0.95,
        :data:`~nbhd_geo.plan.score.WHOLE_THRESHOLD`). The same definition ranks the plans,
        fills the scorecards and drives the solver.
    contiguity
        :class:`ContiguityOptions`: rook contiguity (a shared boundary of at least
        ``min_shared_m`` metres, gaps up to ``tol_m`` ignored, see
        :func:`nbhd_geo.plan.unit_contiguity`) and ``bridge_m``, how far an island that
        cannot form footprints alone is linked to the nearest unit (the bridges are
        reported in ``.contiguity.bridges``).
    search
        :class:`SearchOptions`: the ``seed`` (the same inputs and seed always give the
        same heuristic plans), the heuristic's ``n_runs`` and ``rounds``, and the
        certified optimiser's ``time_limit`` (``0`` skips it), ``work_limit``, ``workers``
        and ``progress`` callback.

    Returns
    -------
    FootprintPlans

    Raises
    ------
    PopulationError
        Population missing, negative or not a number (the units are named).
    UnitTooLargeError
        A unit holds more people than ``size[1]``.
    DisconnectedError
        Units with no rook path to the rest that cannot stand alone.
    InfeasibleError
        A district's population fits no number of footprints of ``size``.

    Notes
    -----
    Hard constraints: every unit in exactly one footprint; footprints contiguous;
    population within ``size``; nested within ``within``. Enclaves go with their host.
    Objectives (each reported, traded off by the Pareto set): residents of neighbourhoods
    not kept whole (at ``whole_threshold``), patients outside their footprint's main PCN,
    cut edges, and the largest deviation from the mean footprint population. Each run grows
    footprints from seeds over *atoms* (units whose people are mostly in one neighbourhood, kept
    together), then improves them by moving edge units and whole atoms between
    footprints, keeping contiguity, with perturbation rounds (iterated local search).
    The certified optimiser (OR-Tools CP-SAT) then starts from the heuristic's best plan;
    its plan and proven bound are in ``.certificate``.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> cells = [shapely.box(x * 100, y * 100, x * 100 + 100, y * 100 + 100)
    ...          for y in range(4) for x in range(4)]
    >>> units = gpd.GeoDataFrame({"pop": [1000] * 16}, geometry=cells, crs=27700)
    >>> nb = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 200, 400)], crs=27700)
    >>> res = propose_footprints(units, population="pop", neighbourhoods=nb,
    ...                          size=(7_000, 9_000), n_plans=2,
    ...                          search=SearchOptions(seed=1))
    >>> card = res.best().scorecard
    >>> float(card["share_whole"]), int(card["n_footprints"])
    (1.0, 2)
    >>> res.certificate.status, res.certificate.gap
    ('optimal', 0.0)
    """
    _check_option(contiguity, ContiguityOptions, "contiguity")
    _check_option(search, SearchOptions, "search")
    prep = prepare_polygons(units, argument="units", id_col=unit_id)
    ids, geoms = prep.ids, prep.geoms
    lo, hi = read_size(size)
    threshold = read_threshold(whole_threshold)
    pop = read_population(prep.frame, population, ids)
    groups = _districts(prep.frame, within, ids, pop, (lo, hi))
    contig = unit_contiguity(ids, geoms, min_shared_m=contiguity.min_shared_m,
                             tol_m=contiguity.tol_m)
    contig = link_islands(contig, geoms, pop, groups, (lo, hi), contiguity.bridge_m)

    people = None
    if neighbourhoods is not None:
        frame = prep.frame.assign(_pop=pop)
        people = neighbourhood_people(
            neighbourhoods, frame, population="_pop", unit_id=prep.id_name
            if prep.id_name in frame.columns else None,
            neighbourhood_id=neighbourhood_id,
        )
    regs = read_pcn(pcn, ids) if pcn is not None else None
    cells: Cells = build_cells(ids, geoms, pop, groups, contig, people, regs, (lo, hi),
                               threshold=threshold)

    n_plans = int(n_plans)
    if n_plans < 1:
        raise NbhdGeoError(f"must be ≥ 1, got {n_plans}", argument="n_plans", fix="pass 1–10")
    splitter = NeighbourhoodSplits(people, ids, threshold) if people is not None else None
    found = _Candidates(_Scorer(pop, contig, splitter, regs, ids, geoms))
    n_runs = search.n_runs or max(n_plans, len(WEIGHTINGS))
    _heuristic_runs(found, cells, (lo, hi), search, n_runs)
    cert = None
    if found.cards and splitter is not None and (search.time_limit > 0 or search.work_limit):
        cert = _certify_best(found, cells, splitter, threshold, search)
    if not found.cards:
        raise InfeasibleError(
            f"no run found a plan with every footprint within {lo:,.0f}–{hi:,.0f} people",
            argument="size",
            fix="widen size, raise SearchOptions(n_runs=), or check the contiguity report "
            "for islands",
        )
    cand, chosen = _choose(pd.DataFrame(found.cards), regs is not None, n_plans)
    plans = [_plan(f"plan_{i}", found.labellings[c], cand.loc[c], prep, pop, splitter, regs)
             for i, c in enumerate(chosen, start=1)]
    cand = cand.assign(plan=None)
    for i, c in enumerate(chosen, start=1):
        cand.loc[c, "plan"] = f"plan_{i}"
    return FootprintPlans(plans=plans, candidates=cand.reset_index(drop=True),
                          contiguity=contig, size=(lo, hi), certificate=cert,
                          whole_threshold=threshold)


def _check_option(value: object, kind: type, argument: str) -> None:
    """Refuse an option argument that is not its options object (a dict, a number)."""
    if not isinstance(value, kind):
        raise InputError(f"expected {kind.__name__}, got {type(value).__name__}",
                         argument=argument, fix=f"pass {kind.__name__}(...)")


def _districts(frame: pd.DataFrame, within: str | pd.Series | None, ids: np.ndarray,
               pop: np.ndarray, size: tuple[float, float]) -> np.ndarray:
    """Each unit's district; checks that every unit and district can hold footprints."""
    lo, hi = size
    too_big = pop > hi
    if too_big.any():
        raise UnitTooLargeError(
            f"{int(too_big.sum())} unit(s) hold more people than size[1] = {hi:,.0f} "
            f"(largest {pop.max():,.0f})",
            argument="units",
            ids=ids[too_big],
            fix="raise the upper size, or use finer units (e.g. output areas) there",
        )
    groups, group_names = read_within(frame, within, ids)
    for g in np.unique(groups):
        total = float(pop[groups == g].sum())
        if len(feasible_counts(total, (lo, hi))) == 0:
            raise InfeasibleError(
                f"district {group_names[g]!r} holds {total:,.0f} people: no number of "
                f"footprints of {lo:,.0f}–{hi:,.0f} people adds up to it",
                argument="within" if within is not None else "size",
                ids=ids[groups == g],
                fix="widen size, or group the district with a neighbour in within=",
            )
    return groups


@dataclass(frozen=True)
class _Scorer:
    """What a plan's scorecard is computed from (see :func:`_card`)."""

    pop: np.ndarray
    contig: Contiguity
    splitter: NeighbourhoodSplits | None
    regs: pd.DataFrame | None
    ids: np.ndarray
    geoms: np.ndarray

    def card(self, labels: np.ndarray) -> dict[str, Any]:
        return _card(labels, self.pop, self.contig, self.splitter, self.regs, self.ids,
                     self.geoms)


@dataclass
class _Candidates:
    """Distinct feasible plans found so far: scorecards and labels, in the order found."""

    scorer: _Scorer
    cards: list[dict[str, Any]] = field(default_factory=list)
    labellings: list[np.ndarray] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)

    def add(self, labels: np.ndarray, **about: Any) -> dict[str, Any] | None:
        """Score and keep ``labels`` unless already found; return its card (or None)."""
        key = labels.tobytes()
        if key in self.seen:
            return None
        self.seen.add(key)
        card = self.scorer.card(labels)
        card.update(about)
        self.cards.append(card)
        self.labellings.append(labels)
        return card


def _heuristic_runs(found: _Candidates, cells: Cells, size: tuple[float, float],
                    search: SearchOptions, n_runs: int) -> None:
    """Run the iterated local search once per (seed, footprint count, weighting)."""
    lo, hi = size
    for run in range(n_runs):
        rng = np.random.default_rng([search.seed, run])
        w = WEIGHTINGS[run % len(WEIGHTINGS)]
        labels = np.empty(len(found.scorer.ids), dtype=np.int64)
        offset, ok = 0, True
        for piece in cells.pieces:
            t = float(piece.prob.pop.sum())
            ks = sorted(
                feasible_counts(t, (lo, hi)), key=lambda k: (abs(t / k - (lo + hi) / 2), k)
            )
            k = next(islice(cycle(ks), run // len(WEIGHTINGS), None))
            lab, feas = _search.solve(piece.prob, k, w, rng, rounds=search.rounds)
            ok &= feas
            labels[piece.units] = lab[piece.cell_of_unit] + offset
            offset += k
        if not ok:
            continue
        card = found.add(_relabel(labels), run=run, seed=search.seed, weighting=str(w))
        if card is not None:
            log.info("footprints: heuristic run %d of %d, %s", run + 1, n_runs,
                     f"{card.get('share_whole', float('nan')):.1%} kept whole")


def _certify_best(found: _Candidates, cells: Cells, splitter: NeighbourhoodSplits,
                  threshold: float, search: SearchOptions) -> Certificate:
    """Run the certified optimiser from the heuristic's best plan and keep its plan."""
    cards = found.cards
    best_i = min(range(len(cards)), key=lambda i: (
        cards[i]["residents_not_whole"], cards[i]["split_people"], i))
    labels, cert = _certify(cells, found.labellings[best_i], splitter, threshold, search)
    key = labels.tobytes()
    same = [i for i, lab in enumerate(found.labellings) if lab.tobytes() == key]
    if same:  # the heuristic had already found it
        cards[same[0]]["solver"] = True
    else:
        found.add(labels, run=-1, seed=search.seed, weighting="exact (CP-SAT)", solver=True)
    return cert


def _choose(cand: pd.DataFrame, with_pcn: bool, n_plans: int) -> tuple[pd.DataFrame, list[int]]:
    """Mark the Pareto set and pick up to ``n_plans`` of it, the best on each objective first.

    Returns the candidates (sorted, with ``solver`` and ``pareto``) and the chosen rows'
    labels in plan order.
    """
    cand["solver"] = cand["solver"].fillna(False).astype(bool) if "solver" in cand else False
    objectives = ["residents_not_whole", "cut_edges", "max_dev"]
    if with_pcn:
        objectives.append("pcn_misaligned")
    cand["pareto"] = _pareto(cand, objectives)
    cand = cand.sort_values(
        ["pareto", "residents_not_whole", "split_people", "cut_edges", "run"],
        ascending=[False, True, True, True, True], kind="stable",
    )
    front = cand[cand["pareto"]]
    # the best plan on each objective first (so the trade-off is on show), then by splits
    picks: list[int] = []
    for obj in ["residents_not_whole", *objectives[1:][::-1]]:
        top = int(front.sort_values([obj, "residents_not_whole", "run"], kind="stable").index[0])
        if top not in picks and len(picks) < n_plans:
            picks.append(top)
    picks += [int(c) for c in front.index if c not in picks][: n_plans - len(picks)]
    return cand, [c for c in front.index if c in picks]


def _certify(
    cells: Cells,
    hint: np.ndarray,
    splitter: NeighbourhoodSplits,
    threshold: float,
    search: SearchOptions,
) -> tuple[np.ndarray, Certificate]:
    """Solve each piece exactly from the hint; the bounds add up over pieces.

    A neighbourhood can be whole in at most one footprint (threshold > ½), so the sum of
    the pieces' bounds bounds the whole plan.
    """
    n_cells = sum(len(p.prob.pop) for p in cells.pieces)
    labels = np.empty(len(hint), dtype=np.int64)
    offset, bound, secs, statuses = 0, 0.0, 0.0, []
    for piece in cells.pieces:
        nc = len(piece.prob.pop)
        cell_hint = np.empty(nc, dtype=np.int64)
        cell_hint[piece.cell_of_unit] = hint[piece.units]
        cell_hint = np.unique(cell_hint, return_inverse=True)[1]
        share = nc / n_cells
        res = solve_exact(
            piece.prob, cell_hint, threshold=threshold,
            time_limit=search.time_limit * share if search.time_limit else 1e9,
            work_limit=search.work_limit * share if search.work_limit else None,
            workers=search.workers, seed=search.seed, progress=search.progress,
        )
        secs += res.seconds
        lab = res.labels
        labels[piece.units] = lab[piece.cell_of_unit] + offset
        offset += int(lab.max()) + 1
        bound += res.bound
        statuses.append(res.status)
    labels = _relabel(labels)
    got = splitter.score(labels)
    tot = got["residents_in_neighbourhoods"]
    kept = got["residents_whole"]
    bound = min(max(bound, kept), tot)
    status = ("optimal" if all(s == "optimal" for s in statuses)
              else "hint" if all(s == "hint" for s in statuses) else "feasible")
    if status == "optimal":
        bound = kept  # rounding to 1/100 person aside, proven
    cert = Certificate(
        residents_in_neighbourhoods=tot, residents_whole=kept,
        share_whole=kept / tot if tot else float("nan"), bound=bound,
        share_bound=bound / tot if tot else float("nan"),
        gap=(bound - kept) / tot if tot else 0.0, status=status, seconds=secs,
        threshold=threshold,
    )
    log.info("footprints: %s", cert.summary())
    return labels, cert


def _card(
    labels: np.ndarray,
    pop: np.ndarray,
    contig: Contiguity,
    splitter: NeighbourhoodSplits | None,
    regs: pd.DataFrame | None,
    ids: np.ndarray,
    geoms: np.ndarray,
) -> dict[str, Any]:
    fpop = np.bincount(labels, weights=pop)[1:]
    mean = fpop.mean()
    e = contig.edges
    cut = labels[e["i"].to_numpy()] != labels[e["j"].to_numpy()]
    card: dict[str, Any] = {
        "n_footprints": len(fpop),
        "pop_min": float(fpop.min()),
        "pop_max": float(fpop.max()),
        "max_dev": float(np.abs(fpop - mean).max() / mean),
        "cut_edges": int(cut.sum()),
        "cut_length_km": float(e["shared_m"].to_numpy()[cut].sum() / 1000),
    }
    if splitter is not None:
        s = splitter.score(labels)
        card.update(s)
        card["residents_not_whole"] = s["residents_in_neighbourhoods"] - s["residents_whole"]
    else:
        card.update(residents_not_whole=0.0, split_people=0.0)
    if regs is not None:
        al = pcn_alignment(regs, pd.Series(labels, index=ids))
        card["pcn_alignment"] = al["pcn_alignment"]
        card["pcn_misaligned"] = 1 - al["pcn_alignment"]
    return card


def _plan(
    name: str,
    labels: np.ndarray,
    card: pd.Series,
    prep: Any,
    pop: np.ndarray,
    splitter: NeighbourhoodSplits | None,
    regs: pd.DataFrame | None,
) -> FootprintPlan:
    ids = prep.ids
    frame = gpd.GeoDataFrame(
        {"footprint": labels, "population": pop, "n_units": 1},
        geometry=prep.geoms, crs=prep.frame.crs,
    )
    fp = frame.dissolve("footprint", aggfunc="sum").reset_index()
    fp["area_km2"] = fp.geometry.area / 1e6
    fp["polsby_popper"] = polsby_popper(fp.geometry.array)
    assign = pd.DataFrame({"unit": ids, "footprint": labels})
    if regs is not None:
        al = pcn_alignment(regs, pd.Series(labels, index=ids))
        fp["main_pcn"] = fp["footprint"].map(al["main_pcn"])
    sc = card.drop(labels=["pareto", "plan"], errors="ignore").copy()
    sc["polsby_popper_mean"] = float(fp["polsby_popper"].mean())
    sc["polsby_popper_min"] = float(fp["polsby_popper"].min())
    sc = pd.concat([pd.Series({"plan": name}), sc])
    nb = splitter.table(labels) if splitter is not None else pd.DataFrame()
    fp = fp[["footprint", "population", "n_units", "area_km2", "polsby_popper"]
            + (["main_pcn"] if regs is not None else []) + ["geometry"]]
    return FootprintPlan(name=name, footprints=fp, assignment=assign, scorecard=sc,
                         neighbourhoods=nb)

