# rapidreboot — build, test, install.
#
#   make demo      install what is needed, build, show the product working
#   make check     everything CI runs (README's test command; .ci/run)
#   make install   DESTDIR=... PREFIX=/usr
#
# Area fragments live in mk/*.mk; each adds its targets to CHECK_TARGETS.

PREFIX      ?= /usr
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec
DATADIR     ?= $(PREFIX)/share
SYSCONFDIR  ?= /etc
DESTDIR     ?=

GO          ?= go
# Go's build cache survives fresh clones on the same machine: the gotk3 cgo
# build (3-5 min cold on 2 cores) then takes seconds.
CACHE_DIR   ?= $(HOME)/.cache/rapidreboot
export GOCACHE ?= $(HOME)/.cache/go-build
export GOFLAGS ?= -buildvcs=false
export GOTOOLCHAIN = local
# Everything that links GTK (make build, test-gui, the Debian package) is
# built with the package's flags: PIE, no paths, Debian's hardening flags
# for the C parts. Go's cache keys include all of them, so the slow gotk3
# cgo build is then done once per cache instead of once per flag set.
# (-race cannot be PIE; the unit tests do not link GTK.)
GO_PIE      := -trimpath -buildmode=pie
DEB_FLAGS    = DEB_BUILD_MAINT_OPTIONS='hardening=+all reproducible=-fixfilepath,-fixdebugpath' dpkg-buildflags --get
ifneq ($(shell command -v dpkg-buildflags),)
export CGO_CFLAGS   ?= $(shell $(DEB_FLAGS) CFLAGS) $(shell $(DEB_FLAGS) CPPFLAGS)
export CGO_CXXFLAGS ?= $(shell $(DEB_FLAGS) CXXFLAGS) $(shell $(DEB_FLAGS) CPPFLAGS)
export CGO_LDFLAGS  ?= $(shell $(DEB_FLAGS) LDFLAGS)
endif

VERSION     ?= $(shell sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog 2>/dev/null || echo 0.0.0)
LDFLAGS     := -X github.com/rapidreboot/rapidreboot/backend/version.Version=$(VERSION)
BUILD       := build
BINS        := rapidreboot rapidrebootctl rapidreboot-helper rapidreboot-shutdown
# The programs that run as root and load or execute kernels are built
# without cgo (issue 12 item 10): pure Go, statically linked, no PT_INTERP,
# so no dynamic loader runs in them and LD_PRELOAD, LD_LIBRARY_PATH or
# GCONV_PATH in their environment can do nothing. Go cannot make a static
# PIE without a C linker (which needs cgo), so these are plain static
# executables. rapidrebootctl is one of them: as root with --root it loads
# a kernel itself, and nothing in it needs libc. Only the dialog links GTK
# and keeps cgo (and PIE). test/package checks the ELF headers.
STATIC_BINS := rapidrebootctl rapidreboot-helper rapidreboot-shutdown
GO_STATIC   := -trimpath -buildmode=exe
# Extra -ldflags for the cgo binaries only (debian/rules: external linking
# with Debian's LDFLAGS, which a cgo-free build cannot use).
CGO_LDFLAGS_GO ?=

CHECK_TARGETS :=
DEMO_TARGETS  :=

# Fuzz runs (fuzz-short, fuzz-kexec) are a count of executions, not a
# duration: with a duration, Go 1.26's fuzz coordinator can fail a target
# with a bare "context deadline exceeded" and no failing input when the
# deadline races a busy worker (golang/go#75804, fixed in Go 1.27; it
# failed one `make check` here). 200000 executions take 6-12 s per target
# on a 2-core machine.
FUZZTIME    ?= 200000x
# fuzz-run runs each "dir:FuzzName" of $(1) for FUZZTIME with one worker
# (the machine is shared), printing its last figures or, on a failure, the
# tail of its output. fuzz-short (mk/bootplan.mk) and fuzz-kexec
# (mk/kexec.mk) are this loop over their lists.
fuzz-run = @set -e; for t in $(1); do \
	  pkg=$${t%%:*}; fn=$${t\#\#*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  out=$$($(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -parallel 1 ./$${pkg\#./} 2>&1) || { echo "$$out" | tail -40; exit 1; }; \
	  echo "$$out" | grep 'execs:' | tail -1; \
	done

.PHONY: all build deps demo test check fmt vet unit clean

all: build

deps:
	./scripts/install-deps

build:
	@mkdir -p $(BUILD)
	for b in $(BINS); do \
	  [ -d cmd/$$b ] || continue; \
	  case " $(STATIC_BINS) " in \
	  *" $$b "*) CGO_ENABLED=0 $(GO) build $(GO_STATIC) -ldflags "$(LDFLAGS)" -o $(BUILD)/$$b ./cmd/$$b || exit 1 ;; \
	  *) $(GO) build $(GO_PIE) -ldflags "$(LDFLAGS) $(CGO_LDFLAGS_GO)" -o $(BUILD)/$$b ./cmd/$$b || exit 1 ;; \
	  esac; \
	done

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^vendor/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Unit tests: fake roots and syscall fakes only; never the real kexec or reboot(2).
# Packages that link gotk3 are tested by test-gui without -race (a second,
# race-instrumented cgo build of GTK would cost minutes for nothing), and the
# guest tests have their own target.
UNIT_PKGS = $$($(GO) list -f '{{.ImportPath}} {{join .Deps " "}}' ./... | grep -v -e gotk3 | cut -d' ' -f1 | grep -v -e '/test/e2e')
unit:
	$(GO) test -race -count=1 $(UNIT_PKGS)

test: unit

-include mk/*.mk

# Order matters: the quick checks first, so a mistake shows in minutes; the
# guest tests last (the package they install is built by test-package first).
CHECK_SLOW := test-e2e-lanes
# Started right after deps, in the background (mk/e2e.mk).
CHECK_EARLY := e2e-images-early
# Under check (and every target it runs), a missing tool fails instead of
# skipping (deps installed them all), and the GUI, package and guest tests
# count what they ran (scripts/check-summary), so the last line says
# "no guest test ran" rather than "all passed" when none did.
check: export RAPIDREBOOT_REQUIRE_TOOLS := 1
check: export RAPIDREBOOT_CHECK_SUMMARY := $(CURDIR)/$(BUILD)/check-summary
check: check-start deps $(CHECK_EARLY) fmt vet build unit $(filter-out $(CHECK_SLOW),$(CHECK_TARGETS)) $(filter $(CHECK_SLOW),$(CHECK_TARGETS))
	@scripts/check-summary report "$$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}x{{end}}' $(UNIT_PKGS) | grep -c x)"

.PHONY: check-start
check-start:
	@mkdir -p $(BUILD) && : >$(BUILD)/check-summary

# The main job on a fresh machine: install, build, show it working (never
# restarts this machine). Fragments add their demo steps to DEMO_TARGETS.
demo: deps build $(DEMO_TARGETS)
	@echo "demo: done"

clean:
	rm -rf $(BUILD)
