"""The page's interactive map: the neighbourhoods, the statutory layers, the sections' shading.

Layers are GeoJSON in the page (so it works offline), drawn by the Leaflet script of
``templates/planner.html.j2``; :func:`map_html` renders the map's section.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from nbhd_geo.report.facts.page import (
    PlannerPage,
    is_fine,
    main_layer,
)
from nbhd_geo.report.facts.wording import (
    pct_text,
)
from nbhd_geo.report.maps.webmap import geojson_layer

__all__ = ["map_html", "map_layers"]


def _popup_facts(page: PlannerPage, r: dict[str, Any]) -> list[list[str]]:
    facts = [["People", r["people"]], ["Area", r["area"]]]
    if "spans" in r:
        facts.append(["Where it lies", r["spans"]])
    main = main_layer(page)
    for lv in page.layers:
        if lv.name not in r["fits"] or len(lv.units) <= 1 or lv is main:
            continue
        if is_fine(lv.name):
            facts.append([f"Area match, {lv.word}s", pct_text(r["fits"][lv.name])])
        elif lv.name in r["spans_by"]:
            facts.append([f"{lv.word[:1].upper()}{lv.word[1:]}s", r["spans_by"][lv.name]])
    if r.get("decile") is not None:
        facts.append(["IMD decile", f"{r['decile']} (1 = most deprived)"])
    if r.get("per_head") is not None:
        facts.append(["Money per head", f"£{r['per_head']:,.2f}"])
    return facts


def map_layers(page: PlannerPage, rows: list[dict[str, Any]],
               shading: Sequence[dict[str, Any]] = ()) -> tuple[list[dict[str, Any]],
                                                                         str]:
    """Build the web map's layers (GeoJSON text + options) and their JS spec.

    ``shading``: the layers sections add (:attr:`SectionOutput.map_layers
    <nbhd_geo.report.sections.base.SectionOutput>`), drawn under the units.
    """
    props = pd.DataFrame(
        [{"name": r["name"], "anchor": f"d-{i + 1}", "facts": _popup_facts(page, r)}
         for i, r in enumerate(rows)], index=page.areas.index)
    out = [{"key": "nbhd", "label": "Neighbourhoods", "kind": "nbhd", "checked": True,
            "colour": "#6a3d9a",
            "geojson": geojson_layer(page.areas, props, tolerance_m=8)}]
    # The main layer (wards) in the dark navy of the detail maps; others distinct.
    colours = ["#b35806", "#2166ac", "#0b6e4f", "#8c510a"]
    main = main_layer(page)
    n_other = 0
    import shapely

    x0, y0, x1, y1 = page.areas.total_bounds
    extent = shapely.box(x0 - 2000, y0 - 2000, x1 + 2000, y1 + 2000)
    k = 0
    for lv in page.layers:
        low = lv.name.lower()
        if low in ("oa",):
            continue
        # Units near the neighbourhoods: a padded bounding box (a buffer of the union of
        # hundreds of consensus cores costs gigabytes).
        near = lv.units.iloc[np.sort(lv.units.sindex.query(extent, predicate="intersects"))]
        near = near.iloc[np.argsort(near.index.astype(str), kind="stable")]
        p = pd.DataFrame({"name": lv.names.reindex(near.index).astype(str)})
        fine = low in ("lsoa", "msoa", "lsoas")
        kind = "fine"
        if fine and page.deprivation is not None and low.startswith("lsoa"):
            p["decile"] = page.deprivation.lsoa_deciles.reindex(near.index).astype(float)
            p["decile"] = p["decile"].map(lambda v: None if math.isnan(v) else int(v))
            kind = "decile"
        elif not fine:
            kind = "unit"
        out.append({"key": f"l{k}", "label": f"{lv.word}s" if lv.word.isupper() else
                    f"{lv.word[0].upper()}{lv.word[1:]}s", "kind": kind,
                    "colour": "#243b53" if lv is main else colours[n_other % len(colours)],
                    "checked": not fine,
                    "geojson": geojson_layer(near, p, tolerance_m=10 if fine else 15)})
        k += 1
        n_other += 0 if lv is main or fine else 1
    out += list(shading)  # shaded layers of the sections (coverage, plans)
    # Draw order: fine layers first, then units, neighbourhoods last (on top).
    rank = {"decile": 0, "fine": 0, "shade": 0, "unit": 1, "nbhd": 2}
    out.sort(key=lambda m: rank[str(m["kind"])])
    js = json.dumps([{k2: v for k2, v in m.items() if k2 != "geojson"} for m in out])
    return out, js


_TEMPLATES = Path(__file__).with_name("templates")


def map_html(page: PlannerPage, layers: list[dict[str, Any]]) -> str:
    """Render the map's section (``templates/map.html.j2``): layers, legend, GeoJSON."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("map.html.j2").render(
        page=page, map_layers=layers, markup=jinja2.utils.markupsafe.Markup)
