# make deps: install the Debian packages the tests need, when they are missing.
# make test: deps, formatting, lints, then every test of the workspace.
# make demo: the whole chain on loopback (see README).
# make bench: the criterion benchmarks.

SHELL := /bin/bash
CARGO ?= cargo
# collectd-core: a real collectd 5.12 for the interop tests; rrdtool: files and graphs;
# chromium + chromium-driver: the web interface's browser tests.
DEBIAN_PACKAGES := collectd-core rrdtool chromium chromium-driver

.PHONY: deps lint test bench fuzz

deps:
	@missing=""; \
	for pkg in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "make deps: all of $(DEBIAN_PACKAGES) installed"; \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

test: deps lint
	$(CARGO) test --workspace --all-features

bench:
	$(CARGO) bench --workspace

fuzz:
	cd fuzz && $(CARGO) +nightly fuzz run parse
