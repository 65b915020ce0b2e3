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

__all__ = ["ExactResult", "solve_exact", "Progress"]

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
    cp_model = _cp_model()
    n = len(prob.pop)
    lo, hi = prob.size
    pop = np.rint(np.asarray(prob.pop, float) * _SCALE).astype(np.int64)
    total = int(pop.sum())
    k_max = int(math.floor(total / (lo * _SCALE) + 1e-9)) if lo > 0 else n
    k_min = int(math.ceil(total / (hi * _SCALE) - 1e-9))
    k_max = max(min(k_max, n), 1)
    if k_min > k_max:
        raise NbhdGeoError(
            f"{prob.pop.sum():,.0f} people fit no number of footprints of {lo:,.0f}–{hi:,.0f}",
            argument="size", fix="widen size",
        )
    t0 = time.perf_counter()
    m = cp_model.CpModel()
    # cells in order of a sweep along the longer axis: roots of footprints come early
    spread = prob.xy.max(axis=0) - prob.xy.min(axis=0) if n else np.zeros(2)
    order = np.lexsort((np.arange(n), prob.xy[:, int(np.argmax(spread))])) if n else np.zeros(
        0, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
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
    # roots: the first cell (in order) of each footprint; flow contiguity from the roots
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
    # neighbourhoods kept whole
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
    objective = sum(weight[key] * b for key, b in w.items())
    m.Maximize(objective)

    if hint is not None:
        hl, roots, hflow = _hint_parts(prob, np.asarray(hint), order)
        if int(hl.max()) < k_max:
            for (c, k), v in x.items():
                m.AddHint(v, int(hl[c] == k))
                m.AddHint(root[c, k], int(roots[k] == c) if k < len(roots) else 0)
            for k in K:
                m.AddHint(used[k], int(k < len(roots)))
                m.AddHint(ri[k], int(rank[roots[k]]) if k < len(roots) else 0)
            for c in range(n):
                m.AddHint(lab[c], int(hl[c]))
                m.AddHint(supply[c], int((hl == hl[c]).sum()) if c in roots else 0)
            for (c, d), s in same.items():
                m.AddHint(s, int(hl[c] == hl[d]))
            for key, f in flow.items():
                m.AddHint(f, hflow.get(key, 0))
            for (r, k), b in w.items():
                got = sum(v for c, v in r_cells[r] if hl[c] == k)
                need = int(math.ceil(threshold * float(prob.nb_total[r]) * _SCALE - 1e-6))
                must_ok = all(hl[c] == k for c, v in r_cells[r] if v > (1 - threshold)
                              * weight[r, k])
                m.AddHint(b, int(got >= need and must_ok))

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

    class _Cb(cp_model.CpSolverSolutionCallback):  # type: ignore[name-defined]
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

    status = solver.Solve(m, _Cb())
    secs = time.perf_counter() - t0
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        labels = np.array([int(solver.Value(lab[c])) for c in range(n)], dtype=np.int64)
        value = solver.ObjectiveValue() / _SCALE
        bound = solver.BestObjectiveBound() / _SCALE
        st = "optimal" if status == cp_model.OPTIMAL else "feasible"
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
    bound = solver.BestObjectiveBound() / _SCALE if status != cp_model.UNKNOWN else float(
        sum(weight.values()) / _SCALE)
    hint_labels = np.asarray(hint, dtype=np.int64)
    return ExactResult(hint_labels, float("nan"), bound, "hint", secs)
