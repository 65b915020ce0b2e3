"""Fact-check a written report: parse the board summary's sentences and tables from
index.html and recompute every figure, list and order from the written CSVs alone.

``check_board(folder)`` returns the differences found (an empty list when every fact
holds). It never reads board_facts.csv: the published tables are the only evidence.
Counts suppressed in a CSV ("<10") are taken as a range (0 to threshold − 1), and a
rounded figure passes when some value in its range rounds to what is printed.
"""

from __future__ import annotations

import html as _html
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["board_text", "check_board"]


def _text(fragment: str) -> str:
    fragment = re.sub(r"<svg.*?</svg>", " ", fragment, flags=re.S)
    return re.sub(r"\s+", " ", _html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def board_text(page: str) -> str:
    """The board summary's visible text."""
    return _text(page[page.index('<section id="board"'):page.index('<section id="index"')])


def _num(s: str) -> float:
    return float(s.replace(",", "").replace("£", ""))


def _range(col: pd.Series, threshold: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of a published count column ("<10" -> 0..9)."""
    s = col.astype(str)
    sup = s.str.startswith("<")
    v = pd.to_numeric(s.where(~sup), errors="coerce").fillna(0).to_numpy(float)
    return v, np.where(sup, threshold - 1, v)


def _rounds_to(lo: float, hi: float, shown: float) -> bool:
    step = 10 if shown < 10_000 else 100
    return round(lo / step) * step - step <= shown <= round(hi / step) * step + step / 2 and (
        shown + step / 2 >= lo and shown - step / 2 <= hi)


def _inside(t: pd.DataFrame) -> pd.Series:
    return t["inside_one_unit"].astype(bool) & (t["covered_share"].astype(float) >= 0.99)


def _rows(page: str, table_head: str) -> list[list[str]]:
    """Cells of the board table whose header row contains ``table_head``."""
    i = page.index(table_head)
    body = page[page.index("<tbody>", i):page.index("</tbody>", i)]
    return [[_text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


def check_board(folder: Path, *, pop_layer: str = "lsoa", main: str = "ward") -> list[str]:
    """Recompute the board summary of the report in ``folder``; return the differences."""
    folder = Path(folder)
    page = (folder / "index.html").read_text(encoding="utf-8")
    text = board_text(page)
    board = page[page.index('<section id="board"'):page.index('<section id="index"')]
    bad: list[str] = []
    tension = pd.read_csv(folder / "tension.csv")
    layers = list(dict.fromkeys(tension["layer"]))
    n = int((tension["layer"] == layers[0]).sum())

    def expect(what: str, shown: object, want: object) -> None:
        if shown != want:
            bad.append(f"{what}: page says {shown!r}, tables give {want!r}")

    m = re.search(r"(\d+) neighbourhoods? drawn by residents", text)
    expect("number of neighbourhoods", m and int(m.group(1)), n)

    # People covered (each person once) and added neighbourhood by neighbourhood.
    splits = pd.read_csv(folder / "unit_splits.csv")
    tp = tension[tension["layer"] == pop_layer].set_index("area_id")
    m = re.search(r"cover about ([\d,]+) residents", text)
    if m:
        us = splits[splits["layer"] == pop_layer]
        plo, phi = _range(us["population"])
        olo, ohi = _range(us["pop_outside"])
        lo, hi = plo.sum() - ohi.sum(), phi.sum() - olo.sum()
        if not _rounds_to(lo, hi, _num(m.group(1))):
            bad.append(f"people covered: page says {m.group(1)}, tables give {lo:.0f}–{hi:.0f}")
    m = re.search(r"they come to ([\d,]+)", text)
    if m:
        lo_, hi_ = _range(tp["population"])
        if not _rounds_to(lo_.sum(), hi_.sum(), _num(m.group(1))):
            bad.append(f"people added: page says {m.group(1)}, tables give {lo_.sum():.0f}")

    # Fit table: a partition per layer, recomputed from tension.csv.
    for row in _rows(board, "Inside a single one"):
        word = row[0]
        layer = next(x for x in layers if x.lower() == word[:-1].lower())
        t = tension[tension["layer"] == layer]
        inside = _inside(t)
        fine = layer.lower().startswith(("lsoa", "oa", "msoa"))
        meas = t["iou"].astype(float) if fine else t["share_in_main_unit"].astype(float)
        well_at, poor_at = (0.8, 0.5) if fine else (0.9, 0.5)
        want = [int(inside.sum()), int((~inside & (meas >= well_at)).sum()),
                int((~inside & (meas >= poor_at) & (meas < well_at)).sum()),
                int((~inside & ~(meas >= poor_at)).sum())]
        got = [int(c) for c in row[2:6]]
        expect(f"fit table, {word}", got, want)
        if sum(got) != n:
            bad.append(f"fit table, {word}: {sum(got)} counted, {n} neighbourhoods")
        if word.lower() == f"{main}s":
            m = re.search(r"(\d+) of (\d+) neighbourhoods have at least 90 % of their area in "
                          r"one \w+, so one \w+ serves them \((\d+) of them (?:lie|lies) wholly "
                          r"inside it\); (\d+) (?:have|has) less than half", text)
            expect(f"{main} sentence", m and [int(g) for g in m.groups()],
                   [want[0] + want[1], n, want[0], want[3]])
            if m and (m.group(3) == "1") != ("1 of them lies" in text):
                bad.append("grammar: '1 of them lie'")

    # The most divided neighbourhoods, in order, and where each lies.
    if "The most divided neighbourhoods" in text:
        t = tension[tension["layer"] == main].set_index("area_id")
        inside = _inside(t)
        split = np.maximum(1 - t["share_in_main_unit"].astype(float),
                           1 - t["covered_share"].astype(float).clip(upper=1))
        m = re.search(r"(\d+) of (\d+) neighbourhoods cross \w+ boundaries", text)
        expect("neighbourhoods crossing", m and int(m.group(1)), int((~inside).sum()))
        names = pd.read_csv(folder / "crosswalk_" f"{main}.csv")
        label = names.drop_duplicates("source_id").set_index("source_id")["source_name"]
        cand = pd.DataFrame({"name": label.reindex(t.index).astype(str), "split": split})
        cand = cand[~inside.to_numpy()]
        order = sorted(cand.itertuples(), key=lambda r: (-r.split, r.name))[:10]
        rows = _rows(board, "<th scope=\"col\">Where it lies</th>")
        expect("most divided, in order", [r[0] for r in rows], [r.name for r in order])
        cw = names[names["share_of_source"] >= 0.01]
        for r in rows[:3]:
            aid = label.index[label == r[0]][0]
            g = cw[cw["source_id"] == aid].sort_values(["share_of_source", "target_id"],
                                                       ascending=[False, True])
            if len(g) > 4:
                continue
            if "(outside the study area)" in r[1]:
                # Part of it lies in units beyond the study area (outside_study_area.csv):
                # the units inside are each shown, to a whole per cent either way.
                for unit, share in zip(g["target_name"], g["share_of_source"], strict=True):
                    near = {f"{unit} {int(np.floor(100 * share)) + k} %" for k in (0, 1)}
                    if not any(n in r[1] for n in near):
                        bad.append(f"where {r[0]} lies: {unit} {100 * share:.1f} % not shown")
                continue
            # Whole percentages by largest remainder, what the named units leave of the area
            # ("elsewhere") a part too: they add up to 100 %.
            shares = g["share_of_source"].to_numpy(float)
            rest = max(0.0, 1.0 - float(shares.sum()))
            parts = 100 * np.append(shares, rest)
            total = round(float(parts.sum()))
            pct = _largest_remainder_pct(parts, total)
            shown = [int(v) for v in re.findall(r"(\d+) %", r[1])]
            if sum(shown) != total:
                bad.append(f"where {r[0]} lies: shares add to {sum(shown)} %, not {total} %")
            for unit, p in zip(g["target_name"], pct[:-1], strict=True):
                if f"{unit} {p} %" not in r[1]:
                    bad.append(f"where {r[0]} lies: {unit} {p} % not in {r[1]!r}")
            if (pct[-1] >= 1) != (f"elsewhere {pct[-1]} %" in r[1]):
                bad.append(f"where {r[0]} lies: elsewhere {pct[-1]} % wrongly shown or hidden")

    # Deprivation: decile counts, people in the most deprived 10 %, the most deprived.
    if (folder / "deprivation.csv").exists():
        dep = pd.read_csv(folder / "deprivation.csv")
        dec = dep["imd_decile"]
        m = re.search(r"(\d+) neighbourhoods? fall in decile 1, (\d+) in deciles 1 to 3, "
                      r"(\d+) in deciles 8 to 10", text)
        expect("decile counts", m and [int(g) for g in m.groups()],
               [int((dec == 1).sum()), int((dec <= 3).sum()), int((dec >= 8).sum())])
        m = re.search(r"About ([\d,]+) of the people counted \((\d+) %\)", text)
        if m:
            share = dep.set_index("area_id")["imd_proportion_most_deprived_10pct"]
            lo_, hi_ = _range(tp["population"].reindex(share.index))
            plo, phi = float((share * lo_).sum()), float((share * hi_).sum())
            if not _rounds_to(plo, phi, _num(m.group(1))):
                bad.append(f"people in most deprived 10 %: page {m.group(1)}, tables {plo:.0f}")
            tot = _range(tp["population"])
            pct = 100 * (share * lo_).sum() / tot[0].sum()
            if abs(pct - int(m.group(2))) > 0.5 + 1e-6 and abs(
                    100 * phi / tot[1].sum() - int(m.group(2))) > 0.5:
                bad.append(f"share in most deprived 10 %: page {m.group(2)} %, tables {pct:.1f}")
        m = re.search(r"Most deprived, by ([^(]+?) \(highest first\): (.*?)\.(?: Allocation|$)",
                      text)
        if m:
            col = ("imd_average_score" if "score" in m.group(1)
                   else "imd_avg_rank_high_is_deprived")
            ranked = dep.assign(v=dep[col].astype(float)).sort_values(
                ["v", "name"], ascending=[False, True], kind="stable")
            shown = [x.rsplit(" (", 1)[0] for x in m.group(2).split("), ")]
            expect("most deprived, in order", shown, ranked["name"].head(len(shown)).tolist())
        else:
            bad.append("no 'Most deprived' sentence")

    # Allocation: the budget adds up; the medians per head; the largest, in order.
    if (folder / "allocation.csv").exists() and "Budget £" in text:
        alloc = pd.read_csv(folder / "allocation.csv")
        m = re.search(r"Budget £([\d,]+) shared across (\d+) neighbourhoods", text)
        expect("budget", m and [_num(m.group(1)), int(m.group(2))],
               [float(alloc["allocation"].sum()), len(alloc)])
        dep = pd.read_csv(folder / "deprivation.csv").set_index("area_id")["imd_decile"]
        ph = alloc.assign(decile=dep.reindex(alloc["area_id"]).to_numpy()).dropna(
            subset=["per_head", "decile"])
        m = re.search(r"Per head: £([\d.,]+) \(middle value\) in decile (\d+) against "
                      r"£([\d.,]+) in decile (\d+)", text)
        if m:
            lo_d, hi_d = int(ph["decile"].min()), int(ph["decile"].max())
            want_ph = [round(float(ph.loc[ph["decile"] == lo_d, "per_head"].median()), 2), lo_d,
                       round(float(ph.loc[ph["decile"] == hi_d, "per_head"].median()), 2), hi_d]
            expect("per head medians", [_num(m.group(1)), int(m.group(2)), _num(m.group(3)),
                                        int(m.group(4))], want_ph)
        rows = _rows(board, "<th scope=\"col\" class=\"num\">Allocation</th>")
        top = alloc.sort_values(["allocation", "name"], ascending=[False, True], kind="stable")
        expect("largest allocations, in order", [r[0] for r in rows],
               top["name"].head(len(rows)).tolist())
        expect("largest allocations, amounts", [_num(r[1]) for r in rows],
               top["allocation"].head(len(rows)).astype(float).tolist())

    # Checks: printed parts add up to the printed totals.
    for a, b_, c in re.findall(r"([\d,]+) people inside the area the neighbourhoods cover \+ "
                               r"([\d,]+) outside = ([\d,]+)", _text(page)):
        if _num(a) + _num(b_) != _num(c):
            bad.append(f"people check does not add: {a} + {b_} != {c}")
    for a, b_, c in re.findall(r"([\d.,]+) (?:km²|ha) inside \w+ \+ ([\d.,]+) (?:km²|ha) "
                               r"outside = ([\d.,]+) (?:km²|ha) drawn", _text(page)):
        if abs(_num(a) + _num(b_) - _num(c)) > 1e-6:
            bad.append(f"area check does not add: {a} + {b_} != {c}")
    return bad


def _largest_remainder_pct(values: np.ndarray, total: int) -> list[int]:
    """Whole numbers adding to ``total``: floors, then one each to the largest remainders."""
    low = np.floor(values)
    order = np.argsort(-(values - low), kind="stable")
    out = low.astype(int)
    out[order[: total - int(low.sum())]] += 1
    return out.tolist()
