"""Layer x layer tension with PCN footprints: the 'spatial spaghetti' on real data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from nbhd_geo import layer_tension, pcn_footprints
from nbhd_geo.pcn import read_pcn_membership, read_registrations
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def pennine_layers():
    regs = read_registrations(shared_path("nhs", "pennine-lancs", "lsoapops.csv"))
    members = read_pcn_membership(shared_path("nhs", "pennine-lancs", "PCNdefs.csv"))
    lsoa = gpd.read_parquet(shared_path("ons", "england", "lsoa11.parquet"),
                            filters=[("LSOA11CD", "in", sorted(set(regs["lsoa_code"])))])
    lsoa["geometry"] = shapely.make_valid(lsoa.geometry.to_numpy())
    lsoa = lsoa.to_crs(27700)
    # Sparse out-of-area LSOAs would stretch the footprints (see pcn docs): need >= 200.
    fp = pcn_footprints(regs, members, lsoa, lsoa_id="LSOA11CD", min_residents=200)
    foot = fp.footprints[~fp.footprints.geometry.is_empty].set_index("org")
    minx, miny, maxx, maxy = foot.total_bounds
    wards = gpd.read_parquet(shared_path("ons", "england", "wards13.parquet"))
    wards = wards.to_crs(27700).cx[minx:maxx, miny:maxy]
    wards["geometry"] = shapely.make_valid(wards.geometry.to_numpy())
    wards = wards[wards.geometry.type.isin(["Polygon", "MultiPolygon"])]
    return foot, wards, lsoa.set_index("LSOA11CD")


@pytest.mark.shared
@pytest.mark.slow
def test_pcn_footprints_against_wards_and_lsoas(pennine_layers):
    foot, wards, lsoa = pennine_layers
    assert len(foot) == 13
    vs_wards = layer_tension(foot, wards, score_weights=(1, 1, 0))
    assert list(vs_wards.index) == list(foot.index)
    assert vs_wards["tension"].between(0, 1).all()
    # PCN footprints cut across wards: every PCN touches several wards and most fit no
    # set of whole wards well (Ribblesdale is the exception: IoU 0.9996).
    assert (vs_wards["n_units"] >= 2).all()
    assert (vs_wards["iou"] < 0.95).sum() >= 5
    # Footprints are unions of LSOAs: against LSOAs the best fit is (nearly) perfect.
    vs_lsoa = layer_tension(foot, lsoa, score_weights=(1, 1, 0))
    np.testing.assert_allclose(vs_lsoa["iou"], 1.0, atol=1e-6)
    # And the other way: wards cut by PCN boundaries.
    wards_vs = layer_tension(wards, foot)
    assert wards_vs["tension"].between(0, 1).all()
    inside = wards_vs[wards_vs["n_units"] >= 1]
    assert len(inside) >= 40
    assert (inside["n_units"] >= 2).sum() >= 5  # wards split between PCNs
