"""The board summary: the page's first section; every figure in it is a fact of ``board_facts.csv``.

How well the statutory layers fit the neighbourhoods (each neighbourhood counted once),
the most divided neighbourhoods, deprivation and the allocation, in sentences whose
figures are computed once (:class:`~nbhd_geo.report.facts.Facts`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from nbhd_geo.io.publish import write_csv
from nbhd_geo.report.facts import Facts
from nbhd_geo.report.facts.page import (
    LayerView,
    PlannerPage,
    is_fine,
    main_layer,
    split_values,
)
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.facts.wording import (
    money_text,
    pct_text,
    people_text,
    plural,
)
from nbhd_geo.report.sections.base import SectionOutput, render_fragment

__all__ = ["board_summary", "build"]


WELL = 0.8  # best-fit overlap score at or above which a set of whole units "serves well"
POOR = 0.5


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
    facts = Facts()
    n = len(rows)
    facts.add("n_neighbourhoods", n, f"{n}")
    out: dict[str, Any] = {"n": n, "paragraphs": [], "layers": [], "worst": [],
                           "deprivation": [], "allocation": [], "alloc_rows": [],
                           "facts": facts}
    word = "neighbourhood" if n == 1 else "neighbourhoods"
    if page.people is not None:
        total = float(page.people.per_area.sum())
        covered = page.people.covered if page.people.covered is not None else total
        c = facts.add("people_covered", _people_exact(covered, page.threshold),
                      people_text(covered, page.threshold))
        text = f"{n} {word} drawn by residents cover about {c.shown} residents"
        # Said only when the overlap is at least the small-count threshold: the two totals
        # must not give back a small number of people by their difference.
        if (page.people.covered is not None and total > covered * 1.01
                and total - covered >= page.threshold):
            t = facts.add("people_added", _people_exact(total, page.threshold),
                          people_text(total, page.threshold))
            text += (f" (some neighbourhoods overlap: added up neighbourhood by neighbourhood "
                     f"they come to {t.shown})")
        out["paragraphs"].append(text + f". Population: {page.people.source}.")
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
    main = main_layer(page)
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
    dep = page.deprivation
    if dep is not None:
        _deprivation_facts(page, rows, facts, out)
    if dep is not None and dep.allocation is not None and dep.budget is not None:
        _allocation_facts(page, rows, facts, out)
    return out


def _deprivation_facts(page: PlannerPage, rows: list[dict[str, Any]], facts: Any,
                       out: dict[str, Any]) -> None:
    assert page.deprivation is not None
    table = page.deprivation.per_area
    dep = [r for r in rows if r.get("decile") is not None]
    d1 = facts.add("decile_1", (k1 := sum(1 for r in dep if r["decile"] == 1)), f"{k1}")
    d13 = facts.add("deciles_1_3", (k3 := sum(1 for r in dep if r["decile"] <= 3)), f"{k3}")
    d810 = facts.add("deciles_8_10", (k8 := sum(1 for r in dep if r["decile"] >= 8)), f"{k8}")
    vintage = page.deprivation.vintage
    out["deprivation"].append(
        f"Deprivation ({vintage}, national tenths of England's small areas, decile "
        f"1 = the most deprived 10 %): {plural(d1.exact, 'neighbourhood')} fall in decile 1, "
        f"{d13.exact} in deciles 1 to 3, {d810.exact} in deciles 8 to 10.")
    if page.people is not None and "share_most_deprived" in table:
        share = table["share_most_deprived"].astype(float)
        people_in = float((share * page.people.per_area.reindex(share.index)).sum())
        total = float(page.people.per_area.sum())
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
        by = page.deprivation.need_label or "IMD average score"
        f = facts.add("most_deprived", tuple(r["name"] for r in top),
                      ", ".join(f"{r['name']} ({need[r['id_key']]:.1f})" for r in top))
        out["deprivation"].append(f"Most deprived, by {by} (highest first): {f.shown}.")


def _allocation_facts(page: PlannerPage, rows: list[dict[str, Any]], facts: Any,
                      out: dict[str, Any]) -> None:
    alloc = [r for r in rows if "money" in r]
    ph = [r for r in alloc if r.get("per_head") is not None and r.get("decile")]
    budget = page.deprivation.budget if page.deprivation is not None else None
    b = facts.add("budget", float(sum(r["money"] for r in alloc)), f"£{budget:,}")
    out["allocation"].append(
        f"Budget {b.shown} shared across {len(alloc)} neighbourhoods: something for every "
        "neighbourhood, and more per person where deprivation is higher.")
    if ph:
        by_dec: dict[int, list[float]] = {}
        for r in ph:
            by_dec.setdefault(int(r["decile"]), []).append(r["per_head"])
        lo, hi = min(by_dec), max(by_dec)
        mlo = facts.add("per_head_median_most_deprived", float(np.median(by_dec[lo])),
                        money_text(float(np.median(by_dec[lo])), 2))
        if hi != lo:
            mhi = facts.add("per_head_median_least_deprived", float(np.median(by_dec[hi])),
                            money_text(float(np.median(by_dec[hi])), 2))
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
    out["alloc_rows"] = [{"name": r["name"], "money": money_text(r["money"]),
                          "per_head": money_text(r.get("per_head"), 2),
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
            f'{money_text(med[d], 2)} per head</title></rect>')
    ticks = "".join(
        f'<text x="{left + (d - 0.5) * bw:.1f}" y="{h - bottom + 16}" text-anchor="middle">'
        f"{d}</text>" for d in range(1, 11))
    return (
        f'<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="Median money per head by IMD decile">'
        "<title>Median money per head by IMD decile (1 = most deprived)</title>"
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 5}" y2="{h - bottom}" stroke="#333"/>'
        f'<text x="4" y="14">{money_text(top, 0)}</text>'
        + "".join(bars) + ticks
        + f'<text x="{left}" y="{h - 2}">IMD decile (1 = most deprived 10 %)</text></svg>'
    )


def build(facts: ReportFacts) -> SectionOutput:
    """Board summary: its fragment, and ``board_facts.csv`` (every figure it prints)."""
    page = facts.page
    board = board_summary(page, facts.rows)
    path = write_csv(board["facts"].to_frame(), facts.out / "board_facts.csv")
    main = main_layer(page)
    html = render_fragment("board.html.j2", page=page, board=board,
                           main_word=main.word if main else "unit")
    return SectionOutput("Board summary", "board", html, files=[path])
