module github.com/rapidreboot/rapidreboot

go 1.26.0

require (
	github.com/godbus/dbus/v5 v5.2.4
	github.com/gotk3/gotk3 v0.6.3
	github.com/leonelquinteros/gotext v1.7.2
	golang.org/x/sys v0.50.0
)
