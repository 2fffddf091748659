# make demo: the whole chain on loopback (library traffic → receiver → RRD files → web interface).
# make test: deps, formatting, lints, then every test of the workspace.
# make deps: install the Debian packages the tests need, when they are missing.
# make bench: the criterion benchmarks.
# make tools: install the cargo tools the checks need (cargo-deny), when they are missing.

SHELL := /bin/bash
CARGO ?= cargo
# collectd-core: a real collectd 5.12 for the interop tests; rrdtool: files and graphs;
# rrdcached: the --rrdcached tests; chromium + chromium-driver: the web interface's browser tests.
DEBIAN_PACKAGES := collectd-core rrdtool rrdcached chromium chromium-driver
# What `make demo` needs: rrdtool only (the embedded receiver stands in for collectd).
DEMO_PACKAGES := rrdtool
# Extra flags for the demo, e.g. make demo DEMO_ARGS="--listen 127.0.0.1:9090 --duration 60"
DEMO_ARGS ?=

# The receiver's load test sends 20,000 values/s over loopback UDP and counts every one:
# give sockets room for a burst, as collectd's documentation advises for busy receivers.
UDP_RMEM_MAX := 8388608

.PHONY: deps demo-deps udp-buffers tools lint test demo bench fuzz

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

demo: demo-deps
	$(CARGO) run -p collectd-view -- demo $(DEMO_ARGS)

bench:
	$(CARGO) bench --workspace --all-features

fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run parse
