// Package bootplan computes what a cold boot through the installed boot
// loader would run by default: kernel, initrds, command line, and why.
package bootplan

// Plan is the answer. Paths are as the target system sees them (from its
// own /, starting with "/"), also when /boot is a separate partition.
// The JSON form is the stable output of `rapidrebootctl plan --json`.
type Plan struct {
	Kernel   string   `json:"kernel"`
	Version  string   `json:"version"`
	Initrd   []string `json:"initrd"`
	Cmdline  string   `json:"cmdline"`
	Source   string   `json:"source"`
	Why      []string `json:"why"`
	Warnings []string `json:"warnings"`
}
