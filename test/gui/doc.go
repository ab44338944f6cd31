// Package gui holds the dialog's end-to-end tests: the real GTK window
// under Xvfb, driven with real X events (xdotool), read back through the
// screen reader's view (AT-SPI) and through stand-ins for the helper,
// logind and the session manager on private dbus-daemons. They are built
// only with -tags gui (make test-gui), so `go test ./...` stays headless.
// bench.sh compares the dialog's start and relabel times with
// lxsession-logout and zenity (make bench-gui).
package gui
