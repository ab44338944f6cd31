package assets_test

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rapidreboot/rapidreboot/assets"
	"github.com/rapidreboot/rapidreboot/backend/busapi"
	"github.com/rapidreboot/rapidreboot/backend/testtool"
)

// busconfig is the part of dbus-daemon(1)'s configuration language the
// lint looks at.
type busconfig struct {
	Policies []struct {
		Context string `xml:"context,attr"`
		User    string `xml:"user,attr"`
		Group   string `xml:"group,attr"`
		Rules   []rule `xml:",any"`
	} `xml:"policy"`
	Other []struct {
		XMLName xml.Name
	} `xml:",any"`
}

type rule struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
}

func (r rule) attr(name string) (string, bool) {
	for _, a := range r.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// lintBusPolicy returns every problem of a system bus policy file for the
// helper (attack list row 11): each rule names the helper as its
// destination or is an own rule; only root may own, and only the helper's
// name; nothing but the four allowed interfaces is opened; no receive or
// eavesdrop rules; no other top-level elements.
func lintBusPolicy(conf string) []string {
	var bc busconfig
	if err := xml.Unmarshal([]byte(conf), &bc); err != nil {
		return []string{"cannot parse: " + err.Error()}
	}
	var probs []string
	for _, o := range bc.Other {
		probs = append(probs, "unexpected element <"+o.XMLName.Local+">")
	}
	allowedIfaces := map[string]bool{
		busapi.Interface: true, "org.freedesktop.DBus.Properties": true,
		"org.freedesktop.DBus.Introspectable": true, "org.freedesktop.DBus.Peer": true,
	}
	for _, p := range bc.Policies {
		where := fmt.Sprintf("policy context=%q user=%q group=%q", p.Context, p.User, p.Group)
		if p.Group != "" || (p.Context != "" && p.Context != "default") || (p.User != "" && p.User != "root") || (p.Context == "" && p.User == "") {
			probs = append(probs, where+": only context=\"default\" and user=\"root\" policies are expected")
		}
		for _, r := range p.Rules {
			kind := r.XMLName.Local
			if kind != "allow" && kind != "deny" {
				probs = append(probs, where+": unexpected <"+kind+">")
				continue
			}
			if own, ok := r.attr("own"); ok {
				if kind == "allow" && (p.User != "root" || own != busapi.BusName) {
					probs = append(probs, where+": allows owning "+own)
				}
				if len(r.Attrs) != 1 {
					probs = append(probs, where+": an own rule with other attributes")
				}
				continue
			}
			for _, a := range r.Attrs {
				if strings.HasPrefix(a.Name.Local, "receive_") || a.Name.Local == "eavesdrop" || a.Name.Local == "own_prefix" || a.Name.Local == "user" || a.Name.Local == "group" {
					probs = append(probs, where+": rule with "+a.Name.Local)
				}
			}
			dest, ok := r.attr("send_destination")
			if !ok {
				probs = append(probs, where+": <"+kind+"> without send_destination")
				continue
			}
			if dest != busapi.BusName {
				probs = append(probs, where+": rule for "+dest)
			}
			if kind == "allow" {
				iface, ok := r.attr("send_interface")
				if !ok || !allowedIfaces[iface] {
					probs = append(probs, where+": allows interface "+iface)
				}
			}
		}
	}
	return probs
}

func TestRow11TheShippedBusPolicyPassesTheLint(t *testing.T) {
	if p := lintBusPolicy(assets.BusPolicy); len(p) != 0 {
		t.Errorf("%s:\n%s", assets.BusPolicyName, strings.Join(p, "\n"))
	}
}

func TestRow11TheLintCatchesWhatItMust(t *testing.T) {
	cases := []struct {
		desc string
		conf string
	}{
		{"a rule without send_destination", `<busconfig><policy context="default"><allow send_interface="io.github.rapidreboot.Helper1"/></policy></busconfig>`},
		{"a non-root own", `<busconfig><policy context="default"><allow own="io.github.rapidreboot.Helper1"/></policy></busconfig>`},
		{"a user's own", `<busconfig><policy user="alice"><allow own="io.github.rapidreboot.Helper1"/></policy></busconfig>`},
		{"another name owned by root", `<busconfig><policy user="root"><allow own="org.example.X"/></policy></busconfig>`},
		{"every interface of the helper", `<busconfig><policy context="default"><allow send_destination="io.github.rapidreboot.Helper1"/></policy></busconfig>`},
		{"another service opened", `<busconfig><policy context="default"><allow send_destination="org.freedesktop.login1" send_interface="org.freedesktop.login1.Manager"/></policy></busconfig>`},
		{"a receive rule", `<busconfig><policy context="default"><allow receive_sender="io.github.rapidreboot.Helper1"/></policy></busconfig>`},
		{"a mandatory policy", `<busconfig><policy context="mandatory"><deny send_destination="io.github.rapidreboot.Helper1"/></policy></busconfig>`},
		{"an include", `<busconfig><include>/etc/x.conf</include></busconfig>`},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if p := lintBusPolicy(c.conf); len(p) == 0 {
				t.Errorf("lint passed %s", c.conf)
			}
		})
	}
}

func TestTheXMLFilesAreWellFormedAndValid(t *testing.T) {
	xmllint := testtool.Need(t, "xmllint", "libxml2-utils")
	checks := []struct {
		file string
		dtd  string // "" for well-formedness only
	}{
		// The busconfig DTD Debian ships predates send_destination & co.,
		// so the policy is only checked for well-formedness here (and by
		// dbus-daemon itself in the integration tests).
		{assets.BusPolicyName, ""},
		{assets.IntrospectionName, "/usr/share/xml/dbus-1/introspect.dtd"},
		{assets.PolkitPolicyName, "/usr/share/polkit-1/policyconfig-1.dtd"},
	}
	for _, c := range checks {
		args := []string{"--noout", "--nonet"}
		if c.dtd != "" {
			if _, err := os.Stat(c.dtd); err == nil {
				args = append(args, "--dtdvalid", c.dtd)
			} else {
				t.Logf("%s: no %s, checking well-formedness only", c.file, c.dtd)
			}
		}
		out, err := exec.Command(xmllint, append(args, c.file)...).CombinedOutput()
		if err != nil {
			t.Errorf("xmllint %s: %v\n%s", c.file, err, out)
		}
	}
}

type policyconfig struct {
	Actions []struct {
		ID          string `xml:"id,attr"`
		Description string `xml:"description"`
		Message     string `xml:"message"`
		Defaults    struct {
			Any      string `xml:"allow_any"`
			Inactive string `xml:"allow_inactive"`
			Active   string `xml:"allow_active"`
		} `xml:"defaults"`
		Annotate []struct {
			Key   string `xml:"key,attr"`
			Value string `xml:",chardata"`
		} `xml:"annotate"`
	} `xml:"action"`
}

// The defaults are logind's for reboot and reboot-multiple-sessions
// (systemd's src/login/org.freedesktop.login1.policy).
func TestThePolkitActionsHaveLogindsRebootDefaults(t *testing.T) {
	var pc policyconfig
	if err := xml.Unmarshal([]byte(assets.PolkitPolicy), &pc); err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{
		busapi.ActionQuickRestart:                 {"auth_admin_keep", "auth_admin_keep", "yes"},
		busapi.ActionQuickRestartMultipleSessions: {"auth_admin_keep", "auth_admin_keep", "auth_admin_keep"},
	}
	if len(pc.Actions) != len(want) {
		t.Fatalf("%d actions, want %d", len(pc.Actions), len(want))
	}
	for _, a := range pc.Actions {
		w, ok := want[a.ID]
		if !ok {
			t.Errorf("unexpected action %s", a.ID)
			continue
		}
		if got := [3]string{a.Defaults.Any, a.Defaults.Inactive, a.Defaults.Active}; got != w {
			t.Errorf("%s defaults (any, inactive, active) = %v, want %v", a.ID, got, w)
		}
		if strings.TrimSpace(a.Description) == "" || strings.TrimSpace(a.Message) == "" {
			t.Errorf("%s has no description or message", a.ID)
		}
		if a.ID == busapi.ActionQuickRestartMultipleSessions {
			if len(a.Annotate) != 1 || a.Annotate[0].Key != "org.freedesktop.policykit.imply" || a.Annotate[0].Value != busapi.ActionQuickRestart {
				t.Errorf("%s does not imply %s: %+v", a.ID, busapi.ActionQuickRestart, a.Annotate)
			}
		}
	}
	if n := strings.Count(assets.PolkitPolicy, "<!-- TRANSLATORS:"); n != 4 {
		t.Errorf("%d TRANSLATORS comments, want one per description and message (4)", n)
	}
}

// keyValues parses an ini-style file into "Section.Key" → values.
func keyValues(s string) map[string][]string {
	out := map[string][]string{}
	section := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, _ := strings.Cut(line, "=")
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

func TestTheActivationFileStartsTheUnitAsRoot(t *testing.T) {
	kv := keyValues(assets.Activation)
	for k, want := range map[string]string{
		"D-BUS Service.Name":           busapi.BusName,
		"D-BUS Service.Exec":           "/usr/libexec/rapidreboot/rapidreboot-helper",
		"D-BUS Service.User":           "root",
		"D-BUS Service.SystemdService": "rapidreboot-helper.service",
	} {
		if got := kv[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", k, got, want)
		}
	}
}

func TestTheUnitIsADBusServiceWithTheHardening(t *testing.T) {
	kv := keyValues(assets.Unit)
	for k, want := range map[string]string{
		"Service.Type":                     "dbus",
		"Service.BusName":                  busapi.BusName,
		"Service.ExecStart":                "/usr/libexec/rapidreboot/rapidreboot-helper",
		"Service.NoNewPrivileges":          "yes",
		"Service.ProtectSystem":            "strict",
		"Service.ProtectHome":              "yes",
		"Service.PrivateTmp":               "yes",
		"Service.PrivateNetwork":           "yes",
		"Service.RestrictAddressFamilies":  "AF_UNIX",
		"Service.CapabilityBoundingSet":    "CAP_SYS_BOOT",
		"Service.RuntimeDirectory":         "rapidreboot",
		"Service.RuntimeDirectoryPreserve": "yes",
		"Service.StateDirectory":           "rapidreboot",
	} {
		if got := kv[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", k, got, want)
		}
	}
	filter := strings.Fields(strings.Join(kv["Service.SystemCallFilter"], " "))
	has := map[string]bool{}
	for _, f := range filter {
		has[f] = true
	}
	if !has["@system-service"] || !has["kexec_file_load"] || has["reboot"] || has["@reboot"] || has["@privileged"] {
		t.Errorf("SystemCallFilter = %v: want @system-service plus kexec_file_load, never reboot", filter)
	}
	if _, ok := kv["Install.WantedBy"]; ok {
		t.Error("the unit is enabled at boot; it must only be D-Bus activated")
	}

	sa := testtool.Need(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	// verify wants ExecStart to exist.
	unit := strings.Replace(assets.Unit, "ExecStart=/usr/libexec/rapidreboot/rapidreboot-helper", "ExecStart=/bin/true", 1)
	p := filepath.Join(dir, "rapidreboot-helper.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", p).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
