"""Mutation testing of the numeric core: do the tests notice a wrong number?

A small deterministic AST mutator (``make mutants``). For every function of the
target modules it makes one-token changes — an operator, a comparison, a constant, a
``ceil`` for a ``floor``, a dropped rebinding such as ``split = np.where(inside, 0, split)``
— and runs only the tests that reach that function (found once by instrumenting the
module), those that killed a neighbouring mutant first and then fastest first, stopping
at the first failure. A mutant is *killed* when a test fails (or it runs 5× over the
clean run's CPU time, 20× its wall time), *survives* when they all pass.

Why not mutmut: it copies the tree into ``mutants/`` and runs each mutant's tests in a
fresh fork, which on two shared cores and with numba's JIT start-up makes one module's
run take most of an hour; here the module stays imported and each mutant swaps one
function's ``__code__`` in place, so every reference (``from … import f`` in a test
included) sees it, and puts it back afterwards.

Usage::

    python benchmarks/mutants.py                      # every module in TARGETS
    python benchmarks/mutants.py -m nbhd_geo.measures.split
    python benchmarks/mutants.py --list -m nbhd_geo.measures.split
    python benchmarks/mutants.py --survivors          # re-run last run's survivors only
    nice -n 19 python benchmarks/mutants.py -m M --out DIR   # modules in parallel

Each run appends one line (kind, date, seconds, counts) to ``<module>.runs.jsonl``.

Raw results (one JSON line per mutant) go to ``benchmarks/mutants_results/``; the
summary table is printed. Survivors judged equivalent are listed with a reason in
``benchmarks/MUTANTS.md`` (``EQUIVALENT`` below reads its keys) and left out of the
kill rate's denominator.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import json
import re
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FunctionType

import pytest

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "mutants_results"
EQUIVALENT_FILE = ROOT / "benchmarks" / "MUTANTS.md"

#: Module -> the test files that exercise it (only the tests that reach a mutated
#: function run for it).
TARGETS: dict[str, list[str]] = {
    "nbhd_geo.deprivation.summary": [
        "tests/test_numeric_core.py", "tests/test_numeric_core_edges.py",
        "tests/test_deprivation.py",
    ],
    "nbhd_geo.deprivation.allocation": [
        "tests/test_numeric_core.py", "tests/test_numeric_core_edges.py",
        "tests/test_deprivation.py",
    ],
    "nbhd_geo.measures.split": [
        "tests/test_numeric_core.py", "tests/test_numeric_core_edges.py", "tests/test_tension.py",
    ],
    "nbhd_geo.measures.tension": [
        "tests/test_numeric_core.py", "tests/test_numeric_core_edges.py", "tests/test_tension.py",
    ],
    "nbhd_geo.overlay.apportion": [
        "tests/test_numeric_core.py", "tests/test_numeric_core_edges.py",
        "tests/test_overlay.py", "tests/test_population.py",
    ],
    "nbhd_geo.overlay.crosswalk": [
        "tests/test_numeric_core.py", "tests/test_numeric_core_edges.py", "tests/test_overlay.py",
    ],
}

#: The hand-made mutants named when the kill rate was first measured (each must be
#: killed): (module, function, source text, replacement).
NAMED: list[tuple[str, str, str, str]] = [
    ("nbhd_geo.measures.split", "_split_share",
     "split = np.where(inside, 0.0, split)", "split = split"),
    ("nbhd_geo.measures.tension", "_composite",
     "(weights * terms).sum(axis=0) / weights.sum()", "(weights * terms).sum(axis=0) / 3"),
    ("nbhd_geo.overlay.crosswalk", "Crosswalk.coverage",
     'out["area_m2"] - out["overlap_m2"]', 'out["overlap_m2"] - out["area_m2"]'),
    ("nbhd_geo.deprivation.summary", "extent_weight",
     "p = np.ceil(100.0 * r / n)", "p = np.floor(100.0 * r / n)"),
    ("nbhd_geo.deprivation.allocation", "rank_targets",
     "top = max(1, int(np.ceil(0.1 * n)))", "top = max(1, int(np.floor(0.1 * n)))"),
    ("nbhd_geo.measures.tension", "_composite",
     "1.0 - np.nan_to_num(iou, nan=0.0)", "1.0 - np.nan_to_num(iou, nan=1.0)"),
]

_BINOP = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd,
}
_CMP = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In,
}
_SWAP = {
    "ceil": "floor", "floor": "ceil", "minimum": "maximum", "maximum": "minimum",
    "min": "max", "max": "min", "argmax": "argmin", "argmin": "argmax",
    "nanmax": "nanmin", "nanmin": "nanmax", "any": "all", "all": "any",
}
_SYM = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.Lt: "<",
    ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    ast.And: "and", ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    """One change: where (function, line) and what."""

    module: str
    index: int  # position of the node in the walk of the module
    nth: int  # 1 for the first mutant with this function, change and source text, 2 ...
    slot: int  # which operator of a Compare
    kind: str
    function: str  # qualname of the outermost function holding it
    line: int
    what: str  # e.g. "'<' -> '<='"
    source: str  # the source line, stripped

    @property
    def key(self) -> str:
        """Stable name, independent of line numbers: function, change and source text."""
        nth = f" #{self.nth}" if self.nth > 1 else ""
        return f"{self.module}:{self.function}: {self.what}{nth} in `{self.source}`"


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{sub.name}", sub


def _skipped_ids(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    """Nodes never mutated: docstrings, f-strings, annotations, raise/assert, warnings."""
    skip: set[int] = set()

    def drop(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        drop(body[0])
    for node in ast.walk(func):
        if isinstance(node, (ast.JoinedStr, ast.Raise, ast.Assert, ast.arguments)):
            drop(node)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                drop(dec)
            if node.returns is not None:
                drop(node.returns)
        elif isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in ("warn", "NbhdGeoError", "InputError", "_warn"):
                drop(node)
    return skip


def _changes(node: ast.AST) -> list[tuple[int, str, str]]:
    """(slot, kind, description) of every mutation of this node."""
    out: list[tuple[int, str, str]] = []
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINOP:
        new = _BINOP[type(node.op)]
        out.append((0, "binop", f"'{_SYM[type(node.op)]}' -> '{_SYM[new]}'"))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _CMP:
                out.append((i, "cmp", f"'{_SYM[type(op)]}' -> '{_SYM[_CMP[type(op)]]}'"))
    elif isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        out.append((0, "boolop", f"'{_SYM[type(node.op)]}' -> '{_SYM[new]}'"))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.Invert)):
        sym = {ast.Not: "not ", ast.USub: "-", ast.Invert: "~"}[type(node.op)]
        out.append((0, "unary", f"drop '{sym.strip()}'"))
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
        v = node.value
        if isinstance(v, bool):
            out.append((0, "const", f"{v} -> {not v}"))
        elif isinstance(v, int):
            out.append((0, "const", f"{v} -> {0 if v == 1 else v + 1}"))
        elif isinstance(v, float):
            out.append((0, "const", f"{v!r} -> {(1.0 if v == 0 else v + 1.0)!r}"))
    elif isinstance(node, ast.Attribute) and node.attr in _SWAP:
        out.append((0, "name", f"'.{node.attr}' -> '.{_SWAP[node.attr]}'"))
    elif isinstance(node, ast.Name) and node.id in _SWAP and isinstance(node.ctx, ast.Load):
        out.append((0, "name", f"'{node.id}' -> '{_SWAP[node.id]}'"))
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        t = node.targets[0]
        if isinstance(t, ast.Name) and any(
            isinstance(n, ast.Name) and n.id == t.id for n in ast.walk(node.value)
        ):
            out.append((0, "drop", f"skip the rebinding of '{t.id}'"))
    return out


def _apply(node: ast.AST, kind: str, slot: int) -> ast.AST:
    """Mutate ``node`` in place (or return its replacement)."""
    if kind == "binop":
        node.op = _BINOP[type(node.op)]()  # type: ignore[attr-defined]
    elif kind == "cmp":
        node.ops[slot] = _CMP[type(node.ops[slot])]()  # type: ignore[attr-defined]
    elif kind == "boolop":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()  # type: ignore[attr-defined]
    elif kind == "unary":
        return node.operand  # type: ignore[attr-defined]
    elif kind == "const":
        v = node.value  # type: ignore[attr-defined]
        if isinstance(v, bool):
            node.value = not v  # type: ignore[attr-defined]
        elif isinstance(v, int):
            node.value = 0 if v == 1 else v + 1  # type: ignore[attr-defined]
        else:
            node.value = 1.0 if v == 0 else v + 1.0  # type: ignore[attr-defined]
    elif kind == "name":
        if isinstance(node, ast.Attribute):
            node.attr = _SWAP[node.attr]
        else:
            node.id = _SWAP[node.id]  # type: ignore[attr-defined]
    elif kind == "drop":
        return ast.Pass()
    return node


def _walk(tree: ast.Module) -> Iterator[tuple[int, str, ast.AST, ast.AST | None, str, object]]:
    """(index, function, node, parent, field, position) for every mutable node, in order."""
    index = 0
    for qual, func in _functions(tree):
        skip = _skipped_ids(func)
        stack: list[tuple[ast.AST, ast.AST | None, str, object]] = [
            (s, func, "body", i) for i, s in enumerate(func.body)
        ]
        stack.reverse()
        while stack:
            node, parent, field, pos = stack.pop()
            if id(node) not in skip:
                yield index, qual, node, parent, field, pos
            index += 1
            kids: list[tuple[ast.AST, ast.AST | None, str, object]] = []
            for name, value in ast.iter_fields(node):
                if isinstance(value, list):
                    kids.extend((v, node, name, i) for i, v in enumerate(value)
                                if isinstance(v, ast.AST))
                elif isinstance(value, ast.AST):
                    kids.append((value, node, name, None))
            stack.extend(reversed(kids))


def mutants(module: str) -> list[Mutant]:
    """Every mutant of one module, in a fixed order."""
    path = Path(importlib.import_module(module).__file__ or "")
    text = path.read_text()
    lines = text.splitlines()
    out = []
    seen: dict[tuple[str, str, str], int] = {}
    for index, qual, node, _p, _f, _pos in _walk(ast.parse(text)):
        for slot, kind, what in _changes(node):
            line = getattr(node, "lineno", 0)
            src = lines[line - 1].strip() if line else ""
            nth = seen[(qual, what, src)] = seen.get((qual, what, src), 0) + 1
            out.append(Mutant(module, index, nth, slot, kind, qual, line, what, src))
    return out


def _mutated_code(m: Mutant) -> CodeType:
    """The code object of ``m.function`` with the mutation applied."""
    path = Path(importlib.import_module(m.module).__file__ or "")
    tree = ast.parse(path.read_text())
    for index, _qual, node, parent, field, pos in _walk(tree):
        if index == m.index:
            new = _apply(node, m.kind, m.slot)
            if new is not node:
                if pos is None:
                    setattr(parent, field, new)
                else:
                    getattr(parent, field)[pos] = new  # type: ignore[index]
            break
    else:  # pragma: no cover - the source changed under the run
        raise RuntimeError(f"mutant {m.key} not found")
    ast.fix_missing_locations(tree)
    code = compile(tree, str(path), "exec")
    return _find_code(code, m.function)


def _find_code(code: CodeType, qualname: str) -> CodeType:
    for const in code.co_consts:
        if isinstance(const, CodeType):
            if const.co_qualname == qualname:
                return const
            if "." in qualname and const.co_name == qualname.split(".")[0]:
                try:
                    return _find_code(const, qualname)
                except KeyError:
                    pass
    raise KeyError(qualname)


def _function(module: str, qualname: str) -> FunctionType:
    obj: object = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part) if not isinstance(obj, type) else obj.__dict__[part]
    for attr in ("fget", "__func__", "__wrapped__"):
        obj = getattr(obj, attr, obj)
    assert isinstance(obj, FunctionType), (qualname, obj)
    return obj


def _named_code(module: str, function: str, old: str, new: str) -> CodeType:
    """The code of ``function`` with ``old`` replaced by ``new`` (exactly once) in its module."""
    path = Path(importlib.import_module(module).__file__ or "")
    text = path.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"named mutant: {old!r} found {text.count(old)} times in {path}")
    return _find_code(compile(text.replace(old, new), str(path), "exec"), function)


def _clear_caches(module: str) -> None:
    """Forget remembered results (``lru_cache`` and module-level ``*_CACHE`` dicts).

    A cache filled by the clean run would hand a mutant the right answer.
    """
    mod = importlib.import_module(module)
    for name, value in vars(mod).items():
        if isinstance(value, functools._lru_cache_wrapper):
            value.cache_clear()
        elif name.upper().endswith("_CACHE") and isinstance(value, dict):
            value.clear()


# ------------------------------------------------------------------ running tests


class _Hits:
    """pytest plugin: which tests (through their fixtures too) reach which functions."""

    def __init__(self) -> None:
        self.stack: list[set[str]] = []
        self.by_test: dict[str, set[str]] = {}
        self.by_fixture: dict[str, set[str]] = {}
        self.duration: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.failed: list[str] = []

    def hit(self, qualname: str) -> None:
        for s in self.stack:
            s.add(qualname)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):  # type: ignore[no-untyped-def]
        got: set[str] = set()
        self.stack.append(got)
        yield
        self.stack.pop()
        self.by_fixture.setdefault(fixturedef.argname, set()).update(got)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):  # type: ignore[no-untyped-def]
        got: set[str] = set()
        self.stack.append(got)
        t0, c0 = time.perf_counter(), _cpu_seconds()
        yield
        self.duration[item.nodeid] = time.perf_counter() - t0
        self.cpu[item.nodeid] = _cpu_seconds() - c0
        self.stack.pop()
        for name in item.fixturenames:
            got |= self.by_fixture.get(name, set())
        self.by_test[item.nodeid] = got

    def pytest_runtest_logreport(self, report):  # type: ignore[no-untyped-def]
        if report.failed:
            self.failed.append(report.nodeid)


def _instrument(module: str, hits: _Hits) -> dict[str, CodeType]:
    """Swap in code that reports each call; return the original code objects."""
    mod = importlib.import_module(module)
    path = Path(mod.__file__ or "")
    tree = ast.parse(path.read_text())
    for qual, func in _functions(tree):
        call = ast.parse(f"__mutants_hit__({qual!r})").body[0]
        at = 1 if func.body and isinstance(func.body[0], ast.Expr) and isinstance(
            func.body[0].value, ast.Constant) else 0
        func.body.insert(at, call)
    ast.fix_missing_locations(tree)
    code = compile(tree, str(path), "exec")
    vars(mod)["__mutants_hit__"] = hits.hit
    originals = {}
    for qual, _f in _functions(ast.parse(path.read_text())):
        fn = _function(module, qual)
        originals[qual] = fn.__code__
        fn.__code__ = _find_code(code, qual)
    return originals


def _restore(module: str, originals: dict[str, CodeType]) -> None:
    for qual, code in originals.items():
        _function(module, qual).__code__ = code


class _Outcome:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report):  # type: ignore[no-untyped-def]
        if report.failed:
            self.failed.append(report.nodeid)


class _Timeout(Exception):
    pass


def _alarm(signum, frame):  # type: ignore[no-untyped-def]
    raise _Timeout("mutant ran over its time limit")


def _cpu_seconds() -> float:
    """CPU time of this process, every thread (what SIGPROF's timer counts)."""
    return time.process_time()


_PYTEST = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-x", "--no-header",
           "-o", "addopts=", "--tb=no", "-rN"]


def _run(nodeids: list[str]) -> list[str]:
    out = _Outcome()
    code = pytest.main([*_PYTEST, *nodeids], plugins=[out])
    if code not in (0, 1) and not out.failed:
        out.failed.append(f"pytest exit {int(code)}")
    return out.failed


def _load_equivalent() -> set[str]:
    if not EQUIVALENT_FILE.exists():
        return set()
    return set(re.findall(r"^- `(.+?)` —", EQUIVALENT_FILE.read_text(), flags=re.M))


def _short(m: Mutant) -> str:
    return f"{m.function}: {m.what} in {m.source}"


def run_module(
    module: str,
    only: set[str] | None,
    log: Path,
    max_test_seconds: float = float("inf"),
    run_named: bool = True,
    sample: int = 1,
) -> dict[str, int]:
    """Mutate one module; write one JSON line per mutant to ``log``."""
    files = [f for f in TARGETS[module] if (ROOT / f).exists()]
    hits = _Hits()
    originals = _instrument(module, hits)
    t0 = time.perf_counter()
    code = pytest.main([*_PYTEST[:-2], "--tb=short", *files],
                       plugins=[hits])
    _restore(module, originals)
    print(f"{module}: clean run {time.perf_counter() - t0:.0f} s", flush=True)
    if code != 0 or hits.failed:
        raise SystemExit(f"{module}: the clean run fails ({hits.failed}); fix the tests first")
    equivalent = _load_equivalent()
    # The limit is on CPU time (SIGPROF counts this process's CPU, every thread), so a
    # machine loaded by other people's work cannot turn a slow but correct mutant into a
    # "timeout" kill; a generous wall-clock limit backs it up for a mutant stuck waiting.
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGPROF, _alarm)
    counts = {"killed": 0, "survived": 0, "equivalent": 0, "no_tests": 0, "timeout": 0}
    # Tests that already killed a mutant of the same function run first (most recent
    # first), then the rest fastest first: a mutant is usually killed by its neighbour's
    # killer, and only survivors pay for every test.
    killers: dict[str, list[str]] = {}
    with log.open("a") as fh:
        for pos, m in enumerate(mutants(module)):
            key = m.key
            if (only is not None and key not in only) or pos % sample:
                continue
            reach = [t for t, f in hits.by_test.items()
                     if m.function in f and hits.duration[t] <= max_test_seconds]
            first = [t for t in killers.get(m.function, []) if t in reach]
            tests = first + sorted((t for t in reach if t not in first),
                                   key=lambda t: hits.duration[t])
            status, by = "no_tests", ""
            t_start = time.perf_counter()
            if tests:
                fn = _function(module, m.function)
                clean = fn.__code__
                cpu_limit = max(20.0, 5.0 * sum(hits.cpu[t] for t in tests))
                wall_limit = max(120.0, 20.0 * sum(hits.duration[t] for t in tests))
                try:
                    _clear_caches(module)
                    fn.__code__ = _mutated_code(m)
                    signal.setitimer(signal.ITIMER_PROF, cpu_limit)
                    signal.setitimer(signal.ITIMER_REAL, wall_limit)
                    failed = _run(tests)
                    status = "killed" if failed else "survived"
                    by = failed[0] if failed else ""
                except _Timeout:
                    status, by = "timeout", f"over {cpu_limit:.0f} s CPU or {wall_limit:.0f} s"
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    fn.__code__ = clean
                    _clear_caches(module)
                if status == "killed" and by in reach:
                    got = killers.setdefault(m.function, [])
                    if by in got:
                        got.remove(by)
                    got.insert(0, by)
            if status == "survived" and key in equivalent:
                status = "equivalent"
            counts[status] += 1
            fh.write(json.dumps({"key": key, "line": m.line, "status": status, "by": by,
                                 "tests": len(tests),
                                 "secs": round(time.perf_counter() - t_start, 2)}) + "\n")
            fh.flush()
            if status in ("survived", "no_tests"):
                print(f"  {status.upper()} L{m.line} {_short(m)}", flush=True)
        if run_named:
            for mod, function, old, new in NAMED:
                if mod != module:
                    continue
                tests = sorted((t for t, f in hits.by_test.items()
                                if function in f and hits.duration[t] <= max_test_seconds),
                               key=lambda t: hits.duration[t])
                fn = _function(module, function)
                clean = fn.__code__
                try:
                    fn.__code__ = _named_code(module, function, old, new)
                    failed = _run(tests) if tests else []
                finally:
                    fn.__code__ = clean
                    _clear_caches(module)
                status = "killed" if failed else "survived"
                fh.write(json.dumps({"key": f"NAMED {module}:{function}: {old} -> {new}",
                                     "status": f"named_{status}", "by": failed[:1],
                                     "tests": len(tests)}) + "\n")
                print(f"  NAMED {status.upper()}: {function}: {old} -> {new}", flush=True)
    return counts


def _rate(c: dict[str, int]) -> str:
    killed = c["killed"] + c["timeout"]
    live = killed + c["survived"] + c["no_tests"]
    return f"{100.0 * killed / live:.1f} %" if live else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-m", "--module", action="append", choices=sorted(TARGETS))
    ap.add_argument("--list", action="store_true", help="print the mutants and stop")
    ap.add_argument("--survivors", action="store_true",
                    help="re-run only the survivors of the last run of each module")
    ap.add_argument("--named", action="store_true",
                    help="run only the hand-made mutants named in NAMED")
    ap.add_argument("--max-test-seconds", type=float, default=20.0,
                    help="leave out tests slower than this in the clean run (the national "
                    "real-data tests): every surviving mutant would run them all")
    ap.add_argument("--sample", type=int, default=1,
                    help="run every N-th mutant only (a quicker, deterministic estimate)")
    ap.add_argument("--report", action="store_true",
                    help="print the table from the last results (MUTANTS.md re-read)")
    ap.add_argument("--out", type=Path, default=OUT,
                    help="folder of the raw results (runs of different modules in parallel "
                    "may each write to their own and be copied together)")
    ap.add_argument("--fail-under", type=float, default=0.0,
                    help="exit 1 when a module's kill rate is below this percentage")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    modules = args.module or list(TARGETS)
    if args.list:
        for mod in modules:
            for m in mutants(mod):
                print(f"L{m.line:<4} {m.kind:<6} {_short(m)}")
        return 0
    out_dir = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    table = []
    named: list[dict[str, object]] = []
    equivalent = _load_equivalent()
    for mod in modules:
        log = out_dir / f"{mod}.jsonl"
        if args.report:
            rows = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
            for r in rows:
                if r["status"] == "survived" and r["key"] in equivalent:
                    r["status"] = "equivalent"
            c = {k: sum(r["status"] == k for r in rows)
                 for k in ("killed", "survived", "equivalent", "no_tests", "timeout")}
            named.extend(r for r in rows if r["status"].startswith("named_"))
            print(f"{mod}: {sum(c.values())} of {len(mutants(mod))} mutants run")
            for r in rows:
                if r["status"] in ("survived", "no_tests"):
                    print(f"  {r['status'].upper()} L{r['line']} {r['key']}")
            table.append((mod, c, 0.0))
            continue
        only = None
        kept: list[dict[str, object]] = []
        if args.survivors and log.exists():
            rows = [json.loads(x) for x in log.read_text().splitlines()]
            only = {r["key"] for r in rows if r["status"] in ("survived", "no_tests")}
            kept = [r for r in rows if r["key"] not in only]
            log.write_text("".join(json.dumps(r) + "\n" for r in kept))
        elif args.named:
            only = set()
            log = out_dir / f"{mod}.named.jsonl"
            log.unlink(missing_ok=True)
        elif log.exists():
            log.unlink()
        t0 = time.perf_counter()
        run_module(mod, only, log, args.max_test_seconds, run_named=not args.survivors,
                   sample=args.sample)
        rows = [json.loads(x) for x in log.read_text().splitlines()]
        c = {k: sum(r["status"] == k for r in rows)
             for k in ("killed", "survived", "equivalent", "no_tests", "timeout")}
        named.extend(r for r in rows if r["status"].startswith("named_"))
        secs = time.perf_counter() - t0
        table.append((mod, c, secs))
        if not args.named:
            runs = out_dir / f"{mod}.runs.jsonl"
            with runs.open("a") as fh:  # one line per run: what ran, when, how long
                fh.write(json.dumps({
                    "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "kind": "survivors" if args.survivors else
                    ("full" if args.sample == 1 else f"sample {args.sample}"),
                    "mutants_in_module": len(mutants(mod)),
                    "ran_now": sum(not str(r["status"]).startswith("named_")
                                   for r in rows[len(kept):]),
                    "seconds": round(secs), **c}) + "\n")
    print(f"\n{'module':<34} {'mutants':>7} {'killed':>6} {'equiv':>5} {'surv':>5} "
          f"{'no test':>7} {'kill rate':>9} {'time':>6}")
    worst = 100.0
    for mod, c, secs in table:
        total = sum(c.values())
        print(f"{mod:<34} {total:>7} {c['killed'] + c['timeout']:>6} {c['equivalent']:>5} "
              f"{c['survived']:>5} {c['no_tests']:>7} {_rate(c):>9} {secs:>5.0f}s")
        r = _rate(c)
        if r != "n/a":
            worst = min(worst, float(r.split()[0]))
    print("kill rate = killed / (mutants − equivalent); equivalent survivors: "
          "benchmarks/MUTANTS.md")
    for r in named:
        print(f"{r['status']:<15} {r['key']}")
    if any(r["status"] == "named_survived" for r in named):
        return 1
    return 1 if worst < args.fail_under else 0


if __name__ == "__main__":
    raise SystemExit(main())
