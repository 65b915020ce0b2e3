"""A cold numba cache is filled by a child process, on another core, and loaded by the parent.

Real processes throughout: each script runs in a fresh interpreter with its own empty
``NUMBA_CACHE_DIR``. Most use a two-kernel family in a module of the test's own folder
(``fam.py``, compiled in about a second); one uses the real overlay and consensus families,
as ``nbhd-geo demo`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

FAMILY = """
    import numba as nb
    from nbhd_geo.overlay.exact.jit import KernelSet

    FAM = KernelSet("fam", home="fam")

    @FAM.kernel((nb.int64,))
    def _twice(x):
        return 2 * x

    @FAM.kernel((nb.int64,), entry=True)
    def quad(x):
        return _twice(_twice(x))
"""


def _run(folder: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script in ``folder``, beside ``fam.py``; its cache in ``folder``."""
    (folder / "fam.py").write_text(textwrap.dedent(FAMILY))
    script = folder / "script.py"
    script.write_text(textwrap.dedent(code))
    full_env = {**os.environ, "PYTHONPATH": SRC, "NUMBA_CACHE_DIR": str(folder / "cache"),
                "NBHD_GEO_PRECOMPILE": "1", **env}
    return subprocess.run([sys.executable, str(script)], env=full_env, cwd=folder,
                          capture_output=True, text=True, timeout=300, check=False)


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie waiting for init counts as exited)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "\nState:\tZ" in fh.read()
    except FileNotFoundError:
        return True


def test_the_real_families_compile_in_children_and_the_parent_loads_them(tmp_path):
    # what `nbhd-geo demo` does with an empty cache: both families compiled by children
    # (forced: the test may be given one core), the parent loads them, nothing compiled in
    # the parent (compiling imports numba's typing registries, loading does not)
    code = """
        import os, sys
        import numpy as np, shapely, geopandas as gpd
        import nbhd_geo
        from nbhd_geo.overlay.exact import OVERLAY, compile_in_background, compile_kernels
        from nbhd_geo.voices import _grid
        from nbhd_geo.voices._kernels import KERNELS

        _grid.compile_in_background()
        compile_in_background()
        children = [OVERLAY._child, KERNELS._child]
        pids = [c.pid for c in children if c is not None]
        compile_kernels()
        _grid.compile_kernels()
        a = gpd.GeoDataFrame({"i": [1]}, geometry=[shapely.box(0, 0, 2, 2)], crs=27700)
        b = gpd.GeoDataFrame({"j": [1]}, geometry=[shapely.box(1, 1, 4, 3)], crs=27700)
        area = nbhd_geo.crosswalk(a, b, source_id="i", target_id="j").table.area_m2.tolist()
        g = _grid.Grid(0.0, 0.0, 1.0, 12, 12)
        geoms = np.array([shapely.box(1, 1, 6, 5), shapely.box(3, 2, 9, 8)])
        gi, row, c0, c1 = _grid.rasterise(geoms, g)
        cells = [p.area for p in _grid.runs_to_geometry(row, c0, c1, g, gi, 2)]
        loaded = all(len(d.overloads) == 1 for ks in (OVERLAY, KERNELS)
                     for d, _, entry in ks.kernels if entry)
        print(len(pids), os.getpid() not in pids, [c and c.returncode for c in children],
              loaded, "numba.np.arraymath" in sys.modules, area, cells)
    """
    cold = _run(tmp_path, code, NBHD_GEO_PRECOMPILE="process")
    assert cold.returncode == 0, cold.stderr
    assert cold.stdout.strip().split(maxsplit=6) == ["2", "True", "[0,", "0]", "True",
                                                     "False", "[1.0] [20.0, 36.0]"]
    # warm: loaded in the thread, no child
    warm = _run(tmp_path, code, NBHD_GEO_PRECOMPILE="process")
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.strip().split(maxsplit=4) == ["0", "True", "[None,", "None]",
                                             "True False [1.0] [20.0, 36.0]"]


def test_a_child_that_dies_times_out_or_caches_elsewhere_leaves_it_to_the_parent(tmp_path):
    # each way a child can fail: the parent compiles in-process (numba's registries
    # imported), with the right result, and the child is reaped
    code = """
        import os, pathlib, signal, sys
        import fam
        how = os.environ["HOW"]
        if how == "elsewhere":  # numba has read its cache folder; the child reads this one
            os.environ["NUMBA_CACHE_DIR"] = os.path.abspath("elsewhere")
        if how == "timeout":
            fam.FAM.child_timeout = 0.01
        thread = fam.FAM.compile_in_background()
        child = fam.FAM._child
        if how == "killed":  # as the kernel's out-of-memory killer would
            os.kill(child.pid, signal.SIGKILL)
        thread.join()
        elsewhere = sorted(f.name.split("-")[0] for f in pathlib.Path(".").glob("elsewhere/*/*.nbi"))
        print(child.returncode, fam.quad(5), "numba.np.arraymath" in sys.modules,
              fam.FAM._seconds is not None, elsewhere)
    """
    expected = {"killed": "-9", "timeout": "-9", "elsewhere": "0"}
    for how, code_ in expected.items():
        folder = tmp_path / how
        folder.mkdir()
        proc = _run(folder, code, NBHD_GEO_PRECOMPILE="process", HOW=how)
        assert proc.returncode == 0, proc.stderr
        cached_elsewhere = "['fam._twice', 'fam.quad']" if how == "elsewhere" else "[]"
        assert proc.stdout.strip().split(maxsplit=4) == [code_, "20", "True", "True", cached_elsewhere]
        # the parent's own compile filled its cache: the next process loads, no child
        again = _run(folder, """
            import sys, fam
            print(fam.FAM.compile_in_background() is not None, fam.FAM.compile() >= 0,
                  fam.FAM._child, fam.quad(1), "numba.np.arraymath" in sys.modules)
        """, NBHD_GEO_PRECOMPILE="process")
        assert again.stdout.split() == ["True", "True", "None", "4", "False"], again.stderr


def test_thread_or_off_starts_no_child_and_one_core_starts_one(tmp_path):
    # one core: a child still (at the lowest priority, so this process's own work comes
    # first); "thread" compiles in a thread; "0" does nothing in the background
    code = """
        import os, sys
        if os.environ.get("ONE_CORE"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        import fam
        thread = fam.FAM.compile_in_background()
        child = fam.FAM._child
        if thread is not None:
            thread.join()
        print(thread is not None, child is not None, fam.quad(3))
    """
    (tmp_path / "one").mkdir()
    proc = _run(tmp_path / "one", code, ONE_CORE="1")
    assert proc.stdout.split() == ["True", "True", "12"], proc.stderr
    (tmp_path / "thread").mkdir()
    proc = _run(tmp_path / "thread", code, NBHD_GEO_PRECOMPILE="thread")
    assert proc.stdout.split() == ["True", "False", "12"], proc.stderr
    (tmp_path / "off").mkdir()
    proc = _run(tmp_path / "off", code, NBHD_GEO_PRECOMPILE="0")
    assert proc.stdout.split() == ["False", "False", "12"], proc.stderr


def test_exiting_while_a_child_compiles_leaves_it_to_finish_for_the_next_process(tmp_path):
    # the parent exits at once (cleanly, or killed with no exit handlers); its child goes
    # on, in a session of its own, and the next process loads what it cached
    code = """
        import os, sys
        import fam
        fam.FAM.compile_in_background()
        print(fam.FAM._child.pid, os.getsid(fam.FAM._child.pid) != os.getsid(0), flush=True)
        if sys.argv[1:] == ["killed"]:
            os._exit(0)
    """
    env = {**os.environ, "PYTHONPATH": SRC, "NBHD_GEO_PRECOMPILE": "process"}
    for how in ("exits", "killed"):
        folder = tmp_path / how
        folder.mkdir()
        (folder / "fam.py").write_text(textwrap.dedent(FAMILY))
        (folder / "script.py").write_text(textwrap.dedent(code))
        proc = subprocess.run([sys.executable, "script.py", how], cwd=folder, timeout=120,
                              env={**env, "NUMBA_CACHE_DIR": str(folder / "cache")},
                              capture_output=True, text=True, check=True)
        pid, own_session = proc.stdout.split()
        assert own_session == "True"
        for _ in range(1200):  # the child imports numba first: slow on a loaded machine
            if _gone(int(pid)):
                break
            time.sleep(0.1)
        assert _gone(int(pid))
        cached = sorted(p.name.split("-")[0] for p in (folder / "cache").rglob("*.nbi"))
        assert cached == ["fam._twice", "fam.quad"], how
        again = _run(folder, """
            import sys, fam
            fam.FAM.load_in_background().join()
            print(fam.FAM._seconds is not None, fam.quad(1), "numba.np.arraymath" in sys.modules)
        """)
        assert again.stdout.split() == ["True", "4", "False"], again.stderr


def test_no_writable_cache_starts_no_child_and_concurrent_callers_share_one(tmp_path):
    # no cache folder can be written (numba's own probe says read-only, as in
    # test_compile.py): a child would fill nothing, so none starts; one warning
    (tmp_path / "ro").mkdir()
    proc = _run(tmp_path / "ro", """
        import errno, os, warnings
        from numba.core import caching

        def read_only(self):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), self.get_cache_path())

        caching._CacheLocator.ensure_cache_path = read_only
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import fam
        thread = fam.FAM.compile_in_background()
        thread.join()
        msgs = [w for w in caught if "cache cannot be written" in str(w.message)]
        print(len(msgs), fam.FAM._child, fam.quad(2))
    """, NBHD_GEO_PRECOMPILE="process")
    assert proc.stdout.split() == ["1", "None", "8"], proc.stderr
    # a cold cache and eight threads asking at once: one child, one load, the same answer
    (tmp_path / "many").mkdir()
    proc = _run(tmp_path / "many", """
        import sys, threading
        import fam
        fam.FAM.compile_in_background()
        child = fam.FAM._child
        seconds = []
        threads = [threading.Thread(target=lambda: seconds.append(fam.FAM.compile()))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(child.returncode, fam.FAM._child is child, len(set(seconds)), len(seconds),
              [len(d.overloads) for d, _, _ in fam.FAM.kernels],
              "numba.np.arraymath" in sys.modules, fam.quad(7))
    """, NBHD_GEO_PRECOMPILE="process")
    # loaded: only the entry kernel has machine code here (its callee is inside it)
    assert proc.stdout.strip().split(maxsplit=4) == ["0", "True", "1", "8",
                                                     "[0, 1] False 28"], proc.stderr
