# The boot plan: backend/{host,kver,grub,bls,menulst,bootplan} and
# `rapidrebootctl plan`. Owner: the boot plan's area. Unit tests (fixture
# roots, attack rows) run in `make unit`.
#
#   make fuzz-short   each parser's fuzz target for FUZZTIME (Makefile; in check)
#   make bench-plan   plan for 100 kernels + 2 MB grub.cfg, and 2x, 4x
#                     (figures, not pass/fail; target < 20 ms, linear growth)
#   make demo-plan    `rapidrebootctl plan` on this machine and on a fixture
#                     root (in demo; a machine without kernels in /boot
#                     correctly refuses, which does not fail the demo)
#   make grub-fixtures        regenerate testdata/debian-1{3,2}-grub*-* with Debian's
#                             real grub-mkconfig (root; network on first use; not in check)
#   make grub-fixtures-check  regenerate into a temp dir and diff (skipped when the
#                             packages are not cached yet; not in check)

PLAN_BENCHTIME  ?= 20x
PLAN_FIXTURE    ?= backend/system/bootplan/testdata/debian-12-own-two-kernels/root
FUZZ_TARGETS    := \
	backend/system/kver:FuzzCompare \
	backend/system/grub:FuzzEvaluate \
	backend/system/grub:FuzzParseEnv \
	backend/system/grub:FuzzParseDefaults \
	backend/system/bls:FuzzParse \
	backend/system/bls:FuzzVersionCompare \
	backend/system/menulst:FuzzParse \
	backend/system/bootplan:FuzzPassphraseVolumes

CHECK_TARGETS += fuzz-short
DEMO_TARGETS  += demo-plan

.PHONY: fuzz-short bench-plan demo-plan grub-fixtures grub-fixtures-check

GRUB_FIXTURES_GEN := backend/system/bootplan/testdata/gen/grub-mkconfig.sh

grub-fixtures:
	$(GRUB_FIXTURES_GEN) trixie
	$(GRUB_FIXTURES_GEN) bookworm

grub-fixtures-check:
	@set -e; c=$${RAPIDREBOOT_CACHE:-$$HOME/.cache/rapidreboot}; \
	if [ ! -x $$c/apt-trixie/root/usr/sbin/grub-mkconfig ] || [ ! -x $$c/apt-bookworm/root/usr/sbin/grub-mkconfig ]; then \
	  echo "grub-fixtures-check: GRUB packages not cached (make grub-fixtures fetches them), skipped"; exit 0; fi; \
	out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; \
	GRUB_FIXTURES_OUT=$$out $(GRUB_FIXTURES_GEN) trixie 2>/dev/null; \
	GRUB_FIXTURES_OUT=$$out $(GRUB_FIXTURES_GEN) bookworm 2>/dev/null; \
	for d in $$out/*; do diff -r --exclude=expected.json $$d backend/system/bootplan/testdata/$${d##*/}; done; \
	echo "grub-fixtures-check: $$(ls $$out | wc -l) fixtures are what grub-mkconfig writes"

# The corpus found is kept in GOCACHE; anything worth keeping is copied
# into testdata/fuzz by hand.
fuzz-short:
	$(call fuzz-run,$(FUZZ_TARGETS))

bench-plan:
	$(GO) test -run '^$$' -bench 'BenchmarkPlan' -benchmem -benchtime $(PLAN_BENCHTIME) -count 3 ./backend/system/bootplan/
	$(GO) test -run '^$$' -bench 'BenchmarkEvaluateScales' -benchtime 10x ./backend/system/grub/

demo-plan:
	@mkdir -p $(BUILD)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BUILD)/rapidrebootctl ./cmd/rapidrebootctl
	@echo "== rapidrebootctl plan (this machine)"
	-$(BUILD)/rapidrebootctl plan
	@echo "== rapidrebootctl --root $(PLAN_FIXTURE) plan"
	$(BUILD)/rapidrebootctl --root $(PLAN_FIXTURE) plan
	@echo "== the same as JSON"
	$(BUILD)/rapidrebootctl --root $(PLAN_FIXTURE) plan --json
