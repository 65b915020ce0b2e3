"""A certified footprint optimiser: OR-Tools CP-SAT, warm-started from the heuristic.

The heuristic (:mod:`nbhd_geo.plan._search`) finds good plans fast but cannot say how
far from the best they are. This model states the problem exactly, hands the solver the
heuristic's best plan as a hint, and returns the best plan found within a time limit
together with the solver's proven upper bound on the residents that any plan could keep
whole. The difference is the *gap*: 0 means the plan is proven optimal.

Model (one per piece: a connected, nested set of cells, see ``_inputs.build_cells``)::

    x[c,k]   cell c is in footprint k           Σ_k x[c,k] = 1
    used[k]  footprint k exists                 lo·used[k] ≤ Σ_c pop[c]·x[c,k] ≤ hi·used[k]
    w[n,k]   neighbourhood n is whole in k      Σ_c r[n,c]·x[c,k] ≥ θ·R[n]·w[n,k]
                                                w[n,k] ⇒ x[c,k] for every c with r[n,c] > (1−θ)·R[n]
                                                Σ_k w[n,k] ≤ 1
    maximise Σ_{n,k} R[n]·w[n,k]

where ``r[n,c]`` are the area-apportioned residents of neighbourhood ``n`` in cell ``c``,
``R[n]`` its residents in all units and ``θ`` the kept-whole threshold (a neighbourhood is
whole when at least ``θ`` of its residents live in one footprint; see
:data:`nbhd_geo.plan.score.WHOLE_THRESHOLD`). A cell holding more than ``(1−θ)·R[n]`` of
``n``'s residents must be in ``n``'s footprint: these implications make the model tight.

Contiguity is a single-commodity flow: every footprint has one root (its lowest-numbered
cell, which also breaks the symmetry between footprint labels); the root may supply flow,
every cell consumes one unit, and flow may only pass along an edge whose two cells are
in the same footprint. A footprint in two pieces leaves one piece without a source.

Populations and residents are scaled to integers (1/100 person); the plan returned is
re-scored in floating point by :class:`nbhd_geo.plan.score.NeighbourhoodSplits`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.plan._search import Problem

__all__ = ["ExactResult", "solve_exact", "conflict_bound", "Progress"]

log = logging.getLogger("nbhd_geo")

_SCALE = 100  # integer units of 1/100 person

Progress = Callable[[dict[str, float]], None]


@dataclass(frozen=True)
class ExactResult:
    """What the solver proved about one piece.

    Attributes
    ----------
    labels
        Footprint (0..k-1) of every cell of the piece.
    residents_whole
        Residents kept whole by ``labels`` (solver's integer arithmetic, in people).
    bound
        Proven upper bound on the residents any plan of the piece keeps whole (people).
    status
        ``"optimal"`` (bound reached), ``"feasible"`` (time limit hit) or ``"hint"``
        (the solver found nothing better than the heuristic's plan).
    seconds
        Wall time spent in the solver.
    """

    labels: np.ndarray
    residents_whole: float
    bound: float
    status: str
    seconds: float


def _cp_model() -> Any:
    try:
        from ortools.sat.python import cp_model
    except ImportError as err:  # pragma: no cover - a core dependency
        raise NbhdGeoError(
            "needs OR-Tools (ortools) for the certified optimiser",
            argument="time_limit",
            fix="pip install ortools, or pass time_limit=0 for the heuristic only",
        ) from err
    return cp_model


def _must_cells(prob: Problem, threshold: float) -> tuple[list[list[int]], list[bool]]:
    """Cells each neighbourhood's footprint must hold if it is whole, and who can be."""
    n_nb = len(prob.nb_total)
    must: list[list[int]] = [[] for _ in range(n_nb)]
    here = np.zeros(n_nb)
    for c in range(len(prob.pop)):
        for r, v in zip(prob.nb_rows[c].tolist(), prob.nb_vals[c].tolist(), strict=True):
            here[r] += v
            if v > (1 - threshold) * prob.nb_total[r]:
                must[r].append(c)
    lo, hi = prob.size
    ok = [bool(prob.nb_total[r] > 0 and here[r] >= threshold * prob.nb_total[r] * (1 - 1e-9)
               - 1e-6 and prob.pop[must[r]].sum() <= hi) for r in range(n_nb)]
    return must, ok


def _by_neighbourhood(prob: Problem) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Each neighbourhood's cells and residents in them."""
    rows: dict[int, list[tuple[int, float]]] = {}
    for c in range(len(prob.pop)):
        for r, v in zip(prob.nb_rows[c].tolist(), prob.nb_vals[c].tolist(), strict=True):
            rows.setdefault(r, []).append((c, v))
    return [(r, np.array([c for c, _ in cv], dtype=np.int64), np.array([v for _, v in cv]))
            for r, cv in sorted(rows.items())]


def _linked_neighbourhoods(must: list[list[int]], ok: list[bool]) -> list[set[int]]:
    """For each neighbourhood, those whose must cells meet its own (itself included)."""
    owners: dict[int, list[int]] = {}
    for r, cells in enumerate(must):
        if ok[r]:
            for c in cells:
                owners.setdefault(c, []).append(r)
    near: list[set[int]] = [set() for _ in must]
    for rs in owners.values():
        for a in rs:
            near[a].update(rs)
    return near


def _least_people(prob: Problem, pop: np.ndarray, threshold: float, n_nb: int,
                  ok: list[bool]) -> tuple[list[set[int]], np.ndarray]:
    """Each neighbourhood's cells, and the fewest people that can hold ``threshold`` of it.

    A neighbourhood whose fewest people exceed ``size[1]`` cannot be whole: ``ok`` is
    cleared for it.
    """
    hi = prob.size[1]
    touched: list[set[int]] = [set() for _ in range(n_nb)]
    least = np.zeros(n_nb, dtype=np.int64)
    for r, cells_r, vals_r in _by_neighbourhood(prob):
        touched[r] = set(cells_r.tolist())
        # fractional knapsack: a lower bound on the people of any set of r's cells
        # holding threshold of its residents
        order = np.argsort(pop[cells_r] / np.maximum(vals_r, 1e-12), kind="stable")
        need, got, people = threshold * prob.nb_total[r], 0.0, 0.0
        for c, v in zip(cells_r[order].tolist(), vals_r[order].tolist(), strict=True):
            take = min(1.0, (need - got) / v) if v > 0 else 0.0
            if take <= 0:
                break
            got += take * v
            people += take * pop[c]
        least[r] = int(math.floor(people))
        if least[r] > hi * _SCALE:
            ok[r] = False
    return touched, least


def _conflict_model(cp_model: Any, prob: Problem, pop: np.ndarray, must: list[list[int]],
                    ok: list[bool], near: list[set[int]], touched: list[set[int]],
                    least: np.ndarray) -> tuple[Any, dict[int, Any], dict[int, int]]:
    """Build the star model: w[r] whole only if what two steps of links pull in fits.

    Returns the model, the literals ``w`` and the scaled residents each keeps whole.
    """
    hi = prob.size[1]
    m = cp_model.CpModel()
    w = {r: m.NewBoolVar(f"w{r}") for r in range(len(must)) if ok[r]}
    for r, wr in w.items():
        own = set(must[r])
        reach: dict[int, list[Any]] = {}  # cell -> literals that put it in r's footprint
        for a in sorted(near[r] - {r}):
            for c in must[a]:
                if c not in own:
                    reach.setdefault(c, []).append(w[a])
            for b in sorted(near[a] - near[r] - {r}):
                both = m.NewBoolVar(f"b{r}_{a}_{b}")
                m.AddBoolOr([w[a].Not(), w[b].Not(), both])
                for c in must[b]:
                    if c not in own:
                        reach.setdefault(c, []).append(both)
        terms, outside = [], []
        for c, lits in sorted(reach.items()):
            y = m.NewBoolVar(f"y{r}_{c}")
            for lit in lits:
                m.AddImplication(lit, y)
            terms.append(int(pop[c]) * y)
            if c not in touched[r]:
                outside.append(int(pop[c]) * y)
        cap = int(math.floor(hi * _SCALE + 1e-6))
        m.Add(int(pop[sorted(own)].sum()) + sum(terms) <= cap).OnlyEnforceIf(wr)
        # the fewest people that can hold threshold of r's residents, plus other cells
        m.Add(least[r] + sum(outside) <= cap).OnlyEnforceIf(wr)
    weights = {r: int(round(float(prob.nb_total[r]) * _SCALE)) for r in w}
    m.Maximize(sum(weights[r] * wr for r, wr in w.items()))
    return m, w, weights


def _cut_chains(m: Any, w: dict[int, Any], chosen: set[int], must: list[list[int]],
                near: list[set[int]], pop: np.ndarray, cap_people: float,
                cuts: set[tuple[int, ...]]) -> int:
    """Cut every chain of chosen neighbourhoods too large for one footprint; count new cuts."""
    new = 0
    for start in sorted(chosen):  # grow a chain from each whole neighbourhood
        seen, cells_in, queue = [start], set(must[start]), deque([start])
        while queue and pop[sorted(cells_in)].sum() <= cap_people:
            a = queue.popleft()
            for b in sorted(near[a] & chosen):
                if b not in seen and pop[sorted(cells_in)].sum() <= cap_people:
                    seen.append(b)
                    cells_in.update(must[b])
                    queue.append(b)
        key = tuple(sorted(seen))
        if pop[sorted(cells_in)].sum() > cap_people and key not in cuts:
            cuts.add(key)
            m.Add(sum(w[r] for r in key) <= len(key) - 1)
            new += 1
    return new


def conflict_bound(prob: Problem, *, threshold: float, time_limit: float, workers: int = 1,
                   seed: int = 0, work_limit: float | None = None) -> float:
    """Bound the residents kept whole from the neighbourhoods' conflicts alone.

    A whole neighbourhood's footprint holds every cell carrying more than ``1 − threshold``
    of its residents (its *must* cells). Two whole neighbourhoods whose must cells meet are
    in the same footprint, so a whole neighbourhood's footprint also holds the must cells
    of every whole neighbourhood within two such steps of it, and all that must fit in
    ``size[1]`` people; so must the fewest people of its cells that can hold ``threshold``
    of its residents. Longer chains are cut lazily: a chain of whole neighbourhoods whose
    must cells hold more than ``size[1]`` people cannot all be whole. Contiguity and the
    lower size are dropped: every plan satisfies these constraints, so the optimum of
    each round bounds the real one. With no label symmetry, the solver proves each round
    in a moment, unlike the full model's bound. Gets a quarter of the solver's time.

    Examples
    --------
    Two neighbourhoods sharing a cell; together they need 12 people, a footprint holds 10:

    >>> import numpy as np
    >>> from nbhd_geo.plan._search import Problem
    >>> prob = Problem(pop=np.array([4.0, 4.0, 4.0]),
    ...     nbrs=[np.array([1]), np.array([0, 2]), np.array([1])], nlen=[np.ones(1)] * 3,
    ...     xy=np.zeros((3, 2)), atoms=np.arange(3),
    ...     nb_rows=[np.array([0]), np.array([0, 1]), np.array([1])],
    ...     nb_vals=[np.array([50.0]), np.array([50.0, 30.0]), np.array([30.0])],
    ...     nb_total=np.array([100.0, 60.0]), pc_rows=[np.zeros(0, int)] * 3,
    ...     pc_vals=[np.zeros(0)] * 3, n_pcn=0, size=(4.0, 10.0))
    >>> conflict_bound(prob, threshold=0.95, time_limit=5)
    100.0
    """
    cp_model = _cp_model()
    must, ok = _must_cells(prob, threshold)
    hi = prob.size[1]
    pop = np.rint(np.asarray(prob.pop, float) * _SCALE).astype(np.int64)
    near = _linked_neighbourhoods(must, ok)
    touched, least = _least_people(prob, pop, threshold, len(must), ok)
    # A neighbourhood found here too spread to be whole has no literal and pulls no cell
    # into another's footprint: its links, made before it was known, go.
    near = [{a for a in linked if ok[a]} for linked in near]
    m, w, weights = _conflict_model(cp_model, prob, pop, must, ok, near, touched, least)
    # Chains: whole neighbourhoods linked by shared must cells, however long the chain,
    # share one footprint. A chain holding more than size[1] people cannot all be whole:
    # cut it (Σ w ≤ |chain| − 1) and solve again, until the solution has no such chain.
    # Every round's bound is valid, as every cut is.
    cap_people = hi * _SCALE
    t0 = time.perf_counter()
    best = float(sum(weights.values())) / _SCALE
    cuts: set[tuple[int, ...]] = set()
    work_used = 0.0
    while True:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.05 or (work_limit is not None and work_used >= work_limit):
            return best
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = float(left)
        solver.parameters.num_workers = int(max(workers, 1))
        solver.parameters.random_seed = int(seed)
        if work_limit is not None:
            solver.parameters.max_deterministic_time = float(work_limit - work_used)
        status = solver.Solve(m)
        work_used += float(solver.deterministic_time)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return best
        best = min(best, float(solver.BestObjectiveBound()) / _SCALE)
        if status != cp_model.OPTIMAL:
            return best
        chosen = {r for r, wr in w.items() if solver.Value(wr)}
        if not _cut_chains(m, w, chosen, must, near, pop, cap_people, cuts):
            return best


def _hint_parts(
    prob: Problem, labels: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, list[int], dict[tuple[int, int], int]]:
    """Relabel a plan to the model's symmetry breaking; roots and a spanning-tree flow."""
    n = len(labels)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)  # position of each cell in the model's order
    first: dict[int, int] = {}
    for c in order.tolist():
        first.setdefault(int(labels[c]), c)
    fps = sorted(first, key=lambda f: rank[first[f]])
    new = {f: i for i, f in enumerate(fps)}
    lab = np.array([new[int(f)] for f in labels], dtype=np.int64)
    roots = [first[f] for f in fps]
    flow: dict[tuple[int, int], int] = {}
    for root in roots:  # breadth-first tree in the footprint, flow = subtree size
        parent = {root: -1}
        seen = [root]
        queue = deque([root])
        while queue:
            v = queue.popleft()
            for u in prob.nbrs[v].tolist():
                if lab[u] == lab[root] and u not in parent:
                    parent[u] = v
                    seen.append(u)
                    queue.append(u)
        size = dict.fromkeys(seen, 1)
        for v in reversed(seen[1:]):
            size[parent[v]] += size[v]
            flow[(parent[v], v)] = size[v]
    return lab, roots, flow


def _footprint_range(prob: Problem, pop: np.ndarray) -> tuple[int, int]:
    """Return the fewest and most footprints the size bounds allow; fail if none fits."""
    n = len(prob.pop)
    lo, hi = prob.size
    total = int(pop.sum())
    k_max = int(math.floor(total / (lo * _SCALE) + 1e-9)) if lo > 0 else n
    k_min = int(math.ceil(total / (hi * _SCALE) - 1e-9))
    k_max = max(min(k_max, n), 1)
    if k_min > k_max:
        raise NbhdGeoError(
            f"{prob.pop.sum():,.0f} people fit no number of footprints of {lo:,.0f}–{hi:,.0f}",
            argument="size", fix="widen size",
        )
    return k_min, k_max


def _sweep_order(prob: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Order cells along the longer axis so that footprints' roots come early; and ranks."""
    n = len(prob.pop)
    spread = prob.xy.max(axis=0) - prob.xy.min(axis=0) if n else np.zeros(2)
    order = np.lexsort((np.arange(n), prob.xy[:, int(np.argmax(spread))])) if n else np.zeros(
        0, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return order, rank


@dataclass
class _FullModel:
    """The CP-SAT model of the module docstring and its variables, kept for hints and reading."""

    m: Any
    k_max: int
    order: np.ndarray
    rank: np.ndarray
    x: dict[tuple[int, int], Any]
    used: list[Any]
    root: dict[tuple[int, int], Any]
    ri: list[Any]
    lab: list[Any]
    same: dict[tuple[int, int], Any]
    flow: dict[tuple[int, int], Any]
    supply: list[Any]
    r_cells: list[list[tuple[int, int]]]
    w: dict[tuple[int, int], Any]
    weight: dict[tuple[int, int], int]


def _add_footprints(m: Any, prob: Problem, pop: np.ndarray, rank: np.ndarray, k_min: int,
                    k_max: int) -> tuple[dict[tuple[int, int], Any], list[Any]]:
    """Add x[c,k] and used[k]: every cell in one footprint, each footprint within size."""
    n = len(prob.pop)
    lo, hi = prob.size
    K = range(k_max)
    x = {(c, k): m.NewBoolVar(f"x{c}_{k}") for c in range(n) for k in K if k <= rank[c]}
    used = [m.NewBoolVar(f"used{k}") for k in K]
    for k in K:
        if k < k_min:
            m.Add(used[k] == 1)
        if k + 1 < k_max:
            m.AddImplication(used[k + 1], used[k])
    for c in range(n):
        m.AddExactlyOne([x[c, k] for k in K if (c, k) in x])
    for k in K:
        cells = [c for c in range(n) if (c, k) in x]
        expr = sum(int(pop[c]) * x[c, k] for c in cells)
        m.Add(expr >= int(math.ceil(lo * _SCALE - 1e-6)) * used[k])
        m.Add(expr <= int(math.floor(hi * _SCALE + 1e-6)) * used[k])
        for c in cells:
            m.AddImplication(x[c, k], used[k])
    return x, used


def _add_contiguity(m: Any, prob: Problem, rank: np.ndarray, k_max: int,
                    x: dict[tuple[int, int], Any], used: list[Any]) -> tuple[Any, ...]:
    """Add roots (the first cell of each footprint) and the flow that keeps it in one piece.

    Returns ``root, ri, lab, same, flow, supply``.
    """
    n = len(prob.pop)
    K = range(k_max)
    root = {(c, k): m.NewBoolVar(f"r{c}_{k}") for (c, k) in x}
    ri = [m.NewIntVar(0, n - 1, f"ri{k}") for k in K]
    for k in K:
        cells = [c for c in range(n) if (c, k) in x]
        m.Add(sum(root[c, k] for c in cells) == used[k])
        m.Add(ri[k] == sum(int(rank[c]) * root[c, k] for c in cells))
        for c in cells:
            m.AddImplication(root[c, k], x[c, k])
            m.Add(ri[k] <= int(rank[c])).OnlyEnforceIf(x[c, k])
        if k + 1 < k_max:
            m.Add(ri[k] < ri[k + 1]).OnlyEnforceIf(used[k + 1])
    lab = [m.NewIntVar(0, k_max - 1, f"lab{c}") for c in range(n)]
    for c in range(n):
        m.Add(lab[c] == sum(k * x[c, k] for k in K if (c, k) in x))
    edges = sorted({(min(c, int(d)), max(c, int(d))) for c in range(n)
                    for d in prob.nbrs[c].tolist() if d != c})
    same = {e: m.NewBoolVar(f"s{e[0]}_{e[1]}") for e in edges}
    flow = {}
    for (c, d), s in same.items():
        m.Add(lab[c] == lab[d]).OnlyEnforceIf(s)
        for a, b in ((c, d), (d, c)):
            f = m.NewIntVar(0, n - 1, f"f{a}_{b}")
            m.Add(f <= (n - 1) * s)
            flow[a, b] = f
    supply = []
    for c in range(n):
        is_root = sum(root[c, k] for k in K if (c, k) in root)
        g = m.NewIntVar(0, n, f"g{c}")
        m.Add(g <= n * is_root)
        supply.append(g)
        inflow = sum(flow[d, c] for d in prob.nbrs[c].tolist() if (d, c) in flow)
        outflow = sum(flow[c, d] for d in prob.nbrs[c].tolist() if (c, d) in flow)
        m.Add(g + inflow - outflow == 1)
    return root, ri, lab, same, flow, supply


def _add_whole(m: Any, prob: Problem, pop: np.ndarray, k_max: int,
               x: dict[tuple[int, int], Any], threshold: float
               ) -> tuple[list[list[tuple[int, int]]], dict[tuple[int, int], Any],
                          dict[tuple[int, int], int]]:
    """Add w[n,k], neighbourhood n whole in footprint k, for the pairs where it can be.

    Returns ``r_cells`` (each neighbourhood's cells and scaled residents), ``w`` and
    ``weight`` (the residents each literal keeps whole, scaled).
    """
    n = len(prob.pop)
    hi = prob.size[1]
    K = range(k_max)
    n_nb = len(prob.nb_total)
    r_cells: list[list[tuple[int, int]]] = [[] for _ in range(n_nb)]
    for c in range(n):
        for r, v in zip(prob.nb_rows[c].tolist(), prob.nb_vals[c].tolist(), strict=True):
            r_cells[r].append((c, int(math.floor(v * _SCALE))))
    w: dict[tuple[int, int], Any] = {}
    weight: dict[tuple[int, int], int] = {}
    for r in range(n_nb):
        big = int(round(float(prob.nb_total[r]) * _SCALE))
        need = int(math.ceil(threshold * float(prob.nb_total[r]) * _SCALE - 1e-6))
        here = sum(v for _, v in r_cells[r])
        if big <= 0 or here + len(r_cells[r]) < need:
            continue  # too few of its residents in this piece to be whole here
        must = [c for c, v in r_cells[r] if v > (1 - threshold) * big]
        if int(pop[must].sum()) > hi * _SCALE:
            continue  # its core alone is larger than a footprint
        for k in K:
            if any((c, k) not in x for c, _ in r_cells[r] if c in must):
                continue
            parts = [(c, v) for c, v in r_cells[r] if (c, k) in x]
            if sum(v for _, v in parts) + len(parts) < need:
                continue
            b = m.NewBoolVar(f"w{r}_{k}")
            m.Add(sum(v * x[c, k] for c, v in parts) >= need * b)
            for c in must:
                m.AddImplication(b, x[c, k])
            w[r, k] = b
            weight[r, k] = big
        ws = [w[r, k] for k in K if (r, k) in w]
        if len(ws) > 1:
            m.AddAtMostOne(ws)
    return r_cells, w, weight


def _add_hint(fm: _FullModel, prob: Problem, hint: np.ndarray, threshold: float) -> None:
    """Hand the solver the heuristic's plan as a complete hint (when it fits ``k_max``)."""
    m, n, K = fm.m, len(prob.pop), range(fm.k_max)
    hl, roots, hflow = _hint_parts(prob, np.asarray(hint), fm.order)
    if int(hl.max()) < fm.k_max:
        for (c, k), v in fm.x.items():
            m.AddHint(v, int(hl[c] == k))
            m.AddHint(fm.root[c, k], int(roots[k] == c) if k < len(roots) else 0)
        for k in K:
            m.AddHint(fm.used[k], int(k < len(roots)))
            m.AddHint(fm.ri[k], int(fm.rank[roots[k]]) if k < len(roots) else 0)
        for c in range(n):
            m.AddHint(fm.lab[c], int(hl[c]))
            m.AddHint(fm.supply[c], int((hl == hl[c]).sum()) if c in roots else 0)
        for (c, d), s in fm.same.items():
            m.AddHint(s, int(hl[c] == hl[d]))
        for key, f in fm.flow.items():
            m.AddHint(f, hflow.get(key, 0))
        for (r, k), b in fm.w.items():
            got = sum(v for c, v in fm.r_cells[r] if hl[c] == k)
            need = int(math.ceil(threshold * float(prob.nb_total[r]) * _SCALE - 1e-6))
            must_ok = all(hl[c] == k for c, v in fm.r_cells[r] if v > (1 - threshold)
                          * fm.weight[r, k])
            m.AddHint(b, int(got >= need and must_ok))


def _full_solver(cp_model: Any, *, time_limit: float, work_limit: float | None, workers: int,
                 seed: int) -> Any:
    """Make a CP-SAT solver with the limits, threads and seed; its log goes to -vv."""
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.max_time_in_seconds = float(max(time_limit, 0.01))
    if work_limit is not None:
        prm.max_deterministic_time = float(work_limit)
    prm.num_workers = int(max(workers, 1))
    prm.random_seed = int(seed)
    # (repair_hint is not set: the hint is complete and feasible, and with one worker
    # it made CP-SAT 9.15 abort on "heuristics.fixed_search != nullptr")
    if log.isEnabledFor(logging.DEBUG):  # the solver's own log at -vv
        prm.log_search_progress = True
        prm.log_to_stdout = False
        solver.log_callback = lambda line: log.debug("cp-sat: %s", line)
    return solver


def _announcer(cp_model: Any, t0: float, progress: Progress | None) -> Any:
    """Make a callback that logs each better plan and passes it to ``progress``."""

    class _Cb(cp_model.CpSolverSolutionCallback):
        def __init__(self) -> None:
            super().__init__()

        def on_solution_callback(self) -> None:
            info = {"seconds": time.perf_counter() - t0,
                    "residents_whole": self.ObjectiveValue() / _SCALE,
                    "bound": self.BestObjectiveBound() / _SCALE}
            log.info("footprints: %s residents kept whole, bound %s, after %.1f s",
                     f"{info['residents_whole']:,.0f}", f"{info['bound']:,.0f}",
                     info["seconds"])
            if progress is not None:
                progress(info)

    return _Cb()


def _solve_full(
    prob: Problem,
    hint: np.ndarray | None,
    *,
    threshold: float,
    time_limit: float,
    work_limit: float | None,
    workers: int,
    seed: int,
    progress: Progress | None,
    cap: float | None,
    announce: bool = True,
) -> ExactResult:
    """Solve the whole model of the docstring above (``cap``: a known upper bound)."""
    cp_model = _cp_model()
    n = len(prob.pop)
    pop = np.rint(np.asarray(prob.pop, float) * _SCALE).astype(np.int64)
    k_min, k_max = _footprint_range(prob, pop)
    t0 = time.perf_counter()
    m = cp_model.CpModel()
    order, rank = _sweep_order(prob)
    x, used = _add_footprints(m, prob, pop, rank, k_min, k_max)
    root, ri, lab, same, flow, supply = _add_contiguity(m, prob, rank, k_max, x, used)
    r_cells, w, weight = _add_whole(m, prob, pop, k_max, x, threshold)
    fm = _FullModel(m=m, k_max=k_max, order=order, rank=rank, x=x, used=used, root=root,
                    ri=ri, lab=lab, same=same, flow=flow, supply=supply, r_cells=r_cells,
                    w=w, weight=weight)
    objective = sum(weight[key] * b for key, b in w.items())
    m.Maximize(objective)
    relaxed = float("inf") if cap is None else cap
    if cap is not None:
        m.Add(objective <= int(math.floor(cap * _SCALE + 1e-6)))
    if hint is not None:
        _add_hint(fm, prob, hint, threshold)

    solver = _full_solver(cp_model, time_limit=time_limit, work_limit=work_limit,
                          workers=workers, seed=seed)
    status = solver.Solve(m, _announcer(cp_model, t0, progress) if announce else None)
    secs = time.perf_counter() - t0
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        labels = np.array([int(solver.Value(lab[c])) for c in range(n)], dtype=np.int64)
        value = solver.ObjectiveValue() / _SCALE
        bound = min(solver.BestObjectiveBound() / _SCALE, relaxed)
        st = "optimal" if status == cp_model.OPTIMAL or value >= bound - 1e-9 else "feasible"
        return ExactResult(labels, value, max(bound, value), st, secs)
    if status == cp_model.INFEASIBLE:
        raise NbhdGeoError(
            "no plan meets the size bounds with contiguous footprints (proven by the solver)",
            argument="size", fix="widen size, or link islands with bridge_m",
        )
    if hint is None:
        raise NbhdGeoError(
            f"the solver found no plan within time_limit={time_limit:g} s",
            argument="time_limit", fix="raise time_limit",
        )
    bound = min(relaxed, float(sum(weight.values())) / _SCALE)
    if status != cp_model.UNKNOWN:
        bound = min(bound, solver.BestObjectiveBound() / _SCALE)
    hint_labels = np.asarray(hint, dtype=np.int64)
    return ExactResult(hint_labels, float("nan"), bound, "hint", secs)


_FULL_MAX = 90  # cells: above this, the whole model's bound is no better than the relaxation


def _whole_value(prob: Problem, labels: np.ndarray, threshold: float) -> float:
    """Residents kept whole by a labelling of the cells (1/100 person units)."""
    k = int(labels.max()) + 1
    mat = np.zeros((len(prob.nb_total), k))
    for c in range(len(labels)):
        np.add.at(mat[:, labels[c]], prob.nb_rows[c], np.floor(prob.nb_vals[c] * _SCALE))
    need = np.ceil(threshold * prob.nb_total * _SCALE - 1e-6)
    whole = (mat.max(axis=1) >= need) & (prob.nb_total > 0)
    return float(np.rint(prob.nb_total[whole] * _SCALE).sum())


def _sub_problem(prob: Problem, cells: np.ndarray) -> Problem:
    """Make the cells given a problem of their own (neighbourhood totals stay city-wide)."""
    pos = np.full(len(prob.pop), -1)
    pos[cells] = np.arange(len(cells))
    nbrs, nlen = [], []
    for c in cells.tolist():
        keep = pos[prob.nbrs[c]] >= 0
        nbrs.append(pos[prob.nbrs[c][keep]])
        nlen.append(prob.nlen[c][keep])
    return Problem(
        pop=prob.pop[cells], nbrs=nbrs, nlen=nlen, xy=prob.xy[cells], atoms=prob.atoms[cells],
        nb_rows=[prob.nb_rows[c] for c in cells.tolist()],
        nb_vals=[prob.nb_vals[c] for c in cells.tolist()], nb_total=prob.nb_total,
        pc_rows=[prob.pc_rows[c] for c in cells.tolist()],
        pc_vals=[prob.pc_vals[c] for c in cells.tolist()], n_pcn=prob.n_pcn, size=prob.size,
        threshold=prob.threshold,
    )


def _neighbourhood_search(
    prob: Problem, labels: np.ndarray, *, threshold: float, time_limit: float,
    work_limit: float | None, seed: int, cap: float, progress: Progress | None, t0: float,
) -> np.ndarray:
    """Re-solve a footprint and its neighbours exactly, in turn, while it pays."""
    labels = labels.copy()
    value = _whole_value(prob, labels, threshold)
    work = 0.0
    stale = 0
    rng = np.random.default_rng(seed)
    while value < cap * _SCALE - 0.5:
        k = int(labels.max()) + 1
        touch = np.zeros((k, k))
        mat = np.zeros((len(prob.nb_total), k))
        for c in range(len(labels)):
            mat[prob.nb_rows[c], labels[c]] += prob.nb_vals[c]
            for d, ln in zip(prob.nbrs[c].tolist(), prob.nlen[c].tolist(), strict=True):
                if labels[d] != labels[c]:
                    touch[labels[c], labels[d]] += ln + 1e-3
        # first the footprints sharing a split neighbourhood (largest first), then each
        # footprint with two or three of its neighbours
        split = np.flatnonzero(mat.max(axis=1) < threshold * prob.nb_total - 1e-6)
        groups: list[list[int]] = []
        for r in split[np.argsort(-prob.nb_total[split], kind="stable")].tolist():
            g = np.flatnonzero(mat[r] > 0.01 * prob.nb_total[r]).tolist()
            if 2 <= len(g) <= 4 and g not in groups:
                groups.append(g)
        for f in rng.permutation(k).tolist():
            near = np.argsort(-touch[f], kind="stable")[: int(rng.integers(2, 4))]
            groups.append([f, *[int(g) for g in near if touch[f, g] > 0]])
        if stale >= len(groups):
            break
        for group in groups[stale:]:
            left = time_limit - (time.perf_counter() - t0)
            if left <= 0.2 or (work_limit is not None and work >= work_limit):
                return labels
            cells = np.flatnonzero(np.isin(labels, group))
            sub = _sub_problem(prob, cells)
            hint = np.unique(labels[cells], return_inverse=True)[1]
            step = None if work_limit is None else min(1.0, work_limit - work)
            res = _solve_full(sub, hint, threshold=threshold,
                              time_limit=min(left, 3.0) if work_limit is None else left,
                              work_limit=step if step is not None else 1.0, workers=1,
                              seed=seed, progress=None, cap=None, announce=False)
            work += step if step is not None else 0.0
            if res.status == "hint":
                stale += 1
                continue
            trial = labels.copy()
            trial[cells] = k + res.labels  # fresh labels, then renumbered
            trial = np.unique(trial, return_inverse=True)[1]
            got = _whole_value(prob, trial, threshold)
            if got > value + 0.5:
                labels, value, stale = trial, got, 0
                info = {"seconds": time.perf_counter() - t0, "residents_whole": value / _SCALE,
                        "bound": cap}
                log.info("footprints: %s residents kept whole, bound %s, after %.1f s",
                         f"{info['residents_whole']:,.0f}", f"{cap:,.0f}", info["seconds"])
                if progress is not None:
                    progress(info)
                break
            stale += 1
    return labels


def solve_exact(
    prob: Problem,
    hint: np.ndarray | None,
    *,
    threshold: float,
    time_limit: float,
    work_limit: float | None = None,
    workers: int = 1,
    seed: int = 0,
    progress: Progress | None = None,
) -> ExactResult:
    """Maximise residents kept whole over the cells of ``prob``; prove a bound.

    The bound is the smaller of the conflicts-only relaxation (:func:`conflict_bound`)
    and, for up to 90 cells, the whole model's own bound (there the model is solved
    outright and usually proven optimal). Above that the whole model's bound stays near
    100 % (its footprint labels are interchangeable, so its linear relaxation spreads
    every cell over every label), so the plan is improved instead by large neighbourhood
    search: the footprints sharing a split neighbourhood (largest first), then each
    footprint with two or three neighbours, are re-solved exactly with the rest fixed,
    while that keeps more residents whole.

    Parameters
    ----------
    prob
        The cells (one connected, nested piece).
    hint
        A feasible labelling of the cells (the heuristic's best), or ``None``.
    threshold
        Share of a neighbourhood's residents that must be in one footprint (0.5, 1].
    time_limit
        Wall-clock seconds for the solver.
    work_limit
        Deterministic work limit (CP-SAT's ``max_deterministic_time``): with
        ``workers=1`` the same inputs then always give the same plan.
    workers
        Solver threads.
    seed
        Solver seed.
    progress
        Called with ``{"seconds", "residents_whole", "bound"}`` on each better plan.

    Examples
    --------
    Two cells of 6 people, one neighbourhood over both; footprints of 10–14 people:

    >>> import numpy as np
    >>> from nbhd_geo.plan._search import Problem
    >>> prob = Problem(pop=np.array([6.0, 6.0]), nbrs=[np.array([1]), np.array([0])],
    ...     nlen=[np.array([1.0]), np.array([1.0])], xy=np.zeros((2, 2)),
    ...     atoms=np.arange(2), nb_rows=[np.array([0]), np.array([0])],
    ...     nb_vals=[np.array([5.0]), np.array([5.0])], nb_total=np.array([10.0]),
    ...     pc_rows=[np.zeros(0, int)] * 2, pc_vals=[np.zeros(0)] * 2, n_pcn=0,
    ...     size=(10.0, 14.0))
    >>> r = solve_exact(prob, None, threshold=0.95, time_limit=5)
    >>> r.labels.tolist(), r.residents_whole, r.bound, r.status
    ([0, 0], 10.0, 10.0, 'optimal')
    """
    t0 = time.perf_counter()
    relaxed = conflict_bound(
        prob, threshold=threshold, workers=workers, seed=seed,
        time_limit=max(0.25 * time_limit, 0.5) if work_limit is None else time_limit,
        work_limit=None if work_limit is None else max(0.25 * work_limit, 0.5))
    if hint is None or len(prob.pop) <= _FULL_MAX:
        res = _solve_full(prob, hint, threshold=threshold, time_limit=time_limit,
                          work_limit=work_limit, workers=workers, seed=seed, progress=progress,
                          cap=relaxed)
        return res
    # large: the bound is the relaxation's; improve the plan by exact re-solves of a few
    # neighbouring footprints at a time (large neighbourhood search)
    labels = _neighbourhood_search(
        prob, np.asarray(hint, dtype=np.int64), threshold=threshold, time_limit=time_limit,
        work_limit=work_limit, seed=seed, cap=relaxed, progress=progress, t0=t0)
    value = _whole_value(prob, labels, threshold) / _SCALE
    status = "optimal" if value >= relaxed - 1e-9 else "feasible"
    return ExactResult(labels, value, max(relaxed, value), status, time.perf_counter() - t0)
