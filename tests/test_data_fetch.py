"""nbhd_geo.official against a real HTTP server on 127.0.0.1 (tests/_fake_services.py).

The server imitates the ONS ArcGIS REST services and the publishers' static files with
their real formats, built from ../shared/data; nothing of nbhd_geo.official is mocked.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

import nbhd_geo as ng
from nbhd_geo import official as data
from nbhd_geo.cli.fetch import fetch_cmd
from nbhd_geo.errors import InputError, NbhdGeoError, VintageError
from nbhd_geo.official import (
    ArcGISClient,
    ChecksumError,
    CountMismatchError,
    DownloadError,
    FetchOptions,
    Limits,
    OfflineError,
    ServiceError,
    ServiceNotFoundError,
    fetch_file,
    fetch_geography,
    fetch_static,
    read_geography,
)
from tests._fake_services import FakeServer
from tests.conftest import shared_path

HARTLEPOOL = "E06000001"
BLACKBURN = "E06000008"
LSOA_SVC = "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5"
LIM = Limits(retries=2, backoff=0.01)
FAST = {"limits": LIM, "progress": False}
WARDS25 = "WD_DEC_2025_UK_BGC"
LAD25 = "LAD_DEC_2025_UK_BGC"
LOOKUP25 = "LSOA21_WD25_LAD25_EW_LU_v2"


def _o(server, cache, **kw):
    """Options pointing at the stand-in server, with fast retries."""
    return FetchOptions(base_url=server.arcgis, static_base_url=server.static_url,
                        cache_dir=cache, progress=False, limits=kw.pop("limits", LIM), **kw)

# The fake ArcGIS server serves files out of ../shared/data: every test here needs it.
pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def server():
    srv = FakeServer(shared_path()).start()
    yield srv
    srv.stop()


@pytest.fixture
def fake(server):
    server.requests.clear()
    server.faults.clear()
    server.range_support = True
    return server


@pytest.fixture(scope="module")
def bundle(server, tmp_path_factory):
    """Hartlepool fetched once: (Geography, GeoPackage path, cache folder, request count)."""
    root = tmp_path_factory.mktemp("bundle")
    server.requests.clear()
    geo = fetch_geography(HARTLEPOOL, out=root / "hartlepool.gpkg",
                          options=_o(server, root / "cache"))
    return geo, root / "hartlepool.gpkg", root / "cache", list(server.requests)


# --------------------------------------------------------------------------- the bundle

def test_bundle_has_every_layer_with_real_values(bundle, shared):
    geo, path, _, requests = bundle
    lookup = pd.read_csv(shared("ons", "ew2021", "lookup_lsoa21_ward24_ltla24.csv"), dtype=str)
    lookup = lookup[lookup["ltla24_code"] == HARTLEPOOL]
    lsoa = geo["lsoa21"]
    assert sorted(lsoa["lsoa_code"]) == sorted(lookup["lsoa21_code"])
    assert len(lsoa) == 57 and len(geo["wards"]) == 12 and len(geo["lad"]) == 1
    assert set(geo["wards"]["ward_code"]) == set(lookup["ward24_code"])
    assert all(layer.crs.to_epsg() == 27700 for layer in geo.layers.values())
    # Census population: the fetched column equals the published counts.
    census = pd.read_csv(shared("imd2025", "census2021_usual_residents_lsoa21.csv"))
    census = census.set_index("lsoa21_code")["usual_residents_total"]
    assert lsoa["population"].sum() == pytest.approx(census[lookup["lsoa21_code"]].sum())
    # IMD 2025 columns equal the published ranks, deciles and scores.
    imd = pd.read_csv(shared("imd2025", "imd2025_england_lsoa21.csv")).set_index("lsoa21_code")
    got = lsoa.set_index("lsoa_code")
    for code in lookup["lsoa21_code"][:5]:
        assert got.at[code, "imd_rank"] == imd.at[code, "IMD_rank"]
        assert got.at[code, "imd_decile"] == imd.at[code, "IMD_decile"]
        assert got.at[code, "income_score"] == pytest.approx(imd.at[code, "Income_score"])
    # Geometry survives Esri JSON rings: areas equal the source polygons' in EPSG:27700.
    src = pyogrio.read_dataframe(shared("ons", "ew2021", "boundaries_lsoa21.gpkg"),
                                 where="lsoa21_code IN ({})".format(
                                     ",".join(f"'{c}'" for c in lookup["lsoa21_code"])))
    src = src.to_crs(27700).set_index("lsoa21_code").area
    assert (got.geometry.area - src[got.index]).abs().max() < 1e-3
    # Paging: 57 LSOAs at 25 per page = 3 pages, then one returnCountOnly check.
    lsoa_q = [r for r in requests if r["path"].startswith(f"/arcgis/rest/services/{LSOA_SVC}/")
              and r["path"].endswith("/query")]
    pages = [r for r in lsoa_q if "resultOffset" in r["query"]]
    assert [r["query"]["resultOffset"] for r in pages] == ["0", "25", "50"]
    assert all(r["query"]["outSR"] == "27700" for r in pages)
    assert sum(r["query"].get("returnCountOnly") == "true" for r in lsoa_q) == 1
    lk_q = [r for r in requests if f"{LOOKUP25}/FeatureServer/0/query" in r["path"]]
    assert lk_q[0]["query"]["where"] == f"LAD25CD='{HARTLEPOOL}'"
    # Lower-case fields (wd25cd) are asked for as the layer spells them.
    wd_q = [r for r in requests if f"{WARDS25}/FeatureServer/0/query" in r["path"]
            and "resultOffset" in r["query"]]
    assert wd_q and wd_q[0]["query"]["where"].startswith("wd25cd IN (")


def test_bundle_says_which_vintage_was_used(bundle):
    geo, *_ = bundle
    v = geo.vintages.set_index("layer")
    # The directory lists wards of 2024, 2025 (both styles) and 2026, lookups of 2024 and
    # 2025: 2025 is the newest year with all three; 2026 has no lookup yet.
    assert v.at["lookup", "service"] == LOOKUP25  # _v2 over the plain one
    assert v.at["lookup", "source"] == "listing"
    assert v.at["wards", "service"] == WARDS25
    assert v.at["lad", "service"] == LAD25 and v.at["lad", "year"] == 2025
    assert v.at["wards", "source"] == "matched" and v.at["wards", "year"] == 2025
    # Why, recorded: the decoys passed over, by their fields and by their extent.
    why = v.at["wards", "why"]
    assert "WD_DEC_2025_UK_BGC_V4: its extent" in why and "not in the UK" in why
    assert "WD_DEC_2025_UK_BGC_V3: has no field WD25CD" in why
    assert geo.notes[0].startswith("vintage 2025: the newest year with an LSOA->ward lookup")
    assert "2026: ward boundaries but no LSOA->ward lookup" in geo.notes[0]
    assert v.at["lsoa21", "service"] == LSOA_SVC  # V5, not the V4 also listed
    assert v.at["imd", "vintage"] == "IoD2025" and v.at["imd", "geography"] == "LSOA21"
    assert "Open Government Licence" in v.at["lsoa21", "licence"]
    assert "Crown copyright" in v.at["wards", "attribution"]
    assert set(geo["wards"]["vintage"]) == {"wards (December 2025)"}
    assert any(n.startswith("oa21 skipped") for n in geo.notes)


def test_msoas_by_envelope_keep_only_the_district(bundle, server, shared):
    geo, *_ = bundle
    lk = pd.read_csv(shared("ons", "ew2021", "lookup_msoa11_msoa21_ltla22.csv"), dtype=str)
    want = set(lk.loc[lk["ltla22_code"] == HARTLEPOOL, "msoa21_code"])
    assert set(geo["msoa21"]["msoa_code"]) == want and len(want) == 11
    # The envelope query returned neighbours too (e.g. Stockton's), left out by area.
    layer = server.layers["Middle_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V3"]
    box = gpd.GeoSeries.from_xy(geo["lsoa21"].total_bounds[[0, 2]],
                                geo["lsoa21"].total_bounds[[1, 3]]).union_all().envelope
    touched = {c for c, g in zip(layer.frame["MSOA21CD"], layer.geoms, strict=True)
               if g.intersects(box)}
    assert touched > want


def test_read_geography_round_trip(bundle):
    geo, path, _, _ = bundle
    back = read_geography(path)
    assert set(back.layers) == {"lsoa21", "msoa21", "wards", "lad"}
    assert back.district == HARTLEPOOL
    assert back["lsoa21"]["population"].sum() == pytest.approx(geo["lsoa21"]["population"].sum())
    assert back["wards"].attrs["nbhd_geo_vintage"]["service"] == WARDS25
    assert "not in the UK" in back["wards"].attrs["nbhd_geo_vintage"]["why"]
    assert back.notes[0].startswith("vintage 2025")
    assert len(back.lookup) == 57
    info = pyogrio.read_info(path, layer="wards")
    assert info["layer_metadata"]["nbhd_geo_year"] == "2025"
    weights, col = back.population_weights()
    assert col == "population" and weights[col].sum() == back["lsoa21"]["population"].sum()
    specs = back.layer_specs()
    assert [s.name for s in specs] == ["lsoa", "msoa", "ward", "lad"]
    assert specs[0].population == "population" and specs[0].data.index.name == "lsoa_code"
    assert specs[0].data.crs.to_epsg() == 27700
    # The layers feed the overlap engine directly: a drawing made of two LSOAs is
    # matched to exactly those two, whole.
    lsoa = specs[0].data
    two = lsoa.index[:2]
    drawing = gpd.GeoDataFrame({"name": ["A"]}, geometry=[lsoa.loc[two].union_all()],
                               crs=27700, index=pd.Index(["A"], name="area_id"))
    table = ng.crosswalk(drawing, lsoa).table
    whole = table[table["share_of_target"] > 0.999]
    assert sorted(whole["target_id"]) == sorted(two)


def test_read_geography_refuses_mixed_vintages(bundle, tmp_path):
    _, path, _, _ = bundle
    copy = tmp_path / "edited.gpkg"
    copy.write_bytes(path.read_bytes())
    table = pyogrio.read_dataframe(copy, layer="nbhd_geo_vintages", read_geometry=False)
    table.loc[table["layer"] == "wards", "year"] = 2022
    pyogrio.write_dataframe(table, copy, layer="nbhd_geo_vintages", driver="GPKG")
    with pytest.raises(VintageError, match="ward boundaries are of 2022.*2025"):
        read_geography(copy)


def test_read_geography_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_geography(tmp_path / "nope.gpkg")
    plain = tmp_path / "plain.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=gpd.points_from_xy([0], [0]), crs=27700).to_file(plain)
    with pytest.raises(InputError, match="not a geography bundle"):
        read_geography(plain)


# --------------------------------------------------------------------------- cache, offline

def test_cache_reuse_makes_no_second_download(bundle, fake):
    _, _, cache, _ = bundle
    geo = fetch_geography(HARTLEPOOL, options=_o(fake, cache))
    assert fake.requests == []  # every answer and file came from the cache
    assert len(geo["lsoa21"]) == 57
    offline = fetch_geography(HARTLEPOOL, options=_o(fake, cache, offline=True))
    assert fake.requests == []
    assert offline["lsoa21"]["imd_rank"].tolist() == geo["lsoa21"]["imd_rank"].tolist()


def test_offline_env_without_cache_names_url_and_fix(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("NBHD_GEO_OFFLINE", "1")
    monkeypatch.setenv("NBHD_GEO_DATA", str(tmp_path / "env-cache"))
    with pytest.raises(OfflineError) as err:
        fetch_geography(HARTLEPOOL, options=_o(fake, None))
    msg = str(err.value)
    # The listing is not cached, so the pinned registry names the lookup to request.
    assert "LSOA21_WD25_LAD25_EW_LU_v2/FeatureServer/0" in msg and fake.arcgis in msg
    assert "offline mode is on" in msg and "NBHD_GEO_OFFLINE" in msg
    assert fake.requests == []
    with pytest.raises(OfflineError, match="File_7_IoD2025"):
        fetch_static("imd2025", options=FetchOptions(static_base_url=fake.static_url))
    assert fake.requests == []


def test_env_vars_set_base_urls_and_cache(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("NBHD_GEO_DATA", str(tmp_path / "c"))
    monkeypatch.setenv("NBHD_GEO_ARCGIS_URL", fake.arcgis)
    monkeypatch.setenv("NBHD_GEO_STATIC_URL", fake.static_url)
    path = fetch_static("census2021_ts001", options=FetchOptions(progress=False))
    assert path.parent.parent == tmp_path / "c"
    assert fake.count("/static/census2021-ts001.zip") == 1
    svc = ArcGISClient().resolve("lad")
    assert svc.url.startswith(fake.arcgis) and svc.source == "listing"
    pop = data.read_census_population(path)
    assert pop["E01011949"] > 0 and len(pop) > 35_000


# --------------------------------------------------------------------------- discovery

def test_discovery_both_styles_confirmed_by_fields_and_extent(fake, tmp_path):
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    versions, source = client.versions("wards")
    assert source == "listing"
    assert [v.name for v in versions] == [
        "WD_MAY_2026_UK_BGC", "WD_DEC_2025_UK_BGC_V4", "WD_DEC_2025_UK_BGC_V3", WARDS25,
        "WD_MAY_2025_UK_BGC_V2", "WD_MAY_2025_UK_BGC",
        "Wards_December_2024_Boundaries_UK_BGC", "Wards_May_2024_Boundaries_UK_BGC"]
    # BSC, views and unrelated services are not candidates.
    assert client.resolve("wards").name == "WD_MAY_2026_UK_BGC"
    svc = client.resolve("wards", 2025)
    assert svc.name == WARDS25 and svc.field("code") == "wd25cd"  # lower case, as served
    assert client.resolve("lsoa21_ward_lad", 2025).name == LOOKUP25
    assert client.resolve("lad", 2025).name == LAD25
    assert client.resolve("lad", 2024).name == \
        "Local_Authority_Districts_December_2024_Boundaries_UK_BGC"
    with pytest.raises(ServiceNotFoundError, match="no usable wards service of 2023"):
        client.resolve("wards", 2023)
    # May 2025: the _V2 re-issue over the plain one.
    assert client.resolve("wards", 2025, skip=[WARDS25, "WD_DEC_2025_UK_BGC_V3",
                                               "WD_DEC_2025_UK_BGC_V4"]).name == \
        "WD_MAY_2025_UK_BGC_V2"


def test_listing_down_uses_pinned_names_that_exist(fake, tmp_path):
    # Listing down (HTTP 500 on every try): the pinned registry is used and said so; the
    # pinned names are today's real ones and are confirmed like listed ones.
    fake.fault("/arcgis/rest/services", "status", times=3, status=500, retry_after=None,
               when={"f": "json"})
    down = ArcGISClient(fake.arcgis + "/", cache_dir=tmp_path / "other", limits=LIM)
    svc = down.resolve("lsoa21")
    assert svc.source == "pinned" and svc.name == LSOA_SVC
    assert "pinned fallback" in svc.describe()
    assert down.resolve("wards", 2025).name == WARDS25
    assert down.resolve("lsoa21_ward_lad").name == LOOKUP25
    from nbhd_geo.official.registry import PRODUCTS

    for key in ("wards", "lad", "lsoa21_ward_lad", "lsoa21"):  # pinned in both styles
        assert all(PRODUCTS[key].parse(n) for n in PRODUCTS[key].pinned)
    assert "WD_MAY_2025_UK_BGC_V2" in PRODUCTS["wards"].pinned
    assert "Wards_May_2025_Boundaries_UK_BGC" not in PRODUCTS["wards"].pinned  # never existed


def test_empty_listing_and_error_page_are_retried_never_cached(fake, tmp_path):
    """Done-when: default fetch after an empty listing and an error page, no manual flag."""
    fake.fault("/arcgis/rest/services$", "empty_listing")
    fake.fault("/arcgis/rest/services$", "html")
    fake.fault("/arcgis/rest/services$", "error", code=500, message="Internal error")
    out = tmp_path / "h.gpkg"
    res = CliRunner().invoke(fetch_cmd, ["--district", HARTLEPOOL, "--out", str(out),
                                         "--cache-dir", str(tmp_path / "c"), "--base-url",
                                         fake.arcgis, "--static-url", fake.static_url, "-q"])
    assert res.exit_code == 0, res.output
    listing = [r for r in fake.requests if r["path"].rstrip("/") == "/arcgis/rest/services"]
    assert len(listing) == 4  # empty, HTML, ArcGIS error 500, then the real listing
    geo = read_geography(out)
    v = geo.vintages.set_index("layer")
    assert v.at["wards", "service"] == WARDS25 and v.at["lad", "service"] == LAD25
    assert v.at["lookup", "source"] == "listing"
    assert len(geo["lsoa21"]) == 57 and len(geo["wards"]) == 12
    assert geo["lsoa21"]["population"].notna().all() and geo["lsoa21"]["imd_rank"].notna().all()
    # An empty listing is never what the cache holds.
    fake.fault("/arcgis/rest/services$", "empty_listing", times=5)
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path / "c2", limits=LIM)
    assert client.resolve("wards", 2025).source == "pinned"
    assert not list((tmp_path / "c2" / "json").glob("arcgis_rest_services-*.json"))
    fake.faults.clear()
    again = ArcGISClient(fake.arcgis, cache_dir=tmp_path / "c2", limits=LIM)
    assert again.versions("wards")[1] == "listing"  # the next run reads the healthy listing
    assert len(list((tmp_path / "c2" / "json").glob("arcgis_rest_services-*.json"))) == 1


def test_pinned_service_that_moved_is_passed_over_and_said(fake, tmp_path):
    fake.fault("/arcgis/rest/services", "status", times=3, status=503, retry_after="0",
               when={"f": "json"})
    moved = fake.layers.pop(LOOKUP25)
    try:
        geo = fetch_geography(HARTLEPOOL, imd=None, population=None, layers=(),
                              options=_o(fake, tmp_path))
    finally:
        fake.layers[LOOKUP25] = moved
    v = geo.vintages.set_index("layer")
    assert v.at["lookup", "service"] == "LSOA21_WD24_LAD24_EW_LU"
    assert v.at["lookup", "source"] == "pinned"
    assert v.at["wards", "service"] == "Wards_December_2024_Boundaries_UK_BGC"
    assert f"{LOOKUP25}: ArcGIS error 400: Invalid URL" in geo.notes[0]
    assert "passed over 2025" in geo.notes[0]


# --------------------------------------------------------------------------- queries

def test_envelope_query_and_geojson_pages(fake, tmp_path, shared):
    lsoa = pyogrio.read_dataframe(shared("ons", "ew2021", "boundaries_lsoa21.gpkg"),
                                  where="lsoa21_code IN ('E01011949','E01011950')").to_crs(27700)
    box = tuple(lsoa.total_bounds)
    geo = fetch_geography(bbox=box, imd=None, population=None,
                          layers=["msoa21"], options=_o(fake, tmp_path))
    env = [r for r in fake.requests if r["query"].get("geometryType")]
    assert env and all(r["query"]["geometryType"] == "esriGeometryEnvelope"
                       and r["query"]["inSR"] == "27700"
                       and r["query"]["spatialRel"] == "esriSpatialRelIntersects" for r in env)
    every = fake.layers[LSOA_SVC]
    want = {c for c, g in zip(every.frame["LSOA21CD"], every.geoms, strict=True)
            if g.intersects(gpd.GeoSeries.from_xy([box[0]], [box[1]]).iloc[0].envelope.union(
                gpd.GeoSeries.from_xy([box[2]], [box[3]]).iloc[0]).envelope)}
    assert set(geo["lsoa21"]["lsoa_code"]) == want
    assert {"E01011949", "E01011950"} <= want and geo.district is None
    # The same LSOAs through f=geojson (EPSG:4326 pages) give the same areas.
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path, fmt="geojson", page_size=2)
    svc = client.resolve("lsoa21")
    gj = client.query_in(svc, "LSOA21CD", sorted(want)).set_index("LSOA21CD")
    assert gj.crs.to_epsg() == 27700 and len(gj) == len(want)
    js = geo["lsoa21"].set_index("lsoa_code")
    assert (gj.area - js.area[gj.index]).abs().max() < 1e-2
    assert fake.count(f"/arcgis/rest/services/{LSOA_SVC}/FeatureServer/0/query",
                      f="geojson") >= 2


def test_count_mismatch_is_refused(fake, tmp_path):
    fake.fault(f"/arcgis/rest/services/{LSOA_SVC}/", "short_count",
               when={"returnCountOnly": "true"})
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    svc = client.resolve("lsoa21")
    with pytest.raises(CountMismatchError, match="returned 57 features in 3 page.*counts 58"):
        client.query_in(svc, "LSOA21CD", fake.layers[LSOA_SVC].frame["LSOA21CD"][:57])


def test_arcgis_error_bodies(fake, tmp_path):
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    svc = client.resolve("lsoa21_ward_lad")
    with pytest.raises(ServiceError) as err:
        client.query(svc, "NOPE='x'")
    assert "ArcGIS error 400: Unable to complete operation" in str(err.value)
    assert "'where' parameter is invalid" in str(err.value)
    assert "where=NOPE='x'" in str(err.value) and "field names" in str(err.value)
    # Error bodies are not cached: the same request asks the server again.
    n = len(fake.requests)
    with pytest.raises(ServiceError):
        client.query(svc, "NOPE='x'")
    assert len(fake.requests) > n
    with pytest.raises(NbhdGeoError, match="letters, digits"):
        client.query_in(svc, "LSOA21CD", ["x') OR (1=1"])


def test_unknown_district_is_explained(fake, tmp_path):
    with pytest.raises(data.DataError, match="no LSOA of district E06000099.*codes change"):
        fetch_geography("E06000099", options=_o(fake, tmp_path))


# --------------------------------------------------------------------------- vintages

def test_ward_year_without_matching_lookup_is_refused(fake, tmp_path):
    with pytest.raises(VintageError) as err:
        fetch_geography(HARTLEPOOL, ward_year=2022, options=_o(fake, tmp_path))
    msg = str(err.value)
    assert "no LSOA->ward lookup of 2022" in msg and "ward_year=2025" in msg
    assert "crosswalk" in msg


def test_check_vintages_refuses_mixed_layers():
    rows = pd.DataFrame([{"layer": "lookup", "product": "lsoa21_ward_lad", "year": 2024,
                          "service": "LSOA21_WD24_LAD24_EW_LU"},
                         {"layer": "wards", "product": "wards", "year": 2022}])
    with pytest.raises(VintageError, match="ward boundaries are of 2022.*LSOA21_WD24"):
        data.check_vintages(rows)
    imd = pd.DataFrame([{"layer": "lsoa21", "geography": "LSOA21", "year": 2021},
                        {"layer": "imd", "geography": "LSOA11", "vintage": "IoD2019"}])
    with pytest.raises(VintageError, match="convert_lsoa_vintage.*IoD2025"):
        data.check_vintages(imd)


def test_imd2019_on_lsoa21_is_refused(fake, tmp_path, shared):
    imd19 = shared("imd2019", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
    with pytest.raises(VintageError) as err:
        fetch_geography(HARTLEPOOL, imd=imd19, population=None, layers=(),
                        options=_o(fake, tmp_path))
    assert "imd is on LSOA11" in str(err.value)
    assert "convert_lsoa_vintage" in str(err.value)


def test_registrations_lsoa11_refused_then_converted(fake, tmp_path, shared):
    kw = {"registrations": f"{fake.static_url}/gp-reg-pat-prac-lsoa-male-female-Oct-25.zip",
          "membership": f"{fake.static_url}/ePCN.zip", "imd": None, "layers": (),
          "options": _o(fake, tmp_path)}
    with pytest.raises(VintageError) as err:
        fetch_geography(BLACKBURN, **kw)
    assert "registrations is on LSOA11" in str(err.value)
    assert "--convert-registrations" in str(err.value)
    geo = fetch_geography(BLACKBURN, convert_registrations=True, **kw)
    pcn = geo["pcn"]
    assert pcn.crs.to_epsg() == 27700 and len(pcn) >= 3
    assert pcn["pcn_code"].str.match(r"^U\d{5}$").all()
    # Footprints are made of the district's LSOAs: together they tile the LSOA layer
    # (plurality: each LSOA in one footprint) and lie in the district (up to the
    # generalisation slivers between the layers).
    union = pcn.geometry.union_all()
    assert union.area == pytest.approx(geo["lsoa21"].geometry.union_all().area, rel=1e-6)
    assert union.intersection(geo["lad"].geometry.iloc[0]).area / union.area > 0.97
    assert any("LSOA11_LSOA21_LAD22_EW_LU_v5" in n for n in geo.notes)
    v = geo.vintages.set_index("layer")
    assert v.at["registrations", "geography"] == "LSOA21"
    lk = [r for r in fake.requests if "LSOA11_LSOA21_LAD22_EW_LU_v5" in r["path"]
          and "resultOffset" in r["query"]]
    assert lk and all(r["query"]["where"].startswith("LSOA11CD IN (") for r in lk)


# --------------------------------------------------------------------------- downloads

def test_retry_after_on_429_and_503_is_honoured(fake, tmp_path):
    name = "census2021-ts001.zip"
    fake.fault(f"/static/{name}", "status", status=429, retry_after="1")
    fake.fault(f"/static/{name}", "status", status=503, retry_after="0")
    t0 = time.monotonic()
    path = fetch_file(f"{fake.static_url}/{name}", cache_dir=tmp_path, **FAST)
    assert time.monotonic() - t0 >= 1.0  # waited as told, not the 0.01 s backoff
    assert [r["status"] for r in fake.requests] == [429, 503, 200]
    assert path.read_bytes() == fake.static[name]


def test_retries_exhausted_names_url_and_fix(fake, tmp_path):
    url = f"{fake.static_url}/census2021-ts001.zip"
    fake.fault("/static/", "status", times=5, status=503, retry_after="0")
    with pytest.raises(DownloadError) as err:
        fetch_file(url, cache_dir=tmp_path, **FAST)
    assert url in str(err.value) and "after 3 attempts" in str(err.value)
    assert "(HTTP 503)" in str(err.value)
    assert "--offline" in str(err.value)


def test_missing_file_and_refused_connection(fake, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404.*moved or been withdrawn"):
        fetch_file(f"{fake.static_url}/gone.csv", cache_dir=tmp_path, **FAST)
    assert len(fake.requests) == 1  # a 404 is not retried
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"127.0.0.1:{port}/x.csv.*ConnectionError"):
        fetch_file(f"http://127.0.0.1:{port}/x.csv", cache_dir=tmp_path, **FAST)
    with pytest.raises(DownloadError, match="not JSON"):
        ArcGISClient(fake.static_url + "/census2021-ts001.zip", cache_dir=tmp_path,
                     limits=Limits(retries=0)).services()


def test_truncated_download_is_resumed_with_range(fake, tmp_path):
    name = "census2021-ts001.zip"
    fake.fault(f"/static/{name}", "truncate")
    path = fetch_file(f"{fake.static_url}/{name}", cache_dir=tmp_path, **FAST)
    body = fake.static[name]
    assert path.read_bytes() == body
    first, second = fake.requests
    kept = int(second["range"].removeprefix("bytes=").rstrip("-"))
    assert first["range"] is None and 0 < kept <= len(body) // 2  # asked only for the rest
    assert second["status"] == 206
    meta = path.with_name(path.name + ".json").read_text()
    assert hashlib.sha256(body).hexdigest() in meta


def test_truncated_download_restarts_without_range_support(fake, tmp_path):
    fake.range_support = False
    name = "gp-reg-pat-prac-lsoa-all.csv"
    fake.fault(f"/static/{name}", "truncate")
    path = fetch_file(f"{fake.static_url}/{name}", cache_dir=tmp_path, **FAST)
    assert path.read_bytes() == fake.static[name]
    assert [r["status"] for r in fake.requests] == [200, 200]
    assert fake.requests[1]["range"] is not None  # asked, but the server sent it all


def test_always_truncated_fails_clearly(fake, tmp_path):
    url = f"{fake.static_url}/census2021-ts001.zip"
    fake.fault("/static/", "truncate", times=10)
    with pytest.raises(DownloadError, match="download incomplete: the body broke off"):
        fetch_file(url, cache_dir=tmp_path, **FAST)


def test_checksum_pinned_mismatch_and_reuse(fake, tmp_path):
    name = "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
    good = hashlib.sha256(fake.static[name]).hexdigest()
    with pytest.raises(ChecksumError) as err:
        fetch_static("imd2025", options=_o(fake, tmp_path, accept={"imd2025": "0" * 64}))
    assert good in str(err.value) and f"{fake.static_url}/{name}" in str(err.value)
    assert not list((tmp_path / "files").glob("*IoD2025*.csv"))  # nothing bad kept
    path = fetch_static("imd2025", options=_o(fake, tmp_path, accept={"imd2025": good}))
    n = len(fake.requests)
    again = fetch_static("imd2025", options=_o(fake, tmp_path, accept={"imd2025": good},
                                               offline=True))
    assert again == path and len(fake.requests) == n
    # A cached file that no longer matches its recorded digest is downloaded again.
    path.write_bytes(b"tampered")
    fetch_static("imd2025", options=_o(fake, tmp_path))
    assert len(fake.requests) == n + 1 and path.read_bytes() == fake.static[name]
    with pytest.raises(OfflineError, match="is not verified.*run once online"):
        fetch_static("imd2025", options=_o(fake, tmp_path, accept={"imd2025": "1" * 64},
                                           offline=True))


def test_reissued_file_is_noticed_and_accepted_by_digest(fake, tmp_path):
    """No digest known: the first copy is pinned; other bytes later are refused with the fix."""
    name = "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
    first = fetch_static("imd2025", options=_o(fake, tmp_path))
    pins = __import__("json").loads((tmp_path / "pins.json").read_text())
    assert pins["imd2025"]["sha256"] == hashlib.sha256(fake.static[name]).hexdigest()
    # The publisher re-issues the file (same table, other bytes); the cache is cleared.
    for p in (tmp_path / "files").iterdir():
        p.unlink()
    fake.fault(f"/static/{name}", "reissue", times=3)
    with pytest.raises(ChecksumError) as err:
        fetch_static("imd2025", options=_o(fake, tmp_path))
    msg = str(err.value)
    new = hashlib.sha256(fake.static[name].replace(b"\n", b"\r\n")).hexdigest()
    assert "differs from the copy first fetched" in msg and f"--accept imd2025={new}" in msg
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == []  # nothing kept
    path = fetch_static("imd2025", options=_o(fake, tmp_path, accept={"imd2025": new}))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == new and path == first
    # From the command line, the fix as printed works.
    res = CliRunner().invoke(fetch_cmd, ["--dataset", "imd2025", "--static-url",
                                         fake.static_url, "--cache-dir", str(tmp_path),
                                         "--accept", f"imd2025={new}", "-q"])
    assert res.exit_code == 0 and Path(res.output.strip()) == path
    res = CliRunner().invoke(fetch_cmd, ["--dataset", "imd2025", "--accept", "imd2025=xyz"])
    assert res.exit_code == 2 and "not a SHA-256" in res.output


def test_known_versions_refuse_other_bytes(fake, tmp_path):
    from nbhd_geo.official import Known

    name = "census2021-ts001.zip"
    body = fake.static[name]
    ok = Known(hashlib.sha256(body).hexdigest(), len(body), "as published")
    path = fetch_file(f"{fake.static_url}/{name}", known=[ok], cache_dir=tmp_path, **FAST)
    assert path.read_bytes() == body
    wrong = Known("0" * 64, len(body), "another release")
    with pytest.raises(ChecksumError, match="none of the known versions: 000000000000"):
        fetch_file(f"{fake.static_url}/{name}", known=[wrong], cache_dir=tmp_path / "b",
                   **FAST)
    small = Known(hashlib.sha256(body).hexdigest(), 100, "smaller")
    with pytest.raises(DownloadError, match="stopped"):  # more bytes than any known size
        fetch_file(f"{fake.static_url}/{name}", known=[small], cache_dir=tmp_path / "c",
                   **FAST)


def test_static_datasets_without_url_and_unknown():
    with pytest.raises(data.DataError, match="no stable download address.*digital.nhs.uk"):
        fetch_static("gp_registrations")
    with pytest.raises(data.DataError, match="unknown dataset 'nope'"):
        fetch_static("nope")


# --------------------------------------------------------------------------- command line

def test_cli_fetch_writes_bundle(bundle, fake, tmp_path):
    _, _, cache, _ = bundle
    out = tmp_path / "h.gpkg"
    res = CliRunner().invoke(fetch_cmd, ["--district", HARTLEPOOL, "--out", str(out),
                                         "--cache-dir", str(cache), "--base-url", fake.arcgis,
                                         "--static-url", fake.static_url, "-q"])
    assert res.exit_code == 0, res.output
    assert f"{WARDS25} (December 2025; matched)" in res.output
    assert f"{LAD25} (December 2025; matched)" in res.output
    assert "note: vintage 2025: the newest year" in res.output
    assert f"geography written to {out} (lsoa21 57, wards 12, lad 1, msoa21 11)" in res.output
    assert fake.requests == []  # all from the cache
    assert len(read_geography(out)["lsoa21"]) == 57


def test_cli_list_dataset_and_errors(fake, tmp_path):
    runner = CliRunner()
    res = runner.invoke(fetch_cmd, ["--list"])
    assert res.exit_code == 0
    for key in ("wards", "lsoa21", "lsoa21_ward_lad", "imd2025", "census2021_ts001", "epcn"):
        assert f"\n{key} " in "\n" + res.output
    res = runner.invoke(fetch_cmd, ["--dataset", "imd2025", "--static-url", fake.static_url,
                                    "--cache-dir", str(tmp_path), "-q"])
    assert res.exit_code == 0 and Path(res.output.strip()).is_file()
    res = runner.invoke(fetch_cmd, ["--dataset", "wards", "--base-url", fake.arcgis,
                                    "--cache-dir", str(tmp_path), "-q"])
    assert res.exit_code == 0 and "WD_MAY_2026_UK_BGC" in res.output  # newest confirmed
    res = runner.invoke(fetch_cmd, ["--district", HARTLEPOOL, "--out", str(tmp_path / "x.gpkg"),
                                    "--offline", "--cache-dir", str(tmp_path / "empty"),
                                    "--base-url", fake.arcgis, "-q"])
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and "offline mode is on" in res.output
    res = runner.invoke(fetch_cmd, ["--district", HARTLEPOOL])
    assert res.exit_code == 2 and "--out: is required" in res.output


def test_cli_fetch_by_drawings_extent(fake, tmp_path):
    drawings = tmp_path / "drawings.geojson"
    poly = gpd.GeoSeries.from_xy([450500], [532500], crs=27700).buffer(400)
    gpd.GeoDataFrame({"name": ["Headland"]}, geometry=poly).to_crs(4326).to_file(drawings)
    out = tmp_path / "extent.gpkg"
    res = CliRunner().invoke(fetch_cmd, ["--extent", str(drawings), "--out", str(out),
                                         "--imd", "none", "--population", "none", "--no-oa",
                                         "--cache-dir", str(tmp_path / "c"),
                                         "--base-url", fake.arcgis, "-q"])
    assert res.exit_code == 0, res.output
    geo = read_geography(out)
    box = poly.envelope.iloc[0]
    assert len(geo["lsoa21"]) >= 1 and geo["lsoa21"].intersects(box).all()
    assert geo.district is None and set(geo["lad"]["lad_code"]) == {HARTLEPOOL}


# --------------------------------------------------------------------------- more error paths

def test_malformed_service_answers(fake, tmp_path):
    client = ArcGISClient(fake.arcgis, cache_dir=tmp_path)
    svc = client.resolve("lsoa21")
    prefix = f"/arcgis/rest/services/{LSOA_SVC}/"
    fake.fault(prefix, "empty_page", when={"resultOffset": "0"})
    with pytest.raises(ServiceError, match="says there is more, but sent an empty page"):
        client.query(svc, "1=1")
    fake.fault(prefix, "no_count", when={"returnCountOnly": "true"})
    with pytest.raises(ServiceError, match="count answer has no 'count'"):
        client.count(svc, "LSOA21CD='E01011949'")
    fake.fault(prefix, "drop_field", message="LSOA21NM", when={"resultOffset": "0"})
    with pytest.raises(ServiceError, match="has no field LSOA21NM.*layout changed"):
        fetch_geography(bbox=(450000, 532000, 451000, 533000),
                        imd=None, population=None, options=_o(fake, tmp_path / "c"))
    # A base URL that is not a services directory.
    bad = ArcGISClient(f"{fake.arcgis}/{LSOA_SVC}/FeatureServer/0", cache_dir=tmp_path)
    with pytest.raises(ServiceError, match="no 'services' list.*/arcgis/rest/services"):
        bad.services()


def test_argument_errors(fake, tmp_path):
    with pytest.raises(InputError, match="exactly one of district and bbox"):
        fetch_geography(HARTLEPOOL, bbox=(0, 0, 1, 1), options=_o(fake, tmp_path))
    with pytest.raises(InputError, match="need both registrations and membership"):
        fetch_geography(HARTLEPOOL, registrations="x.csv", imd=None, population=None,
                        options=_o(fake, tmp_path))
    with pytest.raises(InputError, match="neither a dataset name, a URL nor an existing file"):
        fetch_geography(HARTLEPOOL, imd="no/such/file.csv", population=None,
                        options=_o(fake, tmp_path))
    bad = tmp_path / "census.csv"
    bad.write_text("code,people\nE01011949,5\n")
    with pytest.raises(NbhdGeoError, match="cannot find the LSOA code and usual residents"):
        data.read_census_population(bad)


def test_retry_after_http_date_and_cap():
    from email.utils import formatdate

    from nbhd_geo.official._http import retry_after

    assert 1.0 <= retry_after(formatdate(time.time() + 3, usegmt=True), 0.1) <= 3.5
    assert retry_after(formatdate(time.time() - 60, usegmt=True), 0.1) == 0.0


def test_report_from_the_fetched_geography(bundle, tmp_path):
    """Two commands: fetch (above, against the local server), then report --geography."""
    import subprocess
    import sys

    geo, gpkg, _, _ = bundle
    lsoa = geo.layers["lsoa21"]
    # Three resident neighbourhoods around LSOA centroids inside Hartlepool, two drawings each.
    pts = lsoa.geometry.representative_point().iloc[[0, 20, 40]].to_numpy()
    rows = []
    for i, p in enumerate(pts):
        for r in (500, 650):
            rows.append({"neighbourhood": f"N{i}", "geometry": p.buffer(r)})
    drawings = gpd.GeoDataFrame(rows, crs=27700)
    path = tmp_path / "drawings.geojson"
    drawings.to_crs(4326).to_file(path)
    out = tmp_path / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "nbhd_geo.cli", "report", str(path), "--geography", str(gpkg),
         "--name-col", "neighbourhood", "--budget", "100000", "--out", str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (out / "index.html").read_text()
    assert "Board summary" in html and "IMD decile" in html
    alloc = pd.read_csv(out / "allocation.csv")
    assert alloc["allocation"].sum() == 100000
    assert set(alloc.iloc[:, 0].astype(str)) == {"N0", "N1", "N2"}
    imd = geo.imd_table() if hasattr(geo, "imd_table") else None
    assert imd is not None and imd.vintage == "IoD2025"


def test_report_without_layers_or_geography_says_how(tmp_path):
    import subprocess
    import sys

    d = tmp_path / "d.geojson"
    gpd.GeoDataFrame({"n": ["a"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=27700).to_file(d)
    proc = subprocess.run([sys.executable, "-m", "nbhd_geo.cli", "report", str(d), "--out",
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--geography" in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- hostile servers

_MEASURE = """
import json, os, resource, sys, time
from nbhd_geo.cli.fetch import fetch_cmd
t0 = time.monotonic()
try:
    fetch_cmd.main(args=sys.argv[1:], prog_name="nbhd-geo fetch", standalone_mode=True)
    code = 0
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(os.environ["MEASURE_OUT"], "w") as fh:
    json.dump({"code": code, "peak_mb": peak, "seconds": time.monotonic() - t0}, fh)
"""
IMD_FILE = "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
HOSTILE_FIGURES: dict[str, dict] = {}


def _measured(args, tmp_path):
    """Run `nbhd-geo fetch ARGS` in a fresh process; exit code, peak RSS (MiB), seconds."""
    import json
    import os
    import subprocess
    import sys

    out = tmp_path / "measure.json"
    env = dict(os.environ, MEASURE_OUT=str(out))
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *args], capture_output=True,
                          text=True, timeout=300, env=env)
    res = json.loads(out.read_text())
    res["stderr"] = proc.stderr + proc.stdout
    return res


def _cache_is_clean(cache: Path) -> None:
    """Nothing unverified: no partial or temporary file; every file has a verified digest;
    no cached JSON is an error, an empty listing or unreadable."""
    import json

    if not cache.exists():
        return
    left = [p.name for p in cache.rglob("*") if p.suffix in (".part", ".tmp")]
    assert not left, left
    for p in (cache / "files").glob("*") if (cache / "files").exists() else []:
        if p.suffix == ".json":
            continue
        meta = json.loads(p.with_name(p.name + ".json").read_text())
        assert meta["verified"] is True
        assert meta["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    for p in (cache / "json").glob("*.json") if (cache / "json").exists() else []:
        body = json.loads(p.read_text())["body"]
        assert not (isinstance(body, dict) and ("error" in body or body.get("services") == []))


HOSTILE = [
    # (case, fault path, kind, times, fetch args, expected exit, expected message)
    ("endless listing", "/arcgis/rest/services$", "endless", 9, "district", 2, "passed 128 MiB"),
    ("gzip listing bomb", "/arcgis/rest/services$", "gzip_bomb", 9, "district", 2,
     "passed 128 MiB"),
    ("always exceededTransferLimit", f"/arcgis/rest/services/{LSOA_SVC}/", "always_exceeded",
     99, "district", 2, "still says there is more after 5 pages"),
    ("JSON nested 200,000 deep", f"/arcgis/rest/services/{LOOKUP25}/FeatureServer/0/query",
     "deep_json", 9, "district", 2, "nested too deeply"),
    ('"features": [1, "x"]', f"/arcgis/rest/services/{LSOA_SVC}/FeatureServer/0/query",
     "bad_features", 9, "district", 2, "feature 0 is int, not an object"),
    ("rings of strings", f"/arcgis/rest/services/{LSOA_SVC}/FeatureServer/0/query",
     "string_rings", 9, "district", 2, "features that cannot be read"),
    ("ArcGIS error 500 in HTTP 200, twice", f"/arcgis/rest/services/{LOOKUP25}/", "error500",
     2, "district", 0, ""),
    ("HTTP 429 on the listing, twice", "/arcgis/rest/services$", "429", 2, "district", 0, ""),
    ("endless IMD body", f"/static/{IMD_FILE}", "endless", 9, "imd2025", 2,
     "passed 64 MiB"),
    ("IMD gzip bomb", f"/static/{IMD_FILE}", "gzip_bomb", 9, "imd2025", 2,
     "passed 64 MiB after decoding"),
    ("census zip bomb (3 GiB)", "/static/census2021-ts001.zip", "zip_bomb", 9,
     "census2021_ts001", 2, "would inflate to 3,072 MiB"),
    ("IMD cut short, no Content-Length", f"/static/{IMD_FILE}", "cut_nolength", 1, "imd2025",
     0, ""),
    ("wrong 206 on resume", f"/static/{IMD_FILE}", "bad206", 2, "imd2025", 0, ""),
    ("HTML error page as the IMD file", f"/static/{IMD_FILE}", "html", 1, "imd2025", 0, ""),
    ("gzip-encoded IMD file", f"/static/{IMD_FILE}", "gzip", 1, "imd2025", 0, ""),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_downloads_end_in_0_or_2_bounded_and_leave_nothing_unverified(
        case, fake, tmp_path):
    name, prefix, kind, times, target, code, message = case
    if kind in ("bad_features", "string_rings", "deep_json"):  # pages, not the count query
        fake.fault(prefix, kind, times=times, when={"resultOffset": "0"})
    elif kind == "error500":
        fake.fault(prefix, "error", times=times, code=500, message="Internal error")
    elif kind == "429":
        fake.fault(prefix, "status", times=times, status=429, retry_after="1")
    else:
        fake.fault(prefix, kind, times=times)
    cache = tmp_path / "cache"
    retries = "3" if kind in ("bad206", "error500", "429") else "1"
    common = ["--cache-dir", str(cache), "--base-url", fake.arcgis, "--static-url",
              fake.static_url, "--retries", retries, "-q"]
    if target == "district":
        args = ["--district", HARTLEPOOL, "--out", str(tmp_path / "h.gpkg"), "--imd", "none",
                "--population", "none", "--no-oa", "--no-msoa", *common]
    else:
        args = ["--dataset", target, *common] + (["--max-mb", "64"] if kind in (
            "endless", "gzip_bomb") else [])
    res = _measured(args, tmp_path)
    HOSTILE_FIGURES[name] = {k: res[k] for k in ("code", "peak_mb", "seconds")}
    print(f"\n{name}: exit {res['code']}, peak {res['peak_mb']:.0f} MiB, "
          f"{res['seconds']:.1f} s")
    assert res["code"] == code, res["stderr"][-1500:]
    assert res["peak_mb"] < 1536, res
    assert "Traceback" not in res["stderr"]
    if message:
        assert message in res["stderr"], res["stderr"][-1500:]
    _cache_is_clean(cache)
    if code == 0 and target == "imd2025":
        cached = [p for p in (cache / "files").iterdir() if p.name.endswith(IMD_FILE)]
        assert len(cached) == 1 and cached[0].read_bytes() == fake.static[IMD_FILE]


# --------------------------------------------------------------------------- completeness, BFC

def test_ward_codes_missing_from_the_newest_service_fall_back_then_refuse(fake, tmp_path):
    dec = fake.layers[WARDS25]
    lk = fake.layers[LOOKUP25].frame
    code = sorted(lk.loc[lk["LAD25CD"] == HARTLEPOOL, "WD25CD"])[0]
    keep = dec.frame["wd25cd"] != code
    full = (dec.frame, dec.geoms)
    dec.frame, dec.geoms = dec.frame[keep].reset_index(drop=True), \
        [g for g, k in zip(dec.geoms, keep, strict=True) if k]
    try:
        geo = fetch_geography(HARTLEPOOL, imd=None, population=None, layers=(),
                              options=_o(fake, tmp_path / "a"))
        v = geo.vintages.set_index("layer")
        # December 2025 lacks a ward of the lookup: May 2025 (V2), the same year, is used.
        assert v.at["wards", "service"] == "WD_MAY_2025_UK_BGC_V2"
        assert code in set(geo["wards"]["ward_code"]) and len(geo["wards"]) == 12
        for name in ("WD_MAY_2025_UK_BGC_V2", "WD_MAY_2025_UK_BGC"):
            lay = fake.layers[name]
            lay.frame = lay.frame[lay.frame["WD25CD"] != code].reset_index(drop=True)
            lay.geoms = lay.geoms[:len(lay.frame)]
        with pytest.raises(VintageError) as err:
            fetch_geography(HARTLEPOOL, imd=None, population=None, layers=(),
                            options=_o(fake, tmp_path / "b"))
        assert "1 wards code(s) of the lookup have no boundary of 2025" in str(err.value)
        assert code in str(err.value) and "ward_year=" in str(err.value)
    finally:
        dec.frame, dec.geoms = full
        fake.layers.clear()
        fake._build(shared_path())


def test_every_lsoa_needs_population_and_imd(fake, tmp_path):
    census = tmp_path / "census.csv"
    pop = pd.DataFrame({"lsoa21_code": fake.layers[LOOKUP25].frame["LSOA21CD"],
                        "usual_residents_total": 1500})
    pop.iloc[3:].to_csv(census, index=False)  # three LSOAs left out
    with pytest.raises(data.DataError) as err:
        fetch_geography(HARTLEPOOL, imd=None, population=str(census), layers=(),
                        options=_o(fake, tmp_path))
    assert "3 LSOA(s) have no census population" in str(err.value)
    assert pop["lsoa21_code"].iloc[0] in str(err.value)
    imd = tmp_path / "imd.csv"
    full = pd.read_csv(__import__("io").BytesIO(fake.static[IMD_FILE]), dtype=str)
    hp = set(fake.layers[LOOKUP25].frame.loc[
        fake.layers[LOOKUP25].frame["LAD25CD"] == HARTLEPOOL, "LSOA21CD"])
    gone = sorted(hp)[0]
    full[full["LSOA code (2021)"] != gone].to_csv(imd, index=False)
    with pytest.raises(NbhdGeoError) as err:
        fetch_geography(HARTLEPOOL, imd=str(imd), population=None, layers=(),
                        options=_o(fake, tmp_path))
    assert "1 of 57 codes are not in the IoD2025 table" in str(err.value)
    assert gone in str(err.value)


def test_full_resolution_boundaries(fake, tmp_path):
    geo = fetch_geography(HARTLEPOOL, resolution="BFC", imd=None, population=None,
                          layers=(), options=_o(fake, tmp_path))
    v = geo.vintages.set_index("layer")
    assert v.at["lsoa21", "service"] == \
        "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BFC_V10"
    assert v.at["wards", "service"] == "WD_DEC_2025_UK_BFC"
    assert v.at["lad", "service"] == "LAD_MAY_2025_UK_BFC_V2"
    assert len(geo["lsoa21"]) == 57 and len(geo["wards"]) == 12
    with pytest.raises(InputError, match="unknown resolution 'XYZ'"):
        fetch_geography(HARTLEPOOL, resolution="XYZ", options=_o(fake, tmp_path))
    res = CliRunner().invoke(fetch_cmd, ["--district", HARTLEPOOL, "--out",
                                         str(tmp_path / "f.gpkg"), "--resolution", "bfc",
                                         "--imd", "none", "--population", "none", "--no-oa",
                                         "--no-msoa", "--cache-dir", str(tmp_path),
                                         "--base-url", fake.arcgis, "-q"])
    assert res.exit_code == 0 and "WD_DEC_2025_UK_BFC" in res.output


def test_offline_refuses_what_is_not_verified(fake, tmp_path):
    url = f"{fake.static_url}/census2021-ts001.zip"
    path = fetch_file(url, cache_dir=tmp_path, **FAST)
    meta = path.with_name(path.name + ".json")
    assert fetch_file(url, cache_dir=tmp_path, offline=True) == path
    meta.unlink()  # a file without its verified record (e.g. copied in by hand)
    with pytest.raises(OfflineError, match="is not verified"):
        fetch_file(url, cache_dir=tmp_path, offline=True)


def test_check_resolves_today_against_the_stand_in(fake, tmp_path):
    res = CliRunner().invoke(fetch_cmd, ["--check", "--base-url", fake.arcgis,
                                         "--static-url", fake.static_url, "--retries", "0",
                                         "-q"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert f"ok   vintage            {LOOKUP25}, {WARDS25}, {LAD25}" in out
    assert "2026: ward boundaries but no LSOA->ward lookup" in out
    assert f"ok   lsoa21             {LSOA_SVC}" in out
    assert "warn oa21" in out  # no OA service here: not required
    assert f"ok   imd2025            {fake.static_url}/{IMD_FILE}" in out
    assert f"HTTP 206, {len(fake.static[IMD_FILE])} bytes" in out
    assert "every required source resolves" in out
    assert all(r["range"] == "bytes=0-1023" for r in fake.requests
               if r["path"].startswith("/static/"))
    # A file that is gone, and the listing down: FAIL, exit 2; pinned names still tried.
    fake.fault("/arcgis/rest/services$", "status", times=9, status=503, retry_after="0")
    fake.fault(f"/static/{IMD_FILE}", "html", times=9)
    res = CliRunner().invoke(fetch_cmd, ["--check", "--base-url", fake.arcgis,
                                         "--static-url", fake.static_url, "--retries", "0",
                                         "-q"])
    assert res.exit_code == 2
    assert "warn listing" in res.output and "pinned service names are tried" in res.output
    assert f"ok   vintage            {LOOKUP25}" in res.output
    assert "FAIL imd2025" in res.output and "an HTML page, not the file" in res.output
    assert "error: --check: 1 required source(s) do not resolve today (ids: 'imd2025')" in \
        res.output


def test_every_fetch_option_is_documented():
    page = (Path(__file__).resolve().parents[1] / "docs" / "how-to" / "fetch.md").read_text()
    opts = [o for p in fetch_cmd.params for o in getattr(p, "opts", [])
            if o.startswith("--") and o not in ("--help", "--verbose", "--quiet")]
    missing = [o for o in opts if f"`{o}" not in page]
    assert not missing, f"fetch options not documented: {missing}"
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "nbhd-geo fetch --check" in readme and "WD_MAY_2025_UK_BGC_V2" in readme


def test_a_trickling_body_stops_at_max_seconds(fake, tmp_path):
    fake.fault(f"/static/{IMD_FILE}", "slow", times=3)
    t0 = time.monotonic()
    with pytest.raises(data.LimitError, match="longer than max_seconds"):
        fetch_static("imd2025", options=_o(fake, tmp_path, limits=Limits(
            retries=2, backoff=0.01, max_seconds=1.0)))
    assert time.monotonic() - t0 < 5
    _cache_is_clean(tmp_path)


def test_static_file_tries_its_second_address_when_the_first_is_gone(fake, tmp_path,
                                                                    monkeypatch):
    from nbhd_geo.official.registry import STATIC, StaticFile

    item = STATIC["imd2025"]
    moved = StaticFile("imd2025", item.title, f"{fake.static_url}/gone/{IMD_FILE}", IMD_FILE,
                       item.vintage, item.geography, item.landing, item.publisher,
                       item.attribution, alternates=(f"{fake.static_url}/{IMD_FILE}",))
    monkeypatch.setitem(STATIC, "imd2025", moved)
    path = fetch_static("imd2025", options=FetchOptions(cache_dir=tmp_path, progress=False,
                                                        limits=LIM))
    assert path.read_bytes() == fake.static[IMD_FILE]
    assert [r["status"] for r in fake.requests] == [404, 200]
