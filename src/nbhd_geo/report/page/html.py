"""The planner's overlap report: one self-contained HTML page plus tables for Excel/QGIS.

This module only lays out what the analyses computed: maps (matplotlib PNGs embedded
as data URIs, so the page works offline and can be e-mailed), tables, and a
plain-language paragraph per neighbourhood. Published tables pass through
:func:`nbhd_geo.io.disclosure.suppress_small_counts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import pandas as pd

from nbhd_geo import __version__, settings
from nbhd_geo.report.sections.base import Section

__all__ = ["neighbourhood_paragraph", "render_report"]


_TEMPLATE = Path(__file__).with_name("templates") / "report.html.j2"


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
