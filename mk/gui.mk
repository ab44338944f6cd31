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

.PHONY: test-gui screenshots bench-gui

# The dialog under test is make build's (same flags as the package: see
# GO_PIE in the Makefile), so GTK's bindings are compiled once.
test-gui: build
	$(GO) test $(GO_PIE) -count=1 $$($(GO) list -f '{{.ImportPath}} {{join .Deps " "}}' ./... | grep gotk3 | cut -d' ' -f1 | grep -v gotk3)
	scripts/check-summary run gui -- env RAPIDREBOOT_BIN=$(CURDIR)/$(BUILD)/rapidreboot RAPIDREBOOT_SHOTS=$(GUI_SHOTS) \
	  $(GO) test -v -tags gui -count=1 -timeout $(GUI_TIMEOUT) ./test/gui/

screenshots: build
	RAPIDREBOOT_BIN=$(CURDIR)/$(BUILD)/rapidreboot RAPIDREBOOT_SHOTS=$(GUI_SHOTS) $(GO) test -tags gui -count=1 -timeout $(GUI_TIMEOUT) \
	  -run 'TestShiftTurnsRestartIntoQuickRestartAndBack|TestQuickOption|TestUnavailableQuickRestart|TestUpdatesAndInhibitors|TestScreenshots|TestTheDialogSpeaks' -v ./test/gui/ | grep -E '\.png|^(ok|FAIL|---)'

bench-gui: build
	test/gui/bench.sh $(BUILD)/rapidreboot

CHECK_TARGETS += test-gui

# make demo: the dialog as a user sees it, normal and with Shift held.
DEMO_TARGETS  += screenshots
