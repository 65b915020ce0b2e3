"""Execute every notebook in notebooks/ (in a temporary working copy) with nbclient.

Notebooks that need the real data in ../shared/data (or $NBHD_GEO_SHARED) list the
paths in their metadata (``metadata.nbhd_geo.requires_shared``) and are skipped, with
the reason, when any is absent. A notebook may also stop itself by raising its own
``SkipNotebook`` exception, which is turned into a pytest skip. Notebooks are kept in
the repository without outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat not installed (test extra)")
nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (test extra)")
pytest.importorskip("ipykernel", reason="ipykernel not installed (test extra)")

from nbclient.exceptions import CellExecutionError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SHARED = Path(os.environ.get("NBHD_GEO_SHARED", ROOT.parent / "shared" / "data")).resolve()
TIMEOUT_PER_CELL = 300
KERNEL_NAME = "nbhd-geo-test"


def _venv_kernel(root: Path) -> str:
    """Register a kernelspec running *this* interpreter (the venv's) under ``root``.

    The notebooks' own kernelspec is the generic ``python3``; a user-level ``python3``
    spec could point at another Python, so the test pins the kernel explicitly.
    """
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nbhd_geo test (venv)",
        "language": "python",
    }))
    return KERNEL_NAME


def test_notebooks_found():
    assert len(NOTEBOOKS) >= 5, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_imports_only_public_api(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "from nbhd_geo._" not in code and "nbhd_geo._" not in code, (
        f"{path.name} imports a private nbhd_geo module"
    )


def _needs_shared(path: Path) -> list[str]:
    return nbformat.read(path, as_version=4).metadata.get("nbhd_geo", {}).get("requires_shared", [])


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.stem, marks=[pytest.mark.shared] if _needs_shared(p) else [])
    for p in NOTEBOOKS
])
def test_notebook_runs(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    needed = nb.metadata.get("nbhd_geo", {}).get("requires_shared", [])
    missing = [p for p in needed if not (SHARED / p).exists()]
    if missing:
        pytest.skip(f"{path.name} needs shared data absent under {SHARED}: {missing}")

    work = tmp_path / "notebooks"
    work.mkdir()
    shutil.copy(path, work / path.name)
    # the kernel inherits this environment: shared data location, no GUI backend
    monkeypatch.setenv("NBHD_GEO_SHARED", str(SHARED))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    jupyter_data = tmp_path / "jupyter"
    kernel_name = _venv_kernel(jupyter_data)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_data))
    client = nbclient.NotebookClient(
        nb,
        timeout=TIMEOUT_PER_CELL,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(work)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        if err.ename == "SkipNotebook":
            pytest.skip(f"{path.name}: {err.evalue}")
        raise
    elapsed = time.perf_counter() - start
    print(f"{path.name}: {elapsed:.1f} s with {sys.executable}")
    errors = [
        out for cell in nb.cells if cell.cell_type == "code"
        for out in cell.get("outputs", []) if out.get("output_type") == "error"
    ]
    assert not errors, errors
