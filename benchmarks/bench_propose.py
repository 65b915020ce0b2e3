"""Footprint proposals: nbhd_geo.plan (heuristic + certified CP-SAT) against spopt max-p and
a GerryChain ReCom ensemble, with the solver's proven bound and gap.

Usage::

    python benchmarks/bench_propose.py [--cities E08000019 E08000036 E08000032]
        [--time-limit 60] [--steps 1000] [--maxp-iterations 8 2] [--skip-maxp]
        [--levels] [--json out.json]

Input (the same for every contender, built before any timing): for each district, its
LSOA 2021 with Census 2021 usual residents and ~150 seeded community neighbourhoods from
tests/_planner_city.py (seed 0; a fifth drawn inside one ward, the rest anywhere, from a
few streets to ~20,000 people): Sheffield (E08000019, 343 LSOAs, 556,547 people: the
held-out city of the footprint review), Wakefield (E08000036) and Bradford (E08000032).
Size 30–50k. Contiguity: nbhd_geo's rook adjacency (shared boundary ≥ 10 m), handed to
every contender. Kept whole: at least 95 % of a neighbourhood's area-apportioned
residents in one footprint (nbhd_geo.plan.WHOLE_THRESHOLD), scored identically for all.

Measures: CPU seconds to the recommended plan (the default call: 5 heuristic runs then the
solver for 8 s) and its share kept whole; then the solver for ``--time-limit`` s: plan,
proven bound and gap; spopt max-p (population floor 30k; max-p has no upper bound, so
footprints over 50k are counted); ReCom plans with our footprint count (percentiles, and
the share of the ensemble our plan beats). Every plan is checked by ``check_plan``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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
from tests._planner_city import build_city  # noqa: E402

from nbhd_geo.plan import (  # noqa: E402
    WHOLE_THRESHOLD,
    NeighbourhoodSplits,
    SearchOptions,
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


def load_city(district: str, folder: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """LSOAs with population and ~150 neighbourhoods of a district (cached in ``folder``)."""
    out = folder / district
    if not (out / "neighbourhoods.gpkg").exists():
        build_city(SHARED, district=district, n=150, seed=0, out=out)
    lsoa = gpd.read_file(out / "lsoa21.gpkg").set_index("lsoa21_code")
    pop = pd.read_csv(out / "census2021_population.csv").set_index("lsoa21_code")
    lsoa["population"] = pop["usual_residents_total"].reindex(lsoa.index)
    return lsoa, gpd.read_file(out / "neighbourhoods.gpkg")


def run_city(district: str, args: argparse.Namespace, folder: Path) -> dict[str, object]:
    lsoa, nb = load_city(district, folder)
    ids = lsoa.index.to_numpy()
    pop = lsoa["population"].to_numpy(float)
    people = neighbourhood_people(nb, lsoa, population="population", neighbourhood_id="name")
    splits = NeighbourhoodSplits(people, ids)
    tot = float(splits.total.sum())
    print(f"\n== {district}: {len(lsoa)} LSOAs, {pop.sum():,.0f} people; {len(nb)} "
          f"neighbourhoods holding {tot:,.0f} people; load {os.getloadavg()[0]:.1f}")
    out: dict[str, object] = {"district": district, "units": len(lsoa),
                              "people": float(pop.sum()), "neighbourhoods": len(nb)}

    def checked(res) -> bool:  # type: ignore[no-untyped-def]
        return all(check_plan(lsoa, p.assignment.set_index("unit")["footprint"],
                              population="population", size=SIZE,
                              bridges=res.contiguity.bridges).ok for p in res.plans)

    c0, w0 = time.process_time(), time.perf_counter()
    rec = propose_footprints(lsoa, population="population", neighbourhoods=nb,
                             neighbourhood_id="name", search=SearchOptions(seed=0))
    c_rec, w_rec = time.process_time() - c0, time.perf_counter() - w0
    cert = rec.certificate
    print(f"recommended plan (defaults): CPU {c_rec:.1f} s (wall {w_rec:.1f} s), "
          f"{cert.share_whole:.1%} kept whole, bound {cert.share_bound:.1%} "
          f"(gap {100 * cert.gap:.1f} pts, {cert.status}), "
          f"{int(rec.best().scorecard['n_footprints'])} footprints "
          f"{rec.best().scorecard['pop_min']:,.0f}–{rec.best().scorecard['pop_max']:,.0f}; "
          f"check_plan ok: {checked(rec)}")
    c0, w0 = time.process_time(), time.perf_counter()
    long = propose_footprints(lsoa, population="population", neighbourhoods=nb,
                              neighbourhood_id="name", n_plans=1,
                              search=SearchOptions(seed=0, time_limit=args.time_limit,
                                                   workers=args.workers))
    c_long, w_long = time.process_time() - c0, time.perf_counter() - w0
    lc = long.certificate
    best = long.best().scorecard
    ok = checked(long)
    print(f"solver {args.time_limit:g} s x {args.workers} worker(s): CPU {c_long:.1f} s "
          f"(wall {w_long:.1f} s): plan {lc.share_whole:.1%}, proven bound "
          f"{lc.share_bound:.1%}, gap {100 * lc.gap:.1f} pts ({lc.status}); check_plan ok: {ok}")
    ours = float(best["residents_whole"])
    out["ours"] = {"cpu_recommended_s": c_rec, "wall_recommended_s": w_rec,
                   "share_recommended": cert.share_whole, "bound_recommended": cert.share_bound,
                   "cpu_long_s": c_long, "wall_long_s": w_long, "share": lc.share_whole,
                   "bound": lc.share_bound, "gap": lc.gap, "status": lc.status,
                   "k": int(best["n_footprints"]), "checks_ok": ok}
    edges = long.contiguity.edges
    if not args.skip_maxp:
        lab, t_maxp = maxp_plan(lsoa, ids, pop, edges, SIZE[0], seed=0,
                                iterations=tuple(args.maxp_iterations))
        s = splits.score(lab)
        fpop = pd.Series(pop).groupby(lab).sum()
        over = int((fpop > SIZE[1]).sum())
        print(f"spopt max-p (floor 30k, iterations {args.maxp_iterations}): {t_maxp:.1f} s, "
              f"{len(fpop)} regions {fpop.min():,.0f}–{fpop.max():,.0f} ({over} over 50k), "
              f"whole {s['share_whole']:.1%}; ours/max-p residents whole = "
              f"{ours / max(s['residents_whole'], 1):.2f}x")
        out["maxp"] = {"t_s": t_maxp, "regions": len(fpop), "over_upper": over,
                       "share_whole": s["share_whole"]}
    k = int(best["n_footprints"])
    plans, t_recom = recom_ensemble(pop, edges, k, SIZE, args.steps, seed=0)
    ens = np.array([splits.score(p)["residents_whole"] for p in plans]) / tot
    pct = np.percentile(ens, [5, 50, 95, 100])
    beats = float((ens < ours / tot).mean())
    print(f"GerryChain ReCom ({len(plans)} plans, k={k}): {t_recom:.1f} s; whole p5 "
          f"{pct[0]:.1%} p50 {pct[1]:.1%} p95 {pct[2]:.1%} max {pct[3]:.1%}; ours "
          f"{ours / tot:.1%} beats {beats:.1%}; ours/p95 = {ours / tot / pct[2]:.2f}x")
    out["recom"] = {"plans": len(plans), "t_s": t_recom, "p5": pct[0], "p50": pct[1],
                    "p95": pct[2], "max": pct[3], "ours_beats": beats}
    for m in args.levels:
        units = split_units(lsoa, m)
        c0 = time.process_time()
        r1 = propose_footprints(units, population="population", neighbourhoods=nb,
                                neighbourhood_id="name", search=SearchOptions(seed=0))
        print(f"  LSOAs split in {m}: {len(units)} units, CPU {time.process_time() - c0:.1f} s, "
              f"whole {r1.certificate.share_whole:.1%} bound {r1.certificate.share_bound:.1%}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cities", nargs="*", default=["E08000019", "E08000036", "E08000032"])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--maxp-iterations", type=int, nargs=2, default=[8, 2])
    ap.add_argument("--levels", type=int, nargs="*", default=[])
    ap.add_argument("--skip-maxp", action="store_true")
    ap.add_argument("--cache", default=None, help="folder for the built cities")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    folder = Path(args.cache or tempfile.mkdtemp(prefix="bench_propose_"))
    print(f"cores {os.cpu_count()}, size {SIZE[0]:,.0f}–{SIZE[1]:,.0f}, kept whole = at least "
          f"{WHOLE_THRESHOLD:.0%} of a neighbourhood's residents in one footprint")
    results = [run_city(d, args, folder) for d in args.cities]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
