"""End-to-end ``nbhd-geo report`` on a realistic city, before and after, in one run.

The city: ~150 seeded neighbourhoods over Wakefield's LSOAs 2021 and wards 2022, with
IMD 2025 and its Census 2021 population (``tests/_planner_city.py``, built from
``../shared/data``). Each command runs as a real process; wall time and peak memory
(``/usr/bin/time``, else psutil polling) are printed with ratios.

- ``before``: the same command with ``PYTHONPATH`` pointing at a checkout of the 0.1 code
  (``--before-src``, default ``/work/wt-before/src``); 0.1 has no ``--imd``/``--budget``,
  so the comparison uses the command both understand.
- ``after``: this checkout, the same command, then the full one (IMD 2025 + budget).
- ``many``: 10,000 drawings of 300 names (consensus cores), full command.

Targets (issue #12): city end to end < 15 s, HTML < 5 MB; 10,000 drawings < 120 s and
< 2 GB.

Run: ``python benchmarks/bench_report.py [--skip-before] [--skip-many]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests._planner_city import build_city, many_drawings  # noqa: E402

SHARED = Path(os.environ.get("NBHD_GEO_SHARED", ROOT.parent / "shared" / "data"))


def run(cmd: list[str], src: Path,
        timeout: float) -> tuple[float, float | None, int, float | None]:
    """Run ``cmd`` with ``src`` on PYTHONPATH; return (seconds, peak MB, exit, CPU s)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as rec:
        full = [timer, "-f", "%M %U %S", "-o", rec.name, *cmd] if timer else cmd
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(full, env=env, capture_output=True, text=True,
                                  timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            return float("inf"), None, -1, None
        seconds = time.perf_counter() - t0
        peak = cpu = None
        if timer:
            lines = [ln.split() for ln in Path(rec.name).read_text().splitlines()
                     if len(ln.split()) == 3 and ln.split()[0].isdigit()]
            if lines:
                peak = int(lines[-1][0]) / 1024
                cpu = float(lines[-1][1]) + float(lines[-1][2])
    if code != 0:
        print(proc.stderr[-1500:], file=sys.stderr)
    return seconds, peak, code, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before-src", default="/work/wt-before/src")
    ap.add_argument("--skip-before", action="store_true")
    ap.add_argument("--skip-many", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    t0 = time.perf_counter()
    city = build_city(SHARED, out=work / "city")
    print(f"city: {city.n} neighbourhoods ({city.n_inside_one_ward} inside one ward), "
          f"built in {time.perf_counter() - t0:.1f} s under {work}")
    exe = [sys.executable, "-m", "nbhd_geo.cli", "report"]
    common = [str(city.drawings), "--name-col", "name", "--layer", f"lsoa={city.lsoa}",
              "--layer", f"ward={city.wards}", "-q"]
    full = [*common, "--imd", str(city.imd), "--budget", "1000000"]
    here = ROOT / "src"
    rows = []
    if not args.skip_before and Path(args.before_src).exists():
        rows.append(("before (0.1), layers only", *run(
            [*exe, *common, "--out", str(work / "before")], Path(args.before_src),
            args.timeout), work / "before"))
    rows.append(("after, layers only", *run([*exe, *common, "--out", str(work / "after")],
                                            here, args.timeout), work / "after"))
    rows.append(("after, + IMD 2025 + budget", *run(
        [*exe, *full, "--out", str(work / "full")], here, args.timeout), work / "full"))
    if not args.skip_many:
        many = many_drawings(city, n=10_000, names=300)
        rows.append(("after, 10,000 drawings of 300 names + IMD", *run(
            [*exe, f"{many}:drawings", "--name-col", "neighbourhood",
             "--layer", f"lsoa={city.lsoa}", "--layer", f"ward={city.wards}",
             "--imd", str(city.imd), "--budget", "1000000", "-q",
             "--out", str(work / "many")], here, args.timeout), work / "many"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n(load average {load:.1f} on {os.cpu_count()} cores: wall time grows with other "
          "work on the machine; CPU time does not)")
    print(f"{'run':44} {'wall s':>7} {'CPU s':>7} {'peak MB':>8} {'HTML MB':>8}  exit")
    for name, secs, peak, code, cpu, out in rows:
        html = out / "index.html"
        size = html.stat().st_size / 1e6 if html.exists() else float("nan")
        pk = f"{peak:8.0f}" if peak else f"{'?':>8}"
        cp = f"{cpu:7.1f}" if cpu is not None else f"{'?':>7}"
        print(f"{name:44} {secs:7.1f} {cp} {pk} {size:8.2f}  {code}")
    before = next((r for r in rows if r[0].startswith("before")), None)
    after = next(r for r in rows if r[0] == "after, layers only")
    if before and before[1] != float("inf"):
        print(f"\nspeed-up, same command: {before[1] / after[1]:.1f}x "
              f"(before {before[1]:.1f} s, after {after[1]:.1f} s)")
        if before[4] and after[4]:
            print(f"CPU time, same command: {before[4] / after[4]:.1f}x "
                  f"(before {before[4]:.1f} s, after {after[4]:.1f} s)")
        bh = before[5] / "index.html"
        if bh.exists():
            print(f"HTML size: before {bh.stat().st_size / 1e6:.1f} MB, after "
                  f"{(after[5] / 'index.html').stat().st_size / 1e6:.1f} MB")
    full_row = next(r for r in rows if r[0].startswith("after, + IMD"))
    print(f"target city + IMD < 15 s: wall {full_row[1]:.1f} s "
          f"({'met' if full_row[1] < 15 else 'NOT met'}), CPU {full_row[4] or float('nan'):.1f} s")
    many_row = next((r for r in rows if r[0].startswith("after, 10,000")), None)
    if many_row:
        ok = many_row[1] < 120 and (many_row[2] or 0) < 2048
        print(f"target 10,000 drawings < 120 s and < 2 GB: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
