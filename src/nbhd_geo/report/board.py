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
    if "covered_share" in t.columns:
        # A neighbourhood partly outside every unit kept (beyond the study area) is not
        # "inside one" unit, whatever its share in the units kept.
        covered = pd.to_numeric(t["covered_share"], errors="coerce").fillna(1.0)
        out["inside"] = out["inside"] & (covered >= 1 - 0.01)
        out["split"] = out["split"].where(out["inside"], np.maximum(
            out["split"], 1 - covered.clip(upper=1)))
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
    >>> spans_text([("A", 0.376), ("B", 0.336), ("C", 0.216), ("D", 0.072)], "ward")
    'split across 4 wards: A 38 %, B 34 %, C 21 %, D 7 %'
    >>> spans_text([("Walkley", 1.0)], "ward")
    'inside one ward (Walkley)'
    """
    if not pieces:
        return f"outside every {unit}"
    if len(pieces) == 1:
        return f"inside one {unit} ({pieces[0][0]})"
    sep = "; " if any("," in n for n, _ in pieces[:most]) else ", "
    if len(pieces) <= most:
        # Every piece is named: whole percentages that add up to the rounded total
        # (largest remainder), so a neighbourhood wholly in these units reads 100 %.
        from nbhd_geo.report.facts import round_parts

        shown = round_parts([100 * float(s) for _, s in pieces], 1)
        named = sep.join(f"{n} {v:.0f} %" for (n, _), v in zip(pieces, shown, strict=True))
    else:
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
    need_label: str = ""                      # the measure behind the deciles, in words
    study_area: str = ""                      # sentence naming the study area (board)
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
        r: dict[str, Any] = {"id": str(aid), "id_key": aid,
                             "name": str(page.labels.get(aid, aid))}
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


def _fit_partition(lv: LayerView, n: int) -> dict[str, Any]:
    """Each neighbourhood counted once: inside one unit / served well / fairly / poorly.

    One measure per layer type: for building blocks (OA, LSOA, MSOA) the area match of the
    best set of whole units; for wards, PCNs and the like the share of the neighbourhood
    in its main unit.
    """
    sv = split_values(lv.tension)
    inside = sv["inside"].to_numpy(bool)
    if is_fine(lv.name):
        m = pd.to_numeric(lv.tension["iou"], errors="coerce").to_numpy(float)
        well_at, poor_at = WELL, POOR
        measure = (f"area match of the best set of whole {lv.word}s (the area both cover, "
                   "as a share of the area either covers)")
        poor_means = (f"the best set of whole {lv.word}s matches less than half of the "
                      f"area it and the neighbourhood cover together")
    else:
        m = 1 - sv["split"].astype(float).to_numpy()
        well_at, poor_at = 0.9, 0.5
        measure = f"share of the neighbourhood's area in its main {lv.word}"
        poor_means = f"less than half the neighbourhood's area lies in any one {lv.word}"
    ok = ~np.isnan(m)
    well = int((~inside & ok & (m >= well_at)).sum())
    fair = int((~inside & ok & (m >= poor_at) & (m < well_at)).sum())
    poor = int((~inside & ~(ok & (m >= poor_at))).sum())
    n_inside = int(inside.sum())
    assert n_inside + well + fair + poor == n, "the fit table must count each neighbourhood once"
    bands = (f"{pct_text(well_at)} or more", f"{pct_text(poor_at)} to {pct_text(well_at)}",
             f"under {pct_text(poor_at)}")
    return {"word": lv.word, "inside": n_inside, "well": well, "fair": fair, "poor": poor,
            "measure": measure, "bands": bands, "poor_means": poor_means, "fine": is_fine(lv.name)}


def _people_sum_text(parts: Sequence[float], threshold: int) -> tuple[list[str], str]:
    """Texts of people parts and their total that add up as printed."""
    total = float(sum(parts))
    if any(0 < p < threshold for p in parts) or total < threshold:
        return [people_text(p, threshold) for p in parts], "about " + people_text(total,
                                                                                 threshold)
    from nbhd_geo.report.facts import people_step, round_parts

    shown = round_parts(parts, people_step(total))
    return [f"{int(v):,}" for v in shown], f"{int(sum(shown)):,}"


def _people_exact(value: float, threshold: int) -> float | None:
    """People kept exact for the facts table, but never a count under the threshold."""
    return float(value) if value >= threshold else None


def _lie(n: int) -> str:
    return "lies" if n == 1 else "lie"


def _have(n: int) -> str:
    return "has" if n == 1 else "have"


def board_summary(page: PlannerPage, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Compute the board summary's facts once and render its sentences from them.

    Returns a dict for the template; ``out["facts"]`` is the
    :class:`~nbhd_geo.report.facts.Facts` table behind every figure and list printed.
    """
    from nbhd_geo.report.facts import Facts

    facts = Facts()
    n = len(rows)
    facts.add("n_neighbourhoods", n, f"{n}")
    out: dict[str, Any] = {"n": n, "paragraphs": [], "layers": [], "worst": [],
                           "deprivation": [], "allocation": [], "alloc_rows": [],
                           "facts": facts}
    word = "neighbourhood" if n == 1 else "neighbourhoods"
    if page.people is not None:
        total = float(page.people.sum())
        covered = page.people_covered if page.people_covered is not None else total
        c = facts.add("people_covered", _people_exact(covered, page.threshold),
                      people_text(covered, page.threshold))
        text = f"{n} {word} drawn by residents cover about {c.shown} residents"
        # Said only when the overlap is at least the small-count threshold: the two totals
        # must not give back a small number of people by their difference.
        if (page.people_covered is not None and total > covered * 1.01
                and total - covered >= page.threshold):
            t = facts.add("people_added", _people_exact(total, page.threshold),
                          people_text(total, page.threshold))
            text += (f" (some neighbourhoods overlap: added up neighbourhood by neighbourhood "
                     f"they come to {t.shown})")
        out["paragraphs"].append(text + f". Population: {page.people_source}.")
    else:
        out["paragraphs"].append(f"{n} {word} drawn by residents (no population given).")
    if page.study_area:
        out["paragraphs"].append(page.study_area)
    for lv in page.layers:
        if len(lv.units) <= 1:  # a study-area outline (one district): nothing to compare
            continue
        part = _fit_partition(lv, n)
        for k in ("inside", "well", "fair", "poor"):
            facts.add(f"fit_{lv.name}_{k}", part[k], f"{part[k]}")
        served = part["inside"] + part["well"]
        if part["fine"]:
            part["sentence"] = (
                f"For {part['well']} of {n} neighbourhoods a set of whole {lv.word}s matches "
                f"the area well ({part['bands'][0]}); for {part['poor']} poorly "
                f"({part['bands'][2]}); {part['inside']} {_lie(part['inside'])} inside a "
                f"single {lv.word}.")
        else:
            part["sentence"] = (
                f"{served} of {n} neighbourhoods have at least 90 % of their area in one "
                f"{lv.word}, so one {lv.word} serves them ({part['inside']} of them "
                f"{_lie(part['inside'])} wholly inside it); {part['poor']} "
                f"{_have(part['poor'])} less than half their area in any one {lv.word}.")
        out["layers"].append(part)
    main = _main_layer(page)
    if main is not None:
        worst = [r for r in rows if "split" in r and not r["inside"]]
        worst.sort(key=lambda r: (-r["split"], r["name"]))
        out["worst_word"] = main.word
        out["worst"] = [{"name": r["name"], "spans": r["spans"],
                         "people": r["people"]} for r in worst[:10]]
        facts.add("n_split", len(worst), f"{len(worst)}")
        facts.add("most_divided", tuple(r["name"] for r in worst[:10]),
                  ", ".join(r["name"] for r in worst[:10]))
        out["n_split"] = len(worst)
    if page.deprivation is not None:
        _deprivation_facts(page, rows, facts, out)
    if page.allocation is not None and page.budget is not None:
        _allocation_facts(page, rows, facts, out)
    return out


def _deprivation_facts(page: PlannerPage, rows: list[dict[str, Any]], facts: Any,
                       out: dict[str, Any]) -> None:
    table = page.deprivation
    assert table is not None
    dep = [r for r in rows if r.get("decile") is not None]
    d1 = facts.add("decile_1", (k1 := sum(1 for r in dep if r["decile"] == 1)), f"{k1}")
    d13 = facts.add("deciles_1_3", (k3 := sum(1 for r in dep if r["decile"] <= 3)), f"{k3}")
    d810 = facts.add("deciles_8_10", (k8 := sum(1 for r in dep if r["decile"] >= 8)), f"{k8}")
    out["deprivation"].append(
        f"Deprivation ({page.imd_vintage}, national tenths of England's small areas, decile "
        f"1 = the most deprived 10 %): {plural(d1.exact, 'neighbourhood')} fall in decile 1, "
        f"{d13.exact} in deciles 1 to 3, {d810.exact} in deciles 8 to 10.")
    if page.people is not None and "share_most_deprived" in table:
        share = table["share_most_deprived"].astype(float)
        people_in = float((share * page.people.reindex(share.index)).sum())
        total = float(page.people.sum())
        if total > 0:
            p = facts.add("people_in_most_deprived_10",
                          _people_exact(people_in, page.threshold),
                          people_text(people_in, page.threshold))
            s = facts.add("share_in_most_deprived_10",
                          people_in / total if people_in >= page.threshold else None,
                          pct_text(people_in / total))
            out["deprivation"].append(
                f"About {p.shown} of the people counted ({s.shown}) live in LSOAs among "
                "England's most deprived 10 %.")
    if dep and "need" in table:
        need = table["need"].astype(float).to_dict()
        ranked = [r for r in dep if not math.isnan(need.get(r["id_key"], math.nan))]
        # Most deprived first by the measure behind the deciles; ties by name.
        ranked.sort(key=lambda r: (-need[r["id_key"]], r["name"]))
        top = ranked[:6]
        by = page.need_label or "IMD average score"
        f = facts.add("most_deprived", tuple(r["name"] for r in top),
                      ", ".join(f"{r['name']} ({need[r['id_key']]:.1f})" for r in top))
        out["deprivation"].append(f"Most deprived, by {by} (highest first): {f.shown}.")


def _allocation_facts(page: PlannerPage, rows: list[dict[str, Any]], facts: Any,
                      out: dict[str, Any]) -> None:
    alloc = [r for r in rows if "money" in r]
    ph = [r for r in alloc if r.get("per_head") is not None and r.get("decile")]
    b = facts.add("budget", float(sum(r["money"] for r in alloc)), f"£{page.budget:,}")
    out["allocation"].append(
        f"Budget {b.shown} shared across {len(alloc)} neighbourhoods: something for every "
        "neighbourhood, and more per person where deprivation is higher.")
    if ph:
        by_dec: dict[int, list[float]] = {}
        for r in ph:
            by_dec.setdefault(int(r["decile"]), []).append(r["per_head"])
        lo, hi = min(by_dec), max(by_dec)
        mlo = facts.add("per_head_median_most_deprived", float(np.median(by_dec[lo])),
                        _money(float(np.median(by_dec[lo])), 2))
        if hi != lo:
            mhi = facts.add("per_head_median_least_deprived", float(np.median(by_dec[hi])),
                            _money(float(np.median(by_dec[hi])), 2))
            out["allocation"].append(
                f"Per head: {mlo.shown} (middle value) in decile {lo} against {mhi.shown} in "
                f"decile {hi}.")
        else:
            out["allocation"].append(
                f"Per head: {mlo.shown} (middle value); every neighbourhood is in decile {lo}.")
        out["per_head_chart"] = _per_head_chart(by_dec)
    top = sorted(alloc, key=lambda r: (-r["money"], r["name"]))[:8]
    facts.add("largest_allocations", tuple(r["name"] for r in top),
              ", ".join(r["name"] for r in top))
    out["alloc_rows"] = [{"name": r["name"], "money": _money(r["money"]),
                          "per_head": _money(r.get("per_head"), 2),
                          "decile": r.get("decile") or "–",
                          "people": r["people"]} for r in top]


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
