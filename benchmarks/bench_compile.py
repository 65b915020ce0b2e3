"""What compiling the numba kernels costs: per family, and the demo's first run against its second.

Every measurement runs in a fresh process with its own empty ``NUMBA_CACHE_DIR`` (so the
checkout's own cache is neither used nor disturbed): CPU is the child's user + sys time
(all threads), wall its elapsed time, with the load average beside it (the machine is
shared; the cores the benchmark may use are in the header). A first demo runs the kernels
as Python and leaves child processes compiling them for the next run: the benchmark waits
for those before the second run, and reports how long they took. Not a test; prints a
table and keeps the raw lines.

    python benchmarks/bench_compile.py [--label LABEL] [--out benchmarks/results_compile_DATE.txt]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {
    "overlay": "from nbhd_geo.overlay.exact import compile_kernels as c; c()",
    "consensus": "from nbhd_geo.voices._grid import compile_kernels as c; c()",
}


def _run(args: list[str], cache: str, **env: str) -> tuple[float, float]:
    """Run a child process; return its (wall, CPU) seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "NUMBA_CACHE_DIR": cache,
                        **env})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _compiling() -> bool:
    """Whether a process compiling kernels for a cache (``_compile_in_child``) still runs."""
    return subprocess.run(["pgrep", "-f", "_compile_in_child"], capture_output=True,
                          check=False).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None,
                    help="Also append the lines to this file.")
    ap.add_argument("--label", default="", help="Said in the header (e.g. the commit).")
    ap.add_argument("--rounds", type=int, default=3,
                    help="Demo first and second runs, each with a new cache (medians).")
    opts = ap.parse_args()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    lines = [f"# bench_compile {opts.label} {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
             f"python {sys.version.split()[0]}, {os.cpu_count()} cores, allowed {cores}, "
             f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    print(lines[0], flush=True)

    def row(what: str, wall: float, cpu: float) -> None:
        load = os.getloadavg()[0]
        lines.append(f"{what:<48} wall {wall:7.2f} s  CPU {cpu:7.2f} s  load {load:5.2f}")
        print(lines[-1], flush=True)

    base = [sys.executable, "-c", "import nbhd_geo"]
    with tempfile.TemporaryDirectory() as cache:
        row("import nbhd_geo (nothing compiled)", *_run(base, cache))
    for name, code in FAMILIES.items():
        with tempfile.TemporaryDirectory() as cache:
            cold = _run([sys.executable, "-c", code], cache)
            warm = _run([sys.executable, "-c", code], cache)
            row(f"{name}: import + compile, empty cache", *cold)
            row(f"{name}: import + load from the cache", *warm)
    firsts, seconds, fills = [], [], []
    for _ in range(opts.rounds):  # each round: a new empty cache, then the same cache warm
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
            demo = [sys.executable, "-m", "nbhd_geo.cli", "demo", "--out", out, "--overwrite",
                    "-q"]
            firsts.append(_run(demo, cache))
            # the first run ran the kernels as Python and left children compiling them, at
            # the lowest priority, for the next run: wait for them (their CPU is not counted)
            t0 = time.perf_counter()
            while _compiling():
                time.sleep(0.2)
            fills.append(time.perf_counter() - t0)
            seconds.append(_run(demo, cache))
            row("demo, first run (empty cache)", *firsts[-1])
            lines.append(f"{'  then the cache filled in the background, after':<48} "
                         f"wall {fills[-1]:7.2f} s")
            print(lines[-1])
            row("demo, second run", *seconds[-1])
    first = tuple(statistics.median(x) for x in zip(*firsts, strict=True))
    second = tuple(statistics.median(x) for x in zip(*seconds, strict=True))
    lines.append(f"medians of {opts.rounds}: first wall {first[0]:.2f} s CPU {first[1]:.2f} s, "
                 f"second wall {second[0]:.2f} s CPU {second[1]:.2f} s; first/second: wall "
                 f"{first[0] / second[0]:.2f}x, CPU {first[1] / second[1]:.2f}x")
    print(lines[-1])
    # compiling first, as before tiered execution (the Python tiers off), and the default on
    # one core
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        demo = [sys.executable, "-m", "nbhd_geo.cli", "demo", "--out", out, "--overwrite", "-q"]
        row("demo, first run, NBHD_GEO_INTERPRET=never", *_run(demo, cache,
                                                               NBHD_GEO_INTERPRET="never"))
    if len(cores) >= 2:
        while _compiling():
            time.sleep(0.2)
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
            demo = ["taskset", "-c", str(cores[0]), sys.executable, "-m", "nbhd_geo.cli",
                    "demo", "--out", out, "--overwrite", "-q"]
            row("demo, first run, one core", *_run(demo, cache))
        while _compiling():
            time.sleep(0.2)
    if opts.out:
        with opts.out.open("a") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
