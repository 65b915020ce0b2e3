# Two commands on a fresh machine: `make demo` and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
CORE    := $(VENV)/.core-stamp
STAMP   := $(VENV)/.installed-stamp

.PHONY: demo test lint bench samples clean browser wordlist docs mutants

# No pip in the venv (ensurepip costs ~2 s of a first `make demo`): installs go through uv,
# which is kept outside the venv, once per machine, in the user's cache (a fresh clone or
# `make clean` does not fetch it again).
$(BIN)/python:
	$(PY) -m venv --without-pip $(VENV)

# Installs go through uv (resolving and unpacking the geospatial stack takes it ~1 s from
# its cache, ~10 s from PyPI, where pip takes ~45 s): uv on PATH, else the copy under
# $(UV_HOME), else one installed there from PyPI with the system's pip (or, where the cache
# is not writable, under the venv). uv tries its own cache first (--offline), then PyPI.
# pip (put into the venv by ensurepip) when uv cannot be had, or when asked: INSTALL=pip.
INSTALL ?= uv
UV_VERSION := 0.13.9
UV_HOME ?= $(HOME)/.cache/nbhd_geo/tools/uv-$(UV_VERSION)
TEST_EXTRAS := '.[test,bench]'
# $(1): what to install; $(2): extra uv options (--compile-bytecode for the test venv)
define install
	@uv=""; \
	if [ "$(INSTALL)" = uv ]; then \
	  if command -v uv >/dev/null 2>&1; then uv=$$(command -v uv); \
	  elif [ -x "$(UV_HOME)/bin/uv" ]; then uv="$(UV_HOME)/bin/uv"; \
	  elif [ -x "$(VENV)/.tools/bin/uv" ]; then uv="$(VENV)/.tools/bin/uv"; \
	  else echo "installing uv $(UV_VERSION) into $(UV_HOME)"; \
	    if $(PY) -m pip install --quiet --disable-pip-version-check --target "$(UV_HOME)" \
	         uv==$(UV_VERSION) 2>/dev/null; then uv="$(UV_HOME)/bin/uv"; \
	    elif $(PY) -m pip install --quiet --disable-pip-version-check --target \
	         "$(VENV)/.tools" uv==$(UV_VERSION) 2>/dev/null; then uv="$(VENV)/.tools/bin/uv"; \
	    else echo "uv could not be installed; installing with pip"; fi; \
	  fi; \
	fi; \
	if [ -n "$$uv" ]; then \
	  echo "uv pip install $(1)"; \
	  "$$uv" pip install --quiet --offline $(2) --python $(BIN)/python $(1) 2>/dev/null \
	  || "$$uv" pip install --quiet $(2) --python $(BIN)/python $(1) \
	  || { echo "uv failed; installing with pip"; uv=""; }; \
	fi; \
	if [ -z "$$uv" ]; then \
	  echo "pip install $(1)"; \
	  $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade --default-pip >/dev/null; \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check $(1); \
	fi
endef

# What the demo needs: the package and its own dependencies (no test or benchmark tools),
# so that the first `make demo` installs a third of what `make test` does; byte code is
# compiled in the background (`bytecode`).
# Nothing is compiled here: the first demo runs the numba kernels as Python while that is
# cheaper than compiling them, and leaves a background process compiling them for the next
# run (docs/performance.md).
$(CORE): pyproject.toml | $(BIN)/python
	$(call install,-e .,)
	@$(MAKE) --no-print-directory bytecode
	touch $(CORE)

# Byte code for the venv and the package, compiled in the background at low priority
# (nice 10, ahead of the kernels compiling at 19; one process, ~5 s of CPU) while the first
# demo runs: the install does not wait for it (uv's --compile-bytecode would add those
# seconds to it), and the next run finds it even where PYTHONDONTWRITEBYTECODE keeps Python
# from writing it as it imports.
.PHONY: bytecode
bytecode:
	@(cd / && exec nice -n 10 $(abspath $(BIN))/python -m compileall -q -j 1 \
	  $(abspath $(VENV))/lib $(abspath src) >/dev/null 2>&1 &)

# Everything else: tests, linters, benchmarks' peers, docs. The tests cross England-sized
# layers in many processes, so the kernels are compiled here, once (~17 s of CPU), into
# numba's cache beside the sources; both families in parallel children (two cores or more).
$(STAMP): $(CORE)
	$(call install,-e $(TEST_EXTRAS),--compile-bytecode)
	$(BIN)/python -c "from nbhd_geo.voices._grid import compile_in_background as voices; \
	  from nbhd_geo.overlay.exact import compile_in_background as overlay, compile_kernels; \
	  from nbhd_geo.voices._grid import compile_kernels as voices_kernels; \
	  voices(); overlay(); voices_kernels(); compile_kernels()"
	touch $(STAMP)

## Set up and run the main job on the bundled samples; output under out/demo/.
demo: $(CORE)
	$(BIN)/nbhd-geo demo --out out/demo --overwrite

## Headless Chromium for the report's browser test (Debian package; skipped if impossible).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser test..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	      >/dev/null 2>&1 || echo "note: chromium could not be installed; its test will be skipped"; \
	  else echo "note: chromium not installed (needs root + apt); the browser test will be skipped"; fi; }

## British English word list for the report's plain-words test (Debian wbritish).
wordlist:
	@test -f /usr/share/dict/british-english || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wbritish) \
	      >/dev/null 2>&1 || echo "note: wbritish could not be installed; the plain-words test will be skipped"; \
	  else echo "note: no word list (needs root + apt); the plain-words test will be skipped"; fi; }

## Set up and run the whole test suite (ruff, mypy and the import-linter contracts included).
test: $(STAMP) browser wordlist
	$(BIN)/ruff check src tests benchmarks data/samples docs
	$(BIN)/python -m mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -n 2 --dist loadfile

.PHONY: postgis
## PostgreSQL + PostGIS for the database tests (Debian packages; the tests start their own
## throwaway cluster as an unprivileged user, so no service is started here).
postgis:
	@ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's postgresql and postgis for the database tests..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends postgresql postgresql-postgis) >/dev/null 2>&1 \
	      || echo "note: PostGIS could not be installed; its tests will be skipped"; \
	  else echo "note: PostGIS not installed (needs root + apt); its tests will be skipped"; fi; }
test: postgis

## Regenerate data/samples/ deterministically (the files are committed).
samples: $(CORE)
	$(BIN)/python data/samples/generate.py

## Build the documentation site into site/ (warnings are errors).
docs: $(STAMP)
	$(BIN)/python docs/gen_architecture.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

## Benchmarks against tobler and geopandas.overlay (not tests; need ../shared/data).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_crosswalk.py

## Mutation testing of the numeric core (IMD summaries, allocation, split and tension
## measures, apportion and crosswalk wrappers): kill rate per module; survivors judged
## equivalent are listed in benchmarks/MUTANTS.md. Needs ../shared/data. One process per
## module, two at a time (a full serial run took 2.8 h of wall time on a busy 2-core machine);
## each module's console goes to benchmarks/mutants_results/<module>.log, then the table.
MUTANT_MODULES := nbhd_geo.deprivation.allocation nbhd_geo.deprivation.summary \
	nbhd_geo.measures.split nbhd_geo.overlay.apportion nbhd_geo.overlay.crosswalk \
	nbhd_geo.measures.tension
mutants: $(STAMP)
	printf '%s\n' $(MUTANT_MODULES) | xargs -P 2 -I{} sh -c \
	  'nice $(BIN)/python benchmarks/mutants.py -m {} > benchmarks/mutants_results/{}.log 2>&1'
	$(BIN)/python benchmarks/mutants.py --report --fail-under 90

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
