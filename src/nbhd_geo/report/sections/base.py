"""The one shape of a section: facts in, an HTML fragment and the tables it wrote out.

A section of the planner's page is a module of :mod:`nbhd_geo.report.sections` with a
function ``build(facts: ReportFacts) -> SectionOutput`` (the :class:`ReportSection`
protocol). It reads :class:`~nbhd_geo.report.facts.report.ReportFacts`, writes its
published tables under ``facts.out`` and returns a :class:`SectionOutput`: its fragment
of HTML (rendered from its template in ``sections/templates/`` by
:func:`render_fragment`), the files it wrote, and any shaded layers for the page's map.
:func:`nbhd_geo.report.page.assemble.write_page` puts the fragments in order.

Also here: the blocks sections lay out (:func:`html_table`, :func:`shade_layer`,
:class:`ExtraSection`) and those of the matplotlib report (:class:`Section`,
:func:`table_html`, :func:`figure_to_data_uri`).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import geopandas as gpd
import jinja2
import pandas as pd

from nbhd_geo.io.disclosure import suppress_small_counts
from nbhd_geo.report.maps.webmap import geojson_layer

if TYPE_CHECKING:
    from nbhd_geo.report.facts.report import ReportFacts

__all__ = ["ExtraSection", "ReportSection", "Section", "SectionOutput", "SectionResult", "cap",
           "figure_to_data_uri", "html_table", "render_fragment", "render_sections",
           "shade_layer", "table_html"]

_TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class SectionOutput:
    """What one section gives the page.

    Attributes
    ----------
    title, anchor
        Heading and HTML id.
    html
        The section's HTML fragment ("" when it adds nothing to the page).
    files
        The tables it wrote (under ``facts.out``).
    map_layers
        Shaded layers it adds to the page's map (see :func:`shade_layer`).
    appendix
        The fragment goes in "Methods and checks" (under ``title``) rather than after the map.
    """

    title: str
    anchor: str
    html: str = ""
    files: list[Path] = field(default_factory=list)
    map_layers: list[dict[str, Any]] = field(default_factory=list)
    appendix: bool = False


class ReportSection(Protocol):
    """A section of the page: facts in; an HTML fragment and the tables it wrote out."""

    def __call__(self, facts: ReportFacts, /) -> SectionOutput:  # pragma: no cover
        """Build the section from ``facts``, writing its tables under ``facts.out``."""
        ...


def cap(word: str) -> str:
    """Capitalise a layer's word for a heading, leaving acronyms alone.

    Examples
    --------
    >>> cap("ward"), cap("LSOA")
    ('Ward', 'LSOA')
    """
    return word if word.isupper() else word[:1].upper() + word[1:]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )


def render_fragment(template: str, **context: Any) -> str:
    """Render a section's template (``sections/templates/<template>``) to an HTML fragment.

    Text is escaped; ``markup(html)`` in a template marks HTML built and escaped already.
    ``cap`` is :func:`cap`.
    """
    return _environment().get_template(template).render(
        markup=jinja2.utils.markupsafe.Markup, cap=cap, **context)


def render_sections(sections: Sequence[ExtraSection]) -> str:
    """Render sections shown after the map (``extra_section.html.j2``) as one fragment."""
    return "\n\n".join(render_fragment("extra_section.html.j2", s=s) for s in sections)


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


@dataclass
class SectionResult:
    """A report section and the tables behind it (file name -> table)."""

    section: Section
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class ExtraSection:
    """A section of the planner page added after the map.

    Attributes
    ----------
    title, anchor
        Heading and HTML id.
    paragraphs
        Plain sentences.
    blocks
        ``{"caption": str, "html": str, "open": bool}``: tables (already escaped HTML)
        shown under a collapsible heading (open when ``open``).
    legend
        ``(colour, text)`` pairs describing a map layer's shading.
    """

    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)


def html_table(head: Sequence[str], rows: Sequence[Sequence[Any]],
                num: Sequence[bool] | None = None) -> str:
    """Return a plain HTML table; every cell escaped."""
    num = list(num) if num is not None else [False] * len(head)
    cls = [' class="num"' if n else "" for n in num]
    th = "".join(f'<th scope="col"{c}>{html.escape(str(h))}</th>' for h, c in zip(head, cls,
                                                                                   strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{c}>{html.escape(str(v))}</td>" for v, c in zip(r, cls,
                                                                                strict=True))
        + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def shade_layer(key: str, label: str, frame: gpd.GeoDataFrame, names: Sequence[str],
                fills: Sequence[str | None], colour: str = "#243b53") -> dict[str, Any]:
    """Build a web-map layer of polygons filled per feature (``kind="shade"``, unticked).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> f = gpd.GeoDataFrame(geometry=[shapely.box(430000, 420000, 431000, 421000)],
    ...                      crs=27700)
    >>> m = shade_layer("x", "X", f, ["A"], ["#ff0000"])
    >>> m["kind"], '"fill":"#ff0000"' in m["geojson"]
    ('shade', True)
    """
    props = pd.DataFrame({"name": list(names), "fill": list(fills)}, index=frame.index)
    return {"key": key, "label": label, "kind": "shade", "colour": colour, "checked": False,
            "geojson": geojson_layer(frame, props, tolerance_m=10)}


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
