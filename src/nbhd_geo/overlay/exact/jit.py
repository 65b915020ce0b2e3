"""Compiling numba kernels: one signature each, once per family, in the background if wanted.

Guarantees:

- every kernel (:meth:`KernelSet.kernel`) is compiled for exactly one signature
  (C-contiguous float64/int64/bool arrays, int64 and float64 scalars): a caller passing a
  literal or a read-only array converts to it instead of compiling, and caching, another
  version; a kernel only kernels call gets no Python or C wrapper;
- kernels come in families (:class:`KernelSet`): the overlay engine's (:data:`OVERLAY`,
  here) and the consensus rasteriser's (:mod:`nbhd_geo.voices._kernels`), each compiled
  only when something needs it, never at import;
- :meth:`KernelSet.compile` is idempotent and thread-safe; from numba's cache it loads only
  the kernels Python calls (their machine code includes every kernel they call);
- a cached kernel is keyed by the source of every module of its family as well as its own
  bytecode, so an edit to any of them recompiles the family rather than loading stale code;
- tiered execution (:meth:`KernelSet.pick`): until a family is compiled or loaded, a
  call runs the kernel's own Python source when its estimated cost fits in what is left
  of the family's compile time after the seconds already spent running kernels as Python
  (ski rental: never more than about twice the better of "compile first" and "never
  compile"), and compiles first otherwise. Both tiers give identical results. So a small
  first run (the demo, one district) compiles nothing and runs nearly as fast as a warm
  one, and a large one waits for the compile as before;
- a process that ran kernels as Python leaves, at exit, a child process compiling the
  family into the cache for the next one (:meth:`KernelSet._fill_cache_at_exit`);
- :meth:`KernelSet.compile_in_background` starts compiling at once, for those who want
  it (``make test`` at install): with a cold cache that a family's kernels can write, in
  a child process (numba's compiler is Python holding the GIL, so a thread cannot
  overlap it with the caller's own work), into the cache the parent reads, and
  :meth:`KernelSet.compile` then waits for the child and loads; if the child fails,
  times out (:attr:`KernelSet.child_timeout`) or leaves the cache missing, the parent
  compiles in-process exactly as without a child. A warm cache is loaded in a thread
  (:meth:`KernelSet.load_in_background`, what the command line and ``import nbhd_geo``
  do), with no child. ``NBHD_GEO_PRECOMPILE=thread`` compiles in a thread instead;
- a child runs at the lowest priority (Linux's ``SCHED_IDLE``: only on a core nothing else
  wants; on a two-vCPU machine whose vCPUs share a physical core, a busy sibling slows the
  foreground by two thirds), in a session of its own, and outlives its parent (never more
  than :attr:`KernelSet.child_timeout`): what it compiles is for the next process.
  Children of several processes take turns by a lock file in the cache folder. numba
  writes each cache entry's data file, then the index naming it, each to a temporary file
  renamed into place, so a killed child leaves at worst an orphan ``*.tmp.*`` file, never
  an entry that loads half-written; the next process compiles what is missing. A process
  that exits while a background *thread* compiles waits only for the kernel being
  compiled.

Where the cache lives: ``$NUMBA_CACHE_DIR`` when set and writable (numba silently skips it
otherwise); else the ``__pycache__`` folder beside each module when it is writable (a
checkout, an editable install, a site-packages the user owns); else numba's per-user cache
folder (``~/.cache/numba/`` on Linux, keyed by the module's path). If none is writable,
numba would fail at import; instead the kernels are compiled in every process (about 18 s
of CPU) after one :class:`~nbhd_geo.errors.NbhdGeoWarning`. numba checks a cached entry
against the source file's time stamp, so a cache cannot be shipped inside a wheel: it is
built after first use (or by ``make test``, which warms it at install). See
docs/performance.md.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KernelSet", "compile_in_background", "compile_kernels", "load_in_background",
           "started_by_cli"]

import atexit
import contextlib
import functools
import hashlib
import importlib
import inspect
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import types
import warnings

import numba as nb

try:
    import fcntl
except ImportError:  # not POSIX: children of several processes may compile side by side
    fcntl = None  # type: ignore[assignment]

from nbhd_geo.errors import NbhdGeoWarning

log = logging.getLogger("nbhd_geo")

_JIT: dict[str, Any] = {"nogil": True, "cache": True, "fastmath": False, "boundscheck": False}
# Argument types of the kernels. Each kernel is compiled for exactly one signature (see
# :func:`compile_kernels`): C-contiguous float64/int64/bool arrays, int64 and float64 scalars;
# ``r`` marks a read-only array (module-level constants such as ``_NO_INDEX`` are read-only in
# numba, and a writable array converts to read-only, never the reverse).
f8 = nb.float64
i8 = nb.int64
F1 = nb.float64[::1]
# any layout: a column of an (n, 2) coordinate array, read in place rather than copied
FA = nb.float64[:]
F2 = nb.float64[:, ::1]
I1 = nb.int64[::1]
I2 = nb.int64[:, ::1]
B1 = nb.boolean[::1]
F2r = nb.types.Array(nb.float64, 2, "C", readonly=True)
I1r = nb.types.Array(nb.int64, 1, "C", readonly=True)
# what :meth:`_Layer.arrays` gives the kernel
_LAYER = nb.types.Tuple((F2, I1, I1, I1, I1, F2, F2, I2, I1, I1, F2))


class KernelSet:
    """A family of numba kernels, each with one signature, compiled (or loaded) together.

    Each family is compiled on its own and only when needed: the overlay engine's by the first
    crosswalk, the consensus rasteriser's by the first consensus, so a command that crosses
    no layers pays nothing for the overlay kernels. ``name`` labels the family (and its
    background thread). ``home``: a module whose import declares every kernel of the family;
    given, a cold cache is filled by a child process that imports it (see
    :meth:`compile_in_background`), without, the family is always compiled in-process.
    """

    #: seconds :meth:`compile` waits for a child process compiling the family before it
    #: kills the child and compiles in-process (the compile takes 15-20 s of CPU)
    child_timeout: float = 300.0


    def __init__(self, name: str, home: str | None = None, seconds: float = 15.0) -> None:
        self.name = name
        self.home = home
        #: about how many seconds compiling the family takes (:meth:`pick` weighs running
        #: kernels as Python against what is left of it)
        self.seconds = seconds
        if home is not None:
            _FAMILIES[name] = self
        #: every kernel with its one signature and whether Python calls it, in definition
        #: order (callees before callers)
        self.kernels: list[tuple[Any, tuple[Any, ...], bool]] = []
        self._lock = threading.Lock()
        self._seconds: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loader: threading.Thread | None = None
        self._thread_lock = threading.Lock()  # not _lock: a foreground compile holds that
        self._use_child = False  # compile_in_background asked for the overlap
        self._child: subprocess.Popen[bytes] | None = None
        self._child_log: Any = None  # the child's stderr, for the log if it fails
        self._child_lock = threading.Lock()
        self._child_t0 = 0.0  # when the child started (time.perf_counter)
        # tiered execution (pick): each kernel's Python twin, the seconds per unit of work
        # it was declared or last seen to take, the seconds spent running twins (and those
        # reserved by twins running), and whether any ran
        self._twins: dict[int, Any] = {}
        self._rates: dict[int, float] = {}
        self._spent = 0.0
        self._ran_twins = False
        self._tried_load = False  # pick tried the cache once before any twin
        self._twin_lock = threading.Lock()

    def kernel(self, sig: tuple[Any, ...], *, entry: bool = False, rate: float = 1e-5,
               **options: Any) -> Any:
        """Declare a numba kernel with its one signature; compiled by :meth:`compile`.

        Compilation is lazy (nothing happens at import), but once :meth:`compile` has
        compiled the signature the kernel accepts no other: a caller passing a literal ``1``
        or a read-only array gets the one machine-code version (numba would otherwise
        compile, and cache, one version per literal value and per writability of each
        argument). ``entry``: called from Python (the others only from kernels, whose machine
        code includes them). ``rate``: an entry kernel's seconds per unit of work when run as
        Python (see :meth:`pick`), a first guess that its first such run replaces.
        ``options`` override the numba options in ``_JIT``.
        """

        def wrap(fn: Any) -> Any:
            # A kernel only kernels call needs no wrappers for Python or C callers: building
            # them is about a tenth of the family's compile time.
            wrappers = {} if entry else {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}
            opts = {**_JIT, **wrappers, **options}
            try:
                disp = nb.njit(**opts)(fn)
            except RuntimeError as exc:  # numba: "cannot cache function ...: no locator"
                if "no locator" not in str(exc):
                    raise
                _warn_no_cache(fn)
                disp = nb.njit(**{**opts, "cache": False})(fn)
            self.kernels.append((disp, sig, entry))
            self._rates[id(disp)] = rate
            return disp

        return wrap

    def pick(self, disp: Any, work: float) -> Any:
        """Return what runs entry kernel ``disp`` now: its machine code, or its Python twin.

        Tiered execution. Once the family is compiled or loaded, the machine code; the
        first call loads it from a warm cache (waiting for :meth:`load_in_background` if it
        is loading). Before, a call runs the kernel's own Python source (with every kernel
        it calls as Python too) when its estimated cost as Python fits in what is left of
        the "rent": the family's compile time (:attr:`seconds`) less the seconds this
        process has already spent running kernels as Python. Any other call compiles the
        family first (:meth:`compile`; or waits for a child started by
        :meth:`compile_in_background`, and then the rent is what is left of the child's
        compile). This is the ski-rental rule: up to the accuracy of the estimates, a first
        run never spends more than twice what the better of "compile first" and "never
        compile" would have, and a small first run (a demo, a district) compiles nothing
        at all. At exit a process that ran kernels as Python leaves a child process
        compiling them into the cache for the next one (:meth:`_fill_cache_at_exit`).

        The estimate is ``work`` (units the kernel loops over: edges, coordinates, runs)
        times the kernel's ``rate``, replaced by the rate its last run as Python showed. A
        caller whose kernel's cost per unit varies much splits a large call into chunks,
        so that the estimate comes from the call's own first chunk (the pair kernel does:
        :func:`~nbhd_geo.overlay.exact.join._pairs_as_python`).
        Both tiers run the same source on IEEE float64 without fast-math and give
        identical results (tests compare them bit for bit). ``NBHD_GEO_INTERPRET``:
        ``never`` always compiles first, ``always`` runs Python until the family is ready,
        whatever the cost (for tests).
        """
        if self.ready:
            return disp
        if not self._tried_load:  # a warm cache: its machine code, in about 0.1 s
            with self._twin_lock:  # other callers wait for the one trying
                if not self._tried_load:
                    self._try_load()
                    self._tried_load = True
            if self.ready:
                return disp
        mode = os.environ.get("NBHD_GEO_INTERPRET", "auto").strip().lower()
        if mode != "never":
            key = id(disp)
            first = False
            with self._twin_lock:
                estimate = max(work, 0.0) * self._rates.get(key, 1e-5)
                left = self._rent_left()
                if mode == "always" or estimate <= left:
                    self._spent += estimate  # until the run says what it cost
                    twin = self._twin(key)
                    first, self._ran_twins = not self._ran_twins, True
                else:
                    twin = None
                    log.debug("%s: %s compiles first (%.2f s as Python estimated, %.1f s "
                              "left)", self.name, disp.py_func.__name__, estimate, left)
            if first:
                atexit.register(self._fill_cache_at_exit)
            if twin is not None:
                return functools.partial(self._run_twin, twin, key, work, estimate)
        self.compile()
        return disp

    @property
    def ready(self) -> bool:
        """Whether the family's machine code is in hand (compiled or loaded)."""
        return self._seconds is not None

    def _try_load(self) -> None:
        """Load the family from a warm cache, unless a compile is under way; never compile.

        Waits for a loading thread (:meth:`load_in_background`) to finish; does not wait for
        a compile (a thread or a child from :meth:`compile_in_background`), whose lock it
        finds taken.
        """
        loader = self._loader
        if loader is not None:
            loader.join()
        elif self._lock.acquire(blocking=False):
            try:
                self._load_locked()
            finally:
                self._lock.release()

    def _rent_left(self) -> float:
        """Seconds kernels may still run as Python before compiling pays (lock held)."""
        child = self._child
        if child is None:
            return max(self.seconds - self._spent, 0.0)
        if child.poll() is not None:
            return 0.0  # done: the family is being loaded
        # a child compiles on another core: running Python here does not delay it
        return max(self.seconds - (time.perf_counter() - self._child_t0), 0.0)

    def _run_twin(self, twin: Any, key: int, work: float, estimate: float,
                  *args: Any) -> Any:
        """Run ``twin(*args)``; book its seconds instead of ``estimate``, and its rate."""
        t0 = time.perf_counter()
        try:
            return twin(*args)
        finally:
            seconds = time.perf_counter() - t0
            with self._twin_lock:
                self._spent += seconds - estimate
                if work >= 1000:  # too few units time nothing but the call itself
                    self._rates[key] = seconds / work

    def _fill_cache_at_exit(self) -> None:
        """At exit, start a child compiling the family for the next process, if need be.

        Only when this process ran kernels as Python and never got machine code, the
        cache can be written, and ``NBHD_GEO_PRECOMPILE`` is not ``0``. The child runs at
        the lowest priority and outlives this process (:func:`_compile_in_child`).
        """
        if self._seconds is None and os.environ.get("NBHD_GEO_PRECOMPILE", "1") != "0":
            self._start_child()

    def _twin(self, key: int) -> Any:
        """Return the Python twin of the kernel whose dispatcher has id ``key`` (lock held).

        Each kernel's source compiled by Python, in a copy of its module's namespace where
        every kernel of the family is its twin: the twins call each other, never numba.
        """
        if not self._twins:
            spaces: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
            for disp, _, _ in self.kernels:
                fn = disp.py_func
                space = spaces.setdefault(id(fn.__globals__), (fn.__globals__, {}))[1]
                twin = types.FunctionType(fn.__code__, space, fn.__name__, fn.__defaults__,
                                          fn.__closure__)
                twin.__qualname__ = fn.__qualname__
                self._twins[id(disp)] = twin
            for module, space in spaces.values():
                space.update({k: self._twins.get(id(v), v) for k, v in module.items()})
        return self._twins[key]

    def compile(self) -> float:
        """Compile every kernel once, or load it from numba's cache; return seconds spent.

        Idempotent and thread-safe: a second caller waits for the first (e.g. the
        background compilation) and returns at once afterwards. After
        :meth:`compile_in_background` found the cache cold, it waits for the child process
        compiling the family and loads what the child cached; it compiles in-process if
        the child failed or the cache still misses.
        """
        if self._seconds is not None:
            return self._seconds
        with self._lock:
            if self._seconds is None:
                t0 = time.perf_counter()
                if not self._load_entries() and not (
                    self._child_compiled() and self._load_entries()
                ):
                    for disp, sig, _ in self.kernels:
                        if threading.current_thread() is not threading.main_thread() and (
                            self._stop.is_set()
                        ):
                            return time.perf_counter() - t0  # the interpreter is exiting
                        disp.compile(sig)
                        disp.disable_compile()
                self._seconds = self._ready(t0)
        return self._seconds

    def compile_in_background(self) -> threading.Thread | None:
        """Start :meth:`compile` in a daemon thread, so that reading inputs overlaps it.

        When an entry kernel is missing from numba's cache and the cache can be written
        (and the family has a ``home``), the family is compiled in a child process started
        at once (``python -c``, the same interpreter and environment, so the same cache
        folder), at the lowest priority, while this process goes on; the thread, like any
        later :meth:`compile`, waits for it and loads the kernels from the cache. A warm
        cache is only loaded, in the thread.

        Returns the thread, or ``None`` when the kernels are already compiled or being
        compiled. ``NBHD_GEO_PRECOMPILE``: ``0`` turns it off (the first call then compiles
        in the foreground, or runs as Python: :meth:`pick`); ``thread`` compiles in the
        thread, never a child. A process that exits before it finishes leaves the child to
        finish for the next process, or waits only for the kernel being compiled
        in-process (the rest is compiled, or loaded from the cache, by the next process).
        """
        if self._seconds is not None or os.environ.get("NBHD_GEO_PRECOMPILE", "1") == "0":
            return None
        with self._thread_lock:
            if self._thread is not None:
                return None
            self._use_child = _child_wanted()
            # a warm (or stale) cache: the thread tries it first, a child only if it misses
            if self._use_child and self._cache_cold():
                self._start_child()

            # an error is left to the foreground call, which compiles again and raises it
            self._thread = _daemon(self.compile, f"nbhd_geo-compile-{self.name}")
        atexit.register(self._finish_background)
        return self._thread

    def load_in_background(self) -> threading.Thread | None:
        """Load the family from numba's cache in a daemon thread, if all of it is there.

        Never compiles: with a cold cache it does nothing (the first call, or
        :meth:`compile_in_background`, compiles). What ``import nbhd_geo`` does for a
        script, so that reading its layers hides the load (about 0.1 s of CPU). Off when
        ``NBHD_GEO_PRECOMPILE=0``.
        """
        if self._seconds is not None or os.environ.get("NBHD_GEO_PRECOMPILE", "1") == "0":
            return None
        with self._thread_lock:
            if self._thread is not None or self._loader is not None:
                return None

            # an error is left to the first call, which compiles (or loads) and raises it
            self._loader = _daemon(self._load, f"nbhd_geo-load-{self.name}")
        atexit.register(self._finish_background)
        return self._loader

    def _load(self) -> None:
        """Load every entry kernel from the cache, or none; never compile."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        """:meth:`_load` with the lock held."""
        if self._seconds is None:
            t0 = time.perf_counter()
            if self._load_entries():
                self._seconds = self._ready(t0)

    def _load_entries(self) -> bool:
        """Load every entry kernel from numba's cache, never compiling; True if all loaded.

        The machine code of a kernel Python calls includes every kernel it calls: from the
        cache, only those few are loaded (numba's start-up is the rest).
        """
        _key_by_sources(self.kernels)
        return all(_load_cached(disp, sig) for disp, sig, entry in self.kernels if entry)

    def _ready(self, t0: float) -> float:
        """Let the entry kernels accept their one signature only; the seconds since ``t0``."""
        for disp, _, entry in self.kernels:
            if entry:
                disp.disable_compile()
        return time.perf_counter() - t0

    def _entry_index_files(self) -> list[str] | None:
        """Return the cache index file of every entry kernel; ``None`` if one has no cache."""
        files: list[str] = []
        for disp, _, entry in self.kernels:
            if not entry:
                continue
            index = getattr(getattr(getattr(disp, "_cache", None), "_cache_file", None),
                            "_index_path", None)
            if not isinstance(index, str):
                return None
            files.append(index)
        return files

    def _cache_cold(self) -> bool:
        """Whether an entry kernel has no cache index at all (a stat, numba not started)."""
        files = self._entry_index_files()
        return files is not None and not all(os.path.exists(f) for f in files)

    def _start_child(self) -> subprocess.Popen[bytes] | None:
        """Start the child process compiling the family into the cache, once; or ``None``.

        ``python -c`` rather than :mod:`multiprocessing`: its spawn start method re-runs the
        caller's ``__main__`` (a script without a main guard would run again) and pickles
        its target; this child imports only the modules declaring the kernels, under
        stand-ins for their parent packages, whose ``__init__`` imports all of nbhd_geo
        (geopandas, pandas...: 0.7 s of CPU the compile does not need).
        """
        with self._child_lock:
            if self._child is not None or self.home is None or not sys.executable:
                return self._child
            if self._entry_index_files() is None:  # no cache to fill: pointless
                return None
            stubs = []
            for module in (self.home, __name__):
                parts = module.split(".")
                for i in range(1, len(parts)):
                    package = ".".join(parts[:i])
                    path = getattr(sys.modules.get(package), "__path__", None)
                    # home and what it imports run for real: they declare the kernels
                    if path is not None and not (package + ".").startswith(self.home + "."):
                        stubs.append((package, list(path)))
            spec = {"stubs": stubs, "jit": __name__, "home": self.home, "name": self.name,
                    "timeout": self.child_timeout}
            self._child_log = tempfile.TemporaryFile()
            try:
                # its own session: a Ctrl-C meant for this process leaves it to finish
                self._child = subprocess.Popen(
                    [sys.executable, "-c", _CHILD, json.dumps(spec)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=self._child_log, start_new_session=True,
                    env={**os.environ, "NBHD_GEO_PRECOMPILE": "0"})
                self._child_t0 = time.perf_counter()
            except OSError as exc:
                log.debug("could not start a process to compile the %s kernels: %s",
                          self.name, exc)
                return None
            atexit.register(self._finish_background)
            log.debug("compiling the %s kernels in process %d", self.name, self._child.pid)
            return self._child

    def _child_compiled(self) -> bool:
        """Wait for the child process compiling the family; True if it exited 0.

        The child is started now if the overlap was asked for and none runs yet (a stale
        cache: the entries are indexed, not for these sources).
        """
        child = self._start_child() if self._use_child else self._child
        if child is None:
            return False
        t0 = time.perf_counter()
        code = child.poll()
        while code is None:
            if self._stop.wait(0.05):  # this process exits: the child finishes for the next
                return False
            if time.perf_counter() - t0 > self.child_timeout:
                _end(child)
                break
            code = child.poll()
        tail = b""
        with self._child_lock:
            if self._child_log is not None:
                self._child_log.seek(0)
                tail = self._child_log.read()[-300:]
                self._child_log.close()
                self._child_log = None
        if code == 0:
            log.debug("%s kernels compiled by process %d (waited %.1f s)", self.name, child.pid,
                      time.perf_counter() - t0)
            return True
        log.debug("the process compiling the %s kernels %s; compiling them here: %s",
                  self.name, "timed out" if code is None else f"exited {code}",
                  tail.decode(errors="replace").strip())
        return False

    def _finish_background(self) -> None:
        # Let a background compilation finish the kernel it is on, rather than tear down the
        # interpreter (and LLVM) under it; a child compiling goes on (module docstring).
        self._stop.set()
        for thread in (self._loader, self._thread):
            if thread is not None:
                thread.join()


def _daemon(work: Any, name: str) -> threading.Thread:
    """Start ``work()`` in a daemon thread that swallows its errors.

    The caller's foreground call repeats the work and raises them.
    """

    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - raised again by the foreground call
            pass

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


#: the families with a ``home``, by name (what a child process compiles)
_FAMILIES: dict[str, KernelSet] = {}

# What a child process started by KernelSet._start_child runs: stand-in packages (module
# objects with the real __path__, so that submodules import) for the parents of the modules
# declaring the kernels, then _compile_in_child.
_CHILD = """\
import json, os, sys, types
try:  # run only on a core nothing else wants (Linux), else at the lowest priority
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
except (AttributeError, OSError):
    try:
        os.nice(19)
    except (AttributeError, OSError):
        pass
spec = json.loads(sys.argv[1])
for name, path in spec["stubs"]:
    if name not in sys.modules:
        package = sys.modules[name] = types.ModuleType(name)
        package.__path__ = path
__import__(spec["jit"], fromlist=["_compile_in_child"])._compile_in_child(
    spec["home"], spec["name"], spec["timeout"])
"""


def _child_wanted() -> bool:
    """Tell whether a cold cache is filled by a child process: unless told ``thread``.

    On one core too: the child runs at low priority, so this process's own work (its
    kernels run as Python meanwhile, see :meth:`KernelSet.pick`) comes first, where a thread
    compiling would hold the interpreter's lock half the time.
    """
    return os.environ.get("NBHD_GEO_PRECOMPILE", "1").strip().lower() != "thread"


def _compile_in_child(home: str, name: str, timeout: float = 300.0) -> None:
    """Compile family ``name`` (declared by importing ``home``) into numba's cache.

    Runs in the child process, which ``_CHILD`` put at the lowest priority (Linux's
    ``SCHED_IDLE``: it runs only on a core nothing else wants), outliving its parent if
    need be (the next process then finds the cache warm) but never ``timeout`` seconds.
    Children of several processes take turns, by a lock file in the cache folder: the
    second loads what the first compiled.
    """
    timer = threading.Timer(timeout, os._exit, (3,))
    timer.daemon = True
    timer.start()
    importlib.import_module(home)
    family = _FAMILIES[name]
    files = family._entry_index_files()
    with contextlib.ExitStack() as stack:
        if files and fcntl is not None:
            lock = stack.enter_context(
                open(os.path.join(os.path.dirname(files[0]), f".nbhd_geo-{name}.lock"), "w"))
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        family.compile()


def _end(child: subprocess.Popen[bytes]) -> None:
    """Kill ``child`` if it still runs, and reap it (no zombie)."""
    if child.poll() is None:
        child.kill()
    child.wait()
    if child.stdin is not None:
        child.stdin.close()


def started_by_cli() -> bool:
    """Whether this process is the command line (``nbhd-geo`` or ``python -m nbhd_geo.cli``).

    The command line starts what each command needs itself (:meth:`KernelSet.compile_in_background`
    where layers will be crossed); a script importing the package gets
    :meth:`KernelSet.load_in_background` instead.

    Examples
    --------
    >>> started_by_cli()
    False
    """
    argv = list(getattr(sys, "orig_argv", sys.argv))
    ran = os.path.basename(sys.argv[0]) if sys.argv else ""
    return ran in ("nbhd-geo", "nbhd-geo.exe") or any(
        a == "-m" and b.split(".")[:2] == ["nbhd_geo", "cli"]
        for a, b in zip(argv, argv[1:], strict=False)
    )


_NO_CACHE_WARNED: list[bool] = []


def _warn_no_cache(fn: Any) -> None:
    """Warn, once per process, that no folder for numba's cache is writable."""
    if _NO_CACHE_WARNED:
        return
    _NO_CACHE_WARNED.append(True)
    warnings.warn(
        "nbhd_geo: numba's cache cannot be written (not beside "
        f"{inspect.getsourcefile(fn)}, nor in the user cache folder under $HOME or "
        "$XDG_CACHE_HOME), so the kernels are compiled in every process (about 20 s of CPU "
        "each time). Fix: set NUMBA_CACHE_DIR to a folder of your own that you can write "
        "(see docs/performance.md).",
        NbhdGeoWarning,
        stacklevel=3,
    )


#: The exact overlay engine's kernels.
OVERLAY = KernelSet("overlay", home="nbhd_geo.overlay.exact", seconds=17.0)
_KERNELS = OVERLAY.kernels
_kernel = OVERLAY.kernel


def compile_kernels() -> float:
    """Compile the overlay engine's kernels once, or load them from numba's on-disk cache.

    Returns the seconds spent. Idempotent and thread-safe: a second caller waits for the
    first (e.g. the background compilation started by :func:`compile_in_background`) and
    returns at once afterwards. Where the cache lives: see this module's docstring. A cache
    that cannot be written is not an error: the kernels are compiled in every process
    instead (about 18 s of CPU).

    Examples
    --------
    >>> seconds = compile_kernels()
    >>> compile_kernels() == seconds  # the second call does nothing
    True
    """
    return OVERLAY.compile()


def compile_in_background() -> threading.Thread | None:
    """Start :func:`compile_kernels` in the background, so that reading inputs overlaps it.

    For a caller that wants the kernels compiled now (``make test`` at install) rather than
    run as Python until compiling pays (:func:`load_in_background`, what the CLI commands
    and :func:`nbhd_geo.reconcile.reconcile` call). With a cold cache the kernels are
    compiled in a child process and loaded by :func:`compile_kernels`; a warm cache is
    loaded in a daemon thread (:meth:`KernelSet.compile_in_background`). Returns the
    thread, or ``None`` when the kernels are already compiled or being compiled.

    Examples
    --------
    >>> t = compile_in_background()
    >>> compile_kernels() >= 0  # waits for the background thread if it is still running
    True
    """
    return OVERLAY.compile_in_background()


def load_in_background() -> threading.Thread | None:
    """Load the overlay kernels from a warm cache in a daemon thread; never compile.

    What the command line and :func:`nbhd_geo.reconcile.reconcile` call as soon as layers
    will be crossed. With a cold cache it does nothing: the first crosswalks run the
    kernels as Python while that is cheaper than compiling them, and compile when it is
    not (:meth:`KernelSet.pick`). Returns the thread, or ``None``.

    Examples
    --------
    >>> _ = load_in_background()
    >>> compile_kernels() >= 0  # waits for the thread if it is still loading
    True
    """
    return OVERLAY.load_in_background()


def _key_by_sources(kernels: list[tuple[Any, tuple[Any, ...], bool]]) -> None:
    """Make every kernel's cache entry depend on the source of every module of its family.

    numba keys a cached function by its own bytecode and its file's time stamp, but the
    machine code of a caller includes its callees: an edited callee in another module
    would leave the caller's cached code stale. Adding a digest of all the family's
    modules' sources to the key makes any edit recompile everything.
    """
    cached = [disp for disp, _, _ in kernels
              if getattr(getattr(disp, "_cache", None), "_index_key", None) is not None]
    if not cached:  # no cache folder could be written: nothing to key
        return
    files = sorted({inspect.getsourcefile(disp.py_func) or "" for disp in cached})
    digest = hashlib.sha256()
    for name in files:
        with open(name, "rb") as fh:
            digest.update(fh.read())
    stamp = digest.hexdigest()
    for disp in cached:
        cache: Any = getattr(disp, "_cache", None)
        key = getattr(cache, "_index_key", None)
        if key is None or getattr(key, "nbhd_geo_stamp", None) == stamp:
            continue

        def keyed(sig: Any, codegen: Any, _key: Any = key, _stamp: str = stamp) -> Any:
            return (*_key(sig, codegen), _stamp)

        keyed.nbhd_geo_stamp = stamp  # type: ignore[attr-defined]
        cache._index_key = keyed


def _load_cached(disp: Any, sig: tuple[Any, ...]) -> bool:
    """Load one kernel from numba's cache, without compiling it on a miss; True if loaded."""
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:
        if tuple(sig) in disp.overloads:
            return True
        try:
            # numba's load_overload first refreshes the target context: it imports every
            # registry of typing and lowering rules (and, through numba's BLAS check, SciPy
            # when installed), about 0.3 s of CPU that only compiling needs. Loading machine
            # code needs the code generator alone, so the refresh is left to a compile.
            from numba.core.runtime import rtsys

            rtsys.initialize(disp.targetctx)  # the runtime's symbols, which the code links to
            cache = disp._cache
            with cache._guard_against_spurious_io_errors():
                cres = cache._load_overload(sig, disp.targetctx)
        except AttributeError:  # another numba: compile() will load it instead
            return False
        if cres is None:
            return False
        # what Dispatcher.compile does with a cache hit
        disp.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
        disp.add_overload(cres)
        return True
