"""A real HTTP server on 127.0.0.1 imitating the ONS ArcGIS REST services and publishers.

Built from ../shared/data (never copied into the repository):

* ``/arcgis/rest/services?f=json`` — a services directory listing today's real names in
  both of ONS's styles and both year sets: lookups ``LSOA21_WD24_LAD24_EW_LU``,
  ``LSOA21_WD25_LAD25_EW_LU`` and ``..._v2``; wards ``Wards_May_2024_Boundaries_UK_BGC``,
  ``Wards_December_2024_Boundaries_UK_BGC``, ``WD_MAY_2025_UK_BGC`` and ``_V2``,
  ``WD_DEC_2025_UK_BGC`` (lower-case fields ``wd25cd``), ``WD_MAY_2026_UK_BGC`` (no
  2026 lookup yet); districts ``Local_Authority_Districts_December_2024_Boundaries_UK_BGC``,
  ``LAD_MAY_2025_UK_BGC_V2``, ``LAD_DEC_2025_UK_BGC`` (lower case); and decoys: a
  newer-looking ``WD_DEC_2025_UK_BGC_V3`` with 2024 fields, ``WD_DEC_2025_UK_BGC_V4``
  whose extent is in New York, a BSC variant and unrelated services;
* ``/arcgis/rest/services/<name>/FeatureServer/0?f=json`` — layer descriptions;
* ``.../FeatureServer/0/query`` — Esri JSON (``f=json``) or GeoJSON (``f=geojson``) pages
  honouring ``where`` (``1=1``, ``F='x'``, ``F IN (...)``), an envelope ``geometry``
  (``inSR=27700``, intersects), ``outSR`` (27700 or 4326), ``orderByFields``,
  ``resultOffset``/``resultRecordCount`` (capped by a small ``maxRecordCount`` so that
  results page) with ``exceededTransferLimit``, and ``returnCountOnly``; failures as
  ArcGIS error bodies ``{"error": {"code", "message", "details"}}`` with HTTP 200;
* ``/static/<file>`` — published files in their real layouts (IoD2025 File 7 headers,
  the Nomis TS001 bulk zip, NHS registrations, the ODS ePCN workbook), with ``Range``
  support (206) unless turned off.

Faults are queued per path prefix (``server.fault(prefix, kind, ...)``): HTTP 429/503
with ``Retry-After``, a truncated body, an ArcGIS error body (``code=500`` for a
transient one), a wrong page count, and hostile answers: an empty listing, an HTML
error page, an endless body, a gzip bomb, a zip bomb, a body cut short without
``Content-Length``, a wrong 206, JSON nested 200,000 deep, features that are not
objects, rings of strings, a server always saying ``exceededTransferLimit``, a
correctly gzip-encoded file, and re-issued bytes.
Every request is logged in ``server.requests`` so tests can count downloads.

The ward layers of 2024 and 2025 reuse the 2022 ward polygons relabelled (the codes of
the districts used here did not change); the test data has no Output Areas 2021, so no
OA service is published. MSOAs are served for the districts and their neighbours.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import mapping
from shapely.geometry.polygon import orient

# Districts served (Hartlepool: small; Blackburn with Darwen: Pennine Lancashire PCNs).
DISTRICTS = ("E06000001", "E06000008")
PAGE = 25  # maxRecordCount: small, so that a district needs several pages


@dataclass
class Layer:
    name: str
    frame: pd.DataFrame  # attributes, first column the object id "FID"
    geoms: list[Any] | None  # shapely in EPSG:27700, or None for tables
    max_records: int = PAGE
    extent: dict[str, Any] | None = None

    def info(self) -> dict[str, Any]:
        def ftype(c: str) -> str:
            if c == "FID":
                return "esriFieldTypeOID"
            return ("esriFieldTypeDouble" if pd.api.types.is_float_dtype(self.frame[c])
                    else "esriFieldTypeString")
        extent = self.extent
        if extent is None and self.geoms:
            x0, y0, x1, y1 = shapely.GeometryCollection(self.geoms).bounds
            extent = {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1,
                      "spatialReference": {"wkid": 27700, "latestWkid": 27700}}
        return {
            "currentVersion": 11.3, "id": 0, "name": self.name,
            **({"extent": extent} if extent else {}),
            "type": "Feature Layer" if self.geoms is not None else "Table",
            "geometryType": "esriGeometryPolygon" if self.geoms is not None else None,
            "objectIdField": "FID", "maxRecordCount": self.max_records,
            "advancedQueryCapabilities": {"supportsPagination": True},
            "fields": [{"name": c, "type": ftype(c), "alias": c} for c in self.frame.columns],
        }


@dataclass
class Fault:
    kind: str  # status, truncate, error, short_count, no_count, empty_page, drop_field
    status: int = 503
    retry_after: str | None = "1"
    message: str = ""
    when: dict[str, str] | None = None  # only requests whose query has these values
    code: int = 400


def _esri(geom: Any) -> dict[str, Any]:
    rings = []
    for poly in getattr(geom, "geoms", [geom]):
        poly = orient(poly, sign=-1.0)  # Esri: outer rings clockwise, holes anticlockwise
        rings.append([list(c) for c in poly.exterior.coords])
        rings.extend([list(c) for c in r.coords] for r in poly.interiors)
    return {"rings": rings}


def _to_4326(geoms: list[Any]) -> list[Any]:
    return list(gpd.GeoSeries(geoms, crs=27700).to_crs(4326))


def _error(code: int, message: str, details: list[str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


_IN = re.compile(r"^\s*(\w+)\s+IN\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_EQ = re.compile(r"^\s*(\w+)\s*=\s*'([^']*)'\s*$")


def _where(frame: pd.DataFrame, where: str) -> pd.Series | None:
    where = where.strip()
    if where in ("1=1", ""):
        return pd.Series(True, index=frame.index)
    if where == "1=0":
        return pd.Series(False, index=frame.index)
    m = _EQ.match(where)
    if m:
        col, vals = m.group(1), [m.group(2)]
    else:
        m = _IN.match(where)
        if not m:
            return None
        col = m.group(1)
        vals = [v.strip().strip("'") for v in m.group(2).split(",")]
    cols = {c.upper(): c for c in frame.columns}
    if col.upper() not in cols:
        return None
    return frame[cols[col.upper()]].astype(str).isin(vals)


class FakeServer:
    """The server; start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(self, shared: Path) -> None:
        self.layers: dict[str, Layer] = {}
        self.static: dict[str, bytes] = {}
        self.requests: list[dict[str, Any]] = []
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.range_support = True
        self.extra_services: list[str] = []
        self._lock = threading.Lock()
        self._build(shared)
        self.httpd: ThreadingHTTPServer | None = None

    # ----------------------------------------------------------------- data
    def _build(self, shared: Path) -> None:
        ons = shared / "ons" / "ew2021"
        lk = pd.read_csv(ons / "lookup_lsoa21_ward24_ltla24.csv", dtype=str)
        lk = lk[lk["ltla24_code"].isin(DISTRICTS)].reset_index(drop=True)
        lsoa_codes = ",".join(f"'{c}'" for c in lk["lsoa21_code"])
        ward_codes = ",".join(f"'{c}'" for c in lk["ward24_code"].unique())
        lad_codes = ",".join(f"'{c}'" for c in DISTRICTS)

        def read(name: str, where: str) -> gpd.GeoDataFrame:
            g = pyogrio.read_dataframe(ons / f"{name}.gpkg", where=where).to_crs(27700)
            return g.reset_index(drop=True)

        lsoa = read("boundaries_lsoa21", f"lsoa21_code IN ({lsoa_codes})")
        wards = read("boundaries_wards22", f"ward22_code IN ({ward_codes})")
        lad = read("boundaries_ltla24", f"ltla24_code IN ({lad_codes})")
        # MSOAs of the districts and of their neighbours (so that an envelope query
        # returns units that must then be left out).
        msoa = pyogrio.read_dataframe(ons / "boundaries_msoa21.gpkg").to_crs(27700)
        near = lad.geometry.union_all().buffer(3000)
        msoa = msoa[msoa.intersects(near)].reset_index(drop=True)

        def polygons(name: str, g: gpd.GeoDataFrame, cols: dict[str, str]) -> None:
            frame = pd.DataFrame({"FID": range(1, len(g) + 1)})
            for new, old in cols.items():
                frame[new] = g[old].astype(str).to_numpy()
            c = g.geometry.centroid
            frame["BNG_E"], frame["BNG_N"] = c.x.round().to_numpy(), c.y.round().to_numpy()
            self.layers[name] = Layer(name, frame, list(g.geometry))

        polygons("Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V5", lsoa,
                 {"LSOA21CD": "lsoa21_code", "LSOA21NM": "lsoa21_name"})
        # Today's real names, both styles; the ward polygons of 2022 relabelled.
        for name, yy, case in (("Wards_May_2024_Boundaries_UK_BGC", "24", str.upper),
                               ("Wards_December_2024_Boundaries_UK_BGC", "24", str.upper),
                               ("WD_MAY_2025_UK_BGC", "25", str.upper),
                               ("WD_MAY_2025_UK_BGC_V2", "25", str.upper),
                               ("WD_DEC_2025_UK_BGC", "25", str.lower),
                               ("WD_MAY_2026_UK_BGC", "26", str.upper),
                               ("WD_DEC_2025_UK_BGC_V3", "24", str.upper),  # decoy: fields
                               ("WD_DEC_2025_UK_BGC_V4", "25", str.upper)):  # decoy: extent
            polygons(name, wards, {case(f"WD{yy}CD"): "ward22_code",
                                   case(f"WD{yy}NM"): "ward22_name"})
        self.layers["WD_DEC_2025_UK_BGC_V4"].extent = {
            "xmin": -8_300_000, "ymin": 4_950_000, "xmax": -8_200_000, "ymax": 5_000_000,
            "spatialReference": {"wkid": 102100, "latestWkid": 3857}}
        # Full resolution (BFC): the same polygons under the real BFC names.
        polygons("Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BFC_V10", lsoa,
                 {"LSOA21CD": "lsoa21_code", "LSOA21NM": "lsoa21_name"})
        polygons("WD_DEC_2025_UK_BFC", wards, {"WD25CD": "ward22_code", "WD25NM": "ward22_name"})
        polygons("LAD_MAY_2025_UK_BFC_V2", lad, {"LAD25CD": "ltla24_code",
                                                 "LAD25NM": "ltla24_name"})
        polygons("Middle_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V3", msoa,
                 {"MSOA21CD": "msoa21_code", "MSOA21NM": "msoa21_name"})
        for name, yy, case in (
                ("Local_Authority_Districts_December_2024_Boundaries_UK_BGC", "24", str.upper),
                ("LAD_MAY_2025_UK_BGC_V2", "25", str.upper),
                ("LAD_DEC_2025_UK_BGC", "25", str.lower)):
            polygons(name, lad, {case(f"LAD{yy}CD"): "ltla24_code",
                                 case(f"LAD{yy}NM"): "ltla24_name"})
        for name, yy in (("LSOA21_WD24_LAD24_EW_LU", "24"), ("LSOA21_WD25_LAD25_EW_LU", "25"),
                         ("LSOA21_WD25_LAD25_EW_LU_v2", "25")):
            table = pd.DataFrame({"FID": range(1, len(lk) + 1), "LSOA21CD": lk["lsoa21_code"],
                                  "LSOA21NM": lk["lsoa21_name"],
                                  f"WD{yy}CD": lk["ward24_code"],
                                  f"WD{yy}NM": lk["ward24_name"],
                                  f"LAD{yy}CD": lk["ltla24_code"],
                                  f"LAD{yy}NM": lk["ltla24_name"]})
            self.layers[name] = Layer(name, table, None, max_records=1000)
        l11 = pd.read_csv(ons / "lookup_lsoa11_lsoa21_ltla22.csv", dtype=str)
        l11 = pd.DataFrame({"FID": range(1, len(l11) + 1), "LSOA11CD": l11["lsoa11_code"],
                            "LSOA11NM": l11["lsoa11_name"], "LSOA21CD": l11["lsoa21_code"],
                            "LSOA21NM": l11["lsoa21_name"], "CHGIND": l11["change_code"],
                            "LAD22CD": l11["ltla22_code"]})
        self.layers["LSOA11_LSOA21_LAD22_EW_LU_v5"] = Layer("LSOA11_LSOA21_LAD22_EW_LU_v5",
                                                            l11, None, max_records=2000)
        self.extra_services = ["WD_DEC_2025_UK_BSC", "Wards_May_2025_Boundaries_UK_BSC",
                               "WD_MAY_2025_UK_BGC_V2_view_centroids",
                               "Counties_and_Unitary_Authorities_December_2024_Boundaries_UK_BGC",
                               "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BGC_V4"]
        self._build_static(shared)

    def _build_static(self, shared: Path) -> None:
        imd = pd.read_csv(shared / "imd2025" / "imd2025_england_lsoa21.csv", dtype=str)
        census = pd.read_csv(shared / "imd2025" / "census2021_usual_residents_lsoa21.csv",
                             dtype=str)
        names = census.set_index("lsoa21_code")["lsoa21_name"]
        labels = {"IMD": "Index of Multiple Deprivation (IMD)", "Income": "Income",
                  "Employment": "Employment", "Education": "Education, Skills and Training",
                  "Health": "Health Deprivation and Disability", "Crime": "Crime",
                  "Housing_and_Services": "Barriers to Housing and Services",
                  "Environment": "Living Environment"}
        f7 = pd.DataFrame({"LSOA code (2021)": imd["lsoa21_code"],
                           "LSOA name (2021)": imd["lsoa21_code"].map(names)})
        for prefix, label in labels.items():
            score = f"{label} Score" + (" (rate)" if prefix in ("Income", "Employment") else "")
            f7[score] = imd[f"{prefix}_score"]
            f7[f"{label} Rank (where 1 is most deprived)"] = imd[f"{prefix}_rank"].str.replace(
                ".0", "", regex=False)
            f7[f"{label} Decile (where 1 is most deprived 10% of LSOAs)"] = imd[
                f"{prefix}_decile"].str.replace(".0", "", regex=False)
        self.static["File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"] = (
            f7.to_csv(index=False).encode())
        ts001 = pd.DataFrame({"date": "2021", "geography": census["lsoa21_name"],
                              "geography code": census["lsoa21_code"],
                              "Residence type: Total; measures: Value":
                                  census["usual_residents_total"].str.replace(".0", "",
                                                                              regex=False)})
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("census2021-ts001-lsoa.csv", ts001.to_csv(index=False))
            zf.writestr("census2021-ts001-ltla.csv", "date,geography,geography code\n")
        self.static["census2021-ts001.zip"] = buf.getvalue()
        regs = pd.read_csv(shared / "nhs" / "pennine-lancs" / "lsoapops.csv", dtype=str)
        regs = regs.loc[:, [c for c in regs.columns if not c.startswith("Unnamed")]]
        self.static["gp-reg-pat-prac-lsoa-all.csv"] = regs.to_csv(index=False).encode()
        self.static["ePCN.xlsx"] = (shared / "nhs" / "ods-2020" / "ePCN_2020-04.xlsx").read_bytes()
        # As published: registrations in a zip of three CSVs, ePCN.xlsx in a zip.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            all_ = regs.to_csv(index=False)
            zf.writestr("gp-reg-pat-prac-lsoa-female.csv", all_.replace(",ALL,", ",FEMALE,"))
            zf.writestr("gp-reg-pat-prac-lsoa-all.csv", all_)
            zf.writestr("gp-reg-pat-prac-lsoa-male.csv", all_.replace(",ALL,", ",MALE,"))
        self.static["gp-reg-pat-prac-lsoa-male-female-Oct-25.zip"] = buf.getvalue()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("ePCN.xlsx Specification.txt", "specification")
            zf.writestr("ePCN.xlsx", self.static["ePCN.xlsx"])
        self.static["ePCN.zip"] = buf.getvalue()

    # ----------------------------------------------------------------- control
    def fault(self, prefix: str, kind: str, times: int = 1, **kw: Any) -> None:
        """Queue ``times`` faults for requests whose path starts with ``prefix``."""
        with self._lock:
            self.faults[prefix].extend(Fault(kind, **kw) for _ in range(times))

    def _take_fault(self, path: str, query: dict[str, str]) -> Fault | None:
        with self._lock:
            for prefix, queue in self.faults.items():
                exact = prefix.endswith("$")  # "...$": this path only, not those under it
                if not queue or (path.rstrip("/") != prefix[:-1] if exact
                                 else not path.startswith(prefix)):
                    continue
                when = queue[0].when or {}
                if all(query.get(k) == v for k, v in when.items()):
                    return queue.pop(0)
        return None

    def count(self, prefix: str = "", **query: str) -> int:
        """Requests whose path starts with ``prefix`` (and whose query has these values)."""
        return sum(1 for r in self.requests if r["path"].startswith(prefix)
                   and all(r["query"].get(k) == v for k, v in query.items()))

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def arcgis(self) -> str:
        return f"{self.url}/arcgis/rest/services"

    @property
    def static_url(self) -> str:
        return f"{self.url}/static"

    def start(self) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A client that stops reading a hostile body resets the connection: expected.
        self.httpd.handle_error = lambda *args: None  # type: ignore[method-assign]
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    # ----------------------------------------------------------------- handling
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes,
              ctype: str = "application/json", headers: dict[str, str] | None = None,
              truncate: bool = False) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if truncate:
            h.send_header("Connection", "close")
        h.end_headers()
        if truncate:
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        h.wfile.write(body)

    def _json(self, h: BaseHTTPRequestHandler, obj: Any, status: int = 200) -> None:
        self._send(h, status, json.dumps(obj).encode(), "application/json; charset=utf-8")

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        rng = h.headers.get("Range")
        fault = self._take_fault(path, query)
        record = {"path": path, "query": query, "range": rng, "status": 200}
        with self._lock:
            self.requests.append(record)
        if fault is not None and fault.kind == "status":
            record["status"] = fault.status
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send(h, fault.status, b'{"error": "busy"}', headers=headers)
            return
        if fault is not None and fault.kind == "error":
            self._json(h, _error(fault.code, fault.message or "Unable to complete operation.",
                                 ["'where' parameter is invalid"]))
            return
        if fault is not None and fault.kind in HOSTILE:
            try:
                HOSTILE[fault.kind](self, h, path, query)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                h.close_connection = True
            return
        if path.startswith("/static/"):
            self._static(h, path[len("/static/"):], rng, fault, record)
            return
        base = "/arcgis/rest/services"
        if path.rstrip("/") == base:
            names = sorted([*self.layers, *self.extra_services])
            self._json(h, {"currentVersion": 11.3, "folders": [], "services": [
                {"name": n, "type": "FeatureServer",
                 "url": f"{self.arcgis}/{n}/FeatureServer"} for n in names]})
            return
        m = re.fullmatch(rf"{base}/([^/]+)/FeatureServer/0(/query)?/?", path)
        if not m or m.group(1) not in self.layers:
            self._json(h, _error(400, "Invalid URL", ["Invalid URL"]))
            return
        layer = self.layers[m.group(1)]
        if not m.group(2):
            self._json(h, layer.info())
            return
        self._query(h, layer, query, fault)

    def _static(self, h: BaseHTTPRequestHandler, name: str, rng: str | None,
                fault: Fault | None, record: dict[str, Any]) -> None:
        body = self.static.get(name)
        if body is None:
            record["status"] = 404
            self._send(h, 404, b"Not Found", "text/plain")
            return
        ctype = "application/octet-stream"
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if m and self.range_support and m.group(2):  # a first slice, e.g. bytes=0-1023
            start, end = int(m.group(1)), min(int(m.group(2)), len(body) - 1)
            record["status"] = 206
            self._send(h, 206, body[start:end + 1], ctype,
                       {"Content-Range": f"bytes {start}-{end}/{len(body)}"})
            return
        if m and self.range_support:
            start = int(m.group(1))
            if start >= len(body):
                record["status"] = 416
                self._send(h, 416, b"", ctype, {"Content-Range": f"bytes */{len(body)}"})
                return
            record["status"] = 206
            if fault is not None and fault.kind == "bad206":  # claims the rest, sends it all
                self._send(h, 206, body, ctype,
                           {"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"})
                return
            self._send(h, 206, body[start:], ctype,
                       {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}",
                        "Accept-Ranges": "bytes"},
                       truncate=fault is not None and fault.kind == "truncate")
            return
        kind = fault.kind if fault is not None else ""
        if kind == "gzip":  # correctly encoded: Content-Length counts the gzip bytes
            self._send(h, 200, gzip.compress(body), ctype, {"Content-Encoding": "gzip"})
            return
        if kind == "reissue":  # the same table, other bytes (CRLF line ends)
            self._send(h, 200, body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), ctype)
            return
        if kind == "cut_nolength":  # half the body, no Content-Length, then close
            h.send_response(200)
            h.send_header("Content-Type", ctype)
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(body[: len(body) // 2 + 7])
            h.wfile.flush()
            h.close_connection = True
            return
        if kind == "bad206" and m is None:  # truncated first, so that a Range follows
            self._send(h, 200, body, ctype, {"Accept-Ranges": "bytes"}, truncate=True)
            return
        self._send(h, 200, body, ctype,
                   {"Accept-Ranges": "bytes"} if self.range_support else None,
                   truncate=kind == "truncate")

    def _query(self, h: BaseHTTPRequestHandler, layer: Layer, q: dict[str, str],
               fault: Fault | None) -> None:
        frame = layer.frame
        keep = _where(frame, q.get("where", "1=1"))
        if keep is None:
            self._json(h, _error(400, "Unable to complete operation.",
                                 ["'where' parameter is invalid"]))
            return
        if q.get("geometry") and layer.geoms is not None:
            if q.get("geometryType", "esriGeometryEnvelope") != "esriGeometryEnvelope" or \
                    q.get("inSR", "27700") != "27700":
                self._json(h, _error(400, "Unable to complete operation.",
                                     ["only envelopes in 27700 are served here"]))
                return
            box = shapely.box(*map(float, q["geometry"].split(",")))
            keep &= pd.Series([g.intersects(box) for g in layer.geoms], index=frame.index)
        idx = list(frame.index[keep.to_numpy()])
        kind = fault.kind if fault is not None else ""
        if q.get("returnCountOnly", "false").lower() == "true":
            n = len(idx) + (1 if kind == "short_count" else 0)
            self._json(h, {"counts": n} if kind == "no_count" else {"count": n})
            return
        if kind == "empty_page":
            self._json(h, {"features": [], "exceededTransferLimit": True,
                           "spatialReference": {"wkid": 27700}})
            return
        order = q.get("orderByFields")
        if order and order.split()[0] in frame.columns:
            idx = sorted(idx, key=lambda i: frame.at[i, order.split()[0]])
        offset = int(q.get("resultOffset", 0))
        size = min(int(q.get("resultRecordCount", layer.max_records)), layer.max_records)
        page = idx[offset: offset + size] if kind != "always_exceeded" else idx[:size]
        exceeded = offset + len(page) < len(idx)
        fields = q.get("outFields", "*")
        cols = list(frame.columns) if fields == "*" else [c for c in fields.split(",")
                                                          if c in frame.columns]
        if kind == "drop_field":
            cols = [c for c in cols if c != fault.message]  # type: ignore[union-attr]
        attrs = frame.loc[page, cols].to_dict("records")
        geo = layer.geoms is not None and q.get("returnGeometry", "true") == "true"
        fmt = q.get("f", "html")
        if kind == "always_exceeded":
            exceeded = True
        if fmt == "geojson":
            geoms = _to_4326([layer.geoms[i] for i in page]) if geo else [None] * len(page)
            body: dict[str, Any] = {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "id": a.get("FID"), "properties": a,
                              "geometry": mapping(g) if g is not None else None}
                             for a, g in zip(attrs, geoms, strict=True)]}
            if exceeded:
                body["properties"] = {"exceededTransferLimit": True}
            self._json(h, body)
            return
        if fmt not in ("json", "pjson"):
            self._json(h, _error(400, "Invalid or missing input parameters.",
                                 [f"unsupported format {fmt!r}"]))
            return
        out_sr = q.get("outSR", "27700")
        geoms = [layer.geoms[i] for i in page] if geo else []
        if geo and out_sr == "4326":
            geoms = _to_4326(geoms)
        elif geo and out_sr != "27700":
            self._json(h, _error(400, "Invalid or missing input parameters.",
                                 [f"outSR {out_sr} not served here"]))
            return
        feats = [{"attributes": a} | ({"geometry": _esri(g)} if geo else {})
                 for a, g in zip(attrs, geoms or [None] * len(attrs), strict=True)]
        body = {"objectIdFieldName": "FID", "globalIdFieldName": "",
                "geometryType": "esriGeometryPolygon" if geo else None,
                "spatialReference": {"wkid": int(out_sr), "latestWkid": int(out_sr)},
                "fields": [{"name": c, "alias": c} for c in cols],
                "features": feats}
        if exceeded:
            body["exceededTransferLimit"] = True
        self._json(h, body)


# --------------------------------------------------------------------------- hostile answers

_ZEROS = 64 << 20


def _stream_head(h: BaseHTTPRequestHandler, ctype: str,
                 headers: dict[str, str] | None = None) -> None:
    h.send_response(200)
    h.send_header("Content-Type", ctype)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True


def _html(srv: FakeServer, h: BaseHTTPRequestHandler, path: str, q: dict[str, str]) -> None:
    srv._send(h, 200, b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>"
              b"<body><h1>Sorry, we are busy</h1></body></html>\n", "text/html")


def _empty_listing(srv: FakeServer, h: BaseHTTPRequestHandler, path: str,
                   q: dict[str, str]) -> None:
    srv._json(h, {"currentVersion": 11.3, "folders": [], "services": []})


def _endless(srv: FakeServer, h: BaseHTTPRequestHandler, path: str, q: dict[str, str]) -> None:
    """A body that never ends (no Content-Length): JSON for services, CSV rows for files."""
    if path.startswith("/static/"):
        _stream_head(h, "text/csv")
        h.wfile.write(b"LSOA code (2021),LSOA name (2021),Index of Multiple Deprivation\n")
        row = b"E01000001,City of London 001A,1\n" * 2048
    else:
        _stream_head(h, "application/json")
        h.wfile.write(b'{"services": [')
        row = b'{"name": "WD_MAY_2025_UK_BGC_V2", "type": "FeatureServer"},' * 1024
    while True:
        h.wfile.write(row)


def _gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


_BOMB_CACHE: dict[str, bytes] = {}


def gzip_bomb(prefix: bytes, fill: bytes, total: int) -> bytes:
    """Multi-member gzip: ``prefix`` then ``fill`` repeated to ``total`` bytes inflated."""
    key = f"{prefix[:20]!r}{fill[:1]!r}{total}"
    if key not in _BOMB_CACHE:
        member = _gzip_member(fill * (_ZEROS // len(fill)))
        _BOMB_CACHE[key] = _gzip_member(prefix) + member * (total // _ZEROS)
    return _BOMB_CACHE[key]


def zip_bomb(name: str, total: int) -> bytes:
    """A zip whose one member (correctly described) inflates to ``total`` zero bytes."""
    import struct

    key = f"zip{name}{total}"
    if key in _BOMB_CACHE:
        return _BOMB_CACHE[key]
    chunk = bytes(_ZEROS)
    n = total // _ZEROS
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    data = first + again * (n - 1) + comp.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(n):
        crc = zlib.crc32(chunk, crc)
    size = n * _ZEROS
    raw = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size,
                        len(raw), 0) + raw
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc,
                          len(data), size, len(raw), 0, 0, 0, 0, 0, 0) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central),
                      len(local) + len(data), 0)
    _BOMB_CACHE[key] = local + data + central + end
    return _BOMB_CACHE[key]


def _gzip_bomb(srv: FakeServer, h: BaseHTTPRequestHandler, path: str,
               q: dict[str, str]) -> None:
    """Correctly gzip-encoded (Content-Length right) but inflating to 3 GiB."""
    if path.startswith("/static/"):
        body = gzip_bomb(b"LSOA code (2021),x\n", b"0", 3 << 30)
    else:
        body = gzip_bomb(b'{"services": [', b" ", 3 << 30)
    srv._send(h, 200, body, "application/octet-stream", {"Content-Encoding": "gzip"})


def _zip_bomb(srv: FakeServer, h: BaseHTTPRequestHandler, path: str,
              q: dict[str, str]) -> None:
    srv._send(h, 200, zip_bomb("census2021-ts001-lsoa.csv", 3 << 30), "application/zip")


def _deep_json(srv: FakeServer, h: BaseHTTPRequestHandler, path: str,
               q: dict[str, str]) -> None:
    srv._send(h, 200, b'{"features": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")


def _bad_features(srv: FakeServer, h: BaseHTTPRequestHandler, path: str,
                  q: dict[str, str]) -> None:
    srv._json(h, {"features": [1, "x"], "spatialReference": {"wkid": 27700}})


def _string_rings(srv: FakeServer, h: BaseHTTPRequestHandler, path: str,
                  q: dict[str, str]) -> None:
    srv._json(h, {"spatialReference": {"wkid": 27700}, "features": [
        {"attributes": {"FID": 1, "LSOA21CD": "E01011949"},
         "geometry": {"rings": ["abc", "def"]}}]})


def _slow(srv: FakeServer, h: BaseHTTPRequestHandler, path: str, q: dict[str, str]) -> None:
    """A body that trickles: one row every 50 ms, for ever."""
    import time

    _stream_head(h, "text/csv")
    h.wfile.write(b"LSOA code (2021),x\n")
    while True:
        h.wfile.write(b"E01000001,1\n")
        h.wfile.flush()
        time.sleep(0.05)


HOSTILE = {"slow": _slow, "html": _html, "empty_listing": _empty_listing, "endless": _endless,
           "gzip_bomb": _gzip_bomb, "zip_bomb": _zip_bomb, "deep_json": _deep_json,
           "bad_features": _bad_features, "string_rings": _string_rings}
