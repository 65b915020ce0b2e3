"""How the page words numbers: people rounded and suppressed, areas, shares, plurals.

Plain functions of plain values; each returns the text a reader sees. Used by the
facts (the shown form beside an exact figure) and by every section.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["area_text", "display_name", "layer_word", "money_text", "pct_text",
           "people_sum_text", "people_text", "people_value", "plural", "spans_text"]


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


def spans_text(pieces: Sequence[tuple[str, float]], unit: str, *, most: int = 4) -> str:
    """Where a neighbourhood lies, in words.

    Parameters
    ----------
    pieces
        ``(unit name, share of the neighbourhood's area)``, largest first, slivers
        (under 1 %) already left out. When every unit is named, what they leave of the
        area is shown as ``elsewhere`` if it rounds to 1 % or more, so the parts add to
        100 %.
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
    >>> spans_text([("Walkley", 0.8485), ("Crookes", 0.1429)], "ward")  # 0.86 % in slivers
    'split across 2 wards: Walkley 85 %, Crookes 14 %, elsewhere 1 %'
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
        from nbhd_geo.report.facts.table import round_parts

        # What the named units leave of the area (pieces under 1 % of other units, or no
        # unit at all) is a part too, or two named shares of 85 % and 14 % read as a slip.
        rest = max(0.0, 1.0 - sum(float(s) for _, s in pieces))
        shown = round_parts([100 * float(s) for _, s in pieces] + [100 * rest], 1)
        named = sep.join(f"{n} {v:.0f} %" for (n, _), v in zip(pieces, shown, strict=False))
        if shown[-1] >= 1:
            named += f"{sep}elsewhere {shown[-1]:.0f} %"
    else:
        named = sep.join(f"{n} {pct_text(s)}" for n, s in pieces[:most])
    more = f" and {len(pieces) - most} more" if len(pieces) > most else ""
    return f"split across {plural(len(pieces), unit)}: {named}{more}"


def money_text(v: float | None, decimals: int = 0) -> str:
    """Pounds as ``"£1,234"``; ``"–"`` when unknown."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"£{v:,.{decimals}f}"


def people_sum_text(parts: Sequence[float], threshold: int) -> tuple[list[str], str]:
    """Texts of people parts and their total that add up as printed."""
    total = float(sum(parts))
    if any(0 < p < threshold for p in parts) or total < threshold:
        return [people_text(p, threshold) for p in parts], "about " + people_text(total,
                                                                                 threshold)
    from nbhd_geo.report.facts.table import people_step, round_parts

    shown = round_parts(parts, people_step(total))
    return [f"{int(v):,}" for v in shown], f"{int(sum(shown)):,}"


_ACRONYMS = {"oa", "lsoa", "msoa", "lad", "pcn", "icb", "ltla", "utla", "pcon"}


def layer_word(layer: str) -> str:
    """How a layer is named in sentences: ``lsoa`` -> ``LSOA``, ``wards`` -> ``ward``.

    Examples
    --------
    >>> layer_word("lsoa"), layer_word("wards"), layer_word("ward")
    ('LSOA', 'ward', 'ward')
    """
    low = layer.lower()
    if low in _ACRONYMS:
        return low.upper()
    if low.endswith("s") and low[:-1] in {"ward", "pcn", "lsoa", "msoa", "oa"}:
        return layer_word(low[:-1])
    return layer


def display_name(layer: str) -> str:
    """Layer name as planners write it: ``lsoa`` -> ``LSOA``, ``ward`` -> ``ward``."""
    return layer.upper() if layer.lower() in _ACRONYMS else layer
