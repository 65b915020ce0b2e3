"""Tiered kernels: before the cache is warm, kernels run as Python while that is cheaper.

Real processes with their own empty ``NUMBA_CACHE_DIR``: the Python twins of the kernels
must give exactly what the machine code gives (compared bit for bit with this process's
compiled kernels, on real boundaries and on shapes chosen to be hard), the ski-rental rule
must compile when, and only when, running as Python would cost more, and a process that ran
kernels as Python must leave the cache filled for the next one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from nbhd_geo.overlay.exact import intersection_areas_stats
from nbhd_geo.overlay.exact.join import prove_valid_reading
from nbhd_geo.overlay.exact.rings import proven_valid
from nbhd_geo.voices.consensus import consensus

from .conftest import shared_path

SRC = str(Path(__file__).resolve().parents[1] / "src")
DRAWINGS = str(Path(__file__).resolve().parents[1] / "data" / "samples" / "drawings_online.geojson")

FAMILY = """
    import numba as nb
    from nbhd_geo.overlay.exact.jit import KernelSet

    # compiling "costs" 0.5 s, and each unit of work 0.1 s as Python
    FAM = KernelSet("fam", home="fam", seconds=0.5)

    @FAM.kernel((nb.int64,))
    def _twice(x):
        return 2 * x

    @FAM.kernel((nb.int64,), entry=True, rate=0.1)
    def quad(x):
        return _twice(_twice(x))
"""


def _script(folder: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in ``folder`` (beside ``fam.py``), cache there."""
    folder.mkdir(exist_ok=True)
    (folder / "fam.py").write_text(textwrap.dedent(FAMILY))
    (folder / "script.py").write_text(textwrap.dedent(code))
    full_env = {**os.environ, "PYTHONPATH": SRC, "NUMBA_CACHE_DIR": str(folder / "cache"),
                "NBHD_GEO_PRECOMPILE": "1", "NBHD_GEO_INTERPRET": "auto", **env}
    return subprocess.run([sys.executable, "script.py"], env=full_env, cwd=folder,
                          capture_output=True, text=True, timeout=600, check=False)


def _hard_shapes() -> tuple[np.ndarray, np.ndarray]:
    """Shapes the engine finds hard: shared edges, holes, parts, touching corners, slivers."""
    rng = np.random.default_rng(7)
    grid = [box(x, y, x + 1, y + 1) for x in range(6) for y in range(6)]
    holed = Polygon([(0.5, 0.5), (4.5, 0.5), (4.5, 4.5), (0.5, 4.5)],
                    [[(1.5, 1.5), (3.5, 1.5), (3.5, 3.5), (1.5, 3.5)]])
    parts = MultiPolygon([box(-1, -1, 0.5, 0.5), box(5.5, 5.5, 7, 7), box(2, 2, 2.5, 2.5)])
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    r = 2.2 + 0.4 * np.sin(7 * t) + 0.05 * rng.standard_normal(400)
    wobbly = shapely.make_valid(Polygon(np.c_[3 + r * np.cos(t), 3 + r * np.sin(t)]))
    sliver = Polygon([(0, 3), (6, 3 + 1e-9), (6, 3 + 2e-9)])
    corner = box(1, 1, 2, 2).union(box(2, 2, 3, 3))  # two squares touching at a corner
    comb = shapely.union_all([box(i / 10, 0, i / 10 + 0.05, 6) for i in range(60)])
    a = np.array(grid + [corner], dtype=object)
    b = np.array([holed, parts, wobbly, sliver, comb], dtype=object)
    return a, b


def _wakefield() -> tuple[np.ndarray, np.ndarray]:
    lsoa = gpd.read_file(shared_path("ons", "wakefield", "lsoa11.geojson")).to_crs(27700)
    wards = gpd.read_file(shared_path("ons", "wakefield", "wards13.geojson")).to_crs(27700)
    return lsoa.geometry.to_numpy(), wards.geometry.to_numpy()


def test_python_twins_give_exactly_what_the_machine_code_gives(tmp_path):
    # the child has an empty cache and may not compile (NBHD_GEO_PRECOMPILE=0 leaves no
    # child at exit): every kernel runs as Python; this process runs machine code
    cases = {"hard": _hard_shapes(), "wakefield": _wakefield()}
    for name, (a, b) in cases.items():
        np.save(tmp_path / f"{name}_a.npy", shapely.to_wkb(a))
        np.save(tmp_path / f"{name}_b.npy", shapely.to_wkb(b))
    proc = _script(tmp_path / "py", f"""
        import numpy as np, shapely, sys
        from nbhd_geo.overlay.exact import OVERLAY, intersection_areas_stats
        from nbhd_geo.overlay.exact.join import prove_valid_reading
        from nbhd_geo.overlay.exact.rings import proven_valid
        from nbhd_geo.voices import _grid
        root = "{tmp_path}"
        for name in ("hard", "wakefield"):
            a = shapely.from_wkb(np.load(f"{{root}}/{{name}}_a.npy", allow_pickle=True))
            b = shapely.from_wkb(np.load(f"{{root}}/{{name}}_b.npy", allow_pickle=True))
            for threads in (1, 2):
                ia, ib, area, stats = intersection_areas_stats(a, b, threads=threads)
                ab = np.r_[a, b]
                np.savez(f"{{root}}/{{name}}_{{threads}}.npz", ia=ia, ib=ib, area=area,
                         crossings=stats["crossings"], valid=proven_valid(ab),
                         read=prove_valid_reading(ab, np.arange(len(ab)), {{}}))
        import geopandas as gpd
        from nbhd_geo.voices.consensus import consensus
        c = consensus(gpd.read_file("{DRAWINGS}"), base=25.0)
        c.cores.to_wkb().to_pickle(f"{{root}}/cores.pkl")
        c.surface.to_pickle(f"{{root}}/surface.pkl")
        c.contested.to_wkb().to_pickle(f"{{root}}/contested.pkl")
        compiled = [len(k.overloads) for fam in (OVERLAY, _grid.KERNELS)
                    for k, _, _ in fam.kernels]
        print(OVERLAY._seconds, _grid.KERNELS._seconds, sum(compiled),
              "numba.np.arraymath" in sys.modules)
    """, NBHD_GEO_INTERPRET="always", NBHD_GEO_PRECOMPILE="0")
    # nothing compiled, nothing loaded: every result below came from the Python twins
    assert proc.stdout.split() == ["None", "None", "0", "False"], proc.stderr
    for name, (a, b) in cases.items():
        for threads in (1, 2):
            ia, ib, area, stats = intersection_areas_stats(a, b, threads=threads)
            got = np.load(tmp_path / f"{name}_{threads}.npz")
            assert len(ia) > 20
            np.testing.assert_array_equal(got["ia"], ia)
            np.testing.assert_array_equal(got["ib"], ib)
            assert got["area"].tobytes() == area.tobytes()  # bit for bit
            assert int(got["crossings"]) == stats["crossings"]
            np.testing.assert_array_equal(got["valid"], proven_valid(np.r_[a, b]))
            read = prove_valid_reading(np.r_[a, b], np.arange(len(a) + len(b)), {})
            np.testing.assert_array_equal(got["read"], read)
            assert read.sum() > got["valid"].sum()  # holes and parts shown too
    c = consensus(gpd.read_file(DRAWINGS), base=25.0)
    assert len(c.cores) > 5
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "cores.pkl"), c.cores.to_wkb())
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "surface.pkl"), c.surface,
                                  check_exact=True)
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "contested.pkl"),
                                  c.contested.to_wkb())


def test_ski_rental_runs_python_while_cheaper_then_compiles(tmp_path):
    # quad's rate says 0.1 s per unit and the family's compile 0.5 s: a call of 2 or 4
    # units runs as Python, one of 6 (0.6 s) compiles first. A run's real seconds replace
    # its estimate (microseconds here), so calls that fit keep fitting.
    proc = _script(tmp_path / "rent", """
        import sys
        import fam
        F = fam.FAM
        first = F.pick(fam.quad, 2)
        print(first is fam.quad, first(3), F._seconds is None,
              "numba.np.arraymath" in sys.modules, F._spent < 0.01)
        mid = F.pick(fam.quad, 4)
        print(mid is fam.quad, mid(5), F._seconds is None)
        big = F.pick(fam.quad, 6)
        print(big is fam.quad, big(1), F._seconds is not None)
    """, NBHD_GEO_PRECOMPILE="0")
    assert [line.split() for line in proc.stdout.splitlines()] == [
        ["False", "12", "True", "False", "True"],
        ["False", "20", "True"],
        ["True", "4", "True"],
    ], proc.stderr
    # the rent is what was really spent: a kernel that takes time as Python runs as
    # Python until its seconds add up to the compile's, then compiles (ski rental)
    proc = _script(tmp_path / "spend", """
        import numba as nb
        from nbhd_geo.overlay.exact.jit import KernelSet
        F = KernelSet("spend", seconds=0.5)

        @F.kernel((nb.int64,), entry=True, rate=1e-9)
        def spin(n):
            s = 0
            for i in range(n):
                s += i % 7
            return s

        runs = 0
        kernel = F.pick(spin, 2_000_000)
        while kernel is not spin:
            kernel(2_000_000)  # tens of ms as Python
            runs += 1
            kernel = F.pick(spin, 2_000_000)
        print(runs, round(F._spent, 3), F._seconds is not None, spin(10))
    """, NBHD_GEO_PRECOMPILE="0")
    runs, spent, compiled, value = proc.stdout.split()
    assert compiled == "True" and value == "24", proc.stderr
    # stopped once one more run would pass 0.5 s: spent within one run of it
    assert 2 <= int(runs) and 0.25 <= float(spent) <= 0.5, proc.stdout
    # never: compile first whatever the cost
    proc = _script(tmp_path / "never", """
        import fam
        print(fam.FAM.pick(fam.quad, 0) is fam.quad, fam.FAM._seconds is not None)
    """, NBHD_GEO_INTERPRET="never", NBHD_GEO_PRECOMPILE="0")
    assert proc.stdout.split() == ["True", "True"], proc.stderr


# A crosswalk of Wakefield's LSOAs and wards in a fresh process, recording for each chunk of
# the pair kernel whether it ran as Python; at chunk SWITCH_AT the machine code arrives.
_PAIR_CALL = """
import numpy as np, shapely
from nbhd_geo.overlay.exact import OVERLAY, intersection_areas_stats
from nbhd_geo.overlay.exact.join import _candidates
from nbhd_geo.overlay.exact.pairs import _pairs_kernel
a = shapely.from_wkb(np.load("ROOT/a.npy", allow_pickle=True))
b = shapely.from_wkb(np.load("ROOT/b.npy", allow_pickle=True))
SETUP
picked = []
pick = OVERLAY.pick
def recording(disp, work):
    if disp is _pairs_kernel and len(picked) == SWITCH_AT:
        OVERLAY.compile()  # loads the warm cache (compiles if it is cold)
    kernel = pick(disp, work)
    if disp is _pairs_kernel:
        picked.append(kernel is not disp)
    return kernel
OVERLAY.pick = recording
ia, ib, area, _ = intersection_areas_stats(a, b, threads=THREADS)
np.savez("ROOT/out.npz", ia=ia, ib=ib, area=area)
print(OVERLAY.ready, picked, round(OVERLAY._spent, 1) < OVERLAY.seconds)
"""


def _pair_call(tmp_path: Path, setup: str, *, threads: int, switch_at: int = -1,
               **env: str) -> tuple[str, str]:
    """Run :data:`_PAIR_CALL`; return its output and whether its areas are this process's."""
    a, b = _wakefield()
    np.save(tmp_path / "a.npy", shapely.to_wkb(a))
    np.save(tmp_path / "b.npy", shapely.to_wkb(b))
    code = (_PAIR_CALL.replace("SETUP\n", textwrap.dedent(setup))
            .replace("ROOT", str(tmp_path)).replace("SWITCH_AT", str(switch_at))
            .replace("THREADS", str(threads)))
    proc = _script(tmp_path / "call", code, NBHD_GEO_PRECOMPILE="0", **env)
    ia, ib, area, _ = intersection_areas_stats(a, b, threads=1)
    got = np.load(tmp_path / "out.npz")
    same = (np.array_equal(got["ia"], ia) and np.array_equal(got["ib"], ib)
            and got["area"].tobytes() == area.tobytes())
    return proc.stdout.strip() or proc.stderr, str(same)


def test_a_large_call_is_estimated_from_its_own_first_chunks(tmp_path):
    # The pair kernel's cost per edge varies tenfold between layers. Declare a rate that
    # puts the whole call at about 100 s, five times a 20 s compile, but its first chunk
    # (1/32 of the edges) at about 3 s: that chunk runs as Python, shows the real rate (a
    # few microseconds per edge), and the rest follows as Python, where one estimate for
    # the whole call would have compiled.
    out, same = _pair_call(tmp_path, """
        pi, pj = _candidates(a, b)
        edges = float((shapely.get_num_coordinates(a)[pi]
                       + shapely.get_num_coordinates(b)[pj]).sum())
        OVERLAY.seconds = 20.0
        OVERLAY._rates[id(_pairs_kernel)] = 100.0 / edges
    """, threads=1)
    assert out == f"False {[True] * 32} True"
    assert same == "True"


def test_pairs_switch_from_python_to_machine_code_mid_call(tmp_path):
    # the machine code arrives (here: the checkout's cache, warm under make) after three
    # chunks ran as Python: the rest of the call runs as machine code on two threads, and
    # the areas are the same bit for bit (no loading thread at import; the cache untried)
    out, same = _pair_call(tmp_path, """
        OVERLAY._tried_load = True  # as if the cache had been cold when the call began
    """, threads=2, switch_at=3, NUMBA_CACHE_DIR="")
    assert out == "True [True, True, True, False] True"
    assert same == "True"


def test_a_process_that_ran_python_leaves_the_cache_filled_for_the_next(tmp_path):
    # at exit the process starts a child compiling the family, which outlives it; the
    # child's pid is printed by an exit handler that runs after the one starting it
    first = _script(tmp_path / "exit", """
        import atexit, sys
        import fam
        atexit.register(lambda: print(fam.FAM._child.pid if fam.FAM._child else None))
        print(fam.FAM.pick(fam.quad, 1)(2))
    """)
    out = first.stdout.split()
    assert out[0] == "8" and out[1].isdigit(), first.stderr
    pid = int(out[1])
    idle = False  # the child asks for SCHED_IDLE first thing: only idle cores run it
    for _ in range(1200):  # the child imports numba, then compiles: slow on a busy machine
        try:
            idle = idle or os.sched_getscheduler(pid) == os.SCHED_IDLE
            with open(f"/proc/{pid}/status") as fh:
                if "\nState:\tZ" in fh.read():
                    break
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the child compiling at exit never finished")
    assert idle
    indexed = sorted(p.name.split("-")[0] for p in (tmp_path / "exit" / "cache").rglob("*.nbi"))
    assert indexed == ["fam._twice", "fam.quad"]
    # the next process loads the machine code: no Python twin, nothing compiled here
    second = _script(tmp_path / "exit", """
        import sys
        import fam
        fam.FAM.load_in_background().join()
        print(fam.FAM.pick(fam.quad, 10**9) is fam.quad, fam.FAM._ran_twins,
              "numba.np.arraymath" in sys.modules, fam.quad(3))
    """)
    assert second.stdout.split() == ["True", "False", "False", "12"], second.stderr
    # and with nothing loading it in the background, the first call loads it (a small call
    # included, which a cold cache would run as Python)
    second = _script(tmp_path / "exit", """
        import fam
        print(fam.FAM.pick(fam.quad, 1) is fam.quad, fam.FAM._ran_twins, fam.quad(3))
    """)
    assert second.stdout.split() == ["True", "False", "12"], second.stderr
    # a process that never ran Python starts nothing at exit
    third = _script(tmp_path / "exit", """
        import atexit
        import fam
        atexit.register(lambda: print(fam.FAM._child))
        fam.FAM.compile()
    """)
    assert third.stdout.split() == ["None"], third.stderr
