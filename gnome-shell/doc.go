// Package gnomeshell holds the tests of the GNOME Shell extension in
// gnome-shell/rapidreboot@rapidreboot.github.io (GJS, no build step): its
// logic under gjs, its ES-module imports, and that its copy of the helper's
// D-Bus names and reason sentences matches backend/busapi and
// backend/reason. The headless GNOME Shell test is gnome-shell/test/run.sh
// (make test-gnome-shell).
package gnomeshell
