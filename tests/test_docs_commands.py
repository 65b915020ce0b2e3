"""Every command in the planner how-to runs, as written, on the bundled samples."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "how-to" / "planner-cli.md"


def _commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), flags=re.S)
    cmds = []
    for block in blocks:
        for cmd in block.replace("\\\n", " ").splitlines():
            if cmd.strip().startswith("nbhd-geo "):
                cmds.append(cmd.strip())
    return cmds


def test_the_page_has_commands():
    cmds = _commands()
    assert sum(c.startswith("nbhd-geo report") for c in cmds) >= 3
    # Every option of `report` is explained in the page.
    from nbhd_geo.cli.main import cli

    page = DOC.read_text()
    opts = [o for p in cli.commands["report"].params for o in getattr(p, "opts", [])
            if o.startswith("--") and o != "--help"]
    missing = [o for o in opts if f"`{o}" not in page]
    assert not missing, f"report options not documented: {missing}"


# The demo runs in tests/test_cli.py; every other command runs here.
@pytest.mark.parametrize("command", [c for c in _commands() if not c.startswith("nbhd-geo demo")],
                         ids=lambda c: " ".join(c.split()[:2]) + "…" + c[-24:])
def test_documented_command_runs(command, tmp_path):
    args = shlex.split(command.replace("$S", str(SAMPLES)))
    proc = subprocess.run([sys.executable, "-m", "nbhd_geo.cli", *args[1:]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
    if "--pdf" in args:
        pdf = tmp_path / args[args.index("--out") + 1] / "report.pdf"
        assert pdf.stat().st_size > 10_000
    if args[1] == "report":
        html = (tmp_path / args[args.index("--out") + 1] / "index.html").read_text()
        assert 'id="index-table"' in html and "Board summary" in html
