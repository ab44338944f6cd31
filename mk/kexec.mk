# kexec area: backend/system/kexec, backend/system/armstate, backend/system/preflight,
# cmd/rapidreboot-shutdown and their units and init scripts. Their unit
# tests run in `make unit` (fakes only: no test here can load a kernel or
# reboot, the real syscalls refuse inside a test binary).
#
#   make kexec-assets-check  sh -n and shellcheck of the init scripts,
#                            systemd-analyze verify of the units   (in check)
#   make fuzz-kexec          short fuzz runs of the parsers         (in check)
#                            FUZZTIME=2000000x for longer (Makefile)
#   make bench-hook          hook decision time and the Load path
#                            (1 MiB + 50 MiB initrds into a memfd), syscall faked

KEXEC_UNITS   := $(wildcard assets/systemd/rapidreboot-boot*.service)
KEXEC_INITS   := $(wildcard assets/sysvinit/rapidreboot*)
KEXEC_FUZZ    := ./backend/system/kexec:FuzzParseLockdown \
                 ./backend/system/armstate:FuzzReadNeverPanics \
                 ./backend/system/preflight:FuzzParseLocks \
                 ./cmd/rapidreboot-shutdown/internal/hook:FuzzParseStat \
                 ./cmd/rapidreboot-shutdown/internal/hook:FuzzParseMountinfo

CHECK_TARGETS += kexec-assets-check fuzz-kexec

.PHONY: kexec-assets-check fuzz-kexec bench-hook

kexec-assets-check:
	@for f in $(KEXEC_INITS); do sh -n $$f || exit 1; done
	@if command -v shellcheck >/dev/null; then shellcheck $(KEXEC_INITS); \
	  else echo "kexec-assets-check: shellcheck not installed, skipped" >&2; fi
	@# The units name the installed hook; only that absence may be reported.
	@out=$$(systemd-analyze verify $(KEXEC_UNITS) 2>&1 | grep -v 'system-shutdown/rapidreboot is not executable'); \
	  if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	@echo "kexec-assets-check: ok"

fuzz-kexec:
	$(call fuzz-run,$(KEXEC_FUZZ))

bench-hook:
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./cmd/rapidreboot-shutdown/internal/hook
	$(GO) test -run '^$$' -bench . -benchtime 20x ./backend/system/kexec
