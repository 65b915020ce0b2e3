"""Who was heard: coverage, weighting, stability, two-set comparison, councillors' view."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nbhd_geo import NbhdGeoError, read_drawings, read_imd, read_layer, samples
from nbhd_geo.errors import NbhdGeoWarning
from nbhd_geo.io.options import CoordOptions
from nbhd_geo.report.facts.heard import councillors_section, who_was_heard_section
from nbhd_geo.voices.compare import compare_drawings
from nbhd_geo.voices.consensus import consensus
from nbhd_geo.voices.councillors import councillor_view
from nbhd_geo.voices.coverage import engagement_coverage
from nbhd_geo.voices.options import StabilityRule, WardColumns
from nbhd_geo.voices.stability import core_stability
from nbhd_geo.voices.weighting import kish_ess, poststratify, rake

CRS = "EPSG:27700"
X0, Y0 = 455_000.0, 385_000.0


# ------------------------------------------------------------------ synthetic survey


def _blob(rng: np.random.Generator, cx: float, cy: float, r: float) -> shapely.Polygon:
    """A hand-drawn-ish copy of the circle (cx, cy, r): rescaled, shifted, wobbly edge."""
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    scale = r * rng.uniform(0.85, 1.15)
    wobble = 1 + 0.05 * np.sin(3 * t + rng.uniform(0, 2 * np.pi))
    dx, dy = rng.normal(0, 60, 2)
    return shapely.Polygon(np.c_[cx + dx + scale * wobble * np.cos(t),
                                 cy + dy + scale * wobble * np.sin(t)])


def _survey(rng: np.random.Generator, n_a: int, n_b: int, prefix: str = "d") -> gpd.GeoDataFrame:
    """Group A draws the neighbourhood 500 m further east than group B does."""
    shapes = ([_blob(rng, X0 + 500, Y0, 800) for _ in range(n_a)]
              + [_blob(rng, X0, Y0, 800) for _ in range(n_b)])
    group = ["A"] * n_a + ["B"] * n_b
    age = rng.choice(["16-39", "40-64", "65+"], size=n_a + n_b, p=[0.3, 0.45, 0.25])
    return gpd.GeoDataFrame({"neighbourhood": "Millbank", "group": group, "age": age},
                            geometry=shapes, crs=CRS,
                            index=pd.Index([f"{prefix}{i:04d}" for i in range(n_a + n_b)],
                                           name="drawing_id"))


def _core(drawings: gpd.GeoDataFrame, weight_col: str | None = None) -> shapely.Geometry:
    c = consensus(drawings, base=20.0, thresholds=(0.5,), weight_col=weight_col)
    return c.cores.geometry.iat[0]


def _iou(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return float(shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b)))


@pytest.fixture(scope="module")
def skewed_survey():
    rng = np.random.default_rng(16)
    # the population: A is 30 % of residents; its true neighbourhood is the core of a
    # large, population-proportional survey
    truth = _core(_survey(rng, 600, 1400))
    # the turnout: A is 80 % of the drawers
    sample = _survey(rng, 160, 40)
    return truth, sample


def test_poststratified_core_recovers_population_neighbourhood(skewed_survey):
    truth, sample = skewed_survey
    census = pd.DataFrame({"group": ["A", "B"], "population": [3000, 7000]})
    w = poststratify(sample, census, by=["group"])
    # each group weighs its population share: A 0.3 / 0.8, B 0.7 / 0.2 of the mean
    assert w.weights[sample["group"] == "A"].round(6).unique().tolist() == [0.375]
    assert w.weights[sample["group"] == "B"].round(6).unique().tolist() == [3.5]
    bal = w.to_frame().set_index("category")
    assert bal.loc["A", "sample_share"] == pytest.approx(0.8)
    assert bal.loc["A", "weighted_share"] == pytest.approx(0.3)
    # Kish: (Σw)² / Σw² = 200² / (160·0.375² + 40·3.5²)
    assert w.summary["effective_n"] == pytest.approx(200**2 / (160 * 0.375**2 + 40 * 3.5**2))
    raw_iou = _iou(_core(sample), truth)
    weighted_iou = _iou(_core(w.apply(sample), weight_col="weight"), truth)
    assert weighted_iou > 0.85
    assert weighted_iou - raw_iou > 0.2, (raw_iou, weighted_iou)


def test_raking_two_margins_recovers_it_too(skewed_survey):
    truth, sample = skewed_survey
    margins = {"group": pd.Series({"A": 3000, "B": 7000}),
               "age": pd.Series({"16-39": 3500, "40-64": 4000, "65+": 2500})}
    w = rake(sample, margins)
    assert w.summary["converged"] and w.summary["iterations"] < 50
    bal = w.to_frame().set_index(["variable", "category"])
    np.testing.assert_allclose(bal["weighted_share"], bal["population_share"], atol=1e-6)
    assert w.summary["effective_n"] < 200
    assert w.weights.sum() == pytest.approx(200)
    raw_iou = _iou(_core(sample), truth)
    raked_iou = _iou(_core(w.apply(sample), weight_col="weight"), truth)
    assert raked_iou - raw_iou > 0.2, (raw_iou, raked_iou)


def test_weighting_refuses_empty_cells_and_categories(skewed_survey):
    _, sample = skewed_survey
    census = pd.DataFrame({"group": ["A", "B", "C"], "population": [3000, 6000, 1000]})
    with pytest.raises(NbhdGeoError, match=r"census cell \{'group': 'C'\} has 1,000 people "
                                           r"but no respondent.*Fix: merge"):
        poststratify(sample, census, by=["group"])
    with pytest.raises(NbhdGeoError, match=r"margin category group='C' has people in the "
                                           r"census but no respondent"):
        rake(sample, {"group": {"A": 3, "B": 6, "C": 1}})
    with pytest.raises(NbhdGeoError, match=r"categories absent from the census: \['B'\]"):
        rake(sample, {"group": {"A": 3}})
    # a combination nobody in the sample has: young members of group B
    cells = pd.DataFrame({"group": ["A", "A", "B", "B"], "age": ["y", "o", "y", "o"],
                          "population": [10, 20, 30, 40]})
    small = pd.DataFrame({"group": ["A", "A", "B"], "age": ["y", "o", "o"]})
    with pytest.raises(NbhdGeoError, match=r"\{'group': 'B', 'age': 'y'\} has 30 people"):
        poststratify(small, cells, by=["group", "age"])
    with pytest.raises(NbhdGeoError, match="respondent attribute 'age' is missing"):
        rake(small.assign(age=["y", None, "o"]), {"age": {"y": 1, "o": 1}})


def test_raking_convergence_and_refusal():
    s = pd.DataFrame({"group": ["A", "A", "A", "B", "B"],
                      "age": ["young", "old", "young", "old", "young"]})
    w = rake(s, {"group": {"A": 30, "B": 70}, "age": {"young": 50, "old": 50}}, tol=1e-10)
    # hand check: the fixed point puts A's 0.3 on (y, o, y) and B's 0.7 on (o, y) so that
    # young = old = 0.5; with weights normalised to mean 1 the total is 5
    ws = w.weights.to_numpy() / 5
    assert ws[:3].sum() == pytest.approx(0.3) and ws[3:].sum() == pytest.approx(0.7)
    assert ws[[0, 2, 4]].sum() == pytest.approx(0.5)
    assert ws[0] == pytest.approx(ws[2])
    assert w.summary["converged"] is True
    # B is only an old respondent: old ≥ 70 % is forced, the age margin cannot hold
    with pytest.raises(NbhdGeoError, match=r"raking did not converge in 100 cycles"):
        rake(s.iloc[:4], {"group": {"A": 30, "B": 70}, "age": {"young": 50, "old": 50}})
    assert kish_ess([2.0, 2.0]) == 2.0
    assert kish_ess([1.0, 0.0, 0.0]) == 1.0


# ------------------------------------------------------------------ stability / compare


def test_bootstrap_flags_the_core_of_few_scattered_drawings():
    rng = np.random.default_rng(3)
    many = _survey(rng, 0, 150)
    few = _survey(rng, 6, 6, prefix="f").assign(neighbourhood="Castle Hill")
    s = core_stability(pd.concat([many, few]), n_boot=60, seed=5, cell_size=25.0)
    assert s.cell_size == 25.0 and s.n_boot == 60
    assert not s.unstable["Millbank"]
    assert s.unstable["Castle Hill"]
    assert s.summary.loc["Castle Hill", "reason"] == (
        "15.0% of resampled cores have IoU < 0.75 with the full core (more than 5%)")
    assert s.summary.loc["Castle Hill", "iou_p05"] == pytest.approx(0.726, abs=1e-3)
    # decided beyond Monte Carlo error (after doubling the resamples once)
    row = s.summary.loc["Castle Hill"]
    assert row["p_below"] == 18 / 120 and row["n_resamples"] == 120
    assert row["decision"] == "unstable" and not row["undecided"]
    assert abs(18 / 120 - 0.05) > 2.576 * np.sqrt(0.05 * 0.95 / 120)
    assert s.summary.loc["Millbank", "iou_median"] > 0.9
    assert s.summary.loc["Castle Hill", "band_ratio"] < s.summary.loc["Millbank", "band_ratio"]
    # bands nest: inner ⊆ core-ish ⊆ outer, and the band is outer minus inner
    b = s.bands.set_index(["name", "kind"])
    for name in ("Millbank", "Castle Hill"):
        inner, outer = b.loc[(name, "inner"), "geometry"], b.loc[(name, "outer"), "geometry"]
        assert shapely.area(shapely.difference(inner, outer)) == 0
        assert b.loc[(name, "band"), "area_m2"] == pytest.approx(
            b.loc[(name, "outer"), "area_m2"] - b.loc[(name, "inner"), "area_m2"])
    # frequencies are shares; the full-sample core matches consensus exactly
    assert s.frequency["frequency"].between(0, 1).all()
    full = consensus(many, base=25.0, thresholds=(0.5,)).cores
    assert b.loc[("Millbank", "core"), "area_m2"] == full["area_m2"].iat[0]
    # seeded: the same seed gives the same bands
    again = core_stability(pd.concat([many, few]), n_boot=60, seed=5, cell_size=25.0)
    pd.testing.assert_frame_equal(s.summary, again.summary)


def _near_line() -> gpd.GeoDataFrame:
    """Four neighbourhoods of 12-20 loose drawings, two within Monte Carlo error of the line."""
    rng = np.random.default_rng(2)
    names, shapes = [], []
    for k, n in enumerate([12, 14, 16, 18]):
        for _ in range(n):
            t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
            scale = 500 * rng.uniform(0.8, 1.2)
            wob = 1 + 0.05 * np.sin(3 * t + rng.uniform(0, 2 * np.pi))
            dx, dy = rng.normal(0, 120, 2)
            names.append(f"S{k}")
            shapes.append(shapely.Polygon(np.c_[X0 + 3000 * k + dx + scale * wob * np.cos(t),
                                                Y0 + dy + scale * wob * np.sin(t)]))
    return gpd.GeoDataFrame({"neighbourhood": names}, geometry=shapes, crs=CRS,
                            index=[f"s{i:03d}" for i in range(len(names))])


def test_unstable_flag_does_not_flip_with_the_seed():
    d = _near_line()
    runs = [core_stability(d, cell_size=25.0, seed=seed, rule=StabilityRule(min_iou=0.78))
            for seed in range(5)]
    flags = pd.DataFrame({seed: r.unstable for seed, r in enumerate(runs)})
    # the old rule (5th percentile of 200 resamples below min_iou) flips with the seed
    naive = pd.DataFrame({seed: r.summary["iou_p05"] < 0.78 for seed, r in enumerate(runs)})
    assert (naive.nunique(axis=1) > 1).sum() >= 2
    # the sequential decision does not
    assert (flags.nunique(axis=1) == 1).all()
    # S1 and S3 sit at 4.4-4.8 % (undecided after 4,000 resamples: not flagged), S0 at
    # 6-8 % (unstable once resampled enough), S2 at 1-3 %
    assert flags[0].tolist() == [True, False, False, False]
    dec = pd.DataFrame({seed: r.summary["decision"] for seed, r in enumerate(runs)})
    assert (dec.loc["S3"] == "undecided").all() and (dec.loc["S0"] == "unstable").all()
    for r in runs:
        t = r.summary
        # p_below is a share of n_resamples; undecided names ran max_boot and sit within
        # z standard errors of 5 %
        assert np.allclose(t["p_below"] * t["n_resamples"],
                           np.round(t["p_below"] * t["n_resamples"]))
        und = t["undecided"]
        assert (t.loc[und, "n_resamples"] == 4000).all()
        assert (abs(t.loc[und, "p_below"] - 0.05) <= 2.576 * np.sqrt(0.05 * 0.95 / 4000)).all()
        assert (t.loc[~und, "decision"] == np.where(t.loc[~und, "p_below"] > 0.05, "unstable",
                                                    "stable")).all()
        assert t["mc_se"].tolist() == pytest.approx(
            np.sqrt(t["p_below"] * (1 - t["p_below"]) / t["n_resamples"]).tolist())


def test_simultaneous_band_holds_fresh_resampled_cores():
    d = _near_line()
    s = core_stability(d, cell_size=25.0, seed=0, n_boot=200, rule=StabilityRule(max_boot=200))
    b = s.bands.set_index(["name", "kind"])["geometry"]
    # independent resamples, cores from consensus() on the same aligned 25 m grid
    rng = np.random.default_rng(99)
    for name in ("S0", "S2"):
        mine = d[d["neighbourhood"] == name].reset_index(drop=True)
        sim = pw = 0
        n = 20
        for _ in range(n):
            pick = mine.iloc[rng.integers(0, len(mine), len(mine))].reset_index(drop=True)
            core = _core25(pick)

            def between(inner: shapely.Geometry, outer: shapely.Geometry,
                        core: shapely.Geometry = core) -> bool:
                return (shapely.area(shapely.difference(core, outer)) < 1.0
                        and shapely.area(shapely.difference(inner, core)) < 1.0)

            sim += between(b[(name, "sim_inner")], b[(name, "sim_outer")])
            pw += between(b[(name, "inner")], b[(name, "outer")])
        # the simultaneous band holds ~90 % of whole cores; the pointwise one far fewer
        assert sim / n >= 0.8
        assert pw / n < sim / n
    # the simultaneous band contains the pointwise one
    for name in s.summary.index:
        assert shapely.area(shapely.difference(b[(name, "outer")], b[(name, "sim_outer")])) == 0
        assert shapely.area(shapely.difference(b[(name, "sim_inner")], b[(name, "inner")])) == 0
    assert (s.summary["sim_level"] < 0.05).all()


def _core25(drawings: gpd.GeoDataFrame) -> shapely.Geometry:
    return consensus(drawings, base=25.0, thresholds=(0.5,)).cores.geometry.iat[0]


def test_compare_synthetic_sets_and_names_in_one_set_only():
    rng = np.random.default_rng(11)
    a = _survey(rng, 0, 60)
    b = _survey(rng, 0, 60)
    b.index = b.index + "b"
    extra = a.iloc[:5].assign(neighbourhood="Northgate")
    extra.index = extra.index + "x"
    same = compare_drawings(pd.concat([a, extra]), b, n_perm=99, seed=1, cell_size=25.0)
    assert list(same.only_a.index) == ["Northgate"] and same.only_a["Northgate"] == 5
    assert len(same.only_b) == 0
    assert not same.significant
    moved = b.copy()
    moved["geometry"] = moved.translate(300, 0)
    diff = compare_drawings(a, moved, n_perm=99, seed=1, cell_size=25.0)
    assert diff.significant and diff.p_value == 0.01
    row = diff.table.loc["Millbank"]
    assert row["iou"] < 0.7 and row["gained_m2"] > 0 and row["lost_m2"] > 0
    # gained and lost ground are the symmetric difference of the two cores
    assert set(diff.changes["kind"]) == {"gained", "lost"}
    frame = same.to_frame()
    assert frame.loc["Northgate", "in"] == "a only"
    with pytest.raises(NbhdGeoError, match="no neighbourhood name is drawn in both sets"):
        compare_drawings(a, b.assign(neighbourhood="Elsewhere"), n_perm=19)


def _town(rng: np.random.Generator, sizes: np.ndarray) -> gpd.GeoDataFrame:
    """One neighbourhood per size, 3 km apart, each drawn ``size`` times (600 m blobs)."""
    names, shapes = [], []
    for k, n in enumerate(sizes):
        cx, cy = X0 + 3000 * (k % 6), Y0 + 3000 * (k // 6)
        names += [f"N{k:02d}"] * int(n)
        shapes += [_blob(rng, cx, cy, 600) for _ in range(int(n))]
    return gpd.GeoDataFrame({"neighbourhood": names}, geometry=shapes, crs=CRS,
                            index=pd.Index([f"d{i:05d}" for i in range(len(names))]))


SIZES = np.geomspace(6, 120, 20).astype(int)


@pytest.mark.parametrize("rep", [0, 1])
def test_compare_identical_halves_flag_no_name(rep):
    rng = np.random.default_rng(100 + rep)
    d = _town(rng, SIZES)
    half = rng.random(len(d)) < 0.5
    c = compare_drawings(d[half], d[~half], cell_size=25.0, seed=rep)
    t = c.table
    assert not t["significant"].any()
    # the family: names with at least m / alpha distinct relabellings (C(n_a+n_b, n_a))
    from math import comb
    m = int(t["tested"].sum())
    assert (t["tested"] == [comb(a + b, a) >= m / 0.05
                            for a, b in zip(t["n_a"], t["n_b"], strict=True)]).all()
    assert c.n_tested == m and c.n_perm == int(np.ceil(2 * m / 0.05)) - 1
    assert c.min_attainable_p == pytest.approx(m / (c.n_perm + 1))
    # sequential: names with no change stop at their 10th exceedance, p = 10 / L, and
    # stop long before the budget
    stopped = t["n_perm"] < c.n_perm
    assert stopped.mean() > 0.8
    assert np.allclose(t.loc[stopped, "p_value"], 10 / t.loc[stopped, "n_perm"])
    assert t["n_perm"].sum() < 0.25 * c.n_perm * len(t)


def test_compare_300m_shift_flags_every_large_name():
    rng = np.random.default_rng(7)
    d = _town(rng, SIZES)
    half = rng.random(len(d)) < 0.5
    moved = d[~half].copy()
    moved["geometry"] = moved.translate(300, 0)
    c = compare_drawings(d[half], moved, cell_size=25.0)
    t = c.table
    large = (t["n_a"] >= 10) & (t["n_b"] >= 10)
    assert large.sum() >= 10 and t.loc[large, "significant"].all()
    # no permutation reached the shifted cores: p = 1 / (B + 1), Holm = m / (B + 1)
    assert (t.loc[large, "p_value"] == 1 / (c.n_perm + 1)).all()
    assert t.loc[large, "p_holm"].max() == pytest.approx(c.n_tested / (c.n_perm + 1))
    assert c.significant and c.overall_n_perm == 199 and c.p_value == 1 / 200
    # the old default, 199 permutations, cannot flag any of these names: it says so
    with pytest.warns(NbhdGeoWarning, match=r"smallest attainable Holm-adjusted p-value is "
                                            rf"{c.n_tested / 200:.3g} > alpha = 0.05"):
        old = compare_drawings(d[half], moved, cell_size=25.0, n_perm=199)
    assert not old.table["significant"].any()
    # Benjamini-Hochberg needs only 1 / alpha permutations when every name moved
    bh = compare_drawings(d[half], moved, cell_size=25.0, n_perm=199, correction="bh")
    assert bh.table.loc[large, "significant"].all()
    assert bh.table.loc[large, "p_bh"].max() == pytest.approx(1 / 200)


def test_compare_p_value_agrees_with_exact_enumeration():
    """Sequential Monte Carlo p against every one of the C(10, 5) = 252 relabellings."""
    from itertools import combinations

    from nbhd_geo.voices._runs import DrawingRuns

    rng = np.random.default_rng(5)
    shapes = [_blob(rng, X0, Y0, 300) for _ in range(5)] + [
        _blob(rng, X0 + 40, Y0, 300) for _ in range(5)]
    d = gpd.GeoDataFrame({"neighbourhood": ["A"] * 10}, geometry=shapes, crs=CRS,
                         index=[f"d{i}" for i in range(10)])
    c = compare_drawings(d.iloc[:5], d.iloc[5:], cell_size=20.0, exceedances=60,
                         n_perm=1999)
    # independent: the observed IoU of the two 50 % cores from consensus (shapely areas)
    ca, cb = _core20(d.iloc[:5]), _core20(d.iloc[5:])
    assert c.table.loc["A", "iou"] == pytest.approx(_iou(ca, cb), abs=1e-9)
    # the permutation engine's own observed statistic (integer counts) is 1 - that IoU
    assert c.statistic == pytest.approx(1 - _iou(ca, cb), abs=1e-9)
    runs = DrawingRuns.build(np.asarray(d.geometry.array), np.array(["A"] * 10), 20.0)

    def stat(lab: np.ndarray) -> float:
        iou = runs.iou(runs.core(lab.astype(float), 0.5), runs.core(1.0 - lab, 0.5))[0]
        return 1.0 - iou

    obs = stat(np.r_[np.ones(5), np.zeros(5)])
    all_stats = []
    for pick in combinations(range(10), 5):
        lab = np.zeros(10)
        lab[list(pick)] = 1
        all_stats.append(stat(lab))
    exact = float(np.mean(np.array(all_stats) >= obs - 1e-12))
    assert exact == pytest.approx(30 / 252)  # 30 of the 252 relabellings reach it
    p = c.table.loc["A", "p_value"]
    # Besag-Clifford with h = 60: relative standard error about 1 / sqrt(60)
    assert abs(p - exact) < 4 * exact / np.sqrt(60)


def _core20(drawings: gpd.GeoDataFrame) -> shapely.Geometry:
    return consensus(drawings, base=20.0, thresholds=(0.5,)).cores.geometry.iat[0]


def test_compare_rejects_bad_options():
    d = _town(np.random.default_rng(1), np.array([12]))
    with pytest.raises(NbhdGeoError, match="correction: unknown correction 'bonferroni'"):
        compare_drawings(d, d, correction="bonferroni")  # type: ignore[arg-type]
    with pytest.raises(NbhdGeoError, match="n_perm: needs at least 19 permutations"):
        compare_drawings(d, d, n_perm=10)


@pytest.fixture(scope="module")
def nyc(request):
    from tests.conftest import shared_path

    path = shared_path("drawings", "nyc-dnainfo", "dnainfo_New_York_drawings.geojson.gz")
    names = ("soho", "noho", "greenwich-village", "west-village", "tribeca")
    raw = gpd.read_file(f"/vsigzip/{path}",
                        where="folder IN ({})".format(", ".join(f"'{n}'" for n in names)))
    gdf, _ = read_drawings(raw, name_col="folder", coords=CoordOptions(to_crs="EPSG:32618"))
    return gdf


@pytest.mark.shared
def test_new_york_bootstrap_bands_and_random_halves(nyc):
    t0 = time.perf_counter()
    s = core_stability(nyc, by="folder", n_boot=100, seed=1)
    assert s.cell_size == 20.0
    assert set(s.summary.index) == {"soho", "noho", "greenwich-village", "west-village",
                                    "tribeca"}
    assert not s.unstable.any()
    assert (s.summary["band_ratio"] > 0.75).all()
    assert (s.bands["geometry"].is_valid).all()
    # noho has the fewest drawings (79) and the widest band of the five
    assert s.summary["band_ratio"].idxmin() == "noho"

    half = np.random.default_rng(7).random(len(nyc)) < 0.5
    a, b = nyc[half], nyc[~half]
    same = compare_drawings(a, b, by="folder", n_perm=199, seed=2)
    assert not same.significant and same.p_value > 0.2
    assert not same.table["significant"].any()
    assert (same.table["iou"] > 0.9).all()
    shifted = b.copy()
    shifted["geometry"] = shifted.translate(200, 0)
    moved = compare_drawings(a, shifted, by="folder", n_perm=199, seed=2)
    assert moved.significant and moved.p_value == pytest.approx(1 / 200)
    assert moved.table["significant"].all()
    # a 200 m shift of neighbourhoods ~1 km across halves-to-thirds the core IoU
    assert (moved.table["iou"] < 0.65).all()
    assert time.perf_counter() - t0 < 60


# ------------------------------------------------------------------ coverage


@pytest.fixture(scope="module")
def town():
    path = samples.get_path("town")
    lsoa = gpd.read_file(path, layer="lsoa").set_index("lsoa_code")
    ward = gpd.read_file(path, layer="ward").set_index("ward_code")
    oa = gpd.read_file(path, layer="oa")
    imd = read_imd(samples.get_path("imd"))
    return lsoa, ward, oa, imd


def test_coverage_hand_checked_on_the_sample_town(town):
    lsoa, _, _, imd = town
    codes = lsoa.index[:3]
    # 12 respondents give their home LSOA (10 in the first, 2 in the second, 1 elsewhere),
    # one drew exactly the third LSOA, one is a survey point inside the first
    inner = lsoa.geometry.loc[codes[2]]
    drawings = gpd.GeoDataFrame(
        {"home": [codes[0]] * 10 + [codes[1]] * 2 + ["E01999999", None, None]},
        geometry=[inner] * 13 + [inner, lsoa.geometry.loc[codes[0]].representative_point()],
        crs=lsoa.crs, index=[f"r{i}" for i in range(15)])
    cov = engagement_coverage(drawings, lsoa, unit_population="population", home_col="home",
                              deprivation=imd)
    t = cov.table
    pop = lsoa["population"]
    assert t.loc[codes[0], "drawings"] == 11
    assert t.loc[codes[0], "per_1000"] == pytest.approx(11_000 / pop[codes[0]])
    assert t.loc[codes[1], "drawings"] == 2
    assert t.loc[codes[2], "drawings"] == pytest.approx(1.0)
    assert t["drawings"].sum() == pytest.approx(14)
    assert cov.conservation["home_outside"] == 1
    assert cov.conservation["allocated"] + cov.conservation["home_outside"] == 15
    # unheard = lowest quarter of coverage and IMD decile 1-2
    deciles = imd.long[imd.long["domain"] == "imd"].set_index("lsoa_code")["decile"]
    expected = set(t.index[(t["per_1000"] <= cov.low_per_1000)
                           & (deciles.reindex(t.index) <= 2)])
    assert set(cov.unheard().index) == expected and len(expected) >= 3
    pub = cov.published()
    row = pub.set_index("lsoa_code")
    # 10 from home + 1 survey point: the 1 is small, and 11 - 10 would give it back, so the
    # whole row is hidden ("suppressed": 10 and 11 are not small themselves).
    assert row.loc[codes[0], ["from_home", "from_drawing", "drawings"]].tolist() == [
        "suppressed", "<10", "suppressed"]
    assert row.loc[codes[1], "drawings"] == "<10" and row.loc[codes[1], "per_1000"] == ""
    assert row.loc[lsoa.index[3], "drawings"] == "0"


def test_coverage_spreads_unhomed_drawings_by_people_or_area():
    units = gpd.GeoDataFrame({"pop": [900, 100]}, index=pd.Index(["U1", "U2"], name="lsoa"),
                             geometry=[shapely.box(0, 0, 100, 100),
                                       shapely.box(100, 0, 200, 100)], crs=CRS)
    d = gpd.GeoDataFrame(geometry=[shapely.box(50, 0, 150, 100), shapely.box(150, 0, 250, 100)],
                         crs=CRS, index=["a", "b"])
    by_people = engagement_coverage(d, units, unit_population="pop").table["drawings"]
    # drawing a: 450 people in U1, 50 in U2 -> 0.9 / 0.1; drawing b: half outside
    assert by_people.to_dict() == pytest.approx({"U1": 0.9, "U2": 0.1 + 0.5})
    by_area = engagement_coverage(d, units, unit_population="pop", spread="area")
    assert by_area.table["drawings"].to_dict() == pytest.approx({"U1": 0.5, "U2": 1.0})
    assert by_area.conservation["outside_units"] == pytest.approx(0.5)
    with pytest.raises(NbhdGeoError, match="deprivation: has no IMD decile"):
        engagement_coverage(d, units, unit_population="pop",
                            deprivation=pd.Series({"U1": 3}))


@pytest.mark.filterwarnings("ignore:invalid value encountered in area:RuntimeWarning")
def test_coverage_works_in_the_drawings_own_projected_crs():
    # two 1 km LSOA-like squares in New York, UTM 18N; drawings in the same CRS
    x, y = 583_000.0, 4_507_000.0
    units = gpd.GeoDataFrame({"pop": [1000.0, 3000.0]}, index=["U1", "U2"], crs=32618,
                             geometry=[shapely.box(x, y, x + 1000, y + 1000),
                                       shapely.box(x + 1000, y, x + 2000, y + 1000)])
    d = gpd.GeoDataFrame(geometry=[shapely.box(x + 500, y, x + 1500, y + 1000),
                                   shapely.box(x + 100, y + 100, x + 200, y + 200)],
                         index=["d1", "d2"], crs=32618)
    cov = engagement_coverage(d, units, unit_population="pop", spread="area")
    # d1 is half in each; d2 wholly in U1: 1.5 and 0.5 drawings, per 1,000: 1.5 and 1/6
    assert cov.table["drawings"].tolist() == pytest.approx([1.5, 0.5])
    assert cov.table["per_1000"].tolist() == pytest.approx([1.5, 0.5 / 3])
    # the same with the drawings in degrees: the units' projected CRS is used, not 27700
    deg = engagement_coverage(d.to_crs(4326), units, unit_population="pop", spread="area")
    assert deg.table["drawings"].tolist() == pytest.approx([1.5, 0.5], abs=1e-6)
    # layers in degrees far from Britain: the British grid breaks them; the error names crs=
    far = gpd.GeoDataFrame({"pop": [100.0]}, index=["F1"], crs=4326,
                           geometry=[shapely.box(80.0, 0.0, 83.0, 2.0).segmentize(0.1)])
    with pytest.raises(NbhdGeoError, match=r"(?s)units: 1 features checked after reprojecting "
                       r"from EPSG:4326 to the working CRS EPSG:27700 \(all valid in "
                       r"EPSG:4326\).*Fix: pass crs='EPSG:32644', the local UTM zone"):
        engagement_coverage(far, far, unit_population="pop")
    ok = engagement_coverage(far, far, unit_population="pop", crs="EPSG:32644")
    assert ok.table.loc["F1", "drawings"] == pytest.approx(1.0)


@pytest.mark.shared
def test_coverage_on_wakefield_points(shared):
    lsoa, _ = read_layer(shared("ons", "wakefield", "lsoa11.geojson"), id_col="LSOA11CD")
    imd = read_imd(shared("imd2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
                   .parent)
    pop = imd.denominators.set_index("lsoa_code")["population"]
    deciles = imd.long[imd.long["domain"] == "imd"].set_index("lsoa_code")["decile"]
    least = deciles.reindex(lsoa.index).astype(float).idxmax()
    # 40 survey responses from the least deprived LSOA, none from anywhere else
    pts = lsoa.to_crs(CRS).geometry.loc[[least]].representative_point().repeat(40)
    pts = gpd.GeoDataFrame(geometry=pts.to_numpy(), crs=CRS,
                           index=[f"p{i}" for i in range(40)])
    cov = engagement_coverage(pts, lsoa, unit_population=pop, deprivation=imd)
    t = cov.table
    assert t.loc[least, "per_1000"] == pytest.approx(40_000 / pop[least])
    assert cov.low_per_1000 == 0
    # every decile-1/2 LSOA of Wakefield is unheard (zero coverage)
    dep = deciles.reindex(lsoa.index) <= 2
    assert set(cov.unheard().index) == set(lsoa.index[dep.to_numpy()])
    assert dep.sum() == 71  # IoD2019: 71 of Wakefield's 209 LSOAs in deciles 1-2


# ------------------------------------------------------------------ councillors


def test_councillors_view_explains_missing_shares():
    lsoa = gpd.GeoDataFrame({"pop": [1000, 2000]}, index=["L1", "L2"], crs=27700,
                            geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)])
    wards = gpd.GeoDataFrame({"ward": ["W1", "W2"]}, crs=27700,
                             geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 400, 100)])
    nbhd = gpd.GeoDataFrame({"name": ["Oakfield", "Riverside", "Faraway"]}, crs=27700,
                            geometry=[shapely.box(50, 0, 200, 100), shapely.box(300, 0, 350, 100),
                                      shapely.box(5000, 0, 5100, 100)])
    with pytest.warns(NbhdGeoWarning, match="2 neighbourhoods touch no ward or hold no "
                                            "residents.*'Riverside', 'Faraway'"):
        v = councillor_view(nbhd, wards, lsoa, unit_population="pop", name_col="name",
                            ward_cols=WardColumns(code="ward"))
    n = v.neighbourhoods
    assert n.loc["Oakfield", "note"] == "" and n.loc["Oakfield", "population"] == 2500.0
    assert n.loc["Riverside", "note"].startswith("no residents of any unit inside it")
    assert np.isnan(n.loc["Riverside", "largest_share"])
    assert n.loc["Faraway", "note"] == "touches no ward: no shares"


def test_councillors_view_on_the_sample_town(town):
    lsoa, ward, _, _ = town
    # a neighbourhood made of the first three LSOAs: its people are theirs, exactly
    nbhd = gpd.GeoDataFrame({"name": ["Three"]},
                            geometry=[shapely.union_all(lsoa.geometry.iloc[:3].to_numpy())],
                            crs=lsoa.crs)
    v = councillor_view(nbhd, ward, lsoa, unit_population="population", name_col="name",
                        ward_cols=WardColumns(name="ward_name"))
    assert v.neighbourhoods.loc["Three", "population"] == pytest.approx(
        lsoa["population"].iloc[:3].sum())
    t = v.table
    assert t["share_of_neighbourhood"].sum() == pytest.approx(1.0)
    # each piece's people: the ward's share of each LSOA's area times its population
    def people(n: int, wg: shapely.Geometry) -> float:
        return sum(lsoa["population"].iloc[i] * shapely.area(shapely.intersection(
            lsoa.geometry.iloc[i], wg)) / shapely.area(lsoa.geometry.iloc[i]) for i in range(n))

    for r in t.itertuples():
        wg = ward.geometry.loc[r.ward]
        hand = people(3, wg)
        assert r.population == pytest.approx(hand, rel=1e-6)
        assert r.share_of_ward == pytest.approx(hand / people(len(lsoa), wg), rel=1e-6)
    assert v.wards["n_neighbourhoods"].sum() == t["held"].sum()
    assert v.weighted_by == "area"
    # people placed by Output Areas or by address points: the OAs nest in the LSOAs, so
    # the neighbourhood still holds exactly its three LSOAs' people
    path = samples.get_path("town")
    for layer, col, how in (("oa", "population", "fine polygons"),
                            ("address_points", "count", "points")):
        fine = gpd.read_file(path, layer=layer)
        vf = councillor_view(nbhd, ward, lsoa, unit_population="population", name_col="name",
                             weights=fine, weight_col=col)
        assert vf.weighted_by == how
        assert vf.neighbourhoods.loc["Three", "population"] == pytest.approx(
            lsoa["population"].iloc[:3].sum())
        assert vf.table["share_of_neighbourhood"].sum() == pytest.approx(1.0)


@pytest.mark.shared
def test_councillors_view_wakefield_ward_drawn_again(shared):
    lsoa, _ = read_layer(shared("ons", "wakefield", "lsoa11.geojson"), id_col="LSOA11CD")
    wards = gpd.read_file(shared("ons", "wakefield", "wards13.geojson"))
    imd = read_imd(shared("imd2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
                   .parent)
    pop = imd.denominators.set_index("lsoa_code")["population"]
    # the neighbourhood is one whole ward drawn again: it is all in that ward
    one = wards.iloc[[4]]
    nbhd = gpd.GeoDataFrame({"name": [one["WD13NM"].iat[0]]}, geometry=one.geometry.to_numpy(),
                            crs=wards.crs)
    v = councillor_view(nbhd, wards, lsoa, unit_population=pop, name_col="name",
                        ward_cols=WardColumns(code="WD13CD", name="WD13NM"))
    t = v.table.set_index("ward")
    code = one["WD13CD"].iat[0]
    assert t.loc[code, "share_of_neighbourhood"] > 0.99
    assert t.loc[code, "share_of_ward"] == pytest.approx(1.0)
    assert v.neighbourhoods["n_wards"].iat[0] == 1
    assert v.neighbourhoods["largest_ward"].iat[0] == code
    # the ward's people, from the LSOAs apportioned by area, are Wakefield-sized
    assert 8_000 < v.wards.loc[code, "population"] < 25_000


# ------------------------------------------------------------------ report sections


def test_report_sections_are_plain_data(town, skewed_survey):
    lsoa, ward, _, imd = town
    _, sample = skewed_survey
    pts = gpd.GeoDataFrame(geometry=lsoa.geometry.representative_point().repeat(
        np.arange(len(lsoa)) % 15).to_numpy(), crs=lsoa.crs)
    cov = engagement_coverage(pts, lsoa, unit_population="population", deprivation=imd)
    w = poststratify(sample, pd.DataFrame({"group": ["A", "B"], "population": [3, 7]}),
                     by=["group"])
    sec = who_was_heard_section(cov, units=lsoa, weights=w)
    assert sec.title == "Who was heard"
    assert sec.paragraphs[0].startswith(f"{len(pts):,} drawings from 50,006 residents")
    assert "unheard" in sec.paragraphs[1]
    assert "count like 78" in sec.paragraphs[-1]  # Kish ESS of the weights
    table = sec.tables["Coverage by unit"]
    small = table["drawings"].astype(str).str.startswith("<")
    assert small.sum() == ((np.arange(len(lsoa)) % 15 > 0) & (np.arange(len(lsoa)) % 15 < 10)).sum()
    assert (table.loc[small, "per_1000"] == "").all()
    layer, col = sec.maps["Drawings per 1,000 residents"]
    assert col == "per_1000" and layer[col].isna().sum() == small.sum()

    rng = np.random.default_rng(4)
    a, b = _survey(rng, 0, 12), _survey(rng, 0, 12, prefix="b")
    b["geometry"] = b.translate(400, 0)
    full = who_was_heard_section(cov, stability=core_stability(a, n_boot=20),
                                 comparison=compare_drawings(a, b, n_perm=19))
    assert "all 1 neighbourhoods have stable cores" in full.paragraphs[-2]
    assert "more than resampling noise (permutation p = 0.050)" in full.paragraphs[-1]
    assert "neighbourhoods that moved: Millbank" in full.paragraphs[-1]
    assert full.tables["Two sets compared"]["n_a"].tolist() == ["12"]

    cores = consensus(read_drawings(samples.get_path("drawings_workshop"),
                                    name_col="neighbourhood")[0], thresholds=(0.5,)).cores
    view = councillor_view(cores.set_index("name"), ward, lsoa, unit_population="population",
                           ward_cols=WardColumns(name="ward_name"))
    cs = councillors_section(view)
    assert cs.title == "Councillors' view"
    assert any("holds" in p for p in cs.paragraphs[1:])
    assert set(cs.tables) == {"Neighbourhoods by ward", "Wards"}


def _coverage(from_home, from_drawing):
    from nbhd_geo.voices.coverage import Coverage

    t = pd.DataFrame({"population": 1000.0, "from_home": from_home,
                      "from_drawing": from_drawing},
                     index=pd.Index([f"U{i}" for i in range(len(from_home))], name="lsoa"))
    t["drawings"] = t["from_home"] + t["from_drawing"]
    t["per_1000"] = t["drawings"]  # population 1,000
    return Coverage(t, {"allocated": float(t["drawings"].sum())}, 0.0, 2, "population"), t


def test_coverage_published_gives_no_hidden_count_back_by_differencing():
    """Neither a row's own sum nor the column total recovers a suppressed count."""
    cov, t = _coverage([3.0, 20.0, 40.0, 50.0], [12.0, 0.0, 0.0, 15.0])
    pub = cov.published(10).set_index("lsoa")
    # U0: 3 at home (small) + 12 spread = 15: all three hidden, else 15 - 12 = 3.
    assert pub.loc["U0", ["from_home", "from_drawing", "drawings"]].tolist() == [
        "<10", "suppressed", "suppressed"]
    assert pub.loc["U0", "per_1000"] == ""
    # One hidden row would be the published total (allocated = 140) minus the others: the
    # next smallest (U1, 20 drawings) is hidden too; the larger rows stay.
    assert pub.loc["U1", "drawings"] == "suppressed" and pub.loc["U1", "per_1000"] == ""
    assert pub.loc["U1", "from_drawing"] == "0"  # a zero part shows; the sum stays unknown
    assert pub.loc["U2", "drawings"] == "40" and pub.loc["U3", "drawings"] == "65"
    shown = pd.to_numeric(pub["drawings"], errors="coerce")
    left = cov.conservation["allocated"] - shown.sum()
    assert left == t.loc[["U0", "U1"], "drawings"].sum() != t.loc["U0", "drawings"]


def test_coverage_published_hides_nothing_extra_when_nothing_is_small():
    cov, _ = _coverage([30.0, 20.0], [12.0, 0.0])
    pub = cov.published(10)
    assert pub["drawings"].tolist() == ["42", "20"] and "" not in pub["per_1000"].tolist()
