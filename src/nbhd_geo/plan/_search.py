"""The footprint optimiser: seeded region growing over atoms, then local search.

Everything here works on plain arrays of *cells* (units, with enclaves already merged
into their hosts) and is deterministic given the ``numpy`` generator passed in: every
loop runs in a fixed order and every random choice comes from that generator.

Cost of a plan (lower is better), each part normalised to about [0, 1]::

    w_split · (people in neighbourhoods not kept whole (fewer than ``threshold`` of
               their people in one footprint) + ½ people outside their
               neighbourhood's main footprint) / people in neighbourhoods
  + w_pcn   · patients outside their footprint's main PCN / patients
  + w_cut   · boundary length between footprints / all shared boundary length
  + w_bal   · Σ_k ((pop_k − mean) / mean)²
  + 100     · Σ_k people outside [size[0], size[1]] / mean

The size term makes the bounds hard in practice; :func:`feasible` confirms them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["Problem", "Weights", "solve"]

_VIOL = 100.0
_EPS = 1e-9


@dataclass(frozen=True)
class Weights:
    """Weights of the cost terms."""

    split: float = 1.0
    pcn: float = 0.5
    cut: float = 0.05
    bal: float = 0.05


@dataclass
class Problem:
    """A connected set of cells to cut into ``k`` footprints."""

    pop: np.ndarray  # (n,)
    nbrs: list[np.ndarray]  # neighbour cells
    nlen: list[np.ndarray]  # shared length with each neighbour
    xy: np.ndarray  # (n, 2) representative points
    atoms: np.ndarray  # (n,) atom label
    nb_rows: list[np.ndarray]  # neighbourhood rows touching each cell
    nb_vals: list[np.ndarray]  # people of that neighbourhood in the cell
    nb_total: np.ndarray  # (N,)
    pc_rows: list[np.ndarray]  # PCN rows registered in each cell
    pc_vals: list[np.ndarray]
    n_pcn: int
    size: tuple[float, float]
    threshold: float = 0.95  # kept whole: this share of a neighbourhood in one footprint


class _State:
    """Plan bookkeeping in plain Python lists.

    The arrays are tiny, so numpy calls would cost more than the arithmetic.
    """

    def __init__(self, prob: Problem, labels: np.ndarray, k: int, w: Weights) -> None:
        self.p = prob
        self.k = k
        self.w = w
        self.lab: list[int] = [int(x) for x in labels]
        self.nbrs = [x.tolist() for x in prob.nbrs]
        self.nlen = [x.tolist() for x in prob.nlen]
        self.nbr_rows = [x.tolist() for x in prob.nb_rows]
        self.nbr_vals = [x.tolist() for x in prob.nb_vals]
        self.pcr_rows = [x.tolist() for x in prob.pc_rows]
        self.pcr_vals = [x.tolist() for x in prob.pc_vals]
        self.pop = prob.pop.tolist()
        self.tot = prob.nb_total.tolist()
        self.thr = float(prob.threshold)
        self.M = [[0.0] * k for _ in range(len(self.tot))]
        self.R = [[0.0] * max(prob.n_pcn, 1) for _ in range(k)]  # footprint -> PCN
        self.fpop = [0.0] * k
        for u, a in enumerate(self.lab):
            for r, v in zip(self.nbr_rows[u], self.nbr_vals[u], strict=True):
                self.M[r][a] += v
            for r, v in zip(self.pcr_rows[u], self.pcr_vals[u], strict=True):
                self.R[a][r] += v
            self.fpop[a] += self.pop[u]
        self.target = float(prob.pop.sum()) / k
        self.lo, self.hi = prob.size
        self.nb_norm = max(float(prob.nb_total.sum()), 1.0)
        self.pc_norm = max(float(sum(v.sum() for v in prob.pc_vals)), 1.0)
        self.cut_norm = max(float(sum(v.sum() for v in prob.nlen)) / 2, 1.0)
        self.members: list[set[int]] = [set() for _ in range(k)]
        for u, lab in enumerate(self.lab):
            self.members[lab].add(u)

    # ---- cost pieces
    def _row_cost(self, r: int) -> float:
        tot = self.tot[r]
        mx = max(self.M[r])
        return (tot if mx < self.thr * tot - 1e-6 else 0.0) + 0.5 * (tot - mx)

    def _col_cost(self, c: int) -> float:
        col = self.R[c]
        return sum(col) - max(col)

    def _size_cost(self, pop: float) -> float:
        viol = max(0.0, self.lo - pop) + max(0.0, pop - self.hi)
        dev = (pop - self.target) / self.target
        return self.w.bal * dev * dev + _VIOL * viol / self.target

    def labels(self) -> np.ndarray:
        return np.array(self.lab, dtype=np.int64)

    def total(self) -> float:
        split = sum(self._row_cost(r) for r in range(len(self.tot)))
        pcn = sum(self._col_cost(c) for c in range(self.k)) if self.p.n_pcn else 0.0
        cut = 0.0
        for u, a in enumerate(self.lab):
            cut += sum(ln for v, ln in zip(self.nbrs[u], self.nlen[u], strict=True)
                       if self.lab[v] != a)
        size = sum(self._size_cost(x) for x in self.fpop)
        return (
            self.w.split * split / self.nb_norm
            + self.w.pcn * pcn / self.pc_norm
            + self.w.cut * cut / 2 / self.cut_norm
            + size
        )

    def move(self, u: int, b: int) -> float:
        """Move cell ``u`` to footprint ``b``; return the change in cost."""
        a = self.lab[u]
        if a == b:
            return 0.0
        d = 0.0
        rows = self.nbr_rows[u]
        if rows:
            before = 0.0
            for r in rows:
                before += self._row_cost(r)
            after = 0.0
            for r, v in zip(rows, self.nbr_vals[u], strict=True):
                m = self.M[r]
                m[a] -= v
                m[b] += v
                after += self._row_cost(r)
            d += self.w.split * (after - before) / self.nb_norm
        if self.p.n_pcn and self.pcr_rows[u]:
            before = self._col_cost(a) + self._col_cost(b)
            ra, rb = self.R[a], self.R[b]
            for r, v in zip(self.pcr_rows[u], self.pcr_vals[u], strict=True):
                ra[r] -= v
                rb[r] += v
            d += self.w.pcn * (self._col_cost(a) + self._col_cost(b) - before) / self.pc_norm
        dcut = 0.0
        lab = self.lab
        for v, ln in zip(self.nbrs[u], self.nlen[u], strict=True):
            lv = lab[v]
            if lv == a:
                dcut += ln
            elif lv == b:
                dcut -= ln
        d += self.w.cut * dcut / self.cut_norm
        fa, fb = self.fpop[a], self.fpop[b]
        pu = self.pop[u]
        d += (
            self._size_cost(fa - pu) + self._size_cost(fb + pu)
            - self._size_cost(fa) - self._size_cost(fb)
        )
        self.fpop[a] = fa - pu
        self.fpop[b] = fb + pu
        lab[u] = b
        self.members[a].discard(u)
        self.members[b].add(u)
        return d

    def connected(self, cells: set[int]) -> bool:
        if not cells:
            return False
        start = next(iter(cells))
        seen = {start}
        queue = deque([start])
        nbrs = self.nbrs
        while queue:
            v = queue.popleft()
            for x in nbrs[v]:
                if x in cells and x not in seen:
                    seen.add(x)
                    queue.append(x)
        return len(seen) == len(cells)


# --------------------------------------------------------------------------- growing


def _grow(prob: Problem, k: int, rng: np.random.Generator) -> np.ndarray:
    """Seeded region growing over atoms; returns a cell labelling (all cells assigned)."""
    n = len(prob.pop)
    atoms = prob.atoms if len(np.unique(prob.atoms)) >= k else np.arange(n)
    atom_ids, atom_of = np.unique(atoms, return_inverse=True)
    na = len(atom_ids)
    apop = np.bincount(atom_of, weights=prob.pop, minlength=na)
    axy = np.zeros((na, 2))
    for d in range(2):
        axy[:, d] = np.bincount(atom_of, weights=prob.xy[:, d], minlength=na) / np.bincount(
            atom_of, minlength=na
        )
    anbr: list[dict[int, float]] = [dict() for _ in range(na)]
    for u in range(n):
        au = int(atom_of[u])
        for v, length in zip(prob.nbrs[u].tolist(), prob.nlen[u].tolist(), strict=True):
            av = int(atom_of[v])
            if av != au:
                anbr[au][av] = anbr[au].get(av, 0.0) + length
    # seeds: farthest-point sampling from a random atom
    seeds = [int(rng.integers(na))]
    dist = np.hypot(*(axy - axy[seeds[0]]).T)
    while len(seeds) < k:
        nxt = int(np.argmax(dist))
        seeds.append(nxt)
        dist = np.minimum(dist, np.hypot(*(axy - axy[nxt]).T))
    alab = np.full(na, -1, dtype=np.int64)
    fpop = np.zeros(k)
    for r, s in enumerate(seeds):
        alab[s] = r
        fpop[r] = apop[s]
    lo, hi = prob.size
    target = prob.pop.sum() / k
    jitter = rng.random(na) * 1e-6
    blocked = np.zeros(k, dtype=bool)
    while (alab < 0).any():
        open_r = [r for r in np.argsort(fpop, kind="stable").tolist() if not blocked[r]]
        if not open_r:
            break
        r = open_r[0]
        best, best_score = -1, -np.inf
        members = np.flatnonzero(alab == r)
        for a in members.tolist():
            for b in anbr[a]:
                if alab[b] >= 0:
                    continue
                if fpop[r] + apop[b] > hi and fpop[r] >= lo:
                    continue
                shared = sum(anbr[b].get(m, 0.0) for m in anbr[b] if alab[m] == r)
                perim = sum(anbr[b].values()) or 1.0
                score = shared / perim + jitter[b] - 0.2 * abs(fpop[r] + apop[b] - target) / target
                if score > best_score:
                    best, best_score = b, score
        if best < 0 or fpop[r] >= target:
            blocked[r] = True
            continue
        alab[best] = r
        fpop[r] += apop[best]
    # leftovers: attach to the smallest adjacent region, repeatedly
    while (alab < 0).any():
        changed = False
        for a in np.flatnonzero(alab < 0).tolist():
            cands = [alab[b] for b in anbr[a] if alab[b] >= 0]
            if cands:
                r = int(min(cands, key=lambda x: (fpop[x], x)))
                alab[a] = r
                fpop[r] += apop[a]
                changed = True
        if not changed:  # an atom with no neighbours at all (cannot happen when connected)
            alab[alab < 0] = int(np.argmin(fpop))
    return alab[atom_of]


# --------------------------------------------------------------------------- local search


def _local_search(st: _State, rng: np.random.Generator, max_passes: int = 60,
                  nb_cells: list[list[int]] | None = None) -> None:
    p = st.p
    n = len(st.lab)
    atom_cells: dict[int, list[int]] = {}
    for u, a in enumerate(p.atoms.tolist()):
        atom_cells.setdefault(a, []).append(u)
    multi_atoms = sorted(a for a, cells in atom_cells.items() if len(cells) > 1)
    for _ in range(max_passes):
        improved = False
        # single cells on a footprint edge
        for u in rng.permutation(n).tolist():
            a = st.lab[u]
            targets = sorted({st.lab[v] for v in st.nbrs[u]} - {a})
            if not targets or len(st.members[a]) == 1:
                continue
            best_b, best_d = -1, -_EPS
            for b in targets:
                d = st.move(u, b)
                st.move(u, a)
                if d < best_d:
                    best_b, best_d = b, d
            if best_b >= 0:
                rest = st.members[a] - {u}
                if st.connected(rest):
                    st.move(u, best_b)
                    improved = True
        # atoms (resident neighbourhoods' cores) moved as a block
        for a_id in [multi_atoms[i] for i in rng.permutation(len(multi_atoms))]:
            cells = atom_cells[a_id]
            labs = [st.lab[c] for c in cells]
            for src in sorted(set(labs)):
                part = [c for c, lb in zip(cells, labs, strict=True) if lb == src]
                nb_labs: set[int] = set()
                for c in part:
                    nb_labs.update(st.lab[v] for v in st.nbrs[c])
                nb_labs.discard(src)
                if len(part) == len(st.members[src]):
                    continue
                for b in sorted(nb_labs):
                    d = sum(st.move(c, b) for c in part)
                    ok = d < -_EPS
                    if ok:
                        rest = st.members[src]
                        ok = st.connected(rest) and st.connected(st.members[b])
                    if ok:
                        improved = True
                        break
                    for c in part:
                        st.move(c, src)
                labs = [st.lab[c] for c in cells]
        if not improved and nb_cells is not None:  # at a local optimum: bigger moves
            improved = _repair_neighbourhoods(st, nb_cells, rng)
        if not improved:
            break


def _undo(st: _State, log: list[tuple[int, int]]) -> None:
    for c, a in reversed(log):
        st.move(c, a)


def _fix_sizes(
    st: _State, touched: set[int], protected: set[int], log: list[tuple[int, int]],
    rng: np.random.Generator, limit: int = 8,
) -> float:
    """Greedily move edge cells so touched footprints regain their size bounds."""
    d = 0.0
    for _ in range(limit):
        bad = sorted(f for f in touched if not st.lo <= st.fpop[f] <= st.hi)
        if not bad:
            break
        f = bad[0]
        over = st.fpop[f] > st.hi
        best: tuple[float, int, int] | None = None
        if over:  # push an edge cell of f out, to a footprint with room for it
            cands = [(c, g) for c in sorted(st.members[f]) if c not in protected
                     for g in sorted({st.lab[v] for v in st.nbrs[c]} - {f})
                     if st.fpop[g] + st.pop[c] <= st.hi]
        else:  # pull an edge cell in, from a footprint that can spare it
            cands = sorted({(v, f) for c in st.members[f] for v in st.nbrs[c]
                            if st.lab[v] != f and v not in protected
                            and st.fpop[st.lab[v]] - st.pop[v] >= st.lo})
        if len(cands) > 24:
            cands = [cands[i] for i in sorted(rng.choice(len(cands), 24, replace=False))]
        for c, g in cands:
            a = st.lab[c]
            dd = st.move(c, g)
            st.move(c, a)
            if best is None or dd < best[0]:
                if len(st.members[a]) > 1 and st.connected(st.members[a] - {c}):
                    best = (dd, c, g)
        if best is None:
            break
        log.append((best[1], st.lab[best[1]]))
        touched.add(st.lab[best[1]])
        touched.add(best[2])
        d += st.move(best[1], best[2])
    return d


def _repair_neighbourhoods(st: _State, nb_cells: list[list[int]], rng: np.random.Generator
                           ) -> bool:
    """Move every cell of a split neighbourhood into one of its footprints (then fix sizes)."""
    improved = False
    for r in rng.permutation(len(nb_cells)).tolist():
        cells = nb_cells[r]
        if not cells:
            continue
        labs = {st.lab[c] for c in cells}
        if len(labs) < 2:
            continue
        for b in sorted(labs):
            moving = [c for c in cells if st.lab[c] != b]
            sources = {st.lab[c] for c in moving}
            log = [(c, st.lab[c]) for c in moving]
            d = sum(st.move(c, b) for c in moving)
            if any(not st.members[a] for a in sources):
                _undo(st, log)
                continue
            d += _fix_sizes(st, sources | {b}, set(cells), log, rng)
            ok = d < -_EPS and all(st.lo - 1e-6 <= st.fpop[f] <= st.hi + 1e-6
                                   for f in {st.lab[c] for c, _ in log} | sources)
            if ok:
                changed = {a for _, a in log} | {st.lab[c] for c, _ in log}
                ok = all(st.connected(st.members[f]) for f in sorted(changed))
            if ok:
                improved = True
                break
            _undo(st, log)
    return improved


def _perturb(st: _State, rng: np.random.Generator, share: float) -> None:
    n = len(st.lab)
    tries = max(2, int(share * n))
    for u in rng.choice(n, size=min(n, tries * 3), replace=False).tolist():
        a = st.lab[u]
        targets = sorted({st.lab[v] for v in st.nbrs[u]} - {a})
        if not targets or len(st.members[a]) == 1:
            continue
        b = targets[int(rng.integers(len(targets)))]
        if st.connected(st.members[a] - {u}):
            st.move(u, b)
            tries -= 1
            if tries <= 0:
                break


def feasible(st: _State) -> bool:
    """Whether every footprint meets the size bounds and is non-empty."""
    lo, hi = st.p.size
    return all(lo - 1e-6 <= x <= hi + 1e-6 for x in st.fpop)


def solve(
    prob: Problem, k: int, w: Weights, rng: np.random.Generator, rounds: int = 12
) -> tuple[np.ndarray, bool]:
    """Grow, search, then iterated local search; return the best labelling found."""
    labels = _grow(prob, k, rng)
    st = _State(prob, labels, k, w)
    nb_cells: list[list[int]] = [[] for _ in range(len(prob.nb_total))]
    for c, rows in enumerate(prob.nb_rows):
        for r in rows.tolist():
            nb_cells[r].append(c)
    _local_search(st, rng, nb_cells=nb_cells)
    best_lab, best_cost = st.labels(), st.total()
    for _ in range(rounds):
        _perturb(st, rng, 0.04)
        _local_search(st, rng, nb_cells=nb_cells)
        cost = st.total()
        if cost < best_cost - _EPS:
            best_lab, best_cost = st.labels(), cost
        else:
            st = _State(prob, best_lab, k, w)
    st = _State(prob, best_lab, k, w)
    return best_lab, feasible(st)
