"""The planner's page: board summary, index of neighbourhoods, map, details, appendix.

This module turns what :func:`nbhd_geo.report.overlap.overlap_report` computed into
plain language: people rounded and suppressed below the small-count threshold, areas in
hectares or km², overlap scores as percentages, and sentences such as "inside one ward"
or "split across 2 wards: Walkley 70 %, Crookes 30 %". It computes nothing new about
the geography; it reads the tension table, crosswalks and allocation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["PlannerPage", "people_text", "area_text", "pct_text", "spans_text",
           "split_values", "index_rows", "board_summary"]

_TEMPLATE_DIR = Path(__file__).with_name("templates")
_ASSETS = Path(__file__).with_name("assets")

WELL = 0.8  # best-fit overlap score at or above which a set of whole units "serves well"
POOR = 0.5


def people_text(value: float | None, threshold: int = 10) -> str:
    """People as planners quote them: rounded, and suppressed below ``threshold``.

    Examples
    --------
    >>> people_text(7), people_text(1234), people_text(23456), people_text(None)
    ('fewer than 10', '1,230', '23,500', 'not known')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not known"
    v = float(value)
    if v < threshold:
        return f"fewer than {threshold}"
    step = 10 if v < 10_000 else 100
    return f"{int(round(v / step) * step):,}"


def people_value(value: float | None, threshold: int = 10) -> float | None:
    """Return the rounded figure behind :func:`people_text` (``None`` when suppressed)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    v = float(value)
    if v < threshold:
        return None
    step = 10 if v < 10_000 else 100
    return float(round(v / step) * step)


def area_text(m2: float) -> str:
    """Area in hectares below 1 km², else km².

    Examples
    --------
    >>> area_text(52_000), area_text(3_450_000)
    ('5.2 ha', '3.45 km²')
    """
    if m2 < 1e6:
        return f"{m2 / 1e4:,.1f} ha"
    return f"{m2 / 1e6:,.2f} km²"


def pct_text(share: float | None) -> str:
    """Format a share 0–1 as a whole percentage (``"63 %"``); ``"–"`` when unknown.

    Examples
    --------
    >>> pct_text(0.634), pct_text(float("nan"))
    ('63 %', '–')
    """
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return f"{100 * float(share):.0f} %"


def plural(n: int, word: str) -> str:
    """``plural(2, "ward") -> "2 wards"``; LSOA/PCN stay upper case.

    Examples
    --------
    >>> plural(1, "ward"), plural(3, "LSOA")
    ('1 ward', '3 LSOAs')
    """
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def split_values(t: pd.DataFrame) -> pd.DataFrame:
    """``split`` and ``pop_split`` of a tension table, derived when absent.

    ``split`` is the share of the neighbourhood's area outside its main unit (0 when
    wholly inside one unit); ``pop_split`` the same by people.

    Examples
    --------
    >>> t = pd.DataFrame({"share_in_main_unit": [1.0, 0.7]})
    >>> split_values(t)["split"].round(2).tolist()
    [0.0, 0.3]
    """
    out = pd.DataFrame(index=t.index)
    if "split" in t.columns:
        out["split"] = t["split"].astype(float)
    elif "share_in_main_unit" in t.columns:
        out["split"] = 1 - t["share_in_main_unit"].astype(float)
    else:
        out["split"] = np.nan
    if "pop_split" in t.columns:
        out["pop_split"] = t["pop_split"].astype(float)
    elif "pop_share_in_main_unit" in t.columns:
        out["pop_split"] = 1 - t["pop_share_in_main_unit"].astype(float)
    else:
        out["pop_split"] = np.nan
    if "inside_one_unit" in t.columns:
        out["inside"] = t["inside_one_unit"].astype(bool)
    else:
        out["inside"] = out["split"].fillna(1) < 0.01
    return out


def spans_text(pieces: Sequence[tuple[str, float]], unit: str, *, most: int = 4) -> str:
    """Where a neighbourhood lies, in words.

    Parameters
    ----------
    pieces
        ``(unit name, share of the neighbourhood's area)``, largest first, slivers
        (under 1 %) already left out.
    unit
        The unit's word (``"ward"``, ``"LSOA"``).
    most
        Name at most this many units.

    Examples
    --------
    >>> spans_text([("Walkley", 0.7), ("Crookes", 0.3)], "ward")
    'split across 2 wards: Walkley 70 %, Crookes 30 %'
    >>> spans_text([("Walkley", 1.0)], "ward")
    'inside one ward (Walkley)'
    """
    if not pieces:
        return f"outside every {unit}"
    if len(pieces) == 1:
        return f"inside one {unit} ({pieces[0][0]})"
    sep = "; " if any("," in n for n, _ in pieces[:most]) else ", "
    named = sep.join(f"{n} {pct_text(s)}" for n, s in pieces[:most])
    more = f" and {len(pieces) - most} more" if len(pieces) > most else ""
    return f"split across {plural(len(pieces), unit)}: {named}{more}"


@dataclass
class LayerView:
    """One statutory layer as the page shows it."""

    name: str            # key in tables ("ward")
    word: str            # as written in sentences ("ward", "LSOA")
    units: gpd.GeoDataFrame
    names: pd.Series     # display name by unit id
    pieces: pd.DataFrame  # area_id, unit_id, share (of the neighbourhood), ≥ 1 %
    tension: pd.DataFrame  # indexed by area id


@dataclass
class PlannerPage:
    """Everything the planner's page shows (built by ``overlap_report``)."""

    title: str
    areas: gpd.GeoDataFrame
    labels: pd.Series
    layers: list[LayerView]
    threshold: int
    people: pd.Series | None = None
    people_covered: float | None = None
    people_source: str = ""
    deprivation: pd.DataFrame | None = None   # per area: decile, score, share in most deprived
    allocation: pd.DataFrame | None = None    # per area: allocation, per_head
    budget: int | None = None
    imd_vintage: str = ""
    lsoa_deciles: pd.Series | None = None     # LSOA id -> IMD decile, for the map
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    read_report: pd.DataFrame | None = None
    intro: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    extra_html: list[tuple[str, str]] = field(default_factory=list)  # (title, html)
    # report sections after the map (voices_sections, plan_section) and their map layers
    extra_sections: list[Any] = field(default_factory=list)
    extra_layers: list[dict[str, Any]] = field(default_factory=list)
    attribution: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _main_layer(page: PlannerPage) -> LayerView | None:
    for want in ("ward", "wards"):
        for lv in page.layers:
            if lv.name.lower() == want:
                return lv
    for lv in page.layers:
        if lv.name.lower() not in ("lsoa", "oa", "msoa", "lad"):
            return lv
    return page.layers[0] if page.layers else None


def _per_area_spans(lv: LayerView) -> dict[Any, str]:
    out: dict[Any, str] = {}
    for aid, grp in lv.pieces.groupby("area_id", sort=False):
        g = grp.sort_values(["share", "unit_id"], ascending=[False, True])
        out[aid] = spans_text([(str(lv.names.get(u, u)), float(s))
                               for u, s in zip(g["unit_id"], g["share"], strict=True)], lv.word)
    return out


def is_fine(layer: str) -> bool:
    """Building-block layers (OA, LSOA, MSOA): covering several units is expected.

    Examples
    --------
    >>> is_fine("lsoa"), is_fine("LSOA21"), is_fine("ward")
    (True, True, False)
    """
    low = layer.lower().rstrip("s0123456789")
    return low in ("oa", "lsoa", "msoa")


def index_rows(page: PlannerPage) -> list[dict[str, Any]]:
    """Build one row per neighbourhood with display text and sort keys."""
    spans = {lv.name: _per_area_spans(lv) for lv in page.layers if not is_fine(lv.name)}
    splits = {lv.name: split_values(lv.tension) for lv in page.layers}
    main = _main_layer(page)
    split_d = {k: v.to_dict("index") for k, v in splits.items()}
    iou_d = {lv.name: lv.tension["iou"].astype(float).to_dict() if "iou" in lv.tension else {}
             for lv in page.layers}
    area_d = dict(zip(page.areas.index, page.areas.geometry.area, strict=True))
    dep_d = page.deprivation.to_dict("index") if page.deprivation is not None else {}
    alloc_d = page.allocation.to_dict("index") if page.allocation is not None else {}
    rows = []
    for aid in page.areas.index:
        r: dict[str, Any] = {"id": str(aid), "name": str(page.labels.get(aid, aid))}
        pv = page.people.get(aid) if page.people is not None else None
        r["people"] = people_text(pv, page.threshold)
        r["people_sort"] = people_value(pv, page.threshold)
        r["area_m2"] = float(area_d[aid])
        r["area"] = area_text(r["area_m2"])
        r["fits"], r["spans_by"], r["split_by"] = {}, {}, {}
        for lv in page.layers:
            if aid in split_d[lv.name]:
                r["fits"][lv.name] = float(iou_d[lv.name].get(aid, np.nan))
                r["split_by"][lv.name] = float(split_d[lv.name][aid]["split"])
            if lv.name in spans:
                r["spans_by"][lv.name] = spans[lv.name].get(aid, f"outside every {lv.word}")
        if main is not None and aid in split_d[main.name]:
            sv = split_d[main.name][aid]
            r["split"] = float(sv["split"])
            r["inside"] = bool(sv["inside"])
            r["spans"] = (spans[main.name].get(aid, f"outside every {main.word}")
                          if main.name in spans else _per_area_spans_one(main, aid))
        if aid in dep_d:
            d = dep_d[aid]
            r["decile"] = None if pd.isna(d.get("decile")) else int(d["decile"])
            r["most_deprived"] = d.get("share_most_deprived")
        if aid in alloc_d:
            a = alloc_d[aid]
            r["money"] = float(a["allocation"])
            ph = a.get("per_head")
            r["per_head"] = None if ph is None or pd.isna(ph) else float(ph)
        rows.append(r)
    return rows


def _per_area_spans_one(lv: LayerView, aid: Any) -> str:
    g = lv.pieces[lv.pieces["area_id"] == aid].sort_values(["share", "unit_id"],
                                                           ascending=[False, True])
    return spans_text([(str(lv.names.get(u, u)), float(v))
                       for u, v in zip(g["unit_id"], g["share"], strict=True)], lv.word)


def _money(v: float | None, decimals: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"£{v:,.{decimals}f}"


def board_summary(page: PlannerPage, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Compute the headline figures and sentences of the board summary."""
    n = len(rows)
    out: dict[str, Any] = {"n": n, "paragraphs": [], "layers": [], "worst": [],
                           "deprivation": [], "allocation": [], "alloc_rows": []}
    if page.people is not None:
        total = float(page.people.sum())
        covered = page.people_covered if page.people_covered is not None else total
        text = (f"{n} neighbourhoods drawn by residents cover about "
                f"{people_text(covered, page.threshold)} residents")
        if page.people_covered is not None and total > covered * 1.01:
            text += (f" (the neighbourhoods overlap: counted once per neighbourhood they add up "
                     f"to {people_text(total, page.threshold)})")
        out["paragraphs"].append(text + f". Population: {page.people_source}.")
    else:
        out["paragraphs"].append(f"{n} neighbourhoods drawn by residents (no population given).")
    for lv in page.layers:
        if len(lv.units) <= 1:  # a study-area outline (one district): nothing to compare
            continue
        sv = split_values(lv.tension)
        inside = int(sv["inside"].sum())
        if is_fine(lv.name):
            score = lv.tension["iou"].astype(float)
            well = int((score >= WELL).sum())
            poor = int((score < POOR).sum() + score.isna().sum())
            measure = f"a set of whole {lv.word}s stands in: overlap score"
            sentence = (f"For {well} of {n} neighbourhoods a set of whole {lv.word}s stands in "
                        f"well (overlap score {pct_text(WELL)} or more); for {poor} poorly "
                        f"(under {pct_text(POOR)}).")
            bands = ("80 % or more", "50–80 %", "under 50 %")
        else:
            in_main = 1 - sv["split"].astype(float)
            well = int((in_main >= 0.9).sum())
            poor = int((in_main < 0.5).sum() + in_main.isna().sum())
            measure = f"share of the neighbourhood inside its main {lv.word}"
            # "well" includes the neighbourhoods wholly inside: say so, or they read as added
            sentence = (f"{well} of {n} neighbourhoods have at least 90 % of their area in one "
                        f"{lv.word}, so one {lv.word} serves them ({inside} of them lie wholly "
                        f"inside it); {poor} have less than half their area in any one "
                        f"{lv.word}.")
            bands = ("90 % or more", "50–90 %", "under 50 %")
        out["layers"].append({
            "word": lv.word, "inside": inside, "well": well, "fair": n - well - poor,
            "poor": poor, "measure": measure, "bands": bands, "sentence": sentence,
        })
    main = _main_layer(page)
    if main is not None:
        worst = [r for r in rows if "split" in r and not r["inside"]]
        worst.sort(key=lambda r: (-r["split"], r["name"]))
        out["worst_word"] = main.word
        out["worst"] = [{"name": r["name"], "spans": r["spans"],
                         "people": r["people"]} for r in worst[:10]]
        out["n_split"] = len(worst)
    if page.deprivation is not None:
        dep = [r for r in rows if r.get("decile") is not None]
        most = sorted(dep, key=lambda r: (r["decile"], r["name"]))
        d1 = [r for r in dep if r["decile"] == 1]
        out["deprivation"].append(
            f"Deprivation ({page.imd_vintage}, national deciles, 1 = most deprived 10 % of "
            f"England): {plural(len(d1), 'neighbourhood')} fall in decile 1, "
            f"{sum(1 for r in dep if r['decile'] <= 3)} in deciles 1–3, "
            f"{sum(1 for r in dep if r['decile'] >= 8)} in deciles 8–10.")
        if page.people is not None and "share_most_deprived" in page.deprivation:
            share = page.deprivation["share_most_deprived"].astype(float)
            people_in = float((share * page.people.reindex(share.index)).sum())
            total = float(page.people.sum())
            if total > 0:
                out["deprivation"].append(
                    f"About {people_text(people_in, page.threshold)} of the people counted "
                    f"({pct_text(people_in / total)}) live in LSOAs among England's most "
                    "deprived 10 %.")
        if most:
            out["deprivation"].append(
                "Most deprived: " + ", ".join(f"{r['name']} (decile {r['decile']})"
                                              for r in most[:6]) + ".")
    if page.allocation is not None and page.budget is not None:
        alloc = [r for r in rows if "money" in r]
        ph = [r for r in alloc if r.get("per_head") is not None and r.get("decile")]
        out["allocation"].append(
            f"Budget £{page.budget:,} shared across {len(alloc)} neighbourhoods, more per "
            "person where deprivation is higher (proportionate universalism).")
        if ph:
            by_dec: dict[int, list[float]] = {}
            for r in ph:
                by_dec.setdefault(int(r["decile"]), []).append(r["per_head"])
            lo, hi = min(by_dec), max(by_dec)
            out["allocation"].append(
                f"Per head: {_money(float(np.median(by_dec[lo])), 2)} (median) in decile {lo}"
                f" against {_money(float(np.median(by_dec[hi])), 2)} in decile {hi}.")
            out["per_head_chart"] = _per_head_chart(by_dec)
        top = sorted(alloc, key=lambda r: (-r["money"], r["name"]))[:8]
        out["alloc_rows"] = [{"name": r["name"], "money": _money(r["money"]),
                              "per_head": _money(r.get("per_head"), 2),
                              "decile": r.get("decile") or "–",
                              "people": r["people"]} for r in top]
    return out


def _per_head_chart(by_dec: Mapping[int, list[float]]) -> str:
    """Inline SVG bar chart: median money per head by IMD decile."""
    w, h, left, bottom = 460, 190, 54, 30
    med = {d: float(np.median(v)) for d, v in by_dec.items()}
    top = max(med.values()) or 1.0
    bw = (w - left - 10) / 10
    bars = []
    for d in range(1, 11):
        if d not in med:
            continue
        bh = (h - bottom - 12) * med[d] / top
        x = left + (d - 1) * bw
        bars.append(
            f'<rect x="{x + 3:.1f}" y="{h - bottom - bh:.1f}" width="{bw - 6:.1f}" '
            f'height="{bh:.1f}" fill="#2c7bb6"><title>Decile {d}: '
            f'{_money(med[d], 2)} per head</title></rect>')
    ticks = "".join(
        f'<text x="{left + (d - 0.5) * bw:.1f}" y="{h - bottom + 16}" text-anchor="middle">'
        f"{d}</text>" for d in range(1, 11))
    return (
        f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="Median money per head by IMD decile">'
        "<title>Median money per head by IMD decile (1 = most deprived)</title>"
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 5}" y2="{h - bottom}" stroke="#333"/>'
        f'<text x="4" y="14">{_money(top, 0)}</text>'
        + "".join(bars) + ticks
        + f'<text x="{left}" y="{h - 2}">IMD decile (1 = most deprived 10 %)</text></svg>'
    )


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")
