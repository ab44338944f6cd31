#!/usr/bin/python3
"""Moves the X keyboard focus: "none" takes it from every window (as when
the user switches to another application), a window id gives it back.
Usage: xfocus.py none|WINDOW-ID (with DISPLAY set)."""
import sys

from Xlib import X, display

d = display.Display()
if sys.argv[1] == "none":
    d.set_input_focus(X.NONE, X.RevertToNone, X.CurrentTime)
else:
    d.set_input_focus(d.create_resource_object("window", int(sys.argv[1], 0)), X.RevertToParent, X.CurrentTime)
d.sync()
