# The dialog's tests and figures. Owner: the dialog's area.
#
#   make test-gui      gotk3 packages' tests (without -race, see Makefile's unit)
#                      and the Xvfb tests of test/gui (in check; -v, counted
#                      for check's last line by scripts/check-summary)
#   make screenshots   the screenshots only, into build/screenshots/
#   make bench-gui     start and relabel times against lxsession-logout and
#                      zenity, under Xvfb (not in check: figures, not pass/fail)

GUI_SHOTS   ?= $(CURDIR)/$(BUILD)/screenshots
GUI_TIMEOUT ?= 15m
# The dialog the tests drive: make build's flags (see GO_PIE in the
# Makefile, so GTK's bindings are compiled once) plus the build tag
# rapidreboot_testhooks, which adds the fake root and the event trace
# (cmd/rapidreboot/start_testhooks.go). It is never installed or packaged:
# the shipped dialog reads no test hook.
TEST_DIALOG := $(BUILD)/test/rapidreboot

.PHONY: test-gui screenshots bench-gui build-test-dialog

build-test-dialog:
	@mkdir -p $(BUILD)/test
	$(GO) vet -tags rapidreboot_testhooks ./cmd/rapidreboot ./ui
	$(GO) build $(GO_PIE) -tags rapidreboot_testhooks -ldflags "$(LDFLAGS) $(CGO_LDFLAGS_GO)" -o $(TEST_DIALOG) ./cmd/rapidreboot

test-gui: build build-test-dialog
	$(GO) test $(GO_PIE) -count=1 $$($(GO) list -f '{{.ImportPath}} {{join .Deps " "}}' ./... | grep gotk3 | cut -d' ' -f1 | grep -v gotk3)
	scripts/check-summary run gui -- env RAPIDREBOOT_BIN=$(CURDIR)/$(TEST_DIALOG) RAPIDREBOOT_SHOTS=$(GUI_SHOTS) \
	  $(GO) test -v -tags gui -count=1 -timeout $(GUI_TIMEOUT) ./test/gui/

screenshots: build-test-dialog
	RAPIDREBOOT_BIN=$(CURDIR)/$(TEST_DIALOG) RAPIDREBOOT_SHOTS=$(GUI_SHOTS) $(GO) test -tags gui -count=1 -timeout $(GUI_TIMEOUT) \
	  -run 'TestShiftTurnsRestartIntoQuickRestartAndBack|TestQuickOption|TestUnavailableQuickRestart|TestUpdatesAndInhibitors|TestScreenshots|TestTheDialogSpeaks|TestWhatWillBoot|TestAnArmedQuickRestart|TestArmedAndExpanded' -v ./test/gui/ | grep -E '\.png|^(ok|FAIL|---)'

bench-gui: build-test-dialog
	test/gui/bench.sh $(TEST_DIALOG)

CHECK_TARGETS += test-gui

# make demo: the dialog as a user sees it, normal and with Shift held.
DEMO_TARGETS  += screenshots
