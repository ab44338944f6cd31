# i18n: the message catalog (po/), compiled catalogs, and the desktop and
# metadata files with translations merged in. Owner: the dialog's area.
#
#   make pot          po/rapidreboot.pot from the files in po/POTFILES
#   make mo           build/locale/<lang>/LC_MESSAGES/rapidreboot.mo
#   make i18n-check   msgfmt -c of every .po, accelerators, canaries   (in check)
#   make desktop      build/rapidreboot.desktop, build/rapidreboot-quick.desktop,
#                     build/io.github.rapidreboot.metainfo.xml,
#                     build/io.github.rapidreboot.policy (if its .policy.in exists)
#   make desktop-check  desktop-file-validate, appstreamcli validate  (in check)

PO_DIR      := po
POT         := $(PO_DIR)/rapidreboot.pot
LINGUAS     := $(shell sed 's/\#.*//' $(PO_DIR)/LINGUAS 2>/dev/null)
POT_FILES   := $(shell sed 's/\#.*//' $(PO_DIR)/POTFILES 2>/dev/null)
# Go files listed in POTFILES, and any other tracked Go file that calls
# i18n.G/NG/N_ or reason.N_, so another area's new strings are not missed.
POT_GO      := $(sort $(filter %.go,$(POT_FILES)) \
                 $(shell git grep -l -e 'i18n\.G' -e 'i18n\.NG' -e 'i18n\.N_' -e 'reason\.N_' -- '*.go' ':!:*_test.go' 2>/dev/null))
POT_DESKTOP := $(filter %.desktop.in,$(POT_FILES))
POT_XML     := $(wildcard $(filter %.xml.in %.policy.in,$(POT_FILES)))
# The GNOME Shell extension (gnome-shell/): _() and N_().
POT_JS      := $(filter %.js,$(POT_FILES))
LOCALE_DIR  := $(BUILD)/locale
MO_FILES    := $(foreach l,$(LINGUAS),$(LOCALE_DIR)/$(l)/LC_MESSAGES/rapidreboot.mo)
POLICY_IN   := $(wildcard assets/polkit/io.github.rapidreboot.policy.in)
DESKTOP_OUT := $(BUILD)/rapidreboot.desktop $(BUILD)/rapidreboot-quick.desktop \
               $(BUILD)/io.github.rapidreboot.metainfo.xml \
               $(if $(POLICY_IN),$(BUILD)/io.github.rapidreboot.policy)

# Strings that must be in the template: if one goes missing, extraction of
# that kind of file broke (snapd's canary idea).
POT_CANARIES := "_Quick Restart" "Shut Down…" "Quick Restart…" "Restart Linux without the firmware and boot menu" \
                "Software is being installed or removed (%s). Wait until it has finished." \
                $(if $(POLICY_IN),"Quick Restart the system")

XGETTEXT_COMMON := --no-wrap --add-location=file --from-code=UTF-8 --add-comments=TRANSLATORS: --sort-by-file \
                   --package-name=rapidreboot --package-version=$(VERSION) \
                   --msgid-bugs-address=https://github.com/rapidreboot/rapidreboot/issues

.PHONY: pot po-update pot-fresh mo i18n-check desktop desktop-check

# xgettext has no Go parser; Go's string literals and calls read as C's
# for the forms we use (double-quoted strings in G/N_/NG calls).
pot:
	@mkdir -p $(BUILD)/pot
	xgettext $(XGETTEXT_COMMON) --language=C --keyword= --keyword=G --keyword=N_ --keyword=NG:1,2 \
	  -o $(BUILD)/pot/go.pot $(POT_GO)
	xgettext $(XGETTEXT_COMMON) --language=Desktop --keyword= --keyword=Name --keyword=GenericName \
	  --keyword=Comment --keyword=Keywords -o $(BUILD)/pot/desktop.pot $(POT_DESKTOP)
	xgettext $(XGETTEXT_COMMON) -o $(BUILD)/pot/xml.pot $(POT_XML)
	xgettext $(XGETTEXT_COMMON) --language=JavaScript --keyword= --keyword=_ --keyword=N_ -o $(BUILD)/pot/js.pot $(POT_JS)
	msgcat --no-wrap --use-first -o $(POT).tmp $(BUILD)/pot/go.pot $(BUILD)/pot/desktop.pot $(BUILD)/pot/xml.pot $(BUILD)/pot/js.pot
	# No creation date: the template changes only when the strings do.
	sed -i '/^"POT-Creation-Date:/d' $(POT).tmp
	@for c in $(POT_CANARIES); do \
	  grep -qF "msgid \"$$c\"" $(POT).tmp || { echo "pot: canary \"$$c\" missing"; rm -f $(POT).tmp; exit 1; }; \
	done
	mv $(POT).tmp $(POT)
	@echo "pot: $$(grep -c '^msgid ' $(POT)) messages"

# Refresh the translations from the template (a translator's step).
po-update: pot
	for l in $(LINGUAS); do msgmerge --quiet --no-wrap --update --backup=none --previous $(PO_DIR)/$$l.po $(POT); done

mo: $(MO_FILES)

$(LOCALE_DIR)/%/LC_MESSAGES/rapidreboot.mo: $(PO_DIR)/%.po
	@mkdir -p $(dir $@)
	msgfmt -c --check-accelerators=_ -o $@ $<

i18n-check:
	@for l in $(LINGUAS); do \
	  msgfmt -c --check-accelerators=_ --statistics -o /dev/null $(PO_DIR)/$$l.po || exit 1; \
	done
	@for c in $(POT_CANARIES); do \
	  grep -qF "msgid \"$$c\"" $(POT) || { echo "i18n-check: canary \"$$c\" missing from $(POT)"; exit 1; }; \
	done
	@# Is every message of the sources in the committed template?
	@$(MAKE) --no-print-directory -s pot-fresh

# Compares a fresh extraction with the committed template, message ids
# only (locations and the header may differ).
pot-fresh:
	@mkdir -p $(BUILD)/pot-fresh
	@$(MAKE) --no-print-directory -s pot POT=$(BUILD)/pot-fresh/fresh.pot >/dev/null
	@grep -h -e '^msgid ' -e '^msgid_plural ' $(POT) | sort > $(BUILD)/pot-fresh/committed.ids
	@grep -h -e '^msgid ' -e '^msgid_plural ' $(BUILD)/pot-fresh/fresh.pot | sort > $(BUILD)/pot-fresh/fresh.ids
	@# A warning, not a failure: a new string is shown in English until
	@# translated, and another area's commit must not break the build.
	@diff -u $(BUILD)/pot-fresh/committed.ids $(BUILD)/pot-fresh/fresh.ids >/dev/null || \
	  { echo "i18n-check: WARNING: po/rapidreboot.pot is stale (new or changed strings):"; \
	    diff $(BUILD)/pot-fresh/committed.ids $(BUILD)/pot-fresh/fresh.ids | sed -n 's/^[<>] /  /p' | head -20; \
	    echo "  run: make pot po-update, then translate po/*.po"; }

desktop: $(DESKTOP_OUT)

$(BUILD)/%.desktop: assets/desktop/%.desktop.in $(PO_DIR)/LINGUAS $(wildcard $(PO_DIR)/*.po)
	@mkdir -p $(BUILD)
	msgfmt --desktop --template=$< -d $(PO_DIR) -o $@

$(BUILD)/io.github.rapidreboot.metainfo.xml: assets/desktop/io.github.rapidreboot.metainfo.xml.in $(wildcard $(PO_DIR)/*.po)
	@mkdir -p $(BUILD)
	msgfmt --xml --template=$< -d $(PO_DIR) -o $@

$(BUILD)/io.github.rapidreboot.policy: $(POLICY_IN) $(wildcard $(PO_DIR)/*.po)
	@mkdir -p $(BUILD)
	msgfmt --xml --template=$< -d $(PO_DIR) -o $@

desktop-check: desktop
	desktop-file-validate $(BUILD)/rapidreboot.desktop $(BUILD)/rapidreboot-quick.desktop
	appstreamcli validate --no-net --explain $(BUILD)/io.github.rapidreboot.metainfo.xml
	xmllint --noout assets/desktop/io.github.rapidreboot.svg

CHECK_TARGETS += i18n-check desktop-check
