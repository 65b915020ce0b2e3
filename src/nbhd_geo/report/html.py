"""The planner's overlap report: one self-contained HTML page plus tables for Excel/QGIS.

This module only lays out what the analyses computed: maps (matplotlib PNGs embedded
as data URIs, so the page works offline and can be e-mailed), tables, and a
plain-language paragraph per neighbourhood. Published tables pass through
:func:`nbhd_geo.io.disclosure.suppress_small_counts`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import pandas as pd

from nbhd_geo import __version__, settings
from nbhd_geo.io.disclosure import suppress_small_counts

__all__ = ["Section", "figure_to_data_uri", "neighbourhood_paragraph", "render_report",
           "table_html"]

_TEMPLATE = Path(__file__).with_name("templates") / "report.html.j2"


@dataclass
class Section:
    """A block of the report: heading, text, figures and tables.

    Attributes
    ----------
    title
        Heading.
    anchor
        HTML id for the table of contents.
    paragraphs
        Plain-language text (escaped when rendered).
    figures
        ``(data URI, alt text)`` pairs.
    tables
        ``(caption, HTML table)`` pairs; build tables with :func:`table_html`.
    subsections
        Nested sections (e.g. one per neighbourhood).
    """

    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    tables: list[tuple[str, str]] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)


def figure_to_data_uri(fig: Any, *, dpi: int = 96) -> str:
    """Render a matplotlib figure to a ``data:image/png;base64,...`` URI and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def table_html(
    df: pd.DataFrame,
    *,
    counts: Sequence[str] = (),
    percent: Sequence[str] = (),
    decimals: int = 2,
    index: bool = False,
    threshold: int | None = None,
    max_rows: int | None = None,
) -> str:
    """Format a table for the report: suppress small counts, format shares as percents.

    Parameters
    ----------
    df
        The table (not modified).
    counts
        Count-of-people columns: whole numbers, values below ``threshold`` shown as
        ``<10``.
    percent
        Share columns (0–1) shown as percentages.
    decimals
        Decimals for other float columns.
    index
        Include the index.
    threshold
        Small-count threshold (default ``settings.small_count_threshold``).
    max_rows
        Show at most this many rows (a note says how many were left out).
    """
    out = df.reset_index() if index else df.copy()
    present = [c for c in counts if c in out.columns]
    if present:
        out = suppress_small_counts(out, present, threshold=threshold)
    for col in percent:
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").map(
                lambda v: "" if pd.isna(v) else f"{100 * v:.1f}%"
            )
    for col in out.columns:
        if col not in present and col not in percent and pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:,.{decimals}f}")
    note = ""
    if max_rows is not None and len(out) > max_rows:
        note = f'<p class="note">Showing {max_rows} of {len(out)} rows; all are in the CSV.</p>'
        out = out.head(max_rows)
    return out.to_html(index=False, escape=True, border=0, classes="data") + note


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def neighbourhood_paragraph(
    name: str,
    touched: dict[str, int],
    fits: dict[str, pd.Series],
    *,
    primary: str | None = None,
) -> str:
    """One plain-language paragraph about a neighbourhood and its statutory stand-ins.

    Parameters
    ----------
    name
        The neighbourhood's name.
    touched
        Layer -> number of units it touches (slivers ignored).
    fits
        Layer -> that layer's best-fit quality row (``iou``, ``excluded_inside_share``,
        ``included_outside_share``, ``n_units_selected``).
    primary
        The layer described in detail (default: the first in ``fits``).

    Examples
    --------
    >>> import pandas as pd
    >>> fit = pd.Series({"iou": 0.72, "excluded_inside_share": 0.19,
    ...                  "included_outside_share": 0.12, "n_units_selected": 5})
    >>> print(neighbourhood_paragraph("Oakfield", {"LSOA": 7, "ward": 3}, {"LSOA": fit}))
    ... # doctest: +NORMALIZE_WHITESPACE
    Oakfield touches 7 LSOAs and 3 wards. Its best LSOA approximation (5 LSOAs) covers
    81% of it and adds 12% that residents did not draw (overlap score IoU 0.72).
    """
    parts = [f"{n} {layer}{'' if n == 1 else 's'}" for layer, n in touched.items()]
    touches = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    text = f"{name} touches {touches}."
    if fits:
        layer = primary if primary in fits else next(iter(fits))
        q = fits[layer]
        n = int(q["n_units_selected"])
        if n == 0:
            text += f" No whole {layer} is a fair stand-in for it: it is too small or too split."
        else:
            covered = 1 - float(q["excluded_inside_share"])
            text += (
                f" Its best {layer} approximation ({n} {layer}{'' if n == 1 else 's'}) covers "
                f"{_pct(covered)} of it and adds {_pct(float(q['included_outside_share']))} "
                f"that residents did not draw (overlap score IoU {float(q['iou']):.2f})."
            )
    return text


def render_report(
    path: str | Path,
    *,
    title: str,
    sections: Sequence[Section],
    summary: Sequence[tuple[str, str]] = (),
    attribution: Sequence[str] = (),
) -> Path:
    """Write the self-contained HTML report.

    Parameters
    ----------
    path
        Output file (``index.html``).
    title
        Page title.
    sections
        The report body, in order.
    summary
        ``(label, value)`` pairs shown at the top.
    attribution
        Data attributions (licences).
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATE.parent)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    page = env.get_template(_TEMPLATE.name).render(
        title=title,
        sections=sections,
        summary=summary,
        attribution=attribution,
        version=__version__,
        today=date.today().isoformat(),
        threshold=settings.small_count_threshold,
        markup=lambda s: jinja2.utils.markupsafe.Markup(s),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def layers_for_map(layers: dict[str, gpd.GeoDataFrame], names: Sequence[str]) -> dict[str, Any]:
    """Pick the named layers (in order) that exist, for a map legend."""
    return {n: layers[n] for n in names if n in layers}
