"""Griffe extension for the docs build: render the Sphinx markup of nbhd_geo docstrings.

The docstrings follow numpydoc and use a little reStructuredText that mkdocstrings does
not interpret: cross-reference roles (``:func:`nbhd_geo.crosswalk` ``), inline maths
(``:math:`x` ``), ``.. math::`` blocks and, in the prose before the first numpydoc
section, definition lists (a term line followed by an indented description). This
extension rewrites them, for the rendered site only, as Markdown code spans,
arithmatex maths (``$x$``, ``$$ … $$``) and bullet lists.
The source docstrings are unchanged. Loaded from ``mkdocs.yml`` by path.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_MATH_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. math::[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+.*\n|[ \t]*\n)+)",
    re.MULTILINE,
)


_SECTION = re.compile(r"^[A-Z][A-Za-z ]+\n-{3,}[ \t]*$", re.MULTILINE)


def _definition_lists(text: str) -> str:
    """Turn term-plus-indented-description blocks of the leading prose into bullets."""
    section = _SECTION.search(text)
    head, tail = (text[: section.start()], text[section.start():]) if section else (text, "")
    lines = head.split("\n")
    out: list[str] = []
    in_list = False
    i = 0
    while i < len(lines):
        line = lines[i]
        starts_item = (
            line.strip() != ""
            and not line[0].isspace()
            and i + 1 < len(lines)
            and lines[i + 1].startswith("    ")
            and lines[i + 1].strip() != ""
            and (i == 0 or lines[i - 1].strip() == "" or in_list)
        )
        if starts_item:
            j = i + 1
            body = []
            while j < len(lines) and lines[j].startswith("    "):
                body.append(lines[j].strip())
                j += 1
            out.append(f"- {line.strip()}: {' '.join(body)}")
            in_list = True
            i = j
            continue
        in_list = False
        out.append(line)
        i += 1
    return "\n".join(out) + tail


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2).strip()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _math_block(match: re.Match[str]) -> str:
    indent = match.group("indent")
    lines = [line.strip() for line in match.group("body").splitlines() if line.strip()]
    return f"{indent}$$\n" + "".join(f"{indent}{line}\n" for line in lines) + f"{indent}$$\n\n"


def rst_to_markdown(text: str) -> str:
    """Rewrite the reStructuredText constructs of a docstring as Markdown."""
    text = _definition_lists(text)
    text = _MATH_BLOCK.sub(_math_block, text if text.endswith("\n") else text + "\n")
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
    return _ROLE.sub(_role, text).rstrip("\n")


class RstToMarkdown(Extension):
    """Rewrite every docstring once the object tree is loaded."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:  # noqa: D102
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
