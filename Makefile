# Everything a fresh Debian 12 machine needs, as root: `make demo`, `make test`.
PYTHON ?= /usr/bin/python3
VENV   ?= $(CURDIR)/.venv
OCIRT  := $(VENV)/bin/ocirt
PY     := $(VENV)/bin/python
DEMO   ?= $(CURDIR)/.demo
APT_PACKAGES := gcc make python3-dev python3-venv busybox-static libseccomp-dev runc \
                iproute2 util-linux

.PHONY: demo test deps install bundle lint conformance bench clean test-cgroup2

$(CURDIR)/.deps.stamp:
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES); \
	fi
	touch $@

deps: $(CURDIR)/.deps.stamp

$(VENV)/.installed: $(CURDIR)/.deps.stamp setup.py pyproject.toml bin/ocirt $(shell find csrc ocirt -name '*.[ch]' -o -name '*.py' | grep -v _native)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q ".[test]"
	# `python -S` for the command: pip writes the interpreter line without options, and
	# `site` costs ~3 ms of every call (bin/ocirt adds its own site-packages itself)
	sed -i '1s|^\(#!.*python[0-9.]*\)$$|\1 -S|' $(VENV)/bin/ocirt
	# the tests import the checkout itself (pytest puts it first on sys.path): give it the
	# compiled parts too
	$(PY) setup.py -q build_ext --inplace
	touch $@

install: $(VENV)/.installed

# a busybox bundle made with `ocirt spec`, whose process prints who and where it is
bundle: install
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(PY) -c 'from ocirt.testing.busybox import build_rootfs; build_rootfs("$(DEMO)/rootfs")'
	cd $(DEMO) && $(OCIRT) spec
	$(PY) -c 'import json; p="$(DEMO)/config.json"; c=json.load(open(p)); \
	  c["process"]["terminal"]=False; \
	  c["process"]["args"]=["sh","-c","echo hostname: $$(hostname); id; echo pid: $$$$; cat /proc/self/mounts"]; \
	  json.dump(c, open(p,"w"), indent=2)'

demo: bundle
	$(OCIRT) --root $(DEMO)/state run --bundle $(DEMO) demo-$$$$

lint: install
	$(VENV)/bin/ruff check ocirt tests conformance benchmarks setup.py

test: install lint
	$(PY) -m pytest -q tests
	$(PY) conformance/compare.py /usr/sbin/runc $(OCIRT)
	$(MAKE) test-cgroup2

bench: install
	$(PY) benchmarks/run_true.py --ocirt $(OCIRT) --runc /usr/sbin/runc

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info .deps.stamp ocirt/native/_native*.so ocirt/native/ocirt-init

# The cgroup tests on a pure cgroup v2 kernel: cg2-run boots a throw-away QEMU guest (the
# host's cgroups are v1-hybrid and are never remounted) and runs tests/cgroups there.
# ../shared beside the checkout, as in CI
CG2_RUN ?= $(abspath $(CURDIR)/../shared/tools/cg2vm/cg2-run)
CG2_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
test-cgroup2: install
	@if ! dpkg -s $(CG2_PACKAGES) >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CG2_PACKAGES); \
	fi
	CG2_TIMEOUT=$${CG2_TIMEOUT:-900} $(CG2_RUN) 'cd $(CURDIR) && $(PY) -m pytest -q \
	  -p no:cacheprovider tests/cgroups -k "$(CG2_DESELECT)"'

# driver-independent paths already covered on the host, left out of the (emulated, slow) guest
CG2_DESELECT := not test_ps_lists and not kills_leftovers and not kernel_memory_is_ignored
