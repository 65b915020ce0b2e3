"""Peer baselines for footprint plans on the same inputs: spopt max-p and a GerryChain ReCom ensemble.

Both use the same rook contiguity as nbhd_geo (``nbhd_geo.plan.unit_contiguity`` edges), the
same populations, and are scored with the same ``NeighbourhoodSplits``. Used by
tests/test_plan.py and benchmarks/bench_propose.py.
"""

from __future__ import annotations

import random
import time
from functools import partial

import numpy as np
import pandas as pd


def maxp_plan(
    units, ids: np.ndarray, pop: np.ndarray, edges: pd.DataFrame, floor: float, seed: int = 0,
    iterations: tuple[int, int] = (99, 10),
) -> tuple[np.ndarray, float]:
    """spopt MaxPHeuristic with the population floor; attributes = unit centroids (km).

    ``iterations`` = (max_iterations_construction, max_iterations_sa); spopt's defaults.
    """
    import libpysal
    from spopt.region import MaxPHeuristic

    n = len(ids)
    neigh: dict[int, list[int]] = {u: [] for u in range(n)}
    for i, j in zip(edges["i"].tolist(), edges["j"].tolist(), strict=True):
        neigh[i].append(j)
        neigh[j].append(i)
    w = libpysal.weights.W({u: sorted(v) for u, v in neigh.items()}, silence_warnings=True)
    frame = units.reset_index(drop=True).copy()
    c = frame.geometry.centroid
    frame["_x"], frame["_y"], frame["_pop"] = c.x / 1000, c.y / 1000, pop
    np.random.seed(seed)  # noqa: NPY002 - the peers draw from the legacy global state
    random.seed(seed)
    t0 = time.perf_counter()
    model = MaxPHeuristic(frame, w, ["_x", "_y"], "_pop", floor, top_n=2,
                          max_iterations_construction=iterations[0],
                          max_iterations_sa=iterations[1])
    model.solve()
    return np.asarray(model.labels_), time.perf_counter() - t0


def recom_ensemble(
    pop: np.ndarray,
    edges: pd.DataFrame,
    k: int,
    size: tuple[float, float],
    steps: int,
    seed: int = 0,
) -> tuple[list[np.ndarray], float]:
    """A GerryChain ReCom chain of ``steps`` plans of ``k`` parts within ``size``."""
    import networkx as nx
    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.partition import recursive_tree_part
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the peers draw from the legacy global state
    g = nx.Graph()
    for u, p in enumerate(pop.tolist()):
        g.add_node(u, pop=p)
    g.add_edges_from(zip(edges["i"].tolist(), edges["j"].tolist(), strict=True))
    graph = Graph.from_networkx(g)
    lo, hi = size
    ideal = float(pop.sum()) / k
    eps = min(1 - lo / ideal, hi / ideal - 1)
    t0 = time.perf_counter()
    start = recursive_tree_part(graph, range(k), ideal, "pop", min(0.05, eps))
    part = Partition(graph, start, updaters={"population": Tally("pop", alias="population")})

    def in_bounds(p) -> bool:
        return all(lo <= v <= hi for v in p["population"].values())

    proposal = partial(recom, pop_col="pop", pop_target=ideal, epsilon=eps, node_repeats=0)
    chain = MarkovChain(proposal, [in_bounds], always_accept, part, total_steps=steps)
    plans = []
    for state in chain:
        a = state.assignment
        plans.append(np.array([a[u] for u in range(len(pop))], dtype=np.int64))
    return plans, time.perf_counter() - t0
