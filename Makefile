# make demo: the whole chain on loopback (library traffic → receiver → RRD files → web interface).
# make test: deps, formatting, lints, then every test of the workspace.
# make deps: install the Debian packages the tests need, when they are missing.
# make bench: the criterion benchmarks and the Python package's benchmark.
# make py-test: the Python package `collectd` (crates/collectd-py) built, installed into
#   a virtual environment under target/ and tested with pytest (part of make test).
# make tools: install the cargo tools the checks need (cargo-deny), when they are missing.

SHELL := /bin/bash
CARGO ?= cargo
# collectd-core: a real collectd 5.12 for the interop tests; rrdtool: files and graphs;
# rrdcached: the --rrdcached tests; chromium + chromium-driver: the web interface's browser tests;
# victoria-metrics, prometheus: the Prometheus source's tests, fed by collectd's write_prometheus,
# which needs libprotobuf-c1 and libmicrohttpd12 (collectd-core only suggests them).
DEBIAN_PACKAGES := collectd-core rrdtool rrdcached chromium chromium-driver \
	victoria-metrics prometheus libprotobuf-c1 libmicrohttpd12
# What `make demo` needs: rrdtool only (the embedded receiver stands in for collectd).
DEMO_PACKAGES := rrdtool
# Extra flags for the demo, e.g. make demo DEMO_ARGS="--listen 127.0.0.1:9090 --duration 60"
DEMO_ARGS ?=

# The receiver's load test sends 20,000 values/s over loopback UDP and counts every one:
# give sockets room for a burst, as collectd's documentation advises for busy receivers.
UDP_RMEM_MAX := 8388608

.PHONY: deps demo-deps udp-buffers tools lint test demo bench fuzz py-venv py-install py-test py-bench

# Installs the packages given in $(1) that dpkg does not list as installed.
define install_missing
	@missing=""; \
	for pkg in $(1); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "make: $(1) installed"; \
	fi
endef

deps:
	$(call install_missing,$(DEBIAN_PACKAGES))

udp-buffers:
	@current=$$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 0); \
	if [ "$$current" -lt $(UDP_RMEM_MAX) ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
	  $$sudo sysctl -q -w net.core.rmem_max=$(UDP_RMEM_MAX) 2>/dev/null \
	    && echo "make: net.core.rmem_max raised to $(UDP_RMEM_MAX)" \
	    || echo "make: cannot raise net.core.rmem_max ($$current); the receiver load test may see drops"; \
	fi

demo-deps:
	$(call install_missing,$(DEMO_PACKAGES))

# cargo-deny checks licenses, bans and sources; advisories are left out because the
# advisory database cannot be fetched here (only package registries are reachable).
CARGO_DENY_VERSION := 0.20
tools:
	@command -v cargo-deny >/dev/null 2>&1 || { echo "make: installing cargo-deny"; \
	  $(CARGO) install --locked --quiet cargo-deny@$(CARGO_DENY_VERSION); }

# Formatting, clippy (reading [workspace.lints]), docs without warnings, the fuzz target
# builds (a stable `cargo check`: running it needs nightly), dependency licenses and sources.
lint: tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --all-features
	cd fuzz && $(CARGO) check --quiet
	$(CARGO) deny check licenses bans sources

test: deps udp-buffers lint
	$(CARGO) test --workspace --all-features
	$(MAKE) --no-print-directory py-test

# The Python package: a virtual environment under target/ with maturin (the build
# backend) and pytest from the package registry; python3-venv where Debian's python3
# lacks venv/ensurepip.
PYTHON ?= python3
PY_VENV := target/py-venv
PY_TOOLS := "maturin>=1.9,<2" "pytest>=8"

py-venv:
	@$(PYTHON) -c "import venv, ensurepip" >/dev/null 2>&1 || { \
	  echo "make: $(PYTHON) cannot make virtual environments; installing python3-venv"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends python3-venv; }
	@[ -x $(PY_VENV)/bin/python ] || $(PYTHON) -m venv $(PY_VENV)
	@$(PY_VENV)/bin/python -m pip install -q $(PY_TOOLS)

# `pip install ./crates/collectd-py`, as a user would, with the venv's maturin (no
# build isolation: no second download of it). pip builds a release extension.
py-install: py-venv
	PATH="$(abspath $(PY_VENV))/bin:$$PATH" $(PY_VENV)/bin/python -m pip install -q --no-build-isolation --force-reinstall --no-deps ./crates/collectd-py

py-test: deps py-install
	cd crates/collectd-py && ../../$(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider

# record() against the original module and a pure-Python statsd client (both fetched
# from the package registry into a temporary directory when it runs), and 8 threads.
py-bench: py-install
	$(PY_VENV)/bin/python crates/collectd-py/bench/bench.py

demo: demo-deps
	$(CARGO) run -p collectd-view -- demo $(DEMO_ARGS)

bench: py-bench
	$(CARGO) bench --workspace --all-features

fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run parse
