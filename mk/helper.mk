# The privileged helper: backend/system/polkit, backend/logind, backend/system/helper,
# backend/bustest, cmd/rapidreboot-helper, rapidrebootctl's helper commands,
# assets/{dbus,polkit,systemd/rapidreboot-helper.service}. Owner: the
# helper's area. Its unit tests (fakes, stand-ins, private buses) run in
# `make unit`.
#
#   make test-integration  the real rapidreboot-helper, built with the
#                          rapidreboot_fakekexec tag (kexec syscalls recorded
#                          in files, paths under a fake root), D-Bus activated
#                          on private system-like buses next to polkit and
#                          logind stand-ins; rapidrebootctl against it (in check)
#   make bench-helper      Arm latency (call to the faked load), activation
#                          time, GetPlan (figures, not pass/fail)
#
# Nothing here can load a kernel or restart this machine: the test build
# has no real kexec syscall, and logind is a stand-in on a private bus.

HELPER_TEST_BIN   := $(BUILD)/test/rapidreboot-helper-fakekexec
HELPER_INTEG_PKGS := ./backend/system/helper/ ./cmd/rapidrebootctl/
HELPER_BENCHTIME  ?= 200x

CHECK_TARGETS += test-integration

.PHONY: helper-test-bin test-integration bench-helper

helper-test-bin:
	@mkdir -p $(dir $(HELPER_TEST_BIN))
	$(GO) build -tags rapidreboot_fakekexec -o $(HELPER_TEST_BIN) ./cmd/rapidreboot-helper

# rapidrebootctl's other tests (plan, notify) run in `make unit`; here only
# the one that drives the real helper.
test-integration: helper-test-bin
	$(GO) vet -tags integration $(HELPER_INTEG_PKGS)
	$(GO) vet -tags rapidreboot_fakekexec ./cmd/rapidreboot-helper/
	RAPIDREBOOT_TEST_HELPER=$(CURDIR)/$(HELPER_TEST_BIN) \
	  $(GO) test -tags integration -count=1 -timeout 10m ./backend/system/helper/
	RAPIDREBOOT_TEST_HELPER=$(CURDIR)/$(HELPER_TEST_BIN) \
	  $(GO) test -tags integration -count=1 -timeout 5m -run '^(TestTheCommandsDriveTheRealHelper|TestColdRebootAndSoftRestartThroughTheRealHelper|TestStatusShowsAPendingSoftRestart)$$' ./cmd/rapidrebootctl/

bench-helper: helper-test-bin
	RAPIDREBOOT_TEST_HELPER=$(CURDIR)/$(HELPER_TEST_BIN) \
	  $(GO) test -tags integration -run '^$$' -bench . -benchtime $(HELPER_BENCHTIME) ./backend/system/helper/
