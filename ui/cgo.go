package ui

// The few GTK/GIO calls gotk3 v0.6.3 does not bind.

// #cgo pkg-config: gtk+-3.0 gio-unix-2.0
// #include <stdlib.h>
// #include <gtk/gtk.h>
// #include <gio/gdesktopappinfo.h>
// #include <glib/gi18n.h>
// #include <gdk/gdkx.h>
//
// static unsigned long rr_xid(GdkWindow *w) {
// #ifdef GDK_WINDOWING_X11
//   if (GDK_IS_X11_WINDOW(w)) return gdk_x11_window_get_xid(w);
// #endif
//   return 0;
// }
//
// static int rr_register(GApplication *app, char **msg) {
//   GError *err = NULL;
//   if (!g_application_register(app, NULL, &err)) {
//     *msg = g_strdup(err ? err->message : "unknown error");
//     g_clear_error(&err);
//     return -1;
//   }
//   return g_application_get_is_remote(app) ? 1 : 0;
// }
//
// static void rr_activate_remote(GApplication *app, const char *action, const char *arg) {
//   g_action_group_activate_action(G_ACTION_GROUP(app), action, g_variant_new_string(arg));
//   GDBusConnection *c = g_application_get_dbus_connection(app);
//   if (c) g_dbus_connection_flush_sync(c, NULL, NULL);
// }
//
// static int rr_current_state(guint *state) {
//   GdkModifierType s = 0;
//   if (!gtk_get_current_event_state(&s)) return 0;
//   *state = s;
//   return 1;
// }
//
// static void rr_set_accessible(GtkWidget *w, const char *name, const char *desc) {
//   AtkObject *a = gtk_widget_get_accessible(w);
//   if (!a) return;
//   atk_object_set_name(a, name);
//   atk_object_set_description(a, desc);
// }
//
// static char *rr_app_name(const char *desktop_id) {
//   GDesktopAppInfo *info = g_desktop_app_info_new(desktop_id);
//   if (!info) return NULL;
//   char *s = g_strdup(g_app_info_get_display_name(G_APP_INFO(info)));
//   g_object_unref(info);
//   return s;
// }
//
// static const char *rr_ngettext(const char *domain, const char *s, const char *p, unsigned long n) {
//   return g_dngettext(domain, s, p, n);
// }
import "C"

import (
	"errors"
	"strings"
	"unsafe"

	"github.com/gotk3/gotk3/gtk"
)

func cstr(s string) (*C.char, func()) {
	c := C.CString(s)
	return c, func() { C.free(unsafe.Pointer(c)) }
}

// register registers app on the session bus; remote means another
// instance already runs and gets our requests.
func register(app *gtk.Application) (remote bool, err error) {
	var msg *C.char
	r := C.rr_register((*C.GApplication)(unsafe.Pointer(app.GObject)), &msg)
	if r < 0 {
		defer C.g_free(C.gpointer(msg))
		return false, errors.New("cannot register the application: " + C.GoString(msg))
	}
	return r == 1, nil
}

// activateRemote runs the primary instance's action with a string
// argument and waits until the message has left.
func activateRemote(app *gtk.Application, action, arg string) {
	a, fa := cstr(action)
	defer fa()
	s, fs := cstr(arg)
	defer fs()
	C.rr_activate_remote((*C.GApplication)(unsafe.Pointer(app.GObject)), a, s)
}

// currentEventState is the modifier state of the event being handled
// (the click, the key press), if there is one.
func currentEventState() (uint, bool) {
	var s C.guint
	if C.rr_current_state(&s) == 0 {
		return 0, false
	}
	return uint(s), true
}

// setAccessible sets what a screen reader says for w.
func setAccessible(w gtk.IWidget, name, desc string) {
	n, fn := cstr(name)
	defer fn()
	d, fd := cstr(desc)
	defer fd()
	C.rr_set_accessible((*C.GtkWidget)(unsafe.Pointer(w.ToWidget().GObject)), n, d)
}

// appName turns a session-manager inhibitor's app id into the name its
// .desktop file gives, as GNOME's end-session dialog does; "" if none.
func appName(appID string) string {
	id := strings.TrimSuffix(appID, ".desktop")
	if id == "" || strings.ContainsAny(id, "/\x00") {
		return ""
	}
	c, fc := cstr(id + ".desktop")
	defer fc()
	s := C.rr_app_name(c)
	if s == nil {
		return ""
	}
	defer C.g_free(C.gpointer(s))
	return C.GoString(s)
}

// xid is the X window id of w, 0 when not on X11 (tests drive X).
func xid(w *gtk.ApplicationWindow) uint64 {
	gw, err := w.GetWindow()
	if err != nil || gw == nil {
		return 0
	}
	return uint64(C.rr_xid((*C.GdkWindow)(unsafe.Pointer(gw.GObject))))
}

// ngettext is glib's plural lookup in our domain.
func ngettext(domain, s, p string, n int) string {
	d, fd := cstr(domain)
	defer fd()
	cs, fs := cstr(s)
	defer fs()
	cp, fp := cstr(p)
	defer fp()
	if n < 0 {
		n = 0
	}
	return C.GoString(C.rr_ngettext(d, cs, cp, C.ulong(n)))
}
