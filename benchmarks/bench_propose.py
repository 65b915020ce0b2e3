"""Footprint proposals: nbhd_geo.plan against spopt max-p and a GerryChain ReCom ensemble.

Usage::

    python benchmarks/bench_propose.py [--steps 1000] [--maxp-iterations 99 10] [--levels 1 2 5]
                                       [--skip-maxp] [--json out.json]

Input (the same for every contender, built before any timing): Wakefield (E08000036) LSOA
2021, 215 units, Census 2021 usual residents 353,378, with 40 seeded resident neighbourhoods
from tests/_city.py (seed 7; ~340 to ~15,000 people, 168,578 people in all). Size 30–50k.
Contiguity: nbhd_geo's rook adjacency (shared boundary ≥ 10 m), handed to every contender.

Measures: wall time to a plan (one optimiser run) and to the full Pareto set (default 15
runs); residents of neighbourhoods kept whole (the issue's headline objective) for our best
plan, spopt max-p (population floor 30k; no upper bound exists in max-p, so its footprints
over 50k are counted) and each plan of a ReCom chain with the same number of footprints
(percentiles, and the share of the ensemble our best plan beats). Scaling to finer units:
no OA 2021 boundaries are in ../shared, so each LSOA is split into ``m`` pieces (Voronoi cells
of ``m`` seeded points inside it, population shared by area: m = 5 is about OA size); the
time to a plan is reported per level.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("NBHD_GEO_SHARED", ROOT.parent / "shared" / "data")).resolve()

from tests._baselines import maxp_plan, recom_ensemble  # noqa: E402
from tests._city import load_district, make_neighbourhoods  # noqa: E402

from nbhd_geo.plan import (  # noqa: E402
    NeighbourhoodSplits,
    check_plan,
    neighbourhood_people,
    propose_footprints,
)

SIZE = (30_000.0, 50_000.0)


def split_units(lsoa: gpd.GeoDataFrame, m: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Split each unit into ``m`` Voronoi pieces; population shared by area."""
    if m == 1:
        return lsoa
    rng = np.random.default_rng(seed)
    rows = []
    for code, geom, pop in zip(lsoa.index, lsoa.geometry, lsoa["population"], strict=True):
        pts = []
        x0, y0, x1, y1 = geom.bounds
        while len(pts) < m:
            p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
            if geom.contains(p):
                pts.append(p)
        cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=geom)
        parts = [shapely.make_valid(c.intersection(geom)) for c in shapely.get_parts(cells)]
        parts = [shapely.union_all([g for g in shapely.get_parts(p) if g.area > 0]) for p in parts]
        parts = [p for p in parts if not p.is_empty and p.area > 1]
        total = sum(p.area for p in parts)
        for k, p in enumerate(parts):
            rows.append((f"{code}_{k}", pop * p.area / total, p))
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["code", "population", "geometry"]),
                           geometry="geometry", crs=lsoa.crs).set_index("code")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--maxp-iterations", type=int, nargs=2, default=[99, 10])
    ap.add_argument("--levels", type=int, nargs="*", default=[1, 2, 5])
    ap.add_argument("--skip-maxp", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    lsoa = load_district(SHARED, "E08000036")
    nb = make_neighbourhoods(lsoa, 40, seed=7)
    ids = lsoa.index.to_numpy()
    pop = lsoa["population"].to_numpy(float)
    people = neighbourhood_people(nb, lsoa, population="population", neighbourhood_id="name")
    splits = NeighbourhoodSplits(people, ids)
    print(f"Wakefield LSOA21: {len(lsoa)} units, {pop.sum():,.0f} people; {len(nb)} "
          f"neighbourhoods holding {splits.total.sum():,.0f} people; cores {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.1f}")
    out: dict[str, object] = {}

    t0 = time.perf_counter()
    one = propose_footprints(lsoa, population="population", neighbourhoods=nb,
                             neighbourhood_id="name", n_plans=1, n_runs=1, seed=0)
    t_one = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = propose_footprints(lsoa, population="population", neighbourhoods=nb,
                             neighbourhood_id="name", seed=0)
    t_all = time.perf_counter() - t0
    best = res.best().scorecard
    ok = all(check_plan(lsoa, p.assignment.set_index("unit")["footprint"],
                        population="population", size=SIZE).ok for p in res.plans)
    print(f"\nnbhd_geo: one plan (1 run) {t_one:.1f} s, whole {one.best().scorecard['share_whole']:.1%}; "
          f"Pareto set ({len(res.plans)} plans from {len(res.candidates)} distinct, 15 runs) "
          f"{t_all:.1f} s; all plans pass check_plan: {ok}")
    print(res.to_frame()[["n_footprints", "pop_min", "pop_max", "max_dev", "cut_edges",
                          "polsby_popper_mean", "residents_whole", "share_whole",
                          "neighbourhoods_split"]].round(3).to_string())
    ours = float(best["residents_whole"])
    out["ours"] = {"t_one_s": t_one, "t_pareto_s": t_all, "residents_whole": ours,
                   "share_whole": float(best["share_whole"]), "k": int(best["n_footprints"]),
                   "checks_ok": ok}

    edges = res.contiguity.edges
    if not args.skip_maxp:
        lab, t_maxp = maxp_plan(lsoa, ids, pop, edges, SIZE[0], seed=0,
                                iterations=tuple(args.maxp_iterations))
        s = splits.score(lab)
        fpop = pd.Series(pop).groupby(lab).sum()
        over = int((fpop > SIZE[1]).sum())
        print(f"\nspopt max-p (floor 30k, iterations {args.maxp_iterations}): {t_maxp:.1f} s, "
              f"{len(fpop)} regions {fpop.min():,.0f}–{fpop.max():,.0f} ({over} over 50k), "
              f"whole {s['share_whole']:.1%}; ours/max-p residents whole = "
              f"{ours / s['residents_whole']:.2f}×, time max-p/ours(Pareto) = {t_maxp / t_all:.1f}×")
        out["maxp"] = {"t_s": t_maxp, "regions": len(fpop), "over_upper": over,
                       "residents_whole": s["residents_whole"], "share_whole": s["share_whole"]}

    k = int(best["n_footprints"])
    plans, t_recom = recom_ensemble(pop, edges, k, SIZE, args.steps, seed=0)
    ens = np.array([splits.score(p)["residents_whole"] for p in plans])
    ei, ej = edges["i"].to_numpy(), edges["j"].to_numpy()
    cuts = np.array([(p[ei] != p[ej]).sum() for p in plans])
    pct = np.percentile(ens, [5, 50, 95, 100])
    beats = float((ens < ours).mean())
    print(f"\nGerryChain ReCom ({len(plans)} plans, k={k}): {t_recom:.1f} s; residents whole "
          f"p5 {pct[0]:,.0f} p50 {pct[1]:,.0f} p95 {pct[2]:,.0f} max {pct[3]:,.0f}; ours "
          f"{ours:,.0f} beats {beats:.1%} of the ensemble; ours/p95 = {ours / pct[2]:.2f}×, "
          f"ours/median = {ours / pct[1]:.2f}×; cut edges median {np.median(cuts):.0f} "
          f"(ours {int(best['cut_edges'])})")
    out["recom"] = {"plans": len(plans), "t_s": t_recom, "p5": pct[0], "p50": pct[1],
                    "cut_edges_median": float(np.median(cuts)),
                    "p95": pct[2], "max": pct[3], "ours_beats": beats}

    print("\nScaling (LSOAs split into m Voronoi pieces; one run = one plan; 15 runs = Pareto set)")
    out["levels"] = []
    for m in args.levels:
        units = split_units(lsoa, m)
        t0 = time.perf_counter()
        r1 = propose_footprints(units, population="population", neighbourhoods=nb,
                                neighbourhood_id="name", n_plans=1, n_runs=1, seed=0)
        t1 = time.perf_counter() - t0
        t0 = time.perf_counter()
        r15 = propose_footprints(units, population="population", neighbourhoods=nb,
                                 neighbourhood_id="name", seed=0)
        t15 = time.perf_counter() - t0
        w1, w15 = r1.best().scorecard["share_whole"], r15.best().scorecard["share_whole"]
        print(f"  m={m}: {len(units):5d} units  one plan {t1:6.1f} s (whole {w1:.1%})  "
              f"Pareto set {t15:6.1f} s (whole {w15:.1%})")
        out["levels"].append({"m": m, "units": len(units), "t_one_s": t1, "t_pareto_s": t15,
                              "whole_one": w1, "whole_pareto": w15})
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
