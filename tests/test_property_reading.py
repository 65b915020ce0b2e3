"""Property tests (hypothesis): random junk and random valid geometries through reading.

Whatever bytes arrive, reading ends in a result whose report accounts for every input
feature, or in a typed ``NbhdGeoError``. Valid random drawings, written to real files and
read back, keep the accounting identity, and their crosswalk against a grid that covers
them conserves area.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbhd_geo.errors import NbhdGeoError
from nbhd_geo.io.options import CoordOptions
from nbhd_geo.io.read import read_drawings
from nbhd_geo.overlay.crosswalk import crosswalk

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
SUFFIXES = [".geojson", ".json", ".csv", ".gpkg", ".fgb", ".kml", ".zip", ".parquet",
            ".shp", ".geojson.gz", ".csv.gz", ".kmz"]
X0, Y0, SIZE = 430_000.0, 420_000.0, 3_000.0


def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="nbhd-prop-"))


def _read(path: Path, **kw):
    try:
        return read_drawings(path, crs="EPSG:27700", **kw)
    except NbhdGeoError:
        return None


@SETTINGS
@given(data=st.binary(max_size=2_000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_end_in_a_result_or_a_typed_error(data, suffix):
    path = _folder() / f"junk{suffix}"
    path.write_bytes(data)
    result = _read(path)
    if result is not None:
        report = result.report.check()
        assert len(result.data) == report.n_kept + report.n_repaired


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=4),
    max_leaves=12,
)
coordinate = st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)).map(list)
geometry = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["Polygon", "MultiPolygon", "Point",
                                                    "LineString", "Nope"]),
                           "coordinates": st.lists(st.lists(coordinate, max_size=6),
                                                   max_size=3)}),
)
feature = st.one_of(
    json_values,
    st.fixed_dictionaries({"type": st.just("Feature"), "geometry": geometry,
                           "properties": st.one_of(json_values, st.dictionaries(
                               st.text(min_size=1, max_size=6), st.text(max_size=6),
                               max_size=3))}),
)


@SETTINGS
@given(features=st.lists(feature, max_size=8), crs=st.one_of(st.none(), json_values))
def test_random_geojson_accounts_for_every_entry(features, crs):
    doc = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = crs
    path = _folder() / "random.geojson"
    path.write_text(json.dumps(doc))
    result = _read(path, coords=CoordOptions(outside="reject"))
    if result is None:
        return
    report = result.report.check()
    assert report.n_input == len(features)  # GDAL skipped nothing unseen


def _grid() -> gpd.GeoDataFrame:
    step = SIZE / 6
    cells = [shapely.box(X0 + i * step, Y0 + j * step, X0 + (i + 1) * step, Y0 + (j + 1) * step)
             for i in range(6) for j in range(6)]
    return gpd.GeoDataFrame({"code": [f"u{k}" for k in range(36)]}, geometry=cells,
                            crs=27700).set_index("code")


GRID = _grid()
point = st.tuples(st.floats(X0 + 1, X0 + SIZE - 1), st.floats(Y0 + 1, Y0 + SIZE - 1))
polygon = st.lists(point, min_size=3, max_size=12).map(
    lambda pts: shapely.Polygon(pts))  # may self-intersect: repaired or rejected


@SETTINGS
@given(polys=st.lists(polygon, min_size=1, max_size=8),
       fmt=st.sampled_from(["GeoJSON", "GPKG", "FlatGeobuf", "csv"]))
def test_random_valid_geometries_conserve_area(polys, fmt):
    frame = gpd.GeoDataFrame({"drawing_id": [f"p{i}" for i in range(len(polys))]},
                             geometry=polys, crs=27700)
    folder = _folder()
    if fmt == "csv":
        path = folder / "d.csv"
        frame.assign(wkt=frame.geometry.to_wkt()).drop(columns="geometry").to_csv(
            path, index=False)
    else:
        path = folder / f"d.{ {'GeoJSON': 'geojson', 'GPKG': 'gpkg', 'FlatGeobuf': 'fgb'}[fmt]}"
        frame.to_file(path, driver=fmt)
    data, report = read_drawings(path, crs="EPSG:27700")
    report.check()
    assert report.n_input == len(polys)
    assert report.n_kept + report.n_repaired + report.n_rejected == len(polys)
    if len(data) == 0:
        return
    assert data.geometry.is_valid.all()
    cw = crosswalk(data, GRID)
    cov = cw.coverage("source")
    np.testing.assert_allclose(cov["overlap_m2"] + cov["uncovered_m2"], cov["area_m2"],
                               rtol=1e-9, atol=1e-6)
    # The grid covers the whole window: nothing drawn falls outside it.
    np.testing.assert_allclose(cov["uncovered_m2"], 0, atol=1e-6)
    np.testing.assert_allclose(cov["area_m2"].to_numpy(),
                               data.geometry.area.reindex(cov.index).to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("n", [0, 1])
def test_property_helpers_are_sound(n):
    """The grid tiles the window: the conservation property above can fail."""
    assert np.isclose(GRID.area.sum(), SIZE * SIZE)
    assert GRID.union_all().equals(shapely.box(X0, Y0, X0 + SIZE, Y0 + SIZE)) or n == 1
