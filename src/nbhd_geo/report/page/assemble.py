"""Assemble the planner's page: run the page's sections, put their fragments in the template.

The sections (:mod:`nbhd_geo.report.sections`) each return a fragment; this module
orders them, adds the map (:mod:`~nbhd_geo.report.page.map`), the header, the footer,
Leaflet and the page's script (``templates/planner.html.j2``), and writes ``index.html``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2

from nbhd_geo import __version__
from nbhd_geo.report.facts.report import ReportFacts
from nbhd_geo.report.page.map import map_html, map_layers
from nbhd_geo.report.sections import appendix as appendix_section
from nbhd_geo.report.sections import board as board_section
from nbhd_geo.report.sections import details as details_section
from nbhd_geo.report.sections import index as index_section

__all__ = ["write_page"]


_TEMPLATE_DIR = Path(__file__).with_name("templates")
_ASSETS = Path(__file__).with_name("assets")


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


def write_page(facts: ReportFacts, path: Path) -> Path:
    """Run the page's sections on ``facts`` and write the whole page to ``path``.

    In order: the board summary, the index, the map (with the shading of the sections
    already run, ``facts.sections``), the sections shown after the map, the
    neighbourhoods one by one, and "Methods and checks".
    """
    page = facts.page
    board = board_section.build(facts)
    index = index_section.build(facts)
    shading = [m for s in facts.sections for m in s.map_layers]
    layers, js = map_layers(page, facts.rows, shading)
    for m in layers:
        m["geojson"] = m["geojson"].replace("</", "<\\/")
    details = details_section.build(facts)
    appendix = appendix_section.build(facts)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATE_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    markup = jinja2.utils.markupsafe.Markup
    text = env.get_template("planner.html.j2").render(
        page=page, board_html=board.html, index_html=index.html,
        map_html=map_html(page, layers), map_layers_js=js,
        body_sections=[s.html for s in facts.sections if not s.appendix],
        details_html=details.html, appendix_html=appendix.html,
        version=__version__, today=date.today().isoformat(),
        leaflet_js=markup(_asset("leaflet.js").replace("</script", "<\\/script")),
        leaflet_css=markup(_asset("leaflet.css")),
        markup=markup,
    )
    path.write_text(text, encoding="utf-8")
    return path
