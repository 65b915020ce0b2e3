""""Many voices: consensus": agreement per neighbourhood, disputed ground, outliers.

Shown in "Methods and checks"; writes ``consensus_summary.csv``, the ``consensus_zones``
layer and, only when individual drawings are published, ``outliers.csv``.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from nbhd_geo import settings
from nbhd_geo.io.disclosure import suppress_with_total
from nbhd_geo.io.publish import PER_DRAWING_FILES, publish_frame, write_csv, write_gpkg
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.sections.base import (
    Section,
    SectionOutput,
    SectionResult,
    figure_to_data_uri,
    table_html,
)

__all__ = ["build", "consensus_section", "published_summary", "section_html"]


def _drawing_counts(summary: pd.DataFrame, threshold: int) -> pd.Series:
    """Each name's drawing count as published: small ones hidden, and one more if need be.

    The section prints the total number of drawings, so a single hidden count would be the
    total minus the others: with exactly one small count, the next smallest is hidden too
    (``"suppressed"``), as :func:`~nbhd_geo.io.disclosure.suppress_with_total` does.
    """
    if "n_drawings" not in summary:
        return pd.Series("–", index=summary.index)
    return suppress_with_total(summary, "n_drawings", threshold=threshold)["n_drawings"]


def _hidden(published: pd.Series) -> np.ndarray:
    text = published.astype(str)
    return (text.str.startswith("<") | text.eq("suppressed")).to_numpy()


def published_summary(summary: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``consensus_summary.csv`` as published: the agreement table's counts, hidden alike.

    Examples
    --------
    >>> t = pd.DataFrame({"name": list("ABCD"), "n_drawings": [4, 25, 12, 40],
    ...                   "drawers": [4, 25, 12, 40], "mean_agreement": [0.9, 0.5, 0.6, 0.7]})
    >>> published_summary(t, 10)[["n_drawings", "drawers"]].to_numpy().tolist()
    [['<10', '<10'], ['25', '25'], ['suppressed', 'suppressed'], ['40', '40']]
    """
    pub = publish_frame(summary, counts=(), threshold=threshold)
    if "n_drawings" not in summary:
        return pub
    counts = _drawing_counts(summary, threshold)
    extra = counts.eq("suppressed").to_numpy()
    pub["n_drawings"] = counts.to_numpy()
    for col in ("drawers", "mean_agreement"):  # they go with the count
        if col in pub:
            keep = ~extra | pub[col].astype(str).str.startswith("<").to_numpy()
            pub[col] = pub[col].astype(object).where(keep, "suppressed")
    return pub


def _plain_agreement(summary: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Agreement table with plain headings, areas in hectares, small counts suppressed."""
    counts = _drawing_counts(summary, threshold)
    hidden = _hidden(counts)
    n = summary["n_drawings"] if "n_drawings" in summary else pd.Series(np.nan, summary.index)
    words = [f"fewer than {threshold}" if 0 < v < threshold else "not shown" if h
             else f"{int(v):,}" if v == v else "–"
             for v, h in zip(n.to_numpy(float), hidden, strict=True)]
    agreement = pd.Series(summary.get("mean_agreement", np.nan), index=summary.index)
    out = pd.DataFrame({
        "Neighbourhood": summary.iloc[:, 0].astype(str),
        "Drawings": words,
        # A share of drawers: shown only beside a count that is (as in the CSV).
        "Mean agreement": agreement.where(~hidden),
    })
    for col in summary.columns:
        if col.startswith("core_") and col.endswith("_m2"):
            level = float(col.removeprefix("core_").removesuffix("_m2"))
            out[f"Drawn by {level:.0%} or more (ha)"] = (summary[col] / 1e4).round(1)
    return out


def _count_text(n: int, threshold: int) -> str:
    return f"fewer than {threshold}" if 0 < n < threshold else f"{n:,}"


def consensus_section(
    cons: Any,
    drawings: gpd.GeoDataFrame,
    *,
    by: str = "neighbourhood",
    report: pd.DataFrame | None = None,
    maps: bool = True,
    threshold: int | None = None,
) -> SectionResult:
    """Many voices: agreement per neighbourhood, disputed and contested ground, outliers.

    Counts of drawers below ``threshold`` (default ``settings.small_count_threshold``)
    are shown as "fewer than N" in the page.

    Parameters
    ----------
    cons
        A :class:`~nbhd_geo.voices.consensus.Consensus` of ``drawings``.
    drawings
        The drawings it was computed from (indexed by id, with the ``by`` column).
    by
        Neighbourhood name column.
    report
        The combined read report (repaired drawings are flagged as outliers too).
    maps
        Draw an agreement map per neighbourhood.
    """
    from nbhd_geo.report.maps.plot_consensus import plot_consensus
    from nbhd_geo.voices.outliers import outliers

    flags = outliers(drawings, cons, by=by)
    if report is not None and "feature_id" in report.columns:
        repaired = set(report.loc[report["status"] == "repaired", "feature_id"].astype(str))
        extra = flags.index.astype(str).isin(repaired) & ~flags["reasons"].str.contains(
            "repaired", regex=False)
        flags.loc[extra, "reasons"] = flags.loc[extra, "reasons"].map(
            lambda r: "; ".join(x for x in (r, "repaired on reading") if x))
        flags.loc[extra, "flagged"] = True
    limit = settings.small_count_threshold if threshold is None else threshold
    summary = cons.summary.reset_index()
    zones = cons.to_frame()
    disputed = cons.disputed
    t50 = 0.5 if 0.5 in cons.thresholds else cons.thresholds[len(cons.thresholds) // 2]
    d50 = disputed[disputed["threshold"] == t50] if len(disputed) else disputed
    paragraphs = [
        f"{_count_text(int(summary['n_drawings'].sum()), limit)} drawings of "
        f"{len(summary)} neighbourhoods. "
        f"Agreement is the share of a neighbourhood's drawers whose drawing covers a place "
        f"({cons.method}"
        + (f", {cons.cell_size:g} m cells" if cons.cell_size else "")
        + "); cores are where at least "
        + ", ".join(f"{t:.0%}" for t in cons.thresholds)
        + " of them agree.",
        f"Disputed ground (inside two neighbourhoods' {t50:.0%} cores): "
        + (", ".join(f"{r.name_a} / {r.name_b} ({r.area_m2 / 1e4:,.1f} ha)"
                     for r in d50.itertuples()) if len(d50) else "none")
        + ".",
        f"{int(flags['flagged'].sum())} of {len(flags)} drawings are flagged as possible "
        "outliers (listed below with reasons); they are kept in the cores unless excluded.",
    ]
    figures = []
    if maps:
        for name in summary[summary.columns[0]]:
            fig, _ = plot_consensus(cons, name)
            figures.append((figure_to_data_uri(fig, dpi=70), f"Agreement: {name}"))
    listed = flags.loc[flags["flagged"], ["name", "area_m2", "n_flags", "reasons"]]
    tables = [
        ("Agreement by neighbourhood", table_html(_plain_agreement(summary, limit),
                                                  percent=["Mean agreement"])),
        ("Disputed ground", table_html(pd.DataFrame(disputed.drop(columns="geometry")))
         if len(disputed) else "<p>None.</p>"),
        ("Drawings flagged as possible outliers",
         table_html(listed.reset_index().rename(columns={
             "drawing_id": "Drawing", "name": "Neighbourhood", "area_m2": "Area (ha)",
             "n_flags": "Flags", "reasons": "Why"}).assign(**{
             "Area (ha)": lambda f: (f["Area (ha)"] / 1e4).round(1)}), max_rows=100)),
    ]
    section = Section("Many voices: consensus", "consensus", paragraphs=paragraphs,
                      figures=figures, tables=tables)
    return SectionResult(section, {
        "consensus_summary.csv": summary,
        "outliers.csv": flags.reset_index(),
        "_zones": pd.DataFrame(zones),
    })


def section_html(section: Section) -> str:
    """Render a legacy :class:`Section` (text, PNG figures, tables) as appendix HTML."""
    import html as _html

    parts = [f"<p>{_html.escape(p)}</p>" for p in section.paragraphs]
    parts += [f'<figure><img src="{uri}" alt="{_html.escape(alt)}" style="max-width:100%">'
              f"<figcaption>{_html.escape(alt)}</figcaption></figure>"
              for uri, alt in section.figures]
    parts += [f"<h4>{_html.escape(cap)}</h4><div class='tablewrap' tabindex='0' role='region' "
              f"aria-label='{_html.escape(cap)}'>{tab}</div>"
              for cap, tab in section.tables]
    return "".join(parts)


def build(facts: ReportFacts) -> SectionOutput:
    """Lay out the consensus of the drawings for the appendix ("" when there is none)."""
    given = facts.drawings
    if given.consensus is None or given.drawings is None:
        return SectionOutput("Many voices: consensus", "consensus", appendix=True)
    limit, out = facts.page.threshold, facts.out
    n_names = len(given.consensus.summary)
    con = consensus_section(given.consensus, given.drawings, report=given.read_report,
                            maps=n_names <= 40, threshold=limit)
    files = []
    for name, table in con.tables.items():
        if name == "_zones":
            zones = gpd.GeoDataFrame(table, geometry="geometry", crs=facts.page.areas.crs)
            write_gpkg(zones, out / "layers.gpkg", "consensus_zones", threshold=limit,
                       drop_personal=False)
        elif name in PER_DRAWING_FILES and not given.include_drawings:
            continue
        else:
            pub = (published_summary(table, limit) if name == "consensus_summary.csv"
                   else publish_frame(table, counts=(), threshold=limit))
            files.append(write_csv(pub, out / name))
    return SectionOutput(con.section.title, con.section.anchor, section_html(con.section),
                         files=files, appendix=True)
