// Package version carries the release, set at link time from debian/changelog.
package version

// Version is overridden by -ldflags "-X .../backend/version.Version=...".
var Version = "0.1.0~dev"
