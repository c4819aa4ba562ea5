# qlab — one-command set-up. `make demo` and `make test` each create .venv if needed and
# install exactly what uv.lock pins. uv itself comes from PyPI when it is not on PATH.
PYTHON ?= python3
VENV   := .venv
UV_VERSION := 0.13.8
BOOT   := .uv-bootstrap
UV     := $(shell command -v uv 2>/dev/null || echo $(BOOT)/bin/uv)
SYNCED := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install demo test bench lab lint clean browser

$(BOOT)/bin/uv:
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(SYNCED): uv.lock pyproject.toml | $(if $(findstring $(BOOT),$(UV)),$(BOOT)/bin/uv)
	$(UV) sync --frozen
	rm -f $(VENV)/.synced-*
	touch $@

install: $(SYNCED)

## demo: run the main job on the embedded data and print where its output is
demo: install
	$(VENV)/bin/qlab demo

## test: the whole suite, on every core (pytest-xdist; the tests share no state)
test: install
	$(VENV)/bin/pytest -n auto

## bench: performance figures (printed, not asserted)
bench: install
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(VENV)/bin/python $$f || exit 1; done

## lab: JupyterLab on notebooks/
lab: install
	$(VENV)/bin/jupyter lab notebooks/

## browser: Debian's headless Chromium, which the report tests open the HTML reports in
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }
	@chromium --version 2>/dev/null

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(BOOT) .pytest_cache
