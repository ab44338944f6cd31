# install: lay out rapidreboot under $(DESTDIR)$(PREFIX) and $(DESTDIR)$(SYSCONFDIR).
# Owner: the packaging area. debian/rules calls exactly this, so the .deb and
# `make install` on another distribution ship the same files.
#
#   make install DESTDIR=/tmp/stage PREFIX=/usr
#   make install-files   the list of files install lays out, one a line
#
# Directories other distributions may want elsewhere (defaults in brackets):
#   SYSTEMDUNITDIR      [$(PREFIX)/lib/systemd/system]  Debian 12: /lib/systemd/system
#   SYSTEMDUSERUNITDIR  [$(PREFIX)/lib/systemd/user]
#   SYSTEMSHUTDOWNDIR   [$(PREFIX)/lib/systemd/system-shutdown]
#   INITDIR             [$(SYSCONFDIR)/init.d]           empty: no init script
#   AUTOSTARTDIR        [$(SYSCONFDIR)/xdg/autostart]
#   MANDIR              [$(DATADIR)/man]
#   DOCDIR              [$(DATADIR)/doc/rapidreboot]
#   LOCALEDIR           [$(DATADIR)/locale]
#
# A file another area has not written yet is skipped with a loud "MISSING"
# line; the package test (test/package) fails on it, so nothing ships
# incomplete by accident.

SYSTEMDUNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSTEMDUSERUNITDIR ?= $(PREFIX)/lib/systemd/user
SYSTEMSHUTDOWNDIR  ?= $(PREFIX)/lib/systemd/system-shutdown
INITDIR            ?= $(SYSCONFDIR)/init.d
AUTOSTARTDIR       ?= $(SYSCONFDIR)/xdg/autostart
MANDIR             ?= $(DATADIR)/man
DOCDIR             ?= $(DATADIR)/doc/rapidreboot
LOCALEDIR          ?= $(DATADIR)/locale
PKGDATADIR         ?= $(DATADIR)/rapidreboot

INSTALL      ?= install
INSTALL_PROG ?= $(INSTALL) -m 0755
INSTALL_DATA ?= $(INSTALL) -m 0644

# The system units: the helper's (D-Bus activated) and the kernel side's
# boot-time units, whatever rapidreboot-*.service they add.
SYSTEM_UNITS = $(sort assets/systemd/rapidreboot-helper.service assets/systemd/rapidreboot-boot.service \
                      $(wildcard assets/systemd/rapidreboot-*.service assets/systemd/rapidreboot-*.timer))
USER_FILES   = $(wildcard assets/user/*.service assets/user/*.path)
MAN_PAGES    = docs/man/rapidreboot.1 docs/man/rapidrebootctl.1 docs/man/rapidreboot-helper.8
# Init scripts for systems without systemd: the kernel side's, all of them.
INIT_SCRIPTS = $(sort assets/sysvinit/rapidreboot $(wildcard assets/sysvinit/rapidreboot*))
# The documents units and man pages point to (Documentation=file://...).
DOCS         = $(sort README.md $(wildcard docs/*.md))

# The units allow kexec_file_load(2) only. Where Linux has no
# kexec_file_load for the architecture (backend/system/kexec falls back to
# kexec-tools' kexec_load there), a drop-in allows kexec_load as well.
KEXEC_FILE_ARCHES := amd64 arm64 ppc64 ppc64le riscv64 s390x loong64
TARGET_GOARCH     ?= $(shell $(GO) env GOARCH)
KEXEC_LOAD_DROPINS = $(if $(filter $(TARGET_GOARCH),$(KEXEC_FILE_ARCHES)),,\
  $(foreach u,rapidreboot-helper rapidreboot-boot,0644:assets/systemd/kexec-load.conf:$(SYSTEMDUNITDIR)/$(u).service.d/kexec-load.conf))

# The GNOME Shell extension (GNOME 45+), installed, never enabled: enabling
# it is the user's or the administrator's choice (docs/desktops.md).
SHELL_EXT_UUID  := rapidreboot@rapidreboot.github.io
SHELL_EXT_FILES := metadata.json extension.js quickrestart.js

# The manifest: MODE:SOURCE:DESTINATION, one entry per installed file.
# install and install-files both read it, so they cannot disagree.
INSTALL_MANIFEST = \
  0755:$(BUILD)/rapidreboot:$(BINDIR)/rapidreboot \
  0755:$(BUILD)/rapidrebootctl:$(BINDIR)/rapidrebootctl \
  0755:$(BUILD)/rapidreboot-helper:$(LIBEXECDIR)/rapidreboot/rapidreboot-helper \
  0755:$(BUILD)/rapidreboot-shutdown:$(SYSTEMSHUTDOWNDIR)/rapidreboot \
  0644:assets/dbus/io.github.rapidreboot.Helper1.conf:$(DATADIR)/dbus-1/system.d/io.github.rapidreboot.Helper1.conf \
  0644:assets/dbus/io.github.rapidreboot.Helper1.service:$(DATADIR)/dbus-1/system-services/io.github.rapidreboot.Helper1.service \
  0644:assets/dbus/io.github.rapidreboot.Helper1.xml:$(DATADIR)/dbus-1/interfaces/io.github.rapidreboot.Helper1.xml \
  0644:$(BUILD)/io.github.rapidreboot.policy:$(DATADIR)/polkit-1/actions/io.github.rapidreboot.policy \
  $(foreach u,$(SYSTEM_UNITS),0644:$(u):$(SYSTEMDUNITDIR)/$(notdir $(u))) \
  $(KEXEC_LOAD_DROPINS) \
  $(foreach u,$(USER_FILES),0644:$(u):$(SYSTEMDUSERUNITDIR)/$(notdir $(u))) \
  $(if $(INITDIR),$(foreach i,$(INIT_SCRIPTS),0755:$(i):$(INITDIR)/$(notdir $(i)))) \
  0644:assets/user/rapidreboot-reboot-required.desktop:$(AUTOSTARTDIR)/rapidreboot-reboot-required.desktop \
  0644:$(BUILD)/rapidreboot.desktop:$(DATADIR)/applications/rapidreboot.desktop \
  0644:$(BUILD)/rapidreboot-quick.desktop:$(DATADIR)/applications/rapidreboot-quick.desktop \
  0644:assets/desktop/io.github.rapidreboot.svg:$(DATADIR)/icons/hicolor/scalable/apps/io.github.rapidreboot.svg \
  0644:$(BUILD)/io.github.rapidreboot.metainfo.xml:$(DATADIR)/metainfo/io.github.rapidreboot.metainfo.xml \
  0644:assets/ui/dialog.css:$(PKGDATADIR)/dialog.css \
  $(foreach f,$(SHELL_EXT_FILES),0644:gnome-shell/$(SHELL_EXT_UUID)/$(f):$(DATADIR)/gnome-shell/extensions/$(SHELL_EXT_UUID)/$(f)) \
  $(foreach m,$(MAN_PAGES),0644:$(m):$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
  $(foreach d,$(DOCS),0644:$(d):$(DOCDIR)/$(notdir $(d))) \
  $(foreach l,$(LINGUAS),0644:$(BUILD)/locale/$(l)/LC_MESSAGES/rapidreboot.mo:$(LOCALEDIR)/$(l)/LC_MESSAGES/rapidreboot.mo)

.PHONY: install install-files uninstall install-prereqs

# What install needs built: the binaries, the catalogs, and the desktop,
# metainfo and polkit files with translations merged (mk/i18n.mk).
install-prereqs: build
	@$(MAKE) --no-print-directory mo desktop

install: install-prereqs
	@missing=0; for e in $(INSTALL_MANIFEST); do \
	  mode=$${e%%:*}; rest=$${e#*:}; src=$${rest%%:*}; dst=$${rest#*:}; \
	  if [ -e "$$src" ]; then \
	    echo "  install $$dst"; $(INSTALL) -D -m "$$mode" "$$src" "$(DESTDIR)$$dst" || exit 1; \
	  else echo "install: MISSING $$src (for $$dst)" >&2; missing=$$((missing+1)); fi; \
	done; \
	if [ $$missing -gt 0 ]; then echo "install: $$missing file(s) MISSING; the package test will fail" >&2; fi

# The files install lays out, one a line, as the package test compares them.
install-files:
	@for e in $(INSTALL_MANIFEST); do echo "$${e#*:*:}"; done

uninstall:
	@for e in $(INSTALL_MANIFEST); do rm -f "$(DESTDIR)$${e#*:*:}"; done
	-@rmdir "$(DESTDIR)$(LIBEXECDIR)/rapidreboot" "$(DESTDIR)$(PKGDATADIR)" 2>/dev/null
