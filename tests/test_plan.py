"""Footprint proposals: hard constraints, objectives, peers, infeasible inputs, CLI."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from nbhd_geo.cli.propose import propose_cmd
from nbhd_geo.errors import InputError
from nbhd_geo.plan import (
    ContiguityOptions,
    DisconnectedError,
    InfeasibleError,
    NeighbourhoodSplits,
    PopulationError,
    SearchOptions,
    UnitTooLargeError,
    check_plan,
    neighbourhood_people,
    propose_footprints,
    unit_contiguity,
)
from tests._city import load_district, make_neighbourhoods


def grid(nx: int = 6, ny: int = 6, pop: float = 1000.0, cell: float = 500.0) -> gpd.GeoDataFrame:
    geoms = [shapely.box(x * cell, y * cell, (x + 1) * cell, (y + 1) * cell)
             for y in range(ny) for x in range(nx)]
    ids = [f"u{y}{x}" for y in range(ny) for x in range(nx)]
    return gpd.GeoDataFrame({"pop": pop}, index=pd.Index(ids, name="code"), geometry=geoms,
                            crs=27700)


def as_series(plan) -> pd.Series:
    return plan.assignment.set_index("unit")["footprint"]


# --------------------------------------------------------------------------- synthetic


def test_grid_plan_meets_constraints_and_keeps_neighbourhoods_whole(tmp_path):
    units = grid()  # 36 units x 1,000 people
    # two neighbourhoods straddling the middle column line: a naive halving splits them
    nb = gpd.GeoDataFrame({"name": ["East End", "Northside"]}, geometry=[
        shapely.box(2200, 0, 3800, 1400), shapely.box(2200, 2100, 3300, 2900)], crs=27700)
    res = propose_footprints(units, population="pop", neighbourhoods=nb,
                             neighbourhood_id="name", size=(8_000, 13_000), n_plans=3,
                             search=SearchOptions(seed=3))
    best = res.best()
    assert best.scorecard["share_whole"] == 1.0
    assert best.neighbourhoods["whole"].all()
    check = check_plan(units, as_series(best), population="pop", size=(8_000, 13_000))
    assert check.ok, check.problems
    # every unit exactly once, people conserved
    assert sorted(best.assignment["unit"]) == sorted(units.index)
    assert best.footprints["population"].sum() == units["pop"].sum()
    assert best.footprints.crs.to_epsg() == 27700
    assert (best.footprints["polsby_popper"] > 0.2).all()
    frame = res.to_frame()
    assert list(frame.index) == [p.name for p in res.plans]
    assert {"residents_whole", "cut_edges", "max_dev", "polsby_popper_mean"} <= set(frame.columns)
    # the Pareto flag marks exactly the returned plans' candidates as non-dominated
    assert res.candidates.loc[res.candidates["plan"].notna(), "pareto"].all()
    assert res.to_gpkg(tmp_path / "p.gpkg") == [p.name for p in res.plans]
    back = gpd.read_file(tmp_path / "p.gpkg", layer="plan_1")
    assert back.crs.to_epsg() == 27700 and back["population"].sum() == 36_000


def test_neighbourhood_larger_than_any_footprint_is_split_not_an_error():
    units = grid(4, 2)
    nb = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 2000, 1000)], crs=27700)  # 8,000 people
    res = propose_footprints(units, population="pop", neighbourhoods=nb, size=(1_500, 2_500),
                             n_plans=1)
    plan = as_series(res.best())
    assert plan.nunique() == 4
    assert res.best().scorecard["share_whole"] == 0.0
    assert res.best().neighbourhoods["n_footprints"].iloc[0] == 4
    assert check_plan(units, plan, population="pop", size=(1_500, 2_500)).ok


def test_same_seed_same_plans_and_other_seed_runs():
    units = grid()
    nb = gpd.GeoDataFrame(geometry=[shapely.box(700, 700, 2300, 2300)], crs=27700)
    a = propose_footprints(units, population="pop", neighbourhoods=nb, size=(8_000, 13_000),
                           n_plans=2, search=SearchOptions(seed=11))
    b = propose_footprints(units, population="pop", neighbourhoods=nb, size=(8_000, 13_000),
                           n_plans=2, search=SearchOptions(seed=11))
    pd.testing.assert_frame_equal(a.candidates, b.candidates)
    for pa, pb in zip(a.plans, b.plans, strict=True):
        pd.testing.assert_frame_equal(pa.assignment, pb.assignment)


def test_pcn_alignment_followed_when_given():
    units = grid(4, 4)
    # PCN "West" registers everyone in the two western columns, "East" the rest
    regs = pd.DataFrame({
        "unit": units.index,
        "pcn": ["West" if int(u[2]) < 2 else "East" for u in units.index],
        "patients": 900,
    })
    res = propose_footprints(units, population="pop", pcn=regs, size=(7_000, 9_000),
                             n_plans=3, search=SearchOptions(seed=0))
    best = max(res.plans, key=lambda p: p.scorecard["pcn_alignment"])
    assert best.scorecard["pcn_alignment"] == 1.0
    assert set(best.footprints["main_pcn"]) == {"West", "East"}


def test_checker_finds_every_broken_constraint():
    units = grid(3, 1)
    ok = check_plan(units, {"u00": "A", "u01": "A", "u02": "B"}, population="pop",
                    size=(900, 2100))
    assert ok.ok and ok.problems == []
    bad = check_plan(units, {"u00": "A", "u02": "A", "x": "B"}, population="pop",
                     size=(900, 1500))
    text = "\n".join(bad.problems)
    assert not bad.ok
    assert "units in no footprint: ['u01']" in text
    assert "not units: ['x']" in text
    assert "footprint A holds 2,000 people" in text
    assert "footprint A is in 2 pieces" in text
    # corner touch only: not rook-contiguous
    diag = gpd.GeoDataFrame({"pop": [1000, 1000]}, index=["a", "b"], geometry=[
        shapely.box(0, 0, 100, 100), shapely.box(100, 100, 200, 200)], crs=27700)
    assert not check_plan(diag, {"a": 1, "b": 1}, population="pop", size=(0, 5000)).ok


def test_islands_and_enclaves_are_explicit():
    units = grid(4, 4)
    # an enclave: a small unit cut out of u11 (which keeps a hole)
    hole = shapely.box(600, 600, 900, 900)
    units.loc["u11", "geometry"] = units.loc["u11", "geometry"].difference(hole)
    enclave = gpd.GeoDataFrame({"pop": [300.0]}, index=pd.Index(["enc"], name="code"),
                               geometry=[hole], crs=27700)
    # an island 600 m east of the grid, too small to stand alone
    island = gpd.GeoDataFrame({"pop": [500.0]}, index=pd.Index(["isl"], name="code"),
                              geometry=[shapely.box(2600, 0, 3000, 400)], crs=27700)
    units = pd.concat([units, enclave, island])
    c = unit_contiguity(units.index.to_numpy(), np.asarray(units.geometry.array))
    assert c.enclaves[["unit", "host"]].values.tolist() == [["enc", "u11"]]
    assert c.components[list(units.index).index("isl")] == 1
    with pytest.raises(DisconnectedError) as err:
        propose_footprints(units, population="pop", size=(7_000, 9_500),
                           contiguity=ContiguityOptions(bridge_m=100))
    assert "'isl'" in str(err.value) and "bridge_m" in str(err.value)
    res = propose_footprints(units, population="pop", size=(7_000, 9_500),
                             contiguity=ContiguityOptions(bridge_m=1_000), n_plans=2)
    assert res.contiguity.bridges[["unit_a", "unit_b"]].values.tolist() == [["u03", "isl"]]
    assert res.contiguity.summary() == {"units": 18, "rook_edges": 25, "islands": 1,
                                        "bridges": 1, "enclaves": 1}
    assert res.contiguity.bridges["distance_m"].iloc[0] == pytest.approx(600)
    plan = as_series(res.best())
    assert plan["enc"] == plan["u11"] and plan["isl"] == plan["u03"]
    assert check_plan(units, plan, population="pop", size=(7_000, 9_500),
                      bridges=res.contiguity.bridges).ok


def test_island_large_enough_is_planned_on_its_own():
    west = grid(2, 4)
    east = grid(2, 4).rename(index=lambda u: "e" + u)
    east["geometry"] = east.translate(5_000, 0)
    units = pd.concat([west, east])
    res = propose_footprints(units, population="pop", size=(3_000, 5_000), n_plans=1)
    assert len(res.contiguity.bridges) == 0
    plan = as_series(res.best())
    assert set(plan[west.index]).isdisjoint(plan[east.index])


# --------------------------------------------------------------------------- infeasible


def test_unit_larger_than_upper_size_is_named():
    units = grid(3, 3)
    units.loc["u11", "pop"] = 60_000
    with pytest.raises(UnitTooLargeError) as err:
        propose_footprints(units, population="pop", size=(30_000, 50_000))
    msg = str(err.value)
    assert "'u11'" in msg and "60,000" in msg and "Fix:" in msg


@pytest.mark.parametrize("bad", [np.nan, -5, "n/a"])
def test_population_gaps_are_named(bad):
    units = grid(3, 3).astype({"pop": object})
    units.loc["u02", "pop"] = bad
    with pytest.raises(PopulationError) as err:
        propose_footprints(units, population="pop", size=(2_000, 5_000))
    assert "'u02'" in str(err.value) and "population" in str(err.value)


def test_district_that_fits_no_footprint_count():
    units = grid(3, 3)  # 9,000 people: one footprint is too big, two too small
    with pytest.raises(InfeasibleError) as err:
        propose_footprints(units, population="pop", size=(5_000, 8_000))
    assert "9,000 people" in str(err.value) and "widen size" in str(err.value)


def test_disconnected_within_group_cannot_be_fixed():
    units = grid(4, 2)
    units["district"] = ["A"] * 7 + ["B"]  # B is a single unit, too small for a footprint
    with pytest.raises(InfeasibleError) as err:
        propose_footprints(units, population="pop", size=(3_000, 5_000), within="district")
    assert "'B'" in str(err.value)


# --------------------------------------------------------------------------- real district


@pytest.fixture(scope="module")
def wakefield(request):
    from tests.conftest import shared_path

    shared = shared_path("ons", "ew2021").parent.parent
    shared_path("imd2025", "census2021_usual_residents_lsoa21.csv")
    lsoa = load_district(shared, "E08000036")
    return lsoa, make_neighbourhoods(lsoa, 40, seed=7)


@pytest.mark.shared
@pytest.mark.slow
def test_wakefield_beats_maxp_and_recom(wakefield):
    pytest.importorskip("spopt", reason="spopt not installed: pip install nbhd_geo[bench]")
    pytest.importorskip("gerrychain", reason="gerrychain not installed: pip install nbhd_geo[bench]")
    from tests._baselines import maxp_plan, recom_ensemble

    lsoa, nb = wakefield
    size = (30_000, 50_000)
    assert len(lsoa) == 215 and lsoa["population"].sum() == 353_378
    assert 300 <= nb["est_people"].min() and nb["est_people"].max() <= 26_000
    res = propose_footprints(lsoa, population="population", neighbourhoods=nb,
                             neighbourhood_id="name", size=size,
                             search=SearchOptions(seed=0, time_limit=5))
    cert = res.certificate
    assert cert.share_whole == res.best().scorecard["share_whole"] <= cert.share_bound
    for plan in res.plans:  # every hard constraint, checked independently
        check = check_plan(lsoa, as_series(plan), population="population", size=size)
        assert check.ok, (plan.name, check.problems)
    best = res.best().scorecard
    ids = lsoa.index.to_numpy()
    pop = lsoa["population"].to_numpy(float)
    splits = NeighbourhoodSplits(
        neighbourhood_people(nb, lsoa, population="population", neighbourhood_id="name"), ids)
    assert splits.score(res.best().assignment["footprint"].to_numpy())["residents_whole"] == (
        pytest.approx(best["residents_whole"]))
    edges = res.contiguity.edges
    # spopt max-p with the 30k floor (few iterations to keep the test short; the benchmark
    # runs spopt's defaults)
    maxp, _ = maxp_plan(lsoa, ids, pop, edges, size[0], seed=0, iterations=(8, 2))
    maxp_whole = splits.score(maxp)["residents_whole"]
    assert best["residents_whole"] > maxp_whole
    # GerryChain ReCom: 1,000 plans with the same number of footprints as our best
    plans, _ = recom_ensemble(pop, edges, int(best["n_footprints"]), size, 1_000, seed=0)
    ens = np.array([splits.score(p)["residents_whole"] for p in plans])
    assert len(ens) == 1_000
    assert (ens < best["residents_whole"]).mean() >= 0.95
    # the checker accepts ReCom's plans too: it is not tuned to our output
    assert check_plan(lsoa, pd.Series(plans[-1], index=ids), population="population",
                      size=size).ok


@pytest.mark.shared
def test_city_generator_is_deterministic_and_realistic(wakefield):
    lsoa, nb = wakefield
    again = make_neighbourhoods(lsoa, 40, seed=7)
    assert shapely.equals_exact(nb.geometry.array, again.geometry.array, tolerance=0).all()
    assert len(nb) == 40
    assert nb.crs.to_epsg() == 27700
    # disjoint, inside the district, from a few streets to ~20k people
    assert shapely.union_all(nb.geometry.array).area == pytest.approx(nb.area.sum(), rel=1e-6)
    district = shapely.union_all(lsoa.geometry.array)
    assert (nb.geometry.difference(district).area < 1).all()
    assert nb["est_people"].min() < 1_000 and nb["est_people"].max() > 10_000


# --------------------------------------------------------------------------- CLI


def test_cli_propose_writes_plans_and_scorecards(tmp_path):
    units = grid()
    units_path = tmp_path / "units.gpkg"
    units.reset_index().to_file(units_path, layer="units")
    nb = gpd.GeoDataFrame({"name": ["East End"]},
                          geometry=[shapely.box(2200, 0, 3800, 1400)], crs=27700)
    nb_path = tmp_path / "nb.gpkg"
    nb.to_file(nb_path)
    out = tmp_path / "plans.gpkg"
    result = CliRunner().invoke(propose_cmd, [
        str(units_path), "--population", "pop", "--id-col", "code",
        "--neighbourhoods", str(nb_path), "--neighbourhood-id", "name",
        "--min-size", "8000", "--max-size", "13000", "--plans", "2", "--out", str(out),
        "--time-limit", "20"])
    assert result.exit_code == 0, result.output
    assert ("best keeps 100.0% of neighbourhood residents whole (at least 95% in one "
            "footprint)") in result.output
    assert "certified optimiser (optimal" in result.output
    assert "proven the most possible" in result.output
    assert "islands 0, bridges 0, enclaves 0" in result.output
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(out)]
    assert "plan_1" in layers and "plan_1_units" in layers
    fp = gpd.read_file(out, layer="plan_1")
    assert fp.crs.to_epsg() == 27700 and fp["population"].sum() == 36_000
    cards = pd.read_csv(tmp_path / "plans_scorecards.csv")
    assert cards["plan"].iloc[0] == "plan_1" and cards["share_whole"].iloc[0] == 1.0
    nbt = pd.read_csv(tmp_path / "plans_neighbourhoods.csv")
    assert nbt.loc[nbt["plan"] == "plan_1", "whole"].all()


def test_cli_propose_infeasible_is_one_line_exit_2(tmp_path):
    units = grid(3, 3)
    units.loc["u11", "pop"] = 60_000
    path = tmp_path / "units.gpkg"
    units.reset_index().to_file(path)
    result = CliRunner().invoke(propose_cmd, [str(path), "--population", "pop", "--id-col",
                                              "code", "--out", str(tmp_path / "o.gpkg")])
    assert result.exit_code == 2
    assert result.output.startswith("error: units:") and "'u11'" in result.output
    assert "Traceback" not in result.output
    bad = CliRunner().invoke(propose_cmd, [str(path), "--population", "pop", "--id-col", "code",
                                           "--out", str(tmp_path / "o.gpkg"),
                                           "--whole-threshold", "0.3"])
    assert bad.exit_code == 2 and bad.output.startswith("error: whole_threshold:")


def test_within_keeps_footprints_inside_districts():
    units = grid(6, 4)
    units["district"] = ["West" if int(u[2]) < 3 else "East" for u in units.index]
    res = propose_footprints(units, population="pop", size=(5_000, 7_000), within="district",
                             n_plans=2, search=SearchOptions(seed=5))
    for plan in res.plans:
        check = check_plan(units, as_series(plan), population="pop", size=(5_000, 7_000),
                           within="district")
        assert check.ok, check.problems
        assert (check.footprints["groups"] == 1).all()
    # the checker does catch a footprint crossing districts
    crossing = pd.Series({u: ("A" if int(u[1]) < 2 else "B") for u in units.index})
    bad = check_plan(units, crossing, population="pop", size=(0, 20_000), within="district")
    assert bad.problems == ["footprint A crosses 2 'within' groups",
                            "footprint B crosses 2 'within' groups"]


@pytest.mark.shared
@pytest.mark.slow
def test_blackburn_pcn_registrations_trade_off(shared):
    """Real GP registrations (Pennine Lancashire, April 2020, LSOA 2011 → 2021) as the PCN
    objective: the Pareto set shows the trade-off between whole neighbourhoods and PCNs."""
    from nbhd_geo.pcn import convert_registrations_vintage, read_registrations

    lsoa = load_district(shared("ons", "ew2021").parent.parent, "E06000008")
    assert len(lsoa) == 91 and lsoa["population"].sum() == 154_714
    regs = read_registrations(shared("nhs", "pennine-lancs", "lsoapops.csv"))
    census = pd.read_csv(shared("imd2025", "census2021_usual_residents_lsoa21.csv"))
    regs = convert_registrations_vintage(
        regs, pd.read_csv(shared("ons", "ew2021", "lookup_lsoa11_lsoa21_ltla22.csv")),
        weights=census.set_index("lsoa21_code")["usual_residents_total"])
    members = pd.read_csv(shared("nhs", "pennine-lancs", "PCNdefs.csv"))
    regs = regs.merge(members.rename(columns={"PCode": "practice_code", "PCN": "pcn"}),
                      on="practice_code").rename(columns={"lsoa_code": "unit"})
    regs = regs[regs["unit"].isin(lsoa.index)][["unit", "pcn", "patients"]]
    # the best any plan could do: every LSOA in its plurality PCN's footprint
    plurality = regs.sort_values("patients").groupby("unit").tail(1).set_index("unit")["pcn"]
    from nbhd_geo.plan import pcn_alignment

    bound = pcn_alignment(regs, plurality)["pcn_alignment"]
    assert 0.6 < bound < 0.7
    nb = make_neighbourhoods(lsoa, 20, seed=7)
    res = propose_footprints(lsoa, population="population", neighbourhoods=nb,
                             neighbourhood_id="name", pcn=regs,
                             search=SearchOptions(seed=0, time_limit=0))
    for plan in res.plans:
        assert check_plan(lsoa, as_series(plan), population="population",
                          size=(30_000, 50_000)).ok
    cards = res.to_frame()
    best_pcn = cards["pcn_alignment"].max()
    assert best_pcn > 0.6 and best_pcn <= bound + 1e-9
    assert best_pcn > cards.loc["plan_1", "pcn_alignment"]  # traded against whole neighbourhoods
    assert cards.loc["plan_1", "share_whole"] == cards["share_whole"].max()
    assert res.certificate is None  # time_limit=0: the heuristic only
    assert res.best().footprints["main_pcn"].str.endswith("PCN").all()


# --------------------------------------------------------------------------- certified optimiser


def _connected(mask: int, nbrs: list[int]) -> bool:
    start = mask & -mask
    seen, frontier = start, start
    while frontier:
        grow = 0
        for c in range(len(nbrs)):
            if frontier >> c & 1:
                grow |= nbrs[c]
        frontier = grow & mask & ~seen
        seen |= frontier
    return seen == mask


def brute_force_best(units: gpd.GeoDataFrame, size, splits: NeighbourhoodSplits):
    """Every plan of contiguous footprints within ``size``, by enumerating connected sets."""
    n = len(units)
    c = unit_contiguity(units.index.to_numpy(), np.asarray(units.geometry.array))
    nbrs = [0] * n
    for i, j in zip(c.edges["i"], c.edges["j"], strict=True):
        nbrs[i] |= 1 << j
        nbrs[j] |= 1 << i
    pop = units["pop"].to_numpy(float)
    ok = {}
    for mask in range(1, 1 << n):
        p = sum(pop[b] for b in range(n) if mask >> b & 1)
        ok[mask] = size[0] <= p <= size[1] and _connected(mask, nbrs)
    best, count = -1.0, 0

    def rec(rest: int, labels: list[int], k: int) -> None:
        nonlocal best, count
        if rest == 0:
            count += 1
            best = max(best, splits.score(np.array(labels))["residents_whole"])
            return
        low = rest & -rest  # the lowest free cell starts the next footprint
        sub = rest
        while sub:
            if sub & low and ok[sub]:
                lab = labels.copy()
                for b in range(n):
                    if sub >> b & 1:
                        lab[b] = k
                rec(rest & ~sub, lab, k + 1)
            sub = (sub - 1) & rest

    rec((1 << n) - 1, [0] * n, 0)
    return best, count


def small_city(seed: int):
    """A 4 x 3 grid of units (uneven people) with four seeded overlapping neighbourhoods."""
    rng = np.random.default_rng(seed)
    units = grid(4, 3)
    units["pop"] = rng.integers(600, 1400, len(units)).astype(float)
    boxes = []
    for _ in range(4):
        x, y = rng.uniform(0, 1500), rng.uniform(0, 1000)
        boxes.append(shapely.box(x, y, x + rng.uniform(300, 900), y + rng.uniform(300, 700)))
    nb = gpd.GeoDataFrame({"name": [f"N{i}" for i in range(4)]}, geometry=boxes, crs=27700)
    return units, nb


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_certified_optimiser_finds_and_proves_the_brute_force_optimum(seed):
    units, nb = small_city(seed)
    total = units["pop"].sum()
    size = (total / 4, total / 2.5)
    people = neighbourhood_people(nb, units, population="pop", neighbourhood_id="name")
    splits = NeighbourhoodSplits(people, units.index.to_numpy())
    best, count = brute_force_best(units, size, splits)
    assert count > 10  # a real search space
    res = propose_footprints(units, population="pop", neighbourhoods=nb,
                             neighbourhood_id="name", size=size, n_plans=1,
                             search=SearchOptions(n_runs=1, rounds=0, seed=seed, time_limit=30))
    cert = res.certificate
    assert cert.status == "optimal"
    assert cert.residents_whole == pytest.approx(best, abs=0.05)
    assert cert.bound == pytest.approx(best, abs=0.05) and cert.gap == pytest.approx(0, abs=1e-6)
    assert res.best().scorecard["residents_whole"] == pytest.approx(best, abs=0.05)
    check = check_plan(units, as_series(res.best()), population="pop", size=size, people=people)
    assert check.ok, check.problems
    assert check.residents_whole == pytest.approx(best, abs=0.05)


def test_optimiser_beats_a_weak_heuristic_start_and_bound_is_honest():
    units, nb = small_city(2)
    total = units["pop"].sum()
    size = (total / 4, total / 2.5)
    people = neighbourhood_people(nb, units, population="pop", neighbourhood_id="name")
    splits = NeighbourhoodSplits(people, units.index.to_numpy())
    best, _ = brute_force_best(units, size, splits)
    heur = propose_footprints(units, population="pop", neighbourhoods=nb, size=size,
                              neighbourhood_id="name", n_plans=3,
                              search=SearchOptions(time_limit=0, seed=0))
    assert heur.certificate is None
    exact = propose_footprints(units, population="pop", neighbourhoods=nb, size=size,
                               neighbourhood_id="name", n_plans=3,
                               search=SearchOptions(time_limit=30, seed=0))
    # the recommended plan is never worse than the heuristic's and never above the bound
    assert exact.best().scorecard["residents_whole"] >= heur.best().scorecard[
        "residents_whole"] - 1e-6
    assert exact.best().scorecard["residents_whole"] <= exact.certificate.bound + 1e-6
    assert exact.certificate.bound >= best - 0.05
    assert exact.candidates["solver"].sum() == 1  # the solver's plan is among the candidates
    assert exact.candidates.loc[exact.candidates["solver"], "plan"].iloc[0] == "plan_1"


def test_whole_threshold_is_one_definition_everywhere():
    # a neighbourhood with 96 % of its people in one unit and 4 % in the next
    units = grid(4, 1)
    nb = gpd.GeoDataFrame({"name": ["Edge"]}, geometry=[shapely.box(0, 0, 520, 500)], crs=27700)
    people = neighbourhood_people(nb, units, population="pop", neighbourhood_id="name")
    plan = pd.Series({"u00": 1, "u01": 2, "u02": 2, "u03": 2})
    for thr, whole in [(0.95, True), (0.99, False)]:
        s = NeighbourhoodSplits(people, units.index.to_numpy(), thr).score(
            plan.reindex(units.index).to_numpy())
        check = check_plan(units, plan, population="pop", size=(0, 4000), people=people,
                           whole_threshold=thr)
        assert bool(check.neighbourhoods["whole"].iloc[0]) is whole
        assert (s["residents_whole"] > 0) is whole
        assert check.residents_whole == pytest.approx(s["residents_whole"])
    res = propose_footprints(units, population="pop", neighbourhoods=nb, size=(900, 3100),
                             neighbourhood_id="name", whole_threshold=0.99, n_plans=1)
    assert res.whole_threshold == 0.99 and res.certificate.threshold == 0.99
    assert res.best().scorecard["share_whole"] == 1.0  # u00 and u01 together


@pytest.mark.parametrize("value", [0.4, "x"])
def test_whole_threshold_gives_typed_errors(value):
    from nbhd_geo.errors import NbhdGeoError

    units = grid(3, 3)
    with pytest.raises(NbhdGeoError) as err:
        propose_footprints(units, population="pop", size=(2_000, 5_000), whole_threshold=value)
    assert err.value.argument == "whole_threshold" and "Fix:" in str(err.value)


@pytest.mark.parametrize("kind,arg,value", [
    (SearchOptions, "time_limit", -1), (SearchOptions, "time_limit", "soon"),
    (SearchOptions, "work_limit", float("nan")), (SearchOptions, "seed", -1),
    (SearchOptions, "seed", 1.5), (SearchOptions, "workers", 0),
    (SearchOptions, "n_runs", 0), (SearchOptions, "rounds", -1),
    (SearchOptions, "progress", "print"), (ContiguityOptions, "min_shared_m", float("nan")),
    (ContiguityOptions, "tol_m", -0.1), (ContiguityOptions, "bridge_m", float("nan")),
    (ContiguityOptions, "bridge_m", -float("inf")),
])
def test_plan_options_are_checked_when_made(kind, arg, value):
    from nbhd_geo.errors import NbhdGeoError

    with pytest.raises(NbhdGeoError) as err:
        kind(**{arg: value})
    assert err.value.argument == arg and f"{kind.__name__}(" in err.value.fix


def test_plan_options_normal_forms_and_reach_the_planner():
    assert SearchOptions() == SearchOptions(seed=0, n_runs=None, rounds=12, time_limit=8.0,
                                            work_limit=None, workers=1, progress=None)
    assert SearchOptions(time_limit=3, seed=np.int64(2)).seed == 2
    assert ContiguityOptions(bridge_m=float("inf")).bridge_m == float("inf")
    units = grid(3, 3)
    res = propose_footprints(units, population="pop", size=(2_000, 5_000), n_plans=1,
                             contiguity=ContiguityOptions(min_shared_m=25, tol_m=0))
    assert (res.contiguity.min_shared_m, res.contiguity.tol_m) == (25.0, 0.0)
    with pytest.raises(InputError) as err:  # the old keywords as a dict are not options
        propose_footprints(units, population="pop", size=(2_000, 5_000),
                           search={"seed": 1})  # type: ignore[arg-type]
    assert err.value.argument == "search" and "SearchOptions(" in str(err.value)


def _bigger_city():
    units = grid(10, 10, cell=400.0)
    units.index = pd.Index([f"c{i:03d}" for i in range(len(units))], name="code")
    rng = np.random.default_rng(5)
    units["pop"] = rng.integers(500, 1500, len(units)).astype(float)
    boxes = []
    for _ in range(40):
        x, y = rng.uniform(0, 3600), rng.uniform(0, 3600)
        boxes.append(shapely.box(x, y, x + rng.uniform(300, 1300), y + rng.uniform(300, 1300)))
    nb = gpd.GeoDataFrame({"name": [f"N{i}" for i in range(40)]}, geometry=boxes, crs=27700)
    return units, nb


def test_time_limit_is_respected_and_work_limit_is_reproducible():
    units, nb = _bigger_city()
    size = (15_000, 25_000)
    seen = []
    res = propose_footprints(units, population="pop", neighbourhoods=nb, size=size, n_plans=1,
                             search=SearchOptions(n_runs=1, rounds=2, time_limit=2.0,
                                                  progress=seen.append))
    cert = res.certificate
    assert cert.seconds < 2.0 + 1.5
    assert cert.status in {"feasible", "hint", "optimal"}
    assert cert.share_whole <= cert.share_bound + 1e-9 and cert.gap >= 0
    assert all(s["residents_whole"] <= s["bound"] + 1e-6 for s in seen)
    assert check_plan(units, as_series(res.best()), population="pop", size=size).ok
    a, b = (propose_footprints(units, population="pop", neighbourhoods=nb, size=size,
                               n_plans=1, search=SearchOptions(
                                   n_runs=1, rounds=2, time_limit=120, work_limit=0.5,
                                   workers=1, seed=4)) for _ in range(2))
    pd.testing.assert_frame_equal(a.best().assignment, b.best().assignment)
    assert a.certificate.bound == b.certificate.bound


def test_relaxation_bound_cuts_long_chains_of_neighbourhoods():
    """Six neighbourhoods in a row, each over two adjacent units of 10 people: any five
    fit in one footprint of 65 people, all six (70 people) do not; so at most five can be
    whole, and the smallest is the one to lose. The chain is longer than the two steps
    the star constraints see, so only the chain cuts find it."""
    from nbhd_geo.plan._search import Problem
    from nbhd_geo.plan.exact import conflict_bound

    n = 7
    rows = [[i for i in (c - 1, c) if 0 <= i < 6] for c in range(n)]
    totals = np.array([100.0 + i for i in range(6)])
    prob = Problem(
        pop=np.full(n, 10.0),
        nbrs=[np.array([d for d in (c - 1, c + 1) if 0 <= d < n]) for c in range(n)],
        nlen=[np.ones(len([d for d in (c - 1, c + 1) if 0 <= d < n])) for c in range(n)],
        xy=np.c_[np.arange(n), np.zeros(n)].astype(float), atoms=np.arange(n),
        nb_rows=[np.array(r, dtype=np.int64) for r in rows],
        nb_vals=[totals[r] / 2 for r in rows], nb_total=totals,
        pc_rows=[np.zeros(0, dtype=np.int64)] * n, pc_vals=[np.zeros(0)] * n, n_pcn=0,
        size=(0.0, 65.0))
    bound = conflict_bound(prob, threshold=0.95, time_limit=20)
    assert bound == pytest.approx(totals.sum() - totals.min())


def test_conflict_bound_with_a_neighbourhood_too_spread_to_be_whole():
    """Neighbourhood 1's must cells (1, 2) meet neighbourhood 0's (0, 1) and hold 8 people,
    but 95 % of its residents need cells 1, 2 and three of cells 3–6, 20 people, more than
    a footprint's 10: it can never be whole, so it must pull no cell into neighbourhood
    0's footprint, and the bound is neighbourhood 0's 100 residents (cells 0 and 1 hold 8
    people)."""
    from nbhd_geo.plan._search import Problem
    from nbhd_geo.plan.exact import conflict_bound

    n = 7
    rows = [[0], [0, 1], [1]] + [[1]] * 4
    vals = [[50.0], [50.0, 50.0], [30.0]] + [[5.0]] * 4
    prob = Problem(
        pop=np.full(n, 4.0),
        nbrs=[np.array([d for d in (c - 1, c + 1) if 0 <= d < n]) for c in range(n)],
        nlen=[np.ones(len([d for d in (c - 1, c + 1) if 0 <= d < n])) for c in range(n)],
        xy=np.c_[np.arange(n), np.zeros(n)].astype(float), atoms=np.arange(n),
        nb_rows=[np.array(r, dtype=np.int64) for r in rows],
        nb_vals=[np.array(v) for v in vals], nb_total=np.array([100.0, 100.0]),
        pc_rows=[np.zeros(0, dtype=np.int64)] * n, pc_vals=[np.zeros(0)] * n, n_pcn=0,
        size=(0.0, 10.0))
    assert conflict_bound(prob, threshold=0.95, time_limit=10) == pytest.approx(100.0)
