"""Build the planner's page from what ``overlap_report`` computed.

Gathers, per statutory layer, the unit names, the pieces of each neighbourhood
(share of its area in each unit, slivers under 1 % left out), the tension rows; the
population per neighbourhood; deprivation and the allocation; then writes the page with
:func:`nbhd_geo.report.board.render_planner_page`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo.report.board import (
    LayerView,
    PlannerPage,
    _main_layer,
    index_rows,
    pct_text,
    people_text,
    plural,
    split_values,
)
from nbhd_geo.report.webmap import geojson_layer, svg_map

__all__ = ["unit_names", "layer_word", "layer_views", "details", "map_layers", "checks_rows"]

_ACRONYMS = {"oa", "lsoa", "msoa", "lad", "pcn", "icb", "ltla", "utla", "pcon"}
SLIVER = 0.01


def layer_word(layer: str) -> str:
    """How a layer is named in sentences: ``lsoa`` -> ``LSOA``, ``wards`` -> ``ward``.

    Examples
    --------
    >>> layer_word("lsoa"), layer_word("wards"), layer_word("ward")
    ('LSOA', 'ward', 'ward')
    """
    low = layer.lower()
    if low in _ACRONYMS:
        return low.upper()
    if low.endswith("s") and low[:-1] in {"ward", "pcn", "lsoa", "msoa", "oa"}:
        return layer_word(low[:-1])
    return layer


def unit_names(units: gpd.GeoDataFrame, column: str | None = None) -> pd.Series:
    """Display names of statutory units: ``column``, else an auto-detected ``*NM`` column.

    Recognises ONS name columns (``WD22NM``, ``LSOA21NM``, ``ward22_name``,
    ``pcn_name``); falls back to the unit id.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> u = gpd.GeoDataFrame({"WD22NM": ["Walkley"]}, geometry=[shapely.box(0, 0, 1, 1)],
    ...                      index=pd.Index(["E05010000"], name="WD22CD"), crs=27700)
    >>> unit_names(u).tolist()
    ['Walkley']
    """
    if column is not None and column == units.index.name:
        return pd.Series(units.index.astype(str), index=units.index)
    if column is not None:
        if column not in units.columns:
            from nbhd_geo.errors import InputError

            raise InputError(f"no column {column!r} to name units",
                             argument="--label",
                             fix=f"choose from {[c for c in units.columns if c != 'geometry']}")
        col: str | None = column
    else:
        cands = [c for c in units.columns
                 if c != "geometry" and not pd.api.types.is_numeric_dtype(units[c])
                 and (c.upper().endswith("NM") or c.lower().endswith("_name")
                      or c.lower() == "name")]
        col = cands[0] if cands else None
    if col is None:
        return pd.Series(units.index.astype(str), index=units.index)
    return units[col].astype(str).where(units[col].notna(), units.index.astype(str))


def layer_views(layers: Sequence[Any], crosswalks: dict[str, Any], tens: pd.DataFrame,
                labels: Mapping[str, str | None]) -> list[LayerView]:
    """One :class:`LayerView` per statutory layer."""
    views = []
    for spec in layers:
        cw = crosswalks[spec.name].table
        pieces = cw.loc[cw["share_of_source"] >= SLIVER, ["source_id", "target_id",
                                                           "share_of_source"]]
        pieces = pieces.set_axis(["area_id", "unit_id", "share"], axis=1)
        t = tens[tens["layer"] == spec.name].drop(columns="layer")
        t = t.set_index(t.columns[0])
        views.append(LayerView(spec.name, layer_word(spec.name), spec.data,
                               unit_names(spec.data, labels.get(spec.name)), pieces, t))
    return views


def _facts(page: PlannerPage, r: dict[str, Any]) -> list[list[str]]:
    from nbhd_geo.report.board import is_fine

    facts = [["People", r["people"]], ["Area", r["area"]]]
    if "spans" in r:
        facts.append(["Where it lies", r["spans"]])
    main = _main_layer(page)
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


def map_layers(page: PlannerPage, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                         str]:
    """Build the web map's layers (GeoJSON text + options) and their JS spec."""
    props = pd.DataFrame(
        [{"name": r["name"], "anchor": f"d-{i + 1}", "facts": _facts(page, r)}
         for i, r in enumerate(rows)], index=page.areas.index)
    out = [{"key": "nbhd", "label": "Neighbourhoods", "kind": "nbhd", "checked": True,
            "colour": "#6a3d9a",
            "geojson": geojson_layer(page.areas, props, tolerance_m=8)}]
    # The main layer (wards) in the dark navy of the detail maps; others distinct.
    colours = ["#b35806", "#2166ac", "#0b6e4f", "#8c510a"]
    main = _main_layer(page)
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
        if fine and page.lsoa_deciles is not None and low.startswith("lsoa"):
            p["decile"] = page.lsoa_deciles.reindex(near.index).astype(float)
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
    out += page.extra_layers  # shaded layers of the extra sections (coverage, plans)
    # Draw order: fine layers first, then units, neighbourhoods last (on top).
    rank = {"decile": 0, "fine": 0, "shade": 0, "unit": 1, "nbhd": 2}
    out.sort(key=lambda m: rank[str(m["kind"])])
    js = json.dumps([{k2: v for k2, v in m.items() if k2 != "geojson"} for m in out])
    return out, js


def details(page: PlannerPage, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-neighbourhood detail: headline, sentences, SVG map, per-layer table."""
    from nbhd_geo.report.board import is_fine

    main = _main_layer(page)
    styles = {"fine": {"stroke": "#7b8794", "stroke-width": "0.8", "stroke-dasharray": "3 2"},
              "unit": {"stroke": "#243b53", "stroke-width": "2"}}
    draw = []
    for lv in page.layers:
        fine = lv.name.lower() in ("lsoa", "oa", "msoa")
        if lv.name.lower() == "oa":
            continue
        named = lv is main
        draw.append((lv.word, lv.units, lv.names if named else None,
                     styles["fine" if fine else "unit"]))
    # Fine lines first so unit lines sit on top.
    draw.sort(key=lambda d: 0 if d[3] is styles["fine"] else 1)
    out = []
    trows = {lv.name: lv.tension.to_dict("index") for lv in page.layers}
    srows = {lv.name: split_values(lv.tension).to_dict("index") for lv in page.layers}
    geoms = dict(zip(page.areas.index, page.areas.geometry, strict=True))
    for r, aid in zip(rows, page.areas.index, strict=True):
        geom = geoms[aid]
        table, sentences = [], []
        for lv in page.layers:
            if aid not in trows[lv.name] or len(lv.units) <= 1:
                continue
            t = trows[lv.name][aid]
            sv = srows[lv.name][aid]
            n_units = int(t.get("n_units", 0))
            # Inside one ward/PCN, the ward's fit only says the ward is bigger: not shown.
            show_fit = is_fine(lv.name) or not sv["inside"]
            table.append({
                "word": f"{lv.word}s" if lv.word.isupper() else f"{lv.word[0].upper()}"
                        f"{lv.word[1:]}s",
                "n_units": n_units, "split": pct_text(sv["split"]),
                "fit": pct_text(t.get("iou")) if show_fit else "–",
                "left_out": pct_text(t.get("excluded_inside_share")) if show_fit else "–",
                "extra": _extra(t.get("included_outside_share")) if show_fit else "–",
                # inside one ward the boundaries need not meet: say so, not "0 %"
                "boundary": pct_text(t.get("f1_50")) if show_fit else f"inside one {lv.word}",
            })
            if lv is not main:
                sentences.append(f"It touches {plural(n_units, lv.word)}; the best set of whole "
                                 f"{lv.word}s matches its area {pct_text(t.get('iou'))}.")
        head = [r["people"] + " people" if r["people"][0].isdigit() else r["people"],
                r["area"]]
        if "spans" in r:
            head.append(r["spans"])
            sentences.insert(0, f"{r['name']} is {r['spans']}.")
        if r.get("decile") is not None:
            sentences.append(f"IMD decile {r['decile']} (1 = most deprived 10 % of England).")
        if r.get("money") is not None:
            ph = f" (£{r['per_head']:,.2f} a head)" if r.get("per_head") is not None else ""
            sentences.append(f"Allocation £{r['money']:,.0f}{ph}.")
        svg = svg_map(geom, draw, title=f"{r['name']} with statutory boundaries")
        out.append({"name": r["name"], "headline": " · ".join(head), "sentences": sentences,
                    "table": table, "svg": svg})
    return out


def _extra(share: Any) -> str:
    """Extra area as a share of the drawn area; "3.3 × drawn area" above 100 %."""
    if share is None or pd.isna(share):
        return "–"
    v = float(share)
    return pct_text(v) if v <= 1 else f"{v:.1f} times its size"


def area_sum_text(parts: Sequence[float]) -> tuple[list[str], str]:
    """Areas (m²) and their total in one unit, rounded so the printed parts add up.

    Examples
    --------
    >>> area_sum_text([1_234_000.0, 5_000.0])
    (['1.23 km²', '0.01 km²'], '1.24 km²')
    """
    from nbhd_geo.report.facts import round_parts

    total = float(sum(parts))
    scale, step, unit, fmt = ((1e4, 0.1, "ha", ",.1f") if total < 1e6
                              else (1e6, 0.01, "km²", ",.2f"))
    shown = round_parts([p / scale for p in parts], step)
    return ([f"{v:{fmt}} {unit}" for v in shown],
            f"{round(sum(shown) / step) * step:{fmt}} {unit}")


def checks_rows(page: PlannerPage, pop_check: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Area and population conservation in words."""
    rows = []
    for lv in page.layers:
        c = page.checks.get(lv.name)
        if not c:
            continue
        drawn, inside = c["drawing_area_m2"], c["overlap_area_m2"]
        outside = c["uncovered_area_m2"]
        ok = abs(inside + outside - drawn) <= 1e-6 * max(drawn, 1) + 1
        (t_in, t_out), t_all = area_sum_text([inside, outside])
        rows.append((
            f"Area, {lv.word}s",
            f"{t_in} inside {lv.word}s + {t_out} outside = {t_all} drawn "
            f"({'balances' if ok else 'DOES NOT balance'}; "
            f"{plural(int(c['slivers']), 'thin piece')} under 1 % of a neighbourhood noted)",
        ))
    if pop_check:
        rows.append(("Population", pop_check["text"]))
    return rows


def read_summary(report: pd.DataFrame | None) -> tuple[list[str], str]:
    """Sentences about the inputs, and a table of the features with something to say."""
    if report is None or not len(report):
        return ["No read report was given."], ""
    counts = report["status"].value_counts()
    lines = [f"{len(report):,} input features read: {counts.get('kept', 0):,} kept as drawn, "
             f"{counts.get('repaired', 0):,} repaired, {counts.get('rejected', 0):,} rejected."]
    said = (report[(report["reason"].fillna("") != "") & (report["status"] != "kept")]
            if "reason" in report else report.iloc[:0])
    if not len(said):
        lines.append("No feature needed repair or was rejected.")
        return lines, ""
    cols = [c for c in ("source", "feature_id", "status", "reason") if c in said.columns]
    shown = said[cols].head(100).rename(columns={"source": "File", "feature_id": "Feature",
                                                 "status": "Outcome", "reason": "Why"})
    note = (f"<p class='note'>Showing 100 of {len(said)}; all are in read_report.csv.</p>"
            if len(said) > 100 else "")
    return lines, shown.to_html(index=False, border=0, escape=True) + note


def _index_layers(page: PlannerPage) -> list[tuple[str, str, bool]]:
    """Index columns: the main layer's "spans" first, then the others."""
    from nbhd_geo.report.board import is_fine

    main = _main_layer(page)
    order = sorted(page.layers, key=lambda lv: (lv is not main, is_fine(lv.name)))
    return [(lv.name, lv.word, is_fine(lv.name)) for lv in order
            if lv.name.lower() not in ("lad", "oa") and len(lv.units) > 1]


def write_page(page: PlannerPage, path: Path, pop_check: dict[str, Any] | None = None) -> Path:
    """Render the whole page to ``path``."""
    import html as _html
    from datetime import date

    import jinja2

    from nbhd_geo import __version__
    from nbhd_geo.report.board import _TEMPLATE_DIR, _asset, _money, board_summary
    from nbhd_geo.report.glossary import GLOSSARY

    rows = index_rows(page)
    board = board_summary(page, rows)
    from nbhd_geo.io.publish import write_csv

    write_csv(board["facts"].to_frame(), path.parent / "board_facts.csv")
    layers_, js = map_layers(page, rows)
    det = details(page, rows)
    read_lines, read_table = read_summary(page.read_report)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    main = _main_layer(page)
    markup = jinja2.utils.markupsafe.Markup
    for m in layers_:
        m["geojson"] = m["geojson"].replace("</", "<\\/")
    text = env.get_template("planner.html.j2").render(
        page=page, rows=rows, board=board, details=det, map_layers=layers_,
        map_layers_js=js, checks=checks_rows(page, pop_check), read_lines=read_lines,
        read_table=read_table, main_word=main.word if main else "unit",
        index_layers=_index_layers(page),
        cap=lambda w: w if w.isupper() else w[:1].upper() + w[1:],
        version=__version__, today=date.today().isoformat(),
        leaflet_js=markup(_asset("leaflet.js").replace("</script", "<\\/script")),
        leaflet_css=markup(_asset("leaflet.css")),
        markup=markup, pct=pct_text, money=_money, esc=_html.escape, glossary=GLOSSARY,
    )
    path.write_text(text, encoding="utf-8")
    return path


__all__ += ["write_page", "read_summary", "people_text"]
