# The Debian package. Owner: the packaging area.
#
#   make deb            build/rapidreboot_<version>_<arch>.deb (+ .changes, .buildinfo)
#   make test-package   lintian, the validators, the package's file list,
#                       install and purge in a Debian 12 chroot   (in check)
#   make demo-package   the package's fields and files            (in demo)
#
# deb copies the tree (tracked and new files, as `git add -A` would see
# them) to $(DEB_WORK), vendors the Go modules there, and runs
# dpkg-buildpackage in the copy with GOPROXY=off: the build itself is
# offline, and the working tree never holds a vendor/ directory (it would
# change every developer's go build). See debian/README.source.

DEB_VERSION  := $(VERSION)
DEB_UPSTREAM := $(shell echo '$(DEB_VERSION)' | sed 's/-[^-]*$$//')
DEB_ARCH     := $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null || echo amd64)
DEB_WORK     := $(BUILD)/deb-work
DEB_SRC      := $(DEB_WORK)/rapidreboot-$(DEB_UPSTREAM)
DEB_FILE     := $(BUILD)/rapidreboot_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_CHANGES  := $(BUILD)/rapidreboot_$(DEB_VERSION)_$(DEB_ARCH).changes
# The build runs in a network namespace of its own, with no network at all,
# when the machine allows it (root, or unprivileged user namespaces): the
# proof that it is offline, not a promise. DEB_OFFLINE= turns it off.
DEB_OFFLINE  ?= $(shell unshare -n true 2>/dev/null && echo "unshare -n" || \
                        (unshare -rn true 2>/dev/null && echo "unshare -rn"))

.PHONY: deb test-package demo-package

deb:
	@command -v dpkg-buildpackage >/dev/null || { echo "deb: dpkg-buildpackage missing (make deps)"; exit 1; }
	rm -rf $(DEB_WORK)
	mkdir -p $(DEB_SRC)
	@# A git checkout: what `git add -A` would see; a tarball: all but build/.
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -z --cached --others --exclude-standard \
	  | xargs -0 sh -c 'for f; do [ -e "$$f" ] || [ -L "$$f" ] && printf "%s\0" "$$f"; done; true' sh \
	  | tar --null -T - -cf - | tar -xf - -C $(DEB_SRC); \
	else tar --exclude=./$(BUILD) --exclude=./vendor -cf - . | tar -xf - -C $(DEB_SRC); fi
	cd $(DEB_SRC) && GOFLAGS=-mod=mod $(GO) mod vendor
	@echo "deb: building $(if $(DEB_OFFLINE),without network ($(DEB_OFFLINE)),offline by GOPROXY=off only)"
	cd $(DEB_SRC) && GO="$$(command -v $(GO))" GOCACHE=$(GOCACHE) $(DEB_OFFLINE) dpkg-buildpackage -us -uc -b
	rm -f $(BUILD)/rapidreboot_*.deb $(BUILD)/rapidreboot*_*.ddeb $(BUILD)/rapidreboot_*.changes $(BUILD)/rapidreboot_*.buildinfo
	cp $(DEB_WORK)/rapidreboot_$(DEB_VERSION)_* $(DEB_WORK)/rapidreboot-dbgsym_$(DEB_VERSION)_* $(BUILD)/ 2>/dev/null || true
	@ls -l $(DEB_FILE)

test-package: deb
	scripts/check-summary run package -- test/package/run.sh $(DEB_CHANGES)

# make demo: the package, what it holds and needs.
demo-package: deb
	@echo "== the Debian package: $(DEB_FILE) ($$(du -k $(DEB_FILE) | cut -f1) KiB)"
	@dpkg-deb -f $(DEB_FILE) Package Version Depends Suggests
	@dpkg-deb -c $(DEB_FILE) | awk '$$1 !~ /^d/ {sub(/^\./, "", $$6); print "  " $$6 ($$7 == "->" ? " -> " $$8 : "")}'

CHECK_TARGETS += test-package
DEMO_TARGETS  += demo-package
