# Issue 16: which restart is enough (backend/system/restartkind), the soft restart
# probe (backend/system/softreboot), the coldreboot flag. Unit tests run in
# `make unit`; the helper's side in `make test-integration`.
#
#   make fuzz-restartkind   short fuzz runs of the parsers   (in check)

RESTARTKIND_FUZZ := ./backend/system/restartkind:FuzzParseNeedRestart \
                    ./backend/system/restartkind:FuzzParseDpkgLog \
                    ./backend/system/restartkind:FuzzCmdline \
                    ./backend/system/softreboot:FuzzParseVersion

CHECK_TARGETS += fuzz-restartkind

.PHONY: fuzz-restartkind

fuzz-restartkind:
	@for t in $(RESTARTKIND_FUZZ); do \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; \
	done
