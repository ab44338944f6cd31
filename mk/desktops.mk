# Real desktop sessions in a Debian 13 guest (issue 13; docs/desktop-guests.md).
# Owner: the e2e area. NOT part of make check: the desktop image is large
# and GNOME under TCG is slow.
#
#   make check-desktops  the display's unit tests, a bare qemu taking input
#                        and screendumps, then the desktop image (built and
#                        cached on first use, root) booted into GNOME
#                        (Wayland, GDM) and into Xfce (X11, LightDM), with
#                        screenshots in build/desktop/
#   make test-display    the display's unit tests and the bare qemu only
#                        (no image, seconds)
#   make desktop-image   build (or find) the cached desktop image only
#   make desktop-download  fetch its packages only (network, no root file system)
#   DESKTOP_RUN=REGEXP   only the desktop tests it names (TestDesktop…)

DESKTOP_BUILD   = RAPIDREBOOT_CACHE=$(CACHE_DIR) test/e2e/desktop/build.sh
DESKTOPS_SHOTS  ?= $(CURDIR)/$(BUILD)/desktop
DESKTOP_TIMEOUT ?= 90m
DESKTOP_GOTEST  = RAPIDREBOOT_CACHE=$(CACHE_DIR) RAPIDREBOOT_DESKTOP_OUT=$(DESKTOPS_SHOTS) \
                  $(GO) test -count=1 -v -tags desktop -timeout $(DESKTOP_TIMEOUT) $(if $(DESKTOP_RUN),-run '$(DESKTOP_RUN)') ./test/e2e/

.PHONY: check-desktops test-display desktop-image desktop-download
check-desktops:
	img=$$($(DESKTOP_BUILD)) && RAPIDREBOOT_DESKTOP_IMAGE=$$img $(DESKTOP_GOTEST)

test-display:
	$(DESKTOP_GOTEST)

desktop-image:
	$(DESKTOP_BUILD)

desktop-download:
	$(DESKTOP_BUILD) --download
