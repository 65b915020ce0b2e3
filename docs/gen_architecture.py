"""Draw the package layers from the real import graph (run by ``make docs``; checked by a test).

Writes ``docs/architecture.svg`` (one box per subpackage, in its import-linter layer, an
arrow for every package-level import except those into ``errors`` and ``settings``) and the
generated table in ``docs/architecture.md`` between the ``<!-- deps:begin -->`` /
``<!-- deps:end -->`` markers, and the table of the report's own parts (facts, sections,
page, ...) between ``<!-- report:begin -->`` / ``<!-- report:end -->``. Pure standard
library + grimp (import-linter's own graph builder), so the picture can never disagree with
the contracts.
"""

from __future__ import annotations

import re
import sys
from html import escape
from pathlib import Path

import grimp

DOCS = Path(__file__).resolve().parent
LAYERS: list[list[str]] = [
    ["cli"],
    ["report"],
    ["official"],
    ["reconcile"],
    ["measures", "deprivation", "voices", "pcn", "plan"],
    ["overlay"],
    ["io"],
    ["samples", "settings", "errors"],
]


def _edges(package: str, layers: list[list[str]]) -> dict[str, set[str]]:
    """Collect the imports between the sub-packages of ``package`` named in ``layers``."""
    graph = grimp.build_graph("nbhd_geo", cache_dir=None)
    known = {p for layer in layers for p in layer}
    root = package.split(".")
    depth = len(root)
    edges: dict[str, set[str]] = {p: set() for p in known}
    for module in graph.modules:
        parts = module.split(".")
        if parts[:depth] != root or len(parts) <= depth or parts[depth] not in known:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            ip = imported.split(".")
            if ip[:depth] == root and len(ip) > depth and ip[depth] in known \
                    and ip[depth] != parts[depth]:
                edges[parts[depth]].add(ip[depth])
    return edges


def package_edges() -> dict[str, set[str]]:
    """Package-level imports inside nbhd_geo (shims and the root excluded)."""
    return _edges("nbhd_geo", LAYERS)


def present(edges: dict[str, set[str]]) -> list[list[str]]:
    """Keep the layers' names that exist in the source tree, in layer order."""
    pkgs = [p.name for p in (DOCS.parent / "src" / "nbhd_geo").iterdir()]
    names = {p.removesuffix(".py") for p in pkgs}
    return [[p for p in layer if p in names] for layer in LAYERS if any(p in names for p in layer)]


def svg(edges: dict[str, set[str]]) -> str:
    """Draw one box per subpackage, row by layer, and an arrow per import between them."""
    layers = present(edges)
    w, bw, bh, gap_y = 900, 160, 40, 90
    pos: dict[str, tuple[float, float]] = {}
    for r, layer in enumerate(layers):
        n = len(layer)
        for i, p in enumerate(layer):
            x = (i + 1) * w / (n + 1)
            pos[p] = (x, 40 + r * gap_y)
    h = 40 + (len(layers) - 1) * gap_y + bh + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" '
           f'height="{h}" font-family="sans-serif" font-size="14" role="img" '
           'aria-label="nbhd_geo package layers and their imports">',
           '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#555"/></marker></defs>']
    for src in sorted(edges):
        for dst in sorted(edges[src]):
            # errors and settings are imported almost everywhere: arrows to them are noise.
            if src not in pos or dst not in pos or dst in {"errors", "settings"}:
                continue
            (x1, y1), (x2, y2) = pos[src], pos[dst]
            out.append(f'<line x1="{x1:.0f}" y1="{y1 + bh / 2:.0f}" x2="{x2:.0f}" '
                       f'y2="{y2 - bh / 2:.0f}" stroke="#999" stroke-width="1.2" '
                       'marker-end="url(#a)"/>')
    for p, (x, y) in pos.items():
        out.append(f'<rect x="{x - bw / 2:.0f}" y="{y - bh / 2:.0f}" width="{bw}" height="{bh}" '
                   'rx="6" fill="#e0f2f1" stroke="#00796b"/>')
        out.append(f'<text x="{x:.0f}" y="{y + 5:.0f}" text-anchor="middle">'
                   f'nbhd_geo.{escape(p)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


REPORT_LAYERS: list[list[str]] = [
    ["demo"], ["overlap"], ["page"], ["sections"], ["facts", "maps"], ["options"],
    ["qgis", "database"],
]


def report_edges() -> dict[str, set[str]]:
    """Collect the imports between the parts of ``nbhd_geo.report`` (facts, sections, ...)."""
    return _edges("nbhd_geo.report", REPORT_LAYERS)


def dependency_table(header: str, layers: list[list[str]], edges: dict[str, set[str]]) -> str:
    """Write a markdown table: each part, in layer order, with the parts it imports."""
    rows = [f"| {header} |", "|---|---|"]
    for layer in layers:
        for p in layer:
            deps = ", ".join(f"`{d}`" for d in sorted(edges.get(p, ()))) or "—"
            rows.append(f"| `{p}` | {deps} |")
    return "\n".join(rows)


def render() -> tuple[str, str]:
    """Return (svg text, architecture.md text) as they should be on disk."""
    edges = package_edges()
    md = (DOCS / "architecture.md").read_text()
    new = re.sub(r"(<!-- deps:begin -->\n).*?(<!-- deps:end -->)",
                 lambda m: m.group(1) + dependency_table(
                     "package | imports (inside nbhd_geo)", present(edges), edges)
                 + "\n" + m.group(2), md, flags=re.S)
    inner = report_edges()
    new = re.sub(r"(<!-- report:begin -->\n).*?(<!-- report:end -->)",
                 lambda m: m.group(1) + dependency_table(
                     "part of `report` | imports (inside `report`)", REPORT_LAYERS, inner)
                 + "\n" + m.group(2), new, flags=re.S)
    return svg(edges), new


def main() -> int:
    """Write the picture and the tables to ``docs/``."""
    s, md = render()
    (DOCS / "architecture.svg").write_text(s)
    (DOCS / "architecture.md").write_text(md)
    print("wrote docs/architecture.svg and the table in docs/architecture.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
