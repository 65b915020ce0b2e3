"""All 42,035 New York (dnainfo) drawings through consensus and outliers (not a test).

Reads the drawings with ``read_drawings`` (UTM 18N, EPSG:32618), computes the consensus
of the 284 neighbourhoods on the automatic grid, flags outliers against its 50 % cores,
then recomputes the consensus without the junk the flags point at. Prints wall times,
peak resident memory and sanity checks:

* every neighbourhood with ≥ 50 drawings has a non-empty 50 % core (except dnainfo's
  catch-all folder ``other``, drawings of many places, which rightly has none);
* every drawing the reader repaired (invalid input) is flagged ``repaired``;
* neighbourhoods that share a border (e.g. Greenwich Village / West Village) have a
  disputed zone at 25 %.

Run: ``python benchmarks/bench_consensus.py`` (needs ../shared/data; about a minute on
two cores, under 2 GB). ``--quick`` runs four neighbourhoods only.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import geopandas as gpd

from nbhd_geo.io.options import CoordOptions
from nbhd_geo.io.read import read_drawings
from nbhd_geo.voices.consensus import consensus
from nbhd_geo.voices.outliers import outliers

PATH = (Path(__file__).resolve().parents[2] / "shared" / "data" / "drawings" / "nyc-dnainfo"
        / "dnainfo_New_York_drawings.geojson.gz")
ADJACENT = [("greenwich-village", "west-village"), ("east-village", "lower-east-side"),
            ("soho", "tribeca"), ("park-slope", "prospect-heights")]
EXCLUDE = ["rectangle", "few_vertices", "sliver", "area_ratio", "far_centroid", "duplicate"]


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB


def main() -> int:
    if not PATH.exists():
        print(f"skipped: {PATH} not found")
        return 0
    quick = "--quick" in sys.argv
    t_all = time.perf_counter()
    t = time.perf_counter()
    src = str(PATH)
    if quick:
        src = gpd.read_file(f"/vsigzip/{PATH}", where="folder IN ('soho', 'tribeca', "
                            "'greenwich-village', 'west-village')")
    drawings, report = read_drawings(src, name_col="folder", coords=CoordOptions(to_crs="EPSG:32618"))
    t_read = time.perf_counter() - t
    print(f"read_drawings: {report.n_input} in, {report.n_kept} kept, {report.n_repaired} "
          f"repaired, {report.n_rejected} rejected; {drawings['folder'].nunique()} "
          f"neighbourhoods; {t_read:.1f} s")

    t = time.perf_counter()
    cons = consensus(drawings, by="folder", report=report)
    t_cons = time.perf_counter() - t
    print(f"consensus (all drawings): {t_cons:.1f} s; {cons!r}")
    print(f"  grid {cons.cell_size:g} m ({cons.grid.n_rows} x {cons.grid.n_cols} cells, "
          f"run-length: {len(cons.surface):,} surface runs, {len(cons.mix):,} mix runs)")

    t = time.perf_counter()
    flags = outliers(drawings, cons, by="folder", report=report)
    t_out = time.perf_counter() - t
    counts = flags[[c for c in flags.columns if flags[c].dtype == bool and c != "flagged"]].sum()
    print(f"outliers: {t_out:.1f} s; {int(flags['flagged'].sum())} drawings flagged: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))

    t = time.perf_counter()
    clean = consensus(drawings, by="folder", report=report,
                      exclude=flags[EXCLUDE].any(axis=1))
    t_clean = time.perf_counter() - t
    print(f"consensus (junk excluded: {len(clean.excluded)}): {t_clean:.1f} s; {clean!r}")
    total = time.perf_counter() - t_all
    print(f"TOTAL wall {total:.1f} s (read {t_read:.1f} + consensus {t_cons:.1f} + outliers "
          f"{t_out:.1f} + consensus again {t_clean:.1f}); peak RSS {peak_rss_gb():.2f} GB")

    ok = True
    for label, c in (("all", cons), ("clean", clean)):
        big = c.summary.index[c.summary["n_drawings"] >= 50]
        empty = [n for n in big if c.summary.loc[n, "core_0.50_m2"] <= 0]
        print(f"[{label}] neighbourhoods with >= 50 drawings: {len(big)}; empty 50% core: "
              f"{len(empty)} {empty[:5]}")
        # 'other' is dnainfo's catch-all folder (drawings of many places): no core expected
        ok &= not [n for n in empty if n != "other"]
        print(f"[{label}] cores {len(c.cores)} (all valid: {bool(c.cores.is_valid.all())}); "
              f"disputed pairs at 25/50/75%: "
              f"{c.disputed.groupby('threshold').size().to_dict()}; contested pairs "
              f"{len(c.contested)}; no-man's land {c.no_mans_land['area_m2'].iat[0] / 1e6:,.1f}"
              f" km²")
        ok &= bool(c.cores.is_valid.all())
    repaired = report.rows.loc[report.rows["status"] == "repaired", "feature_id"]
    missed = set(repaired) - set(flags.index[flags["repaired"]])
    print(f"repaired drawings flagged: {len(repaired) - len(missed)} of {len(repaired)}")
    ok &= not missed
    pairs = set(zip(clean.disputed["name_a"], clean.disputed["name_b"], strict=True))
    for a, b in ADJACENT:
        if a in clean.summary.index and b in clean.summary.index:
            got = (a, b) in pairs or (b, a) in pairs
            print(f"disputed {a} / {b}: {got}")
            ok &= got
    print("sanity:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
