// Package assets embeds the helper's installed data files so that tests
// and the helper itself read the very files that ship (go:embed cannot
// reach them from the packages that use them).
package assets

import _ "embed"

// File names, as installed (see docs/helper.md for where).
const (
	IntrospectionName = "dbus/io.github.rapidreboot.Helper1.xml"
	BusPolicyName     = "dbus/io.github.rapidreboot.Helper1.conf"
	ActivationName    = "dbus/io.github.rapidreboot.Helper1.service"
	UnitName          = "systemd/rapidreboot-helper.service"
	PolkitPolicyName  = "polkit/io.github.rapidreboot.policy.in"
)

// Introspection is the helper's introspection XML: the helper serves it,
// and a test keeps the exported Go methods equal to it.
//
//go:embed dbus/io.github.rapidreboot.Helper1.xml
var Introspection string

// BusPolicy is the system bus policy (system.d/*.conf).
//
//go:embed dbus/io.github.rapidreboot.Helper1.conf
var BusPolicy string

// Activation is the D-Bus activation file (system-services/*.service).
//
//go:embed dbus/io.github.rapidreboot.Helper1.service
var Activation string

// Unit is the systemd unit the activation file names.
//
//go:embed systemd/rapidreboot-helper.service
var Unit string

// PolkitPolicy is the polkit policy template, before translations are
// merged in.
//
//go:embed polkit/io.github.rapidreboot.policy.in
var PolkitPolicy string
