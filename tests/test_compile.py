"""Compiling the numba kernels: once, only where needed, and never fatal without a cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import shapely

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run(folder: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script file in ``folder`` (numba caches only functions in files)."""
    script = folder / "script.py"
    script.write_text(textwrap.dedent(code))
    full_env = {**os.environ, "PYTHONPATH": SRC, **env}
    return subprocess.run([sys.executable, str(script)], env=full_env, cwd=folder,
                          capture_output=True, text=True, timeout=300, check=False)


def test_importing_nbhd_geo_compiles_nothing_and_loads_only_a_warm_cache(tmp_path):
    # a script that never crosses layers must not pay for compiling; one that does gets the
    # kernels loaded from the cache while it reads its layers
    code = """
        import threading, nbhd_geo
        from nbhd_geo.overlay.exact import jit
        from nbhd_geo.voices._kernels import KERNELS
        compiling = [t.name for t in threading.enumerate() if "compile" in t.name]
        loading = jit.OVERLAY._loader is not None
        if loading:
            jit.OVERLAY._loader.join()
        compiled = sum(len(d.overloads) for d, _, _ in jit.OVERLAY.kernels)
        import sys
        # loading machine code skips numba's typing and lowering registries (only a compile
        # needs them): numba.np.arraymath is one of them
        registries = "numba.np.arraymath" in sys.modules
        state = [compiling, loading, jit.OVERLAY._seconds is not None, compiled > 0,
                 KERNELS._thread is None, registries]
        import shapely, geopandas as gpd
        a = gpd.GeoDataFrame({"i": [1]}, geometry=[shapely.box(0, 0, 2, 2)], crs=27700)
        b = gpd.GeoDataFrame({"j": [1]}, geometry=[shapely.box(1, 1, 4, 3)], crs=27700)
        area = nbhd_geo.crosswalk(a, b, source_id="i", target_id="j").table.area_m2.tolist()
        print(*state, area)
    """
    cache = str(tmp_path / "cache")
    cold = _run(tmp_path, code, NUMBA_CACHE_DIR=cache)
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.split() == ["[]", "True", "False", "False", "True", "False", "[1.0]"]
    warm_up = _run(tmp_path, "from nbhd_geo.overlay.exact import compile_kernels\n"
                   "compile_kernels()\n", NUMBA_CACHE_DIR=cache)
    assert warm_up.returncode == 0, warm_up.stderr
    warm = _run(tmp_path, code, NUMBA_CACHE_DIR=cache)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.split() == ["[]", "True", "True", "True", "True", "False", "[1.0]"]
    off = _run(tmp_path, code, NUMBA_CACHE_DIR=cache, NBHD_GEO_PRECOMPILE="0")
    assert off.stdout.split() == ["[]", "False", "False", "False", "True", "False", "[1.0]"]


def test_background_compilation_is_started_once_and_can_be_turned_off(tmp_path):
    proc = _run(tmp_path, """
        from nbhd_geo.overlay.exact.jit import KernelSet
        import numba as nb
        ks = KernelSet("t")

        @ks.kernel((nb.int64,), entry=True)
        def twice(x):
            return 2 * x

        first = ks.compile_in_background()
        again = ks.compile_in_background()  # already under way: no second thread
        first.join()
        print(first.name, again, ks.compile_in_background(), twice(21))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["nbhd_geo-compile-t", "None", "None", "42"]
    off = _run(tmp_path, """
        from nbhd_geo.voices._grid import compile_in_background
        print(compile_in_background())
    """, NBHD_GEO_PRECOMPILE="0")
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "None"


def test_no_writable_cache_folder_warns_and_still_computes(tmp_path):
    # Every folder numba tries is read-only (the package folder, $NUMBA_CACHE_DIR, the user
    # cache under $HOME): numba raises at decoration time, which made `import nbhd_geo`
    # fail; the kernels are compiled per process instead, with a warning. (Checked by hand
    # on read-only bind mounts; here numba's own writability probe reports read-only.)
    proc = _run(tmp_path, """
        import errno, os, warnings
        from numba.core import caching

        def read_only(self):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), self.get_cache_path())

        caching._CacheLocator.ensure_cache_path = read_only
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from nbhd_geo.overlay.exact.jit import KernelSet
            import numba as nb
            ks = KernelSet("t")

            @ks.kernel((nb.int64,), entry=True)
            def twice(x):
                return 2 * x

            @ks.kernel((nb.int64,), entry=True)
            def thrice(x):
                return 3 * x

        ks.compile()
        msgs = [str(w.message) for w in caught if "cache cannot be written" in str(w.message)]
        print(len(msgs), "NUMBA_CACHE_DIR" in msgs[0], twice(21), thrice(2))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "True", "42", "6"]


def test_consensus_kernels_have_one_signature_each():
    from nbhd_geo.voices import _grid
    from nbhd_geo.voices._kernels import KERNELS

    g = _grid.Grid(0.0, 0.0, 1.0, 12, 12)
    geoms = np.array([shapely.box(1, 1, 6, 5), shapely.box(3, 2, 9, 8)])
    gi, row, c0, c1 = _grid.rasterise(geoms, g)
    # int32 and non-contiguous inputs are converted, not compiled for
    _grid.sweep(row.astype(np.int32), c0[::1], c1, gi.astype(np.int32), np.ones(len(row)),
                np.array([1, 1], np.int32))
    _grid.claims(row, c0, c1, gi.astype(np.int32))
    merged = _grid.runs_to_geometry(row, c0, c1, g, gi, 2)
    assert [p.area for p in merged] == [20.0, 36.0]
    assert _grid.compile_kernels() >= 0.0
    names = sorted(disp.py_func.__name__ for disp, _, _ in KERNELS.kernels)
    assert names == ["_boundary_edges", "_claims", "_sweep", "_walk_rings"]
    assert all(len(disp.overloads) == 1 for disp, _, _ in KERNELS.kernels)


def test_rasterise_pairs_crossings_per_row_like_the_cell_centre_rule():
    # an L with a hole and a vertex on a centre line (y = 1.5): counted once
    from nbhd_geo.voices import _grid

    shape = shapely.Polygon([(0, 0), (6, 0), (6, 2), (3, 1.5), (2, 4), (0, 4)],
                            holes=[[(0.6, 0.6), (1.4, 0.6), (1.4, 1.4), (0.6, 1.4)]])
    g = _grid.Grid(0.0, 0.0, 1.0, 5, 7)
    gi, row, c0, c1 = _grid.rasterise(np.array([shape]), g)
    cells = {(int(r), int(c)) for r, a, b in zip(row, c0, c1, strict=True) for c in range(a, b)}
    centres = [(r, c) for r in range(5) for c in range(7)
               if shape.contains(shapely.Point(c + 0.5, r + 0.5))]
    assert cells == set(centres)
    assert (gi == 0).all() and len(cells) == 17


def test_rasterise_in_chunks_gives_the_same_runs(monkeypatch):
    # memory is bounded by rasterising whole polygons a few at a time: same runs, same order
    from nbhd_geo.voices import _grid

    rng = np.random.default_rng(3)
    geoms = np.array([shapely.buffer(shapely.points(rng.uniform(0, 40, 2)), rng.uniform(1, 9),
                                     quad_segs=4) for _ in range(30)] + [shapely.Polygon()],
                     dtype=object)
    g = _grid.Grid.covering(shapely.total_bounds(geoms), 0.5)
    whole = _grid.rasterise(geoms, g)
    monkeypatch.setattr(_grid, "_CHUNK", 7)
    chunked = _grid.rasterise(geoms, g)
    assert len(whole[0]) > 500
    assert all(np.array_equal(a, b) for a, b in zip(whole, chunked, strict=True))
