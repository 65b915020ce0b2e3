"""The ``nbhd-geo`` command line: one click group, one module per concern.

The top of the dependency graph: it may import anything in the library; nothing imports it.
"""

from __future__ import annotations

from nbhd_geo.cli.main import cli, main

__all__ = ["cli", "main"]
