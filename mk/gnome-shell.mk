# The GNOME Shell extension (gnome-shell/). Owner: issue 13's Shell part.
#
#   make test-gnome-shell   the real GNOME Shell 48, headless, in a cached
#                           Debian 13 root, running the extension against the
#                           real helper on a private system bus (root; the
#                           first run debootstraps, ~3 min)
#   make test-gnome-shell GNOME_SHELL_SUITE=forky   the same on Debian testing
#
# Its quick tests (gjs logic, ES-module link, names and sentences equal to
# the Go side) are ordinary Go tests in ./gnome-shell, part of make unit.

GNOME_SHELL_OUT   ?= $(CURDIR)/$(BUILD)/gnome-shell
GNOME_SHELL_SUITE ?= trixie

.PHONY: test-gnome-shell
test-gnome-shell: mo
	RAPIDREBOOT_GNOME_SHELL_OUT=$(GNOME_SHELL_OUT) RAPIDREBOOT_GNOME_SHELL_SUITE=$(GNOME_SHELL_SUITE) \
	  scripts/check-summary run gnome-shell -- $(GO) test -count=1 -tags gnomeshell -run TestRealGnomeShellRunsTheExtension -v ./gnome-shell/

CHECK_TARGETS += test-gnome-shell
