"""Tests for nbhd_geo.io.read: every format, every fault, exact report lines."""

from __future__ import annotations

import gzip
import re
import shutil
import time
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from nbhd_geo.errors import ColumnError, CRSError, InputError, NbhdGeoError, ValidationError
from nbhd_geo.io.options import CoordOptions, CsvColumns, PrivacyOptions
from nbhd_geo.io.read import ReadReport, ReadResult, read_drawings, read_layer

# A small town near Wakefield, in British National Grid metres.
X0, Y0 = 433_000.0, 420_000.0


def square(x, y, size=100.0, ccw=True):
    return shapely.box(x, y, x + size, y + size, ccw=ccw)


BOWTIE = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])


def workshop_frame() -> gpd.GeoDataFrame:
    """Drawings with one fault each, in EPSG:27700."""
    rows = [
        # drawing_id, neighbourhood, contributor_name, contributor_email, phone, comments, geom
        ("d1", "Belle Isle", "Jo Bloggs", "jo@example.org", "01924 123456",
         "I have lived here for twenty years and love the park and the shops", square(X0, Y0)),
        ("d2", "Belle Isle", "Al Smith", "al@example.org", None, None, BOWTIE),
        ("d3", "Eastmoor", "Cy Jones", None, "07700 900123", "ok", square(X0, Y0, ccw=False)),
        ("d4", "Eastmoor", None, None, None, None, shapely.Point(X0, Y0)),
        ("d1", "Lupset", None, None, None, None, square(X0 + 500, Y0)),
        ("d6", "Lupset", None, None, None, None, None),
        ("d7", None, None, None, None, None, square(X0 + 1000, Y0)),
        ("d8", "Junk", None, None, None, None, shapely.box(X0 - 20_000, Y0 - 20_000,
                                                           X0 + 20_000, Y0 + 20_000)),
    ]
    columns = ["drawing_id", "neighbourhood", "contributor_name", "contributor_email", "phone",
               "comments", "geometry"]
    df = pd.DataFrame(rows, columns=columns)
    return gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:27700")


@pytest.fixture
def workshop_gpkg(tmp_path):
    path = tmp_path / "drawings_workshop.gpkg"
    workshop_frame().to_file(path, layer="drawings")
    return path


@pytest.fixture
def workshop(workshop_gpkg) -> ReadResult:
    return read_drawings(workshop_gpkg, id_col="drawing_id", name_col="neighbourhood")


def reason(report: ReadReport, fid: str) -> str:
    row = report.rows.set_index("feature_id").loc[fid]
    return f"{row['status']} {fid}: {row['reason']}"


# ----------------------------------------------------------------------------- faults


def test_workshop_counts_add_up(workshop):
    data, report = workshop
    assert (report.n_input, report.n_kept, report.n_repaired, report.n_rejected) == (8, 5, 1, 2)
    assert report.rows["feature_id"].tolist() == ["d1", "d2", "d3", "d4", "d1#2", "d6", "d7",
                                                  "d8"]
    assert report.rows["input_row"].tolist() == list(range(8))
    assert data.index.tolist() == ["d1", "d2", "d3", "d1#2", "d7", "d8"]
    assert data.index.name == "drawing_id"
    assert data.crs.to_epsg() == 27700
    assert shapely.is_valid(data.geometry.values).all()
    report.check()


def test_bowtie_repaired(workshop):
    assert reason(workshop.report, "d2") == (
        "repaired d2: self-intersection at (433050.0, 420050.0) repaired with make_valid: "
        "1 polygon → 2-part multipolygon, area 0.0 → 5000.0 m²"
    )
    assert workshop.data.loc["d2", "geometry"].geom_type == "MultiPolygon"


def test_clockwise_ring_reoriented(workshop):
    assert reason(workshop.report, "d3") == "kept d3: clockwise exterior ring reoriented"
    assert shapely.is_ccw(workshop.data.loc["d3", "geometry"].exterior)


def test_stray_point_rejected(workshop):
    assert reason(workshop.report, "d4") == "rejected d4: not a polygon: Point"


def test_duplicate_id_renamed(workshop):
    assert reason(workshop.report, "d1#2") == "kept d1#2: duplicate id 'd1' renamed 'd1#2'"
    assert "1 duplicate ids made unique with a '#<n>' suffix" in workshop.report.notes


def test_null_geometry_rejected(workshop):
    assert reason(workshop.report, "d6") == "rejected d6: empty geometry"
    row = workshop.report.rows.iloc[5]
    assert np.isnan(row["area_in_m2"]) and np.isnan(row["area_out_m2"])


def test_missing_name_kept(workshop):
    assert reason(workshop.report, "d7") == "kept d7: no neighbourhood name"


def test_junk_rectangle_kept(workshop):
    """Outliers are a later concern: a huge drawing is kept untouched."""
    assert reason(workshop.report, "d8") == "kept d8: "
    assert workshop.report.rows.iloc[7]["area_out_m2"] == pytest.approx(40_000.0**2)


def test_personal_columns_dropped(workshop):
    data, report = workshop
    assert list(report.dropped_columns) == ["contributor_name", "contributor_email", "phone",
                                            "comments"]
    assert data.columns.tolist() == ["neighbourhood", "geometry"]
    assert "columns left out (keep one with --keep-column NAME): contributor_name (column name suggests contributor)" in (
        report.summary()
    )


def test_keep_columns_and_keep_personal(workshop_gpkg):
    data, report = read_drawings(workshop_gpkg, privacy=PrivacyOptions(keep_columns=["comments"]))
    assert "comments" in data.columns and "comments" not in report.dropped_columns
    data, report = read_drawings(workshop_gpkg, privacy=PrivacyOptions(keep_personal=True))
    assert report.dropped_columns == {}
    assert "contributor_email" in data.columns
    with pytest.raises(ColumnError, match="keep_columns"):
        read_drawings(workshop_gpkg, privacy=PrivacyOptions(keep_columns=["nope"]))


def test_summary_lines(workshop):
    text = workshop.report.summary()
    lines = text.splitlines()
    assert lines[0].endswith("drawings_workshop.gpkg: 8 features read: 5 kept, 1 repaired, "
                             "2 rejected.")
    assert lines[1] == "CRS EPSG:27700 → EPSG:27700."
    assert "rejected d4: not a polygon: Point" in lines
    assert "kept d7: no neighbourhood name" in lines
    assert str(workshop.report) == text


def test_to_frame(workshop):
    frame = workshop.report.to_frame()
    assert frame.columns.tolist() == ["source", "feature_id", "input_row", "status", "reason",
                                      "area_in_m2", "area_out_m2"]
    assert len(frame) == 8


def test_report_check_catches_bad_counts(workshop):
    report = workshop.report
    broken = ReadReport(report.source, report.n_input, report.n_kept + 1, report.n_repaired,
                        report.n_rejected, report.rows)
    with pytest.raises(AssertionError, match="does not add up"):
        broken.check()


def test_input_frame_not_mutated():
    frame = workshop_frame()
    before = frame.copy()
    data, report = read_drawings(frame, name_col="neighbourhood")
    pd.testing.assert_frame_equal(frame, before)
    assert report.source == "<GeoDataFrame>"
    assert report.id_col == "drawing_id"
    assert "ids from column 'drawing_id' (auto-detected)" in report.notes


# ----------------------------------------------------------------------------- ids


def test_missing_id_column_lists_columns(workshop_gpkg):
    with pytest.raises(ColumnError) as err:
        read_drawings(workshop_gpkg, id_col="uuid")
    assert err.value.argument == "id_col"
    assert "'drawing_id'" in str(err.value) and "'neighbourhood'" in str(err.value)


def test_ids_created_when_absent():
    frame = gpd.GeoDataFrame({"nbhd": ["a", "b"]},
                             geometry=[square(X0, Y0), square(X0 + 200, Y0)], crs=27700)
    data, report = read_drawings(frame)
    assert data.index.tolist() == ["row_0", "row_1"]
    assert data.index.name == "feature_id"
    assert report.id_col is None
    assert "no id column found: ids row_<n> created from the input row (0-based)" in report.notes


def test_missing_id_value_gets_row_id():
    frame = gpd.GeoDataFrame({"drawing_id": ["a", None]},
                             geometry=[square(X0, Y0), square(X0 + 200, Y0)], crs=27700)
    data, report = read_drawings(frame, id_col="drawing_id")
    assert reason(report, "row_1") == "kept row_1: missing id; assigned 'row_1'"


def test_layer_collects_all_problems():
    layer = gpd.GeoDataFrame(
        {"code": ["E1", "E1", "E2", "E3", "E3"]},
        geometry=[square(X0, Y0), square(X0 + 100, Y0), shapely.Point(X0, Y0), None,
                  square(X0 + 300, Y0)],
        crs=27700,
    )
    with pytest.raises(ValidationError) as err:
        read_layer(layer, id_col="code", name="wards")
    assert err.value.problems == [
        "2 duplicate ids in column 'code': 'E1', 'E3'",
        "E2: not a polygon: Point",
        "E3: empty geometry",
    ]
    assert str(err.value).startswith("wards: 3 problems in the layer:\n  - 2 duplicate ids")
    data, report = read_layer(layer, id_col="code", strict=False)
    assert data.index.tolist() == ["E1", "E1#2", "E3#2"]
    assert report.n_rejected == 2


def test_layer_auto_detects_ons_code_column():
    layer = gpd.GeoDataFrame({"LAD11CD": ["E08000036"] * 2, "OA11CD": ["E00001", "E00002"]},
                             geometry=[square(X0, Y0), square(X0 + 100, Y0)], crs=27700)
    data, report = read_layer(layer)
    assert report.id_col == "OA11CD"
    assert data.index.tolist() == ["E00001", "E00002"]
    assert data.columns.tolist() == ["LAD11CD", "geometry"]


# ----------------------------------------------------------------------------- CRS


LONLAT_SQUARE = shapely.box(-1.50, 53.68, -1.49, 53.69)


def test_lonlat_geojson_reprojected(tmp_path):
    path = tmp_path / "drawings_online.geojson"
    gpd.GeoDataFrame({"id": ["g1"]}, geometry=[LONLAT_SQUARE], crs=4326).to_file(path)
    data, report = read_drawings(path)
    assert report.crs_in == "EPSG:4326" and report.crs_out == "EPSG:27700"
    x, y = data.geometry.iloc[0].centroid.coords[0]
    assert 432_000 < x < 435_000 and 419_000 < y < 422_000
    assert report.rows["area_out_m2"].iloc[0] == pytest.approx(
        shapely.area(data.geometry.iloc[0]))


def test_swapped_latlon_detected_and_fixed(tmp_path):
    swapped = shapely.box(53.68, -1.50, 53.69, -1.49)
    path = tmp_path / "swapped.geojson"
    gpd.GeoDataFrame({"id": ["s1", "s2"]}, geometry=[swapped, swapped], crs=4326).to_file(path)
    with pytest.raises(CRSError) as err:
        read_drawings(path)
    text = str(err.value)
    assert "2 of 2 features have coordinates that look like latitude/longitude in swapped order" in (
        text)
    assert "'s1', 's2'" in text and text.endswith("Fix: pass coords=CoordOptions(swap_xy=True).")
    data, report = read_drawings(path, coords=CoordOptions(swap_xy=True))
    assert report.n_kept == 2
    assert "x and y swapped (swap_xy=True)" in report.notes
    assert data.geometry.iloc[0].centroid.x == pytest.approx(
        read_drawings(gpd.GeoDataFrame(geometry=[LONLAT_SQUARE], crs=4326)).data
        .geometry.iloc[0].centroid.x)


def test_some_swapped_rejected_on_request():
    frame = gpd.GeoDataFrame({"id": ["ok", "bad"]},
                             geometry=[LONLAT_SQUARE, shapely.box(53.68, -1.50, 53.69, -1.49)],
                             crs=4326)
    with pytest.raises(CRSError, match="correct these features' coordinates"):
        read_drawings(frame)
    data, report = read_drawings(frame, coords=CoordOptions(outside="reject"))
    assert reason(report, "bad") == (
        "rejected bad: coordinates that look like latitude/longitude in swapped order")
    assert data.index.tolist() == ["ok"]


def test_outside_gb(tmp_path):
    frame = gpd.GeoDataFrame({"id": ["york", "newyork"]},
                             geometry=[LONLAT_SQUARE, shapely.box(-73.99, 40.73, -73.98, 40.74)],
                             crs=4326)
    with pytest.raises(CRSError) as err:
        read_drawings(frame)
    assert "1 of 2 features have coordinates outside Great Britain (ids: 'newyork')" in str(
        err.value)
    data, report = read_drawings(frame, coords=CoordOptions(outside="reject"))
    assert reason(report, "newyork") == "rejected newyork: coordinates outside Great Britain"
    assert report.n_kept == 1


def test_caller_chosen_working_crs_skips_gb_check():
    nyc = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.box(-73.99, 40.73, -73.98, 40.74)],
                           crs=4326)
    data, report = read_drawings(nyc, coords=CoordOptions(to_crs="EPSG:32618"))
    assert data.crs.to_epsg() == 32618 and report.crs_out == "EPSG:32618"
    assert report.rows["area_out_m2"].iloc[0] == pytest.approx(1_000_000, rel=0.3)


def test_geographic_working_crs_refused():
    with pytest.raises(CRSError, match="not projected"):
        read_drawings(gpd.GeoDataFrame(geometry=[LONLAT_SQUARE], crs=4326), coords=CoordOptions(to_crs=4326))


def test_missing_crs_suggests_fix(tmp_path):
    degrees = gpd.GeoDataFrame({"id": ["a"]}, geometry=[LONLAT_SQUARE])
    with pytest.raises(CRSError) as err:
        read_drawings(degrees)
    assert str(err.value) == (
        "<GeoDataFrame>: has no CRS (coordinates range x -1.5..-1.49, y 53.68..53.69, which "
        "look like longitude/latitude degrees). Fix: pass crs=\"EPSG:4326\".")
    metres = gpd.GeoDataFrame({"id": ["a"]}, geometry=[square(X0, Y0)])
    with pytest.raises(CRSError, match='pass crs="EPSG:27700"'):
        read_drawings(metres)
    swapped = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.box(53.68, -1.50, 53.69, -1.49)])
    with pytest.raises(CRSError, match=re.escape('pass crs="EPSG:4326", coords=CoordOptions(swap_xy=True)')):
        read_drawings(swapped)
    data, report = read_drawings(degrees, crs="EPSG:4326")
    assert report.crs_in == "EPSG:4326"
    assert "no CRS in the source: assumed crs=EPSG:4326" in report.notes


def test_declared_crs_conflict():
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[square(X0, Y0)], crs=4326)
    with pytest.raises(CRSError, match="declares CRS EPSG:4326 but crs=EPSG:27700"):
        read_drawings(frame, crs="EPSG:27700")
    data, report = read_drawings(frame, crs="EPSG:27700", coords=CoordOptions(override_crs=True))
    assert report.n_kept == 1 and report.crs_in == "EPSG:27700"


def test_degrees_in_projected_crs():
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[LONLAT_SQUARE], crs=27700)
    with pytest.raises(CRSError, match="look like degrees although the CRS is EPSG:27700"):
        read_drawings(frame)


def test_bad_crs_value():
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[square(X0, Y0)])
    with pytest.raises(CRSError, match="not a coordinate reference system"):
        read_drawings(frame, crs="EPSG:nope")


# ----------------------------------------------------------------------------- formats


def test_gpkg_multi_layer(tmp_path):
    path = tmp_path / "town.gpkg"
    workshop_frame().to_file(path, layer="drawings")
    gpd.GeoDataFrame({"WD13CD": ["E05000001"]}, geometry=[square(X0, Y0, 1000)],
                     crs=27700).to_file(path, layer="wards")
    with pytest.raises(InputError) as err:
        read_layer(path)
    assert err.value.argument == "layer"
    assert "has 2 layers ('drawings', 'wards')" in str(err.value)
    data, report = read_layer(path, layer="wards")
    assert data.index.tolist() == ["E05000001"]
    assert report.source.endswith("town.gpkg (layer 'wards')")
    with pytest.raises(InputError, match="has no layer 'lsoa'"):
        read_layer(path, layer="lsoa")


@pytest.mark.parametrize("suffix", [".zip", ".shp.zip"])
def test_zipped_shapefile(tmp_path, suffix):
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = gpd.GeoDataFrame({"drawing_id": ["z1", "z2"]},
                             geometry=[square(X0, Y0), BOWTIE], crs=27700)
    frame.to_file(folder / "drawings.shp")
    path = tmp_path / f"drawings{suffix}"
    with zipfile.ZipFile(path, "w") as zf:
        for member in folder.iterdir():
            zf.write(member, member.name)
    data, report = read_drawings(path)
    assert (report.n_kept, report.n_repaired) == (1, 1)
    assert data.index.tolist() == ["z1", "z2"]


def test_plain_shapefile(tmp_path):
    path = tmp_path / "wards.shp"
    gpd.GeoDataFrame({"WD13CD": ["E1", "E2"]}, geometry=[square(X0, Y0), square(X0 + 100, Y0)],
                     crs=27700).to_file(path)
    data, report = read_layer(path)
    assert data.index.tolist() == ["E1", "E2"] and report.crs_in == "EPSG:27700"


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>Draw your neighbourhood</name>
    <Folder>
      <name>Drawings</name>
      <Placemark>
        <name>Belle Isle</name>
        <description>My favourite walk goes round the park and back past the school</description>
        <ExtendedData><Data name="drawing_id"><value>k1</value></Data></ExtendedData>
        <Polygon>
          <outerBoundaryIs><LinearRing><tessellate>1</tessellate><coordinates>
            -1.50,53.68,0 -1.49,53.68,0 -1.49,53.69,0 -1.50,53.69,0 -1.50,53.68,0
          </coordinates></LinearRing></outerBoundaryIs>
          <innerBoundaryIs><LinearRing><coordinates>
            -1.497,53.683,0 -1.497,53.685,0 -1.495,53.685,0 -1.495,53.683,0 -1.497,53.683,0
          </coordinates></LinearRing></innerBoundaryIs>
        </Polygon>
      </Placemark>
      <Placemark>
        <name>Eastmoor</name>
        <ExtendedData><Data name="drawing_id"><value>k2</value></Data></ExtendedData>
        <MultiGeometry>
          <Polygon><outerBoundaryIs><LinearRing><coordinates>
            -1.48,53.68 -1.47,53.68 -1.47,53.69 -1.48,53.69 -1.48,53.68
          </coordinates></LinearRing></outerBoundaryIs></Polygon>
          <Point><coordinates>-1.475,53.685</coordinates></Point>
        </MultiGeometry>
      </Placemark>
    </Folder>
    <Folder>
      <name>Pins</name>
      <Placemark><name>Stray pin</name>
        <ExtendedData><Data name="drawing_id"><value>k3</value></Data></ExtendedData>
        <Point><coordinates>-1.5,53.7,0</coordinates></Point></Placemark>
    </Folder>
  </Document>
</kml>
"""


def test_kml_as_exported_by_web_maps(tmp_path):
    path = tmp_path / "drawings_mapmaker.kml"
    path.write_text(KML, encoding="utf-8")
    data, report = read_drawings(path, name_col="Name")
    assert report.rows["feature_id"].tolist() == ["k1", "k2", "k3"]
    assert report.crs_in == "EPSG:4326"
    assert reason(report, "k2") == (
        "repaired k2: GeometryCollection: kept 1 polygonal part, dropped 1 other part (Point)")
    assert reason(report, "k3") == "rejected k3: not a polygon: Point"
    assert reason(report, "k1") == "kept k1: "  # hole already clockwise in KML → fine after CCW
    assert data.loc["k1", "geometry"].geom_type == "Polygon"
    assert len(data.loc["k1", "geometry"].interiors) == 1
    assert data.loc["k1", "Name"] == "Belle Isle"
    assert "description" in report.dropped_columns
    assert "Z coordinates dropped" in report.notes
    assert not shapely.has_z(data.geometry.values).any()
    # The folder names are typed by whoever made the map: left out unless kept.
    assert "kml_folder" not in data.columns and "kml_folder" in report.dropped_columns
    kept, _ = read_drawings(path, id_col="drawing_id", name_col="Name",
                            privacy=PrivacyOptions(keep_columns=["kml_folder"]))
    assert "kml_folder" in kept.columns
    only, _ = read_drawings(path, layer="Pins")
    assert len(only) == 0


def test_csv_wkt(tmp_path):
    path = tmp_path / "drawings_survey.csv"
    pd.DataFrame({
        "drawing_id": ["c1", "c2", "c3", "c4"],
        "neighbourhood": ["Belle Isle", "Eastmoor", "Lupset", ""],
        "wkt": [square(X0, Y0).wkt, BOWTIE.wkt, "POLYGON ((broken", None],
    }).to_csv(path, index=False)
    with pytest.raises(CRSError, match='pass crs="EPSG:27700"'):
        read_drawings(path)
    data, report = read_drawings(path, crs="EPSG:27700", name_col="neighbourhood")
    assert reason(report, "c3") == "rejected c3: unreadable WKT in column 'wkt'"
    assert reason(report, "c4") == "rejected c4: no neighbourhood name; empty geometry"
    assert (report.n_kept, report.n_repaired, report.n_rejected) == (1, 1, 2)
    assert "geometry from WKT column 'wkt'" in report.notes
    assert "wkt" not in data.columns


def test_csv_ewkt_srid(tmp_path):
    path = tmp_path / "survey.csv"
    pd.DataFrame({"id": ["e1"], "geom": ["SRID=4326;" + LONLAT_SQUARE.wkt]}).to_csv(
        path, index=False)
    data, report = read_drawings(path)
    assert report.crs_in == "EPSG:4326" and report.n_kept == 1


def test_csv_lonlat_points(tmp_path):
    path = tmp_path / "points.csv"
    pd.DataFrame({"id": ["p1", "p2", "p3"], "Longitude": [-1.5, -1.49, "n/a"],
                  "Latitude": [53.68, 53.69, 53.7]}).to_csv(path, index=False)
    data, report = read_layer(path, crs="EPSG:4326", geom_type="point", strict=False)
    assert data.index.tolist() == ["p1", "p2"]
    assert reason(report, "p3") == (
        "rejected p3: unreadable coordinates in columns 'Longitude'/'Latitude'")
    assert "points from coordinate columns 'Longitude' (x) and 'Latitude' (y)" in report.notes
    drawings, dreport = read_drawings(path, crs="EPSG:4326")
    assert reason(dreport, "p1") == "rejected p1: not a polygon: Point"


def test_csv_explicit_columns(tmp_path):
    path = tmp_path / "bng.csv"
    pd.DataFrame({"ref": ["a"], "E": [X0], "N": [Y0]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="has no geometry column"):
        read_layer(path, crs=27700, geom_type="point")
    data, _ = read_layer(path, crs=27700, geom_type="point", csv=CsvColumns(x_col="E", y_col="N"), id_col="ref")
    assert data.geometry.iloc[0].equals(shapely.Point(X0, Y0))
    with pytest.raises(ColumnError, match="x_col"):
        read_layer(path, crs=27700, csv=CsvColumns(x_col="east", y_col="N"))


def test_gzipped_geojson_and_csv(tmp_path):
    plain = tmp_path / "d.geojson"
    gpd.GeoDataFrame({"id": ["g1"]}, geometry=[LONLAT_SQUARE], crs=4326).to_file(plain)
    gz = tmp_path / "d.geojson.gz"
    with open(plain, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    data, report = read_drawings(gz)
    assert data.index.tolist() == ["g1"] and report.crs_in == "EPSG:4326"
    csv = tmp_path / "d.csv.gz"
    pd.DataFrame({"id": ["c1"], "wkt": [square(X0, Y0).wkt]}).to_csv(csv, index=False)
    data, _ = read_drawings(csv, crs=27700)
    assert data.index.tolist() == ["c1"]


def test_missing_file(tmp_path):
    (tmp_path / "drawings.gpkg").touch()
    with pytest.raises(InputError) as err:
        read_drawings(tmp_path / "drawing.gpkg")
    text = str(err.value)
    assert "does not exist (files there: drawings.gpkg)" in text
    assert "Fix: check the path" in text
    assert isinstance(err.value, NbhdGeoError)


def test_unknown_extension(tmp_path):
    path = tmp_path / "drawings.xlsx"
    path.write_text("x")
    with pytest.raises(InputError, match=r"unknown file type '\.xlsx'.*Fix: use one of .geojson"):
        read_drawings(path)


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text("this is not json")
    with pytest.raises(InputError, match="cannot be read as GeoJSON.*Fix: check that the file"):
        read_drawings(path)
    gpkg = tmp_path / "broken.gpkg"
    gpkg.write_text("nope")
    with pytest.raises(InputError, match="cannot be read as GeoPackage"):
        read_drawings(gpkg)


def test_wrong_object_type():
    with pytest.raises(InputError, match="cannot read an object of type list"):
        read_drawings([1, 2])


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_drawings(tmp_path)


def test_min_area_and_no_repair():
    frame = gpd.GeoDataFrame({"id": ["big", "small", "bow"]},
                             geometry=[square(X0, Y0), square(X0, Y0, 5), BOWTIE], crs=27700)
    data, report = read_drawings(frame, min_area_m2=100, repair=False)
    assert reason(report, "small") == "rejected small: area 25.0 m² below min_area_m2=100"
    assert reason(report, "bow") == (
        "rejected bow: invalid: self-intersection at (433050.0, 420050.0) (repair=False)")
    assert data.index.tolist() == ["big"]


def test_bad_outside_value():
    with pytest.raises(InputError, match="outside"):
        read_drawings(gpd.GeoDataFrame(geometry=[square(X0, Y0)], crs=27700), coords=CoordOptions(outside="drop"))


# ----------------------------------------------------------------------------- real data


@pytest.mark.shared
def test_wakefield_lsoa11(shared):
    path = shared("ons", "wakefield", "lsoa11.geojson")
    data, report = read_layer(path)
    assert report.id_col == "LSOA11CD"
    assert report.n_rejected == 0
    assert report.n_kept + report.n_repaired == report.n_input == len(data)
    assert data.crs.to_epsg() == 27700
    assert data.index.is_unique and data.index.str.startswith("E0101").all()
    assert shapely.is_valid(data.geometry.values).all()
    # Wakefield LAD is about 339 km².
    assert data.area.sum() / 1e6 == pytest.approx(339, rel=0.05)


@pytest.mark.shared
@pytest.mark.parametrize("layer, code", [("wards13", "WD13CD"), ("msoa11", "MSOA11CD"),
                                         ("oa11", "OA11CD"), ("pcon", "PCON13CD")])
def test_wakefield_other_layers(shared, layer, code):
    data, report = read_layer(shared("ons", "wakefield", f"{layer}.geojson"))
    assert report.id_col == code and report.n_rejected == 0


@pytest.mark.shared
@pytest.mark.slow
def test_nyc_drawings_all_accounted_for(shared):
    path = shared("drawings", "nyc-dnainfo", "dnainfo_New_York_drawings.geojson.gz")
    start = time.process_time()  # CPU time: not inflated when the machine is busy
    data, report = read_drawings(path, coords=CoordOptions(to_crs="EPSG:32618"))
    seconds = time.process_time() - start
    assert report.n_input == 42_035
    assert report.n_kept + report.n_repaired + report.n_rejected == 42_035
    assert len(data) == report.n_kept + report.n_repaired
    assert set(report.rows["feature_id"]) >= set(data.index)
    assert 0.03 < report.n_repaired / report.n_input < 0.06
    assert (report.n_kept, report.n_repaired, report.n_rejected) == (39_672, 1_933, 430)
    assert report.rows.loc[report.rows["status"] == "rejected", "reason"].str.startswith(
        "degenerate: too few points").all()
    assert shapely.is_valid(data.geometry.values).all()
    assert seconds < 15, f"NYC read took {seconds:.1f} s of CPU"
    with pytest.raises(CRSError, match="outside Great Britain"):
        read_drawings(path)


def test_empty_input():
    data, report = read_drawings(gpd.GeoDataFrame({"id": []}, geometry=[], crs=27700))
    assert len(data) == 0 and report.n_input == 0
    report.check()


def test_integer_ids_keep_their_type():
    layer = gpd.GeoDataFrame({"fid": [7, 9]}, geometry=[square(X0, Y0), square(X0 + 100, Y0)],
                             crs=27700)
    data, report = read_layer(layer)
    assert data.index.tolist() == [7, 9] and data.index.dtype == "int64"
    drawings, _ = read_drawings(layer)
    assert drawings.index.tolist() == ["7", "9"]


def test_other_geometry_column_name():
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[square(X0, Y0)], crs=27700)
    data, _ = read_layer(frame.rename_geometry("geom"))
    assert data.geometry.name == "geometry" and data.columns.tolist() == ["geometry"]


@pytest.mark.parametrize("name", ["drawings_workshop.gpkg", "drawings_online.geojson",
                                  "drawings_mapmaker.kml", "drawings_survey.csv"])
def test_sample_town_drawings(samples, name):
    """The generated sample town (when present) reads with every feature accounted for."""
    path = samples / name
    if not path.exists():
        pytest.skip(f"sample file {path} not generated yet")
    crs = "EPSG:27700" if name.endswith(".csv") else None
    data, report = read_drawings(path, crs=crs)
    assert report.n_input == report.n_kept + report.n_repaired + report.n_rejected > 0
    assert data.crs.to_epsg() == 27700
    assert not {"contributor_name", "contributor_email", "email", "phone"} & set(data.columns)
    if name == "drawings_workshop.gpkg":
        statuses = set(report.rows["status"])
        assert statuses == {"kept", "repaired", "rejected"}
        assert report.rows["reason"].str.contains("duplicate id").any()


def test_csv_ids_stay_text_and_cp1252(tmp_path):
    path = tmp_path / "survey.csv"
    text = f'drawing_id,neighbourhood,wkt\n007,Café Quarter,"{square(X0, Y0).wkt}"\n'
    path.write_bytes(text.encode("cp1252"))
    data, report = read_drawings(path, crs=27700, name_col="neighbourhood")
    assert data.index.tolist() == ["007"]
    assert data["neighbourhood"].iloc[0] == "Café Quarter"
    assert "file is not UTF-8: read as Windows-1252 (cp1252)" in report.notes


def test_input_errors_name_the_argument(tmp_path):
    with pytest.raises(InputError) as err:
        read_layer(tmp_path / "lsoa.geojson")
    assert err.value.argument == "src (lsoa.geojson)"
    assert str(err.value).startswith("src (lsoa.geojson): file ")


def test_kml_without_folders_and_empty_kml(tmp_path):
    plain = tmp_path / "geojsonio.kml"
    plain.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Placemark><ExtendedData><Data name=\"neighbourhood\"><value>Old Town</value>"
        "</Data></ExtendedData><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        "-1.50,53.68 -1.49,53.68 -1.49,53.69 -1.50,53.68</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></Placemark></Document></kml>", encoding="utf-8")
    data, report = read_drawings(plain, name_col="neighbourhood")
    assert data["neighbourhood"].tolist() == ["Old Town"] and report.n_kept == 1
    empty = tmp_path / "empty.kml"
    empty.write_text('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2">'
                     "<Document><name>x</name></Document></kml>", encoding="utf-8")
    with pytest.raises(InputError, match="contains no placemarks"):
        read_drawings(empty)


def test_repeated_code_column_is_not_taken_as_id(tmp_path):
    import geopandas as gpd
    import shapely

    from nbhd_geo.io.read import read_layer

    pts = gpd.GeoDataFrame(
        {"oa_code": ["E00990001", "E00990001", "E00990002"], "count": [3, 4, 5]},
        geometry=shapely.points([[430000, 420000], [430010, 420000], [430020, 420000]]),
        crs=27700,
    )
    path = tmp_path / "points.gpkg"
    pts.to_file(path)
    data, report = read_layer(path, geom_type="point")
    assert data.index.tolist() == ["row_0", "row_1", "row_2"]
    assert report.id_col is None
    assert data["oa_code"].tolist() == ["E00990001", "E00990001", "E00990002"]


def test_report_source_is_the_file_name_not_the_full_path(tmp_path):
    """Reports are published: a full path can carry the analyst's user name."""
    import geopandas as gpd
    import shapely

    from nbhd_geo.io.read import read_drawings

    folder = tmp_path / "jane.smith" / "engagement"
    folder.mkdir(parents=True)
    path = folder / "drawn.geojson"
    gpd.GeoDataFrame({"drawing_id": ["a"]}, geometry=[shapely.box(430000, 420000, 430100, 420100)],
                     crs=27700).to_file(path)
    _, report = read_drawings(path)
    assert report.source == "drawn.geojson"
    assert "jane.smith" not in report.to_frame().to_csv()
