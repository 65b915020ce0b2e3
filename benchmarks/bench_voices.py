"""Who was heard: error rates of the per-name change test and seed-stability of cores (not a test).

Prints, on synthetic towns whose truth is known:

* **false positives**: two random halves of the same drawings (nothing changed), many
  replicates: the share of replicates flagging any name (family-wise error, Holm) and
  the share of names flagged;
* **power**: one half shifted 300 m: the share of large names (≥ 10 drawings in each
  set) flagged, at the defaults (permutations chosen from the number of names,
  sequential stopping) and at the former default of 199 fixed permutations;
* **speed** against the former engine (one float cumulative sum per core, 199 or
  ``m / alpha`` fixed permutations for every name), same data, same grid;
* **core stability**: the ``unstable`` flag over 5 seeds (former rule: 5th percentile of
  200 bootstrap IoUs; now: decided beyond Monte Carlo error), and how often the
  pointwise and the simultaneous band hold the *true* core (the 50 % core of 4,000
  drawings from the same model) over independent samples.

With ``../shared/data`` present it also runs random halves and a 300 m shift of the New
York (DNAinfo) drawings of every neighbourhood with at least ``--min-drawings`` (100)
drawings.

Run: ``python benchmarks/bench_voices.py`` (about 10 minutes on two busy cores);
``--quick`` for fewer replicates and no New York run, ``--new-york-only`` for that
alone, ``--new-york-stability`` for the unstable flag over 5 seeds on New York
(``NBHD_GEO_SHARED`` points at the data folder; ``--min-drawings 20`` for more names). Raw output is kept beside this
file as ``results_voices_<date>.txt``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from nbhd_geo.errors import NbhdGeoWarning
from nbhd_geo.io.options import CoordOptions
from nbhd_geo.voices._permute import split_test
from nbhd_geo.voices._runs import DrawingRuns
from nbhd_geo.voices.compare import compare_drawings
from nbhd_geo.voices.consensus import consensus
from nbhd_geo.voices.options import StabilityRule
from nbhd_geo.voices.stability import core_stability

CRS = "EPSG:27700"
X0, Y0 = 455_000.0, 385_000.0
SIZES = np.geomspace(6, 120, 20).astype(int)
SHARED = Path(os.environ.get("NBHD_GEO_SHARED",
                             Path(__file__).resolve().parents[2] / "shared" / "data"))
NYC = SHARED / "drawings" / "nyc-dnainfo" / "dnainfo_New_York_drawings.geojson.gz"


def blob(rng: np.random.Generator, cx: float, cy: float, r: float, jitter: float = 60.0,
         spread: float = 0.15) -> shapely.Polygon:
    """A hand-drawn-ish circle: rescaled, shifted, wobbly edge."""
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    scale = r * rng.uniform(1 - spread, 1 + spread)
    wob = 1 + 0.05 * np.sin(3 * t + rng.uniform(0, 2 * np.pi))
    dx, dy = rng.normal(0, jitter, 2)
    return shapely.Polygon(np.c_[cx + dx + scale * wob * np.cos(t),
                                 cy + dy + scale * wob * np.sin(t)])


def town(rng: np.random.Generator, sizes: np.ndarray) -> gpd.GeoDataFrame:
    """One neighbourhood per size, 3 km apart, each drawn ``size`` times (600 m blobs)."""
    names, shapes = [], []
    for k, n in enumerate(sizes):
        names += [f"N{k:02d}"] * int(n)
        shapes += [blob(rng, X0 + 3000 * (k % 6), Y0 + 3000 * (k // 6), 600)
                   for _ in range(int(n))]
    return gpd.GeoDataFrame({"neighbourhood": names}, geometry=shapes, crs=CRS,
                            index=pd.Index([f"d{i:05d}" for i in range(len(names))]))


def former_engine(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, n_perm: int, seed: int,
                  cell: float, by: str = "neighbourhood") -> tuple[pd.Series, float]:
    """The former per-name test: every name, n_perm fixed permutations, float core sums."""
    geoms = np.concatenate([np.asarray(a.geometry.array), np.asarray(b.geometry.array)])
    names = np.concatenate([a[by].astype(str).to_numpy(), b[by].astype(str).to_numpy()])
    in_a = np.r_[np.ones(len(a), bool), np.zeros(len(b), bool)]
    runs = DrawingRuns.build(geoms, names, cell)
    t0 = time.perf_counter()

    def stat(lab: np.ndarray) -> np.ndarray:
        iou = runs.iou(runs.core(lab.astype(float), 0.5), runs.core((~lab).astype(float), 0.5))
        return np.where(np.isnan(iou), 0.0, 1.0 - iou)

    obs = stat(in_a)
    rng = np.random.default_rng(seed)
    n_a = np.bincount(runs.code, weights=in_a, minlength=runs.n_names)
    start = np.concatenate([[0], np.cumsum(np.bincount(runs.code,
                                                       minlength=runs.n_names))[:-1]])
    ge = np.zeros(runs.n_names)
    for _ in range(n_perm):
        order = np.lexsort((rng.random(len(in_a)), runs.code))
        rank = np.empty(len(in_a), np.int64)
        rank[order] = np.arange(len(in_a)) - start[runs.code[order]]
        ge += stat(rank < n_a[runs.code]) >= obs - 1e-12
    return pd.Series((1 + ge) / (1 + n_perm), index=runs.names), time.perf_counter() - t0


def engine_times(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, n_perm: int, seed: int,
                 cell: float, by: str = "neighbourhood") -> tuple[float, float]:
    """Seconds of this engine's permutations: sequential (h = 10) and fixed ``n_perm``."""
    geoms = np.concatenate([np.asarray(a.geometry.array), np.asarray(b.geometry.array)])
    names = np.concatenate([a[by].astype(str).to_numpy(), b[by].astype(str).to_numpy()])
    in_a = np.r_[np.ones(len(a), bool), np.zeros(len(b), bool)]
    runs = DrawingRuns.build(geoms, names, cell)
    out = []
    for h in (10, n_perm + 1):
        t = time.perf_counter()
        split_test(runs, in_a, 0.5, max_perm=n_perm, exceedances=h, overall_perm=199,
                   seed=seed)
        out.append(time.perf_counter() - t)
    return out[0], out[1]


def error_rates(reps_null: int, reps_shift: int) -> None:
    print("== per-name change test, synthetic town: 20 names, 6-120 drawings each ==")
    any_flag = flagged = names = 0
    times = []
    pvals = []
    for r in range(reps_null):
        rng = np.random.default_rng(1000 + r)
        d = town(rng, SIZES)
        half = rng.random(len(d)) < 0.5
        t = time.perf_counter()
        c = compare_drawings(d[half], d[~half], cell_size=25.0, seed=r)
        times.append(time.perf_counter() - t)
        k = int(c.table["significant"].sum())
        any_flag += k > 0
        flagged += k
        names += int(c.table["tested"].sum())
        pvals += list(c.table.loc[c.table["tested"], "p_value"])
    p = np.array(pvals)
    print(f"identical halves, {reps_null} replicates: family-wise false-positive rate "
          f"{any_flag}/{reps_null} = {any_flag / reps_null:.3f} (Holm, alpha 0.05); names "
          f"flagged {flagged}/{names}; unadjusted p <= 0.05 for {np.mean(p <= 0.05):.3f} "
          f"and <= 0.01 for {np.mean(p <= 0.01):.3f} of {len(p)} tests (uniform: 0.05, "
          f"0.01); {np.median(times):.2f} s per comparison (median)")
    hit = large = hit_old = hit_bh = 0
    times = []
    budget = 0
    t_seq = t_fixed = t_old = t_old_full = 0.0
    for r in range(reps_shift):
        rng = np.random.default_rng(2000 + r)
        d = town(rng, SIZES)
        half = rng.random(len(d)) < 0.5
        moved = d[~half].copy()
        moved["geometry"] = moved.translate(300, 0)
        t = time.perf_counter()
        c = compare_drawings(d[half], moved, cell_size=25.0, seed=r)
        times.append(time.perf_counter() - t)
        big = (c.table["n_a"] >= 10) & (c.table["n_b"] >= 10)
        large += int(big.sum())
        hit += int(c.table.loc[big, "significant"].sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NbhdGeoWarning)
            old = compare_drawings(d[half], moved, cell_size=25.0, seed=r, n_perm=199)
        hit_old += int(old.table.loc[big, "significant"].sum())
        bh = compare_drawings(d[half], moved, cell_size=25.0, seed=r, correction="bh")
        hit_bh += int(bh.table.loc[big, "significant"].sum())
        if r == 0:
            budget = c.n_perm
            t_seq, t_fixed = engine_times(d[half], moved, budget, r, 25.0)
            _, t_old = former_engine(d[half], moved, 199, r, 25.0)
            _, t_old_full = former_engine(d[half], moved, budget, r, 25.0)
    print(f"300 m shift, {reps_shift} replicates: large names flagged {hit}/{large} = "
          f"{hit / large:.3f} at the defaults (Holm); {hit_bh}/{large} with "
          f"correction='bh'; {hit_old}/{large} with the former 199 permutations "
          f"(smallest Holm-adjusted p {c.n_tested}/200 = {c.n_tested / 200:.2f}); "
          f"{np.median(times):.2f} s per comparison (median)")
    print(f"speed, permutations only (grid built once), one shifted town, {budget} "
          f"permutations: former engine {t_old_full:.2f} s ({t_old:.2f} s for 199); this "
          f"engine fixed {t_fixed:.2f} s ({t_old_full / t_fixed:.1f}x faster), sequential "
          f"{t_seq:.2f} s ({t_old_full / t_seq:.1f}x)")
    d = town(np.random.default_rng(3000), SIZES)
    half = np.random.default_rng(3001).random(len(d)) < 0.5
    t_seq, t_fixed = engine_times(d[half], d[~half], budget, 0, 25.0)
    _, t_old_full = former_engine(d[half], d[~half], budget, 0, 25.0)
    print(f"speed, identical halves, {budget} permutations: former engine "
          f"{t_old_full:.2f} s; this engine fixed {t_fixed:.2f} s "
          f"({t_old_full / t_fixed:.1f}x), sequential {t_seq:.2f} s "
          f"({t_old_full / t_seq:.1f}x: names that did not change stop early)")


def near_line(rng: np.random.Generator, sizes: list[int]) -> gpd.GeoDataFrame:
    names, shapes = [], []
    for k, n in enumerate(sizes):
        names += [f"S{k:02d}"] * n
        shapes += [blob(rng, X0 + 3000 * k, Y0, 500, jitter=120, spread=0.2) for _ in range(n)]
    return gpd.GeoDataFrame({"neighbourhood": names}, geometry=shapes, crs=CRS,
                            index=[f"s{i:04d}" for i in range(len(names))])


def stability(seeds: int, reps_cover: int) -> None:
    print("== core stability ==")
    d = near_line(np.random.default_rng(2), [12, 14, 16, 18, 20, 22, 25, 28, 32, 36])
    new, old = {}, {}
    t = time.perf_counter()
    for s in range(seeds):
        st = core_stability(d, cell_size=25.0, seed=s, rule=StabilityRule(min_iou=0.78))
        new[s] = st.unstable
        old[s] = st.summary["iou_p05"] < 0.78
        und = st.summary["undecided"]
    el = (time.perf_counter() - t) / seeds
    flips_new = int((pd.DataFrame(new).nunique(axis=1) > 1).sum())
    flips_old = int((pd.DataFrame(old).nunique(axis=1) > 1).sum())
    print(f"unstable flag over {seeds} seeds, 10 names near the line (min_iou 0.78): former "
          f"rule flips for {flips_old} names, this rule for {flips_new}; {int(und.sum())} "
          f"undecided (not flagged, Monte Carlo error reported); {el:.2f} s per call")
    # coverage of the true core by the bands, over independent samples of 20 drawings
    rng = np.random.default_rng(7)
    pop = [blob(rng, X0, Y0, 500, jitter=120, spread=0.2) for _ in range(4000)]
    truth_frame = gpd.GeoDataFrame({"neighbourhood": ["T"] * len(pop)}, geometry=pop, crs=CRS)
    truth = consensus(truth_frame, base=25.0, thresholds=(0.5,)).cores.geometry.iat[0]
    pw = sim = 0
    for r in range(reps_cover):
        pick = rng.choice(len(pop), 20, replace=False)
        sample = truth_frame.iloc[pick].reset_index(drop=True)
        st = core_stability(sample, cell_size=25.0, seed=r, n_boot=200)
        b = st.bands.set_index("kind")["geometry"]

        def holds(inner: shapely.Geometry, outer: shapely.Geometry) -> bool:
            return bool(shapely.area(shapely.difference(truth, outer)) < 1.0
                        and shapely.area(shapely.difference(inner, truth)) < 1.0)

        pw += holds(b["inner"], b["outer"])
        sim += holds(b["sim_inner"], b["sim_outer"])
    print(f"true core wholly between the band edges, {reps_cover} samples of 20 drawings: "
          f"pointwise (5 %, 95 %) {pw / reps_cover:.2f}, simultaneous (90 %) "
          f"{sim / reps_cover:.2f}")


def new_york(min_drawings: int) -> None:
    if not NYC.exists():
        print(f"New York skipped: {NYC} not found")
        return
    from nbhd_geo.io.read import read_drawings

    raw = gpd.read_file(f"/vsigzip/{NYC}")
    counts = raw["folder"].value_counts()
    keep = counts.index[(counts >= min_drawings) & (counts.index != "other")]
    gdf, _ = read_drawings(raw[raw["folder"].isin(keep)], name_col="folder",
                           coords=CoordOptions(to_crs="EPSG:32618"))
    print(f"== New York (DNAinfo): {len(gdf):,} drawings of {gdf['folder'].nunique()} "
          f"neighbourhoods with >= {min_drawings} drawings ==")
    half = np.random.default_rng(7).random(len(gdf)) < 0.5
    a, b = gdf[half], gdf[~half]
    t = time.perf_counter()
    same = compare_drawings(a, b, by="folder")
    t_same = time.perf_counter() - t
    print(f"random halves: {int(same.table['significant'].sum())} of {same.n_tested} names "
          f"flagged (Holm), overall p = {same.p_value:.3f}; {int(same.table['n_perm'].sum()):,} "
          f"name-permutations (budget {same.n_perm} each); {t_same:.0f} s")
    moved = b.copy()
    moved["geometry"] = moved.translate(300, 0)
    t = time.perf_counter()
    diff = compare_drawings(a, moved, by="folder")
    t_diff = time.perf_counter() - t
    print(f"300 m shift: {int(diff.table['significant'].sum())} of {diff.n_tested} names "
          f"flagged (Holm, budget {diff.n_perm}, smallest adjusted p "
          f"{diff.min_attainable_p:.4f}); IoU median {diff.table['iou'].median():.2f}; "
          f"{t_diff:.0f} s")


def new_york_stability(min_drawings: int, seeds: int = 5) -> None:
    """The unstable flag over seeds on the New York drawings: former rule vs this one."""
    if not NYC.exists():
        print(f"New York skipped: {NYC} not found")
        return
    from nbhd_geo.io.read import read_drawings

    raw = gpd.read_file(f"/vsigzip/{NYC}")
    counts = raw["folder"].value_counts()
    keep = counts.index[(counts >= min_drawings) & (counts.index != "other")]
    gdf, _ = read_drawings(raw[raw["folder"].isin(keep)], name_col="folder",
                           coords=CoordOptions(to_crs="EPSG:32618"))
    new, old, und = {}, {}, {}
    t = time.perf_counter()
    for s in range(seeds):
        st = core_stability(gdf, by="folder", seed=s)
        new[s] = st.unstable
        old[s] = st.summary["iou_p05"] < 0.75
        und[s] = st.summary["undecided"]
    el = (time.perf_counter() - t) / seeds
    n = len(new[0])
    flips_new = int((pd.DataFrame(new).nunique(axis=1) > 1).sum())
    flips_old = int((pd.DataFrame(old).nunique(axis=1) > 1).sum())
    print(f"New York, {n} neighbourhoods with >= {min_drawings} drawings, {seeds} seeds: "
          f"unstable flag flips for {flips_old} names with the former rule "
          f"({flips_old / n:.1%}), {flips_new} with this one; "
          f"{int(pd.DataFrame(new).iloc[:, 0].sum())} unstable, "
          f"{int(pd.DataFrame(und).max(axis=1).sum())} undecided in some seed; "
          f"{el:.0f} s per call")


def main() -> int:
    quick = "--quick" in sys.argv
    min_drawings = 100
    if "--min-drawings" in sys.argv:
        min_drawings = int(sys.argv[sys.argv.index("--min-drawings") + 1])
    t0 = time.perf_counter()
    if "--new-york-stability" in sys.argv:
        new_york_stability(min_drawings)
        return 0
    if "--new-york-only" not in sys.argv:
        error_rates(10 if quick else 100, 3 if quick else 20)
        stability(5, 10 if quick else 40)
    if not quick:
        new_york(min_drawings)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
